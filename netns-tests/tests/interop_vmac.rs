//! Virtual MAC mode against real peers in virtual MAC mode, in both roles:
//! keepalived 2.2.7 with `use_vmac`, and FRR 8.4's vrrpd (zebra + vrrpd with
//! a `-N` pathspace; FRR does not create its macvlan: the test does, as
//! FRR's documentation tells an operator to, `vrrp4-`/`vrrp6-<ifindex>-<vrid>` with
//! the virtual MAC and the VIP, and FRR toggles protodown on it). The
//! higher-priority side is elected, a link cut on it moves the VIP to the
//! other, it takes the VIP back when the link returns, and the client's
//! neighbour entry for the VIP is the VRRP MAC throughout. VRRPv3 at 100 ms;
//! keepalived: IPv4 and IPv6, multicast and unicast; FRR: IPv4 and IPv6
//! multicast (FRR has no unicast VRRP).

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use netns_tests::*;

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Address family and transport of one run.
#[derive(Clone, Copy, Debug)]
struct Mode {
    v6: bool,
    unicast: bool,
}

const V4_MC: Mode = Mode {
    v6: false,
    unicast: false,
};

impl Mode {
    fn vip(self) -> &'static str {
        if self.v6 {
            "2001:db8::100"
        } else {
            "192.0.2.100"
        }
    }
    fn vmac(self) -> &'static str {
        if self.v6 {
            "00:00:5e:00:02:33"
        } else {
            "00:00:5e:00:01:33"
        }
    }
    fn vmac_if(self) -> &'static str {
        if self.v6 { "vrrp6.51" } else { "vrrp.51" }
    }
    /// The VIP list as configured: IPv6 adverts carry the link-local first.
    fn cidrs(self) -> Vec<&'static str> {
        if self.v6 {
            vec!["fe80::100/64", "2001:db8::100/64"]
        } else {
            vec!["192.0.2.100/24"]
        }
    }
    /// (vrrpd's source, the peer's) for unicast.
    fn unicast_pair(self) -> (&'static str, &'static str) {
        if self.v6 {
            ("fe80::1", "fe80::2")
        } else {
            ("192.0.2.1", "192.0.2.2")
        }
    }
}

/// Skip (or fail under VRRPD_REQUIRE_NETNS=1) without the peer installed.
macro_rules! require_peer {
    ($available:expr, $what:expr) => {
        require_netns!();
        if !$available {
            if std::env::var("VRRPD_REQUIRE_NETNS").as_deref() == Ok("1") {
                panic!("VRRPD_REQUIRE_NETNS=1 but {} is not installed", $what);
            }
            eprintln!("SKIPPED {}: {} not installed", module_path!(), $what);
            return;
        }
    };
}

fn vrrpd_group(prio: u8, m: Mode) -> String {
    let vips: Vec<String> = m.cidrs().iter().map(|c| format!("\"{c}\"")).collect();
    let uni = if m.unicast {
        let (me, peer) = m.unicast_pair();
        format!("unicast_source = \"{me}\"\nunicast_peers = [\"{peer}\"]\n")
    } else {
        String::new()
    };
    format!(
        "vrid = 51\ninterface = \"eth0\"\npriority = {prio}\nversion = 3\n\
         advert_interval = \"100ms\"\nuse_vmac = true\n{uni}virtual_ips = [{}]\n",
        vips.join(", ")
    )
}

fn neighbour_mac(client: &Netns, m: Mode) -> String {
    let fam = if m.v6 { "-6" } else { "-4" };
    let out = client.ip(&[fam, "neigh", "show", m.vip(), "dev", "eth0"]);
    out.split_whitespace()
        .skip_while(|w| *w != "lladdr")
        .nth(1)
        .unwrap_or("")
        .to_string()
}

fn reachable(client: &Netns, m: Mode) -> bool {
    wait_until(Duration::from_secs(5), || {
        let mut c = client.cmd("ping");
        c.args(["-c", "1", "-W", "1", m.vip()]);
        run(&mut c).map(|o| o.status.success()).unwrap_or(false)
    })
}

