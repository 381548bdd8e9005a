//! One task per `[[track_script]]`: run the command every `interval`, kill it
//! after `timeout` (a failure), feed the results through [`RiseFall`] and
//! report transitions as [`TrackEvent::Script`].
//!
//! The first run starts as soon as the tracker is spawned; later runs start
//! `interval` after the previous *start*; a run that outlasts the interval
//! is followed at once by the next (runs never overlap). Exit code 0 is success; any other exit, a
//! death by signal, a timeout or a spawn error is a failure and is logged
//! (a repeated identical failure is logged once until the script recovers).

use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;
use tracing::{debug, info, warn};

use super::process::{Outcome, run_bounded_as};
use super::{GroupEnv, RiseFall, TrackEvent};
use crate::config::TrackScript;

/// Starts track script tasks.
pub struct ScriptTracker;

impl ScriptTracker {
    /// Start tracking `cfg` for `group`. Must be called inside a tokio
    /// runtime. `env` gives the `VRRPD_*` values at each spawn; `events`
    /// receives transitions (never blocks: unbounded, and transitions are
    /// rare). The task ends by itself when `events` is closed.
    pub fn spawn(
        group: &str,
        cfg: &TrackScript,
        env: watch::Receiver<GroupEnv>,
        events: mpsc::UnboundedSender<TrackEvent>,
    ) -> TrackerHandle {
        let task = tokio::spawn(run(group.to_string(), cfg.clone(), env, events));
        TrackerHandle {
            name: cfg.name.clone(),
            task,
        }
    }
}

/// A running track script. Dropping it stops the task and SIGKILLs a run in
/// progress (which is then reaped in the background).
#[derive(Debug)]
pub struct TrackerHandle {
    name: String,
    task: JoinHandle<()>,
}

impl TrackerHandle {
    /// The script's name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Whether the task has ended (only when the event receiver is gone).
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }
}

impl Drop for TrackerHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn run(
    group: String,
    cfg: TrackScript,
    env: watch::Receiver<GroupEnv>,
    events: mpsc::UnboundedSender<TrackEvent>,
) {
    let mut rf = RiseFall::new(cfg.rise, cfg.fall);
    let mut ticker = tokio::time::interval(cfg.interval.max(Duration::from_millis(1)));
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut last_failure: Option<String> = None;
    loop {
        ticker.tick().await;
        if events.is_closed() {
            return;
        }
        let vars = env.borrow().vars();
        let outcome = run_bounded_as(&cfg.command, &vars, cfg.timeout, cfg.run_as.as_ref()).await;
        let success = outcome.success();
        if success {
            last_failure = None;
        } else {
            let what = describe(&outcome, cfg.timeout);
            if last_failure.as_deref() != Some(what.as_str()) {
                warn!(group = %group, script = %cfg.name, "track script failed: {what}");
                last_failure = Some(what);
            } else {
                debug!(group = %group, script = %cfg.name, "track script failed again: {what}");
            }
        }
        if let Some(up) = rf.record(success) {
            info!(
                group = %group,
                script = %cfg.name,
                up,
                "track script is now {}",
                if up { "up" } else { "down" }
            );
            let ev = TrackEvent::Script {
                group: group.clone(),
                script: cfg.name.clone(),
                up,
            };
            if events.send(ev).is_err() {
                return;
            }
        }
    }
}

fn describe(outcome: &Outcome, timeout: Duration) -> String {
    match outcome {
        Outcome::Exited(s) => format!("{s}"),
        Outcome::TimedOut => format!(
            "timed out after {}, killed",
            crate::config::format_duration(timeout)
        ),
        Outcome::SpawnFailed(e) => format!("cannot start: {e}"),
        Outcome::WaitFailed(e) => format!("wait failed: {e}"),
    }
}
