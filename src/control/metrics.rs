//! Prometheus text exposition (format 0.0.4) of a [`StatusReport`] (SPEC §5).
//! Pure rendering; the HTTP endpoint is in [`super::metrics_http`].

use std::collections::BTreeSet;
use std::fmt::Write as _;

use super::protocol::{State, StatusReport, TrackerKind};

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
        "vrrpd_master_changes_total",
        "counter",
        "Times the group entered or left the master state.",
    );
    for g in groups {
        let labels = [("group", g.name.as_str())];
        let v = g.counters.master_changes;
        sample(&mut out, "vrrpd_master_changes_total", &labels, v);
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
    out
}
