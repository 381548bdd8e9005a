//! The pure protocol core. Nothing in here reads a clock, touches a socket or
//! spawns a task: time arrives as an argument, packets and events as values,
//! and what must happen leaves as values.

pub mod announce;
pub mod auth;
pub mod bfd;
pub mod endpoint;
pub mod frames;
pub mod instance;
pub mod receive;
pub mod router;
pub mod routes;
pub mod sync_group;
pub mod timers;
pub mod transmit;
pub mod wire;

use serde::{Deserialize, Serialize};

/// Virtual time: elapsed time since an epoch the caller chooses (the shell
/// uses its start-up instant, tests use zero).
pub type Time = std::time::Duration;

/// VRRP protocol version on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Version {
    /// RFC 3768, IPv4 only, interval in whole seconds, 8 auth bytes.
    V2,
    /// RFC 5798 / RFC 9568, IPv4 and IPv6, interval in centiseconds.
    V3,
}

impl Version {
    pub fn number(self) -> u8 {
        match self {
            Version::V2 => 2,
            Version::V3 => 3,
        }
    }
}

/// Address family of a virtual router.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    pub fn of(addr: &std::net::IpAddr) -> Family {
        match addr {
            std::net::IpAddr::V4(_) => Family::V4,
            std::net::IpAddr::V6(_) => Family::V6,
        }
    }
}
