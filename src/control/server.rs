//! The control socket: accepts connections off the daemon's loop, checks the
//! peer's uid, reads one request line and hands it to the daemon with a
//! one-shot reply channel. A slow or dead client only ever holds its own
//! connection task.

use std::io;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::task::JoinHandle;
use tracing::{debug, warn};

use super::metrics;
use super::protocol::{MAX_REQUEST_LEN, Request, Response};

/// A request and where its answer goes.
pub type Incoming = (Request, oneshot::Sender<Response>);

/// How long a client may take to send its request line, and to take the
/// answer.
pub const CLIENT_IO_TIMEOUT: Duration = Duration::from_secs(5);

/// Connections served at once; further ones wait in the kernel's backlog.
pub const MAX_CONNECTIONS: usize = 32;

/// Requests queued for the daemon.
const QUEUE_LEN: usize = 64;

/// A handle that submits requests to the daemon: the control socket's
/// connections and the metrics server share it.
#[derive(Clone, Debug)]
pub struct RequestSender {
    tx: mpsc::Sender<Incoming>,
}

impl RequestSender {
    /// Ask the daemon and wait for its answer. `None` when the daemon has
    /// stopped listening or dropped the reply.
    pub async fn ask(&self, req: Request) -> Option<Response> {
        let (reply_tx, reply_rx) = oneshot::channel();
        self.tx.send((req, reply_tx)).await.ok()?;
        reply_rx.await.ok()
    }

    /// A status report rendered as Prometheus text, or why not.
    pub async fn metrics(&self) -> Result<String, String> {
        match self.ask(Request::Status).await {
            Some(Response::Status(report)) => Ok(metrics::render(&report)),
            Some(Response::Error(e)) => Err(e),
            Some(other) => Err(format!("unexpected answer to status: {other:?}")),
            None => Err("the daemon did not answer".into()),
        }
    }
}

/// Whether a peer with this uid may use the control socket: root, or the
/// user the daemon runs as.
pub fn peer_allowed(peer_uid: u32, own_uid: u32) -> bool {
    peer_uid == 0 || peer_uid == own_uid
}

fn own_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// The listening control socket. Dropping it stops accepting and removes the
/// socket file.
pub struct ControlServer {
    path: PathBuf,
    rx: mpsc::Receiver<Incoming>,
    sender: RequestSender,
    accept: JoinHandle<()>,
}

impl ControlServer {
    /// Create the parent directory (0755) and the socket (0600) at `path`.
    /// A stale socket file is replaced; one a live daemon answers on is not
    /// (`AddrInUse`). Must be called inside a tokio runtime.
    pub fn bind(path: &Path) -> io::Result<ControlServer> {
        if let Some(parent) = path.parent()
            && !parent.as_os_str().is_empty()
            && !parent.exists()
        {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o755)
                .create(parent)?;
        }
        match std::fs::symlink_metadata(path) {
            Ok(meta) if meta.file_type().is_socket() => {
                if std::os::unix::net::UnixStream::connect(path).is_ok() {
                    return Err(io::Error::new(
                        io::ErrorKind::AddrInUse,
                        format!(
                            "{}: another vrrpd answers on this control socket",
                            path.display()
                        ),
                    ));
                }
                std::fs::remove_file(path)?;
                debug!(socket = %path.display(), "removed stale control socket");
            }
            Ok(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!("{}: exists and is not a socket", path.display()),
                ));
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let listener = UnixListener::bind(path)?;
        // The uid check below guards the short window before the chmod.
        if let Err(e) = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)) {
            let _ = std::fs::remove_file(path);
            return Err(e);
        }
        let (tx, rx) = mpsc::channel(QUEUE_LEN);
        let sender = RequestSender { tx };
        let accept = tokio::spawn(accept_loop(listener, sender.clone(), own_uid()));
        Ok(ControlServer {
            path: path.to_path_buf(),
            rx,
            sender,
            accept,
        })
    }

    /// The next request for the daemon. Answer it by sending on the
    /// one-shot (dropping the sender answers with an error). Cancel-safe:
    /// use it as a `select!` branch.
    pub async fn next(&mut self) -> Option<Incoming> {
        self.rx.recv().await
    }

    /// A handle for other front ends (the metrics server) that submits
    /// requests into the same queue.
    pub fn sender(&self) -> RequestSender {
        self.sender.clone()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ControlServer {
    fn drop(&mut self) {
        self.accept.abort();
        let _ = std::fs::remove_file(&self.path);
    }
}

async fn accept_loop(listener: UnixListener, sender: RequestSender, own_uid: u32) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return;
        };
        match listener.accept().await {
            Ok((stream, _)) => {
                let sender = sender.clone();
                tokio::spawn(async move {
                    serve_connection(stream, sender, own_uid).await;
                    drop(permit);
                });
            }
            Err(e) => {
                warn!("control socket accept failed: {e}");
                // EMFILE and friends: do not spin.
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

async fn serve_connection(stream: UnixStream, sender: RequestSender, own_uid: u32) {
    let (rd, mut wr) = stream.into_split();
    let peer = wr.as_ref().peer_cred();
    let response = match peer {
        Ok(cred) if peer_allowed(cred.uid(), own_uid) => match read_request(rd).await {
            Ok(Request::Metrics) => match sender.metrics().await {
                Ok(text) => Response::Metrics(text),
                Err(e) => Response::Error(e),
            },
            Ok(req) => sender
                .ask(req)
                .await
                .unwrap_or_else(|| Response::Error("the daemon did not answer".into())),
            Err(e) => {
                debug!("bad control request: {e}");
                Response::Error(e)
            }
        },
        Ok(cred) => {
            warn!(
                uid = cred.uid(),
                pid = cred.pid(),
                "control socket: refused a client that is neither root nor the daemon's user"
            );
            Response::Error(format!(
                "permission denied: uid {} may not use the control socket",
                cred.uid()
            ))
        }
        Err(e) => {
            warn!("control socket: cannot read peer credentials: {e}");
            Response::Error("permission denied: unknown peer".into())
        }
    };
    let mut line = match serde_json::to_vec(&response) {
        Ok(l) => l,
        Err(e) => {
            warn!("cannot encode control response: {e}");
            return;
        }
    };
    line.push(b'\n');
    let write = async {
        wr.write_all(&line).await?;
        wr.shutdown().await
    };
    match tokio::time::timeout(CLIENT_IO_TIMEOUT, write).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => debug!("control client went away: {e}"),
        Err(_) => debug!("control client too slow to take its answer"),
    }
}

async fn read_request(rd: tokio::net::unix::OwnedReadHalf) -> Result<Request, String> {
    let mut reader = BufReader::new(rd.take(MAX_REQUEST_LEN as u64 + 1));
    let mut buf = Vec::new();
    match tokio::time::timeout(CLIENT_IO_TIMEOUT, reader.read_until(b'\n', &mut buf)).await {
        Err(_) => return Err("timed out waiting for the request".into()),
        Ok(Err(e)) => return Err(format!("reading the request: {e}")),
        Ok(Ok(_)) => {}
    }
    if buf.len() > MAX_REQUEST_LEN {
        return Err(format!(
            "request too large (more than {MAX_REQUEST_LEN} bytes)"
        ));
    }
    if buf.last() != Some(&b'\n') {
        return Err("incomplete request: no newline".into());
    }
    serde_json::from_slice(&buf).map_err(|e| format!("bad request: {e}"))
}
