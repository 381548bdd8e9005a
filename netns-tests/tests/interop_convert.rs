//! Rolling migration (issue 16): one keepalived.conf for both nodes, with
//! `@a` / `@b` conditional lines, a `$VIP` definition, a password with a
//! `!` comment in it and a positive track weight. Node a runs keepalived 2.2.7
//! on the file as it is (`-i a`); node b runs vrrpd on what
//! `vrrpd convert --config-id b` made of the same file. They must agree on
//! the auth bytes (no drops either way), on the interval and on the
//! effective priorities: keepalived (160) is master, vrrpd (120) backup,
//! vrrpd takes over when keepalived stops, keepalived preempts back.

use std::process::Command;
use std::time::Duration;

use netns_tests::*;

const CONF: &str = "\
! One file for both nodes of the pair: keepalived -i a, vrrpd convert --config-id b
$VIP=192.0.2.100/24
vrrp_script chk_ok {
    script /bin/true     # always passes: +20 on both nodes
    interval 1
    weight 20
}
vrrp_instance web {
    interface eth0
    virtual_router_id 51
    @a priority 140
    @b priority 100
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass s3cr!t      # keepalived sends \"s3cr\"
    }
    @a unicast_src_ip 192.0.2.1/24
    @b unicast_src_ip 192.0.2.2/24
    unicast_peer {
        @a 192.0.2.2/24
        @b 192.0.2.1/24
    }
    virtual_ipaddress {
        $VIP
    }
    track_script {
        chk_ok
    }
}
";

const VIP: &str = "192.0.2.100";

/// keepalived log lines that mean it rejected one of vrrpd's adverts.
const KEEPALIVED_RX_ERRORS: &[&str] = &[
    "invalid passwd",
    "auth, expecting",
    "advertisement interval mismatch",
    "Invalid auth type",
    "Invalid VRRPv2 checksum",
    "not a unicast peer",
    "wrong version",
];

fn start_keepalived(k: &mut Keepalived, config_id: &str) {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&k.log)
        .expect("open keepalived log");
    let log2 = log.try_clone().expect("dup log");
    let mut c = k.ns.cmd(&keepalived_binary());
    c.args(["-n", "-l", "-D", "-i", config_id, "-f"])
        .arg(&k.conf)
        .arg("-p")
        .arg(k.dir.join("keepalived.pid"))
        .arg("-r")
        .arg(k.dir.join("vrrp.pid"))
        .arg("-c")
        .arg(k.dir.join("checkers.pid"))
        .stdout(log)
        .stderr(log2);
    k.daemon = Some(Proc::spawn(c));
}

