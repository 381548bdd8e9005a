//! Security (issue 8): the control socket refuses non-root clients, secrets
//! are never printed (check --print, debug logs, status, metrics), and
//! notify / track programs run without a shell, so seeded values arrive as
//! literal argv words.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use netns_tests::*;

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

const NOBODY: u32 = 65534;

fn single(group: &str, toml: &str, env: &[(&str, &str)]) -> (Lan, Node) {
    let mut lan = Lan::new();
    let mut n = Node::new(&mut lan, "a", &["192.0.2.1/24"], "02:00:00:00:00:01");
    n.write_daemon_config("metrics_listen = \"127.0.0.1:9650\"\n");
    n.write_group(group, toml);
    n.start_with_env(env);
    let ok = wait_until(Duration::from_secs(6), || {
        n.cli(&["status", "--json"]).1.contains("\"master\"")
    });
    assert!(ok, "single node never became master\n{}", n.log_text());
    (lan, n)
}

fn v2_group(vrid: u8, vip: &str, auth: &str) -> String {
    format!(
        "vrid = {vrid}\ninterface = \"eth0\"\npriority = 150\nversion = 2\n\
         advert_interval = \"1s\"\nvirtual_ips = [\"{vip}/24\"]\n{auth}"
    )
}

/// The status client run as uid/gid 65534.
fn cli_as_nobody(n: &Node, args: &[&str]) -> (i32, String, String) {
    let mut c = Command::new(vrrpd_binary());
    c.args(args).arg("--socket").arg(n.socket());
    c.uid(NOBODY).gid(NOBODY);
    let out = run(&mut c).expect("run vrrpd as nobody");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn security_control_socket_refuses_non_root_users() {
    if !netns_available("security_control_socket_refuses_non_root_users") {
        return;
    }
    let _g = serial();
    let (_lan, n) = single("web", &v2_group(51, "192.0.2.100", ""), &[]);
    let mode = std::fs::metadata(n.socket()).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "control socket mode");

    // 1. The file mode keeps nobody out.
    let (code, out, err) = cli_as_nobody(&n, &["status", "--json"]);
    assert_ne!(code, 0, "nobody got an answer: {out}");
    assert!(!out.contains("\"groups\""), "{out}");
    eprintln!("nobody, socket 0600: exit {code}: {}", err.trim());
    for cmd in [&["reload"][..], &["handover"][..]] {
        let (code, out, _) = cli_as_nobody(&n, cmd);
        assert_ne!(code, 0, "nobody may not {cmd:?}: {out}");
    }

    // 2. Even with the socket opened up (an operator's chmod), the daemon
    // checks the peer's uid (SO_PEERCRED) and refuses.
    std::fs::set_permissions(n.socket(), std::fs::Permissions::from_mode(0o666)).unwrap();
    let (code, out, err) = cli_as_nobody(&n, &["status", "--json"]);
    assert_eq!(code, 4, "expected a refusal (exit 4): {out} {err}");
    assert!(err.contains("permission denied: uid 65534"), "{err}");
    assert!(!out.contains("\"groups\""), "{out}");
    let (code, _, err) = cli_as_nobody(&n, &["handover"]);
    assert_eq!(code, 4, "handover by nobody must be refused: {err}");
    assert!(
        n.log_text().contains("refused a client"),
        "refusal not logged\n{}",
        n.log_text()
    );
    // Nothing moved, root still answered.
    let (code, out, _) = n.cli(&["status", "--json"]);
    assert_eq!(code, 0);
    assert!(out.contains("\"master\""), "{out}");
    assert!(!n.log_text().contains("panicked"));
}

const PASS: &str = "Pw9x7Qz1";
const SEEDED: &str = "Sd4Kq8Zr";
const HMAC_HEX: &str = "5ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7";

fn assert_no_secret(what: &str, text: &str) {
    for s in [PASS, SEEDED, HMAC_HEX, "5ec7e75e", "secret = \"Pw9x"] {
        assert!(!text.contains(s), "{what} shows a secret ({s}):\n{text}");
    }
}

fn metrics(n: &Node) -> String {
    n.ns.run_in(|| {
        let addr: SocketAddr = "127.0.0.1:9650".parse().unwrap();
        let Ok(mut s) = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(3)) else {
            return String::new();
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(3)));
        let _ = s.write_all(b"GET /metrics HTTP/1.0\r\n\r\n");
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out
    })
}

