//! A group's health trackers and notify hooks, and how their results reach
//! the state machine.

use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tracing::info;

use crate::config::TrackScript;
use crate::control::{TrackerKind, TrackerStatus};
use crate::proto::instance::{Input, State};
use crate::track::{self, GroupEnv, Notifier, ScriptTracker, TrackEvent, TrackerHandle};

use super::Daemon;

/// One running `track_script` and its last verdict (`None` before the first
/// result).
pub struct ScriptState {
    pub cfg: TrackScript,
    pub handle: TrackerHandle,
    pub up: Option<bool>,
}

/// A running built-in tracker (http, tcp, process, file) and its last
/// result: `up` for the rise/fall kinds, `value` for track_file.
pub struct BuiltinState {
    pub kind: TrackerKind,
    pub name: String,
    pub weight: i16,
    pub up: Option<bool>,
    pub value: Option<i64>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for BuiltinState {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The per-group processes: script trackers, built-in trackers and the
/// notifier.
pub struct GroupHooks {
    pub env: watch::Sender<GroupEnv>,
    pub notifier: Notifier,
    pub scripts: Vec<ScriptState>,
    pub builtin: Vec<BuiltinState>,
}

impl GroupHooks {
    pub fn start(
        cfg: &crate::config::GroupConfig,
        events: &mpsc::UnboundedSender<TrackEvent>,
    ) -> GroupHooks {
        let (env, env_rx) = watch::channel(GroupEnv {
            group: cfg.name.clone(),
            vrid: cfg.vrid,
            state: State::Init,
            priority: cfg.priority,
        });
        let scripts = cfg
            .track_scripts
            .iter()
            .map(|s| ScriptState {
                cfg: s.clone(),
                handle: ScriptTracker::spawn(&cfg.name, s, env_rx.clone(), events.clone()),
                up: None,
            })
            .collect();
        let b = &cfg.builtin;
        let g = &cfg.name;
        let state = |kind, name: &str, weight, task| BuiltinState {
            kind,
            name: name.to_string(),
            weight,
            up: None,
            value: None,
            task,
        };
        let builtin = (b.http.iter())
            .map(|t| {
                state(
                    TrackerKind::Http,
                    &t.name,
                    t.probe.weight,
                    track::probe::spawn_http(g, t, events.clone()),
                )
            })
            .chain(b.tcp.iter().map(|t| {
                state(
                    TrackerKind::Tcp,
                    &t.name,
                    t.probe.weight,
                    track::probe::spawn_tcp(g, t, events.clone()),
                )
            }))
            .chain(b.process.iter().map(|t| {
                state(
                    TrackerKind::Process,
                    &t.name,
                    t.weight,
                    track::procs::spawn(g, t, events.clone()),
                )
            }))
            .chain(b.file.iter().map(|t| {
                state(
                    TrackerKind::File,
                    &t.name,
                    t.weight,
                    track::file::spawn(g, t, events.clone()),
                )
            }))
            .collect();
        GroupHooks {
            env,
            notifier: Notifier::new(&cfg.name, cfg.notify.clone(), track::DEFAULT_NOTIFY_TIMEOUT),
            scripts,
            builtin,
        }
    }
}

impl Daemon {
    /// Combined verdict of the group's tracked interfaces and scripts:
    /// (fault, priority delta).
    pub(super) fn tracker_verdict(&self, gi: usize) -> (bool, i32) {
        let g = &self.groups[gi];
        let interfaces: Vec<(i16, bool)> = g
            .cfg
            .track_interfaces
            .iter()
            .map(|t| (t.weight, self.links.get(&t.name).is_some_and(|(_, up)| *up)))
            .collect();
        let (scripts, files) = g.hooks.as_ref().map(tracker_inputs).unwrap_or_default();
        let (fault, delta) = track::verdict(&scripts, &interfaces);
        let (file_fault, file_delta) = track::file_verdict(&files);
        (fault || file_fault, delta + file_delta)
    }

    /// Whether a weight-0 script has no result yet (the group is held out of
    /// the election until it has, as keepalived holds it in INIT).
    pub(super) fn scripts_pending(&self, gi: usize) -> bool {
        self.groups[gi].hooks.as_ref().is_some_and(|h| {
            let (s, _) = tracker_inputs(h);
            track::pending(&s)
                || h.builtin
                    .iter()
                    .any(|b| b.kind == TrackerKind::File && b.weight == 0 && b.value.is_none())
        })
    }

    /// Feed the trackers' verdict to the instance when it changed.
    pub(super) async fn apply_trackers(&mut self, gi: usize) {
        let verdict = self.tracker_verdict(gi);
        let now = self.now();
        let g = &mut self.groups[gi];
        if verdict == g.trackers {
            return;
        }
        g.trackers = verdict;
        let (fault, priority_delta) = verdict;
        let input = Input::Trackers {
            fault,
            priority_delta,
        };
        self.groups.handle(now, gi, input);
        self.drain().await;
    }

    pub(super) async fn on_track_event(&mut self, ev: TrackEvent) {
        let group = match &ev {
            TrackEvent::Script { group, .. }
            | TrackEvent::Builtin { group, .. }
            | TrackEvent::File { group, .. } => group.clone(),
        };
        let Some(gi) = self.groups.iter().position(|g| g.cfg.name == group) else {
            return;
        };
        let Some(h) = self.groups[gi].hooks.as_mut() else {
            return;
        };
        match ev {
            TrackEvent::Script { script, up, .. } => {
                if let Some(s) = h.scripts.iter_mut().find(|s| s.cfg.name == script) {
                    info!(group = %group, script = %script, up, "track_script changed");
                    s.up = Some(up);
                }
            }
            TrackEvent::Builtin { kind, name, up, .. } => {
                if let Some(b) = h
                    .builtin
                    .iter_mut()
                    .find(|b| b.kind == kind && b.name == name)
                {
                    b.up = Some(up);
                }
            }
            TrackEvent::File { name, value, .. } => {
                if let Some(b) =
                    (h.builtin.iter_mut()).find(|b| b.kind == TrackerKind::File && b.name == name)
                {
                    b.value = Some(value);
                }
            }
        }
        if self.groups[gi].router.is_none() {
            // A group held back for its first weight-0 result starts now.
            self.bring_up(gi).await;
        } else {
            self.apply_trackers(gi).await;
        }
    }

    /// Keep the hooks' view of the group current and queue the notify hook.
    pub(super) fn hooks_state_changed(&mut self, gi: usize, to: State, priority: u8) {
        let g = &self.groups[gi];
        if let Some(h) = &g.hooks {
            h.env.send_modify(|e| {
                e.state = to;
                e.priority = priority;
            });
            h.notifier.notify(to, priority, g.cfg.vrid);
        }
    }

    pub(super) fn hooks_priority_changed(&mut self, gi: usize, priority: u8) {
        if let Some(h) = &self.groups[gi].hooks {
            h.env.send_modify(|e| e.priority = priority);
        }
    }

    /// Trackers for `vrrpd status`.
    pub(super) fn tracker_status(&self, gi: usize) -> Vec<TrackerStatus> {
        let g = &self.groups[gi];
        let mut out: Vec<TrackerStatus> = g
            .cfg
            .track_interfaces
            .iter()
            .map(|t| TrackerStatus {
                kind: TrackerKind::Interface,
                name: t.name.clone(),
                up: self.links.get(&t.name).is_some_and(|(_, up)| *up),
                weight: t.weight,
                value: None,
            })
            .collect();
        if let Some(h) = &g.hooks {
            out.extend(h.scripts.iter().map(|s| TrackerStatus {
                kind: TrackerKind::Script,
                name: s.cfg.name.clone(),
                up: s.up.unwrap_or(false),
                weight: s.cfg.weight,
                value: None,
            }));
            out.extend(h.builtin.iter().map(|b| TrackerStatus {
                kind: b.kind,
                name: b.name.clone(),
                up: match b.kind {
                    TrackerKind::File => b.value.is_some_and(|v| v == 0),
                    _ => b.up.unwrap_or(false),
                },
                weight: b.weight,
                value: b.value,
            }));
        }
        out
    }

    /// Stop hooks for every group, waited for (bounded) before exit.
    pub(super) async fn run_stop_hooks(&mut self) {
        let mut notifiers = Vec::new();
        for g in self.groups.iter_mut() {
            if let Some(h) = g.hooks.take() {
                let prio = g.inst().map_or(g.cfg.priority, |i| i.effective_priority());
                h.notifier.notify_stop(prio, g.cfg.vrid);
                // The scripts stop with their handles.
                drop(h.scripts);
                drop(h.builtin);
                notifiers.push(h.notifier);
            }
        }
        let limit = track::DEFAULT_NOTIFY_TIMEOUT * 2;
        futures::future::join_all(notifiers.iter().map(|n| n.flush(limit))).await;
    }
}

/// Stop a removed group's hooks in the background: its `stop` hook still
/// runs (bounded), its scripts stop now.
pub fn retire(hooks: GroupHooks, priority: u8, vrid: u8) {
    let GroupHooks {
        notifier,
        scripts,
        builtin,
        ..
    } = hooks;
    drop(scripts);
    drop(builtin);
    notifier.notify_stop(priority, vrid);
    tokio::task::spawn_local(async move {
        notifier
            .flush(track::DEFAULT_NOTIFY_TIMEOUT + Duration::from_secs(1))
            .await;
    });
}

/// `(weight, up)` of every rise/fall tracker (scripts, http, tcp, process)
/// and `(weight, value)` of every track_file (a missing result is 0).
type RiseFallInputs = Vec<(i16, Option<bool>)>;

fn tracker_inputs(h: &GroupHooks) -> (RiseFallInputs, Vec<(i16, i64)>) {
    let mut rf: Vec<(i16, Option<bool>)> = h.scripts.iter().map(|s| (s.cfg.weight, s.up)).collect();
    let mut files = Vec::new();
    for b in &h.builtin {
        if b.kind == TrackerKind::File {
            files.push((b.weight, b.value.unwrap_or(0)));
        } else {
            rf.push((b.weight, b.up));
        }
    }
    (rf, files)
}
