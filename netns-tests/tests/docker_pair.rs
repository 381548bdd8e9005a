//! The pair the way users run it (issue 6): two FROM-scratch vrrpd
//! containers with only NET_ADMIN + NET_RAW, a client container pinging the
//! VIP, `docker stop` / `docker start`, health, ENVIRONMENT_INIT seeding.
//!
//! Network safety: every container runs with `--network none`; the test wires
//! them itself into a lab LAN (a bridge inside a namespace it made): a veth is
//! created inside the switch namespace with its peer moved straight into the
//! container's network namespace by PID. Nothing touches the root namespace
//! (no `docker network create`, which would add a bridge, an address and
//! iptables rules there).
//!
//! Skipped loudly when `docker info` fails; a failure under
//! `VRRPD_REQUIRE_DOCKER=1`. Needs `busybox-static` (/bin/busybox) for the
//! client and the seed program. The image is built by scripts/build-image.sh
//! (static release build, cached in target/; `VRRPD_STATIC_BIN` skips it).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use netns_tests::*;
use vrrpd::privileges::{cap_names, status_field};

const VIP: &str = "192.0.2.100";
const KEPT: u64 = (1 << 12) | (1 << 13);

fn docker_available() -> bool {
    let ok = Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if ok {
        return true;
    }
    if std::env::var("VRRPD_REQUIRE_DOCKER").as_deref() == Ok("1") {
        panic!("VRRPD_REQUIRE_DOCKER=1 but `docker info` fails: no Docker engine");
    }
    eprintln!(
        "SKIPPED docker_pair: `docker info` fails (no Docker engine); set VRRPD_REQUIRE_DOCKER=1 to make this a failure"
    );
    false
}

fn docker(args: &[&str]) -> std::process::Output {
    run(Command::new("docker").args(args)).expect("run docker")
}

fn docker_must(args: &[&str]) -> String {
    must(Command::new("docker").args(args)).trim().to_string()
}

/// A container removed (with its anonymous volumes) on Drop.
struct Container {
    name: String,
}

impl Container {
    fn pid(&self) -> i32 {
        docker_must(&["inspect", "-f", "{{.State.Pid}}", &self.name])
            .parse()
            .expect("container pid")
    }

    fn logs(&self) -> String {
        let o = docker(&["logs", &self.name]);
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    }

    fn health(&self) -> String {
        docker_must(&[
            "inspect",
            "-f",
            "{{if .State.Health}}{{.State.Health.Status}}{{end}}",
            &self.name,
        ])
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = docker(&["rm", "-f", "-v", &self.name]);
    }
}

/// An image tag removed on Drop.
struct Image {
    tag: String,
}

impl Drop for Image {
    fn drop(&mut self) {
        let _ = docker(&["rmi", "-f", &self.tag]);
    }
}

/// A temporary directory removed on Drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(prefix: &str) -> TempDir {
        let p = std::env::temp_dir().join(unique_name(prefix));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Lower-case, unique across processes and runs.
fn unique_tag(what: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("vrrpd-test-{what}-{}-{nanos}:t", std::process::id())
}

