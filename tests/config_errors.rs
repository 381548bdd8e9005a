//! SPEC §2.3: one test per validation rule, each on a small broken config in
//! tests/fixtures/configs/<rule>/, asserting the exact file:line:column.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use vrrpd::config::{
    ConfigErrors, Diagnostic, EXIT_CONFIG_ERROR, HostView, Loaded, UnknownHost, load, load_many,
};

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/configs")
        .join(rel)
}

fn no_env() -> HashMap<String, String> {
    HashMap::new()
}

fn load_with(
    rule: &str,
    env: &HashMap<String, String>,
    host: &dyn HostView,
) -> Result<Loaded, ConfigErrors> {
    load(&fixture(rule), env, host)
}

fn errors_of(rule: &str) -> ConfigErrors {
    match load_with(rule, &no_env(), &UnknownHost) {
        Ok(l) => panic!("{rule}: loaded, expected errors: {:?}", l.config),
        Err(e) => e,
    }
}

/// Assert that `errors` holds one at `file:line:column` (file relative to the
/// fixture directory of `rule`) whose message contains every `needle`.
#[track_caller]
fn assert_diag(
    diags: &[Diagnostic],
    rule: &str,
    file: &str,
    line: usize,
    column: usize,
    needles: &[&str],
) {
    let want = fixture(rule).join(file);
    let found = diags
        .iter()
        .find(|d| d.file == want && d.line == line && d.column == column);
    let Some(d) = found else {
        let all: Vec<String> = diags.iter().map(|d| d.to_string()).collect();
        panic!(
            "no diagnostic at {}:{line}:{column}; got:\n{}",
            want.display(),
            all.join("\n")
        );
    };
    for n in needles {
        assert!(d.message.contains(n), "{d}: message lacks {n:?}");
    }
    let shown = d.to_string();
    let prefix = format!("{}:{line}:{column}: ", want.display());
    assert!(
        shown.starts_with(&prefix),
        "{shown:?} does not start with {prefix:?}"
    );
}

#[track_caller]
fn assert_error(rule: &str, file: &str, line: usize, column: usize, needles: &[&str]) {
    let e = errors_of(rule);
    assert_eq!(e.exit_code(), EXIT_CONFIG_ERROR);
    assert_diag(&e.errors, rule, file, line, column, needles);
}

const G: &str = "groups.d/web.toml";

#[test]
fn unknown_key_in_group_names_it_and_lists_valid_keys() {
    assert_error(
        "unknown_key",
        G,
        3,
        1,
        &[
            "unknown key `prioirty`",
            "did you mean `priority`",
            "valid keys: vrid, interface",
        ],
    );
}

#[test]
fn unknown_key_in_daemon_config() {
    assert_error(
        "unknown_key_daemon",
        "vrrpd.toml",
        2,
        3,
        &["unknown key `log_levle`", "log_level"],
    );
}

#[test]
fn unknown_key_in_nested_table() {
    assert_error(
        "unknown_key_nested",
        G,
        8,
        1,
        &["unknown key `intervall`", "[[track_script]]", "interval"],
    );
}

#[test]
fn wrong_type_is_rejected() {
    assert_error(
        "wrong_type",
        G,
        3,
        11,
        &["`preempt`", "expected a boolean", "an integer"],
    );
}

#[test]
fn wrong_type_string_for_integer_is_rejected() {
    assert_error(
        "wrong_type_string",
        G,
        3,
        12,
        &["`priority`", "expected an integer", "\"high\""],
    );
}

#[test]
fn vrid_out_of_range() {
    assert_error("vrid_range", G, 1, 8, &["`vrid` = 256", "1..=255"]);
}

#[test]
fn priority_out_of_range() {
    assert_error("priority_range", G, 3, 12, &["`priority` = 0", "1..=255"]);
}

#[test]
fn v3_interval_must_be_in_10ms_steps() {
    assert_error("interval_v3_step", G, 4, 19, &["15ms", "steps of 10ms"]);
}

#[test]
fn v3_interval_at_most_40_95s() {
    assert_error("interval_v3_range", G, 4, 19, &["41s", "10ms..=40.95s"]);
}

#[test]
fn v2_interval_must_be_whole_seconds() {
    assert_error(
        "interval_v2_whole_seconds",
        G,
        5,
        19,
        &["1.5s", "whole seconds"],
    );
}

