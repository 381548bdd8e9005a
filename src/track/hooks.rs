//! A group's running hooks: its script trackers, built-in trackers (http,
//! tcp, process, file) and notifier, started from its configuration.

use std::time::Duration;

use tokio::sync::{mpsc, watch};

use crate::config::{GroupConfig, TrackScript};
use crate::control::{TrackerKind, TrackerStatus};
use crate::proto::instance::State;
use crate::track::{self, GroupEnv, Notifier, ScriptTracker, TrackEvent, TrackerHandle};

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
pub type RiseFallInputs = Vec<(i16, Option<bool>)>;

pub fn tracker_inputs(h: &GroupHooks) -> (RiseFallInputs, Vec<(i16, i64)>) {
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

/// Combined verdict of the group's tracked interfaces and trackers:
/// (fault, priority delta). `link_up` reads an interface's state.
pub fn verdict(
    cfg: &GroupConfig,
    hooks: Option<&GroupHooks>,
    link_up: impl Fn(&str) -> bool,
) -> (bool, i32) {
    let interfaces: Vec<(i16, bool)> = cfg
        .track_interfaces
        .iter()
        .map(|t| (t.weight, link_up(&t.name)))
        .collect();
    let (scripts, files) = hooks.map(tracker_inputs).unwrap_or_default();
    let (fault, delta) = track::verdict(&scripts, &interfaces);
    let (file_fault, file_delta) = track::file_verdict(&files);
    (fault || file_fault, delta + file_delta)
}

impl GroupHooks {
    /// Whether a weight-0 tracker has no result yet (the group is held out
    /// of the election until it has, as keepalived holds it in INIT).
    pub fn pending(&self) -> bool {
        let (s, _) = tracker_inputs(self);
        track::pending(&s)
            || self
                .builtin
                .iter()
                .any(|b| b.kind == TrackerKind::File && b.weight == 0 && b.value.is_none())
    }
}

/// Every tracker of the group for `vrrpd status`.
pub fn status(
    cfg: &GroupConfig,
    hooks: Option<&GroupHooks>,
    link_up: impl Fn(&str) -> bool,
) -> Vec<TrackerStatus> {
    let mut out: Vec<TrackerStatus> = cfg
        .track_interfaces
        .iter()
        .map(|t| TrackerStatus {
            kind: TrackerKind::Interface,
            name: t.name.clone(),
            up: link_up(&t.name),
            weight: t.weight,
            value: None,
        })
        .collect();
    if let Some(h) = hooks {
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
