//! One config for both nodes (SPEC §2.2, §6), with real daemons:
//! - a pair runs from one shared group file (the same file, linked into both
//!   nodes' groups.d): a `priority` table keyed by address and both nodes in
//!   `unicast_peers`; it elects and fails over, IPv4 and IPv6;
//! - the shipped Kubernetes manifest: its ConfigMap and the DaemonSet's env,
//!   rendered for two nodes with the downward-API values substituted, form a
//!   pair as shipped; the built-in proxy tracker moves the VIP, the probes'
//!   commands answer as Kubernetes expects, metrics are on the node address.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use netns_tests::*;
use serde_json::Value;

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn logs(nodes: &[&Node]) -> String {
    nodes
        .iter()
        .map(|n| format!("\n----- log of {} -----\n{}", n.name, n.log_text()))
        .collect()
}

fn state(n: &Node, group: &str) -> String {
    let (_, out, _) = n.cli(&["status", "--json"]);
    serde_json::from_str::<Value>(&out)
        .ok()
        .and_then(|v| {
            v["groups"]
                .as_array()?
                .iter()
                .find(|g| g["name"] == group)
                .and_then(|g| g["state"].as_str().map(str::to_string))
        })
        .unwrap_or_default()
}

/// Link `groups.d/web.toml` of every node to the one shared file.
fn share(file: &Path, nodes: &[&Node]) {
    for n in nodes {
        let link = n.dir.join("groups.d/web.toml");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(file, &link).expect("symlink the shared group file");
    }
}

struct SharedCase {
    cidrs: [&'static [&'static str]; 2],
    group: &'static str,
    vip: &'static str,
}

const V4: SharedCase = SharedCase {
    cidrs: [&["192.0.2.1/24"], &["192.0.2.2/24"]],
    group: r#"vrid = 51
interface = "eth0"
priority = { "192.0.2.1" = 150, "192.0.2.2" = 100 }
advert_interval = "100ms"
unicast_peers = ["192.0.2.1", "192.0.2.2"]
virtual_ips = ["192.0.2.100/24"]
"#,
    vip: "192.0.2.100",
};

const V6: SharedCase = SharedCase {
    cidrs: [
        &["2001:db8::1/64", "fe80::1/64"],
        &["2001:db8::2/64", "fe80::2/64"],
    ],
    group: r#"vrid = 52
interface = "eth0"
priority = { "2001:db8::1" = 150, "2001:db8::2" = 100 }
advert_interval = "100ms"
unicast_peers = ["fe80::1", "fe80::2"]
virtual_ips = ["fe80::100/64", "2001:db8::100/64"]
"#,
    vip: "2001:db8::100",
};

fn shared_pair_elects_and_fails_over(case: &SharedCase) {
    let mut lan = Lan::new();
    let mut a = Node::new(&mut lan, "a", case.cidrs[0], "02:00:00:00:00:01");
    let mut b = Node::new(&mut lan, "b", case.cidrs[1], "02:00:00:00:00:02");
    let shared = a.dir.parent().unwrap().join("web.toml");
    std::fs::write(&shared, case.group).unwrap();
    share(&shared, &[&a, &b]);
    for n in [&a, &b] {
        let mut c = n.ns.cmd(&vrrpd_binary().to_string_lossy());
        c.args(["check", "--print", "--config"]).arg(&n.dir);
        let out = run(&mut c).unwrap();
        let printed = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{}: check: {}",
            n.name,
            String::from_utf8_lossy(&out.stderr)
        );
        let want = if n.name == "a" { 150 } else { 100 };
        assert!(
            printed.contains(&format!("priority = {want}\n")),
            "{}: check --print:\n{printed}",
            n.name
        );
    }
    // SPEC §6: `check` warns when the proxy could not bind the VIP on the
    // backup (read in the node's own namespace: a new one has 0).
    let key = if case.vip.contains(':') {
        "net.ipv6.ip_nonlocal_bind"
    } else {
        "net.ipv4.ip_nonlocal_bind"
    };
    let check_stderr = |n: &Node| {
        let mut c = n.ns.cmd(&vrrpd_binary().to_string_lossy());
        c.args(["check", "--config"]).arg(&n.dir);
        String::from_utf8_lossy(&run(&mut c).unwrap().stderr).into_owned()
    };
    let err = check_stderr(&b);
    assert!(err.contains(&format!("warning: {key} = 0")), "{err}");
    b.ns.sysctl(&format!("{key}=1"));
    let err = check_stderr(&b);
    assert!(!err.contains("nonlocal_bind"), "{err}");
    b.start();
    a.start();
    let elected = wait_until(Duration::from_secs(5), || {
        a.holds(case.vip) && !b.holds(case.vip) && state(&b, "web") == "backup"
    });
    assert!(
        elected,
        "a (150) is not master, b (100) backup{}",
        logs(&[&a, &b])
    );
    // Failover: a loses its link, b takes over.
    a.ns.ip(&["link", "set", "eth0", "down"]);
    let took = wait_until(Duration::from_secs(5), || b.holds(case.vip));
    assert!(took, "b did not take over{}", logs(&[&a, &b]));
    // a comes back and preempts (it is the table's 150).
    a.ns.ip(&["link", "set", "eth0", "up"]);
    // The kernel flushes IPv6 addresses on link down; put them back as a
    // host's network configuration would.
    for cidr in case.cidrs[0].iter().filter(|c| c.contains(':')) {
        a.ns.ip_try(&["addr", "add", cidr, "dev", "eth0", "nodad"]);
    }
    let back = wait_until(Duration::from_secs(8), || {
        a.holds(case.vip) && !b.holds(case.vip)
    });
    assert!(back, "a did not take the VIP back{}", logs(&[&a, &b]));
    // A handover: a releases with priority 0, b counts it.
    let (code, out, err) = a.cli(&["handover", "--timeout", "5s"]);
    assert_eq!(code, 0, "handover: {out}{err}{}", logs(&[&a, &b]));
    let counter = |n: &Node, name: &str| -> u64 {
        let (_, out, _) = n.cli(&["status", "--json"]);
        serde_json::from_str::<Value>(&out)
            .ok()
            .and_then(|v| v["groups"][0]["counters"][name].as_u64())
            .unwrap_or(0)
    };
    assert!(
        counter(&a, "priority_zero_sent") >= 1,
        "a sent no priority 0"
    );
    assert!(
        counter(&b, "priority_zero_received") >= 1,
        "b counted no priority 0"
    );
    assert!(
        counter(&b, "garp_sent") >= 1,
        "b, the new master, counted no GARP/NA"
    );
}

