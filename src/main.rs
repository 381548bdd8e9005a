//! The `vrrpd` command line (SPEC §3).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use vrrpd::config::{self, LogFormat, ProcessEnv, UnknownHost};
use vrrpd::control::{Request, cli};
use vrrpd::daemon::{self, RunOptions};

#[derive(Parser)]
#[command(
    name = "vrrpd",
    version,
    about = "VRRP failover daemon (keepalived-compatible)"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the daemon in the foreground (logs to stderr).
    Run {
        /// Config directory (vrrpd.toml + groups.d/*.toml) or one group file.
        #[arg(long, default_value = "/etc/vrrpd")]
        config: PathBuf,
    },
    /// Validate the configuration; exit 0 when good, 2 when not.
    Check {
        #[arg(long, default_value = "/etc/vrrpd")]
        config: PathBuf,
        /// Print the configuration after seeding, secrets masked.
        #[arg(long)]
        print: bool,
    },
    /// Show the state of every group from the running daemon. Exit 0 when
    /// it answers and no group is in fault, 1 when some group is in fault,
    /// 3 when the daemon is not running or not answering, 4 when it refuses.
    Status {
        /// Print the status report as JSON.
        #[arg(long)]
        json: bool,
        /// Liveness: exit 0 whenever the daemon answers, even with a group
        /// in fault.
        #[arg(long)]
        alive: bool,
        #[command(flatten)]
        socket: SocketArgs,
    },
    /// Planned, lossless move of mastership to the peer (rolling upgrades).
    /// Without GROUP: every group that is master.
    Handover {
        #[arg(value_name = "GROUP")]
        groups: Vec<String>,
        /// How long to wait for the peer to take over ("10s", "500ms", ...).
        #[arg(long, default_value = "10s", value_parser = parse_cli_duration)]
        timeout: Duration,
        #[command(flatten)]
        socket: SocketArgs,
    },
    /// Maintenance: move GROUPs (default: all) to the peer like a handover
    /// and hold them backup, across restarts and reloads, until `resume`.
    Drain {
        #[arg(value_name = "GROUP")]
        groups: Vec<String>,
        /// How long to wait for the peer to take over.
        #[arg(long, default_value = "10s", value_parser = parse_cli_duration)]
        timeout: Duration,
        #[command(flatten)]
        socket: SocketArgs,
    },
    /// End a drain of GROUPs (default: all): elect normally again.
    Resume {
        #[arg(value_name = "GROUP")]
        groups: Vec<String>,
        #[command(flatten)]
        socket: SocketArgs,
    },
    /// Re-read the configuration (same as SIGHUP). Exit 2 when the daemon
    /// rejects the new configuration (it keeps the old one).
    Reload {
        #[command(flatten)]
        socket: SocketArgs,
    },
    /// Convert a keepalived.conf (VRRP part) into DIR/vrrpd.toml and
    /// DIR/groups.d/*.toml; lists on stderr what it could not map.
    Convert {
        /// The keepalived config file (includes are followed).
        keepalived_conf: PathBuf,
        /// Output directory (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// keepalived's config id: selects the `@ID` conditional lines
        /// (default: this host's name up to the first `.`, as keepalived).
        #[arg(long, value_name = "ID")]
        config_id: Option<String>,
    },
    /// Run a self-contained pair in network namespaces: election, failover,
    /// lossless release (root).
    Demo,
}

/// Where the daemon's control socket is.
#[derive(clap::Args)]
struct SocketArgs {
    /// Control socket [default: control_socket from the config's vrrpd.toml,
    /// else /run/vrrpd/vrrpd.sock].
    #[arg(long)]
    socket: Option<PathBuf>,
    /// Config directory whose vrrpd.toml names the control socket.
    #[arg(long, default_value = "/etc/vrrpd")]
    config: PathBuf,
}

impl SocketArgs {
    fn path(&self) -> PathBuf {
        self.socket
            .clone()
            .unwrap_or_else(|| cli::socket_from_config(&self.config))
    }
}

fn parse_cli_duration(s: &str) -> Result<Duration, String> {
    config::parse_duration(s)
}

