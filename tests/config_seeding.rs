//! SPEC §2.4: `${NAME}` / `${NAME:-default}` seeding from the environment
//! overlaid by the `$ENVIRONMENT_INIT` executable's `KEY=VALUE` output.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use vrrpd::config::{ConfigErrors, Loaded, UnknownHost, load};

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/configs")
        .join(rel)
}

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn seed(name: &str) -> String {
    fixture("seeds").join(name).display().to_string()
}

fn load_ok(rule: &str, e: &HashMap<String, String>) -> Loaded {
    load(&fixture(rule), e, &UnknownHost).unwrap_or_else(|err| panic!("{err}"))
}

fn load_err(rule: &str, e: &HashMap<String, String>) -> ConfigErrors {
    match load(&fixture(rule), e, &UnknownHost) {
        Ok(l) => panic!("loaded: {:?}", l.config),
        Err(err) => err,
    }
}

#[test]
fn defaults_apply_when_variables_are_unset() {
    let l = load_ok("seeding", &env(&[]));
    let g = &l.config.groups[0];
    assert_eq!(g.vrid, 51);
    assert_eq!(g.interface, "eth0");
    assert_eq!(g.priority, 100);
    assert!(g.preempt);
    assert_eq!(g.virtual_ips[0].address.to_string(), "192.0.2.100");
    assert_eq!(g.virtual_ips[0].prefix_len, 24);
    // Inside argv too; `$${` is a literal `${`, a lone `$` stays.
    assert_eq!(
        g.notify.master.as_deref().unwrap(),
        ["/usr/local/bin/ctl", "up", "literal $$ and ${NOT_A_VAR}"]
    );
}

#[test]
fn environment_overrides_defaults_and_strings_become_typed_values() {
    let l = load_ok(
        "seeding",
        &env(&[
            ("VRID", "77"),
            ("IFACE", "eth3"),
            ("PRIORITY", "200"),
            ("PREEMPT", "false"),
            ("VIP", "2001:db8::5/64"),
            ("ACTION", "go"),
        ]),
    );
    let g = &l.config.groups[0];
    assert_eq!(
        (g.vrid, g.interface.as_str(), g.priority, g.preempt),
        (77, "eth3", 200, false)
    );
    assert_eq!(g.family, vrrpd::proto::Family::V6);
    assert_eq!(g.virtual_ips[0].interface, "eth3");
    assert_eq!(g.notify.master.as_deref().unwrap()[1], "go");
}

#[test]
fn empty_variable_takes_the_default() {
    let l = load_ok("seeding", &env(&[("PRIORITY", "")]));
    assert_eq!(l.config.groups[0].priority, 100);
}

#[test]
fn seeded_value_is_still_validated_at_its_position() {
    let e = load_err("seeding", &env(&[("PRIORITY", "300")]));
    let d = &e.errors[0];
    assert_eq!((d.line, d.column), (3, 12), "{d}");
    assert!(
        d.message.contains("`priority` = 300 is out of range"),
        "{d}"
    );
    let e = load_err("seeding", &env(&[("PREEMPT", "yes")]));
    assert_eq!((e.errors[0].line, e.errors[0].column), (4, 11), "{e}");
}

#[test]
fn environment_init_output_overlays_the_environment() {
    let l = load_ok(
        "seeding",
        &env(&[
            ("ENVIRONMENT_INIT", &seed("ok.sh")),
            ("PRIORITY", "10"),
            ("VRID", "9"),
        ]),
    );
    let g = &l.config.groups[0];
    assert_eq!(
        g.priority, 222,
        "the seed output wins over the process environment"
    );
    assert_eq!(g.interface, "eth7");
    assert_eq!(
        g.vrid, 9,
        "variables the seed does not print come from the environment"
    );
    assert_eq!(
        l.config.daemon.environment_init,
        Some(PathBuf::from(seed("ok.sh")))
    );
}

#[test]
fn environment_init_from_vrrpd_toml_is_relative_to_the_config_dir() {
    let l = load_ok("seed_from_daemon", &env(&[]));
    assert_eq!(l.config.groups[0].priority, 201);
}

#[test]
fn environment_init_variable_wins_over_vrrpd_toml() {
    let l = load_ok(
        "seed_from_daemon",
        &env(&[("ENVIRONMENT_INIT", &seed("ok.sh"))]),
    );
    assert_eq!(l.config.groups[0].priority, 222);
}

#[test]
fn missing_seed_executable_is_an_error_at_environment_init() {
    let e = load_err("seed_from_daemon_missing", &env(&[]));
    assert_eq!(e.errors.len(), 1, "{e}");
    let d = &e.errors[0];
    assert_eq!(d.file, fixture("seed_from_daemon_missing/vrrpd.toml"));
    assert_eq!((d.line, d.column), (2, 20), "{d}");
    assert!(d.message.contains("cannot run environment_init"), "{d}");
}

#[test]
fn failing_seed_is_a_startup_error_with_its_stderr() {
    let e = load_err("seeding", &env(&[("ENVIRONMENT_INIT", &seed("fail.sh"))]));
    assert_eq!(e.errors.len(), 1, "{e}");
    let shown = e.to_string();
    assert!(shown.starts_with("$ENVIRONMENT_INIT: "), "{shown}");
    assert!(shown.contains("failed (exit status: 3)"), "{shown}");
    assert!(shown.contains("consul unreachable"), "{shown}");
}

#[test]
fn unparsable_seed_output_is_an_error() {
    let e = load_err(
        "seeding",
        &env(&[("ENVIRONMENT_INIT", &seed("garbage.sh"))]),
    );
    assert!(
        e.to_string().contains("output line 2: expected KEY=VALUE"),
        "{e}"
    );
}

#[test]
fn hung_seed_is_killed_after_the_timeout() {
    let start = Instant::now();
    let e = load_err(
        "seeding",
        &env(&[
            ("ENVIRONMENT_INIT", &seed("hang.sh")),
            ("VRRPD_ENVIRONMENT_INIT_TIMEOUT", "300ms"),
        ]),
    );
    assert!(e.to_string().contains("timed out after 300ms"), "{e}");
    assert!(start.elapsed() < Duration::from_secs(10));
}
