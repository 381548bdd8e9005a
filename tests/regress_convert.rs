//! Regression tests for `vrrpd convert` found while hardening (issue 8).

use std::collections::HashMap;
use std::path::PathBuf;

use vrrpd::config::{AuthConfig, UnknownHost, load};
use vrrpd::convert::{convert_file, write};

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn converted_secret(pass: &str, auth_type: &str) -> Vec<u8> {
    let t = TempDir(std::env::temp_dir().join(format!(
        "vrrpd-regress-convert-{}-{}",
        pass.replace(['/', ':'], "_"),
        std::process::id()
    )));
    std::fs::create_dir_all(&t.0).unwrap();
    let conf = t.0.join("keepalived.conf");
    std::fs::write(
        &conf,
        format!(
            "vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 51\n advert_int 1\n\
             authentication {{\n auth_type {auth_type}\n auth_pass {pass}\n }}\n\
             virtual_ipaddress {{\n 192.0.2.100/24\n }}\n}}\n"
        ),
    )
    .unwrap();
    let conv = convert_file(&conf).unwrap_or_else(|e| panic!("{e}"));
    let out = t.0.join("out");
    write(&conv, &out).unwrap();
    let l = load(&out, &HashMap::<String, String>::new(), &UnknownHost)
        .unwrap_or_else(|e| panic!("{e}"));
    match &l.config.groups[0].auth {
        Some(AuthConfig::Pass { secret }) | Some(AuthConfig::Ah { secret }) => {
            secret.expose().to_vec()
        }
        other => panic!("no pass/ah auth: {other:?}"),
    }
}

/// keepalived takes `auth_pass` literally; vrrpd reads `hex:` and `file:`
/// prefixes. A converted `auth_pass file:/etc/shadow` used to become a key
/// *file* reference (and `hex:41` the byte 0x41): a different password than
/// the keepalived peer uses, and a file read the operator never asked for.
#[test]
fn regress_convert_keeps_hex_and_file_prefixed_passwords_literal() {
    assert_eq!(converted_secret("hex:4142", "PASS"), b"hex:4142");
    assert_eq!(
        converted_secret("file:/etc/hostname", "AH"),
        b"file:/etc/hostname"
    );
    assert_eq!(converted_secret("secret12", "PASS"), b"secret12");
}
