//! Prometheus endpoint (SPEC §5): `curl` of /metrics inside each node's
//! namespace parses as the text exposition format, has every family, and
//! the counters move as the test drives the pair.

#[path = "ops_common.rs"]
mod common;

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use common::*;
use netns_tests::*;

static SERIAL: Mutex<()> = Mutex::new(());

const FAMILIES: [&str; 8] = [
    "vrrpd_group_state",
    "vrrpd_group_priority",
    "vrrpd_adverts_sent_total",
    "vrrpd_adverts_received_total",
    "vrrpd_adverts_dropped_total",
    "vrrpd_transitions_total",
    "vrrpd_track_script_up",
    "vrrpd_master_changes_total",
];

#[derive(Debug, Default)]
struct Exposition {
    /// family -> TYPE
    types: BTreeMap<String, String>,
    helps: BTreeMap<String, String>,
    samples: Vec<(String, BTreeMap<String, String>, f64)>,
}

impl Exposition {
    /// The value of the one sample of `name` whose labels include `want`.
    fn value(&self, name: &str, want: &[(&str, &str)]) -> Option<f64> {
        let hits: Vec<f64> = self
            .samples
            .iter()
            .filter(|(n, l, _)| {
                n == name
                    && want
                        .iter()
                        .all(|(k, v)| l.get(*k).map(String::as_str) == Some(v))
            })
            .map(|(_, _, v)| *v)
            .collect();
        match hits.as_slice() {
            [v] => Some(*v),
            _ => None,
        }
    }
}

fn is_name(s: &str) -> bool {
    let mut c = s.chars();
    c.next()
        .is_some_and(|f| f.is_ascii_alphabetic() || f == '_' || f == ':')
        && c.all(|x| x.is_ascii_alphanumeric() || x == '_' || x == ':')
}

/// `{k="v",...}` -> labels, with the format's escapes.
fn parse_labels(s: &str) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    let mut rest = s;
    while !rest.is_empty() {
        let eq = rest.find('=').ok_or(format!("no '=' in labels {s:?}"))?;
        let key = &rest[..eq];
        if !is_name(key) {
            return Err(format!("bad label name {key:?}"));
        }
        let mut chars = rest[eq + 1..].char_indices();
        if chars.next().map(|(_, c)| c) != Some('"') {
            return Err(format!("label value not quoted in {s:?}"));
        }
        let mut val = String::new();
        let mut end = None;
        let mut esc = false;
        for (i, c) in chars {
            if esc {
                val.push(match c {
                    'n' => '\n',
                    '\\' => '\\',
                    '"' => '"',
                    _ => return Err(format!("bad escape \\{c} in {s:?}")),
                });
                esc = false;
            } else if c == '\\' {
                esc = true;
            } else if c == '"' {
                end = Some(eq + 1 + i + 1);
                break;
            } else {
                val.push(c);
            }
        }
        let end = end.ok_or(format!("unterminated label value in {s:?}"))?;
        if out.insert(key.to_string(), val).is_some() {
            return Err(format!("duplicate label {key} in {s:?}"));
        }
        rest = &rest[end..];
        if let Some(r) = rest.strip_prefix(',') {
            rest = r;
        } else if !rest.is_empty() {
            return Err(format!("junk after a label in {s:?}"));
        }
    }
    Ok(out)
}

