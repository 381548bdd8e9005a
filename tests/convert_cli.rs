//! `vrrpd convert` through the binary: exit codes, files written, the report.

use std::path::{Path, PathBuf};
use std::process::Command;

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/keepalived-conf")
        .join(rel)
}

fn out_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("vrrpd-convert-cli-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn run(input: &Path, out: &Path) -> (i32, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_vrrpd"))
        .arg("convert")
        .arg(input)
        .arg("--out")
        .arg(out)
        .env_remove("ENVIRONMENT_INIT")
        .output()
        .expect("run vrrpd");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn convert_writes_files_and_lists_unmapped_with_exit_0() {
    let out = out_dir("ok");
    let (code, stderr) = run(&fixture("legacy-v2/keepalived.conf"), &out);
    assert_eq!(code, 0, "{stderr}");
    assert!(out.join("vrrpd.toml").is_file());
    assert!(out.join("groups.d/VI_1.toml").is_file());
    assert!(out.join("groups.d/VI_2.toml").is_file());
    assert!(
        stderr.contains(
            "legacy-v2/keepalived.conf:31: virtual_server: not mapped (LVS load balancing is not part of vrrpd)"
        ),
        "{stderr}"
    );
    // garp_master_delay maps to vrrpd's key of the same name.
    assert!(
        !stderr.contains("garp_master_delay: not mapped"),
        "{stderr}"
    );
    let head = std::fs::read_to_string(out.join("groups.d/VI_1.toml")).unwrap();
    assert!(head.starts_with("# Converted by `vrrpd convert` from keepalived config "));
    assert!(!stderr.contains("does not pass"), "{stderr}");
    // The output checks clean with the real CLI too.
    let chk = Command::new(env!("CARGO_BIN_EXE_vrrpd"))
        .args(["check", "--config"])
        .arg(&out)
        .env_remove("ENVIRONMENT_INIT")
        .output()
        .unwrap();
    assert_eq!(
        chk.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&chk.stderr)
    );
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn unbalanced_braces_exit_2_with_file_and_line() {
    let out = out_dir("unbalanced");
    let (code, stderr) = run(&fixture("errors/unbalanced.conf"), &out);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("errors/unbalanced.conf:1: unbalanced braces"),
        "{stderr}"
    );
    assert!(!out.exists(), "nothing may be written on a parse error");
}

#[test]
fn include_cycle_exits_2_with_file_and_line() {
    let out = out_dir("cycle");
    let (code, stderr) = run(&fixture("errors/cycle-a.conf"), &out);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("errors/cycle-b.conf:4: include cycle: "),
        "{stderr}"
    );
    assert!(!out.exists());
}

#[test]
fn missing_input_exits_2() {
    let out = out_dir("missing");
    let (code, stderr) = run(&fixture("no-such-file.conf"), &out);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("no-such-file.conf"), "{stderr}");
}

#[test]
fn config_id_selects_conditional_lines_through_the_binary() {
    let f = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/keepalived-conf/corpus/k8s-one-file-three-nodes.conf");
    for (id, prio) in [("cp1", "priority = 150"), ("cp3", "priority = 100")] {
        let out = out_dir(&format!("id-{id}"));
        let o = Command::new(env!("CARGO_BIN_EXE_vrrpd"))
            .arg("convert")
            .arg(&f)
            .arg("--out")
            .arg(&out)
            .args(["--config-id", id])
            .env_remove("ENVIRONMENT_INIT")
            .output()
            .expect("run vrrpd");
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(0), "{err}");
        assert!(
            err.contains(&format!("config id \"{id}\" (--config-id)")),
            "{err}"
        );
        let g = std::fs::read_to_string(out.join("groups.d/VI_1.toml")).unwrap();
        assert!(g.contains(prio), "{id}: {g}");
        let _ = std::fs::remove_dir_all(&out);
    }
}

#[test]
fn nothing_convertible_exits_2_and_writes_nothing() {
    let dir = out_dir("none-src");
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("keepalived.conf");
    std::fs::write(
        &conf,
        "global_defs {\n router_id x\n}\nvrrp_instance VI_1 {\n interface eth0\n}\n",
    )
    .unwrap();
    let out = out_dir("none-out");
    let (code, stderr) = run(&conf, &out);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("keepalived.conf:4: vrrp_instance: not mapped"),
        "{stderr}"
    );
    assert!(
        stderr.contains("no vrrp_instance could be converted"),
        "{stderr}"
    );
    assert!(!out.exists());
    let _ = std::fs::remove_dir_all(&dir);
}
