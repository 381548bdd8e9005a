//! A minimal init for running as PID 1 in a container.

use std::io;

use super::caps::*;

/// When this process is PID 1 (the `FROM scratch` image's entrypoint), split
/// in two like `tini` / `docker --init`: the parent stays PID 1 as a minimal
/// init that forwards SIGTERM/SIGINT/SIGHUP/SIGQUIT/SIGUSR1/SIGUSR2 to the
/// daemon and reaps every child re-parented to it (orphans of notify/track
/// programs, e.g. `sh -c "x &"`), and exits with the daemon's status; the
/// child returns from this function and runs the daemon as usual. Not PID 1,
/// or `VRRPD_NO_INIT=1`: returns at once, nothing changes.
///
/// Why not reap inside the daemon: tokio::process reaps its own children by
/// pid on SIGCHLD; a `waitpid(-1)` loop in the same process would steal their
/// exit statuses (tokio's `wait` would then fail with ECHILD), and telling an
/// orphan's zombie from a tokio child's zombie needs every spawn site to
/// register its pid. A separate init process has no such race and needs no
/// cooperation from the code that spawns hooks.
///
/// The init drops every capability (and the bounding set) after the fork;
/// the daemon keeps its own and drops them later with [`drop_capabilities`].
///
/// Call site: `main`, in `Cmd::Run`, as the very first statement — before
/// logging, config loading (ENVIRONMENT_INIT) and the tokio runtime, while
/// the process has a single thread (fork is only safe then). Only `run`:
/// `vrrpd status` (the HEALTHCHECK) is never PID 1.
pub fn init_if_pid1() {
    // SAFETY: getpid has no preconditions.
    if unsafe { libc::getpid() } != 1 || std::env::var_os("VRRPD_NO_INIT").is_some_and(|v| v == "1")
    {
        return;
    }
    // SAFETY: the signal set calls only touch `set`.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    unsafe {
        libc::sigemptyset(&mut set);
        for s in FORWARDED.iter().chain([libc::SIGCHLD].iter()) {
            libc::sigaddset(&mut set, *s);
        }
        // Block before fork so a SIGTERM arriving in between is not lost.
        libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
    // SAFETY: single-threaded at this point (see the call site).
    let child = unsafe { libc::fork() };
    if child < 0 {
        eprintln!(
            "vrrpd: fork for the PID 1 init failed ({}); running without it",
            io::Error::last_os_error()
        );
        unsafe { libc::sigprocmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut()) };
        return;
    }
    if child == 0 {
        // The daemon: signals back to normal.
        unsafe { libc::sigprocmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut()) };
        return;
    }
    init_loop(child, &set)
}

const FORWARDED: [libc::c_int; 6] = [
    libc::SIGTERM,
    libc::SIGINT,
    libc::SIGHUP,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
];

fn init_loop(daemon: libc::pid_t, set: &libc::sigset_t) -> ! {
    // The init needs no privilege at all: clear every set.
    for cap in 0..=last_cap() {
        unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) };
    }
    let _ = set_caps(CapSets {
        effective: 0,
        permitted: 0,
        inheritable: 0,
    });
    loop {
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: `set` is a valid blocked set, `info` a writable siginfo.
        let sig = unsafe { libc::sigwaitinfo(set, &mut info) };
        if sig < 0 {
            continue; // EINTR
        }
        if sig != libc::SIGCHLD {
            unsafe { libc::kill(daemon, sig) };
            continue;
        }
        // Reap everything that has exited; the daemon's exit ends the init.
        loop {
            let mut status = 0;
            let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
            if pid <= 0 {
                break;
            }
            if pid == daemon {
                let code = if libc::WIFEXITED(status) {
                    libc::WEXITSTATUS(status)
                } else if libc::WIFSIGNALED(status) {
                    128 + libc::WTERMSIG(status)
                } else {
                    1
                };
                std::process::exit(code);
            }
        }
    }
}
