//! Run one program with a deadline: no shell, stdin/stdout/stderr on
//! /dev/null (a chatty program costs no memory), its own process group, and
//! every child reaped, also a killed one and also when the future running it
//! is dropped.

use std::io;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::process::{Child, Command};
use tracing::warn;

/// How long to wait for a SIGKILLed child to be reaped before handing it to
/// tokio's background reaper (a process in uninterruptible sleep can take a
/// while to die).
const REAP_GRACE: Duration = Duration::from_secs(1);

/// How a run ended.
#[derive(Debug)]
pub enum Outcome {
    /// It exited or was killed by a signal on its own.
    Exited(ExitStatus),
    /// It ran past the timeout and was killed (SIGKILL to its process group).
    TimedOut,
    /// It could not be started (missing program, not executable, ...).
    SpawnFailed(io::Error),
    /// Waiting for it failed.
    WaitFailed(io::Error),
}

impl Outcome {
    /// Exit code 0.
    pub fn success(&self) -> bool {
        matches!(self, Outcome::Exited(s) if s.success())
    }
}

/// Owns a spawned child until it has been reaped. Dropping it unreaped
/// SIGKILLs the child's process group; tokio (`kill_on_drop`) then reaps the
/// child in the background.
struct ChildGuard {
    child: Child,
    pid: Option<i32>,
}

impl ChildGuard {
    fn kill_group(&self) {
        if let Some(pid) = self.pid {
            // SAFETY: kill(2) with a negative pid signals that process group.
            // The child is not reaped yet, so its pid (= pgid) is still ours.
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
            }
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        self.kill_group();
    }
}

/// Run `argv` (program and arguments, never through a shell) with `env`
/// added to the daemon's environment; kill it after `timeout`.
pub async fn run_bounded(argv: &[String], env: &[(&str, String)], timeout: Duration) -> Outcome {
    run_bounded_as(argv, env, timeout, None).await
}

/// [`run_bounded`] as `run_as`'s uid/gid (keepalived `script_user`); std
/// clears the supplementary groups when root drops to a uid.
pub async fn run_bounded_as(
    argv: &[String],
    env: &[(&str, String)],
    timeout: Duration,
    run_as: Option<&crate::config::RunAs>,
) -> Outcome {
    let Some((program, args)) = argv.split_first() else {
        return Outcome::SpawnFailed(io::Error::new(io::ErrorKind::InvalidInput, "empty command"));
    };
    let mut cmd = Command::new(program);
    cmd.args(args)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        // The notify protocol is the daemon's alone.
        .env_remove("NOTIFY_SOCKET")
        .env_remove("WATCHDOG_USEC")
        .env_remove("WATCHDOG_PID")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .kill_on_drop(true);
    if let Some(r) = run_as {
        if let Some(gid) = r.gid {
            cmd.gid(gid);
        }
        if let Some(uid) = r.uid {
            cmd.uid(uid);
        }
    }
    let child = match spawn(&mut cmd).await {
        Ok(c) => c,
        Err(e) => return Outcome::SpawnFailed(e),
    };
    let pid = child.id().and_then(|p| i32::try_from(p).ok());
    let mut guard = ChildGuard { child, pid };
    match tokio::time::timeout(timeout, guard.child.wait()).await {
        Ok(Ok(status)) => {
            guard.pid = None;
            Outcome::Exited(status)
        }
        Ok(Err(e)) => Outcome::WaitFailed(e),
        Err(_) => {
            guard.kill_group();
            match tokio::time::timeout(REAP_GRACE, guard.child.wait()).await {
                Ok(_) => guard.pid = None,
                Err(_) => warn!(
                    program = %program,
                    pid = ?pid,
                    "killed program did not exit yet; it is reaped in the background"
                ),
            }
            Outcome::TimedOut
        }
    }
}

/// Spawn, retrying briefly on ETXTBSY: a program file that was just written
/// can still be open for writing in a concurrently forked child of this
/// (multi-threaded) process.
async fn spawn(cmd: &mut Command) -> io::Result<Child> {
    let mut tries = 0;
    loop {
        match cmd.spawn() {
            Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) && tries < 10 => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            r => return r,
        }
    }
}
