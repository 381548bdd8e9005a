//! `[[track_file]]` (keepalived `track_file`): the file holds an integer N;
//! the group's priority moves by N × weight (weight 0: FAULT while N != 0).
//! Changes are seen by inotify on the file's directory (so a file created,
//! replaced by rename, or deleted later is seen too), never by polling. A
//! missing or unreadable file is 0; text that is not an integer is 0 and
//! logged.

use std::path::{Path, PathBuf};

use futures::StreamExt;
use inotify::{Inotify, WatchMask};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{info, warn};

use super::TrackEvent;
use crate::config::TrackFile;

/// Start the watch. The first value is reported at once.
pub fn spawn(
    group: &str,
    cfg: &TrackFile,
    events: mpsc::UnboundedSender<TrackEvent>,
) -> JoinHandle<()> {
    tokio::spawn(run(group.to_string(), cfg.clone(), events))
}

/// The integer in `text`: its first word, else 0.
pub fn value_of(text: &str) -> Result<i64, String> {
    match text.split_whitespace().next() {
        None => Ok(0),
        Some(w) => w
            .parse::<i64>()
            .map_err(|_| format!("not an integer: {w:?}")),
    }
}

fn read_value(path: &Path) -> Result<i64, String> {
    match std::fs::read_to_string(path) {
        Ok(t) => value_of(&t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(e.to_string()),
    }
}

async fn run(group: String, cfg: TrackFile, events: mpsc::UnboundedSender<TrackEvent>) {
    let dir: PathBuf = cfg
        .path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("/"));
    let file_name = cfg.path.file_name().map(|n| n.to_os_string());
    let stream = Inotify::init().and_then(|ino| {
        ino.watches().add(
            &dir,
            WatchMask::CLOSE_WRITE
                | WatchMask::MOVED_TO
                | WatchMask::MOVED_FROM
                | WatchMask::CREATE
                | WatchMask::DELETE
                | WatchMask::MODIFY,
        )?;
        ino.into_event_stream([0u8; 4096])
    });
    let mut stream = match stream {
        Ok(s) => Some(s),
        Err(e) => {
            warn!(group = %group, tracker = %cfg.name, dir = %dir.display(), "track_file: cannot watch the directory: {e}; the value stays as first read");
            None
        }
    };
    let mut last: Option<i64> = None;
    loop {
        let v = match read_value(&cfg.path) {
            Ok(v) => v,
            Err(e) => {
                warn!(group = %group, tracker = %cfg.name, path = %cfg.path.display(), "track_file: {e}; counted as 0");
                0
            }
        };
        if last != Some(v) {
            info!(group = %group, tracker = %cfg.name, value = v, "track_file value");
            last = Some(v);
            let ev = TrackEvent::File {
                group: group.clone(),
                name: cfg.name.clone(),
                value: v,
            };
            if events.send(ev).is_err() {
                return;
            }
        }
        let Some(s) = stream.as_mut() else {
            // Nothing to wait for: park until the group stops.
            events.closed().await;
            return;
        };
        // Wait for an event naming our file (or an overflow: re-read).
        loop {
            match s.next().await {
                Some(Ok(ev)) => {
                    if ev.mask.contains(inotify::EventMask::Q_OVERFLOW)
                        || ev.name.as_deref() == file_name.as_deref()
                    {
                        break;
                    }
                }
                Some(Err(e)) => {
                    warn!(group = %group, tracker = %cfg.name, "track_file: inotify read failed: {e}");
                    events.closed().await;
                    return;
                }
                None => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::value_of;

    #[test]
    fn values() {
        assert_eq!(value_of(""), Ok(0));
        assert_eq!(value_of("  \n"), Ok(0));
        assert_eq!(value_of("5\n"), Ok(5));
        assert_eq!(value_of("-3 trailing"), Ok(-3));
        assert!(value_of("x").is_err());
    }
}
