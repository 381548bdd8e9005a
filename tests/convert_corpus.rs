//! The keepalived.conf corpus (issue 16): files in the styles found in the
//! wild (ansible-rendered, container-entrypoint-rendered, cloud notify-only,
//! Kubernetes HA guides, keepalived's doc/samples, OpenStack L3 HA, IPv6)
//! each convert to one vrrpd group per `vrrp_instance`, the output passes
//! the real config loader and `vrrpd check`, and the values a keepalived
//! peer depends on during a rolling migration (VRID, effective priority,
//! interval, auth bytes, unicast peers) are the keepalived ones.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use vrrpd::config::{AuthConfig, Config, GroupConfig, UnknownHost, load};
use vrrpd::convert::syntax::ReadOptions;
use vrrpd::convert::{Conversion, ReportKind, convert_file_with, write};

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn corpus(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/keepalived-conf/corpus")
        .join(name)
}

/// Convert, write, load with the real loader and run `vrrpd check` on it.
fn convert(name: &str, config_id: Option<&str>) -> (Conversion, Config) {
    let opts = ReadOptions {
        config_id: config_id.map(str::to_string),
    };
    let conv = convert_file_with(&corpus(name), &opts).unwrap_or_else(|e| panic!("{name}: {e}"));
    static N: AtomicUsize = AtomicUsize::new(0);
    let out = TempDir(std::env::temp_dir().join(format!(
        "vrrpd-corpus-{name}-{}-{}-{}",
        config_id.unwrap_or("-"),
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )));
    let _ = std::fs::remove_dir_all(&out.0);
    write(&conv, &out.0).unwrap();
    let cfg = load(&out.0, &HashMap::<String, String>::new(), &UnknownHost)
        .unwrap_or_else(|e| panic!("{name}: output does not load:\n{e}"))
        .config;
    let check = Command::new(env!("CARGO_BIN_EXE_vrrpd"))
        .args(["check", "--config"])
        .arg(&out.0)
        .env_remove("ENVIRONMENT_INIT")
        .output()
        .expect("run vrrpd check");
    assert!(
        check.status.success(),
        "{name}: vrrpd check: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    (conv, cfg)
}

/// `vrrp_instance` blocks in the file (a rough count: the corpus has no
/// instance inside an `@` line or a definition).
fn instances_in(name: &str) -> usize {
    std::fs::read_to_string(corpus(name))
        .unwrap()
        .lines()
        .filter(|l| l.trim_start().starts_with("vrrp_instance "))
        .count()
}

fn g<'c>(cfg: &'c Config, name: &str) -> &'c GroupConfig {
    cfg.group(name)
        .unwrap_or_else(|| panic!("no group {name}: {:?}", cfg.groups))
}

fn pass(g: &GroupConfig) -> Vec<u8> {
    match &g.auth {
        Some(AuthConfig::Pass { secret }) => secret.expose().to_vec(),
        a => panic!("{}: {a:?}", g.name),
    }
}

fn ips(v: &[&str]) -> Vec<IpAddr> {
    v.iter().map(|a| a.parse().unwrap()).collect()
}

fn not_mapped(conv: &Conversion) -> Vec<&str> {
    conv.reports
        .iter()
        .filter(|r| r.kind == ReportKind::NotMapped)
        .map(|r| r.keyword.as_str())
        .collect()
}

#[test]
fn every_corpus_file_gives_one_group_per_instance_that_passes_check() {
    let files = [
        ("ansible-role.conf", None),
        ("container-entrypoint.conf", None),
        ("cloud-notify-only.conf", None),
        ("k8s-ha-guide.conf", None),
        ("k8s-one-file-three-nodes.conf", Some("cp1")),
        ("doc-samples-vrrp.conf", None),
        ("doc-samples-localcheck.conf", None),
        ("openstack-l3-ha.conf", None),
        ("ipv6-v3.conf", None),
    ];
    let dir: Vec<String> = std::fs::read_dir(corpus(""))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        dir.len(),
        files.len(),
        "a corpus file without a case: {dir:?}"
    );
    for (name, id) in files {
        let (_, cfg) = convert(name, id);
        assert_eq!(cfg.groups.len(), instances_in(name), "{name}");
    }
}

