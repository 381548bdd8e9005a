//! Virtual MAC interfaces (SPEC §1 `use_vmac`, RFC 5798 §7.3): a macvlan in
//! bridge mode on the group's interface carrying the VRRP MAC
//! 00:00:5e:00:01:VRID (IPv6 00:00:5e:00:02:VRID), created and deleted
//! through rtnetlink.
//!
//! Every macvlan vrrpd creates carries an IFLA_IFALIAS starting with
//! [`ALIAS_PREFIX`] that also records the base interface's ARP sysctls as
//! they were before vrrpd changed them. A start-up after a SIGKILL finds its
//! stale macvlans by that alias and the VRRP MAC (both are needed: an
//! interface with only one of them was not made by vrrpd and is never
//! deleted), puts the base's sysctls back from the alias, then deletes them.

use futures::TryStreamExt;
use rtnetlink::packet_route::link::{InfoKind, LinkAttribute, LinkInfo, LinkMessage, MacVlanMode};
use rtnetlink::{LinkMacVlan, LinkUnspec};

use super::ifaces::netlink_errno;
use super::{NetError, Netlink, sysctl};
use crate::proto::Family;

/// The start of the alias of every macvlan vrrpd creates.
pub const ALIAS_PREFIX: &str = "vrrpd-vmac";

/// The base interface's sysctls virtual MAC mode changes (keepalived
/// vrrp_if_config.c: arp_ignore=1 so the base never answers ARP for a VIP
/// that lives on the macvlan, arp_filter=1; plus arp_announce=2 so ARP
/// requests from the base never name a VIP as their sender).
pub const BASE_SYSCTLS: [(&str, &str); 3] = [
    ("arp_ignore", "1"),
    ("arp_filter", "1"),
    ("arp_announce", "2"),
];

/// The macvlan's own IPv4 sysctls (keepalived vrrp_if_config.c):
/// arp_ignore=1 (answer only for the VIPs on it, never for the base's
/// addresses), accept_local=1, rp_filter=0 (it has no address while
/// backup); and arp_announce=2: an ARP request it sends (to resolve a
/// unicast peer) names the VIP as sender, never the base's address, or the
/// peer would map our base address to the shared virtual MAC.
const VMAC_SYSCTLS: [(&str, &str); 4] = [
    ("arp_ignore", "1"),
    ("accept_local", "1"),
    ("rp_filter", "0"),
    ("arp_announce", "2"),
];

/// The VRRP virtual MAC (RFC 5798 §7.3).
pub fn vrrp_mac(family: Family, vrid: u8) -> [u8; 6] {
    let f = match family {
        Family::V4 => 0x01,
        Family::V6 => 0x02,
    };
    [0x00, 0x00, 0x5e, 0x00, f, vrid]
}

/// Whether `mac` is a VRRP virtual MAC of either family.
pub fn is_vrrp_mac(mac: &[u8]) -> bool {
    mac.len() == 6 && mac[..4] == [0x00, 0x00, 0x5e, 0x00] && matches!(mac[4], 1 | 2)
}

/// The alias recording the base and its sysctls before vrrpd touched them:
/// `vrrpd-vmac base=eth0 arp_ignore=0 arp_filter=0 arp_announce=0`.
pub fn alias(base: &str, saved: &[(String, String)]) -> String {
    let mut s = format!("{ALIAS_PREFIX} base={base}");
    for (k, v) in saved {
        s.push_str(&format!(" {k}={v}"));
    }
    s
}

/// The base name and saved sysctls of an alias [`alias`] wrote.
pub fn parse_alias(a: &str) -> Option<(String, Vec<(String, String)>)> {
    let mut words = a.split(' ');
    if words.next()? != ALIAS_PREFIX {
        return None;
    }
    let base = words.next()?.strip_prefix("base=")?.to_string();
    let saved = words
        .filter_map(|w| w.split_once('='))
        .filter(|(k, v)| BASE_SYSCTLS.iter().any(|(b, _)| b == k) && !v.is_empty() && v.len() < 8)
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Some((base, saved))
}

/// A macvlan vrrpd created (found by alias, VRRP MAC and kind).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnVmac {
    pub index: u32,
    pub name: String,
    /// The base interface and its sysctls before vrrpd changed them.
    pub base: String,
    pub saved: Vec<(String, String)>,
}

fn own_vmac(m: &LinkMessage) -> Option<OwnVmac> {
    let (mut name, mut mac_ok, mut kind_ok, mut alias) = (None, false, false, None);
    for a in &m.attributes {
        match a {
            LinkAttribute::IfName(n) => name = Some(n.clone()),
            LinkAttribute::Address(mac) => mac_ok = is_vrrp_mac(mac),
            LinkAttribute::IfAlias(s) => alias = parse_alias(s),
            LinkAttribute::LinkInfo(infos) => {
                kind_ok = infos
                    .iter()
                    .any(|i| matches!(i, LinkInfo::Kind(InfoKind::MacVlan)));
            }
            _ => {}
        }
    }
    let (base, saved) = alias?;
    (mac_ok && kind_ok).then(|| OwnVmac {
        index: m.header.index,
        name: name.unwrap_or_default(),
        base,
        saved,
    })
}

