//! Local faults (issue 8): notify / track programs that hang, crash or
//! print megabytes; the config directory vanishing before a reload; a full
//! disk under the daemon's log. The daemon keeps running, answers, keeps its
//! protocol timing, never panics, and leaves no process behind.
//!
//! Pair: a (150) and b (100), VRRPv3 unicast at 100 ms (ops_common.rs).

#[path = "ops_common.rs"]
mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::*;
use netns_tests::*;

static SERIAL: Mutex<()> = Mutex::new(());

fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

/// Pids of processes whose command line mentions `marker`.
fn processes_with(marker: &str) -> Vec<i32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmd).contains(marker) {
            out.push(pid);
        }
    }
    out
}

fn vm_rss_kb(n: &Node) -> i64 {
    let pid = n.daemon.as_ref().map(|d| d.pid()).unwrap_or(0);
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(-1)
}

#[test]
fn fault_hooks_that_hang_crash_or_flood_do_not_touch_the_daemon() {
    if !netns_available("fault_hooks_that_hang_crash_or_flood_do_not_touch_the_daemon") {
        return;
    }
    let _g = lock(&SERIAL);
    let mut p = Pair::build();
    let dir = p.a.dir.clone();
    let marker = unique_name("vrrpd-hook-");
    let hang = script(&dir, &format!("{marker}-hang"), "exec sleep 600");
    let crash = script(&dir, &format!("{marker}-crash"), "kill -SEGV $$");
    let flood = script(
        &dir,
        &format!("{marker}-flood"),
        "head -c 20000000 /dev/zero; head -c 20000000 /dev/zero >&2; exit 0",
    );
    // Every hook misbehaves; the checks hang (killed at their timeout),
    // crash and flood, each with weight 0 so only a *result* matters: the
    // flood check succeeds (exit 0), the hang/crash ones are tracked with
    // weight -1 (enough to show up, not enough to lose mastership).
    let q = |p: &Path| format!("\"{}\"", p.display());
    let extra = format!(
        "[notify]\nmaster = [{h}]\nbackup = [{c}]\nfault = [{f}]\nany = [{f}]\n\
         [[track_script]]\nname = \"hang\"\ncommand = [{h}]\ninterval = \"300ms\"\ntimeout = \"200ms\"\nweight = -1\n\
         [[track_script]]\nname = \"crash\"\ncommand = [{c}]\ninterval = \"200ms\"\nweight = -1\n\
         [[track_script]]\nname = \"flood\"\ncommand = [{f}]\ninterval = \"500ms\"\ntimeout = \"2s\"\nweight = 0\n",
        h = q(&hang),
        c = q(&crash),
        f = q(&flood),
    );
    p.a.write_group("web", &group(51, 150, A, B, VIP, &extra));
    p.b.write_group("web", &group(51, 100, B, A, VIP, ""));
    p.a.start();
    p.b.start();
    p.settle("start with misbehaving hooks");
    let rss0 = vm_rss_kb(&p.a);
    // The daemon answers promptly while hooks hang and flood.
    for _ in 0..10 {
        let t = Instant::now();
        let st = state_of(&p.a, "web");
        p.check(
            st == "master" && t.elapsed() < Duration::from_secs(1),
            &format!("status {st:?} took {:?}", t.elapsed()),
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // The protocol is unaffected: a failover and a fail-back still work in
    // protocol time while the hooks run (master → hang, backup → crash).
    p.a.signal(libc::SIGSTOP);
    let ok = wait_until(Duration::from_secs(2), || p.b.holds(VIP));
    p.a.signal(libc::SIGCONT);
    p.check(ok, "b did not take over");
    let ok = wait_until(Duration::from_secs(2), || p.a.holds(VIP) && !p.b.holds(VIP));
    p.check(ok, "a did not take the VIP back");
    p.settle("after failover with hooks running");
    let rss1 = vm_rss_kb(&p.a);
    eprintln!("VmRSS of a with hooks printing 40 MB each: {rss0} -> {rss1} kB");
    p.check(
        rss1 - rss0 < 4096,
        &format!("VmRSS grew {rss0} -> {rss1} kB (hook output buffered?)"),
    );
    let log = p.a.log_text();
    p.check(!log.contains("panicked"), "the daemon panicked");
    p.check(
        log.lines().count() < 2000,
        "hook output leaked into the daemon's log",
    );
    // Stop: the daemon exits in time and leaves no hook behind.
    // The release is protocol work: b has the VIP at once even though a
    // hung hook is still queued; the exit may wait for the hooks (bounded
    // by their 10 s timeout).
    let t = Instant::now();
    p.a.signal(libc::SIGTERM);
    let ok = wait_until(Duration::from_secs(2), || p.b.holds(VIP) && !p.a.holds(VIP));
    let released = t.elapsed();
    p.check(
        ok,
        "SIGTERM release did not move the VIP promptly with hooks hung",
    );
    // Signal 0: only wait, no second SIGTERM (that would mean "at once").
    let st = p.a.stop(0, Duration::from_secs(15));
    p.check(st.is_some(), "the daemon did not exit on SIGTERM");
    eprintln!(
        "VIP on b {released:?} after SIGTERM; a exited after {:?}",
        t.elapsed()
    );
    let ok = wait_until(Duration::from_secs(12), || {
        processes_with(&marker).is_empty()
    });
    let left = processes_with(&marker);
    for pid in &left {
        // Only the hooks this test started.
        unsafe { libc::kill(*pid, libc::SIGKILL) };
    }
    p.check(
        ok,
        &format!("hook processes left after the daemon exited: {left:?}"),
    );
}

#[test]
fn fault_config_dir_vanishes_before_reload() {
    if !netns_available("fault_config_dir_vanishes_before_reload") {
        return;
    }
    let _g = lock(&SERIAL);
    let p = Pair::start(|_, _| {});
    let before = (p.a.state_changes().len(), p.b.state_changes().len());
    let moved = p.a.dir.with_extension("moved");
    std::fs::rename(&p.a.dir, &moved).unwrap();
    // The socket moved with the directory: reach it there (SIGHUP as well).
    let mut c = std::process::Command::new(vrrpd_binary());
    c.args(["reload", "--socket"]).arg(moved.join("vrrpd.sock"));
    let out = run(&mut c).expect("vrrpd reload");
    let code = out.status.code().unwrap_or(-1);
    eprintln!(
        "reload without a config dir: exit {code}: {}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
    p.a.signal(libc::SIGHUP);
    std::thread::sleep(Duration::from_millis(500));
    std::fs::rename(&moved, &p.a.dir).unwrap();
    p.check(code == 2, &format!("reload was not rejected (exit {code})"));
    let log = p.a.log_text();
    p.check(
        log.matches("reload rejected").count() + log.matches("reload failed").count() >= 1
            || log.contains("keeping the running config"),
        "the rejected reload was not logged",
    );
    p.assert_holder(
        &p.a,
        &p.b,
        Duration::from_secs(1),
        "after the failed reload",
    );
    let after = (p.a.state_changes().len(), p.b.state_changes().len());
    p.check(before == after, "a state changed");
    // And a good reload still works afterwards.
    let (code, _, err) = p.a.cli(&["reload"]);
    p.check(
        code == 0,
        &format!("reload after restoring the dir: {code} {err}"),
    );
    p.check(!p.a.log_text().contains("panicked"), "panic");
}

/// A tmpfs of 64 KiB mounted on a temp dir, unmounted on drop.
struct TinyFs(PathBuf);

impl TinyFs {
    fn new() -> TinyFs {
        let d = std::env::temp_dir().join(unique_name("vrrpd-tinyfs-"));
        std::fs::create_dir_all(&d).unwrap();
        must(
            std::process::Command::new("mount")
                .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
                .arg(&d),
        );
        TinyFs(d)
    }
}

impl Drop for TinyFs {
    fn drop(&mut self) {
        let _ = run(std::process::Command::new("umount").arg("-l").arg(&self.0));
        let _ = std::fs::remove_dir(&self.0);
    }
}

#[test]
fn fault_full_disk_for_logs_daemon_keeps_running() {
    if !netns_available("fault_full_disk_for_logs_daemon_keeps_running") {
        return;
    }
    let _g = lock(&SERIAL);
    let fs = TinyFs::new();
    let mut p = Pair::build();
    p.a.log = fs.0.join("a.log");
    p.a.write_group("web", &group(51, 150, A, B, VIP, ""));
    p.b.write_group("web", &group(51, 100, B, A, VIP, ""));
    // Debug logging: a line per advert, the disk fills within seconds.
    p.a.start_with_env(&[("VRRPD_LOG", "trace")]);
    p.b.start();
    p.settle("start");
    // Fill whatever is left.
    let _ = std::fs::write(fs.0.join("filler"), vec![0u8; 128 * 1024]);
    let ok = wait_until(Duration::from_secs(5), || {
        let st = nix_statvfs_free(&fs.0);
        st == 0
    });
    p.check(ok, "the tmpfs did not fill up");
    std::thread::sleep(Duration::from_secs(1));
    // Still running, answering, master; a handover and back still work.
    let mut a_running = p.a.running();
    p.check(a_running, "the daemon died on a full disk");
    p.check(
        state_of(&p.a, "web") == "master",
        "a not master on a full disk",
    );
    let (code, _, err) = p.a.cli(&["handover", "--timeout", "3s"]);
    p.check(code == 0, &format!("handover on a full disk: {code} {err}"));
    let ok = wait_until(Duration::from_secs(3), || p.b.holds(VIP) && !p.a.holds(VIP));
    p.check(ok, "b did not take over after the handover");
    let (code, _, err) = p.b.cli(&["handover", "--timeout", "3s"]);
    p.check(code == 0, &format!("handover back: {code} {err}"));
    let ok = wait_until(Duration::from_secs(3), || p.a.holds(VIP) && !p.b.holds(VIP));
    p.check(ok, "a did not take the VIP back on a full disk");
    a_running = p.a.running();
    p.check(a_running, "the daemon died on a full disk");
    // Free the disk: logging resumes, no panic anywhere.
    let _ = std::fs::remove_file(fs.0.join("filler"));
    let st = p.a.stop(libc::SIGTERM, Duration::from_secs(10));
    p.check(
        st.is_some_and(|s| s.success()),
        &format!("exit status on SIGTERM: {st:?}"),
    );
    p.check(!p.a.log_text().contains("panicked"), "panic in a's log");
    drop(p);
}

/// Free bytes on the file system holding `p`.
fn nix_statvfs_free(p: &Path) -> u64 {
    let c = std::ffi::CString::new(p.to_string_lossy().as_bytes()).unwrap();
    let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: valid path and out pointer.
    if unsafe { libc::statvfs(c.as_ptr(), &mut s) } != 0 {
        return u64::MAX;
    }
    s.f_bavail * s.f_frsize
}