#[test]
fn one_shared_group_file_pair_elects_and_fails_over_ipv4() {
    require_netns!();
    let _g = serial();
    shared_pair_elects_and_fails_over(&V4);
}

#[test]
fn one_shared_group_file_pair_elects_and_fails_over_ipv6() {
    require_netns!();
    let _g = serial();
    shared_pair_elects_and_fails_over(&V6);
}

// ---- the Kubernetes manifest ------------------------------------------------

fn manifest() -> Vec<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/k8s/daemonset.yaml");
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import json, sys, yaml; json.dump(list(yaml.safe_load_all(open(sys.argv[1]))), sys.stdout)",
        ])
        .arg(&path)
        .output()
        .expect("python3 (with python3-yaml) reads the manifest");
    assert!(
        out.status.success(),
        "the manifest is not valid YAML: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn kind<'v>(docs: &'v [Value], kind: &str) -> &'v Value {
    docs.iter()
        .find(|d| d["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in the manifest"))
}

/// What the kubelet gives one node's container.
struct Rendered {
    /// (path inside the container, contents)
    files: Vec<(String, String)>,
    env: Vec<(String, String)>,
}

/// The DaemonSet's env with the downward API played for `node` (`ip` is
/// `status.hostIP`), and the ConfigMap's files at their container paths.
fn render(docs: &[Value], node: &str, ip: &str, key: &str) -> Rendered {
    let cm = kind(docs, "ConfigMap");
    let ds = kind(docs, "DaemonSet");
    let pod = &ds["spec"]["template"]["spec"];
    let c = &pod["containers"][0];
    let env = c["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let name = e["name"].as_str().unwrap().to_string();
            let v = if let Some(v) = e["value"].as_str() {
                v.to_string()
            } else if let Some(f) = e["valueFrom"]["fieldRef"]["fieldPath"].as_str() {
                match f {
                    "spec.nodeName" => node.to_string(),
                    "status.hostIP" => ip.to_string(),
                    other => panic!("the test plays no downward-API field {other}"),
                }
            } else if e["valueFrom"]["secretKeyRef"].is_object() {
                key.to_string()
            } else {
                panic!("env {name}: no value the test can render: {e}")
            };
            (name, v)
        })
        .collect();
    let mounts = c["volumeMounts"].as_array().unwrap();
    let mut files = Vec::new();
    for vol in pod["volumes"].as_array().unwrap() {
        let Some(name) = vol["configMap"]["name"].as_str() else {
            continue;
        };
        assert_eq!(name, cm["metadata"]["name"], "one ConfigMap");
        let at = mounts
            .iter()
            .find(|m| m["name"] == vol["name"])
            .and_then(|m| m["mountPath"].as_str())
            .expect("the config volume is mounted");
        for item in vol["configMap"]["items"].as_array().unwrap() {
            let text = cm["data"][item["key"].as_str().unwrap()]
                .as_str()
                .unwrap()
                .to_string();
            files.push((format!("{at}/{}", item["path"].as_str().unwrap()), text));
        }
    }
    Rendered { files, env }
}