#[test]
fn ansible_rendered_role() {
    let (conv, cfg) = convert("ansible-role.conf", None);
    let e = g(&cfg, "external");
    assert_eq!((e.vrid, e.priority), (10, 100));
    assert!(!e.preempt);
    // `auth_pass Kp!9x2Lm`: keepalived sends "Kp" (the rest is a comment).
    assert_eq!(pass(e), b"Kp");
    // unicast addresses written with a mask.
    assert_eq!(e.unicast_source, Some("192.0.2.11".parse().unwrap()));
    assert_eq!(e.unicast_peers, ips(&["192.0.2.12", "192.0.2.13"]));
    assert_eq!(e.track_scripts.len(), 2);
    assert_eq!(
        e.notify.any.as_deref().unwrap(),
        ["/etc/keepalived/haproxy_notify.sh"]
    );
    let i = g(&cfg, "internal");
    // The repeated track_script and VIP are written once.
    assert_eq!(i.track_scripts.len(), 1);
    assert_eq!(i.virtual_ips.len(), 1);
    // garp_master_delay 10 (instance) wins over vrrp_garp_master_delay 5.
    assert_eq!(
        e.garp_master_delay,
        Some(std::time::Duration::from_secs(10))
    );
    for kw in [
        "enable_script_security",
        "script_user",
        "smtp_alert",
        "virtual_ipaddress",
    ] {
        assert!(not_mapped(&conv).contains(&kw), "{kw}");
    }
}

#[test]
fn container_entrypoint_rendered() {
    let (conv, cfg) = convert("container-entrypoint.conf", None);
    let v = g(&cfg, "VI_1");
    assert_eq!(v.interface, "eth0"); // $IFACE
    assert_eq!(pass(v), b"d0cker"); // $PASSWORD
    assert_eq!(v.unicast_peers, ips(&["192.0.2.11", "192.0.2.12"]));
    assert_eq!(v.virtual_ips.len(), 2);
    assert_eq!(v.advert_interval_cs, 100);
    // `state slave`: BACKUP with a warning; the second notify is ignored.
    assert!(
        conv.reports
            .iter()
            .any(|r| r.keyword == "state" && r.kind == ReportKind::Warning)
    );
    assert!(
        conv.reports
            .iter()
            .any(|r| r.keyword == "notify" && r.kind == ReportKind::Warning)
    );
    assert!(not_mapped(&conv).is_empty(), "{:?}", conv.reports);
}

#[test]
fn cloud_failover_by_notify_only() {
    let (conv, cfg) = convert("cloud-notify-only.conf", None);
    let f = g(&cfg, "floating_ip");
    assert!(f.virtual_ips.is_empty());
    assert_eq!((f.vrid, f.priority), (80, 200));
    assert_eq!(pass(f), b"fl0atIP"); // `#2` is a comment
    assert_eq!(f.unicast_peers, ips(&["198.51.100.22"]));
    assert_eq!(
        f.notify.master.as_deref().unwrap(),
        ["/usr/local/bin/fip-assign.sh", "203.0.113.80"]
    );
    // 0.5 s reads as 1 s in keepalived.
    assert_eq!(f.track_scripts[0].interval.as_millis(), 1000);
    let s = g(&cfg, "secondary_eni");
    assert!(s.virtual_ips.is_empty());
    assert_eq!(s.priority, 100);
    assert_eq!(
        s.notify.master.as_deref().unwrap(),
        ["/usr/local/bin/eni-attach.sh"]
    );
    for kw in [
        "script_user",
        "enable_script_security",
        "init_fail",
        "notify_master",
    ] {
        assert!(not_mapped(&conv).contains(&kw), "{kw}");
    }
}

#[test]
fn kubernetes_ha_guide() {
    let (conv, cfg) = convert("k8s-ha-guide.conf", None);
    let v = g(&cfg, "VI_1");
    assert_eq!((v.vrid, v.priority, v.advert_interval_cs), (51, 101, 100));
    assert_eq!(pass(v), b"42");
    assert_eq!(v.interface, "ens160");
    let t = &v.track_scripts[0];
    assert_eq!(t.command, ["/etc/keepalived/check_apiserver.sh"]);
    assert_eq!(
        (t.interval.as_secs(), t.fall, t.rise, t.weight),
        (3, 10, 2, -2)
    );
    assert!(not_mapped(&conv).is_empty());
}