fn init_logging(format: LogFormat, level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("VRRPD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // On a write error (a full disk under the log file) tracing-subscriber
        // would report it with eprintln!, which panics when stderr itself is
        // what fails: the daemon must keep running without its log.
        .log_internal_errors(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    match format {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        LogFormat::Text => builder.init(),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Check { config, print } => check(&config, print),
        Cmd::Run { config } => {
            // As a container's PID 1: fork a minimal init that reaps orphans
            // and forwards signals; must happen while single-threaded.
            vrrpd::privileges::init_if_pid1();
            // This load sets up logging; the daemon reuses it and checks it
            // once more with the kernel's interfaces in view.
            let preloaded = match config::load(&config, &ProcessEnv, &UnknownHost) {
                Ok(l) => {
                    init_logging(l.config.daemon.log_format, &l.config.daemon.log_level);
                    l
                }
                Err(e) => {
                    eprintln!("{e}");
                    return ExitCode::from(e.exit_code() as u8);
                }
            };
            match daemon::run(RunOptions {
                config,
                preloaded: Some(preloaded),
            }) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("vrrpd: {e}");
                    ExitCode::from(e.exit_code() as u8)
                }
            }
        }
        Cmd::Status {
            json,
            alive,
            socket,
        } => cli::status(&socket.path(), json, alive),
        Cmd::Handover {
            groups,
            timeout,
            socket,
        } => cli::handover(&socket.path(), groups, timeout),
        Cmd::Drain {
            groups,
            timeout,
            socket,
        } => cli::drain(&socket.path(), Request::Drain { groups, timeout }, timeout),
        Cmd::Resume { groups, socket } => {
            cli::drain(&socket.path(), Request::Resume { groups }, Duration::ZERO)
        }
        Cmd::Reload { socket } => cli::reload(&socket.path()),
        Cmd::Convert {
            keepalived_conf,
            out,
            config_id,
        } => convert(&keepalived_conf, &out, config_id),
        Cmd::Demo => {
            init_logging(LogFormat::Text, "warn");
            match vrrpd::demo::run() {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("vrrpd demo: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

fn check(path: &std::path::Path, print: bool) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("vrrpd: tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    // With netlink at hand the owner-address rule is checked against the
    // real interfaces; without it (no privileges) it is skipped.
    let result = rt.block_on(async {
        let nl = vrrpd::net::Netlink::new().ok();
        daemon::load_config(path, nl.as_ref()).await
    });
    match result {
        Ok(loaded) => {
            for w in &loaded.warnings {
                eprintln!("warning: {w}");
            }
            warn_nonlocal_bind(&loaded.config);
            if print {
                print!("{}", config::render_seeded(&loaded.config));
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}

/// SPEC §6: a proxy that binds the VIP on the backup (before vrrpd adds
/// it there) needs `ip_nonlocal_bind = 1`; read in this network namespace.
fn warn_nonlocal_bind(cfg: &config::Config) {
    use vrrpd::proto::Family;
    for (family, key) in [
        (Family::V4, "net.ipv4.ip_nonlocal_bind"),
        (Family::V6, "net.ipv6.ip_nonlocal_bind"),
    ] {
        let used = cfg.groups.iter().any(|g| {
            g.virtual_ips
                .iter()
                .chain(&g.excluded_ips)
                .any(|v| Family::of(&v.address) == family)
        });
        if used && vrrpd::net::sysctl::nonlocal_bind(family) == Some(false) {
            eprintln!(
                "warning: {key} = 0: a proxy on the backup cannot bind a VIP before vrrpd adds it; set {key} = 1 if it binds VIPs (README: host prerequisites)"
            );
        }
    }
}

fn convert(input: &std::path::Path, out: &std::path::Path, config_id: Option<String>) -> ExitCode {
    let opts = vrrpd::convert::syntax::ReadOptions { config_id };
    let conv = match vrrpd::convert::convert_file_with(input, &opts) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            eprintln!("vrrpd convert: nothing written");
            return ExitCode::from(vrrpd::convert::EXIT_PARSE_ERROR as u8);
        }
    };
    for r in &conv.reports {
        eprintln!("{r}");
    }
    let (written, stray) = match vrrpd::convert::write(&conv, out) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("vrrpd convert: {}: {e}", out.display());
            return ExitCode::FAILURE;
        }
    };
    for p in &written {
        eprintln!("wrote {}", p.display());
    }
    for p in &stray {
        eprintln!(
            "warning: {} was not written by this conversion but vrrpd will load it",
            p.display()
        );
    }
    let unmapped = conv.not_mapped().count();
    eprintln!(
        "vrrpd convert: {} group(s) written, {unmapped} item(s) not mapped",
        conv.groups.len()
    );
    // The output must pass the loader; variables and key files may only
    // exist on the target host, so a failure here is a warning.
    if let Err(e) = config::load(out, &ProcessEnv, &UnknownHost) {
        eprintln!("warning: the converted config does not pass `vrrpd check` here:");
        eprintln!("{e}");
    }
    ExitCode::SUCCESS
}