/// The client reaches the VIP and its neighbour entry is the VRRP MAC.
fn client_sees_vmac(client: &Netns, m: Mode) -> Result<(), String> {
    if !reachable(client, m) {
        return Err("client cannot reach the VIP".into());
    }
    match neighbour_mac(client, m) {
        mac if mac == m.vmac() => Ok(()),
        mac => Err(format!("client's neighbour entry for the VIP is {mac:?}")),
    }
}

fn client(lan: &mut Lan) -> Netns {
    let c = Netns::new("vtc");
    lan.attach(&c, "eth0", Some("02:00:00:00:00:0a"));
    c.ip(&["addr", "add", "192.0.2.10/24", "dev", "eth0"]);
    c.ip(&["addr", "add", "2001:db8::a/64", "dev", "eth0", "nodad"]);
    c
}

fn vrrpd_holds(n: &Node, m: Mode) -> bool {
    n.ns.has_address(m.vmac_if(), m.vip())
}

// ---- keepalived ---------------------------------------------------------------

fn keepalived_conf(prio: u8, m: Mode) -> String {
    let uni = if m.unicast {
        let (peer, me) = m.unicast_pair();
        format!("  unicast_src_ip {me}\n  unicast_peer {{\n    {peer}\n  }}\n")
    } else {
        String::new()
    };
    let vips: String = m.cidrs().iter().map(|c| format!("    {c}\n")).collect();
    format!(
        "global_defs {{\n  router_id ka\n  vrrp_version 3\n}}\nvrrp_instance VI_1 {{\n  \
         state BACKUP\n  interface eth0\n  virtual_router_id 51\n  priority {prio}\n  \
         advert_int 0.1\n  use_vmac {}\n{uni}  virtual_ipaddress {{\n{vips}  }}\n}}\n",
        m.vmac_if()
    )
}

fn keepalived_holds(k: &Keepalived, m: Mode) -> bool {
    k.ns.has_address(m.vmac_if(), m.vip())
}

/// What every pairing runs: the higher priority is elected alone; a link cut
/// on it moves the VIP to the lower; link up takes it back (preemption). The
/// client's neighbour entry for the VIP is the VRRP MAC at each step.
fn elect_cut_and_preempt(
    c: &Netns,
    m: Mode,
    high_ns: &Netns,
    vrrpd_high: bool,
    high_holds: impl Fn() -> bool,
    low_holds: impl Fn() -> bool,
    fail: impl Fn(&str),
) {
    if !wait_until(Duration::from_secs(8), &high_holds) {
        fail("the higher priority was not elected alone");
    }
    if let Err(e) = client_sees_vmac(c, m) {
        fail(&format!("elected: {e}"));
    }
    high_ns.ip(&["link", "set", "eth0", "down"]);
    if !wait_until(Duration::from_secs(6), &low_holds) {
        fail("no failover to the lower priority after the link cut");
    }
    if let Err(e) = client_sees_vmac(c, m) {
        fail(&format!("after failover: {e}"));
    }
    high_ns.ip(&["link", "set", "eth0", "up"]);
    // Admin down flushed its IPv6 addresses; its network config puts them
    // back (as ifupdown would).
    let ll = if vrrpd_high {
        "fe80::1/64"
    } else {
        "fe80::2/64"
    };
    high_ns.ip_try(&["addr", "add", ll, "dev", "eth0", "nodad"]);
    if !wait_until(Duration::from_secs(8), &high_holds) {
        fail("the higher priority did not take the VIP back");
    }
    if let Err(e) = client_sees_vmac(c, m) {
        fail(&format!("after preemption: {e}"));
    }
}

