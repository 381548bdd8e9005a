//! Least privilege (SPEC §6, issue 6): the daemon keeps only CAP_NET_ADMIN
//! and CAP_NET_RAW, and refuses to start without one, naming it.
//!
//! `drop_capabilities` is proven in a forked child process (one thread, as
//! the daemon has when it drops) before the daemon is wired to it.

use std::process::Stdio;
use std::time::Duration;

use netns_tests::*;
use vrrpd::privileges::{self, DAEMON_CAPS, status_field};

const KEPT: u64 = (1 << 12) | (1 << 13);

/// Run `f` in a forked child (one thread: the daemon drops with one thread
/// too) and return its verdict; the child never returns into the test
/// harness.
fn in_forked_child(f: fn() -> Result<(), String>) -> Result<(), String> {
    let mut fds = [0; 2];
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork: {}", std::io::Error::last_os_error());
    if pid == 0 {
        unsafe { libc::close(fds[0]) };
        let r = std::panic::catch_unwind(f).unwrap_or_else(|_| Err("child panicked".to_string()));
        let (code, msg) = match r {
            Ok(()) => (0, String::new()),
            Err(m) => (1, m),
        };
        unsafe {
            libc::write(fds[1], msg.as_ptr().cast(), msg.len());
            libc::_exit(code);
        }
    }
    unsafe { libc::close(fds[1]) };
    let mut msg = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = unsafe { libc::read(fds[0], buf.as_mut_ptr().cast(), buf.len()) };
        if n <= 0 {
            break;
        }
        msg.extend_from_slice(&buf[..n as usize]);
    }
    unsafe { libc::close(fds[0]) };
    let mut status = 0;
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 {
        Ok(())
    } else {
        Err(format!(
            "child status {status:#x}: {}",
            String::from_utf8_lossy(&msg)
        ))
    }
}

/// Drop, then check /proc/self/status says exactly what was kept.
fn drop_and_check() -> Result<(), String> {
    privileges::drop_capabilities(DAEMON_CAPS).map_err(|e| e.to_string())?;
    let status = std::fs::read_to_string("/proc/self/status").map_err(|e| e.to_string())?;
    for (k, want) in [
        ("CapEff:", KEPT),
        ("CapPrm:", KEPT),
        ("CapInh:", 0),
        ("CapAmb:", 0),
        ("CapBnd:", KEPT),
    ] {
        let got = status_field(&status, k).ok_or(format!("{k} missing"))?;
        if got != want {
            return Err(format!("{k} {got:#x}, want {want:#x}\n{status}"));
        }
    }
    Ok(())
}

/// capset(2) effective = permitted = `mask`, inheritable empty.
fn capset_raw(mask: u64) -> Result<(), String> {
    let mut hdr: [u32; 2] = [0x2008_0522, 0]; // _LINUX_CAPABILITY_VERSION_3, pid 0
    let data: [u32; 6] = [
        mask as u32,
        mask as u32,
        0,
        (mask >> 32) as u32,
        (mask >> 32) as u32,
        0,
    ];
    let rc = unsafe { libc::syscall(libc::SYS_capset, hdr.as_mut_ptr(), data.as_ptr()) };
    if rc != 0 {
        return Err(format!("capset: {}", std::io::Error::last_os_error()));
    }
    Ok(())
}

/// Put this (forked) process in the state `docker run --cap-drop ALL
/// --cap-add NET_ADMIN --cap-add NET_RAW` gives: bounding, permitted and
/// effective = the two, no CAP_SETPCAP.
fn become_container() -> Result<(), String> {
    for cap in 0..=63u64 {
        if KEPT & (1 << cap) == 0 {
            unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) };
        }
    }
    capset_raw(KEPT)
}

#[test]
fn drop_capabilities_as_root_keeps_only_net_admin_and_net_raw() {
    require_netns!();
    // As full root (CAP_SETPCAP): the bounding set is cut down too.
    in_forked_child(drop_and_check).unwrap();
}

#[test]
fn drop_capabilities_in_a_container_like_process() {
    require_netns!();
    // No CAP_SETPCAP, the bounding set already the two kept ones.
    in_forked_child(|| {
        become_container()?;
        drop_and_check()
    })
    .unwrap();
}

#[test]
fn drop_capabilities_fails_naming_a_capability_it_does_not_have() {
    require_netns!();
    in_forked_child(|| {
        // CAP_NET_ADMIN and CAP_SETPCAP, but no CAP_NET_RAW.
        capset_raw((1 << 12) | (1 << 8))?;
        match privileges::drop_capabilities(DAEMON_CAPS) {
            Ok(()) => Err("drop_capabilities succeeded without CAP_NET_RAW".into()),
            Err(e) if e.to_string().contains("missing capability CAP_NET_RAW") => Ok(()),
            Err(e) => Err(format!("message does not name CAP_NET_RAW: {e}")),
        }
    })
    .unwrap();
}

fn group(vrid: u8) -> String {
    format!(
        "vrid = {vrid}\ninterface = \"eth0\"\npriority = 150\nversion = 3\n\
         advert_interval = \"100ms\"\nvirtual_ips = [\"192.0.2.100/24\"]\n"
    )
}

