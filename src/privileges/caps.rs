//! Capability checks and dropping (capget/capset, the bounding set), by hand
//! over libc. The `caps` crate could replace this; it stays because it is
//! small, tested for real in netns-tests/tests/privileges_caps.rs, and the
//! PID-1 init shares its raw capset.

use std::fmt;
use std::io;

/// A Linux capability this daemon cares about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cap {
    /// Addresses (the VIPs), link state, netlink route socket writes.
    NetAdmin,
    /// Raw IP sockets for protocol 112 / 51 and packet sockets for GARP/NA.
    NetRaw,
    /// Kept only when a script or hook runs as another user (`user`).
    SetUid,
    /// Kept only when a script or hook runs as another group (`group`).
    SetGid,
}

impl Cap {
    /// The kernel's capability number (linux/capability.h).
    pub fn number(self) -> u32 {
        match self {
            Cap::NetAdmin => 12,
            Cap::NetRaw => 13,
            Cap::SetUid => 7,
            Cap::SetGid => 6,
        }
    }

    /// `CAP_NET_ADMIN`, `CAP_NET_RAW`.
    pub fn name(self) -> &'static str {
        match self {
            Cap::NetAdmin => "CAP_NET_ADMIN",
            Cap::NetRaw => "CAP_NET_RAW",
            Cap::SetUid => "CAP_SETUID",
            Cap::SetGid => "CAP_SETGID",
        }
    }

    /// The name docker/compose/k8s use (`NET_ADMIN`).
    pub fn short_name(self) -> &'static str {
        &self.name()[4..]
    }

    fn bit(self) -> u64 {
        1u64 << self.number()
    }
}

/// The capabilities `vrrpd run` keeps after start-up.
pub const DAEMON_CAPS: &[Cap] = &[Cap::NetAdmin, Cap::NetRaw];

/// [`DAEMON_CAPS`], plus CAP_SETUID / CAP_SETGID when a track_script or
/// `[notify]` runs as another user or group (SPEC §6: only what the
/// configured programs need).
pub fn daemon_caps(config: &crate::config::Config) -> Vec<Cap> {
    let mut keep = DAEMON_CAPS.to_vec();
    let run_as = config.groups.iter().flat_map(|g| {
        g.track_scripts
            .iter()
            .filter_map(|s| s.run_as.as_ref())
            .chain(g.notify.run_as.as_ref())
    });
    let (mut uid, mut gid) = (false, false);
    for r in run_as {
        uid |= r.uid.is_some();
        gid |= r.gid.is_some();
    }
    if uid {
        keep.push(Cap::SetUid);
    }
    if gid || uid {
        // Dropping to a uid also sets the groups (setgroups needs SETGID).
        keep.push(Cap::SetGid);
    }
    keep
}

/// A capability the process needs but does not have in its effective set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MissingCapability(pub Cap);

impl fmt::Display for MissingCapability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = self.0;
        write!(
            f,
            "missing capability {}: run as root or grant it (docker/compose: cap_add {}; \
             systemd: AmbientCapabilities={}; kubernetes: securityContext.capabilities.add {})",
            c.name(),
            c.short_name(),
            c.name(),
            c.short_name()
        )
    }
}

impl std::error::Error for MissingCapability {}

// ---- capget / capset ------------------------------------------------------

const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// The calling thread's capability sets: (effective, permitted, inheritable).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CapSets {
    pub effective: u64,
    pub permitted: u64,
    pub inheritable: u64,
}

fn join(d: &[CapData; 2], f: impl Fn(&CapData) -> u32) -> u64 {
    u64::from(f(&d[0])) | (u64::from(f(&d[1])) << 32)
}