/// A checker of the Prometheus text format 0.0.4: HELP/TYPE comments,
/// `name{labels} value` samples, each family declared (TYPE) before its
/// samples and its samples together.
fn parse(text: &str) -> Result<Exposition, String> {
    let mut e = Exposition::default();
    let mut closed: Vec<String> = Vec::new();
    let mut current: Option<String> = None;
    for (no, line) in text.lines().enumerate() {
        let no = no + 1;
        if line.trim().is_empty() {
            continue;
        }
        if let Some(c) = line.strip_prefix('#') {
            let mut w = c.trim_start().splitn(3, ' ');
            match (w.next(), w.next(), w.next()) {
                (Some("HELP"), Some(name), Some(help))
                    if is_name(name) && e.helps.insert(name.into(), help.into()).is_some() =>
                {
                    return Err(format!("line {no}: second HELP for {name}"));
                }
                (Some("HELP"), Some(name), Some(_)) if is_name(name) => {}
                (Some("TYPE"), Some(name), Some(kind)) if is_name(name) => {
                    if !["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind) {
                        return Err(format!("line {no}: bad TYPE {kind}"));
                    }
                    if e.types.insert(name.into(), kind.into()).is_some() {
                        return Err(format!("line {no}: second TYPE for {name}"));
                    }
                    if let Some(c) = current.replace(name.to_string()) {
                        closed.push(c);
                    }
                }
                (Some("HELP" | "TYPE"), _, _) => {
                    return Err(format!("line {no}: malformed comment {line:?}"));
                }
                _ => {}
            }
            continue;
        }
        let (name_labels, value) = line
            .rsplit_once(' ')
            .ok_or(format!("line {no}: no value: {line:?}"))?;
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v
                .parse()
                .map_err(|_| format!("line {no}: bad value {v:?}"))?,
        };
        let (name, labels) = match name_labels.split_once('{') {
            Some((n, l)) => {
                let l = l
                    .strip_suffix('}')
                    .ok_or(format!("line {no}: labels not closed: {line:?}"))?;
                (n, parse_labels(l).map_err(|m| format!("line {no}: {m}"))?)
            }
            None => (name_labels, BTreeMap::new()),
        };
        if !is_name(name) {
            return Err(format!("line {no}: bad metric name {name:?}"));
        }
        if !e.types.contains_key(name) {
            return Err(format!("line {no}: sample of {name} before its TYPE"));
        }
        if current.as_deref() != Some(name) || closed.iter().any(|c| c == name) {
            return Err(format!("line {no}: {name} not grouped with its family"));
        }
        e.samples.push((name.to_string(), labels, value));
    }
    Ok(e)
}

