//! `vrrpd check` and `vrrpd run` against bad, good and secret-bearing
//! configurations (SPEC §2.3, §2.4, §3). Only the last test needs a
//! namespace.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use netns_tests::*;

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

/// A config directory under the temp dir, removed on Drop.
struct TempConfig {
    root: PathBuf,
}

impl TempConfig {
    fn new(files: &[(&str, &str)]) -> TempConfig {
        let root = std::env::temp_dir().join(unique_name("vrrpd-check-"));
        std::fs::create_dir_all(root.join("groups.d")).expect("create temp config dir");
        for (name, text) in files {
            std::fs::write(root.join("groups.d").join(name), text).expect("write group file");
        }
        TempConfig { root }
    }

    fn group_path(&self, name: &str) -> PathBuf {
        self.root.join("groups.d").join(name)
    }
}

impl Drop for TempConfig {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn vrrpd(args: &[&str], config: &Path, env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(vrrpd_binary());
    c.args(args)
        .arg("--config")
        .arg(config)
        .stdin(Stdio::null())
        .env_remove("VRRPD_LOG");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run vrrpd")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

const GOOD: &str = r#"vrid = 51
interface = "eth0"
virtual_ips = ["192.0.2.100/24"]
"#;

/// What is wrong, the group files, the file with the error, its line and
/// column, and a word the message must contain.
type BadCase<'a> = (
    &'a str,
    &'a [(&'a str, &'a str)],
    &'a str,
    u32,
    u32,
    &'a str,
);

#[test]
fn check_reports_file_line_column_and_exit_2() {
    let _g = serial();
    // (what, files, the file the error is in, line, column, words in the message)
    let cases: &[BadCase] = &[
        (
            "unknown key",
            &[(
                "web.toml",
                "vrid = 51\ninterface = \"eth0\"\nbogus = 1\nvirtual_ips = [\"192.0.2.100/24\"]\n",
            )],
            "web.toml",
            3,
            1,
            "bogus",
        ),
        (
            "vrid 0",
            &[(
                "web.toml",
                "vrid = 0\ninterface = \"eth0\"\nvirtual_ips = [\"192.0.2.100/24\"]\n",
            )],
            "web.toml",
            1,
            8,
            "vrid",
        ),
        (
            "VRRPv3 interval not a multiple of 10 ms",
            &[(
                "web.toml",
                "vrid = 51\ninterface = \"eth0\"\nadvert_interval = \"15ms\"\nvirtual_ips = [\"192.0.2.100/24\"]\n",
            )],
            "web.toml",
            3,
            19,
            "advert_interval",
        ),
        (
            "VRRPv2 interval below a second",
            &[(
                "web.toml",
                "vrid = 51\ninterface = \"eth0\"\nversion = 2\nadvert_interval = \"100ms\"\nvirtual_ips = [\"192.0.2.100/24\"]\n",
            )],
            "web.toml",
            4,
            19,
            "advert_interval",
        ),
        (
            "unset variable without a default",
            &[(
                "web.toml",
                "vrid = 51\ninterface = \"${VRRPD_T2_SURELY_UNSET}\"\nvirtual_ips = [\"192.0.2.100/24\"]\n",
            )],
            "web.toml",
            2,
            14,
            "VRRPD_T2_SURELY_UNSET",
        ),
        (
            "duplicate VRID on one interface in multicast",
            &[
                ("a.toml", GOOD),
                (
                    "b.toml",
                    "vrid = 51\ninterface = \"eth0\"\nvirtual_ips = [\"192.0.2.101/24\"]\n",
                ),
            ],
            "b.toml",
            1,
            8,
            "51",
        ),
    ];
    let mut failures = Vec::new();
    for (what, files, bad, line, col, word) in cases {
        let cfg = TempConfig::new(files);
        let out = vrrpd(&["check"], &cfg.root, &[]);
        let err = text(&out.stderr);
        let prefix = format!("{}:{line}:{col}: ", cfg.group_path(bad).display());
        let ok = out.status.code() == Some(2)
            && err
                .lines()
                .any(|l| l.starts_with(&prefix) && l.contains(word))
            && err.ends_with('\n');
        if !ok {
            failures.push(format!(
                "{what}: exit {:?}, expected 2 and a line starting {prefix:?} mentioning {word:?} \
                 (newline-terminated); stderr: {err:?}",
                out.status.code()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn check_accepts_the_examples() {
    let _g = serial();
    require_netns!();
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/examples");
    assert!(examples.join("groups.d").is_dir(), "no {examples:?}");
    // In a namespace of its own: the kernel's view decides which
    // unicast_peers entry is this node's (the host may have any address).
    let ns = Netns::new("vck");
    let mut c = ns.cmd(&vrrpd_binary().to_string_lossy());
    c.args(["check", "--config"])
        .arg(&examples)
        .stdin(Stdio::null());
    let out = c.output().expect("run vrrpd check");
    assert_eq!(
        out.status.code(),
        Some(0),
        "vrrpd check rejected the shipped examples: {}",
        text(&out.stderr)
    );
}

#[test]
fn check_print_masks_secrets() {
    let _g = serial();
    let cfg = TempConfig::new(&[(
        "web.toml",
        "vrid = 51\ninterface = \"eth0\"\nversion = 2\nadvert_interval = \"1s\"\n\
         virtual_ips = [\"192.0.2.100/24\"]\n[auth]\ntype = \"pass\"\nsecret = \"${T2_SECRET:-dflt1234}\"\n",
    )]);
    for (env, secret) in [
        (&[][..], "dflt1234"),
        (&[("T2_SECRET", "hunter22")][..], "hunter22"),
    ] {
        let out = vrrpd(&["check", "--print"], &cfg.root, env);
        let stdout = text(&out.stdout);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "check --print failed: {stderr}");
        assert!(
            stdout.contains("***"),
            "no masked secret in --print output:\n{stdout}"
        );
        assert!(
            !stdout.contains(secret) && !stderr.contains(secret),
            "secret {secret:?} leaked by --print:\n{stdout}\n{stderr}"
        );
        assert!(
            stdout.contains("192.0.2.100"),
            "--print does not show the config:\n{stdout}"
        );
    }
}

#[test]
fn run_with_bad_config_exits_2_before_touching_anything() {
    require_netns!();
    let _g = serial();
    let mut lan = Lan::new();
    let mut node = Node::new(&mut lan, "a", &["192.0.2.1/24"], "02:00:00:00:00:01");
    // What a crashed run would have left: start-up would remove it, a bad
    // config must stop vrrpd before it gets there.
    node.ns
        .ip(&["addr", "add", "192.0.2.100/24", "dev", "eth0"]);
    node.write_group(
        "web",
        "vrid = 51\ninterface = \"eth0\"\npriority = 150\nadvert_interval = \"100ms\"\n\
         unicast_peers = [\"192.0.2.2\"]\nvirtual_ips = [\"192.0.2.100/24\"]\nbogus = true\n",
    );
    let link_before = node.ns.ip(&["-o", "link", "show", "dev", "eth0"]);
    node.start();
    let st = node
        .daemon
        .as_mut()
        .and_then(|d| d.wait_timeout(Duration::from_secs(10)));
    let log = node.log_text();
    assert_eq!(
        st.and_then(|s| s.code()),
        Some(2),
        "vrrpd run with a bad config: {st:?}, log:\n{log}"
    );
    let prefix = format!(
        "{}:7:1: ",
        node.dir.join("groups.d").join("web.toml").display()
    );
    assert!(
        log.lines()
            .any(|l| l.starts_with(&prefix) && l.contains("bogus")),
        "no {prefix:?} error line in:\n{log}"
    );
    assert!(
        node.holds("192.0.2.100"),
        "the stale VIP was touched by a run that refused its config:\n{log}"
    );
    assert!(node.holds("192.0.2.1"), "the node's own address is gone");
    let link_after = node.ns.ip(&["-o", "link", "show", "dev", "eth0"]);
    assert_eq!(link_before, link_after, "eth0 changed:\n{log}");
    assert!(
        !log.contains("vrrpd started") && !log.contains("removed stale VIP"),
        "{log}"
    );
}
