//! vrrpd.toml: daemon-wide settings and sync groups (SPEC §2.1).

use super::*;

pub(super) struct SyncDraft {
    pub(super) name: String,
    pub(super) name_pos: Pos,
    pub(super) members: Vec<(String, Pos)>,
}

pub(super) fn default_router_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "vrrpd".to_string())
}

pub(super) fn daemon_defaults(environment_init: Option<PathBuf>) -> DaemonConfig {
    DaemonConfig {
        router_id: default_router_id(),
        control_socket: PathBuf::from(DEFAULT_CONTROL_SOCKET),
        metrics_listen: None,
        log_format: LogFormat::Text,
        log_level: "info".to_string(),
        environment_init,
        sync_groups: Vec::new(),
        state_dir: PathBuf::from(DEFAULT_STATE_DIR),
    }
}

pub(super) fn parse_daemon(
    ctx: &mut FileCtx<'_>,
    root: &DeTable<'_>,
    span: Range<usize>,
    environment_init: Option<PathBuf>,
) -> (DaemonConfig, Vec<SyncDraft>) {
    let mut d = daemon_defaults(environment_init);
    let mut syncs = Vec::new();
    let t = ctx.table_of(root, span, "vrrpd.toml", DAEMON_KEYS);
    if let Some(v) = t.get("router_id")
        && let Some(s) = ctx.nonempty_string("router_id", v)
    {
        d.router_id = s;
    }
    if let Some(v) = t.get("control_socket")
        && let Some(s) = ctx.nonempty_string("control_socket", v)
    {
        d.control_socket = PathBuf::from(s);
    }
    if let Some(v) = t.get("metrics_listen")
        && let Some(s) = ctx.string("metrics_listen", v)
        && !s.trim().is_empty()
    {
        match s.trim().parse::<SocketAddr>() {
            Ok(a) => d.metrics_listen = Some(a),
            Err(_) => ctx.err(
                &v.span(),
                format!(
                    "`metrics_listen`: expected ADDRESS:PORT like \"127.0.0.1:9650\", got {s:?}"
                ),
            ),
        }
    }
    if let Some(v) = t.get("log_format")
        && let Some(i) = ctx.choice("log_format", v, &["text", "json"])
    {
        d.log_format = [LogFormat::Text, LogFormat::Json][i];
    }
    if let Some(v) = t.get("log_level")
        && let Some(s) = ctx.nonempty_string("log_level", v)
    {
        match tracing_subscriber::EnvFilter::builder().parse(&s) {
            Ok(_) => d.log_level = s,
            Err(e) => ctx.err(&v.span(), format!("`log_level` = {s:?}: {e}")),
        }
    }
    if let Some(v) = t.get("state_dir")
        && let Some(s) = ctx.nonempty_string("state_dir", v)
    {
        d.state_dir = PathBuf::from(s);
    }
    // environment_init was read (and run) before; only its type is checked here.
    if let Some(v) = t.get("environment_init") {
        ctx.string("environment_init", v);
    }
    if let Some(v) = t.get("sync_group")
        && let Some(items) = ctx.array("sync_group", v)
    {
        for item in items {
            let Some(st) = ctx.table(item, "[[sync_group]]", SYNC_KEYS) else {
                continue;
            };
            let name = st.required(ctx, "name", "[[sync_group]]").and_then(|nv| {
                ctx.nonempty_string("name", nv)
                    .map(|n| (n, ctx.pos(nv.span().start)))
            });
            let mut members = Vec::new();
            if let Some(mv) = st.required(ctx, "members", "[[sync_group]]")
                && let Some(ms) = ctx.array("members", mv)
            {
                if ms.is_empty() {
                    ctx.err(&mv.span(), "`members` must name at least one group");
                }
                for m in ms {
                    if let Some(s) = ctx.nonempty_string("members", m) {
                        members.push((s, ctx.pos(m.span().start)));
                    }
                }
            }
            if let Some((name, name_pos)) = name {
                syncs.push(SyncDraft {
                    name,
                    name_pos,
                    members,
                });
            }
        }
    }
    (d, syncs)
}