#[test]
fn duplicate_vrid_on_one_interface_in_multicast() {
    let e = errors_of("duplicate_vrid");
    let first = fixture("duplicate_vrid").join("groups.d/a.toml");
    let at = format!("{}:1:8", first.display());
    assert_diag(
        &e.errors,
        "duplicate_vrid",
        "groups.d/b.toml",
        2,
        8,
        &["VRID 51 on eth0", "group \"a\"", &at],
    );
}

#[test]
fn same_vrid_is_fine_across_family_interface_or_unicast() {
    let l =
        load_with("same_vrid_allowed", &no_env(), &UnknownHost).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(l.config.groups.len(), 4);
}

#[test]
fn duplicate_group_name_across_inputs() {
    let e = load_many(
        &[
            fixture("duplicate_group_name"),
            fixture("duplicate_group_name/extra/web.toml"),
        ],
        &no_env(),
        &UnknownHost,
    )
    .unwrap_err();
    assert_diag(
        &e.errors,
        "duplicate_group_name",
        "extra/web.toml",
        1,
        1,
        &["duplicate group name \"web\"", "groups.d/web.toml"],
    );
}

#[test]
fn duplicate_group_name_ignoring_case() {
    assert_error(
        "duplicate_group_name_case",
        G,
        1,
        1,
        &["duplicate group name \"web\"", "Web.toml"],
    );
}

#[test]
fn group_name_from_file_stem_must_be_a_plain_word() {
    assert_error(
        "bad_group_name",
        "groups.d/web proxy.toml",
        1,
        1,
        &["group name \"web proxy\""],
    );
}

#[test]
fn mixed_families_in_virtual_ips() {
    assert_error(
        "mixed_families",
        G,
        3,
        34,
        &["mixed address families", "2001:db8::100 is IPv6", "IPv4"],
    );
}

#[test]
fn auth_pass_needs_version_2() {
    assert_error("auth_pass_v3", G, 6, 8, &["\"pass\" needs version = 2"]);
}

#[test]
fn auth_ah_is_ipv4_only() {
    assert_error("auth_ah_ipv6", G, 7, 8, &["\"ah\" is IPv4 only"]);
}

#[test]
fn version_2_is_ipv4_only() {
    assert_error("auth_v2_ipv6", G, 3, 11, &["version 2 is IPv4 only"]);
}

#[test]
fn hmac_active_key_must_exist() {
    assert_error(
        "auth_hmac_unknown_active_key",
        G,
        8,
        14,
        &["`active_key` = 2 is not one of `keys`"],
    );
}

#[test]
fn unset_variable_without_default_points_into_the_string() {
    assert_error(
        "unset_variable",
        G,
        2,
        14,
        &["${VRRP_IFACE} is not set and has no default"],
    );
}

#[test]
fn unset_variable_inside_command_argv() {
    assert_error("unset_variable_argv", G, 6, 42, &["${TOKEN} is not set"]);
}

#[test]
fn unknown_sync_group_member() {
    assert_error(
        "unknown_sync_member",
        "vrrpd.toml",
        3,
        19,
        &[
            "sync group \"edge\"",
            "unknown member \"wbe\"",
            "groups: web",
        ],
    );
}