#[test]
fn keepalived_and_a_node_converted_from_the_same_file_interoperate() {
    require_netns!();
    if !keepalived_available() {
        if std::env::var("VRRPD_REQUIRE_NETNS").as_deref() == Ok("1") {
            panic!("VRRPD_REQUIRE_NETNS=1 but keepalived is not installed");
        }
        eprintln!("SKIPPED: keepalived not installed");
        return;
    }
    let mut lan = Lan::new();
    let mut a = Keepalived::new(&mut lan, "a", &["192.0.2.1/24"], "02:00:00:00:00:01");
    let mut b = Node::new(&mut lan, "b", &["192.0.2.2/24"], "02:00:00:00:00:02");
    for ns in [&a.ns, &b.ns] {
        ns.sysctl("net.ipv4.ip_forward=0");
    }
    a.write_config(CONF);
    // Convert the same file for node b, then install the result as b's
    // config (b's vrrpd.toml keeps the node's own control socket).
    let src = b.dir.join("keepalived.conf");
    std::fs::write(&src, CONF).unwrap();
    let converted = b.dir.join("converted");
    let out = Command::new(vrrpd_binary())
        .arg("convert")
        .arg(&src)
        .arg("--out")
        .arg(&converted)
        .args(["--config-id", "b"])
        .output()
        .expect("run vrrpd convert");
    let report = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "convert: {report}");
    let group = std::fs::read_to_string(converted.join("groups.d/web.toml")).unwrap();
    b.write_daemon_config(&std::fs::read_to_string(converted.join("vrrpd.toml")).unwrap());
    b.write_group("web", &group);
    // 100 + 20 while the check passes; the password as keepalived sends it.
    assert!(group.contains("priority = 120"), "{group}");
    assert!(group.contains("secret = \"s3cr\""), "{group}");
    let logs = |a: &Keepalived, b: &Node| {
        format!(
            "\n--- convert\n{report}\n--- web.toml\n{group}\n--- keepalived a\n{}\n--- vrrpd b\n{}",
            a.log_text(),
            b.log_text()
        )
    };

    start_keepalived(&mut a, "a");
    b.start();
    let ok = wait_until(Duration::from_secs(10), || {
        a.holds(VIP) && !b.ns.has_address("eth0", VIP)
    });
    assert!(
        ok,
        "keepalived (160) did not become the only VIP holder{}",
        logs(&a, &b)
    );
    // Let several adverts pass each way, then look for rejected ones.
    std::thread::sleep(Duration::from_secs(3));
    let (code, st, _) = b.cli(&["status", "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&st).expect("status json");
    let g = &v["groups"][0];
    assert_eq!(g["state"], "backup", "{st}{}", logs(&a, &b));
    assert_eq!(g["priority"], 120, "{st}");
    let ka_rejects: Vec<String> = a
        .log_text()
        .lines()
        .filter(|l| KEEPALIVED_RX_ERRORS.iter().any(|e| l.contains(e)))
        .map(str::to_string)
        .collect();
    assert!(
        ka_rejects.is_empty(),
        "keepalived rejected vrrpd's adverts: {ka_rejects:?}"
    );
    let vrrpd_drops: Vec<String> = b
        .log_text()
        .lines()
        .filter(|l| l.contains("dropped advert"))
        .map(str::to_string)
        .collect();
    assert!(
        vrrpd_drops.is_empty(),
        "vrrpd dropped keepalived's adverts: {vrrpd_drops:?}"
    );

    // keepalived stops (priority 0): vrrpd takes over.
    let st = a.stop(libc::SIGTERM, Duration::from_secs(10));
    assert!(st.is_some(), "keepalived did not stop{}", logs(&a, &b));
    let ok = wait_until(Duration::from_secs(5), || b.ns.has_address("eth0", VIP));
    assert!(
        ok,
        "vrrpd did not take over from keepalived{}",
        logs(&a, &b)
    );

    // keepalived comes back at 160 and preempts the converted node at 120.
    start_keepalived(&mut a, "a");
    let ok = wait_until(Duration::from_secs(10), || {
        a.holds(VIP) && !b.ns.has_address("eth0", VIP)
    });
    assert!(ok, "keepalived did not preempt back{}", logs(&a, &b));
    let st = b.stop(libc::SIGTERM, Duration::from_secs(5));
    assert!(st.is_some_and(|s| s.success()), "vrrpd exit: {st:?}");
}

/// One `VRRP Instance` of keepalived's `-d` configuration dump.
#[derive(Debug, Default)]
struct Dumped {
    name: String,
    vrid: u8,
    priority: u8,
    advert_ms: u64,
    password: Option<String>,
    src: Option<String>,
    vips: Vec<String>,
    excluded: Vec<String>,
    peers: Vec<String>,
}

/// "192.0.2.16 dev eth0 scope global" -> "192.0.2.16/32".
fn dumped_addr(line: &str) -> String {
    let a = line.split_whitespace().next().unwrap_or_default();
    if a.contains('/') {
        a.to_string()
    } else if a.contains(':') {
        format!("{a}/128")
    } else {
        format!("{a}/32")
    }
}

fn parse_dump(text: &str) -> Vec<Dumped> {
    let mut out: Vec<Dumped> = Vec::new();
    let mut list: Option<&str> = None;
    for raw in text.lines() {
        // "Wed Dec  2 07:18:55 2026: ..." -> the part after the time stamp.
        let line = raw.split_once(": ").map(|x| x.1).unwrap_or(raw);
        let t = line.trim();
        if let Some(name) = line.strip_prefix(" VRRP Instance = ") {
            out.push(Dumped {
                name: name.trim().to_string(),
                ..Dumped::default()
            });
            list = None;
            continue;
        }
        if !line.starts_with("   ") {
            list = None;
            continue;
        }
        let Some(d) = out.last_mut() else { continue };
        if line.starts_with("     ") {
            match list {
                Some("vips") => d.vips.push(dumped_addr(t)),
                Some("excluded") => d.excluded.push(dumped_addr(t)),
                Some("peers") => d
                    .peers
                    .push(t.split_whitespace().next().unwrap_or("").to_string()),
                _ => {}
            }
            continue;
        }
        list = None;
        if let Some(v) = t.strip_prefix("Virtual Router ID = ") {
            d.vrid = v.parse().unwrap_or(0);
        } else if let Some(v) = t.strip_prefix("Priority = ") {
            d.priority = v.parse().unwrap_or(0);
        } else if let Some(v) = t.strip_prefix("Advert interval = ") {
            let (n, unit) = v.split_once(' ').unwrap_or((v, "sec"));
            let n: u64 = n.parse().unwrap_or(0);
            d.advert_ms = if unit.starts_with("milli") {
                n
            } else {
                n * 1000
            };
        } else if let Some(v) = t.strip_prefix("Password = ") {
            d.password = Some(v.to_string());
        } else if let Some(v) = t.strip_prefix("Using src_ip = ") {
            if v.contains("from configuration") {
                d.src = v.split_whitespace().next().map(str::to_string);
            }
        } else if t.starts_with("Virtual IP Excluded") {
            list = Some("excluded");
        } else if t.starts_with("Virtual IP") {
            list = Some("vips");
        } else if t.starts_with("Unicast Peer") {
            list = Some("peers");
        }
    }
    out
}

/// Run keepalived 2.2.7 with `-d` on `conf` (config id `id`) in a namespace
/// holding the interfaces `ifaces`, and return its configuration dump.
fn keepalived_dump(conf: &std::path::Path, id: &str, ifaces: &[String]) -> String {
    let ns = Netns::new("vtd");
    for (i, name) in ifaces.iter().enumerate() {
        let peer = format!("vdp{i}");
        ns.ip(&["link", "add", name, "type", "veth", "peer", "name", &peer]);
        ns.ip(&["link", "set", name, "up"]);
        ns.ip(&["link", "set", &peer, "up"]);
        ns.ip(&[
            "addr",
            "add",
            &format!("192.0.2.{}/24", 200 + i),
            "dev",
            name,
        ]);
    }
    let dir = std::env::temp_dir().join(unique_name("vrrpd-kadump-"));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("log");
    let f = std::fs::File::create(&log).unwrap();
    let f2 = f.try_clone().unwrap();
    let mut c = ns.cmd(&keepalived_binary());
    c.args(["-n", "-l", "-D", "-d", "-i", id, "-f"])
        .arg(conf)
        .arg("-p")
        .arg(dir.join("k.pid"))
        .arg("-r")
        .arg(dir.join("v.pid"))
        .arg("-c")
        .arg(dir.join("c.pid"))
        .stdout(f)
        .stderr(f2);
    let mut p = Proc::spawn(c);
    let read = || std::fs::read_to_string(&log).unwrap_or_default();
    wait_until(Duration::from_secs(6), || read().contains("VRRP sockpool"));
    std::thread::sleep(Duration::from_millis(200));
    let text = read();
    p.signal(libc::SIGKILL);
    let _ = p.wait_timeout(Duration::from_secs(2));
    // The VRRP child too, before the namespace goes.
    if let Ok(out) = Command::new("ip")
        .args(["netns", "pids", &ns.name])
        .output()
    {
        for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
            if let Ok(pid) = pid.parse::<i32>() {
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    text
}

/// Differential check of the corpus against keepalived itself: what
/// keepalived 2.2.7 reads from each file (its `-d` dump) is what the
/// conversion wrote, for every value a keepalived peer sees on the wire:
/// VRID, advert interval, password bytes, VIPs, unicast source and peers,
/// and (where no positive weight is turned around) the priority.
#[test]
fn corpus_conversion_matches_keepalived_own_reading() {
    require_netns!();
    if !keepalived_available() {
        if std::env::var("VRRPD_REQUIRE_NETNS").as_deref() == Ok("1") {
            panic!("VRRPD_REQUIRE_NETNS=1 but keepalived is not installed");
        }
        eprintln!("SKIPPED: keepalived not installed");
        return;
    }
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/keepalived-conf/corpus");
    let mut checked = 0;
    for (file, id) in [
        ("ansible-role.conf", "x"),
        ("container-entrypoint.conf", "x"),
        ("cloud-notify-only.conf", "x"),
        ("k8s-ha-guide.conf", "x"),
        ("k8s-one-file-three-nodes.conf", "cp1"),
        ("k8s-one-file-three-nodes.conf", "cp2"),
        ("k8s-one-file-three-nodes.conf", "cp3"),
        ("doc-samples-vrrp.conf", "x"),
        ("doc-samples-localcheck.conf", "x"),
        ("openstack-l3-ha.conf", "x"),
        ("ipv6-v3.conf", "x"),
    ] {
        let path = corpus.join(file);
        let conv = vrrpd::convert::convert_file_with(
            &path,
            &vrrpd::convert::syntax::ReadOptions {
                config_id: Some(id.into()),
            },
        )
        .unwrap_or_else(|e| panic!("{file}: {e}"));
        let out = std::env::temp_dir().join(unique_name("vrrpd-kadiff-"));
        vrrpd::convert::write(&conv, &out).unwrap();
        let cfg = vrrpd::config::load(
            &out,
            &std::collections::HashMap::<String, String>::new(),
            &vrrpd::config::UnknownHost,
        )
        .unwrap_or_else(|e| panic!("{file}: {e}"))
        .config;
        let _ = std::fs::remove_dir_all(&out);
        let mut ifaces: Vec<String> = Vec::new();
        for g in &cfg.groups {
            let names = std::iter::once(g.interface.clone())
                .chain(g.virtual_ips.iter().map(|v| v.interface.clone()))
                .chain(g.excluded_ips.iter().map(|v| v.interface.clone()))
                .chain(g.track_interfaces.iter().map(|t| t.name.clone()));
            for n in names {
                if !ifaces.contains(&n) {
                    ifaces.push(n);
                }
            }
        }
        let dump = keepalived_dump(&path, id, &ifaces);
        let dumped = parse_dump(&dump);
        let turned = conv.reports.iter().any(|r| r.keyword == "weight");
        let ctx = |what: &str| format!("{file} (id {id}): {what}\n--- keepalived dump\n{dump}");
        assert_eq!(dumped.len(), cfg.groups.len(), "{}", ctx("instance count"));
        for k in &dumped {
            let g = cfg
                .group(&k.name)
                .unwrap_or_else(|| panic!("{}", ctx(&format!("no group {}", k.name))));
            let set = |v: &[vrrpd::config::VirtualIp]| -> Vec<String> {
                let mut s: Vec<String> = v
                    .iter()
                    .map(|v| format!("{}/{}", v.address, v.prefix_len))
                    .collect();
                s.sort();
                s
            };
            let sorted = |v: &[String]| {
                let mut v = v.to_vec();
                v.sort();
                v.dedup();
                v
            };
            // keepalived keeps a repeated VIP (written once, with a warning
            // that says so).
            if sorted(&k.vips).len() != k.vips.len() {
                assert!(
                    conv.reports.iter().any(|r| r.keyword == "virtual_ipaddress"
                        && r.message.contains("keepalived 2.2.7 keeps the repeat")),
                    "{}",
                    ctx(&k.name)
                );
            }
            assert_eq!(g.vrid, k.vrid, "{}", ctx(&k.name));
            assert_eq!(
                u64::from(g.advert_interval_cs) * 10,
                k.advert_ms,
                "{}",
                ctx(&k.name)
            );
            assert_eq!(set(&g.virtual_ips), sorted(&k.vips), "{}", ctx(&k.name));
            assert_eq!(
                set(&g.excluded_ips),
                sorted(&k.excluded),
                "{}",
                ctx(&k.name)
            );
            let peers: Vec<String> = g.unicast_peers.iter().map(|p| p.to_string()).collect();
            assert_eq!(sorted(&peers), sorted(&k.peers), "{}", ctx(&k.name));
            if !g.unicast_peers.is_empty() {
                assert_eq!(
                    g.unicast_source.map(|s| s.to_string()),
                    k.src,
                    "{}",
                    ctx(&k.name)
                );
            }
            let pw = match &g.auth {
                Some(vrrpd::config::AuthConfig::Pass { secret }) => {
                    Some(String::from_utf8_lossy(secret.expose()).into_owned())
                }
                _ => None,
            };
            assert_eq!(pw, k.password, "{}", ctx(&k.name));
            if !turned {
                assert_eq!(g.priority, k.priority, "{}", ctx(&k.name));
            }
            checked += 1;
        }
    }
    assert!(checked >= 14, "{checked}");
}
