//! Answers to the control socket: status, handover, reload.

use tokio::sync::oneshot;
use tokio::time::Instant;
use tracing::{info, warn};

use crate::control::{HandoverResult, PendingHandover, Request, Response, StatusReport};
use crate::proto::instance::{Input, ReleaseReason, State};

use super::Daemon;

impl Daemon {
    pub(super) async fn on_control(&mut self, req: Request, reply: oneshot::Sender<Response>) {
        match req {
            Request::Status | Request::Metrics => {
                let _ = reply.send(Response::Status(self.status_report()));
            }
            Request::Reload => {
                let r = self.reload().await.map_err(|e| e.to_string());
                let _ = reply.send(Response::Reload(r));
            }
            Request::Handover { groups, timeout } => {
                self.start_handover(groups, timeout, reply).await;
            }
            Request::Drain { groups, timeout } => self.start_drain(groups, timeout, reply).await,
            Request::Resume { groups } => self.resume(groups, reply),
        }
    }

    fn names_or_all(&self, names: Vec<String>) -> Vec<String> {
        if names.is_empty() {
            self.groups.iter().map(|g| g.cfg.name.clone()).collect()
        } else {
            names
        }
    }

    /// SPEC §4 `vrrpd drain`: persist the mark, then release a master like a
    /// handover (answered when the peer holds it); a backup is drained at
    /// once.
    async fn start_drain(
        &mut self,
        names: Vec<String>,
        timeout: std::time::Duration,
        reply: oneshot::Sender<Response>,
    ) {
        let mut pending = PendingHandover::new(reply, Instant::now() + timeout);
        let now = self.now();
        let mut started = Vec::new();
        for name in self.names_or_all(names) {
            let Some(gi) = self.groups.iter().position(|g| g.cfg.name == name) else {
                pending.fail(&name, "no such group");
                continue;
            };
            if let Err(e) = self.drained.set(&name, true) {
                warn!(group = %name, "{e}");
            }
            info!(group = %name, "drain requested");
            let master = self.groups[gi].state() == State::Master;
            if master {
                pending.wait_for(&name);
            }
            self.groups.handle(now, gi, Input::Drain(true));
            if master {
                started.push(gi);
            } else {
                pending.wait_for(&name);
                pending.moved(&name);
            }
        }
        self.handovers.push(pending);
        if !started.is_empty() {
            self.drain().await;
        }
        self.poll_handovers();
    }

    /// `vrrpd resume`: drop the mark; the group elects normally again.
    fn resume(&mut self, names: Vec<String>, reply: oneshot::Sender<Response>) {
        let mut result = HandoverResult::default();
        let now = self.now();
        for name in self.names_or_all(names) {
            let Some(gi) = self.groups.iter().position(|g| g.cfg.name == name) else {
                result.failed.push((name, "no such group".into()));
                continue;
            };
            if let Err(e) = self.drained.set(&name, false) {
                warn!(group = %name, "{e}");
            }
            self.groups.handle(now, gi, Input::Drain(false));
            info!(group = %name, "resumed");
            result.moved.push(name);
        }
        let _ = reply.send(Response::Handover(result));
    }

    pub(super) fn status_report(&self) -> StatusReport {
        StatusReport {
            router_id: self.config.daemon.router_id.clone(),
            groups: (0..self.groups.len())
                .map(|gi| super::status::group_status(&self.groups[gi], self.tracker_status(gi)))
                .collect(),
            bfd: self.bfd.status(&self.host.links),
            last_reload: Some(crate::control::protocol::ReloadStatus {
                success: self.last_reload.0,
                at: crate::control::protocol::rfc3339(self.last_reload.1),
            }),
        }
    }

    /// SPEC §4 `vrrpd handover`: make-before-break release of every named
    /// group (all master groups when none is named); the answer comes when
    /// the peer holds them, or at the timeout.
    async fn start_handover(
        &mut self,
        names: Vec<String>,
        timeout: std::time::Duration,
        reply: oneshot::Sender<Response>,
    ) {
        let mut pending = PendingHandover::new(reply, Instant::now() + timeout);
        let names: Vec<String> = if names.is_empty() {
            self.groups
                .iter()
                .filter(|g| g.state() == State::Master)
                .map(|g| g.cfg.name.clone())
                .collect()
        } else {
            names
        };
        let now = self.now();
        let mut started = Vec::new();
        for name in &names {
            let Some(gi) = self.groups.iter().position(|g| &g.cfg.name == name) else {
                pending.fail(name, "no such group");
                continue;
            };
            if self.groups[gi].state() != State::Master {
                pending.fail(
                    name,
                    format!("not master (state {})", self.groups[gi].state()),
                );
                continue;
            }
            info!(group = %name, "handover requested");
            pending.wait_for(name);
            self.groups
                .handle(now, gi, Input::Release(ReleaseReason::Handover));
            started.push(gi);
        }
        self.handovers.push(pending);
        if !started.is_empty() {
            self.drain().await;
        }
        self.poll_handovers();
    }

    /// Answer handovers that are complete or past their deadline.
    pub(super) fn poll_handovers(&mut self) {
        let now = Instant::now();
        self.handovers.retain_mut(|h| !h.poll(now));
    }

    pub(super) fn handover_outcome(&mut self, gi: usize, moved: bool) {
        let name = self.groups[gi].cfg.name.clone();
        for h in &mut self.handovers {
            if h.awaits(&name) {
                if moved {
                    h.moved(&name);
                } else {
                    h.failed(
                        &name,
                        "no peer took over within Master_Down_Interval; still master",
                    );
                }
            }
        }
        self.poll_handovers();
    }
}
