//! Every input the fuzz targets (`fuzz/fuzz_targets/*`) ever flagged, kept in
//! `tests/fixtures/fuzz-regress/<target>/`, run through the same code as its
//! target: no panic, and each input done within a time bound.

mod fuzz_harness;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use vrrpd::config::{UnknownHost, load, render_seeded};
use vrrpd::convert::{convert_file, write};

fn inputs(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/fuzz-regress")
        .join(target);
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

fn scratch(tag: &str, i: usize) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "vrrpd-regress-fuzz-{tag}-{}-{i}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Run `f` on a thread; fail if it panics or takes longer than 10 s.
fn bounded(what: String, f: impl FnOnce() + Send + 'static) {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        f();
        let _ = tx.send(());
    });
    match rx.recv_timeout(Duration::from_secs(10)) {
        Ok(()) => {}
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{what}: no result within 10 s"),
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!("{what}: panicked"),
    }
}

#[test]
fn regress_fuzz_config_load_inputs() {
    for (i, input) in inputs("config_load").into_iter().enumerate() {
        let data = std::fs::read(&input).unwrap();
        bounded(input.display().to_string(), move || {
            let dir = scratch("config", i);
            std::fs::create_dir_all(dir.join("groups.d")).unwrap();
            std::fs::write(dir.join("groups.d/fuzz.toml"), &data).unwrap();
            let env: HashMap<String, String> =
                HashMap::from([("VRID".to_string(), "51".to_string())]);
            if let Ok(l) = load(&dir, &env, &UnknownHost) {
                let _ = render_seeded(&l.config);
            }
            std::fs::remove_dir_all(&dir).unwrap();
        });
    }
}

#[test]
fn regress_fuzz_convert_keepalived_inputs() {
    for (i, input) in inputs("convert_keepalived").into_iter().enumerate() {
        let data = std::fs::read(&input).unwrap();
        bounded(input.display().to_string(), move || {
            let dir = scratch("convert", i);
            let conf = dir.join("keepalived.conf");
            std::fs::write(&conf, &data).unwrap();
            if let Ok(conv) = convert_file(&conf)
                && write(&conv, &dir.join("out")).is_ok()
            {
                let _ = load(
                    &dir.join("out"),
                    &HashMap::<String, String>::new(),
                    &UnknownHost,
                );
            }
            std::fs::remove_dir_all(&dir).unwrap();
        });
    }
}

/// The packet targets share their harness with these tests
/// (`tests/fuzz_harness/`): a flagged input replays exactly what it did.
fn replay(target: &str, run: fn(&[u8])) {
    for input in inputs(target) {
        let data = std::fs::read(&input).unwrap();
        bounded(input.display().to_string(), move || run(&data));
    }
}

#[test]
fn regress_fuzz_endpoint_inputs() {
    replay("endpoint", |d| {
        fuzz_harness::endpoint::run(d);
    });
}

#[test]
fn regress_fuzz_roundtrip_inputs() {
    replay("roundtrip", fuzz_harness::roundtrip::run);
}

#[test]
fn regress_fuzz_bfd_inputs() {
    replay("bfd", |d| {
        fuzz_harness::bfd::run(d);
    });
}
