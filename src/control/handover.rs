//! A `vrrpd handover` request in flight: the daemon starts the release of
//! each group, then reports per group as the protocol says
//! `HandoverComplete` / `HandoverFailed`, or the client's timeout passes.

use std::collections::BTreeSet;

use tokio::sync::oneshot;
use tokio::time::Instant;

use super::protocol::{HandoverResult, Response};

/// Why a group still waiting at the deadline failed.
pub const TIMED_OUT: &str = "no peer took over before the timeout";

#[derive(Debug)]
pub struct PendingHandover {
    reply: Option<oneshot::Sender<Response>>,
    waiting: BTreeSet<String>,
    result: HandoverResult,
    deadline: Instant,
}

impl PendingHandover {
    /// `deadline`: now + the request's timeout.
    pub fn new(reply: oneshot::Sender<Response>, deadline: Instant) -> PendingHandover {
        PendingHandover {
            reply: Some(reply),
            waiting: BTreeSet::new(),
            result: HandoverResult::default(),
            deadline,
        }
    }

    /// The group was released towards the peer; its outcome is pending.
    pub fn wait_for(&mut self, group: &str) {
        self.waiting.insert(group.to_string());
    }

    /// The group could not be handed over (not master, unknown ...).
    pub fn fail(&mut self, group: &str, why: impl Into<String>) {
        self.waiting.remove(group);
        self.result.failed.push((group.to_string(), why.into()));
    }

    /// `Action::HandoverComplete` for `group`. Ignored unless awaited here.
    pub fn moved(&mut self, group: &str) {
        if self.waiting.remove(group) {
            self.result.moved.push(group.to_string());
        }
    }

    /// `Action::HandoverFailed` for `group`. Ignored unless awaited here.
    pub fn failed(&mut self, group: &str, why: impl Into<String>) {
        if self.waiting.contains(group) {
            self.fail(group, why);
        }
    }

    /// Whether `group` is awaited by this request.
    pub fn awaits(&self, group: &str) -> bool {
        self.waiting.contains(group)
    }

    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Answer the client once every group has an outcome, or at the
    /// deadline (groups still waiting fail with [`TIMED_OUT`]). Returns
    /// true once answered: `pending.retain_mut(|h| !h.poll(Instant::now()))`.
    pub fn poll(&mut self, now: Instant) -> bool {
        if self.reply.is_none() {
            return true;
        }
        if !self.waiting.is_empty() && now < self.deadline {
            return false;
        }
        for g in std::mem::take(&mut self.waiting) {
            self.result.failed.push((g, TIMED_OUT.to_string()));
        }
        if let Some(reply) = self.reply.take() {
            let _ = reply.send(Response::Handover(std::mem::take(&mut self.result)));
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn answers_when_every_group_has_an_outcome_or_at_the_deadline() {
        let t0 = Instant::now();
        let (tx, mut rx) = oneshot::channel();
        let mut h = PendingHandover::new(tx, t0 + Duration::from_secs(10));
        h.wait_for("a");
        h.wait_for("b");
        h.fail("c", "not master");
        h.moved("a");
        assert!(!h.poll(t0));
        assert!(rx.try_recv().is_err());
        assert!(h.poll(t0 + Duration::from_secs(10)));
        let Ok(Response::Handover(r)) = rx.try_recv() else {
            panic!("no answer")
        };
        assert_eq!(r.moved, vec!["a".to_string()]);
        assert_eq!(
            r.failed,
            vec![
                ("c".to_string(), "not master".to_string()),
                ("b".to_string(), TIMED_OUT.to_string())
            ]
        );
    }
}