/// The daemon started without `cap` (gone from the bounding and inheritable
/// sets, so root's execve cannot grant it) exits non-zero naming it.
fn refuses_without(cap: &str, name: &str) {
    let mut lan = Lan::new();
    let node = Node::new(&mut lan, "a", &["192.0.2.1/24"], "02:00:5e:10:00:01");
    node.write_group("web", &group(51));
    let mut c = node.ns.cmd("setpriv");
    c.args([
        &format!("--inh-caps=-{cap}"),
        &format!("--bounding-set=-{cap}"),
        "--",
    ])
    .arg(vrrpd_binary())
    .args(["run", "--config"])
    .arg(&node.dir)
    .stdout(Stdio::null())
    .stderr(Stdio::piped());
    let mut p = Proc::spawn(c);
    let st = p
        .wait_timeout(Duration::from_secs(10))
        .expect("daemon without the capability kept running");
    let mut err = String::new();
    if let Some(mut e) = p.child.as_mut().and_then(|c| c.stderr.take()) {
        use std::io::Read;
        let _ = e.read_to_string(&mut err);
    }
    assert!(!st.success(), "exit status {st}; stderr: {err}");
    assert!(
        err.contains(&format!("missing capability {name}")),
        "stderr does not name {name}: {err}"
    );
    assert!(!node.holds("192.0.2.100"), "VIP added without privileges");
}

#[test]
fn daemon_without_cap_net_raw_exits_naming_it() {
    require_netns!();
    refuses_without("net_raw", "CAP_NET_RAW");
}

#[test]
fn daemon_without_cap_net_admin_exits_naming_it() {
    require_netns!();
    refuses_without("net_admin", "CAP_NET_ADMIN");
}

/// `daemon::run_async` drops every capability but these two once its
/// netlink and control sockets are open.
#[test]
fn running_daemon_keeps_only_net_admin_and_net_raw() {
    require_netns!();
    let mut lan = Lan::new();
    let mut node = Node::new(&mut lan, "a", &["192.0.2.1/24"], "02:00:5e:10:00:02");
    node.write_group("web", &group(52));
    node.start();
    assert!(
        wait_until(Duration::from_secs(10), || node.holds("192.0.2.100")),
        "daemon never became master:\n{}",
        node.log_text()
    );
    let pid = node.daemon.as_ref().unwrap().pid();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |k| status_field(&status, k).unwrap_or_else(|| panic!("{k} missing"));
    assert_eq!(
        privileges::cap_names(field("CapEff:")),
        vec!["CAP_NET_ADMIN", "CAP_NET_RAW"],
        "CapEff"
    );
    assert_eq!(field("CapPrm:"), KEPT, "CapPrm\n{status}");
    assert_eq!(field("CapInh:"), 0, "CapInh\n{status}");
    assert_eq!(field("CapAmb:"), 0, "CapAmb\n{status}");
    assert_eq!(field("CapBnd:"), KEPT, "CapBnd\n{status}");
    // Still does its job with only those two: a VIP deleted behind its back
    // is re-added (netlink write after the drop).
    node.ns
        .ip(&["addr", "del", "192.0.2.100/24", "dev", "eth0"]);
    assert!(
        wait_until(Duration::from_secs(5), || node.holds("192.0.2.100")),
        "VIP not re-added after the drop:\n{}",
        node.log_text()
    );
    assert!(node.stop(libc::SIGTERM, Duration::from_secs(5)).is_some());
}

/// `user` / `group` on a track_script (keepalived `script_user`): the script
/// runs as that uid/gid with no supplementary groups, and only then does the
/// daemon keep CAP_SETUID / CAP_SETGID (nothing else).
#[test]
fn track_script_user_runs_as_that_user_and_keeps_only_setuid_setgid_more() {
    require_netns!();
    use std::os::unix::fs::PermissionsExt;
    let mut lan = Lan::new();
    let mut node = Node::new(&mut lan, "a", &["192.0.2.1/24"], "02:00:5e:10:00:03");
    let out = node.dir.join("out");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o777)).unwrap();
    let file = out.join("ids");
    let script = format!(
        "\n[[track_script]]\nname = \"who\"\ncommand = [\"/bin/sh\", \"-c\", \"echo $(id -u) $(id -g) $(id -G) > {}\"]\n\
         interval = \"200ms\"\nweight = -1\nuser = \"65534\"\ngroup = \"65534\"\n",
        file.display()
    );
    node.write_group("web", &(group(53) + &script));
    node.start();
    let ran = wait_until(Duration::from_secs(10), || {
        std::fs::read_to_string(&file).is_ok_and(|s| !s.trim().is_empty())
    });
    assert!(ran, "the script never ran:\n{}", node.log_text());
    let ids = std::fs::read_to_string(&file).unwrap();
    assert_eq!(
        ids.trim(),
        "65534 65534 65534",
        "uid gid groups of the script"
    );
    let pid = node.daemon.as_ref().unwrap().pid();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    assert_eq!(
        privileges::cap_names(status_field(&status, "CapEff:").unwrap()),
        vec!["CAP_SETGID", "CAP_SETUID", "CAP_NET_ADMIN", "CAP_NET_RAW"],
        "CapEff"
    );
    assert!(node.stop(libc::SIGTERM, Duration::from_secs(5)).is_some());
}
