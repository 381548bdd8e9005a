//! FRR (Debian's `frr` package, 8.4) as a peer inside a lab namespace:
//! zebra plus one protocol daemon (bfdd, vrrpd), each with its own `-N`
//! pathspace so that several FRR instances on one host never share a
//! socket or a config file.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use super::{Netns, run, unique_name, wait_until};

const FRR_LIB: &str = "/usr/lib/frr";

/// Whether FRR's daemons are installed.
pub fn frr_available() -> bool {
    std::path::Path::new(FRR_LIB).join("zebra").is_file()
}

/// One FRR instance: zebra and the given daemons in `ns`, configured from
/// `frr.conf`. Stopped, and its pathspace removed, on Drop.
pub struct Frr {
    pub pathspace: String,
    conf_dir: PathBuf,
    run_dir: PathBuf,
    daemons: Vec<String>,
}

impl Frr {
    /// Start zebra and `daemons` (e.g. `["bfdd"]`) in `ns` with `conf` as
    /// their integrated frr.conf. Panics with FRR's output if one fails to
    /// start.
    pub fn start(ns: &Netns, daemons: &[&str], conf: &str) -> Frr {
        let pathspace = unique_name("vfrr");
        let conf_dir = PathBuf::from("/etc/frr").join(&pathspace);
        let run_dir = PathBuf::from("/var/run/frr").join(&pathspace);
        for d in [&conf_dir, &run_dir] {
            std::fs::create_dir_all(d).expect("create FRR pathspace dir");
            chown_frr(d);
        }
        let conf_path = conf_dir.join("frr.conf");
        std::fs::write(&conf_path, conf).expect("write frr.conf");
        chown_frr(&conf_path);
        let mut frr = Frr {
            pathspace,
            conf_dir,
            run_dir,
            daemons: Vec::new(),
        };
        for d in std::iter::once("zebra").chain(daemons.iter().copied()) {
            let mut c = ns.cmd(&format!("{FRR_LIB}/{d}"));
            c.args(["-N", &frr.pathspace, "-d", "-f"]).arg(&conf_path);
            let out = run(&mut c).unwrap_or_else(|e| panic!("cannot run FRR {d}: {e}"));
            assert!(
                out.status.success(),
                "FRR {d} failed to start: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            frr.daemons.push(d.to_string());
            let pid = frr.pid_file(d);
            assert!(
                wait_until(Duration::from_secs(5), || pid.is_file()),
                "FRR {d} wrote no pid file"
            );
        }
        frr
    }

    fn pid_file(&self, daemon: &str) -> PathBuf {
        self.run_dir.join(format!("{daemon}.pid"))
    }

    fn pid(&self, daemon: &str) -> Option<i32> {
        std::fs::read_to_string(self.pid_file(daemon))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// Send `sig` to one of the daemons.
    pub fn signal(&self, daemon: &str, sig: i32) {
        if let Some(pid) = self.pid(daemon) {
            unsafe { libc::kill(pid, sig) };
        }
    }

    /// Restart a daemon killed with [`Frr::signal`].
    pub fn restart(&self, ns: &Netns, daemon: &str) {
        let _ = std::fs::remove_file(self.pid_file(daemon));
        let mut c = ns.cmd(&format!("{FRR_LIB}/{daemon}"));
        c.args(["-N", &self.pathspace, "-d", "-f"])
            .arg(self.conf_dir.join("frr.conf"));
        let out = run(&mut c).expect("run FRR daemon");
        assert!(out.status.success(), "FRR {daemon} failed to restart");
    }

    /// `vtysh -N PATHSPACE -c CMD`'s output.
    pub fn vtysh(&self, cmd: &str) -> String {
        run(Command::new("vtysh").args(["-N", &self.pathspace, "-c", cmd]))
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    }
}

fn chown_frr(p: &std::path::Path) {
    let _ = run(Command::new("chown").arg("frr:frr").arg(p));
}

impl Drop for Frr {
    fn drop(&mut self) {
        for d in self.daemons.iter().rev() {
            if let Some(pid) = self.pid(d) {
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
        let _ = std::fs::remove_dir_all(&self.run_dir);
        let _ = std::fs::remove_dir_all(&self.conf_dir);
    }
}
