//! The control socket, the client, the /metrics HTTP server and the CLI
//! against a fake daemon loop (no privileges needed; the uid-rejection test
//! needs root to become another user and says when it is skipped).

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use vrrpd::control::protocol::{
    GroupCounters, GroupStatus, HandoverResult, MAX_REQUEST_LEN, Request, Response, State,
    StatusReport,
};
use vrrpd::control::server::peer_allowed;
use vrrpd::control::{ClientError, ControlServer, MetricsServer, request};

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("vrrpd-ctl-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn report(fault: bool) -> StatusReport {
    StatusReport {
        bfd: Vec::new(),
        last_reload: None,
        router_id: "lb1".into(),
        groups: vec![GroupStatus {
            name: "public".into(),
            vrid: 51,
            interface: "eth0".into(),
            state: if fault { State::Fault } else { State::Master },
            priority: 150,
            base_priority: 150,
            master_address: Some("192.0.2.1".parse().unwrap()),
            since: "2024-02-29T12:34:56Z".into(),
            virtual_ips: vec!["192.0.2.100/24".into()],
            vmac_interface: None,
            drained: false,
            counters: GroupCounters::default(),
            trackers: vec![],
            virtual_routes: vec![],
            virtual_rules: vec![],
        }],
    }
}

/// The fake daemon: answers like the real loop would. `fault` sets the
/// reported state; reload is rejected when `reject_reload`.
fn spawn_daemon(mut server: ControlServer, fault: bool, reject_reload: bool) {
    tokio::spawn(async move {
        while let Some((req, reply)) = server.next().await {
            let resp = match req {
                Request::Status => Response::Status(report(fault)),
                Request::Handover { groups, .. }
                | Request::Drain { groups, .. }
                | Request::Resume { groups } => {
                    let mut r = HandoverResult::default();
                    for g in groups {
                        if g == "public" {
                            r.moved.push(g);
                        } else {
                            r.failed.push((g, "no such group".into()));
                        }
                    }
                    Response::Handover(r)
                }
                Request::Reload if reject_reload => {
                    Response::Reload(Err("groups.d/x.toml:1:1: unknown key `foo`".into()))
                }
                Request::Reload => Response::Reload(Ok(())),
                Request::Metrics => Response::Error("the server answers metrics".into()),
            };
            let _ = reply.send(resp);
        }
    });
}

