//! Regression tests for the config loader found while hardening (issue 8):
//! fuzz crash inputs and review findings. Each test names what it guards.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use vrrpd::config::{ConfigErrors, Loaded, UnknownHost, load};

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("vrrpd-regress-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(p.join("groups.d")).unwrap();
        TempDir(p)
    }
    fn group(&self, body: &str) -> &Path {
        std::fs::write(self.0.join("groups.d/g.toml"), body).unwrap();
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Load in a thread and fail (instead of hanging or eating memory) when it
/// takes longer than 5 s.
fn load_bounded(dir: &Path) -> Result<Loaded, ConfigErrors> {
    let dir = dir.to_path_buf();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(load(&dir, &HashMap::<String, String>::new(), &UnknownHost));
    });
    rx.recv_timeout(Duration::from_secs(5))
        .expect("config load did not finish within 5 s")
}

fn hmac_group(key: &str) -> String {
    format!(
        "vrid = 51\ninterface = \"eth0\"\nvirtual_ips = [\"192.0.2.100/24\"]\n\
         [auth]\ntype = \"hmac\"\nkeys = {{ 1 = \"{key}\" }}\n"
    )
}

fn expect_key_error(r: Result<Loaded, ConfigErrors>, what: &str) {
    let e = r.expect_err("a bad key file must be rejected");
    let text = e.to_string();
    assert!(
        text.contains("cannot read key file") && text.contains(what),
        "{text}"
    );
}

/// `file:/dev/zero` used to read forever (unbounded `fs::read`), growing
/// memory until the OOM killer came: a reload with such a key hung the
/// daemon. Key files must be regular files of bounded size.
#[test]
fn regress_secret_file_dev_zero_is_rejected_not_read_forever() {
    let t = TempDir::new("devzero");
    expect_key_error(
        load_bounded(t.group(&hmac_group("file:/dev/zero"))),
        "not a regular file",
    );
}

/// A FIFO as key file used to block the loader in open(2) forever.
#[test]
fn regress_secret_file_fifo_does_not_block() {
    let t = TempDir::new("fifo");
    let fifo = t.0.join("key.fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    expect_key_error(
        load_bounded(t.group(&hmac_group("file:../key.fifo"))),
        "not a regular file",
    );
}

/// A directory or a huge file as key file is a clear error.
#[test]
fn regress_secret_file_directory_and_oversized_are_rejected() {
    let t = TempDir::new("bigkey");
    expect_key_error(
        load_bounded(t.group(&hmac_group("file:/"))),
        "not a regular file",
    );
    std::fs::write(t.0.join("big.key"), vec![b'k'; 64 * 1024 + 1]).unwrap();
    expect_key_error(
        load_bounded(t.group(&hmac_group("file:../big.key"))),
        "longer than",
    );
    std::fs::write(t.0.join("ok.key"), vec![b'k'; 64]).unwrap();
    load_bounded(t.group(&hmac_group("file:../ok.key"))).expect("a normal key file loads");
}

fn warnings_of(dir: &Path) -> Vec<String> {
    load_bounded(dir)
        .expect("config loads")
        .warnings
        .iter()
        .map(|w| w.to_string())
        .collect()
}

fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A group file with a secret in clear that every user can read (0644) is
/// warned about; 0600 / 0640 is not; a secret seeded from the environment
/// is not in the file, so no warning.
#[test]
fn secret_in_a_world_readable_group_file_is_warned_about() {
    let t = TempDir::new("perm");
    let body = "vrid = 51\ninterface = \"eth0\"\nversion = 2\nvirtual_ips = [\"192.0.2.100/24\"]\n\
                [auth]\ntype = \"pass\"\nsecret = \"secret12\"\n";
    let dir = t.group(body);
    let file = dir.join("groups.d/g.toml");
    chmod(&file, 0o644);
    let w = warnings_of(dir);
    assert!(
        w.iter().any(|w| w.contains("g.toml:7:10")
            && w.contains("readable by every user")
            && w.contains("0644")),
        "{w:?}"
    );
    assert!(!w.iter().any(|w| w.contains("secret12")), "{w:?}");
    for mode in [0o600, 0o640] {
        chmod(&file, mode);
        assert!(
            !warnings_of(dir)
                .iter()
                .any(|w| w.contains("readable by every user")),
            "mode {mode:o}"
        );
    }
    chmod(&file, 0o644);
    let seeded = body.replace("\"secret12\"", "\"${VRRP_SECRET:-x}\"");
    std::fs::write(&file, seeded).unwrap();
    assert!(
        !warnings_of(dir)
            .iter()
            .any(|w| w.contains("readable by every user"))
    );
}

/// A `file:` key readable by every user is warned about too.
#[test]
fn world_readable_key_file_is_warned_about() {
    let t = TempDir::new("keyperm");
    let key = t.0.join("k.key");
    std::fs::write(&key, b"0123456789abcdef").unwrap();
    chmod(&key, 0o644);
    let dir = t.group(&hmac_group("file:../k.key"));
    chmod(&dir.join("groups.d/g.toml"), 0o600);
    let w = warnings_of(dir);
    assert!(
        w.iter().any(|w| w.contains("k.key holds a secret")),
        "{w:?}"
    );
    chmod(&key, 0o600);
    assert!(
        !warnings_of(dir)
            .iter()
            .any(|w| w.contains("holds a secret"))
    );
}