fn with_keepalived(vrrpd_high: bool, m: Mode) {
    let _g = serial();
    let mut lan = Lan::new();
    let mut v = Node::new(
        &mut lan,
        "v",
        &["192.0.2.1/24", "fe80::1/64"],
        "02:00:00:00:00:01",
    );
    let mut k = Keepalived::new(
        &mut lan,
        "k",
        &["192.0.2.2/24", "fe80::2/64"],
        "02:00:00:00:00:02",
    );
    let c = client(&mut lan);
    let (pv, pk) = if vrrpd_high { (150, 100) } else { (100, 150) };
    v.write_group("web", &vrrpd_group(pv, m));
    k.write_config(&keepalived_conf(pk, m));
    // keepalived 2.2.7 leaves the base's arp_announce alone: replies sent
    // from the VIP out of the base would ARP with the VIP as sender and the
    // base's MAC, and clients would follow. The host setting its docs call
    // for (vrrpd sets it itself, see README).
    k.ns.sysctl("net.ipv4.conf.eth0.arp_announce=2");
    k.start();
    v.start();
    let fail = |what: &str, v: &Node, k: &Keepalived| -> ! {
        panic!(
            "{m:?} vrrpd_high={vrrpd_high}: {what}\n--- vrrpd ---\n{}\n--- keepalived ---\n{}\n--- switch fdb ---\n{}\n--- k links ---\n{}",
            v.log_text(),
            k.log_text(),
            lan.switch.ip(&["-d", "link", "show"])
                + &{
                    let mut c = lan.switch.cmd("bridge");
                    c.args(["fdb", "show", "br", "br0"]);
                    must(&mut c)
                },
            k.ns.ip(&["addr"])
        )
    };
    // (holder, other) as closures over the role.
    let high_holds = |v: &Node, k: &Keepalived| {
        if vrrpd_high {
            vrrpd_holds(v, m) && !keepalived_holds(k, m)
        } else {
            keepalived_holds(k, m) && !vrrpd_holds(v, m)
        }
    };
    let low_holds = |v: &Node, k: &Keepalived| {
        if vrrpd_high {
            keepalived_holds(k, m) && !vrrpd_holds(v, m)
        } else {
            vrrpd_holds(v, m) && !keepalived_holds(k, m)
        }
    };
    let high_ns = if vrrpd_high { &v.ns } else { &k.ns };
    elect_cut_and_preempt(
        &c,
        m,
        high_ns,
        vrrpd_high,
        || high_holds(&v, &k),
        || low_holds(&v, &k),
        |what| fail(what, &v, &k),
    );
    v.stop(libc::SIGTERM, Duration::from_secs(5));
    if v.ns.ip_try(&["link", "show", m.vmac_if()]) {
        fail("vrrpd left its macvlan", &v, &k);
    }
}

#[test]
fn vmac_with_keepalived_use_vmac_vrrpd_master_fails_over_and_back() {
    require_peer!(keepalived_available(), "keepalived");
    with_keepalived(true, V4_MC);
}

#[test]
fn vmac_with_keepalived_use_vmac_keepalived_master_fails_over_and_back() {
    require_peer!(keepalived_available(), "keepalived");
    with_keepalived(false, V4_MC);
}

#[test]
fn vmac_with_keepalived_use_vmac_ipv4_unicast_both_roles() {
    require_peer!(keepalived_available(), "keepalived");
    let m = Mode {
        v6: false,
        unicast: true,
    };
    with_keepalived(true, m);
    with_keepalived(false, m);
}

#[test]
fn vmac_with_keepalived_use_vmac_ipv6_multicast_both_roles() {
    require_peer!(keepalived_available(), "keepalived");
    let m = Mode {
        v6: true,
        unicast: false,
    };
    with_keepalived(true, m);
    with_keepalived(false, m);
}

// ---- FRR ----------------------------------------------------------------------

fn frr_conf(prio: u8, m: Mode) -> String {
    let ip = if m.v6 { "ipv6" } else { "ip" };
    format!(
        "interface eth0\n vrrp 51 version 3\n vrrp 51 priority {prio}\n \
         vrrp 51 advertisement-interval 100\n vrrp 51 {ip} {}\n!\n",
        m.vip()
    )
}

/// FRR's macvlan as its documentation has an operator create it.
fn frr_macvlan(ns: &Netns, m: Mode) -> String {
    let index = ns.ip(&["-o", "link", "show", "eth0"]);
    let index = index.split(':').next().unwrap_or("").trim().to_string();
    let name = format!("vrrp{}-{index}-51", if m.v6 { 6 } else { 4 });
    ns.ip(&[
        "link", "add", &name, "link", "eth0", "type", "macvlan", "mode", "bridge",
    ]);
    if m.v6 {
        // A random link-local, never one derived from the shared MAC (FRR's
        // docs: `addrgenmode random`, which `ip link add` refuses here).
        ns.sysctl(&format!("net.ipv6.conf.{name}.addr_gen_mode=3"));
        ns.sysctl(&format!("net.ipv6.conf.{name}.accept_dad=0"));
    } else {
        ns.sysctl(&format!("net.ipv6.conf.{name}.disable_ipv6=1"));
    }
    ns.ip(&["link", "set", "dev", &name, "address", m.vmac()]);
    let (cidr, nodad): (String, &[&str]) = if m.v6 {
        (format!("{}/64", m.vip()), &["nodad"])
    } else {
        (format!("{}/24", m.vip()), &[])
    };
    let mut args = vec!["addr", "add", cidr.as_str(), "dev", name.as_str()];
    args.extend_from_slice(nodad);
    ns.ip(&args);
    ns.ip(&["link", "set", "dev", &name, "up"]);
    // The VIP sits on the macvlan even while backup (protodown): the base
    // must not answer ARP for it, nor name it as the sender of its own
    // ARP requests (replies from the VIP leave through the base).
    ns.sysctl("net.ipv4.conf.eth0.arp_ignore=1");
    ns.sysctl("net.ipv4.conf.eth0.arp_announce=2");
    name
}

