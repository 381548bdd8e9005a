//! vrrpd: a VRRP (RFC 5798 / RFC 3768) failover daemon.
//!
//! `proto` is the pure protocol core (no clock, no sockets); everything else is
//! the I/O shell around it. See ARCHITECTURE.md in the project's shared docs.

/// The pure protocol core lives in its own crate (`proto/`), which has no I/O
/// dependency at all; re-exported so the shell reads `crate::proto::..`.
pub use vrrpd_proto as proto;

pub mod config;
pub mod control;
pub mod convert;
pub mod daemon;
pub mod demo;
pub mod group;
pub mod host;
pub mod net;
pub mod privileges;
pub mod systemd;
pub mod track;
