//! Issue 12 item 7: per-interface caches follow the kernel. After `ip link
//! set eth0 address ...` the gratuitous ARPs carry the new MAC; an interface
//! deleted and re-created with the same index is joined to 224.0.0.18 again
//! (the kernel dropped the membership with the old interface).

#[path = "ops_common.rs"]
mod common;

use std::process::Stdio;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::*;
use netns_tests::*;

static SERIAL: Mutex<()> = Mutex::new(());

const NEW_MAC: &str = "02:00:00:00:00:99";

fn mc_group(prio: u8, extra: &str) -> String {
    format!(
        "vrid = 51\ninterface = \"eth0\"\npriority = {prio}\nversion = 3\n\
         advert_interval = \"100ms\"\nvirtual_ips = [\"{VIP}/24\"]\n{extra}"
    )
}

#[test]
fn garp_carries_the_new_mac_after_the_interface_mac_changes() {
    if !netns_available("garp_carries_the_new_mac_after_the_interface_mac_changes") {
        return;
    }
    let _g = lock(&SERIAL);
    let mut p = Pair::build();
    p.a.write_group("web", &mc_group(150, "garp_refresh = \"300ms\"\n"));
    let out = std::env::temp_dir().join(unique_name("garp-dump-"));
    let file = std::fs::File::create(&out).expect("dump file");
    let mut c = p.client.cmd("tcpdump");
    c.args(["-i", "eth0", "-e", "-nn", "-l", "arp"])
        .stdout(file)
        .stderr(Stdio::null());
    let mut dump = Proc::spawn(c);
    p.a.start();
    let ok = wait_until(Duration::from_secs(3), || p.a.holds(VIP));
    p.check(ok, "a never took the VIP");
    p.a.ns.ip(&["link", "set", "eth0", "address", NEW_MAC]);
    // Two refresh rounds after the change.
    std::thread::sleep(Duration::from_millis(900));
    dump.signal(libc::SIGINT);
    let _ = dump.wait_timeout(Duration::from_secs(3));
    let text = std::fs::read_to_string(&out).unwrap_or_default();
    let _ = std::fs::remove_file(&out);
    let garp = format!("who-has {VIP} tell {VIP}");
    let with_new = text
        .lines()
        .filter(|l| l.contains(&garp) && l.contains(&format!("{NEW_MAC} > ")))
        .count();
    p.check(
        with_new > 0,
        &format!("no gratuitous ARP from {NEW_MAC} after the MAC change:\n{text}"),
    );
}

#[test]
fn recreated_interface_with_the_same_index_is_joined_again() {
    if !netns_available("recreated_interface_with_the_same_index_is_joined_again") {
        return;
    }
    let _g = lock(&SERIAL);
    // a (100) is the backup: it stays backup only while it hears b (150)
    // over multicast, i.e. only if it joined 224.0.0.18 on the new eth0.
    let mut p = Pair::build();
    p.a.write_group("web", &mc_group(100, ""));
    p.b.write_group("web", &mc_group(150, ""));
    p.b.start();
    let ok = wait_until(Duration::from_secs(3), || p.b.holds(VIP));
    p.check(ok, "b never took the VIP");
    p.a.start();
    let ok = wait_until(Duration::from_secs(3), || state_of(&p.a, "web") == "backup");
    p.check(ok, "a is not backup");
    let index = p.a.ns.ip(&["-o", "link", "show", "eth0"]);
    let index = index.split(':').next().unwrap_or("").trim().to_string();
    p.check(!index.is_empty(), "no ifindex for a's eth0");
    p.a.ns.ip(&["link", "del", "eth0"]);
    std::thread::sleep(Duration::from_millis(300));
    // Same name, index, MAC and address; the peer end goes on the bridge.
    let port = "pre0";
    p.a.ns.ip(&[
        "link",
        "add",
        "eth0",
        "index",
        &index,
        "type",
        "veth",
        "peer",
        "name",
        port,
        "netns",
        &p.lan.switch.name,
    ]);
    p.lan.switch.ip(&["link", "set", port, "master", "br0"]);
    p.lan.switch.ip(&["link", "set", port, "up"]);
    p.a.ns
        .ip(&["link", "set", "eth0", "address", "02:00:00:00:00:01"]);
    p.a.ns
        .ip(&["addr", "add", &format!("{A}/24"), "dev", "eth0"]);
    p.a.ns.ip(&["link", "set", "eth0", "up"]);
    let again = p.a.ns.ip(&["-o", "link", "show", "eth0"]);
    p.check(
        again.starts_with(&format!("{index}:")),
        &format!("re-created eth0 got another index: {again}"),
    );
    let ok = wait_until(Duration::from_secs(3), || state_of(&p.a, "web") == "backup");
    p.check(ok, "a did not come back as backup");
    // Three Master_Down_Intervals: a deaf a would have taken over by now.
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(1200) {
        p.check(
            !p.a.holds(VIP) && state_of(&p.a, "web") == "backup",
            &format!(
                "a went master after re-creation (not joined again?) at {:?}",
                start.elapsed()
            ),
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
