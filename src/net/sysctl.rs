//! Per-interface sysctls under `/proc/sys/net/` of the daemon's network
//! namespace (writing needs `CAP_NET_ADMIN` there). Plain file I/O: there is
//! no netlink request for these.

use std::io;

fn path(family: &str, ifname: &str, key: &str) -> io::Result<String> {
    // An interface name never holds '/', and "." / ".." are not names;
    // refuse anything that could leave the interface's directory.
    if ifname.is_empty() || ifname.contains('/') || ifname == "." || ifname == ".." {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("bad interface name {ifname:?}"),
        ));
    }
    Ok(format!("/proc/sys/net/{family}/conf/{ifname}/{key}"))
}

/// Read `net.<family>.conf.<ifname>.<key>` (trimmed).
pub fn read_if(family: &str, ifname: &str, key: &str) -> io::Result<String> {
    Ok(std::fs::read_to_string(path(family, ifname, key)?)?
        .trim()
        .to_string())
}

/// Write `net.<family>.conf.<ifname>.<key>`.
pub fn write_if(family: &str, ifname: &str, key: &str, value: &str) -> io::Result<()> {
    std::fs::write(path(family, ifname, key)?, value)
}

/// Does `ifname` forward IPv6 (`net.ipv6.conf.<if>.forwarding`)? What
/// keepalived looks at to set the NA Router flag (RFC 4861 §4.4).
pub fn ipv6_forwarding(ifname: &str) -> bool {
    read_if("ipv6", ifname, "forwarding").is_ok_and(|v| v != "0")
}

/// `net.ipv4.ip_nonlocal_bind` / `net.ipv6.ip_nonlocal_bind` of the network
/// namespace this process runs in (`/proc/sys/net` is per namespace);
/// `None` when unreadable.
pub fn nonlocal_bind(family: crate::proto::Family) -> Option<bool> {
    let dir = match family {
        crate::proto::Family::V4 => "ipv4",
        crate::proto::Family::V6 => "ipv6",
    };
    let v = std::fs::read_to_string(format!("/proc/sys/net/{dir}/ip_nonlocal_bind")).ok()?;
    Some(v.trim() != "0")
}
