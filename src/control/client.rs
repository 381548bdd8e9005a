//! The CLI side of the control socket: blocking, one request per connection.

use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::protocol::{Request, Response};

/// Largest answer the client accepts (a status of many groups is a few KiB
/// per group).
pub const MAX_RESPONSE_LEN: u64 = 16 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Nothing listens on the socket (absent, refused, not permitted).
    #[error("vrrpd is not running (socket {}: {source})", path.display())]
    NotRunning { path: PathBuf, source: io::Error },
    /// Connected, but no answer came in time.
    #[error("vrrpd did not answer within {timeout:?} (socket {})", path.display())]
    Timeout { path: PathBuf, timeout: Duration },
    #[error("control socket {}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    /// The answer was not a valid response.
    #[error("bad answer from vrrpd: {0}")]
    Protocol(String),
}

/// Send one request and wait up to `timeout` for the answer.
pub fn request(path: &Path, req: &Request, timeout: Duration) -> Result<Response, ClientError> {
    let mut stream = UnixStream::connect(path).map_err(|source| ClientError::NotRunning {
        path: path.to_path_buf(),
        source,
    })?;
    let io_err = |source: io::Error| {
        if matches!(
            source.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        ) {
            ClientError::Timeout {
                path: path.to_path_buf(),
                timeout,
            }
        } else {
            ClientError::Io {
                path: path.to_path_buf(),
                source,
            }
        }
    };
    let timeout = timeout.max(Duration::from_millis(1));
    stream.set_read_timeout(Some(timeout)).map_err(io_err)?;
    stream.set_write_timeout(Some(timeout)).map_err(io_err)?;
    let mut line = serde_json::to_vec(req).map_err(|e| ClientError::Protocol(e.to_string()))?;
    line.push(b'\n');
    // The server may answer (and close) before reading everything, e.g. to
    // refuse a request: a failed write still leaves its answer to read.
    let write_result = stream.write_all(&line).and_then(|()| stream.flush());
    let mut reader = BufReader::new(io::Read::take(&stream, MAX_RESPONSE_LEN));
    let mut buf = Vec::new();
    let read_result = reader.read_until(b'\n', &mut buf);
    if buf.is_empty() {
        if let Err(e) = write_result {
            return Err(io_err(e));
        }
        read_result.map_err(io_err)?;
        return Err(ClientError::Protocol(
            "connection closed without an answer".into(),
        ));
    }
    read_result.map_err(io_err)?;
    serde_json::from_slice(&buf).map_err(|e| ClientError::Protocol(e.to_string()))
}
