//! The systemd notify protocol (sd_notify(3), SPEC §6), through the
//! sd-notify crate: `READY=1`, `RELOADING=1` with `MONOTONIC_USEC=` (from
//! systemd 253 on a reload fails without it), `STOPPING=1`, and `WATCHDOG=1` pings
//! sent by the daemon's event loop itself, so a loop that hangs stops them
//! and systemd restarts the daemon (a hung master would otherwise keep its
//! VIPs while the peer takes over). Without `$NOTIFY_SOCKET` every call is a
//! no-op.

use std::time::Duration;

use sd_notify::NotifyState;
use tracing::warn;

fn send(what: &str, states: &[NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(states) {
        warn!("sd_notify {what}: {e}");
    }
}

/// Every group is started (call site: `daemon::run_async`, before the event
/// loop), or a reload is over, applied or rejected (`Daemon::reload`).
pub fn ready(status: &str) {
    send("READY", &[NotifyState::Ready, NotifyState::Status(status)]);
}

/// A reload starts (`Daemon::reload`).
pub fn reloading() {
    match NotifyState::monotonic_usec_now() {
        Ok(now) => send(
            "RELOADING",
            &[
                NotifyState::Reloading,
                now,
                NotifyState::Status("reloading the configuration"),
            ],
        ),
        Err(e) => warn!("sd_notify RELOADING: CLOCK_MONOTONIC: {e}"),
    }
}

/// SIGTERM/SIGINT starts the make-before-break release
/// (`Daemon::on_stop_signal`).
pub fn stopping() {
    send(
        "STOPPING",
        &[
            NotifyState::Stopping,
            NotifyState::Status("releasing virtual IPs"),
        ],
    );
}

/// One watchdog ping (from the event loop, every [`watchdog_interval`]).
pub fn watchdog() {
    send("WATCHDOG", &[NotifyState::Watchdog]);
}

/// How often the event loop pings: a third of `$WATCHDOG_USEC` (for this
/// process, per `$WATCHDOG_PID`), so at least twice per period even when a
/// tick comes late on a busy host; `None` when systemd asks for no watchdog.
pub fn watchdog_interval() -> Option<Duration> {
    sd_notify::watchdog_enabled()
        .map(|period| (period / 3).max(Duration::from_millis(1)))
        .filter(|_| std::env::var_os("NOTIFY_SOCKET").is_some())
}
