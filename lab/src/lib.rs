//! A lab of network namespaces for `vrrpd demo`, the netns-tests and the
//! benchmarks (root only).
//!
//! Every namespace, veth and bridge a test creates lives inside namespaces the
//! test made itself: nothing is added to the root namespace except the
//! namespaces' names. Guards remove everything on Drop, which also runs when a
//! test panics.

mod frr;
mod keepalived;
mod node;
mod probe;

pub use frr::{Frr, frr_available};
pub use keepalived::{Keepalived, keepalived_available, keepalived_binary};
pub use node::{Node, vrrpd_binary};
pub use probe::{
    Outage, PingReply, PingStats, Pinger, client_outage, parse_ping_output, parse_ping_replies,
};

use std::io;
use std::os::fd::AsRawFd;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// Whether this process may create network namespaces. When it may not, the
/// test prints a loud SKIP line and returns early — unless
/// `VRRPD_REQUIRE_NETNS=1`, where a missing privilege fails the test.
pub fn netns_available(test: &str) -> bool {
    let root = unsafe { libc::geteuid() } == 0;
    let have_ip = Command::new("ip")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if root && have_ip {
        return true;
    }
    let why = if !root {
        "not running as root"
    } else {
        "iproute2 `ip` not found"
    };
    if std::env::var("VRRPD_REQUIRE_NETNS").as_deref() == Ok("1") {
        panic!("{test}: VRRPD_REQUIRE_NETNS=1 but network namespaces are unavailable: {why}");
    }
    eprintln!("SKIPPED {test}: needs network namespaces ({why}); run as root to include it");
    false
}

/// Skip (or fail under VRRPD_REQUIRE_NETNS=1) when namespaces are unavailable.
#[macro_export]
macro_rules! require_netns {
    () => {
        if !$crate::netns_available(module_path!()) {
            return;
        }
    };
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A short unique name: namespaces are global, tests run in parallel and in
/// several processes.
pub fn unique_name(prefix: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}{}x{n}", std::process::id() % 100_000)
}

/// Run a command, returning its output; a failure to start is an error.
pub fn run(cmd: &mut Command) -> io::Result<Output> {
    cmd.stdin(Stdio::null()).output()
}

/// Run a command that must succeed.
pub fn must(cmd: &mut Command) -> String {
    let out = run(cmd).unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    if !out.status.success() {
        panic!(
            "{cmd:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A network namespace removed on Drop (with every process still in it).
pub struct Netns {
    pub name: String,
}

impl Netns {
    pub fn new(prefix: &str) -> Netns {
        let name = unique_name(prefix);
        must(Command::new("ip").args(["netns", "add", &name]));
        let ns = Netns { name };
        ns.ip(&["link", "set", "lo", "up"]);
        // A proxy host does not forward. A new namespace inherits the host's
        // IPv4 forwarding (1 on a Docker host), and an old master that
        // forwards passes stray packets on to the new one, hiding losses
        // (ARCHITECTURE §3). Interfaces created later take `default`.
        for key in [
            "net.ipv4.ip_forward=0",
            "net.ipv6.conf.all.forwarding=0",
            "net.ipv6.conf.default.forwarding=0",
        ] {
            ns.sysctl(key);
        }
        ns
    }

    /// A command to run inside the namespace.
    pub fn cmd(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, program]);
        c
    }

    /// `ip ARGS` inside the namespace; must succeed.
    pub fn ip(&self, args: &[&str]) -> String {
        let mut c = self.cmd("ip");
        c.args(args);
        must(&mut c)
    }

    /// `ip ARGS` inside the namespace, result not checked.
    pub fn ip_try(&self, args: &[&str]) -> bool {
        let mut c = self.cmd("ip");
        c.args(args);
        run(&mut c).map(|o| o.status.success()).unwrap_or(false)
    }

    /// Addresses (without prefix) on `dev` in this namespace.
    pub fn addresses(&self, dev: &str) -> Vec<String> {
        let mut c = self.cmd("ip");
        c.args(["-o", "addr", "show", "dev", dev]);
        let out = match run(&mut c) {
            Ok(o) => String::from_utf8_lossy(&o.stdout).into_owned(),
            Err(_) => return Vec::new(),
        };
        out.lines()
            .filter_map(|l| {
                let mut it = l.split_whitespace();
                it.position(|w| w == "inet" || w == "inet6")?;
                let a = it.next()?;
                Some(a.split('/').next().unwrap_or(a).to_string())
            })
            .collect()
    }

    pub fn has_address(&self, dev: &str, addr: &str) -> bool {
        self.addresses(dev).iter().any(|a| a == addr)
    }

    /// Run `f` on a thread whose network namespace is this one: sockets and
    /// netlink connections it opens belong here. The calling thread is
    /// untouched.
    pub fn run_in<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        self.spawn_in(f)
            .join()
            .expect("thread inside namespace panicked")
    }

    /// Like [`Netns::run_in`] without waiting: the thread runs `f` inside
    /// this namespace while the caller goes on; join the handle for the
    /// result (a panic inside shows up as `Err` from `join`).
    pub fn spawn_in<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> std::thread::JoinHandle<T> {
        let path = format!("/run/netns/{}", self.name);
        std::thread::spawn(move || {
            let file = std::fs::File::open(&path).expect("open netns file");
            let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(rc, 0, "setns: {}", io::Error::last_os_error());
            f()
        })
    }

    /// `sysctl -qw KEY=VALUE` inside the namespace; must succeed.
    pub fn sysctl(&self, key_value: &str) {
        let mut c = self.cmd("sysctl");
        c.args(["-qw", key_value]);
        must(&mut c);
    }

    /// Spawn a long-running process inside the namespace, killed on Drop.
    pub fn spawn(&self, program: &str, args: &[&str]) -> Proc {
        let mut c = self.cmd(program);
        c.args(args).stdin(Stdio::null());
        Proc::spawn(c)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Kill whatever still runs inside, then remove the namespace.
        if let Ok(out) = run(Command::new("ip").args(["netns", "pids", &self.name])) {
            for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                if let Ok(pid) = pid.parse::<i32>() {
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                }
            }
        }
        let _ = run(Command::new("ip").args(["netns", "del", &self.name]));
    }
}

