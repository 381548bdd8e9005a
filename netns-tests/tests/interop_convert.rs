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
