//! The Prometheus `/metrics` endpoint on `metrics_listen` (SPEC §5): a minimal
//! HTTP/1.1 server that asks the daemon for its status through the control
//! queue and renders it with [`super::metrics::render`].

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tracing::{debug, warn};

use super::metrics::CONTENT_TYPE;
use super::server::RequestSender;

/// Largest HTTP request head read.
pub const MAX_HTTP_REQUEST: usize = 8 * 1024;
/// Time a scraper gets to send its request, and the daemon to answer.
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_HTTP_CONNECTIONS: usize = 16;

/// The `/metrics` endpoint. Dropping it stops the server.
pub struct MetricsServer {
    local_addr: SocketAddr,
    accept: JoinHandle<()>,
}

impl MetricsServer {
    /// Listen on `addr`; each scrape asks the daemon for `Request::Status`
    /// through `tx` (from [`super::ControlServer::sender`]) and renders it.
    /// Must be called inside a tokio runtime.
    pub fn bind(addr: SocketAddr, tx: RequestSender) -> io::Result<MetricsServer> {
        let std_listener = std::net::TcpListener::bind(addr)?;
        std_listener.set_nonblocking(true)?;
        let local_addr = std_listener.local_addr()?;
        let listener = TcpListener::from_std(std_listener)?;
        let accept = tokio::spawn(accept_loop(listener, tx));
        Ok(MetricsServer { local_addr, accept })
    }

    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

async fn accept_loop(listener: TcpListener, tx: RequestSender) {
    let slots = Arc::new(Semaphore::new(MAX_HTTP_CONNECTIONS));
    loop {
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return;
        };
        match listener.accept().await {
            Ok((stream, _)) => {
                let tx = tx.clone();
                tokio::spawn(async move {
                    if let Err(e) = serve(stream, tx).await {
                        debug!("metrics client: {e}");
                    }
                    drop(permit);
                });
            }
            Err(e) => {
                warn!("metrics accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Read the request head: up to the blank line, bounded in size.
async fn read_head(stream: &mut TcpStream) -> Result<Vec<u8>, u16> {
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 1024];
    loop {
        if buf.windows(4).any(|w| w == b"\r\n\r\n") || buf.windows(2).any(|w| w == b"\n\n") {
            return Ok(buf);
        }
        if buf.len() > MAX_HTTP_REQUEST {
            return Err(431);
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return Err(400),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

async fn serve(mut stream: TcpStream, tx: RequestSender) -> io::Result<()> {
    let (status, body) = match tokio::time::timeout(HTTP_TIMEOUT, read_head(&mut stream)).await {
        Err(_) => (408, "request timeout\n".to_string()),
        Ok(Err(code)) => (code, "bad request\n".to_string()),
        Ok(Ok(head)) => {
            let line = head.split(|b| *b == b'\n').next().unwrap_or_default();
            let line = String::from_utf8_lossy(line);
            let mut parts = line.split_whitespace();
            let method = parts.next().unwrap_or_default();
            let target = parts.next().unwrap_or_default();
            let path = target.split('?').next().unwrap_or_default();
            if method == "GET" && path == "/metrics" {
                match tokio::time::timeout(HTTP_TIMEOUT, tx.metrics()).await {
                    Ok(Ok(text)) => (200, text),
                    Ok(Err(e)) => (503, format!("{e}\n")),
                    Err(_) => (503, "the daemon did not answer in time\n".to_string()),
                }
            } else {
                (404, "not found; try GET /metrics\n".to_string())
            }
        }
    };
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        408 => "Request Timeout",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        _ => "Bad Request",
    };
    let content_type = if status == 200 {
        CONTENT_TYPE
    } else {
        "text/plain; charset=utf-8"
    };
    let resp = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let write = async {
        stream.write_all(resp.as_bytes()).await?;
        stream.shutdown().await
    };
    tokio::time::timeout(HTTP_TIMEOUT, write)
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "write timeout"))?
}
