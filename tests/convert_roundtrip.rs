//! The file types `vrrpd convert` serializes (`vrrpd::convert::output`)
//! mirror what the real loader reads. For every keepalived.conf fixture and
//! a few configs written for this test (routes, rules, VMAC, GARP timers,
//! trackers, and strings with quotes, backslashes, unicode and `${VAR}`
//! references):
//!
//! 1. the converted files load with the real loader (as in the other
//!    convert tests);
//! 2. the loaded config, turned back into the file types with the keys the
//!    converted file has ([`file_of`]), serializes to the same text: every
//!    value convert wrote is the value the loader read, spelled the same way;
//! 3. the loaded config turned into a file with *every* key explicit loads
//!    to the same config: [`file_of`] is a faithful inverse of the loader,
//!    so 2 compares against what really loaded.
//!
//! A value that references something (a `${NAME}`, a `file:` secret) is
//! kept as convert wrote it when it resolves (with this test's environment
//! and files) to what the loader read; anything else is spelled from the
//! loaded value, so a disagreement shows up as a text difference.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::TempDir;
use vrrpd::config::{
    AuthConfig, Config, DaemonConfig, GroupConfig, StartState, UnknownHost, VirtualIp, load,
};
use vrrpd::convert::output::{
    AuthFile, DaemonFile, FamilyName, GroupFile, HmacFile, NotifyFile, RouteFile, RuleFile,
    RuleType, SyncGroupFile, TrackInterfaceFile, TrackScriptFile, VipAddr, VipEntry,
};
use vrrpd::convert::syntax::ReadOptions;
use vrrpd::convert::{Conversion, convert_file_with, write};
use vrrpd::proto::Family;
use vrrpd::proto::routes::{RouteKind, RuleAction, VirtualRoute, VirtualRule};

/// What a converted value may reference: the environment and the
/// directory `file:` secrets are relative to.
struct Refs<'a> {
    env: &'a HashMap<String, String>,
    dir: &'a Path,
}

impl Refs<'_> {
    /// `s` as vrrpd's seeding reads it, for the forms convert writes:
    /// `${NAME}` from the environment, `$${` a literal `${`.
    fn seeded(&self, s: &str) -> Option<String> {
        let mut out = String::new();
        let mut rest = s;
        while let Some(i) = rest.find('$') {
            out.push_str(&rest[..i]);
            let after = &rest[i..];
            if let Some(r) = after.strip_prefix("$${") {
                out.push_str("${");
                rest = r;
            } else if let Some(r) = after.strip_prefix("${") {
                let end = r.find('}')?;
                out.push_str(self.env.get(&r[..end])?);
                rest = &r[end + 1..];
            } else {
                out.push('$');
                rest = &after[1..];
            }
        }
        out.push_str(rest);
        Some(out)
    }

    /// The file spelling of a loaded string: convert's, when it reads back
    /// as `loaded`; else the literal with `${` escaped.
    fn spell(&self, loaded: &str, like: Option<&str>) -> String {
        match like {
            Some(l) if self.seeded(l).as_deref() == Some(loaded) => l.to_string(),
            _ => loaded.replace("${", "$${"),
        }
    }

    /// What a secret string means: `hex:` bytes, a `file:`'s contents (one
    /// trailing newline dropped), else the bytes.
    fn secret_bytes(&self, like: &str) -> Option<Vec<u8>> {
        let s = self.seeded(like)?;
        if let Some(h) = s.strip_prefix("hex:") {
            (0..h.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(h.get(i..i + 2)?, 16).ok())
                .collect()
        } else if let Some(p) = s.strip_prefix("file:") {
            let mut b = std::fs::read(self.dir.join(p)).ok()?;
            if b.ends_with(b"\n") {
                b.pop();
            }
            Some(b)
        } else {
            Some(s.into_bytes())
        }
    }

    /// The file spelling of a loaded secret: convert's when it means the
    /// same bytes; else the literal, or `hex:` when the literal would not
    /// read back as itself.
    fn secret(&self, loaded: &[u8], like: Option<&str>) -> String {
        if let Some(l) = like
            && self.secret_bytes(l).as_deref() == Some(loaded)
        {
            return l.to_string();
        }
        match std::str::from_utf8(loaded) {
            Ok(s) if !s.starts_with("hex:") && !s.starts_with("file:") => self.spell(s, None),
            _ => {
                let hex: String = loaded.iter().map(|b| format!("{b:02x}")).collect();
                format!("hex:{hex}")
            }
        }
    }
}

