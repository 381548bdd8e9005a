//! Carrying out the core's route decisions (SPEC §2.2 `[[virtual_route]]`,
//! `[[virtual_rule]]`): `AddRoutes` / `UpdateRoutes` make what is installed
//! equal to what is configured, `RemoveRoutes` takes back what we added.
//! A failed add (an unreachable `via`, a missing `dev`) is logged with the
//! kernel's error and the group keeps running; it is retried on the next
//! add (next mastership, or a reload while master).

use tracing::{error, info, warn};

use crate::net::routes::Installed;
use crate::proto::routes::{VirtualRoute, VirtualRule, diff};

use super::Host;
use crate::group::Group;

impl Host {
    fn route_oif(&self, r: &VirtualRoute) -> Result<Option<u32>, String> {
        match &r.dev {
            None => Ok(None),
            Some(d) => self
                .ifindex_of(d)
                .map(Some)
                .ok_or_else(|| format!("no interface named {d:?}")),
        }
    }

    /// Make the installed routes and rules of the group equal to its
    /// configured ones: remove what is no longer configured, add what is
    /// missing. Rules go after routes on add (a rule may point at a table
    /// the routes fill) and before them on removal.
    pub async fn sync_routes(&mut self, g: &mut Group) {
        let name = g.cfg.name.clone();
        let (old_routes, new_routes) = diff(&g.installed.routes, &g.cfg.virtual_routes);
        let (old_rules, new_rules) = diff(&g.installed.rules, &g.cfg.virtual_rules);
        for r in &old_rules {
            self.del_rule(g, r).await;
        }
        for r in &old_routes {
            self.del_route(g, r).await;
        }
        for r in new_routes {
            let res = match self.route_oif(&r) {
                Ok(oif) => self
                    .io
                    .nl
                    .add_route(&r, oif)
                    .await
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e),
            };
            match res {
                Ok(Installed::Added) => {
                    info!(group = %name, route = %r, "virtual route added");
                    g.installed.routes.push(r);
                }
                Ok(Installed::Exists) => {
                    warn!(group = %name, route = %r, "an identical route vrrpd did not add is already there; left alone (and never removed)")
                }
                Err(e) => error!(group = %name, route = %r, "cannot add virtual route: {e}"),
            }
        }
        for r in new_rules {
            match self.io.nl.add_rule(&r).await {
                Ok(Installed::Added) => {
                    info!(group = %name, rule = %r, "virtual rule added");
                    g.installed.rules.push(r);
                }
                Ok(Installed::Exists) => {
                    warn!(group = %name, rule = %r, "an identical rule vrrpd did not add is already there; left alone (and never removed)")
                }
                Err(e) => error!(group = %name, rule = %r, "cannot add virtual rule: {e}"),
            }
        }
    }

    /// Remove every route and rule of the group that vrrpd installed.
    pub async fn remove_routes(&mut self, g: &mut Group) {
        let rules = std::mem::take(&mut g.installed.rules);
        for r in &rules {
            self.del_rule(g, r).await;
        }
        let routes = std::mem::take(&mut g.installed.routes);
        for r in &routes {
            self.del_route(g, r).await;
        }
    }

    async fn del_route(&mut self, g: &mut Group, r: &VirtualRoute) {
        g.installed.routes.retain(|x| x != r);
        // A vanished `dev` took the route with it.
        let Ok(oif) = self.route_oif(r) else {
            return;
        };
        match self.io.nl.del_route(r, oif).await {
            Ok(_) => info!(group = %g.cfg.name, route = %r, "virtual route removed"),
            Err(e) => {
                error!(group = %g.cfg.name, route = %r, "cannot remove virtual route: {e}")
            }
        }
    }

    async fn del_rule(&mut self, g: &mut Group, r: &VirtualRule) {
        g.installed.rules.retain(|x| x != r);
        match self.io.nl.del_rule(r).await {
            Ok(_) => info!(group = %g.cfg.name, rule = %r, "virtual rule removed"),
            Err(e) => {
                error!(group = %g.cfg.name, rule = %r, "cannot remove virtual rule: {e}")
            }
        }
    }

    /// SPEC §4 start-up: routes and rules an earlier run left behind (our
    /// route protocol mark) are removed before any group starts, and logged.
    pub async fn remove_stale_routes(&mut self) {
        match self.io.nl.remove_marked_routes_and_rules().await {
            Ok((0, 0)) => {}
            Ok((routes, rules)) => {
                warn!(
                    routes,
                    rules, "removed stale virtual routes and rules left by an earlier run"
                )
            }
            Err(e) => error!("cannot remove stale virtual routes and rules: {e}"),
        }
    }
}