fn scrape(p: &Pair, n: &Node) -> Exposition {
    let mut c = n.ns.cmd("/usr/bin/curl");
    c.args(["-sS", "--max-time", "3", "http://127.0.0.1:9650/metrics"]);
    let out = run(&mut c).expect("run curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        p.fail(&format!(
            "curl /metrics on {} failed: {}",
            n.name,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    match parse(&text) {
        Ok(e) => e,
        Err(why) => p.fail(&format!(
            "/metrics of {} is not Prometheus text: {why}\n{text}",
            n.name
        )),
    }
}

#[test]
fn checker_rejects_malformed_exposition() {
    assert!(parse("# TYPE x counter\nx 1\n").is_ok());
    assert!(parse("x 1\n").is_err(), "sample before TYPE");
    assert!(parse("# TYPE x counter\nx{a=\"1\" 1\n").is_err());
    assert!(parse("# TYPE x counter\nx{a=1} 1\n").is_err());
    assert!(parse("# TYPE x counter\nx one\n").is_err());
    assert!(parse("# TYPE x counter\n# TYPE y gauge\ny 1\nx 2\n").is_err());
    let e = parse("# HELP x h\n# TYPE x gauge\nx{a=\"q\\\"\",b=\"2\"} 3\n").unwrap();
    assert_eq!(e.value("x", &[("a", "q\""), ("b", "2")]), Some(3.0));
}

#[test]
fn metrics_parse_and_move_with_the_pair() {
    require_netns!();
    let _g = lock(&SERIAL);
    let script = "\n[[track_script]]\nname = \"ok\"\ncommand = [\"/bin/true\"]\ninterval = \"200ms\"\nweight = -10\n";
    let p = Pair::start(|a, b| {
        a.write_daemon_config("metrics_listen = \"127.0.0.1:9650\"\n");
        b.write_daemon_config("metrics_listen = \"127.0.0.1:9650\"\n");
        a.write_group("web", &group(51, 150, A, B, VIP, script));
        b.write_group("web", &group(51, 100, B, A, VIP, script));
    });
    let m1 = scrape(&p, &p.a);
    for f in FAMILIES {
        p.check(
            m1.types.contains_key(f) && m1.helps.contains_key(f),
            &format!("family {f} missing HELP/TYPE on a"),
        );
    }
    let web = [("group", "web")];
    let state = |e: &Exposition, s: &str| {
        e.value(
            "vrrpd_group_state",
            &[("group", "web"), ("vrid", "51"), ("state", s)],
        )
    };
    p.check(
        state(&m1, "master") == Some(1.0) && state(&m1, "backup") == Some(0.0),
        "a: vrrpd_group_state master is not 1 / backup 0",
    );
    p.check(
        m1.value("vrrpd_group_priority", &web) == Some(150.0),
        "a: vrrpd_group_priority is not 150",
    );
    p.check(
        m1.value(
            "vrrpd_track_script_up",
            &[("group", "web"), ("script", "ok")],
        ) == Some(1.0),
        "a: vrrpd_track_script_up{script=ok} is not 1",
    );
    let mb = scrape(&p, &p.b);
    p.check(
        state(&mb, "backup") == Some(1.0) && state(&mb, "master") == Some(0.0),
        "b: vrrpd_group_state backup is not 1 / master 0",
    );
    let rx_b = mb
        .value("vrrpd_adverts_received_total", &web)
        .unwrap_or(0.0);
    p.check(rx_b > 0.0, "b: vrrpd_adverts_received_total is 0");

    std::thread::sleep(Duration::from_millis(500));
    let m2 = scrape(&p, &p.a);
    let sent = |e: &Exposition| e.value("vrrpd_adverts_sent_total", &web).unwrap_or(-1.0);
    p.check(
        sent(&m2) >= sent(&m1) + 3.0,
        &format!(
            "a: adverts_sent_total {} -> {} over 500 ms",
            sent(&m1),
            sent(&m2)
        ),
    );

    // Link cut: a goes to fault, b master.
    let to = |e: &Exposition, s: &str| {
        e.value("vrrpd_transitions_total", &[("group", "web"), ("to", s)])
            .unwrap_or(0.0)
    };
    let changes_of = |e: &Exposition| e.value("vrrpd_master_changes_total", &web).unwrap_or(0.0);
    let (fault0, mc_b0) = (to(&m2, "fault"), changes_of(&scrape(&p, &p.b)));
    p.a.ns.ip(&["link", "set", "eth0", "down"]);
    let moved = wait_until(Duration::from_secs(3), || p.b.holds(VIP) && !p.a.holds(VIP));
    p.check(moved, "b did not take over after a's link cut");
    let mut m3 = scrape(&p, &p.a);
    let ok = wait_until(Duration::from_secs(2), || {
        m3 = scrape(&p, &p.a);
        to(&m3, "fault") == fault0 + 1.0
    });
    p.check(
        ok,
        &format!(
            "a: vrrpd_transitions_total{{to=fault}} {fault0} -> {}",
            to(&m3, "fault")
        ),
    );
    p.check(
        state(&m3, "fault") == Some(1.0) && state(&m3, "master") == Some(0.0),
        "a: vrrpd_group_state fault is not 1 after the cut",
    );
    let mb2 = scrape(&p, &p.b);
    p.check(
        state(&mb2, "master") == Some(1.0) && changes_of(&mb2) == mc_b0 + 1.0,
        &format!(
            "b after the cut: master {:?}, master_changes {} -> {}",
            state(&mb2, "master"),
            mc_b0,
            changes_of(&mb2)
        ),
    );
    p.a.ns.ip(&["link", "set", "eth0", "up"]);
    p.settle("link back");
}