/// The file form of a loaded group: with `like` (a converted file), the
/// keys it has; without, every key the file types know.
fn file_of(g: &GroupConfig, like: Option<&GroupFile>, refs: &Refs<'_>) -> GroupFile {
    let full = like.is_none();
    let want = |has: fn(&GroupFile) -> bool| full || like.is_some_and(has);
    let vip = |v: &VirtualIp, like: Option<&VipEntry>, table: bool| {
        let address = VipAddr {
            address: v.address,
            prefix_len: v.prefix_len,
        };
        let like_if = match like {
            Some(VipEntry::On { interface, .. }) => Some(interface.as_str()),
            _ => None,
        };
        if table || like_if.is_some() || v.interface != g.interface {
            VipEntry::On {
                address,
                interface: refs.spell(&v.interface, like_if),
            }
        } else {
            VipEntry::Plain(address)
        }
    };
    let vips = |list: &[VirtualIp], like: Option<&Vec<VipEntry>>, table: bool| {
        list.iter()
            .enumerate()
            .map(|(i, v)| vip(v, like.and_then(|l| l.get(i)), table))
            .collect()
    };
    let hooks = |loaded: &Option<Vec<String>>, like: Option<&Option<Vec<String>>>| {
        loaded
            .as_ref()
            .map(|argv| argv_of(argv, like.and_then(Option::as_ref), refs))
    };
    assert!(g.notify.run_as.is_none() && g.builtin == Default::default());
    let like_notify = like.map(|l| &l.notify);
    GroupFile {
        vrid: g.vrid,
        interface: refs.spell(&g.interface, like.map(|l| l.interface.as_str())),
        priority: g.priority,
        version: g.version.number(),
        advert_interval: g.advert_interval(),
        preempt: want(|l| l.preempt.is_some()).then_some(g.preempt),
        preempt_delay: want(|l| l.preempt_delay.is_some()).then_some(g.preempt_delay),
        start_state: want(|l| l.start_state.is_some()).then_some(g.start_state),
        unicast_source: g.unicast_source,
        unicast_peers: g.unicast_peers.clone(),
        garp_repeat: want(|l| l.garp_repeat.is_some()).then_some(g.garp_repeat),
        garp_interval: want(|l| l.garp_interval.is_some()).then_some(g.garp_interval),
        garp_refresh: want(|l| l.garp_refresh.is_some())
            .then_some(g.garp_refresh.unwrap_or(Duration::ZERO)),
        garp_master_delay: want(|l| l.garp_master_delay.is_some())
            .then_some(g.garp_master_delay.unwrap_or(Duration::ZERO)),
        use_vmac: want(|l| l.use_vmac.is_some()).then_some(g.vmac.is_some()),
        vmac_interface: g
            .vmac
            .as_ref()
            .filter(|_| want(|l| l.vmac_interface.is_some()))
            .map(|v| refs.spell(&v.interface, like.and_then(|l| l.vmac_interface.as_deref()))),
        vmac_xmit_base: g
            .vmac
            .as_ref()
            .filter(|_| want(|l| l.vmac_xmit_base.is_some()))
            .map(|v| v.xmit_base),
        virtual_ips: vips(&g.virtual_ips, like.map(|l| &l.virtual_ips), false),
        excluded_ips: vips(&g.excluded_ips, like.map(|l| &l.excluded_ips), true),
        auth: g
            .auth
            .as_ref()
            .map(|a| auth_of(a, like.and_then(|l| l.auth.as_ref()), refs)),
        track_interface: g
            .track_interfaces
            .iter()
            .enumerate()
            .map(|(i, t)| TrackInterfaceFile {
                name: refs.spell(
                    &t.name,
                    like.and_then(|l| l.track_interface.get(i))
                        .map(|l| l.name.as_str()),
                ),
                weight: i32::from(t.weight),
            })
            .collect(),
        track_script: g
            .track_scripts
            .iter()
            .enumerate()
            .map(|(i, t)| {
                assert!(t.run_as.is_none());
                let l = like.and_then(|l| l.track_script.get(i));
                TrackScriptFile {
                    name: refs.spell(&t.name, l.map(|l| l.name.as_str())),
                    command: argv_of(&t.command, l.map(|l| &l.command), refs),
                    interval: t.interval,
                    timeout: t.timeout,
                    rise: t.rise,
                    fall: t.fall,
                    weight: i32::from(t.weight),
                }
            })
            .collect(),
        notify: NotifyFile {
            master: hooks(&g.notify.master, like_notify.map(|n| &n.master)),
            backup: hooks(&g.notify.backup, like_notify.map(|n| &n.backup)),
            fault: hooks(&g.notify.fault, like_notify.map(|n| &n.fault)),
            stop: hooks(&g.notify.stop, like_notify.map(|n| &n.stop)),
            any: hooks(&g.notify.any, like_notify.map(|n| &n.any)),
        },
        virtual_route: g
            .virtual_routes
            .iter()
            .enumerate()
            .map(|(i, r)| route_of(r, like.and_then(|l| l.virtual_route.get(i)), refs))
            .collect(),
        virtual_rule: g
            .virtual_rules
            .iter()
            .enumerate()
            .map(|(i, r)| rule_of(r, like.and_then(|l| l.virtual_rule.get(i)), refs))
            .collect(),
    }
}

