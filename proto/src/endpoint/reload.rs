//! The reload diff (SPEC §5): which groups keep running untouched, which
//! take a route-only change without losing their state, which stop and
//! which start. A pure function of the old and new group configurations, so
//! the rules are tested without a daemon.

/// What the diff needs to know of one group's configuration.
pub trait GroupSpec: PartialEq {
    fn name(&self) -> &str;
    /// Equal but for virtual routes and rules (SPEC §2.2): such a change
    /// keeps the group's state; only what is installed follows.
    fn same_except_routes(&self, other: &Self) -> bool;
}

/// What a reload does to one group.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum GroupChange {
    /// Unchanged: keeps running (a handover's "do not preempt back" hold is
    /// lifted, SPEC §4).
    Keep,
    /// Only routes or rules changed: keeps its state, installs the new set.
    RoutesOnly,
    /// Removed, or changed in a way that needs a fresh start: released
    /// (priority 0 if master) and its VIPs and routes removed.
    Stop,
    /// New (or the new form of a changed group).
    Start,
}

/// The diff, by group name. A changed group appears twice: `Stop` (under
/// the old configuration) and `Start` (under the new). Stops come first,
/// then keeps and route-only changes, then starts, each in name order.
pub fn plan<'a, C: GroupSpec + 'a>(
    old: impl IntoIterator<Item = &'a C>,
    new: impl IntoIterator<Item = &'a C> + Clone,
) -> Vec<(String, GroupChange)> {
    let mut stops = Vec::new();
    let mut stays = Vec::new();
    for o in old {
        let n = new.clone().into_iter().find(|n| n.name() == o.name());
        let change = match n {
            Some(n) if n == o => GroupChange::Keep,
            Some(n) if n.same_except_routes(o) => GroupChange::RoutesOnly,
            _ => GroupChange::Stop,
        };
        match change {
            GroupChange::Stop => stops.push((o.name().to_string(), change)),
            _ => stays.push((o.name().to_string(), change)),
        }
    }
    let mut starts: Vec<(String, GroupChange)> = new
        .into_iter()
        .filter(|n| !stays.iter().any(|(name, _)| name == n.name()))
        .map(|n| (n.name().to_string(), GroupChange::Start))
        .collect();
    stops.sort();
    stays.sort();
    starts.sort();
    starts.dedup();
    stops.into_iter().chain(stays).chain(starts).collect()
}
