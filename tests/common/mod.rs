//! Helpers shared by the integration tests that need files on disk.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A fresh directory under the system temp dir, unique per test process
/// and call, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// An empty directory named after `tag`.
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let d = std::env::temp_dir().join(format!(
            "vrrpd-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        TempDir(d)
    }

    /// A config directory with an empty `groups.d/`.
    pub fn config(tag: &str) -> TempDir {
        let t = TempDir::new(tag);
        std::fs::create_dir_all(t.0.join("groups.d")).unwrap();
        t
    }

    /// A config directory holding one group, `groups.d/web.toml`.
    pub fn with_group(tag: &str, text: &str) -> TempDir {
        let t = TempDir::config(tag);
        t.group("web", text);
        t
    }

    /// Write `groups.d/NAME.toml`.
    pub fn group(&self, name: &str, text: &str) -> &Self {
        std::fs::write(self.0.join("groups.d").join(format!("{name}.toml")), text).unwrap();
        self
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
