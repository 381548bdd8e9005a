//! SPEC §2.2 / §2.3: one group file for both nodes of a pair. `priority` as
//! a table keyed by address (each node takes the entry of an address it
//! has), `unicast_peers` listing both nodes (this node's entry is skipped and
//! is its source), for IPv4 and IPv6; no entry or two entries is an error
//! with `file:line:column`.

use std::collections::HashMap;
use std::net::IpAddr;

use vrrpd::config::{ConfigErrors, HostView, Loaded, UnknownHost, load};

mod common;
use common::TempDir;

/// A host that has exactly `addrs` on eth0, as the kernel would say.
struct Host(Vec<IpAddr>);

impl HostView for Host {
    fn interface_addresses(&self, name: &str) -> Option<Vec<IpAddr>> {
        (name == "eth0").then(|| self.0.clone())
    }
    fn address_interface(&self, addr: IpAddr) -> Option<String> {
        self.0.contains(&addr).then(|| "eth0".to_string())
    }
    fn knows_addresses(&self) -> bool {
        true
    }
}

fn host(addrs: &[&str]) -> Host {
    Host(addrs.iter().map(|a| a.parse().unwrap()).collect())
}

const SHARED_V4: &str = r#"vrid = 51
interface = "eth0"
priority = { "192.0.2.1" = 150, "192.0.2.2" = 100 }
unicast_peers = ["192.0.2.1", "192.0.2.2"]
virtual_ips = ["192.0.2.100/24"]
"#;

const SHARED_V6: &str = r#"vrid = 52
interface = "eth0"
priority = { "2001:db8::1" = 150, "2001:db8::2" = 100 }
unicast_peers = ["fe80::1", "fe80::2"]
virtual_ips = ["fe80::100/64", "2001:db8::100/64"]
"#;

fn load_as(text: &str, h: &Host) -> Result<Loaded, ConfigErrors> {
    let d = TempDir::with_group("shared-pair", text);
    load(&d.0, &HashMap::<String, String>::new(), h)
}

fn web(l: &Loaded) -> (u8, Option<IpAddr>, Vec<IpAddr>) {
    let g = l.config.group("web").unwrap();
    (g.priority, g.unicast_source, g.unicast_peers.clone())
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn each_node_takes_its_own_entry_of_one_shared_file_ipv4() {
    let a = load_as(SHARED_V4, &host(&["192.0.2.1"])).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        web(&a),
        (150, Some(ip("192.0.2.1")), vec![ip("192.0.2.2")]),
        "node a: priority from its entry, own peer entry skipped and used as source"
    );
    let b = load_as(SHARED_V4, &host(&["192.0.2.2"])).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(web(&b), (100, Some(ip("192.0.2.2")), vec![ip("192.0.2.1")]));
}

#[test]
fn each_node_takes_its_own_entry_of_one_shared_file_ipv6() {
    // The table may key on any address of the node (here its global one);
    // the peers are link-local, as IPv6 adverts come from link-local.
    let a = load_as(SHARED_V6, &host(&["2001:db8::1", "fe80::1"])).unwrap();
    assert_eq!(web(&a), (150, Some(ip("fe80::1")), vec![ip("fe80::2")]));
    let b = load_as(SHARED_V6, &host(&["2001:db8::2", "fe80::2"])).unwrap();
    assert_eq!(web(&b), (100, Some(ip("fe80::2")), vec![ip("fe80::1")]));
}

#[test]
fn an_explicit_unicast_source_listed_in_the_peers_is_skipped() {
    let text = SHARED_V4.replace(
        "unicast_peers",
        "unicast_source = \"192.0.2.2\"\nunicast_peers",
    );
    let b = load_as(&text, &host(&["192.0.2.2"])).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(web(&b), (100, Some(ip("192.0.2.2")), vec![ip("192.0.2.1")]));
}

#[test]
fn priority_table_without_an_entry_for_this_node_is_an_error_with_position() {
    let e = load_as(SHARED_V4, &host(&["192.0.2.9"])).unwrap_err();
    let d = &e.errors[0];
    assert!(d.file.ends_with("groups.d/web.toml"), "{e}");
    assert_eq!((d.line, d.column), (3, 12), "{e}");
    assert!(
        d.message.contains("no entry for this node") && d.message.contains("192.0.2.1"),
        "{e}"
    );
    assert_eq!(e.exit_code(), 2);
}

#[test]
fn priority_table_with_two_entries_for_this_node_is_an_error_at_the_second() {
    let e = load_as(SHARED_V4, &host(&["192.0.2.1", "192.0.2.2"])).unwrap_err();
    let d = e
        .errors
        .iter()
        .find(|d| d.message.contains("two entries for this node"))
        .unwrap_or_else(|| panic!("{e}"));
    // `"192.0.2.2"` is the second key of line 3.
    assert_eq!((d.line, d.column), (3, 33), "{e}");
    assert!(d.to_string().contains("web.toml:3:33: "), "{e}");
}

#[test]
fn priority_table_keys_and_values_are_checked() {
    let bad = SHARED_V4.replace("\"192.0.2.2\" = 100", "\"lb2\" = 100");
    let text = load_as(&bad, &host(&["192.0.2.1"]))
        .unwrap_err()
        .to_string();
    assert!(
        text.contains("web.toml:3:33: `priority`: table key \"lb2\""),
        "{text}"
    );
    let bad = SHARED_V4.replace("= 100", "= 300");
    let text = load_as(&bad, &host(&["192.0.2.1"]))
        .unwrap_err()
        .to_string();
    assert!(
        text.contains("web.toml:3:47: `priority` = 300 is out of range 1..=255"),
        "{text}"
    );
}

#[test]
fn unicast_peers_naming_only_this_node_is_an_error() {
    let text = SHARED_V4.replace("[\"192.0.2.1\", \"192.0.2.2\"]", "[\"192.0.2.1\"]");
    let e = load_as(&text, &host(&["192.0.2.1"])).unwrap_err();
    assert!(
        e.to_string()
            .contains("web.toml:4:17: `unicast_peers` names only this node's own address"),
        "{e}"
    );
}

#[test]
fn without_a_view_of_the_kernel_the_table_loads_at_its_lowest_entry() {
    // `vrrpd run` reads the config once before it has netlink (logging
    // settings); the read with the kernel's view decides.
    let d = TempDir::with_group("shared-pair", SHARED_V4);
    let l = load(&d.0, &HashMap::<String, String>::new(), &UnknownHost).unwrap();
    assert_eq!(l.config.group("web").unwrap().priority, 100);
}