/// FRR's own view: "Master", "Backup", ... of its router of `m`'s family.
fn frr_status(f: &Frr, m: Mode) -> String {
    let key = if m.v6 { "Status (v6)" } else { "Status (v4)" };
    f.vtysh("show vrrp")
        .lines()
        .find_map(|l| l.trim().strip_prefix(key).map(|s| s.trim().to_string()))
        .unwrap_or_default()
}

fn with_frr(vrrpd_high: bool, m: Mode) {
    let _g = serial();
    let mut lan = Lan::new();
    let mut v = Node::new(
        &mut lan,
        "v",
        &["192.0.2.1/24", "fe80::1/64"],
        "02:00:00:00:00:01",
    );
    let fns = Netns::new("vfr");
    lan.attach(&fns, "eth0", Some("02:00:00:00:00:02"));
    fns.ip(&["addr", "add", "192.0.2.2/24", "dev", "eth0"]);
    fns.ip(&["addr", "add", "fe80::2/64", "dev", "eth0", "nodad"]);
    let _mv = frr_macvlan(&fns, m);
    let c = client(&mut lan);
    let (pv, pf) = if vrrpd_high { (150, 100) } else { (100, 150) };
    let frr = Frr::start(&fns, &["vrrpd"], &frr_conf(pf, m));
    v.write_group("web", &vrrpd_group(pv, m));
    v.start();
    let fail = |what: &str, v: &Node, f: &Frr| -> ! {
        panic!(
            "{m:?} vrrpd_high={vrrpd_high}: {what}\n--- vrrpd ---\n{}\n--- FRR show vrrp ---\n{}",
            v.log_text(),
            f.vtysh("show vrrp")
        )
    };
    let high_holds = |v: &Node, f: &Frr| {
        if vrrpd_high {
            vrrpd_holds(v, m) && frr_status(f, m) == "Backup"
        } else {
            frr_status(f, m) == "Master" && !vrrpd_holds(v, m)
        }
    };
    let low_holds = |v: &Node, f: &Frr| {
        if vrrpd_high {
            frr_status(f, m) == "Master" && !vrrpd_holds(v, m)
        } else {
            vrrpd_holds(v, m)
        }
    };
    let high_ns = if vrrpd_high { &v.ns } else { &fns };
    elect_cut_and_preempt(
        &c,
        m,
        high_ns,
        vrrpd_high,
        || high_holds(&v, &frr),
        || low_holds(&v, &frr),
        |what| fail(what, &v, &frr),
    );
}

#[test]
fn vmac_with_frr_vrrpd_master_fails_over_and_back() {
    require_peer!(frr_available(), "FRR");
    with_frr(true, V4_MC);
}

#[test]
fn vmac_with_frr_frr_master_fails_over_and_back() {
    require_peer!(frr_available(), "FRR");
    with_frr(false, V4_MC);
}

#[test]
fn vmac_with_frr_ipv6_both_roles() {
    require_peer!(frr_available(), "FRR");
    let m = Mode {
        v6: true,
        unicast: false,
    };
    with_frr(true, m);
    with_frr(false, m);
}

#[test]
fn vmac_with_keepalived_use_vmac_ipv6_unicast_both_roles() {
    require_peer!(keepalived_available(), "keepalived");
    let m = Mode {
        v6: true,
        unicast: true,
    };
    with_keepalived(true, m);
    with_keepalived(false, m);
}
