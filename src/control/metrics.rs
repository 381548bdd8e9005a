//! Prometheus text exposition (format 0.0.4) of a [`StatusReport`] (SPEC §5).
//! Pure rendering; the HTTP endpoint is in [`super::metrics_http`].

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::time::UNIX_EPOCH;

use super::protocol::{GroupStatus, State, StatusReport, TrackerKind, parse_rfc3339};

pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

const STATES: [State; 4] = [State::Init, State::Backup, State::Master, State::Fault];

fn escape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: u64) {
    out.push_str(name);
    if !labels.is_empty() {
        out.push('{');
        for (i, (k, v)) in labels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "{k}=\"{}\"", escape(v));
        }
        out.push('}');
    }
    let _ = writeln!(out, " {value}");
}

/// Every SPEC §5 family, with HELP and TYPE, each family's series together.
pub fn render(report: &StatusReport) -> String {
    let mut out = String::new();
    let groups = &report.groups;

    header(
        &mut out,
        "vrrpd_group_state",
        "gauge",
        "VRRP state of the group: 1 for the current state, 0 for the others.",
    );
    for g in groups {
        let vrid = g.vrid.to_string();
        for s in STATES {
            let state = s.to_string();
            let labels = [
                ("group", g.name.as_str()),
                ("vrid", &vrid),
                ("state", &state),
            ];
            sample(
                &mut out,
                "vrrpd_group_state",
                &labels,
                u64::from(g.state == s),
            );
        }
    }

    header(
        &mut out,
        "vrrpd_group_priority",
        "gauge",
        "Effective priority of the group (base priority plus trackers).",
    );
    for g in groups {
        let labels = [("group", g.name.as_str())];
        sample(
            &mut out,
            "vrrpd_group_priority",
            &labels,
            u64::from(g.priority),
        );
    }

    header(
        &mut out,
        "vrrpd_adverts_sent_total",
        "counter",
        "VRRP adverts sent.",
    );
    for g in groups {
        let labels = [("group", g.name.as_str())];
        let v = g.counters.adverts_sent;
        sample(&mut out, "vrrpd_adverts_sent_total", &labels, v);
    }

    header(
        &mut out,
        "vrrpd_adverts_received_total",
        "counter",
        "Valid VRRP adverts received.",
    );
    for g in groups {
        let labels = [("group", g.name.as_str())];
        let v = g.counters.adverts_received;
        sample(&mut out, "vrrpd_adverts_received_total", &labels, v);
    }

    header(
        &mut out,
        "vrrpd_adverts_dropped_total",
        "counter",
        "VRRP adverts dropped by receive validation, by reason.",
    );
    for g in groups {
        for (reason, v) in &g.counters.dropped {
            let labels = [("group", g.name.as_str()), ("reason", reason.as_str())];
            sample(&mut out, "vrrpd_adverts_dropped_total", &labels, *v);
        }
    }

    header(
        &mut out,
        "vrrpd_transitions_total",
        "counter",
        "State transitions, by the state entered.",
    );
    for g in groups {
        let mut to: BTreeSet<String> = STATES[1..].iter().map(|s| s.to_string()).collect();
        to.extend(g.counters.transitions.keys().cloned());
        for state in &to {
            let v = g.counters.transitions.get(state).copied().unwrap_or(0);
            let labels = [("group", g.name.as_str()), ("to", state.as_str())];
            sample(&mut out, "vrrpd_transitions_total", &labels, v);
        }
    }

    header(
        &mut out,
        "vrrpd_track_script_up",
        "gauge",
        "Whether the track script currently passes (1) or fails (0).",
    );
    for g in groups {
        for t in g.trackers.iter().filter(|t| t.kind == TrackerKind::Script) {
            let labels = [("group", g.name.as_str()), ("script", t.name.as_str())];
            sample(&mut out, "vrrpd_track_script_up", &labels, u64::from(t.up));
        }
    }

    header(
        &mut out,
        "vrrpd_tracker_up",
        "gauge",
        "Whether the tracker currently passes (1) or fails (0), every kind (a track_file passes while its value is 0).",
    );
    for g in groups {
        for t in &g.trackers {
            let labels = [
                ("group", g.name.as_str()),
                ("tracker", t.name.as_str()),
                ("kind", t.kind.word()),
            ];
            sample(&mut out, "vrrpd_tracker_up", &labels, u64::from(t.up));
        }
    }

    header(
        &mut out,
        "vrrpd_master_changes_total",
        "counter",
        "Times the group entered or left the master state.",
    );
    for g in groups {
        let labels = [("group", g.name.as_str())];
        let v = g.counters.master_changes;
        sample(&mut out, "vrrpd_master_changes_total", &labels, v);
    }

    // Only when some group has virtual routes or rules (SPEC §5 lists the
    // families every daemon exposes; this one is the feature's own).
    let with_routes: Vec<_> = groups
        .iter()
        .filter(|g| !g.virtual_routes.is_empty() || !g.virtual_rules.is_empty())
        .collect();
    if !with_routes.is_empty() {
        header(
            &mut out,
            "vrrpd_virtual_routes_installed",
            "gauge",
            "Virtual routes (kind=\"route\") and rules (kind=\"rule\") of the group on the host now.",
        );
    }
    for g in with_routes {
        let routes = g.virtual_routes.iter().filter(|r| r.installed).count() as u64;
        let rules = g.virtual_rules.iter().filter(|r| r.installed).count() as u64;
        for (kind, v) in [("route", routes), ("rule", rules)] {
            let labels = [("group", g.name.as_str()), ("kind", kind)];
            sample(&mut out, "vrrpd_virtual_routes_installed", &labels, v);
        }
    }

    header(
        &mut out,
        "vrrpd_group_vmac_interface",
        "gauge",
        "1 for each group in virtual MAC mode, labelled with its macvlan.",
    );
    for g in groups {
        if let Some(vmac) = &g.vmac_interface {
            let labels = [("group", g.name.as_str()), ("interface", vmac.as_str())];
            sample(&mut out, "vrrpd_group_vmac_interface", &labels, 1);
        }
    }

    header(
        &mut out,
        "vrrpd_bfd_session_up",
        "gauge",
        "Whether the BFD session to the peer is Up (1) or not (0).",
    );
    for b in &report.bfd {
        let labels = [
            ("peer", b.peer.as_str()),
            ("interface", b.interface.as_str()),
        ];
        sample(
            &mut out,
            "vrrpd_bfd_session_up",
            &labels,
            u64::from(b.state == "up"),
        );
    }
    render_deployment(&mut out, report);
    out
}

