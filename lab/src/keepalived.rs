//! A lab host running a real `keepalived` (the interop peer): a namespace on
//! a LAN, a temp directory with its config, pid files and log, and a guard
//! that stops keepalived and removes everything on Drop.

use std::path::PathBuf;
use std::process::ExitStatus;
use std::time::Duration;

use super::{Lan, Netns, Proc, run, unique_name};

/// The `keepalived` executable: `$KEEPALIVED_BIN`, else `keepalived` on PATH
/// (Debian installs it in /usr/sbin).
pub fn keepalived_binary() -> String {
    if let Ok(p) = std::env::var("KEEPALIVED_BIN") {
        return p;
    }
    for cand in ["/usr/sbin/keepalived", "/usr/local/sbin/keepalived"] {
        if std::path::Path::new(cand).is_file() {
            return cand.to_string();
        }
    }
    "keepalived".to_string()
}

/// Whether keepalived can be run here (`keepalived --version` succeeds).
pub fn keepalived_available() -> bool {
    run(std::process::Command::new(keepalived_binary()).arg("--version"))
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// A namespace with `eth0` on a LAN running keepalived in the foreground
/// (`-n -l -D`), its stdout and stderr appended to `log`.
pub struct Keepalived {
    pub name: String,
    pub ns: Netns,
    pub dir: PathBuf,
    pub conf: PathBuf,
    pub log: PathBuf,
    pub daemon: Option<Proc>,
}

impl Keepalived {
    /// Attach a new namespace to `lan` as `eth0` with `cidrs` and a fixed MAC
    /// (like [`super::Node::new`]).
    pub fn new(lan: &mut Lan, name: &str, cidrs: &[&str], mac: &str) -> Keepalived {
        let ns = Netns::new("vtk");
        lan.attach(&ns, "eth0", Some(mac));
        for c in cidrs {
            let mut args = vec!["addr", "add", c, "dev", "eth0"];
            if c.contains(':') {
                args.push("nodad");
            }
            ns.ip(&args);
        }
        let dir = std::env::temp_dir()
            .join(unique_name("vrrpd-lab-ka-"))
            .join(name);
        std::fs::create_dir_all(&dir).expect("create keepalived dir");
        Keepalived {
            name: name.to_string(),
            ns,
            conf: dir.join("keepalived.conf"),
            log: dir.join("keepalived.log"),
            dir,
            daemon: None,
        }
    }

    /// Write `keepalived.conf`.
    pub fn write_config(&self, text: &str) {
        std::fs::write(&self.conf, text).expect("write keepalived.conf");
    }

    /// Start `keepalived -n -l -D -f CONF -p PID -r VRRP_PID -c CHECKERS_PID`
    /// in the namespace (own pid files: several instances, also other
    /// users' keepalived, run on one host).
    pub fn start(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("open keepalived log");
        let log2 = log.try_clone().expect("dup keepalived log");
        let mut c = self.ns.cmd(&keepalived_binary());
        c.args(["-n", "-l", "-D", "-f"])
            .arg(&self.conf)
            .arg("-p")
            .arg(self.dir.join("keepalived.pid"))
            .arg("-r")
            .arg(self.dir.join("vrrp.pid"))
            .arg("-c")
            .arg(self.dir.join("checkers.pid"))
            .stdout(log)
            .stderr(log2);
        self.daemon = Some(Proc::spawn(c));
    }

    /// Send `sig` to the keepalived parent (it forwards to its VRRP child).
    pub fn signal(&self, sig: i32) {
        if let Some(d) = &self.daemon {
            d.signal(sig);
        }
    }

    /// Send `sig` and wait up to `limit` for keepalived to exit.
    pub fn stop(&mut self, sig: i32, limit: Duration) -> Option<ExitStatus> {
        let d = self.daemon.as_mut()?;
        d.signal(sig);
        let st = d.wait_timeout(limit);
        if st.is_some() {
            self.daemon = None;
            self.kill_leftovers();
        }
        st
    }

    /// SIGKILL whatever keepalived left running in the namespace.
    fn kill_leftovers(&self) {
        if let Ok(out) =
            run(std::process::Command::new("ip").args(["netns", "pids", &self.ns.name]))
        {
            for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                if let Ok(pid) = pid.parse::<i32>() {
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                }
            }
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// keepalived's state transitions so far ("Entering MASTER STATE", ...).
    pub fn state_changes(&self) -> Vec<String> {
        self.log_text()
            .lines()
            .filter(|l| l.contains("Entering ") && l.contains(" STATE"))
            .map(str::to_string)
            .collect()
    }

    pub fn holds(&self, addr: &str) -> bool {
        self.ns.has_address("eth0", addr)
    }
}

impl Drop for Keepalived {
    fn drop(&mut self) {
        // Kill keepalived (and its VRRP child) before the namespace goes.
        self.daemon = None;
        self.kill_leftovers();
        if let Some(parent) = self.dir.parent() {
            let _ = std::fs::remove_dir_all(parent);
        }
    }
}
