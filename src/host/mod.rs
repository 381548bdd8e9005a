//! What vrrpd does to the host on its groups' behalf, as the endpoint's
//! events ask: VIPs on and off ([`vips`]), virtual routes and rules
//! ([`routes`]), virtual MAC interfaces ([`vmac`]), and the sockets adverts
//! and announcements leave by ([`io`]). Each operation takes the group it
//! acts for; the daemon's loop decides when.

pub mod bfd;
pub mod drained;
pub mod io;
pub mod routes;
pub mod view;
pub mod vips;
pub mod vmac;

use std::collections::HashMap;

pub use io::Io;

/// The host as vrrpd touches it.
pub struct Host {
    pub io: Io,
    /// name -> (ifindex, up), from netlink.
    pub links: HashMap<String, (u32, bool)>,
    /// Base interface -> its ARP sysctls before virtual MAC mode changed them.
    vmac_saved: HashMap<String, Vec<(String, String)>>,
}

impl Host {
    pub fn new(nl: crate::net::Netlink) -> Host {
        Host {
            io: Io::new(nl),
            links: HashMap::new(),
            vmac_saved: HashMap::new(),
        }
    }

    pub fn ifindex_of(&self, name: &str) -> Option<u32> {
        self.links.get(name).map(|(i, _)| *i)
    }

    /// Re-read every interface (start-up, after a netlink overrun).
    pub async fn refresh_links(&mut self) {
        match self.io.nl.dump_links().await {
            Ok(links) => {
                self.links = links
                    .into_iter()
                    .map(|l| (l.name, (l.index, l.up)))
                    .collect();
            }
            Err(e) => tracing::warn!("cannot list interfaces: {e}"),
        }
    }
}