/// The families of issue 15: release and announce counters, time in state,
/// build and reload facts.
fn render_deployment(out: &mut String, report: &StatusReport) {
    type Get = fn(&GroupStatus) -> u64;
    let since: Get = |g| {
        parse_rfc3339(&g.since)
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_secs())
    };
    let per_group: [(&str, &str, &str, Get); 4] = [
        (
            "vrrpd_priority_zero_sent_total",
            "counter",
            "Priority-0 (release) adverts sent.",
            |g| g.counters.priority_zero_sent,
        ),
        (
            "vrrpd_priority_zero_received_total",
            "counter",
            "Priority-0 (release) adverts received from the peer.",
            |g| g.counters.priority_zero_received,
        ),
        (
            "vrrpd_garp_sent_total",
            "counter",
            "Gratuitous ARPs and unsolicited NAs sent (one per VIP per round).",
            |g| g.counters.garp_sent,
        ),
        (
            "vrrpd_group_state_since_seconds",
            "gauge",
            "Unix time the group entered its current state.",
            since,
        ),
    ];
    for (name, kind, help, get) in per_group {
        header(out, name, kind, help);
        for g in &report.groups {
            sample(out, name, &[("group", g.name.as_str())], get(g));
        }
    }
    header(
        out,
        "vrrpd_build_info",
        "gauge",
        "Always 1; the version is a label.",
    );
    sample(
        out,
        "vrrpd_build_info",
        &[("version", env!("CARGO_PKG_VERSION"))],
        1,
    );
    let last = report.last_reload.as_ref();
    let at = last
        .and_then(|r| parse_rfc3339(&r.at))
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok());
    let daemon_wide: [(&str, &str, Option<u64>); 2] = [
        (
            "vrrpd_config_last_reload_success",
            "Whether the last configuration load (start-up or reload) was applied (1) or rejected (0).",
            last.map(|r| u64::from(r.success)),
        ),
        (
            "vrrpd_config_last_reload_timestamp_seconds",
            "Unix time of the last configuration load, applied or rejected.",
            at.map(|d| d.as_secs()),
        ),
    ];
    for (name, help, v) in daemon_wide {
        header(out, name, "gauge", help);
        if let Some(v) = v {
            sample(out, name, &[], v);
        }
    }
}
