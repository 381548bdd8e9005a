//! The host as the configuration check sees it (SPEC §2.3: the own-address
//! rules use the kernel's view), and loading the configuration with it.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::path::Path;

use crate::config::{self, ConfigErrors, HostView, ProcessEnv};
use crate::net::Netlink;

/// Interface addresses as the kernel has them, minus those vrrpd added (a VIP
/// left behind by a crashed run carries our IFA_PROTO mark and must not look
/// like the host's own address). Everything else is the host's (SPEC §2.3:
/// the own-address rule uses the kernel's view).
pub struct KernelHost {
    addrs: HashMap<String, Vec<IpAddr>>,
}

impl HostView for KernelHost {
    fn interface_addresses(&self, name: &str) -> Option<Vec<IpAddr>> {
        self.addrs.get(name).cloned()
    }
    fn address_interface(&self, addr: IpAddr) -> Option<String> {
        let mut names: Vec<&String> = self
            .addrs
            .iter()
            .filter(|(_, a)| a.contains(&addr))
            .map(|(n, _)| n)
            .collect();
        names.sort();
        names.first().map(|n| n.to_string())
    }
    fn knows_addresses(&self) -> bool {
        true
    }
}

/// Added by vrrpd: it carries our IFA_PROTO mark, or (on a kernel that
/// reports no IFA_PROTO) this run added it.
pub fn added_by_us(a: &crate::net::IfAddr, this_run: &HashSet<(u32, IpAddr)>) -> bool {
    a.added_by_vrrpd() || (a.protocol.is_none() && this_run.contains(&(a.ifindex, a.addr)))
}

/// `ours`: (ifindex, address) pairs this run added (stands in for the
/// IFA_PROTO mark on kernels that do not report it).
async fn kernel_host(nl: &Netlink, ours: &HashSet<(u32, IpAddr)>) -> KernelHost {
    let mut addrs: HashMap<String, Vec<IpAddr>> = HashMap::new();
    let links = nl.dump_links().await.unwrap_or_default();
    let all = nl.dump_addresses().await.unwrap_or_default();
    for l in &links {
        let list = all
            .iter()
            .filter(|a| a.ifindex == l.index && !added_by_us(a, ours))
            .map(|a| a.addr)
            .collect();
        addrs.insert(l.name.clone(), list);
    }
    KernelHost { addrs }
}

/// Load the configuration the way `run`, `check` and reload see it: the
/// own-address rules are checked against the kernel's interfaces.
/// Load the configuration at `path`, with the kernel's view when `nl` is given.
pub async fn load_config(
    path: &Path,
    nl: Option<&Netlink>,
) -> Result<config::Loaded, ConfigErrors> {
    load_config_with(path, nl, &HashSet::new()).await
}

pub async fn load_config_with(
    path: &Path,
    nl: Option<&Netlink>,
    ours: &HashSet<(u32, IpAddr)>,
) -> Result<config::Loaded, ConfigErrors> {
    let first = config::load(path, &ProcessEnv, &config::UnknownHost)?;
    recheck_with_kernel(path, first, nl, ours).await
}

/// Load again with the kernel's interfaces in view (the own-address rules).
pub async fn recheck_with_kernel(
    path: &Path,
    first: config::Loaded,
    nl: Option<&Netlink>,
    ours: &HashSet<(u32, IpAddr)>,
) -> Result<config::Loaded, ConfigErrors> {
    let Some(nl) = nl else { return Ok(first) };
    let host = kernel_host(nl, ours).await;
    config::load(path, &ProcessEnv, &host)
}
