//! A lab host running a real `vrrpd` process, with its own config directory
//! and log file.

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use super::{Lan, Netns, Proc, unique_name};

/// The `vrrpd` executable to run: `$VRRPD_BIN`, else this executable when it
/// is vrrpd itself, else `vrrpd` next to the test binary's `deps/` folder
/// (`target/<profile>/vrrpd`, which `cargo test --workspace` builds).
pub fn vrrpd_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("VRRPD_BIN") {
        return PathBuf::from(p);
    }
    let me = std::env::current_exe().expect("current_exe");
    if me.file_name().is_some_and(|n| n == "vrrpd") {
        return me;
    }
    let mut dir = me.parent().map(Path::to_path_buf).unwrap_or_default();
    for _ in 0..3 {
        let cand = dir.join("vrrpd");
        if cand.is_file() {
            return cand;
        }
        if !dir.pop() {
            break;
        }
    }
    panic!("cannot find the vrrpd binary near {me:?}; set VRRPD_BIN");
}

/// A namespace on a LAN with `eth0`, an address, a config directory and
/// (once started) a vrrpd daemon whose stderr goes to `log`.
pub struct Node {
    pub name: String,
    pub ns: Netns,
    pub dir: PathBuf,
    pub log: PathBuf,
    pub daemon: Option<Proc>,
}

impl Node {
    /// Attach a new namespace to `lan` as `eth0` with `cidrs` (IPv4 and/or
    /// IPv6, e.g. "192.0.2.1/24", "fe80::1/64") and a fixed MAC.
    pub fn new(lan: &mut Lan, name: &str, cidrs: &[&str], mac: &str) -> Node {
        let ns = Netns::new("vtn");
        lan.attach(&ns, "eth0", Some(mac));
        for c in cidrs {
            let mut args = vec!["addr", "add", c, "dev", "eth0"];
            if c.contains(':') {
                args.push("nodad");
            }
            ns.ip(&args);
        }
        let dir = std::env::temp_dir()
            .join(unique_name("vrrpd-lab-"))
            .join(name);
        std::fs::create_dir_all(dir.join("groups.d")).expect("create config dir");
        let log = dir.join("vrrpd.log");
        let node = Node {
            name: name.to_string(),
            ns,
            dir,
            log,
            daemon: None,
        };
        node.write_daemon_config("");
        node
    }

    /// This node's control socket (each node has its own: they share the
    /// host's filesystem).
    pub fn socket(&self) -> PathBuf {
        self.dir.join("vrrpd.sock")
    }

    /// Run a vrrpd CLI command (`status`, `handover`, `reload` ...) against
    /// this node's daemon; returns (exit code, stdout, stderr).
    pub fn cli(&self, args: &[&str]) -> (i32, String, String) {
        let mut c = std::process::Command::new(vrrpd_binary());
        c.args(args).arg("--socket").arg(self.socket());
        let out = super::run(&mut c).expect("run vrrpd cli");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Write `groups.d/NAME.toml`.
    pub fn write_group(&self, group: &str, toml: &str) {
        std::fs::write(
            self.dir.join("groups.d").join(format!("{group}.toml")),
            toml,
        )
        .expect("write group file");
    }

    /// Remove `groups.d/NAME.toml`.
    pub fn remove_group(&self, group: &str) {
        let _ = std::fs::remove_file(self.dir.join("groups.d").join(format!("{group}.toml")));
    }

    /// Write `vrrpd.toml`; unless it sets `control_socket`, the node's own
    /// socket path is put first.
    pub fn write_daemon_config(&self, toml: &str) {
        let text = if toml.contains("control_socket") {
            toml.to_string()
        } else {
            format!(
                "control_socket = {:?}\n{toml}",
                self.socket().display().to_string()
            )
        };
        std::fs::write(self.dir.join("vrrpd.toml"), text).expect("write vrrpd.toml");
    }

    /// Start `vrrpd run --config DIR` inside the namespace.
    pub fn start(&mut self) {
        self.start_with_env(&[]);
    }

    pub fn start_with_env(&mut self, env: &[(&str, &str)]) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("open log");
        let mut c = self.ns.cmd(&vrrpd_binary().to_string_lossy());
        c.args(["run", "--config"])
            .arg(&self.dir)
            .env("VRRPD_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log);
        for (k, v) in env {
            c.env(k, v);
        }
        self.daemon = Some(Proc::spawn(c));
    }

    /// Send `sig` to the daemon.
    pub fn signal(&self, sig: i32) {
        if let Some(d) = &self.daemon {
            d.signal(sig);
        }
    }

    /// Send `sig` and wait up to `limit` for the daemon to exit.
    pub fn stop(&mut self, sig: i32, limit: Duration) -> Option<ExitStatus> {
        let d = self.daemon.as_mut()?;
        d.signal(sig);
        let st = d.wait_timeout(limit);
        if st.is_some() {
            self.daemon = None;
        }
        st
    }

    /// Whether the daemon is still running.
    pub fn running(&mut self) -> bool {
        match self.daemon.as_mut().and_then(|d| d.child.as_mut()) {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The daemon's state-change log lines so far.
    pub fn state_changes(&self) -> Vec<String> {
        self.log_text()
            .lines()
            .filter(|l| l.contains("state change ") && l.contains(" -> "))
            .map(str::to_string)
            .collect()
    }

    pub fn holds(&self, addr: &str) -> bool {
        self.ns.has_address("eth0", addr)
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        // Stop the daemon before the namespace goes; keep the log for a
        // failing test's message only as long as the node lives.
        self.daemon = None;
        if let Some(parent) = self.dir.parent() {
            let _ = std::fs::remove_dir_all(parent);
        }
    }
}
