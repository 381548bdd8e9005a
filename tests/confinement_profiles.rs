//! The confinement profiles shipped in config/ (issue 19): the seccomp
//! allowlist is well-formed Docker JSON that denies by default and keeps the
//! calls an attacker holding NET_ADMIN would want out; the systemd unit
//! allows exactly the same calls; the AppArmor profile parses; the compose
//! file and the Kubernetes manifest use the seccomp profile.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn seccomp_names() -> BTreeSet<String> {
    let v: serde_json::Value = serde_json::from_str(&read("config/seccomp.json")).unwrap();
    assert_eq!(v["defaultAction"], "SCMP_ACT_ERRNO", "must deny by default");
    assert_eq!(v["defaultErrnoRet"], 1, "denied calls must fail with EPERM");
    let rules = v["syscalls"].as_array().expect("syscalls array");
    let mut names = BTreeSet::new();
    for r in rules {
        assert_eq!(r["action"], "SCMP_ACT_ALLOW", "only allow rules: {r}");
        for n in r["names"].as_array().unwrap() {
            let n = n.as_str().unwrap().to_string();
            assert!(names.insert(n.clone()), "{n} listed twice");
        }
    }
    names
}

#[test]
fn seccomp_profile_denies_by_default_and_allows_what_vrrpd_needs() {
    let names = seccomp_names();
    // The daemon's own work: raw sockets, netlink, epoll, the PID-1 init's
    // fork and wait, hooks' exec, the capability drop.
    for needed in [
        "socket",
        "bind",
        "setsockopt",
        "sendmsg",
        "recvmsg",
        "sendto",
        "recvfrom",
        "epoll_wait",
        "epoll_ctl",
        "execve",
        "wait4",
        "capset",
        "rt_sigaction",
        "exit_group",
    ] {
        assert!(
            names.contains(needed),
            "{needed} missing from the allowlist"
        );
    }
    // What a compromised daemon holding NET_ADMIN must not get.
    for denied in [
        "mount",
        "umount2",
        "pivot_root",
        "unshare",
        "setns",
        "ptrace",
        "process_vm_writev",
        "bpf",
        "perf_event_open",
        "init_module",
        "finit_module",
        "delete_module",
        "kexec_load",
        "reboot",
        "keyctl",
        "add_key",
        "open_by_handle_at",
        "userfaultfd",
        "swapon",
        "settimeofday",
        "clock_settime",
    ] {
        assert!(!names.contains(denied), "{denied} must not be allowed");
    }
}

/// All names of the unit's `SystemCallFilter=` lines (allow lists only).
fn systemd_names(unit: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for line in unit.lines() {
        if let Some(v) = line.trim().strip_prefix("SystemCallFilter=") {
            assert!(
                !v.starts_with('~') && !v.contains('@'),
                "the unit must spell out the allowlist, not groups: {line}"
            );
            names.extend(v.split_whitespace().map(str::to_string));
        }
    }
    names
}

#[test]
fn systemd_unit_allows_the_same_syscalls_as_the_seccomp_profile() {
    let json = seccomp_names();
    let unit = systemd_names(&read("config/systemd/vrrpd.service"));
    let only_json: Vec<_> = json.difference(&unit).collect();
    let only_unit: Vec<_> = unit.difference(&json).collect();
    assert!(
        only_json.is_empty() && only_unit.is_empty(),
        "config/seccomp.json and the unit disagree: only in the profile {only_json:?}, \
         only in the unit {only_unit:?} (regenerate with scripts/seccomp-syscalls.py --systemd)"
    );
}

#[test]
fn compose_and_kubernetes_use_the_seccomp_profile() {
    let compose = read("config/compose/docker-compose.yml");
    assert!(
        compose.contains("seccomp=../seccomp.json"),
        "compose file does not load config/seccomp.json"
    );
    let k8s = read("config/k8s/daemonset.yaml");
    assert!(
        k8s.contains("type: Localhost") && k8s.contains("localhostProfile: vrrpd/seccomp.json"),
        "daemonset has no Localhost seccomp profile"
    );
}

fn apparmor_parser() -> Option<PathBuf> {
    for p in ["/usr/sbin/apparmor_parser", "/sbin/apparmor_parser"] {
        if Path::new(p).is_file() {
            return Some(PathBuf::from(p));
        }
    }
    if std::env::var("VRRPD_REQUIRE_APPARMOR").as_deref() == Ok("1") {
        panic!(
            "VRRPD_REQUIRE_APPARMOR=1 but apparmor_parser is missing: apt-get install -y apparmor"
        );
    }
    eprintln!("SKIPPED apparmor: apparmor_parser missing (apt-get install -y apparmor)");
    None
}

/// `apparmor_parser -Q -K`: parse and compile, load nothing, no cache; no
/// root and no AppArmor kernel needed.
fn parse_profile(parser: &Path, profile: &Path) -> std::process::Output {
    Command::new(parser)
        .args(["-Q", "-K"])
        .arg(profile)
        .output()
        .expect("run apparmor_parser")
}

#[test]
fn apparmor_profile_parses() {
    let Some(parser) = apparmor_parser() else {
        return;
    };
    let profile = root().join("config/apparmor/usr.sbin.vrrpd");
    let out = parse_profile(&parser, &profile);
    assert!(
        out.status.success(),
        "apparmor_parser rejects {}: {}",
        profile.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    // The check has teeth: the same profile with a bad rule is refused.
    let text = std::fs::read_to_string(&profile).unwrap();
    let broken = text.replacen("network inet raw,", "network inet rawr,", 1);
    assert_ne!(broken, text);
    let dir = std::env::temp_dir().join(format!("vrrpd-apparmor-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("usr.sbin.vrrpd");
    std::fs::write(&bad, broken).unwrap();
    let out = parse_profile(&parser, &bad);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        !out.status.success(),
        "apparmor_parser accepted a broken rule"
    );
}

#[test]
fn apparmor_profile_confines_what_the_issue_asks() {
    let text = read("config/apparmor/usr.sbin.vrrpd");
    for rule in [
        "profile vrrpd /usr/sbin/vrrpd",
        "network inet raw,",
        "network inet6 raw,",
        "network packet raw,",
        "network netlink raw,",
        "/etc/vrrpd/** r,",
        "/run/vrrpd/** rwk,",
        "/var/lib/vrrpd/** rwk,",
    ] {
        assert!(text.contains(rule), "profile lacks {rule:?}");
    }
    // The configuration is never writable, and nothing may be exec'd
    // outside the listed places.
    for line in text.lines().map(str::trim) {
        if line.starts_with("/etc/vrrpd") && !line.contains("scripts") {
            assert!(!line.contains('w'), "config writable: {line}");
        }
        assert!(
            !line.contains(" ux,") && !line.contains(" Ux,"),
            "unconfined exec: {line}"
        );
        assert!(!line.starts_with("/** "), "blanket rule: {line}");
    }
}