/// The product image, by scripts/build-image.sh.
fn build_product_image() -> Image {
    let tag = unique_tag("img");
    let start = Instant::now();
    let out = run(Command::new(workspace_root().join("scripts/build-image.sh")).arg(&tag))
        .expect("run scripts/build-image.sh");
    let image = Image { tag };
    assert!(
        out.status.success(),
        "build-image.sh failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let size: u64 = docker_must(&["image", "inspect", "-f", "{{.Size}}", &image.tag])
        .parse()
        .unwrap();
    eprintln!(
        "docker_pair: image {} built in {:.1?}, {:.2} MB",
        image.tag,
        start.elapsed(),
        size as f64 / 1e6
    );
    assert!(size < 15_000_000, "image is {size} bytes, must be < 15 MB");
    image
}

/// FROM the product image + static busybox (the client's ping) + a seed
/// program printing `PRIORITY=90` (a `#!/bin/busybox sh` script).
fn build_test_image(base: &str) -> Image {
    let busybox = Path::new("/bin/busybox");
    assert!(
        busybox.is_file(),
        "/bin/busybox missing: apt-get install -y busybox-static"
    );
    let ctx = TempDir::new("vrrpd-testimg-");
    std::fs::copy(busybox, ctx.0.join("busybox")).unwrap();
    std::fs::write(
        ctx.0.join("seed"),
        "#!/bin/busybox sh\n# ENVIRONMENT_INIT: KEY=VALUE lines\necho PRIORITY=90\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    for f in ["busybox", "seed"] {
        std::fs::set_permissions(ctx.0.join(f), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::fs::write(
        ctx.0.join("Dockerfile"),
        format!("FROM {base}\nCOPY busybox /bin/busybox\nCOPY seed /usr/local/bin/seed\n"),
    )
    .unwrap();
    let tag = unique_tag("client");
    let out = run(Command::new("docker").args([
        "build",
        "--pull=false",
        "-q",
        "-t",
        &tag,
        &ctx.0.to_string_lossy(),
    ]))
    .unwrap();
    let image = Image { tag };
    assert!(
        out.status.success(),
        "test image build failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    image
}

/// A lab LAN whose members are containers, wired by PID.
struct DockerLan {
    lan: Lan,
    ports: u32,
}

impl DockerLan {
    /// A veth `dN` in the switch namespace, its peer `eth0` in the
    /// container's network namespace; address and MAC set from inside.
    fn wire(&mut self, c: &Container, cidr: &str, mac: &str) {
        let pid = c.pid().to_string();
        let port = format!("d{}", self.ports);
        self.ports += 1;
        let sw = &self.lan.switch;
        sw.ip(&[
            "link", "add", &port, "type", "veth", "peer", "name", "eth0", "netns", &pid,
        ]);
        let inside = |args: &[&str]| {
            must(Command::new("nsenter").args(["-t", &pid, "-n"]).args(args));
        };
        inside(&["ip", "link", "set", "eth0", "address", mac]);
        inside(&["sysctl", "-qw", "net.ipv6.conf.eth0.accept_dad=0"]);
        inside(&["ip", "addr", "add", cidr, "dev", "eth0"]);
        sw.ip(&["link", "set", &port, "master", "br0"]);
        sw.ip(&["link", "set", &port, "up"]);
        inside(&["ip", "link", "set", "eth0", "up"]);
    }
}

fn holds(c: &Container, addr: &str) -> bool {
    let out = docker(&["inspect", "-f", "{{.State.Pid}}", &c.name]);
    let pid = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if pid.is_empty() || pid == "0" {
        return false; // not running
    }
    let out =
        run(Command::new("nsenter")
            .args(["-t", &pid, "-n", "ip", "-o", "addr", "show", "dev", "eth0"]));
    match out {
        Ok(o) => String::from_utf8_lossy(&o.stdout).contains(&format!(" {addr}/")),
        Err(_) => false,
    }
}

/// The product's seccomp profile (issue 19); every vrrpd container of these
/// tests runs under it (or under a copy with one call removed).
fn seccomp_profile() -> PathBuf {
    workspace_root().join("config/seccomp.json")
}

fn run_vrrpd(name: &str, image: &str, cfg: &Path, env: &[(&str, &str)]) -> Container {
    run_vrrpd_confined(name, image, cfg, env, &seccomp_profile())
}

fn run_vrrpd_confined(
    name: &str,
    image: &str,
    cfg: &Path,
    env: &[(&str, &str)],
    seccomp: &Path,
) -> Container {
    let mut args: Vec<String> = [
        "run",
        "-d",
        "--name",
        name,
        "--hostname",
        name,
        "--network",
        "none",
        "--cap-drop",
        "ALL",
        "--cap-add",
        "NET_ADMIN",
        "--cap-add",
        "NET_RAW",
        // The image's HEALTHCHECK, checked every second for the test.
        "--health-interval",
        "1s",
        "--health-start-period",
        "2s",
        "-e",
        "VRRPD_LOG=info",
        "-v",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.push(format!("{}:/etc/vrrpd:ro", cfg.display()));
    args.push("--security-opt".into());
    args.push(format!("seccomp={}", seccomp.display()));
    for (k, v) in env {
        args.push("-e".into());
        args.push(format!("{k}={v}"));
    }
    args.push(image.into());
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = docker(&refs);
    let c = Container { name: name.into() };
    assert!(
        out.status.success(),
        "docker run {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    c
}

/// The daemon's pid for a container: PID 1's child when PID 1 is the
/// `init_if_pid1` init, else PID 1 itself.
fn daemon_pid(c: &Container) -> i32 {
    let pid = c.pid();
    let children =
        std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
    for child in children.split_whitespace() {
        let comm = std::fs::read_to_string(format!("/proc/{child}/comm")).unwrap_or_default();
        if comm.trim() == "vrrpd" {
            return child.parse().unwrap();
        }
    }
    pid
}

fn assert_only_kept_caps(c: &Container) {
    let pid = daemon_pid(c);
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    assert_eq!(
        status_field_text(&status, "Seccomp:"),
        Some("2"),
        "{}: the daemon is not under a seccomp filter",
        c.name
    );
    for key in ["CapEff:", "CapPrm:"] {
        let v = status_field(&status, key).unwrap();
        assert_eq!(
            v,
            KEPT,
            "{}: {key} {:?}, want CAP_NET_ADMIN + CAP_NET_RAW only",
            c.name,
            cap_names(v)
        );
    }
    for key in ["CapInh:", "CapAmb:"] {
        assert_eq!(status_field(&status, key), Some(0), "{}: {key}", c.name);
    }
}

/// The text of one `/proc/PID/status` field.
fn status_field_text<'a>(status: &'a str, key: &str) -> Option<&'a str> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .map(str::trim)
}

/// Missing sequence numbers between the first and last reply of busybox
/// ping output (`seq=N`); each one is a gap of at least two intervals.
fn busybox_missing(text: &str) -> (u64, u64) {
    let seqs: Vec<u64> = text
        .lines()
        .filter_map(|l| l.split("seq=").nth(1))
        .filter_map(|r| r.split_whitespace().next()?.parse().ok())
        .collect();
    let (Some(first), Some(last)) = (seqs.iter().min(), seqs.iter().max()) else {
        return (0, 0);
    };
    let expected = last - first + 1;
    (seqs.len() as u64, expected - seqs.len() as u64)
}

/// (end timestamp, length) of the widest gap between replies in `ping -D`
/// output that overlaps the window `from..to` (unix seconds).
fn widest_gap(text: &str, from: f64, to: f64) -> (f64, f64) {
    let mut last: Option<f64> = None;
    let mut best = (0.0, 0.0);
    for l in text.lines().filter(|l| l.contains("bytes from")) {
        let Some(ts) = l
            .strip_prefix('[')
            .and_then(|r| r.split(']').next())
            .and_then(|t| t.parse::<f64>().ok())
        else {
            continue;
        };
        if let Some(p) = last
            && ts >= from
            && p <= to
            && ts - p > best.1
        {
            best = (ts, ts - p);
        }
        last = Some(ts);
    }
    best
}

/// Whether the image's binary has the `status` subcommand yet.
fn status_implemented(c: &Container) -> bool {
    docker(&["exec", &c.name, "/usr/sbin/vrrpd", "status", "--help"])
        .status
        .success()
}

fn wait_healthy(c: &Container) {
    let ok = wait_until(Duration::from_secs(30), || c.health() == "healthy");
    assert!(
        ok,
        "{} not healthy ({}):\n{}",
        c.name,
        c.health(),
        docker_must(&["inspect", "-f", "{{json .State.Health}}", &c.name])
    );
}

#[test]
fn docker_pair_failover_seed_health_and_least_privilege() {
    require_netns!();
    if !docker_available() {
        return;
    }
    let t0 = Instant::now();
    // Drop order is the reverse: containers, then the LAN, then images.
    let product = build_product_image();
    let testimg = build_test_image(&product.tag);
    let cfg = TempDir::new("vrrpd-docker-cfg-");
    std::fs::create_dir_all(cfg.0.join("groups.d")).unwrap();
    std::fs::write(
        cfg.0.join("vrrpd.toml"),
        "router_id = \"${HOSTNAME:-lb}\"\nlog_format = \"text\"\n",
    )
    .unwrap();
    std::fs::write(
        cfg.0.join("groups.d/web.toml"),
        format!(
            "vrid = 61\ninterface = \"eth0\"\npriority = \"${{PRIORITY:-100}}\"\nversion = 3\n\
             advert_interval = \"100ms\"\npreempt = true\nvirtual_ips = [\"{VIP}/24\"]\n"
        ),
    )
    .unwrap();
    let mut dl = DockerLan {
        lan: Lan::new(),
        ports: 0,
    };
    let tag = unique_name("v");
    // a: the product image, no PRIORITY: `${PRIORITY:-100}` gives 100.
    // b: ENVIRONMENT_INIT prints PRIORITY=90. b has the higher address, so
    //    at equal priority b would win: a winning shows the seed applied.
    let a = run_vrrpd(&format!("{tag}-a"), &product.tag, &cfg.0, &[]);
    let b = run_vrrpd(
        &format!("{tag}-b"),
        &testimg.tag,
        &cfg.0,
        &[("ENVIRONMENT_INIT", "/usr/local/bin/seed")],
    );
    let client = {
        let name = format!("{tag}-c");
        let out = docker(&[
            "run",
            "-d",
            "--name",
            &name,
            "--network",
            "none",
            "--entrypoint",
            "/bin/busybox",
            &testimg.tag,
            "sleep",
            "600",
        ]);
        let c = Container { name };
        assert!(
            out.status.success(),
            "client: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        c
    };
    dl.wire(&a, "192.0.2.11/24", "02:00:5e:20:00:11");
    dl.wire(&b, "192.0.2.12/24", "02:00:5e:20:00:12");
    dl.wire(&client, "192.0.2.50/24", "02:00:5e:20:00:50");
    // A lab namespace on the same LAN: iputils ping -D gives timestamps.
    let labclient = Netns::new("vtc");
    dl.lan.attach(&labclient, "eth0", Some("02:00:5e:20:00:51"));
    labclient.ip(&["addr", "add", "192.0.2.51/24", "dev", "eth0"]);

    assert!(
        wait_until(Duration::from_secs(15), || holds(&a, VIP)),
        "a (priority 100) never became master\na:\n{}\nb:\n{}",
        a.logs(),
        b.logs()
    );
    std::thread::sleep(Duration::from_millis(500));
    assert!(!holds(&b, VIP), "b holds the VIP too:\n{}", b.logs());
    let (alog, blog) = (a.logs(), b.logs());
    assert!(
        alog.contains("priority=100"),
        "a's log does not show priority 100:\n{alog}"
    );
    assert!(
        blog.contains("priority=90") && !blog.contains("priority=100"),
        "b's log does not show the seeded priority 90:\n{blog}"
    );
    assert_only_kept_caps(&a);
    assert_only_kept_caps(&b);

    let with_status = status_implemented(&a);
    if with_status {
        wait_healthy(&a);
        wait_healthy(&b);
    } else {
        eprintln!(
            "NOTE docker_pair: `vrrpd status` is not implemented yet: health assertions skipped"
        );
    }

    // docker stop on the master, two clients pinging the VIP.
    let ping_file = TempDir::new("vrrpd-labping-");
    let mut ping = labclient.cmd("ping");
    ping.args(["-D", "-n", "-i", "0.002", "-W", "1", VIP])
        .stdout(std::fs::File::create(ping_file.0.join("out")).unwrap())
        .stderr(Stdio::null());
    let mut ping = Proc::spawn(ping);
    let bb_out = TempDir::new("vrrpd-bbping-");
    let bb_file = std::fs::File::create(bb_out.0.join("out")).unwrap();
    let mut bb = Command::new("docker");
    bb.args([
        "exec",
        &client.name,
        "/bin/busybox",
        "ping",
        "-i",
        "0.01",
        "-w",
        "6",
        VIP,
    ])
    .stdout(bb_file)
    .stderr(Stdio::null());
    let mut bb = Proc::spawn(bb);
    std::thread::sleep(Duration::from_secs(1));
    let stop_start = Instant::now();
    let stop_wall = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let st = docker(&["stop", "-t", "10", &a.name]);
    let stop_took = stop_start.elapsed();
    assert!(st.status.success(), "docker stop failed");
    assert!(
        stop_took < Duration::from_secs(9),
        "docker stop took {stop_took:?}: SIGTERM not handled, SIGKILL needed"
    );
    let code = docker_must(&["inspect", "-f", "{{.State.ExitCode}}", &a.name]);
    assert_eq!(code, "0", "a exited with {code}:\n{}", a.logs());
    assert!(
        wait_until(Duration::from_secs(5), || holds(&b, VIP)),
        "b did not take the VIP:\n{}",
        b.logs()
    );
    // The failover window: from SIGTERM until a moment after b holds the VIP
    // (a's `released` is logged well inside it).
    let window_end = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        + 0.3;
    std::thread::sleep(Duration::from_secs(1));
    ping.signal(libc::SIGINT);
    let _ = ping.wait_timeout(Duration::from_secs(5));
    let ping_text = std::fs::read_to_string(ping_file.0.join("out")).unwrap_or_default();
    let stats = parse_ping_output(&ping_text);
    let (gap_at, failover_gap) = widest_gap(&ping_text, stop_wall, window_end);
    let (any_at, _) = widest_gap(&ping_text, 0.0, f64::MAX);
    eprintln!(
        "docker_pair: lab client: widest gap in the failover window {:.2} ms (ends {:+.3} s after \
         docker stop began; window {:.3} s); widest overall {:.2?} (ends {:+.3} s)",
        failover_gap * 1e3,
        gap_at - stop_wall,
        window_end - stop_wall,
        stats.max_gap,
        any_at - stop_wall
    );
    let _ = bb.wait_timeout(Duration::from_secs(10));
    let bb_text = std::fs::read_to_string(bb_out.0.join("out")).unwrap_or_default();
    let (bb_got, bb_missing) = busybox_missing(&bb_text);
    eprintln!(
        "docker_pair: docker stop took {stop_took:.2?}; lab client: sent {} received {} max gap {:.2?}; \
         client container (busybox, 10 ms): {bb_got} replies, {bb_missing} missing",
        stats.sent, stats.received, stats.max_gap
    );
    assert!(
        stats.received > 100,
        "lab client got too few replies: {stats:?}"
    );
    // Outside the window the host itself (docker tearing the container
    // down on a 2-CPU machine) delays replies by tens of ms with no loss.
    assert_eq!(stats.lost(), 0, "lab client lost replies: {stats:?}");
    // The network's part of the silence (probes lost or answered late);
    // the pinger being descheduled on a loaded 2-CPU host is not an outage.
    let outage = client_outage(&parse_ping_replies(&ping_text));
    assert!(
        outage.gap <= Duration::from_millis(10) && outage.lost_inside == 0,
        "network gap {:.2?} ({} lost) during the failover (raw {:.2} ms): {stats:?}\n{}\na:\n{}\nb:\n{}",
        outage.gap,
        outage.lost_inside,
        failover_gap * 1e3,
        outage.around,
        a.logs(),
        b.logs()
    );
    assert!(
        bb_got > 50,
        "client container got {bb_got} replies:\n{bb_text}"
    );
    assert_eq!(
        bb_missing, 0,
        "client container missed replies (gap > 10 ms):\n{bb_text}"
    );

    // docker start: a new network namespace, wired again; a (100) preempts b (90).
    docker_must(&["start", &a.name]);
    dl.wire(&a, "192.0.2.11/24", "02:00:5e:20:00:11");
    assert!(
        wait_until(Duration::from_secs(15), || holds(&a, VIP)),
        "restarted a did not preempt back:\n{}",
        a.logs()
    );
    assert!(
        wait_until(Duration::from_secs(5), || !holds(&b, VIP)),
        "b kept the VIP after a preempted:\n{}",
        b.logs()
    );
    assert_only_kept_caps(&a);
    if with_status {
        wait_healthy(&a);
    }
    eprintln!("docker_pair: passed in {:.1?}", t0.elapsed());
}

/// One node alone in a container with no network of its own: unicast on
/// `lo` (it becomes master and puts the VIP on `lo`).
fn lo_config() -> TempDir {
    let cfg = TempDir::new("vrrpd-docker-lo-");
    std::fs::create_dir_all(cfg.0.join("groups.d")).unwrap();
    std::fs::write(
        cfg.0.join("vrrpd.toml"),
        "router_id = \"solo\"\nlog_format = \"text\"\n",
    )
    .unwrap();
    std::fs::write(
        cfg.0.join("groups.d/lo.toml"),
        format!(
            "vrid = 71\ninterface = \"lo\"\npriority = 100\nversion = 3\nadvert_interval = \"100ms\"\n\
             unicast_source = \"127.0.0.1\"\nunicast_peers = [\"127.0.0.2\"]\n\
             virtual_ips = [\"{VIP}/32\"]\n"
        ),
    )
    .unwrap();
    cfg
}

/// The `lo` group's row of `vrrpd status` says MASTER (the header has a
/// MASTER column too).
fn is_master_on_lo(status: &str) -> bool {
    status
        .lines()
        .any(|l| l.starts_with("lo ") && l.split_whitespace().nth(3) == Some("MASTER"))
}

fn exec_status(c: &Container) -> (bool, String) {
    let o = docker(&["exec", &c.name, "/usr/sbin/vrrpd", "status"]);
    (
        o.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    )
}

/// `docker stop` ends with exit code 0 well before SIGKILL.
fn stop_cleanly(c: &Container) {
    let t = Instant::now();
    let st = docker(&["stop", "-t", "10", &c.name]);
    let took = t.elapsed();
    assert!(st.status.success(), "docker stop {} failed", c.name);
    assert!(
        took < Duration::from_secs(9),
        "docker stop took {took:?}: SIGTERM not handled under the profile:\n{}",
        c.logs()
    );
    let code = docker_must(&["inspect", "-f", "{{.State.ExitCode}}", &c.name]);
    assert_eq!(code, "0", "{} exited with {code}:\n{}", c.name, c.logs());
}

#[test]
fn docker_no_network_starts_answers_status_and_stops_under_seccomp() {
    require_netns!();
    if !docker_available() {
        return;
    }
    let product = build_product_image();
    let cfg = lo_config();
    let c = run_vrrpd(&unique_name("vlo"), &product.tag, &cfg.0, &[]);
    let mut last = String::new();
    let master = wait_until(Duration::from_secs(20), || {
        let (ok, out) = exec_status(&c);
        last = out;
        ok && is_master_on_lo(&last)
    });
    assert!(
        master,
        "`vrrpd status` under the profile never showed MASTER:\n{last}\nlog:\n{}",
        c.logs()
    );
    assert!(holds_on_lo(&c), "VIP not on lo:\n{}", c.logs());
    assert_only_kept_caps(&c);
    wait_healthy(&c);
    stop_cleanly(&c);
    let log = c.logs();
    assert!(
        log.contains("released") && log.contains("vrrpd stopped"),
        "no clean release in the log:\n{log}"
    );
    assert!(
        !log.contains("Operation not permitted"),
        "a call outside the profile failed:\n{log}"
    );
}

fn holds_on_lo(c: &Container) -> bool {
    let pid = c.pid().to_string();
    let o =
        run(Command::new("nsenter")
            .args(["-t", &pid, "-n", "ip", "-o", "addr", "show", "dev", "lo"]))
        .expect("nsenter ip addr");
    String::from_utf8_lossy(&o.stdout).contains(&format!(" {VIP}/32"))
}

/// Bad input: the profile without `sendmsg` (the call that sends every
/// advert). The daemon says which operation the kernel refused, once, and
/// keeps serving: master on its own, `vrrpd status`, a clean stop.
#[test]
fn docker_denied_syscall_is_logged_with_its_operation_and_the_daemon_keeps_running() {
    require_netns!();
    if !docker_available() {
        return;
    }
    let product = build_product_image();
    let dir = TempDir::new("vrrpd-seccomp-minus-");
    let mut profile: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(seccomp_profile()).unwrap()).unwrap();
    let names = profile["syscalls"][0]["names"].as_array_mut().unwrap();
    let before = names.len();
    names.retain(|n| n != "sendmsg");
    assert_eq!(names.len(), before - 1, "sendmsg not in the profile");
    let minus = dir.0.join("seccomp-minus-sendmsg.json");
    std::fs::write(&minus, profile.to_string()).unwrap();

    let cfg = lo_config();
    let c = run_vrrpd_confined(&unique_name("vden"), &product.tag, &cfg.0, &[], &minus);
    let logged = wait_until(Duration::from_secs(20), || {
        c.logs().contains("cannot send advert")
    });
    let log = c.logs();
    assert!(logged, "the refused advert send was not logged:\n{log}");
    let line = log
        .lines()
        .find(|l| l.contains("cannot send advert"))
        .unwrap();
    assert!(
        line.contains("sendmsg") && line.contains("Operation not permitted"),
        "the log line does not name the operation and EPERM: {line}"
    );
    // Still alive and serving a second later (no crash, no hang), and the
    // failure was logged once, not once per advert (10 per second).
    std::thread::sleep(Duration::from_secs(2));
    let (ok, out) = exec_status(&c);
    assert!(
        ok,
        "`vrrpd status` failed while sends are refused:\n{out}\n{}",
        c.logs()
    );
    assert!(is_master_on_lo(&out), "not master on its own:\n{out}");
    let log = c.logs();
    assert_eq!(
        log.matches("cannot send advert").count(),
        1,
        "logged more than once:\n{log}"
    );
    stop_cleanly(&c);
}
