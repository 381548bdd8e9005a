//! `vrrpd drain` marks (SPEC §4): the drained group names, kept in
//! `state_dir/drained` (one name a line) so a drain holds across restarts
//! and reloads until `vrrpd resume`. Written to a temporary file and renamed,
//! so a crash leaves the old or the new list, never half of one.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use tracing::warn;

/// A drain mark that holds in memory but was not persisted.
#[derive(Debug, thiserror::Error)]
#[error("drain mark not saved to {}: {source} (it holds until vrrpd restarts)", path.display())]
pub struct DrainMarkError {
    pub path: std::path::PathBuf,
    pub source: std::io::Error,
}

pub struct DrainMarks {
    path: PathBuf,
    names: BTreeSet<String>,
}

impl DrainMarks {
    /// Read `state_dir/drained`; a missing file is no drain.
    pub fn load(state_dir: &Path) -> DrainMarks {
        let path = state_dir.join("drained");
        let names = match std::fs::read_to_string(&path) {
            Ok(t) => t
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(String::from)
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeSet::new(),
            Err(e) => {
                warn!(path = %path.display(), "cannot read the drain marks: {e}; no group is drained");
                BTreeSet::new()
            }
        };
        DrainMarks { path, names }
    }

    pub fn contains(&self, group: &str) -> bool {
        self.names.contains(group)
    }

    /// Mark or unmark `group`, persisted at once. Err: the mark holds in
    /// memory but would not survive a restart.
    pub fn set(&mut self, group: &str, drained: bool) -> Result<(), DrainMarkError> {
        let changed = if drained {
            self.names.insert(group.to_string())
        } else {
            self.names.remove(group)
        };
        if !changed {
            return Ok(());
        }
        self.save().map_err(|source| DrainMarkError {
            path: self.path.clone(),
            source,
        })
    }

    fn save(&self) -> std::io::Result<()> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = self.path.with_extension("tmp");
        let mut text = String::new();
        for n in &self.names {
            text.push_str(n);
            text.push('\n');
        }
        std::fs::write(&tmp, text)?;
        std::fs::rename(&tmp, &self.path)
    }
}