/// The calling thread's capability sets (capget(2)).
pub fn current_caps() -> io::Result<CapSets> {
    let mut hdr = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: header and a two-element data array as capget(2) v3 expects.
    let rc = unsafe { libc::syscall(libc::SYS_capget, &mut hdr, data.as_mut_ptr()) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(CapSets {
        effective: join(&data, |d| d.effective),
        permitted: join(&data, |d| d.permitted),
        inheritable: join(&data, |d| d.inheritable),
    })
}

pub(super) fn set_caps(sets: CapSets) -> io::Result<()> {
    let mut hdr = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let split = |v: u64| (v as u32, (v >> 32) as u32);
    let (e0, e1) = split(sets.effective);
    let (p0, p1) = split(sets.permitted);
    let (i0, i1) = split(sets.inheritable);
    let data = [
        CapData {
            effective: e0,
            permitted: p0,
            inheritable: i0,
        },
        CapData {
            effective: e1,
            permitted: p1,
            inheritable: i1,
        },
    ];
    // SAFETY: as for capget; the kernel only reads `data`.
    let rc = unsafe { libc::syscall(libc::SYS_capset, &mut hdr, data.as_ptr()) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The highest capability number this kernel knows.
pub(super) fn last_cap() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(40)
        .min(63)
}

/// Refuse to start without the capabilities the daemon needs, naming the
/// first one missing from the effective set.
///
/// Call site: `daemon::run_async`, first statement (replaces the
/// `/proc`-reading `require_capabilities` there), before netlink or any socket
/// is opened and before the config is loaded: a missing capability is reported
/// before anything is touched. Map the error to
/// `DaemonError::MissingCapability`; `main`
/// prints `vrrpd: missing capability CAP_NET_RAW: ...` and exits 1.
pub fn require_capabilities(needed: &[Cap]) -> Result<(), MissingCapability> {
    let Ok(sets) = current_caps() else {
        // capget cannot fail on Linux with a valid header; if it does, let
        // the socket calls report the real error.
        return Ok(());
    };
    for &c in needed {
        if sets.effective & c.bit() == 0 {
            return Err(MissingCapability(c));
        }
    }
    Ok(())
}

/// Reduce this process to the capabilities in `keep`: effective = permitted =
/// `keep`, inheritable and ambient empty, and every other capability dropped
/// from the bounding set when the process may (it needs CAP_SETPCAP for
/// that: true as root or under systemd; in a container started with
/// `--cap-drop ALL --cap-add NET_ADMIN --cap-add NET_RAW` the bounding set is
/// already just those two).
///
/// Children (notify and track programs): the ambient set is left empty, so a
/// program run by a non-root daemon (systemd `User=` with
/// `AmbientCapabilities=`) gets no capabilities. A daemon running as uid 0
/// gives its root children the bounding set on execve, i.e. at most
/// CAP_NET_ADMIN + CAP_NET_RAW once this has run (standard root semantics;
/// nothing more, never CAP_SYS_ADMIN etc.). Hooks that need more must be
/// given it by their own means (sudo rules, a setcap'd helper) — not by the
/// daemon.
///
/// Capabilities are per thread: this changes the calling thread only, so it
/// must run while that is the only thread (checked: an error names any other
/// thread still holding more). Call site: `daemon::run_async`, after every
/// group is brought up (netlink connections, the raw IPv4/AH/IPv6 sockets and
/// the packet socket for GARP/NA are open; later re-opens — a late
/// interface, a reload — still work because the two capabilities are kept),
/// right before `sd_notify_ready()` and the event loop:
/// `privileges::drop_capabilities(privileges::DAEMON_CAPS)?` (a [`CapError`])
/// (or log a warning and continue, if an operator on an odd kernel should
/// not be locked out).
/// Why the capabilities could not be dropped (the daemon does not start).
#[derive(Debug, thiserror::Error)]
pub enum CapError {
    #[error("{0}")]
    Missing(#[from] MissingCapability),
    #[error("{call}: {source}")]
    Syscall { call: String, source: io::Error },
    #[error("capset left effective {effective:#x} permitted {permitted:#x}, wanted {wanted:#x}")]
    NotApplied {
        effective: u64,
        permitted: u64,
        wanted: u64,
    },
    #[error(
        "thread {tid} still has {key} {value:#x}: drop_capabilities must run before any other thread is started"
    )]
    OtherThread {
        tid: String,
        key: String,
        value: u64,
    },
}

fn syscall(call: impl Into<String>) -> impl FnOnce(io::Error) -> CapError {
    let call = call.into();
    move |source| CapError::Syscall { call, source }
}

pub fn drop_capabilities(keep: &[Cap]) -> Result<(), CapError> {
    let keep_mask = keep.iter().fold(0u64, |m, c| m | c.bit());
    let before = current_caps().map_err(syscall("capget"))?;
    if let Some(c) = keep.iter().find(|c| before.permitted & c.bit() == 0) {
        return Err(MissingCapability(*c).into());
    }
    // 1. The bounding set, while CAP_SETPCAP may still be effective.
    for cap in 0..=last_cap() {
        if keep_mask & (1 << cap) != 0 {
            continue;
        }
        // SAFETY: plain prctl calls with integer arguments.
        let present = unsafe { libc::prctl(libc::PR_CAPBSET_READ, cap as libc::c_ulong, 0, 0, 0) };
        if present != 1 {
            continue;
        }
        let rc = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) };
        if rc != 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EPERM) {
                // No CAP_SETPCAP: the bounding set stays as the container
                // runtime / service manager made it.
                break;
            }
            return Err(syscall(format!("prctl(PR_CAPBSET_DROP, {cap})"))(e));
        }
    }
    // 2. Ambient: nothing is handed to children implicitly.
    // SAFETY: as above.
    let rc = unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
            0,
            0,
            0,
        )
    };
    if rc != 0 {
        let e = io::Error::last_os_error();
        // EINVAL: a kernel older than 4.3 has no ambient set.
        if e.raw_os_error() != Some(libc::EINVAL) {
            return Err(syscall("prctl(PR_CAP_AMBIENT_CLEAR_ALL)")(e));
        }
    }
    // 3. Permitted / effective / inheritable.
    let target = CapSets {
        effective: keep_mask,
        permitted: keep_mask,
        inheritable: 0,
    };
    set_caps(target).map_err(syscall("capset"))?;
    let after = current_caps().map_err(syscall("capget"))?;
    if after != target {
        return Err(CapError::NotApplied {
            effective: after.effective,
            permitted: after.permitted,
            wanted: keep_mask,
        });
    }
    check_other_threads(keep_mask)
}

