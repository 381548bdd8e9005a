//! Harness for tests that run real daemons in network namespaces (root only).
//! The lab itself lives in the `vrrpd` library so `vrrpd demo` uses the same
//! code.

pub use vrrpd::lab::*;
pub use vrrpd::require_netns;
