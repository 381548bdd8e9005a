//! Trackers and hooks: `track_script` health checks and `[notify]` hooks
//! (SPEC §2.2, §4 Health).
//!
//! - [`rise_fall`] (pure): script results -> up/down transitions.
//! - [`verdict`] (pure): a group's script and interface states -> the
//!   instance's `Input::Trackers { fault, priority_delta }`.
//! - [`script`]: one task per track_script; sends [`TrackEvent`]s on
//!   transitions only.
//! - [`notify`]: one ordered hook queue per group; `notify()` never blocks.
//!
//! Every program runs without a shell, stdin/stdout/stderr on /dev/null, in
//! its own process group (killed as a whole with SIGKILL on timeout or when
//! its owner is dropped), and is always reaped. It inherits the daemon's
//! environment plus `VRRPD_GROUP`, `VRRPD_STATE` (`INIT`, `BACKUP`,
//! `MASTER`, `FAULT`, `STOP`: upper case, the same words keepalived passes
//! to `notify`), `VRRPD_PRIORITY` and `VRRPD_VRID`.
//!
//! Tasks are started with `tokio::spawn` (their futures are `Send`), which
//! works on the daemon's current-thread runtime inside its `LocalSet` as
//! well as on any other runtime; nothing here blocks the thread.

pub mod file;
pub mod hooks;
pub mod notify;
pub mod probe;
pub mod process;
pub mod procs;
pub mod rise_fall;
pub mod script;
pub mod verdict;

pub use notify::{DEFAULT_NOTIFY_TIMEOUT, NOTIFY_QUEUE_LIMIT, Notifier, NotifyState};
pub use rise_fall::RiseFall;
pub use script::{ScriptTracker, TrackerHandle};
pub use verdict::{file_verdict, pending, verdict};

use crate::proto::instance::State;

/// What a tracker tells the daemon.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TrackEvent {
    /// A track script changed state (after rise/fall), or produced its first
    /// result (the state before it is unknown).
    Script {
        group: String,
        script: String,
        up: bool,
    },
    /// A `track_http`, `track_tcp` or `track_process` changed state (or
    /// produced its first result).
    Builtin {
        group: String,
        kind: crate::control::TrackerKind,
        name: String,
        up: bool,
    },
    /// A `track_file`'s value changed (or was first read).
    File {
        group: String,
        name: String,
        value: i64,
    },
}

/// What programs see of their group at spawn time. The daemon owns a
/// `tokio::sync::watch::Sender<GroupEnv>` per group and updates it on every
/// state or priority change (`send_if_modified` / `send_replace`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupEnv {
    pub group: String,
    pub vrid: u8,
    pub state: State,
    pub priority: u8,
}

impl GroupEnv {
    /// The `VRRPD_*` variables.
    pub fn vars(&self) -> Vec<(&'static str, String)> {
        env_vars(
            &self.group,
            state_word(self.state),
            self.priority,
            self.vrid,
        )
    }
}

/// The upper-case word for a state, as in keepalived's notify arguments.
pub fn state_word(state: State) -> &'static str {
    match state {
        State::Init => "INIT",
        State::Backup => "BACKUP",
        State::Master => "MASTER",
        State::Fault => "FAULT",
    }
}

pub(crate) fn env_vars(
    group: &str,
    state: &str,
    priority: u8,
    vrid: u8,
) -> Vec<(&'static str, String)> {
    vec![
        ("VRRPD_GROUP", group.to_string()),
        ("VRRPD_STATE", state.to_string()),
        ("VRRPD_PRIORITY", priority.to_string()),
        ("VRRPD_VRID", vrid.to_string()),
    ]
}