/// A veth pair between two namespaces: `a_dev` in `a`, `b_dev` in `b`.
pub fn veth(a: &Netns, a_dev: &str, b: &Netns, b_dev: &str) {
    // Create inside `a` so no interface ever exists in the root namespace.
    a.ip(&[
        "link", "add", a_dev, "type", "veth", "peer", "name", b_dev, "netns", &b.name,
    ]);
    a.ip(&["link", "set", a_dev, "up"]);
    b.ip(&["link", "set", b_dev, "up"]);
}

/// A LAN: a namespace holding a bridge, with one veth per member namespace.
/// Member interface names are `dev` inside each member; the bridge ports are
/// `p0`, `p1`, ... inside the switch namespace.
pub struct Lan {
    pub switch: Netns,
    ports: u32,
}

impl Lan {
    pub fn new() -> Lan {
        let switch = Netns::new("vsw");
        switch.ip(&["link", "add", "br0", "type", "bridge"]);
        // No STP, no forwarding delay: ports forward as soon as they are up.
        switch.ip(&["link", "set", "br0", "type", "bridge", "forward_delay", "0"]);
        switch.ip(&["link", "set", "br0", "up"]);
        Lan { switch, ports: 0 }
    }

    /// Plug `member` in through an interface named `dev` inside it.
    pub fn attach(&mut self, member: &Netns, dev: &str, mac: Option<&str>) -> String {
        let port = format!("p{}", self.ports);
        self.ports += 1;
        veth(&self.switch, &port, member, dev);
        self.switch.ip(&["link", "set", &port, "master", "br0"]);
        if let Some(mac) = mac {
            member.ip(&["link", "set", dev, "address", mac]);
        }
        // IPv6 DAD would hold link-local addresses "tentative" for a second.
        let mut c = member.cmd("sysctl");
        c.args(["-qw", &format!("net.ipv6.conf.{dev}.accept_dad=0")]);
        let _ = run(&mut c);
        port
    }
}

impl Default for Lan {
    fn default() -> Self {
        Lan::new()
    }
}

/// A child process killed (SIGKILL) and reaped on Drop.
pub struct Proc {
    pub child: Option<Child>,
}

impl Proc {
    pub fn spawn(mut cmd: Command) -> Proc {
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot spawn {cmd:?}: {e}"));
        Proc { child: Some(child) }
    }

    pub fn pid(&self) -> i32 {
        self.child.as_ref().map(|c| c.id() as i32).unwrap_or(-1)
    }

    pub fn signal(&self, sig: i32) {
        if self.pid() > 0 {
            unsafe { libc::kill(self.pid(), sig) };
        }
    }

    /// Wait up to `limit` for the process to exit; its status if it did.
    pub fn wait_timeout(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let child = self.child.as_mut()?;
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Ok(Some(st)) = child.try_wait() {
                return Some(st);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        None
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Poll `cond` every 5 ms until it holds or `limit` passes; whether it held.
pub fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    loop {
        if cond() {
            return true;
        }
        if start.elapsed() >= limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}