fn argv_of(loaded: &[String], like: Option<&Vec<String>>, refs: &Refs<'_>) -> Vec<String> {
    loaded
        .iter()
        .enumerate()
        .map(|(i, w)| refs.spell(w, like.and_then(|l| l.get(i)).map(String::as_str)))
        .collect()
}

fn auth_of(a: &AuthConfig, like: Option<&AuthFile>, refs: &Refs<'_>) -> AuthFile {
    match (a, like) {
        (AuthConfig::Pass { secret }, l) => AuthFile::Pass {
            secret: refs.secret(
                secret.expose(),
                match l {
                    Some(AuthFile::Pass { secret }) => Some(secret),
                    _ => None,
                },
            ),
        },
        (AuthConfig::Ah { secret }, l) => AuthFile::Ah {
            secret: refs.secret(
                secret.expose(),
                match l {
                    Some(AuthFile::Ah { secret }) => Some(secret),
                    _ => None,
                },
            ),
        },
        (AuthConfig::Hmac(h), l) => {
            let l = match l {
                Some(AuthFile::Hmac(l)) => Some(l),
                _ => None,
            };
            let want = |has: fn(&HmacFile) -> bool| l.is_none_or(has);
            AuthFile::Hmac(HmacFile {
                keys: h
                    .keys
                    .iter()
                    .map(|(id, k)| {
                        let like = l.and_then(|l| l.keys.get(id)).map(String::as_str);
                        (*id, refs.secret(k.expose(), like))
                    })
                    .collect(),
                active_key: want(|l| l.active_key.is_some()).then_some(h.active_key),
                anti_replay: want(|l| l.anti_replay.is_some()).then_some(h.anti_replay),
                time_window: want(|l| l.time_window.is_some()).then_some(h.time_window),
                mode: want(|l| l.mode.is_some()).then_some(h.mode),
            })
        }
    }
}