#[test]
fn kubernetes_one_file_for_three_nodes_by_config_id() {
    for (id, prio, src, peers) in [
        ("cp1", 150, "192.0.2.11", ["192.0.2.12", "192.0.2.13"]),
        ("cp2", 120, "192.0.2.12", ["192.0.2.11", "192.0.2.13"]),
        ("cp3", 100, "192.0.2.13", ["192.0.2.11", "192.0.2.12"]),
    ] {
        let (_, cfg) = convert("k8s-one-file-three-nodes.conf", Some(id));
        let v = g(&cfg, "VI_1");
        assert_eq!(v.priority, prio, "{id}");
        assert_eq!(v.unicast_source, Some(src.parse().unwrap()), "{id}");
        assert_eq!(v.unicast_peers, ips(&peers), "{id}");
        assert_eq!(v.virtual_ips[0].to_string(), "192.0.2.50/24 dev eth0");
        assert_eq!(
            v.track_scripts[0].command,
            ["/etc/keepalived/check_apiserver.sh"]
        );
    }
}

#[test]
fn keepalived_doc_samples_vrrp() {
    let (conv, cfg) = convert("doc-samples-vrrp.conf", None);
    assert_eq!(cfg.daemon.router_id, "LVS_DEVEL");
    assert_eq!(cfg.daemon.sync_groups[0].members, ["VI_1", "VI_2"]);
    let a = g(&cfg, "VI_1");
    assert_eq!(a.virtual_ips.len(), 3);
    assert_eq!(a.excluded_ips.len(), 1);
    assert_eq!(a.track_interfaces.len(), 2);
    assert_eq!(pass(a), b"1111");
    let b = g(&cfg, "VI_2");
    assert_eq!(b.preempt_delay.as_secs(), 300);
    for kw in [
        "notification_email",
        "smtp_server",
        "mcast_src_ip",
        "dont_track_primary",
        "virtual_server",
    ] {
        assert!(not_mapped(&conv).contains(&kw), "{kw}");
    }
}

#[test]
fn keepalived_doc_samples_localcheck_positive_weights() {
    let (conv, cfg) = convert("doc-samples-localcheck.conf", None);
    let a = g(&cfg, "VI_1");
    // 100 + 2 (chk_haproxy weight 2, passing) = 102 while all pass.
    assert_eq!(a.priority, 102);
    let w: Vec<i16> = a.track_scripts.iter().map(|t| t.weight).collect();
    assert_eq!(w, [-4, -2, -2, -2, -2]);
    // /dev/tcp checks need a shell.
    assert_eq!(a.track_scripts[2].command[0], "/bin/sh");
    let b = g(&cfg, "VI_2");
    assert_eq!(b.priority, 254);
    assert!(conv.reports.iter().any(|r| r.keyword == "weight"
        && r.message.contains("252 + 4 = 256 is capped at 254")
        && r.message.contains("up to 2 lower")));
}

#[test]
fn openstack_l3_ha_router() {
    let (conv, cfg) = convert("openstack-l3-ha.conf", None);
    let r = g(&cfg, "VR_1");
    assert_eq!((r.vrid, r.priority, r.advert_interval_cs), (1, 50, 200));
    assert!(!r.preempt);
    assert_eq!(r.interface, "ha-4a6c0e47-d1");
    assert_eq!(r.excluded_ips.len(), 3);
    assert_eq!(r.track_interfaces[0].name, "ha-4a6c0e47-d1");
    // The default route through the external gateway moves with the router.
    assert!(!not_mapped(&conv).contains(&"virtual_routes"));
    let rt = &r.virtual_routes[0];
    assert_eq!(rt.to.to_string(), "0.0.0.0/0");
    assert_eq!(rt.via, Some("203.0.113.1".parse().unwrap()));
    assert_eq!(rt.dev.as_deref(), Some("qg-2c71b6a0-3e"));
}

#[test]
fn ipv6_and_ipv4_instances_share_a_vrid() {
    let (_, cfg) = convert("ipv6-v3.conf", None);
    let six = g(&cfg, "web6");
    assert_eq!(six.version, vrrpd::proto::Version::V3);
    assert_eq!(six.advert_interval_cs, 25);
    assert_eq!(six.virtual_ips[0].to_string(), "fe80::61/64 dev eth0");
    let four = g(&cfg, "web4");
    assert_eq!(four.vrid, six.vrid);
    // Two virtual_ipaddress blocks are one list.
    assert_eq!(four.virtual_ips.len(), 2);
}