/// Every other thread of the process must hold no more than `mask`.
fn check_other_threads(mask: u64) -> Result<(), CapError> {
    // SAFETY: gettid has no preconditions.
    let me = unsafe { libc::syscall(libc::SYS_gettid) }.to_string();
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return Ok(());
    };
    for entry in dir.flatten() {
        let tid = entry.file_name().to_string_lossy().into_owned();
        if tid == me {
            continue;
        }
        let Ok(status) = std::fs::read_to_string(entry.path().join("status")) else {
            continue; // the thread exited meanwhile
        };
        for key in ["CapEff:", "CapPrm:"] {
            if let Some(v) = status_field(&status, key)
                && v & !mask != 0
            {
                return Err(CapError::OtherThread {
                    tid,
                    key: key.trim_end_matches(':').to_string(),
                    value: v,
                });
            }
        }
    }
    Ok(())
}

/// A hexadecimal capability field (`CapEff:` ...) of a `/proc/*/status` text.
pub fn status_field(status: &str, key: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with(key))?;
    u64::from_str_radix(line.split_whitespace().nth(1)?, 16).ok()
}

/// Capability names in a mask, e.g. `["CAP_NET_ADMIN", "CAP_NET_RAW"]` (other
/// bits as `cap_N`). For messages and tests.
pub fn cap_names(mask: u64) -> Vec<String> {
    (0..64)
        .filter(|b| mask & (1 << b) != 0)
        .map(|b| match b {
            6 => "CAP_SETGID".to_string(),
            7 => "CAP_SETUID".to_string(),
            12 => "CAP_NET_ADMIN".to_string(),
            13 => "CAP_NET_RAW".to_string(),
            n => format!("cap_{n}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_capability_message_names_it() {
        let m = MissingCapability(Cap::NetRaw).to_string();
        assert!(m.starts_with("missing capability CAP_NET_RAW: "), "{m}");
        assert!(m.contains("cap_add NET_RAW"), "{m}");
    }

    #[test]
    fn status_field_and_names() {
        let s = "Name:\tvrrpd\nCapInh:\t0000000000000000\nCapPrm:\t0000000000003000\n\
                 CapEff:\t0000000000003000\n";
        assert_eq!(status_field(s, "CapEff:"), Some(0x3000));
        assert_eq!(status_field(s, "CapBnd:"), None);
        assert_eq!(cap_names(0x3000), vec!["CAP_NET_ADMIN", "CAP_NET_RAW"]);
    }
}