fn route_of(r: &VirtualRoute, like: Option<&RouteFile>, refs: &Refs<'_>) -> RouteFile {
    RouteFile {
        to: r.to,
        via: r.via,
        dev: r
            .dev
            .as_ref()
            .map(|d| refs.spell(d, like.and_then(|l| l.dev.as_deref()))),
        src: r.src,
        table: r.table,
        metric: r.metric,
        kind: (r.kind != RouteKind::Unicast || like.is_some_and(|l| l.kind.is_some()))
            .then_some(r.kind),
    }
}

fn rule_of(r: &VirtualRule, like: Option<&RuleFile>, refs: &Refs<'_>) -> RuleFile {
    let (table, kind) = match r.action {
        RuleAction::Table(t) => (Some(t), None),
        RuleAction::Blackhole => (None, Some(RuleType::Blackhole)),
        RuleAction::Unreachable => (None, Some(RuleType::Unreachable)),
        RuleAction::Prohibit => (None, Some(RuleType::Prohibit)),
    };
    let name = |i: &Option<String>, l: Option<&Option<String>>| {
        i.as_ref()
            .map(|i| refs.spell(i, l.and_then(Option::as_deref)))
    };
    RuleFile {
        from: r.from,
        to: r.to,
        iif: name(&r.iif, like.map(|l| &l.iif)),
        oif: name(&r.oif, like.map(|l| &l.oif)),
        fwmark: r.fwmark,
        table,
        kind,
        preference: r.preference,
        family: like
            .is_none_or(|l| l.family.is_some())
            .then_some(match r.family {
                Family::V4 => FamilyName::Ipv4,
                Family::V6 => FamilyName::Ipv6,
            }),
    }
}

fn daemon_of(d: &DaemonConfig, like: Option<&DaemonFile>, refs: &Refs<'_>) -> DaemonFile {
    DaemonFile {
        router_id: like
            .is_none_or(|l| l.router_id.is_some())
            .then(|| refs.spell(&d.router_id, like.and_then(|l| l.router_id.as_deref()))),
        sync_group: d
            .sync_groups
            .iter()
            .enumerate()
            .map(|(i, s)| SyncGroupFile {
                name: refs.spell(
                    &s.name,
                    like.and_then(|l| l.sync_group.get(i))
                        .map(|l| l.name.as_str()),
                ),
                members: s.members.clone(),
            })
            .collect(),
    }
}

/// The TOML after the leading comment block (which is comments only).
fn body(text: &str) -> &str {
    let (head, body) = text.split_once("\n\n").unwrap_or(("", text));
    assert!(
        head.lines().all(|l| l.starts_with("# ")),
        "comment block: {head}"
    );
    body
}

fn load_dir(dir: &Path, env: &HashMap<String, String>, what: &str) -> Config {
    load(dir, env, &UnknownHost)
        .unwrap_or_else(|e| panic!("{what}: does not load:\n{e}"))
        .config
}

