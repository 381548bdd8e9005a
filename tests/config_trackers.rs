//! SPEC §2.3 for the built-in trackers and `user`/`group` (SPEC §2.2): each
//! bad value gets `file:line:column` from `vrrpd check`, exit 2; good ones
//! load with their defaults.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use vrrpd::config::{Diagnostic, UnknownHost, load};

const HEAD: &str =
    "vrid = 51\ninterface = \"eth0\"\npriority = 150\nvirtual_ips = [\"192.0.2.100/24\"]\n";

/// A config directory holding groups.d/web.toml = HEAD + `extra`.
fn dir_with(extra: &str) -> (tempdir::Dir, PathBuf) {
    let d = tempdir::Dir::new();
    let g = d.0.join("groups.d");
    std::fs::create_dir_all(&g).unwrap();
    let file = g.join("web.toml");
    std::fs::write(&file, format!("{HEAD}{extra}")).unwrap();
    (d, file)
}

mod tempdir {
    pub struct Dir(pub std::path::PathBuf);
    impl Dir {
        pub fn new() -> Dir {
            use std::sync::atomic::{AtomicU32, Ordering};
            static N: AtomicU32 = AtomicU32::new(0);
            let p = std::env::temp_dir().join(format!(
                "vrrpd-cfgtrk-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::create_dir_all(&p).unwrap();
            Dir(p)
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn errors(extra: &str) -> (Vec<Diagnostic>, PathBuf, tempdir::Dir) {
    let (d, file) = dir_with(extra);
    match load(&d.0, &HashMap::<String, String>::new(), &UnknownHost) {
        Ok(l) => panic!("loaded, expected errors: {:?}", l.config),
        Err(e) => (e.errors, file, d),
    }
}

#[track_caller]
fn assert_error_at(extra: &str, line: usize, column: usize, needle: &str) {
    let (diags, file, _d) = errors(extra);
    let all: Vec<String> = diags.iter().map(|d| d.to_string()).collect();
    assert!(
        diags.iter().any(|d| d.file == file
            && d.line == line
            && d.column == column
            && d.to_string().contains(needle)),
        "want {}:{line}:{column} containing {needle:?}; got:\n{}",
        file.display(),
        all.join("\n")
    );
}

#[test]
fn track_http_url_must_be_plain_http_host_port_path() {
    for url in [
        "https://127.0.0.1:8404/health",
        "http://proxy.example:8404/",
        "http://127.0.0.1:99999/",
        "127.0.0.1:8404",
    ] {
        assert_error_at(
            &format!("[[track_http]]\nname = \"h\"\nurl = \"{url}\"\n"),
            7,
            7,
            "`url`",
        );
    }
}

#[test]
fn track_tcp_bad_address() {
    assert_error_at(
        "[[track_tcp]]\nname = \"t\"\naddress = \"127.0.0.1\"\n",
        7,
        11,
        "ADDRESS:PORT",
    );
    assert_error_at(
        "[[track_tcp]]\nname = \"t\"\naddress = \"300.1.1.1:25\"\n",
        7,
        11,
        "ADDRESS:PORT",
    );
}

#[test]
fn track_file_in_a_missing_directory() {
    assert_error_at(
        "[[track_file]]\nname = \"m\"\npath = \"/nonexistent-vrrpd-dir/maint\"\n",
        7,
        8,
        "does not exist",
    );
}

#[test]
fn unknown_user_and_group() {
    assert_error_at(
        "[[track_script]]\nname = \"s\"\ncommand = [\"/bin/true\"]\nuser = \"no-such-user-vrrpd\"\n",
        8,
        8,
        "no such user",
    );
    assert_error_at(
        "[notify]\nmaster = [\"/bin/true\"]\ngroup = \"no-such-group-vrrpd\"\n",
        7,
        9,
        "no such group",
    );
}

#[test]
fn track_process_and_unknown_keys() {
    assert_error_at(
        "[[track_process]]\nname = \"p\"\nprocess = \"haproxy\"\nmin = 0\n",
        8,
        7,
        "out of range",
    );
    assert_error_at(
        "[[track_http]]\nname = \"h\"\nurl = \"http://127.0.0.1/\"\nexpect = [200]\n",
        8,
        1,
        "unknown key `expect`",
    );
}

#[test]
fn built_in_trackers_load_with_their_defaults() {
    let (d, _) = dir_with(
        "[[track_http]]\nname = \"h\"\nurl = \"http://[::1]:8404/health?x=1\"\nexpect_status = [200, 204]\n\
         [[track_tcp]]\nname = \"t\"\naddress = \"127.0.0.1:25\"\n\
         [[track_process]]\nname = \"p\"\nprocess = \"haproxy\"\nargs = [\"-f\", \"/etc/haproxy/haproxy.cfg\"]\n\
         [[track_file]]\nname = \"f\"\npath = \"maint\"\n\
         [[track_script]]\nname = \"s\"\ncommand = [\"/bin/true\"]\nuser = \"0\"\ngroup = \"0\"\n",
    );
    let l = load(&d.0, &HashMap::<String, String>::new(), &UnknownHost)
        .unwrap_or_else(|e| panic!("{e}"));
    let g = l.config.group("web").unwrap();
    let h = &g.builtin.http[0];
    assert_eq!(h.connect.to_string(), "[::1]:8404");
    assert_eq!(h.path, "/health?x=1");
    assert_eq!(h.expect_status, vec![200, 204]);
    assert_eq!(h.probe.interval, Duration::from_secs(1));
    assert_eq!(h.probe.timeout, h.probe.interval);
    assert_eq!((h.probe.rise, h.probe.fall, h.probe.weight), (1, 1, 0));
    assert_eq!(g.builtin.tcp[0].address.to_string(), "127.0.0.1:25");
    let p = &g.builtin.process[0];
    assert_eq!((p.min, p.delay, p.weight), (1, Duration::ZERO, 0));
    let f = &g.builtin.file[0];
    assert_eq!(f.weight, 1);
    assert_eq!(
        f.path,
        d.0.join("groups.d/maint"),
        "relative to the group file"
    );
    let r = g.track_scripts[0].run_as.as_ref().unwrap();
    assert_eq!((r.uid, r.gid), (Some(0), Some(0)));
}

#[test]
fn vrrpd_check_exits_2_with_the_position() {
    let (d, file) = dir_with("[[track_http]]\nname = \"h\"\nurl = \"ftp://127.0.0.1/\"\n");
    let out = Command::new(env!("CARGO_BIN_EXE_vrrpd"))
        .args(["check", "--config"])
        .arg(&d.0)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(&format!("{}:7:7:", file.display())), "{err}");
}