async fn ask(path: &Path, req: Request) -> Result<Response, ClientError> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || request(&path, &req, Duration::from_secs(5)))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_and_server_exchange_every_request() {
    let dir = temp_dir("exchange");
    let sock = dir.join("sub/vrrpd.sock");
    let server = ControlServer::bind(&sock).unwrap();
    let dir_mode = std::fs::metadata(sock.parent().unwrap())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(dir_mode & 0o777, 0o755, "parent directory created 0755");
    spawn_daemon(server, false, false);

    let Response::Status(r) = ask(&sock, Request::Status).await.unwrap() else {
        panic!("status")
    };
    assert_eq!(r, report(false));
    let resp = ask(
        &sock,
        Request::Handover {
            groups: vec!["public".into(), "nope".into()],
            timeout: Duration::from_secs(1),
        },
    )
    .await
    .unwrap();
    assert_eq!(
        resp,
        Response::Handover(HandoverResult {
            moved: vec!["public".into()],
            failed: vec![("nope".into(), "no such group".into())],
        })
    );
    assert_eq!(
        ask(&sock, Request::Reload).await.unwrap(),
        Response::Reload(Ok(()))
    );
    // Metrics over the socket are rendered by the server from a Status.
    let Response::Metrics(text) = ask(&sock, Request::Metrics).await.unwrap() else {
        panic!("metrics")
    };
    assert!(text.contains("vrrpd_group_state{group=\"public\",vrid=\"51\",state=\"master\"} 1"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socket_is_0600_and_removed_on_drop() {
    let dir = temp_dir("mode");
    let sock = dir.join("vrrpd.sock");
    let server = ControlServer::bind(&sock).unwrap();
    let mode = std::fs::metadata(&sock).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    drop(server);
    assert!(!sock.exists(), "socket file removed on drop");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_socket_is_replaced_but_a_live_one_is_not() {
    let dir = temp_dir("stale");
    std::fs::create_dir_all(&dir).unwrap();
    let sock = dir.join("vrrpd.sock");
    // A stale socket: bound, then its listener gone.
    drop(std::os::unix::net::UnixListener::bind(&sock).unwrap());
    assert!(sock.exists());
    let server = ControlServer::bind(&sock).expect("stale socket replaced");
    let err = ControlServer::bind(&sock)
        .err()
        .expect("a live daemon's socket is refused");
    assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
    assert!(sock.exists(), "the live socket is left alone");
    drop(server);
    // A regular file is never removed.
    std::fs::write(&sock, b"x").unwrap();
    assert!(ControlServer::bind(&sock).is_err());
    assert!(sock.exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_client_does_not_block_others_or_the_daemon() {
    let dir = temp_dir("silent");
    let sock = dir.join("vrrpd.sock");
    let server = ControlServer::bind(&sock).unwrap();
    spawn_daemon(server, false, false);
    // Several clients connect and say nothing (and one sends half a line).
    let mut idle: Vec<UnixStream> = (0..5)
        .map(|_| UnixStream::connect(&sock).unwrap())
        .collect();
    idle[0].write_all(b"{\"sta").unwrap();
    let t0 = Instant::now();
    for _ in 0..3 {
        let r = ask(&sock, Request::Status).await.unwrap();
        assert!(matches!(r, Response::Status(_)));
    }
    assert!(
        t0.elapsed() < Duration::from_secs(2),
        "served while idle clients hang: {:?}",
        t0.elapsed()
    );
    // The idle clients are cut off after the server's read timeout.
    let mut c = idle.pop().unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut answer = String::new();
    c.read_to_string(&mut answer).unwrap();
    let resp: Response = serde_json::from_str(answer.trim()).unwrap();
    assert!(
        matches!(&resp, Response::Error(e) if e.contains("timed out")),
        "{resp:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_and_malformed_requests_are_rejected() {
    let dir = temp_dir("oversized");
    let sock = dir.join("vrrpd.sock");
    let server = ControlServer::bind(&sock).unwrap();
    spawn_daemon(server, false, false);
    let huge = Request::Handover {
        groups: vec!["g".repeat(MAX_REQUEST_LEN)],
        timeout: Duration::from_secs(1),
    };
    let r = ask(&sock, huge).await.unwrap();
    assert!(
        matches!(&r, Response::Error(e) if e.contains("too large")),
        "{r:?}"
    );
    let path = sock.clone();
    let r = tokio::task::spawn_blocking(move || {
        let mut s = UnixStream::connect(&path).unwrap();
        s.write_all(b"{\"no_such_request\": 1}\n").unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    })
    .await
    .unwrap();
    let r: Response = serde_json::from_str(r.trim()).unwrap();
    assert!(
        matches!(&r, Response::Error(e) if e.contains("bad request")),
        "{r:?}"
    );
    // The server still serves afterwards.
    assert!(matches!(
        ask(&sock, Request::Status).await.unwrap(),
        Response::Status(_)
    ));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn uid_policy_admits_root_and_the_daemons_user_only() {
    assert!(peer_allowed(0, 1000));
    assert!(peer_allowed(1000, 1000));
    assert!(peer_allowed(0, 0));
    assert!(!peer_allowed(65534, 0));
    assert!(!peer_allowed(1001, 1000));
}

fn euid() -> u32 {
    std::fs::metadata("/proc/self").map_or(u32::MAX, |m| std::os::unix::fs::MetadataExt::uid(&m))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn so_peercred_rejects_another_user() {
    if euid() != 0 {
        eprintln!("SKIPPED: needs root to run a client as uid 65534 (the policy is tested above)");
        return;
    }
    let dir = temp_dir("peercred");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let sock = dir.join("vrrpd.sock");
    let server = ControlServer::bind(&sock).unwrap();
    // Let the other user reach the socket so SO_PEERCRED is what stops it.
    std::fs::set_permissions(&sock, std::fs::Permissions::from_mode(0o666)).unwrap();
    spawn_daemon(server, false, false);
    let path = sock.clone();
    let out = tokio::task::spawn_blocking(move || {
        use std::os::unix::process::CommandExt;
        Command::new(env!("CARGO_BIN_EXE_vrrpd"))
            .args(["status", "--socket"])
            .arg(&path)
            .uid(65534)
            .gid(65534)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "stderr: {stderr}");
    assert!(stderr.contains("permission denied: uid 65534"), "{stderr}");
    assert!(out.stdout.is_empty(), "no status leaked");
    // Root still gets an answer.
    assert!(matches!(
        ask(&sock, Request::Status).await.unwrap(),
        Response::Status(_)
    ));
    let _ = std::fs::remove_dir_all(&dir);
}

// ---- HTTP /metrics --------------------------------------------------------

async fn http(addr: std::net::SocketAddr, raw: &'static str) -> String {
    tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(raw.as_bytes()).unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_serves_get_metrics_and_404_otherwise() {
    let dir = temp_dir("http");
    let sock = dir.join("vrrpd.sock");
    let server = ControlServer::bind(&sock).unwrap();
    let metrics = MetricsServer::bind("127.0.0.1:0".parse().unwrap(), server.sender()).unwrap();
    spawn_daemon(server, true, false);
    let addr = metrics.local_addr();

    let ok = http(addr, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").await;
    let (head, body) = ok.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(
        head.contains("Content-Type: text/plain; version=0.0.4"),
        "{head}"
    );
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(len, body.len());
    assert!(body.contains("# TYPE vrrpd_group_state gauge"));
    assert!(body.contains("vrrpd_group_state{group=\"public\",vrid=\"51\",state=\"fault\"} 1"));

    for raw in [
        "GET / HTTP/1.1\r\n\r\n",
        "GET /metricsx HTTP/1.1\r\n\r\n",
        "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
    ] {
        let r = http(addr, raw).await;
        assert!(r.starts_with("HTTP/1.1 404 "), "{raw:?} -> {r}");
    }
    let r = http(addr, "GET /metrics?x=1 HTTP/1.0\r\n\r\n").await;
    assert!(r.starts_with("HTTP/1.1 200 "), "{r}");

    // An oversized request head is refused, not buffered forever.
    let big: &'static str = Box::leak(
        format!("GET /metrics HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(20_000)).into_boxed_str(),
    );
    let r = http(addr, big).await;
    assert!(r.starts_with("HTTP/1.1 431 "), "{}", &r[..r.len().min(80)]);
    let _ = std::fs::remove_dir_all(&dir);
}

// ---- the CLI ---------------------------------------------------------------

fn vrrpd(args: &[&str], sock: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_vrrpd"))
        .args(args)
        .arg("--socket")
        .arg(sock)
        .output()
        .unwrap()
}

#[test]
fn status_without_a_daemon_exits_3_and_says_so() {
    let sock = temp_dir("nodaemon").join("vrrpd.sock");
    let out = vrrpd(&["status"], &sock);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains(&format!("vrrpd is not running (socket {}:", sock.display())),
        "{stderr}"
    );
    for cmd in [&["handover"][..], &["reload"][..]] {
        assert_eq!(vrrpd(cmd, &sock).status.code(), Some(3), "{cmd:?}");
    }
}

async fn run_cli(args: &'static [&'static str], sock: &Path) -> std::process::Output {
    let sock = sock.to_path_buf();
    tokio::task::spawn_blocking(move || vrrpd(args, &sock))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_status_handover_and_reload_against_a_daemon() {
    let dir = temp_dir("cli-ok");
    let sock = dir.join("vrrpd.sock");
    spawn_daemon(ControlServer::bind(&sock).unwrap(), false, true);

    let out = run_cli(&["status"], &sock).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let header = stdout.lines().nth(1).unwrap();
    let cols: Vec<&str> = header.split_whitespace().collect();
    assert_eq!(
        cols,
        [
            "GROUP", "VRID", "IFACE", "STATE", "PRIO", "MASTER", "SINCE", "VIPS"
        ]
    );
    let row = stdout.lines().nth(2).unwrap();
    for want in [
        "public",
        "51",
        "eth0",
        "MASTER",
        "150",
        "192.0.2.1",
        "2024-02-29T12:34:56Z",
        "192.0.2.100/24",
    ] {
        assert!(row.contains(want), "{want} in {row}");
    }

    let out = run_cli(&["status", "--json"], &sock).await;
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["groups"][0]["state"], "master");
    assert_eq!(v["router_id"], "lb1");

    let out = run_cli(&["handover", "public"], &sock).await;
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("public: moved"));
    let out = run_cli(&["handover", "public", "nope", "--timeout", "2s"], &sock).await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "a failed group fails the command"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("nope: NOT moved: no such group"));

    let out = run_cli(&["reload"], &sock).await;
    assert_eq!(out.status.code(), Some(2), "rejected config exits 2");
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown key `foo`"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_status_exits_1_when_a_group_is_in_fault_and_reload_ok_exits_0() {
    let dir = temp_dir("cli-fault");
    let sock = dir.join("vrrpd.sock");
    spawn_daemon(ControlServer::bind(&sock).unwrap(), true, false);
    let out = run_cli(&["status"], &sock).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("FAULT"));
    let out = run_cli(&["status", "--json"], &sock).await;
    assert_eq!(out.status.code(), Some(1));
    // Liveness (SPEC §3): the daemon answers, FAULT or not.
    let out = run_cli(&["status", "--alive"], &sock).await;
    assert_eq!(out.status.code(), Some(0));
    let out = run_cli(&["reload"], &sock).await;
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("ok"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn socket_path_comes_from_the_configs_vrrpd_toml() {
    let dir = temp_dir("cfgsock");
    std::fs::create_dir_all(&dir).unwrap();
    let sock = dir.join("custom.sock");
    std::fs::write(
        dir.join("vrrpd.toml"),
        format!("control_socket = \"{}\"\n", sock.display()),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_vrrpd"))
        .args(["status", "--config"])
        .arg(&dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr.contains(&sock.display().to_string()), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}