/// Steps 1-3 of the module doc for one conversion.
fn round_trip(what: &str, conv: &Conversion, env: &HashMap<String, String>) {
    let out = TempDir::new("convert-roundtrip");
    write(conv, out.path()).unwrap();
    let cfg = load_dir(out.path(), env, what);
    let refs = Refs {
        env,
        dir: &out.path().join("groups.d"),
    };

    // 2: what loaded, in the converted file's keys, is the converted text.
    let daemon = daemon_of(&cfg.daemon, Some(&conv.daemon_file), &refs);
    assert_eq!(daemon, conv.daemon_file, "{what}: vrrpd.toml");
    assert_eq!(
        toml::to_string(&daemon).unwrap(),
        body(&conv.daemon_toml),
        "{what}: vrrpd.toml"
    );
    assert_eq!(conv.groups.len(), conv.group_files.len());
    for ((name, text), (fname, file)) in conv.groups.iter().zip(&conv.group_files) {
        assert_eq!(name, fname);
        let g = cfg
            .group(name)
            .unwrap_or_else(|| panic!("{what}: no group {name}"));
        let again = file_of(g, Some(file), &refs);
        assert_eq!(&again, file, "{what}: {name}");
        assert_eq!(
            toml::to_string(&again).unwrap(),
            body(text),
            "{what}: {name}"
        );
    }

    // 3: every key explicit loads to the same config.
    let full = TempDir::config("convert-roundtrip-full");
    let text = toml::to_string(&daemon_of(&cfg.daemon, None, &refs)).unwrap();
    std::fs::write(full.path().join("vrrpd.toml"), text).unwrap();
    for g in &cfg.groups {
        // Secrets spelled from bytes are literal or hex: no file to read.
        full.group(&g.name, &toml::to_string(&file_of(g, None, &refs)).unwrap());
    }
    let again = load_dir(full.path(), env, &format!("{what} (every key explicit)"));
    assert_eq!(again, cfg, "{what}: every key explicit");
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn convert_path(path: &Path, config_id: Option<&str>) -> Conversion {
    let opts = ReadOptions {
        config_id: config_id.map(str::to_string),
    };
    convert_file_with(path, &opts).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_fixture_conversion_round_trips_through_the_loader() {
    let creds = TempDir::new("convert-roundtrip-creds");
    std::fs::write(creds.path().join("vrrp72"), "k72-secret\n").unwrap();
    let env: HashMap<String, String> = [
        ("VRRP_SECRET", "s3cr3t"),
        ("CREDENTIALS_DIRECTORY", creds.path().to_str().unwrap()),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let mut n = 0;
    let conf = fixtures().join("keepalived-conf");
    let mut paths: Vec<(PathBuf, Option<&str>)> = Vec::new();
    for dir in [
        "hmac",
        "include-tree",
        "legacy-v2",
        "proxy-pair",
        "sync-group",
    ] {
        paths.push((conf.join(dir).join("keepalived.conf"), None));
    }
    for e in std::fs::read_dir(conf.join("corpus")).unwrap() {
        let p = e.unwrap().path();
        if p.file_name()
            .is_some_and(|n| n == "k8s-one-file-three-nodes.conf")
        {
            for id in ["cp1", "cp2", "cp3"] {
                paths.push((p.clone(), Some(id)));
            }
        } else {
            paths.push((p, None));
        }
    }
    for e in std::fs::read_dir(fixtures().join("keepalived-2.2.7")).unwrap() {
        for node in ["a.conf", "b.conf"] {
            paths.push((e.as_ref().unwrap().path().join(node), None));
        }
    }
    for (p, id) in &paths {
        round_trip(&p.display().to_string(), &convert_path(p, *id), &env);
        n += 1;
    }
    assert!(n >= 25, "{n} fixtures");
}

fn convert_text(tag: &str, conf: &str) -> (TempDir, Conversion) {
    let dir = TempDir::new(tag);
    let path = dir.path().join("keepalived.conf");
    std::fs::write(&path, conf).unwrap();
    let conv = convert_path(&path, None);
    (dir, conv)
}

#[test]
fn routes_rules_vmac_garp_and_trackers_round_trip() {
    let conf = r#"
global_defs {
    router_id lb-1
    vrrp_garp_master_delay 10
    vrrp_garp_master_refresh 60
}
vrrp_script chk_web {
    script "/usr/bin/curl -fsS http://192.0.2.10/health"
    interval 2
    timeout 3
    rise 2
    fall 3
    weight -20
}
vrrp_instance VI_web {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 120
    version 3
    advert_int 0.5
    nopreempt
    preempt_delay 300
    garp_master_repeat 3
    use_vmac vrrp51
    vmac_xmit_base
    unicast_src_ip 192.0.2.1
    unicast_peer {
        192.0.2.2
    }
    virtual_ipaddress {
        192.0.2.100/24
        192.0.2.101/24 dev eth1
    }
    virtual_ipaddress_excluded {
        198.51.100.7/32
        2001:db8::7/64 dev eth2
    }
    track_interface {
        eth1 weight -10
        eth2
    }
    track_script {
        chk_web
    }
    virtual_routes {
        src 192.0.2.100 to 198.51.100.0/24 via 192.0.2.254 dev eth1
        blackhole 203.0.113.128/25
        default via 192.0.2.1 table main
    }
    virtual_rules {
        from 192.0.2.100/32 table 100 priority 100
        to all iif eth1 prohibit
        inet6 oif eth0 table 6
    }
    notify_master "/etc/vrrpd/master.sh web"
}
vrrp_instance VI_v6 {
    interface eth0
    virtual_router_id 52
    priority 255
    state MASTER
    virtual_ipaddress {
        fe80::52/64
        2001:db8::52/64
    }
    virtual_routes {
        default dev eth0
    }
}
vrrp_sync_group edge {
    group {
        VI_web
        VI_v6
    }
}
"#;
    let (_dir, conv) = convert_text("convert-roundtrip-rich", conf);
    let web = &conv.group_files[0].1;
    assert!(!web.virtual_route.is_empty() && !web.virtual_rule.is_empty());
    assert_eq!(web.vmac_interface.as_deref(), Some("vrrp51"));
    assert_eq!(conv.group_files[1].1.start_state, Some(StartState::Master));
    round_trip("rich", &conv, &HashMap::new());
}

/// Strings TOML must quote or escape, and `${...}` that must stay as text
/// or as a reference: the output is valid TOML and reads back exactly.
#[test]
fn quotes_backslashes_unicode_and_placeholders_round_trip() {
    let conf = r#"
global_defs {
    router_id "nœud \"a\" ${_ENV SITE}"
}
vrrp_script chk {
    script "/usr/local/bin/chk 'it''s' \"a b\" C:\\\\dir ünï '${_ENV SITE}' ${HOME} $$x"
}
vrrp_instance "VI ☃ 1" {
    interface eth0
    virtual_router_id 9
    virtual_ipaddress {
        192.0.2.9/24
    }
    track_script {
        chk
    }
    notify_master "/bin/echo tab	here \\\"q\\\" ${_ENV SITE}/x"
    authentication {
        auth_type PASS
        auth_pass ${_ENV PASS}
    }
}
"#;
    let (_dir, conv) = convert_text("convert-roundtrip-strings", conf);
    let env: HashMap<String, String> = [("SITE", "fra \"1\" \\ ü"), ("PASS", "pa$s")]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    for (name, text) in &conv.groups {
        let parsed: toml::Table =
            toml::from_str(text).unwrap_or_else(|e| panic!("{name}: not valid TOML: {e}\n{text}"));
        assert!(parsed.contains_key("track_script"), "{text}");
    }
    // `${_ENV SITE}` became a vrrpd reference; `${HOME}` stays text.
    let file = &conv.group_files[0].1;
    let argv = &file.track_script[0].command;
    assert!(argv.iter().any(|w| w.contains("${SITE}")), "{argv:?}");
    assert!(argv.iter().any(|w| w.contains("$${HOME}")), "{argv:?}");
    round_trip("strings", &conv, &env);
    let out = TempDir::new("convert-roundtrip-strings-out");
    write(&conv, out.path()).unwrap();
    let cfg = load_dir(out.path(), &env, "strings");
    let g = &cfg.groups[0];
    let cmd = g.track_scripts[0].command.join(" ");
    assert!(
        cmd.contains("fra \"1\" \\ ü") && cmd.contains("${HOME}"),
        "{cmd}"
    );
    assert!(
        cfg.daemon.router_id.starts_with("nœud"),
        "{}",
        cfg.daemon.router_id
    );
}
