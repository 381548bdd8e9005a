//! vrrpd: a VRRP (RFC 5798 / RFC 3768) failover daemon.
//!
//! `proto` is the pure protocol core (no clock, no sockets); everything else is
//! the I/O shell around it. See ARCHITECTURE.md in the project's shared docs.

pub mod config;
pub mod control;
pub mod convert;
pub mod daemon;
pub mod demo;
pub mod lab;
pub mod net;
pub mod privileges;
pub mod proto;
pub mod track;
