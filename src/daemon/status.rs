//! The status report of a running group, built from the daemon's state (the
//! control module's schema stays a leaf that knows nothing of the daemon).

use crate::control::protocol::{RouteStatus, RuleStatus};
use crate::control::{GroupCounters, GroupStatus, TrackerStatus, rfc3339};

use super::{Counters, GroupSlot};

/// The status of one running group. `trackers` is the daemon's current
/// verdict per tracker (it owns link state and script results).
pub(super) fn group_status(g: &GroupSlot, trackers: Vec<TrackerStatus>) -> GroupStatus {
    let inst = g.inst();
    GroupStatus {
        name: g.cfg.name.clone(),
        vrid: g.cfg.vrid,
        interface: g.cfg.interface.clone(),
        state: g.state(),
        priority: inst.map_or(g.cfg.priority, |i| i.effective_priority()),
        base_priority: g.cfg.priority,
        master_address: inst.and_then(|i| i.master_address()),
        since: rfc3339(g.since),
        virtual_ips: g
            .all_vips()
            .map(|v| format!("{}/{}", v.address, v.prefix_len))
            .collect(),
        vmac_interface: g.cfg.vmac.as_ref().map(|v| v.interface.clone()),
        counters: GroupCounters::from(&g.counters),
        drained: inst.is_some_and(|i| i.drained()),
        trackers,
        virtual_routes: g
            .cfg
            .virtual_routes
            .iter()
            .map(|r| RouteStatus {
                route: r.clone(),
                installed: g.installed.routes.contains(r),
            })
            .collect(),
        virtual_rules: g
            .cfg
            .virtual_rules
            .iter()
            .map(|r| RuleStatus {
                rule: r.clone(),
                installed: g.installed.rules.contains(r),
            })
            .collect(),
    }
}

impl From<&Counters> for GroupCounters {
    fn from(c: &Counters) -> GroupCounters {
        GroupCounters {
            adverts_sent: c.adverts_sent,
            adverts_received: c.adverts_received,
            dropped: c
                .dropped
                .iter()
                .map(|(k, v)| ((*k).to_string(), *v))
                .collect(),
            transitions: c.transitions.clone(),
            master_changes: c.master_changes,
            priority_zero_sent: c.priority_zero_sent,
            priority_zero_received: c.priority_zero_received,
            garp_sent: c.garp_sent,
        }
    }
}
