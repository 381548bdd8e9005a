//! `[[sync_group]]`: members fail over together (SPEC §4). The pure
//! coordinator is `proto::sync_group`; this maps its member indices to the
//! daemon's groups by name.

use crate::config::SyncGroupConfig;
use crate::proto::instance::Input;
use crate::proto::router::Event;
use crate::proto::sync_group::{SyncGroup, SyncInput};

use super::Daemon;

pub struct SyncGroups {
    groups: Vec<(SyncGroup, Vec<String>)>,
}

impl SyncGroups {
    pub fn new(cfg: &[SyncGroupConfig]) -> SyncGroups {
        SyncGroups {
            groups: cfg
                .iter()
                .map(|s| (SyncGroup::new(s.members.len()), s.members.clone()))
                .collect(),
        }
    }

    /// (sync group index, member index) of a group, if it is a member.
    fn find(&self, name: &str) -> Option<(usize, usize)> {
        self.groups
            .iter()
            .enumerate()
            .find_map(|(si, (_, members))| {
                members.iter().position(|m| m == name).map(|mi| (si, mi))
            })
    }
}

impl Daemon {
    fn sync_targets(&self, si: usize, inputs: Vec<SyncInput>) -> Vec<(usize, Input)> {
        let members = &self.sync.groups[si].1;
        inputs
            .into_iter()
            .filter_map(|SyncInput { member, input }| {
                let name = members.get(member)?;
                let gi = self.groups.iter().position(|g| &g.cfg.name == name)?;
                Some((gi, input))
            })
            .collect()
    }

    /// What the other members must be told after `gi`'s router produced
    /// `event` (only state changes concern them).
    pub(super) fn sync_on_event(&mut self, gi: usize, event: &Event) -> Vec<(usize, Input)> {
        let &Event::StateChanged {
            from, to, reason, ..
        } = event
        else {
            return Vec::new();
        };
        let Some((si, mi)) = self.sync.find(&self.groups[gi].cfg.name) else {
            return Vec::new();
        };
        let inputs = self.sync.groups[si]
            .0
            .on_state_changed(mi, from, to, reason);
        self.sync_targets(si, inputs)
    }

    /// What the other members must be told about `gi`'s own fault level.
    pub(super) fn sync_on_own_fault(&mut self, gi: usize) -> Vec<(usize, Input)> {
        let Some((si, mi)) = self.sync.find(&self.groups[gi].cfg.name) else {
            return Vec::new();
        };
        let own = self.groups[gi].inst().is_some_and(|i| i.own_fault());
        let inputs = self.sync.groups[si].0.on_own_fault(mi, own);
        self.sync_targets(si, inputs)
    }
}