struct FakeHost(HashMap<&'static str, Vec<IpAddr>>);

impl HostView for FakeHost {
    fn interface_addresses(&self, name: &str) -> Option<Vec<IpAddr>> {
        self.0.get(name).cloned()
    }
}

fn host_with_eth0() -> FakeHost {
    FakeHost(HashMap::from([(
        "eth0",
        vec!["192.0.2.1".parse().unwrap(), "fe80::1".parse().unwrap()],
    )]))
}

#[test]
fn vip_equal_to_interface_address_needs_priority_255() {
    let e = load_with("vip_owner", &no_env(), &host_with_eth0()).unwrap_err();
    assert_diag(
        &e.errors,
        "vip_owner",
        G,
        4,
        16,
        &[
            "192.0.2.1 is eth0's own address",
            "priority = 255",
            "priority is 150",
        ],
    );
    // The address owner may hold it.
    let env = HashMap::from([("PRIORITY".to_string(), "255".to_string())]);
    let l = load_with("vip_owner", &env, &host_with_eth0()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(l.config.groups[0].priority, 255);
    // A host view that knows nothing cannot tell.
    assert!(load_with("vip_owner", &no_env(), &UnknownHost).is_ok());
}

#[test]
fn missing_interface_is_a_warning_not_an_error() {
    let l = load_with("missing_interface", &no_env(), &host_with_eth0())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(l.warnings.len(), 1, "{:?}", l.warnings);
    assert_diag(
        &l.warnings,
        "missing_interface",
        G,
        6,
        8,
        &["interface \"eth9\" does not exist", "FAULT"],
    );
    // With no host at all, the group interface is missing too.
    let l = load_with("missing_interface", &no_env(), &FakeHost(HashMap::new())).unwrap();
    assert_diag(
        &l.warnings,
        "missing_interface",
        G,
        2,
        13,
        &["interface \"eth0\" does not exist"],
    );
}

#[test]
fn bad_duration_is_rejected() {
    assert_error(
        "bad_duration",
        G,
        4,
        17,
        &["`preempt_delay`", "bad duration \"5 seconds\""],
    );
}

#[test]
fn bad_address_is_rejected() {
    assert_error("bad_address", G, 3, 16, &["bad IP address \"192.0.2.300\""]);
}

#[test]
fn bad_prefix_is_rejected() {
    assert_error("bad_prefix", G, 3, 28, &["bad prefix length \"33\""]);
}

#[test]
fn min_ttl_out_of_range() {
    assert_error("min_ttl_range", G, 5, 11, &["`min_ttl` = 0", "1..=255"]);
}

#[test]
fn min_ttl_below_255_in_multicast_is_rejected() {
    assert_error(
        "min_ttl_multicast",
        G,
        4,
        11,
        &["multicast adverts always need TTL 255"],
    );
}

#[test]
fn empty_virtual_ips_is_rejected() {
    assert_error(
        "empty_virtual_ips",
        G,
        3,
        15,
        &["`virtual_ips` must hold at least one address"],
    );
}

#[test]
fn unicast_peer_family_must_match_vips() {
    assert_error(
        "unicast_peer_family",
        G,
        4,
        31,
        &["unicast peer 2001:db8::2 is IPv6", "virtual_ips are IPv4"],
    );
}

#[test]
fn unicast_source_family_must_match_vips() {
    assert_error(
        "unicast_source_family",
        G,
        5,
        18,
        &["unicast_source fe80::1 is IPv6"],
    );
}

#[test]
fn toml_syntax_error_has_a_position() {
    let e = errors_of("syntax_error");
    assert_eq!(e.errors.len(), 1, "{e}");
    let d = &e.errors[0];
    assert_eq!(d.file, fixture("syntax_error").join(G));
    // Where the closing quote is missing: the end of line 2.
    assert_eq!((d.line, d.column), (2, 18), "{d}");
    assert!(d.message.contains("TOML syntax error"), "{d}");
}

#[test]
fn missing_required_key() {
    assert_error(
        "missing_required",
        G,
        1,
        1,
        &["missing required key `vrid`"],
    );
}

#[test]
fn every_error_in_a_file_is_reported() {
    let e = errors_of("many_errors");
    assert_eq!(e.errors.len(), 3, "{e}");
    assert_diag(&e.errors, "many_errors", G, 1, 8, &["`vrid` = 0"]);
    assert_diag(&e.errors, "many_errors", G, 3, 12, &["`priority` = 300"]);
    assert_diag(&e.errors, "many_errors", G, 5, 1, &["unknown key `bogus`"]);
    // Display: one error per line, in file order.
    let shown = e.to_string();
    assert_eq!(shown.lines().count(), 3);
    assert!(shown.lines().next().unwrap().contains(":1:8: "), "{shown}");
}

#[test]
fn missing_config_path_is_an_error() {
    let e = load(&fixture("does-not-exist"), &no_env(), &UnknownHost).unwrap_err();
    assert!(
        e.errors[0].message.contains("no such file or directory"),
        "{e}"
    );
}

#[test]
fn missing_required_key_in_nested_tables() {
    let rule = "missing_required_nested";
    let e = errors_of(rule);
    assert_eq!(e.errors.len(), 2, "{e}");
    assert_diag(
        &e.errors,
        rule,
        G,
        5,
        1,
        &["[[track_script]]: missing required key `command`"],
    );
    assert_diag(
        &e.errors,
        rule,
        G,
        9,
        1,
        &["[auth]: missing required key `keys`"],
    );
}
