//! Issue 12 item 4 (SPEC §1 `ndisc_router`, RFC 4861 §4.4, RFC 9568
//! §6.4.2): the Router flag of the unsolicited NAs a new master sends, as a
//! neighbour's tcpdump sees them: "auto" follows the interface's IPv6
//! forwarding (keepalived's rule), `true` / `false` force it.
//!
//! The "auto with forwarding on" case turns on `net.ipv6.conf.eth0.forwarding`
//! in the router's own test namespace only: that is the condition under test
//! (the node forwards nothing meanwhile: the LAN has no other prefix).

use std::process::Stdio;
use std::sync::Mutex;
use std::time::Duration;

use netns_tests::*;

static SERIAL: Mutex<()> = Mutex::new(());

const VIP6: &str = "2001:db8::100";

/// The flags tcpdump printed for NAs targeting the VIP, e.g. "[router, override]".
fn na_flags(ndisc_router: &str, forwarding: bool) -> Vec<String> {
    let mut lan = Lan::new();
    let mut a = Node::new(
        &mut lan,
        "a",
        &["192.0.2.1/24", "fe80::1/64"],
        "02:00:00:00:00:01",
    );
    let client = Netns::new("vtc");
    lan.attach(&client, "eth0", Some("02:00:00:00:00:0a"));
    if forwarding {
        a.ns.sysctl("net.ipv6.conf.eth0.forwarding=1");
    }
    a.write_group(
        "web6",
        &format!(
            "vrid = 61\ninterface = \"eth0\"\nversion = 3\nadvert_interval = \"100ms\"\n\
             virtual_ips = [\"fe80::61/64\", \"{VIP6}/64\"]\ngarp_master_delay = \"0s\"\n{ndisc_router}"
        ),
    );
    let out = std::env::temp_dir().join(unique_name("na-dump-"));
    let file = std::fs::File::create(&out).expect("dump file");
    let mut c = client.cmd("tcpdump");
    c.args(["-i", "eth0", "-nn", "-l", "-v", "icmp6 and ip6[40] == 136"])
        .stdout(file)
        .stderr(Stdio::null());
    let mut dump = Proc::spawn(c);
    std::thread::sleep(Duration::from_millis(500));
    a.start();
    let ok = wait_until(Duration::from_secs(3), || a.ns.has_address("eth0", VIP6));
    std::thread::sleep(Duration::from_millis(300));
    dump.signal(libc::SIGINT);
    let _ = dump.wait_timeout(Duration::from_secs(3));
    let text = std::fs::read_to_string(&out).unwrap_or_default();
    let _ = std::fs::remove_file(&out);
    assert!(ok, "a never held {VIP6}\n{}", a.log_text());
    let flags: Vec<String> = text
        .lines()
        .filter(|l| l.contains(&format!("tgt is {VIP6}")))
        .filter_map(|l| {
            let f = l.split("Flags ").nth(1)?;
            Some(f.split(']').next()?.to_string() + "]")
        })
        .collect();
    assert!(
        !flags.is_empty(),
        "no NA for {VIP6} seen:\n{text}\n{}",
        a.log_text()
    );
    a.stop(libc::SIGTERM, Duration::from_secs(3));
    flags
}

fn all(flags: &[String], router: bool) -> bool {
    flags
        .iter()
        .all(|f| f.contains("router") == router && f.contains("override"))
}

#[test]
fn ndisc_router_sets_the_na_router_flag_auto_follows_ipv6_forwarding() {
    if !netns_available("ndisc_router_sets_the_na_router_flag_auto_follows_ipv6_forwarding") {
        return;
    }
    if which("tcpdump").is_none() {
        eprintln!("tcpdump not installed: skipped");
        return;
    }
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    for (setting, forwarding, router) in [
        ("", false, false),
        ("", true, true),
        ("ndisc_router = true\n", false, true),
        ("ndisc_router = false\n", true, false),
    ] {
        let f = na_flags(setting, forwarding);
        assert!(
            all(&f, router),
            "{setting:?} forwarding={forwarding}: flags {f:?}, want router={router}"
        );
    }
}

fn which(prog: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH")?
        .to_string_lossy()
        .split(':')
        .map(|d| std::path::Path::new(d).join(prog))
        .find(|p| p.is_file())
}
