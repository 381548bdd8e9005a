//! Least privilege and service-manager integration for `vrrpd run`
//! (SPEC §6, issue 6): capability checks and dropping, and a minimal init for running as PID 1 in a container.
//!
//! libc only. Every function says where the daemon calls it. `caps`:
//! capability checks and dropping; `pid1`: the minimal init.
//!
//! Order at start-up (see each function):
//! 1. [`init_if_pid1`] — first thing in `vrrpd run`, before tokio or any
//!    thread exists.
//! 2. [`require_capabilities`] — before the config is loaded or any socket
//!    is opened.
//! 3. open netlink, load the config (ENVIRONMENT_INIT runs here), open the
//!    raw sockets, bring the groups up.
//! 4. [`drop_capabilities`] with [`DAEMON_CAPS`] — once the groups are
//!    started, on the runtime's thread.
//! 5. `systemd::ready` — right after, just before the event loop (the
//!    notify protocol is `crate::systemd`).

mod caps;
mod pid1;

pub use caps::*;
pub use pid1::init_if_pid1;
