//! How the trackers' results and the state changes travel between a group's
//! hooks ([`GroupHooks`]) and its state machine.

use tracing::info;

use crate::control::{TrackerKind, TrackerStatus};
use crate::proto::instance::{Input, State};
use crate::track::hooks::{self, GroupHooks};
use crate::track::{self, TrackEvent};

use super::Daemon;

impl Daemon {
    fn link_up(&self, name: &str) -> bool {
        self.host.links.get(name).is_some_and(|(_, up)| *up)
    }

    /// Combined verdict of the group's tracked interfaces and trackers.
    pub(super) fn tracker_verdict(&self, gi: usize) -> (bool, i32) {
        let g = &self.groups[gi];
        hooks::verdict(&g.cfg, g.hooks.as_ref(), |n| self.link_up(n))
    }

    pub(super) fn scripts_pending(&self, gi: usize) -> bool {
        self.groups[gi]
            .hooks
            .as_ref()
            .is_some_and(GroupHooks::pending)
    }

    pub(super) fn tracker_status(&self, gi: usize) -> Vec<TrackerStatus> {
        let g = &self.groups[gi];
        hooks::status(&g.cfg, g.hooks.as_ref(), |n| self.link_up(n))
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