/// Why a virtual MAC interface could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum VmacError {
    #[error("interface {name:?} exists and was not created by vrrpd; refusing to use or delete it")]
    NameTaken { name: String },
    #[error(
        "cannot create macvlan {name:?} on interface {base:?} (use_vmac needs an Ethernet-like interface): {source}"
    )]
    Create {
        name: String,
        base: String,
        #[source]
        source: rtnetlink::Error,
    },
    #[error("macvlan {name:?}: sysctl {key}: {source}")]
    Sysctl {
        name: String,
        key: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Net(#[from] NetError),
}

impl Netlink {
    /// Every macvlan vrrpd created in this namespace.
    pub async fn own_vmacs(&self) -> Result<Vec<OwnVmac>, NetError> {
        let msgs: Vec<LinkMessage> = self.handle().link().get().execute().try_collect().await?;
        Ok(msgs.iter().filter_map(own_vmac).collect())
    }

    /// Create (or, when one vrrpd made is already there, reuse) the group's
    /// macvlan, administratively down; returns its index. IPv6 gets no
    /// automatic link-local address on it (every router of the group would
    /// generate the same one from the shared MAC) and IPv4 groups turn IPv6
    /// off on it, so a macvlan sends nothing but what vrrpd sends.
    pub async fn ensure_vmac(
        &self,
        name: &str,
        base_index: u32,
        base: &str,
        family: Family,
        vrid: u8,
        saved: &[(String, String)],
    ) -> Result<u32, VmacError> {
        let mac = vrrp_mac(family, vrid);
        let mut s = self.handle().link().get().match_name(name).execute();
        match s.try_next().await {
            Ok(Some(m)) => {
                return match own_vmac(&m) {
                    Some(v) => Ok(v.index),
                    None => Err(VmacError::NameTaken { name: name.into() }),
                };
            }
            Ok(None) => {}
            Err(e) if netlink_errno(&e) == Some(libc::ENODEV) => {}
            Err(e) => return Err(NetError::Netlink(e).into()),
        }
        let msg = LinkMacVlan::new(name, base_index, MacVlanMode::Bridge)
            .address(mac.to_vec())
            .build();
        self.handle()
            .link()
            .add(msg)
            .execute()
            .await
            .map_err(|source| VmacError::Create {
                name: name.into(),
                base: base.into(),
                source,
            })?;
        let index = self.link_by_name(name).await?.index;
        // The kernel takes IFLA_IFALIAS on a change only, not on creation.
        let mark = LinkUnspec::new_with_index(index)
            .alias(alias(base, saved))
            .build();
        if let Err(e) = self.handle().link().set(mark).execute().await {
            let _ = self.delete_link(index).await;
            return Err(NetError::Netlink(e).into());
        }
        let set = |fam: &str, key: &str, val: &str| {
            sysctl::write_if(fam, name, key, val).map_err(|source| VmacError::Sysctl {
                name: name.into(),
                key: format!("{fam}.{key}"),
                source,
            })
        };
        let result = (|| {
            for (k, v) in VMAC_SYSCTLS {
                set("ipv4", k, v)?;
            }
            match family {
                Family::V4 => set("ipv6", "disable_ipv6", "1"),
                Family::V6 => {
                    set("ipv6", "addr_gen_mode", "1")?;
                    set("ipv6", "accept_dad", "0")?;
                    set("ipv6", "accept_ra", "0")
                }
            }
        })();
        if let Err(e) = result {
            let _ = self.delete_link(index).await;
            return Err(e);
        }
        Ok(index)
    }

    /// Bring a link administratively up or down.
    pub async fn set_link_up(&self, index: u32, up: bool) -> Result<(), NetError> {
        let b = LinkUnspec::new_with_index(index);
        let msg = if up { b.up() } else { b.down() }.build();
        self.handle().link().set(msg).execute().await?;
        Ok(())
    }

    /// Delete a link; one already gone is success.
    pub async fn delete_link(&self, index: u32) -> Result<(), NetError> {
        match self.handle().link().del(index).execute().await {
            Ok(()) => Ok(()),
            Err(e) if netlink_errno(&e) == Some(libc::ENODEV) => Ok(()),
            Err(e) => Err(NetError::Netlink(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vrrp_mac_is_rfc5798_section_7_3() {
        assert_eq!(vrrp_mac(Family::V4, 51), [0, 0, 0x5e, 0, 1, 51]);
        assert_eq!(vrrp_mac(Family::V6, 255), [0, 0, 0x5e, 0, 2, 255]);
        assert!(is_vrrp_mac(&vrrp_mac(Family::V6, 1)));
        assert!(!is_vrrp_mac(&[0, 0, 0x5e, 0, 3, 1]));
    }

    #[test]
    fn alias_round_trips_the_base_and_its_sysctls() {
        let saved = vec![
            ("arp_ignore".to_string(), "0".to_string()),
            ("arp_filter".to_string(), "0".to_string()),
        ];
        let a = alias("eth0", &saved);
        assert_eq!(parse_alias(&a), Some(("eth0".to_string(), saved)));
        assert_eq!(parse_alias("someone else's macvlan"), None);
        // A forged alias cannot name sysctls other than the base's ARP ones.
        let (_, s) = parse_alias("vrrpd-vmac base=eth0 forwarding=1").unwrap();
        assert!(s.is_empty());
    }
}
