//! Harness for tests that run real daemons in network namespaces (root only).
//! The lab itself is the `vrrpd-lab` crate, so `vrrpd demo` and the bench use
//! the same code.

pub use vrrpd_lab::require_netns;
pub use vrrpd_lab::*;