/// A stand-in for the proxy's health endpoint on 127.0.0.1:8404 (host
/// network: the node's loopback), answering GET /health with 200.
fn health_server(ns: &Netns, dir: &Path) -> Proc {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("health"), "ok\n").unwrap();
    let mut c = ns.cmd("python3");
    c.args([
        "-m",
        "http.server",
        "8404",
        "--bind",
        "127.0.0.1",
        "--directory",
    ])
    .arg(dir)
    .stdout(Stdio::null())
    .stderr(Stdio::null());
    let p = Proc::spawn(c);
    let mut probe = ns.cmd("curl");
    probe.args(["-fsS", "--max-time", "1", "http://127.0.0.1:8404/health"]);
    let up = wait_until(Duration::from_secs(10), || {
        run(&mut probe).is_ok_and(|o| o.status.success())
    });
    assert!(up, "the health stand-in did not start");
    p
}

/// A probe's exec command, run against this node's daemon.
fn probe(n: &Node, probe: &Value) -> i32 {
    let argv: Vec<&str> = probe["exec"]["command"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(argv[0], "/usr/sbin/vrrpd", "{argv:?}");
    n.cli(&argv[1..]).0
}

#[test]
fn kubernetes_manifest_forms_a_pair_as_shipped() {
    require_netns!();
    let _g = serial();
    let docs = manifest();
    let ds = kind(&docs, "DaemonSet");
    let pod = &ds["spec"]["template"]["spec"];
    let c = &pod["containers"][0];
    // The contract of SPEC §6 and issue 15, as Kubernetes reads it.
    assert_eq!(pod["hostNetwork"], true);
    assert_eq!(pod["priorityClassName"], "system-node-critical");
    let grace = pod["terminationGracePeriodSeconds"].as_u64().unwrap();
    assert!(
        grace > 10,
        "grace {grace} s is not longer than the 10 s hook timeout"
    );
    let live: Vec<&str> = c["livenessProbe"]["exec"]["command"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(live, ["/usr/sbin/vrrpd", "status", "--alive"]);
    assert_eq!(c["readinessProbe"]["exec"]["command"][1], "status");
    assert_eq!(
        c["readinessProbe"]["exec"]["command"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(c["args"], serde_json::json!(["--config", "/etc/vrrpd"]));

    let mut lan = Lan::new();
    let mut a = Node::new(&mut lan, "a", &["192.0.2.1/24"], "02:00:00:00:00:01");
    let mut b = Node::new(&mut lan, "b", &["192.0.2.2/24"], "02:00:00:00:00:02");
    let key = "hex:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    let root = a.dir.parent().unwrap().to_path_buf();
    let mut health = Vec::new();
    for (n, node, ip) in [(&mut a, "lb1", "192.0.2.1"), (&mut b, "lb2", "192.0.2.2")] {
        let r = render(&docs, node, ip, key);
        // The kubelet's mounts: /etc/vrrpd is this node's config dir, the
        // emptyDir /run/vrrpd holds its control socket (n.socket()).
        let map = |p: &str| -> PathBuf {
            let rel = p
                .strip_prefix("/etc/vrrpd/")
                .expect("file under /etc/vrrpd");
            n.dir.join(rel)
        };
        for (path, text) in &r.files {
            let text = text.replace("/run/vrrpd/", &format!("{}/", n.dir.display()));
            std::fs::create_dir_all(map(path).parent().unwrap()).unwrap();
            std::fs::write(map(path), text).unwrap();
        }
        health.push(health_server(&n.ns, &root.join(format!("health-{node}"))));
        let env: Vec<(&str, &str)> = r
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        n.start_with_env(&env);
    }
    let elected = wait_until(Duration::from_secs(8), || {
        a.holds("192.0.2.100") && !b.holds("192.0.2.100") && state(&b, "web") == "backup"
    });
    assert!(
        elected,
        "the manifest's pair did not elect lb1{}",
        logs(&[&a, &b])
    );
    for n in [&a, &b] {
        assert_eq!(probe(n, &c["livenessProbe"]), 0, "{} liveness", n.name);
        assert_eq!(probe(n, &c["readinessProbe"]), 0, "{} readiness", n.name);
    }
    // Metrics on the node address (from the peer: it is the node's address,
    // not loopback).
    let mut scrape = b.ns.cmd("curl");
    scrape.args(["-fsS", "--max-time", "5", "http://192.0.2.1:9650/metrics"]);
    let text = String::from_utf8_lossy(&run(&mut scrape).unwrap().stdout).into_owned();
    assert!(
        text.contains("vrrpd_group_state{group=\"web\",vrid=\"51\",state=\"master\"} 1"),
        "metrics of lb1 on its address:\n{text}"
    );
    // lb1's proxy stops answering: the built-in tracker drops it to 90 and
    // lb2 (100) takes over; both stay live and ready (no FAULT).
    drop(health.remove(0));
    let moved = wait_until(Duration::from_secs(10), || {
        b.holds("192.0.2.100") && !a.holds("192.0.2.100")
    });
    assert!(
        moved,
        "lb1's failing proxy did not move the VIP{}",
        logs(&[&a, &b])
    );
    assert_eq!(probe(&a, &c["livenessProbe"]), 0);
    assert_eq!(probe(&a, &c["readinessProbe"]), 0);
}
