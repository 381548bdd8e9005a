//! `[notify]` hooks: one ordered queue per group.
//!
//! [`Notifier::notify`] only enqueues (a mutex-protected push, no await), so
//! the protocol never waits for a hook. A task runs the queue in order: for
//! each transition the state's own hook (`master`, `backup`, `fault`,
//! `stop`), then `any` with `INSTANCE <group> <STATE> <priority>` appended,
//! like keepalived's `notify` (which passes `INSTANCE`|`GROUP`, the name,
//! `MASTER`|`BACKUP`|`FAULT`|`STOP` and the priority). Each hook has the
//! notifier's timeout, after which its process group is SIGKILLed, reaped
//! and the kill logged; the next hook then runs. Transitions to INIT run no
//! hook (keepalived has none either).
//!
//! The queue holds at most [`NOTIFY_QUEUE_LIMIT`] transitions; beyond that
//! the oldest queued one is dropped and logged (the newest state is what a
//! hook needs to see). A hook still running is not affected.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tracing::{debug, warn};

use super::process::{Outcome, run_bounded_as};
use super::{env_vars, state_word};
use crate::config::NotifyConfig;
use crate::proto::instance::State;

/// Default per-hook timeout. keepalived has no notify timeout; 10 s bounds a
/// hung hook while leaving room for a real service reload.
pub const DEFAULT_NOTIFY_TIMEOUT: Duration = Duration::from_secs(10);

/// Transitions queued per group before the oldest is dropped.
pub const NOTIFY_QUEUE_LIMIT: usize = 64;

/// What a hook is told.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotifyState {
    Master,
    Backup,
    Fault,
    Stop,
}

impl NotifyState {
    /// `None` for INIT: no hook.
    pub fn from_state(state: State) -> Option<NotifyState> {
        match state {
            State::Init => None,
            State::Backup => Some(NotifyState::Backup),
            State::Master => Some(NotifyState::Master),
            State::Fault => Some(NotifyState::Fault),
        }
    }

    /// `MASTER`, `BACKUP`, `FAULT`, `STOP`.
    pub fn word(self) -> &'static str {
        match self {
            NotifyState::Master => state_word(State::Master),
            NotifyState::Backup => state_word(State::Backup),
            NotifyState::Fault => state_word(State::Fault),
            NotifyState::Stop => "STOP",
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Job {
    state: NotifyState,
    priority: u8,
    vrid: u8,
}

struct Shared {
    queue: Mutex<VecDeque<Job>>,
    work: Notify,
    /// Queued plus running jobs.
    pending: watch::Sender<usize>,
}

/// The hook runner of one group. Dropping it stops the queue and SIGKILLs a
/// hook in progress; call [`Notifier::flush`] first to let queued hooks run.
pub struct Notifier {
    group: String,
    active: bool,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl Notifier {
    /// Start the queue task for `group`. Must be called inside a tokio
    /// runtime. With no hook configured, nothing is ever queued.
    pub fn new(group: &str, cfg: NotifyConfig, timeout: Duration) -> Notifier {
        let active = cfg.master.is_some()
            || cfg.backup.is_some()
            || cfg.fault.is_some()
            || cfg.stop.is_some()
            || cfg.any.is_some();
        let shared = Arc::new(Shared {
            queue: Mutex::new(VecDeque::new()),
            work: Notify::new(),
            pending: watch::Sender::new(0),
        });
        let task = tokio::spawn(worker(group.to_string(), cfg, timeout, shared.clone()));
        Notifier {
            group: group.to_string(),
            active,
            shared,
            task,
        }
    }

    /// Queue the hooks for a transition to `state` (with the priority now in
    /// effect). Never blocks; INIT is ignored.
    pub fn notify(&self, state: State, priority: u8, vrid: u8) {
        if let Some(s) = NotifyState::from_state(state) {
            self.enqueue(Job {
                state: s,
                priority,
                vrid,
            });
        }
    }

    /// Queue the `stop` hook (then `any ... STOP <priority>`), for daemon
    /// shutdown or the group's removal on reload.
    pub fn notify_stop(&self, priority: u8, vrid: u8) {
        self.enqueue(Job {
            state: NotifyState::Stop,
            priority,
            vrid,
        });
    }

    /// Wait until every queued hook has run (or been killed), at most
    /// `limit`. True when the queue drained.
    pub async fn flush(&self, limit: Duration) -> bool {
        let mut rx = self.shared.pending.subscribe();
        matches!(
            tokio::time::timeout(limit, rx.wait_for(|n| *n == 0)).await,
            Ok(Ok(_))
        )
    }

    /// Transitions queued or running.
    pub fn pending(&self) -> usize {
        *self.shared.pending.borrow()
    }

    fn enqueue(&self, job: Job) {
        if !self.active {
            return;
        }
        let dropped = {
            let mut q = self.shared.queue.lock().unwrap_or_else(|e| e.into_inner());
            let dropped = if q.len() >= NOTIFY_QUEUE_LIMIT {
                q.pop_front()
            } else {
                None
            };
            q.push_back(job);
            dropped
        };
        match dropped {
            Some(old) => warn!(
                group = %self.group,
                dropped = old.state.word(),
                "notify queue full: dropped the oldest queued transition"
            ),
            None => self.shared.pending.send_modify(|n| *n += 1),
        }
        self.shared.work.notify_one();
    }
}

impl Drop for Notifier {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn worker(group: String, cfg: NotifyConfig, timeout: Duration, shared: Arc<Shared>) {
    loop {
        let job = loop {
            let next = shared
                .queue
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .pop_front();
            match next {
                Some(j) => break j,
                None => shared.work.notified().await,
            }
        };
        let env = env_vars(&group, job.state.word(), job.priority, job.vrid);
        let specific = match job.state {
            NotifyState::Master => cfg.master.as_ref(),
            NotifyState::Backup => cfg.backup.as_ref(),
            NotifyState::Fault => cfg.fault.as_ref(),
            NotifyState::Stop => cfg.stop.as_ref(),
        };
        if let Some(argv) = specific {
            run_hook(&group, job.state, argv, &env, timeout, cfg.run_as.as_ref()).await;
        }
        if let Some(any) = &cfg.any {
            let mut argv = any.clone();
            argv.extend([
                "INSTANCE".to_string(),
                group.clone(),
                job.state.word().to_string(),
                job.priority.to_string(),
            ]);
            run_hook(&group, job.state, &argv, &env, timeout, cfg.run_as.as_ref()).await;
        }
        shared.pending.send_modify(|n| *n = n.saturating_sub(1));
    }
}

async fn run_hook(
    group: &str,
    state: NotifyState,
    argv: &[String],
    env: &[(&str, String)],
    timeout: Duration,
    run_as: Option<&crate::config::RunAs>,
) {
    let program = argv.first().map(String::as_str).unwrap_or("");
    match run_bounded_as(argv, env, timeout, run_as).await {
        o if o.success() => {
            debug!(group = %group, state = state.word(), program = %program, "notify hook done")
        }
        Outcome::Exited(s) => {
            warn!(group = %group, state = state.word(), program = %program, "notify hook failed: {s}")
        }
        Outcome::TimedOut => warn!(
            group = %group,
            state = state.word(),
            program = %program,
            "notify hook ran past {}; killed",
            crate::config::format_duration(timeout)
        ),
        Outcome::SpawnFailed(e) => {
            warn!(group = %group, state = state.word(), program = %program, "notify hook cannot start: {e}")
        }
        Outcome::WaitFailed(e) => {
            warn!(group = %group, state = state.word(), program = %program, "notify hook wait failed: {e}")
        }
    }
}