#[test]
fn security_secrets_are_never_printed() {
    if !netns_available("security_secrets_are_never_printed") {
        return;
    }
    let _g = serial();
    let mut lan = Lan::new();
    let mut n = Node::new(&mut lan, "a", &["192.0.2.1/24"], "02:00:00:00:00:01");
    n.write_daemon_config("metrics_listen = \"127.0.0.1:9650\"\n");
    n.write_group(
        "p",
        &v2_group(
            51,
            "192.0.2.100",
            &format!("[auth]\ntype = \"pass\"\nsecret = \"{PASS}\"\n"),
        ),
    );
    n.write_group(
        "s",
        &v2_group(
            52,
            "192.0.2.101",
            "[auth]\ntype = \"ah\"\nsecret = \"${VRRP_SECRET}\"\n",
        ),
    );
    n.write_group(
        "h",
        &format!(
            "vrid = 53\ninterface = \"eth0\"\npriority = 150\nadvert_interval = \"100ms\"\n\
             virtual_ips = [\"192.0.2.102/24\"]\n[auth]\ntype = \"hmac\"\n\
             keys = {{ 1 = \"hex:{HMAC_HEX}\" }}\n"
        ),
    );
    // check --print (and plain check).
    for args in [&["check", "--print"][..], &["check"][..]] {
        let mut c = Command::new(vrrpd_binary());
        c.args(args)
            .arg("--config")
            .arg(&n.dir)
            .env("VRRP_SECRET", SEEDED);
        let out = run(&mut c).expect("vrrpd check");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "check failed: {text}");
        if args.contains(&"--print") {
            assert!(
                text.contains("type = \"pass\""),
                "--print shows the config: {text}"
            );
        }
        assert_no_secret(&format!("vrrpd {args:?}"), &text);
    }
    // The daemon at debug (and trace) level, status, metrics.
    n.start_with_env(&[("VRRP_SECRET", SEEDED), ("VRRPD_LOG", "trace")]);
    let ok = wait_until(Duration::from_secs(8), || {
        let (_, out, _) = n.cli(&["status", "--json"]);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
        v["groups"]
            .as_array()
            .is_some_and(|g| g.len() == 3 && g.iter().all(|g| g["state"] == "master"))
    });
    assert!(ok, "groups never became master\n{}", n.log_text());
    std::thread::sleep(Duration::from_millis(500));
    let (_, status_json, _) = n.cli(&["status", "--json"]);
    let (_, status_table, _) = n.cli(&["status"]);
    assert_no_secret("status --json", &status_json);
    assert_no_secret("status", &status_table);
    assert_no_secret("/metrics", &metrics(&n));
    // A reload (logs the new config's warnings) and a stop.
    let _ = n.cli(&["reload"]);
    std::thread::sleep(Duration::from_millis(300));
    n.stop(libc::SIGTERM, Duration::from_secs(10));
    let log = n.log_text();
    assert!(log.lines().count() > 10, "debug log too short:\n{log}");
    assert_no_secret("the daemon's trace-level log", &log);
}

/// A program that writes its argv, one word per line, to `out`.
fn argv_recorder(dir: &Path, name: &str, out: &Path) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(
        &p,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" >> '{}'\nexit 0\n",
            out.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

#[test]
fn security_hooks_run_without_a_shell_and_seeded_values_stay_literal() {
    if !netns_available("security_hooks_run_without_a_shell_and_seeded_values_stay_literal") {
        return;
    }
    let _g = serial();
    let work = std::env::temp_dir().join(unique_name("vrrpd-sec-hooks-"));
    std::fs::create_dir_all(&work).unwrap();
    struct Cleanup(PathBuf);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    let _cleanup = Cleanup(work.clone());
    let pwned = work.join("pwned");
    let notify_out = work.join("notify.out");
    let track_out = work.join("track.out");
    let notify = argv_recorder(&work, "notify.sh", &notify_out);
    let track = argv_recorder(&work, "track.sh", &track_out);
    let inject = format!("$(touch {})", pwned.display());
    let inject2 = format!("x; touch {}", pwned.display());
    let inject3 = format!("`touch {}`", pwned.display());
    let toml = format!(
        "vrid = 51\ninterface = \"eth0\"\npriority = 150\nversion = 3\n\
         advert_interval = \"100ms\"\nvirtual_ips = [\"192.0.2.100/24\"]\n\
         [[track_script]]\nname = \"chk\"\ncommand = [\"{track}\", \"${{INJECT}}\", \"${{INJECT2}}\"]\n\
         interval = \"200ms\"\nweight = -10\n\
         [notify]\nmaster = [\"{notify}\", \"${{INJECT}}\", \"${{INJECT3}}\", \"a b  c\"]\n",
        track = track.display(),
        notify = notify.display(),
    );
    let (_lan, mut n) = single(
        "web",
        &toml,
        &[
            ("INJECT", &inject),
            ("INJECT2", &inject2),
            ("INJECT3", &inject3),
        ],
    );
    let ok = wait_until(Duration::from_secs(5), || {
        std::fs::read_to_string(&notify_out).is_ok_and(|s| !s.is_empty())
            && std::fs::read_to_string(&track_out).is_ok_and(|s| !s.is_empty())
    });
    assert!(ok, "notify / track never ran\n{}", n.log_text());
    n.stop(libc::SIGTERM, Duration::from_secs(10));
    let got_notify = std::fs::read_to_string(&notify_out).unwrap();
    let got_track = std::fs::read_to_string(&track_out).unwrap();
    let first_notify: Vec<&str> = got_notify.lines().take(3).collect();
    assert_eq!(
        first_notify,
        [inject.as_str(), inject3.as_str(), "a b  c"],
        "notify argv not literal"
    );
    let first_track: Vec<&str> = got_track.lines().take(2).collect();
    assert_eq!(
        first_track,
        [inject.as_str(), inject2.as_str()],
        "track argv not literal"
    );
    assert!(!pwned.exists(), "a seeded value was run by a shell");
}
