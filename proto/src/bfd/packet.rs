//! BFD Control packets (RFC 5880 §4.1), mandatory section only: vrrpd runs
//! BFD without authentication (SPEC §1), so a packet with the A bit is
//! dropped rather than half-understood.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! |Vers |  Diag   |Sta|P|F|C|A|D|M|  Detect Mult  |    Length     |
//! |                       My Discriminator                        |
//! |                      Your Discriminator                       |
//! |                    Desired Min TX Interval                    |
//! |                   Required Min RX Interval                    |
//! |                 Required Min Echo RX Interval                 |
//! ```

use std::time::Duration;

use serde::Serialize;
use thiserror::Error;

/// UDP destination port of single-hop BFD Control packets (RFC 5881 §4).
pub const CONTROL_PORT: u16 = 3784;
/// Source ports a sender picks from (RFC 5881 §4).
pub const SOURCE_PORTS: std::ops::RangeInclusive<u16> = 49152..=65535;
/// The mandatory section; vrrpd sends nothing else.
pub const LEN: usize = 24;
pub const VERSION: u8 = 1;

mod field {
    pub const VERS_DIAG: usize = 0;
    pub const STA_FLAGS: usize = 1;
    pub const DETECT_MULT: usize = 2;
    pub const LENGTH: usize = 3;
    pub const MY_DISCR: std::ops::Range<usize> = 4..8;
    pub const YOUR_DISCR: std::ops::Range<usize> = 8..12;
    pub const DESIRED_MIN_TX: std::ops::Range<usize> = 12..16;
    pub const REQUIRED_MIN_RX: std::ops::Range<usize> = 16..20;
    pub const REQUIRED_MIN_ECHO_RX: std::ops::Range<usize> = 20..24;
}

mod flag {
    pub const POLL: u8 = 0x20;
    pub const FINAL: u8 = 0x10;
    pub const CPI: u8 = 0x08;
    pub const AUTH: u8 = 0x04;
    pub const DEMAND: u8 = 0x02;
    pub const MULTIPOINT: u8 = 0x01;
}

/// bfd.SessionState (RFC 5880 §4.1 "Sta", §6.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionState {
    AdminDown,
    Down,
    Init,
    Up,
}

impl SessionState {
    fn from_bits(b: u8) -> SessionState {
        match b & 0x3 {
            0 => SessionState::AdminDown,
            1 => SessionState::Down,
            2 => SessionState::Init,
            _ => SessionState::Up,
        }
    }

    fn bits(self) -> u8 {
        match self {
            SessionState::AdminDown => 0,
            SessionState::Down => 1,
            SessionState::Init => 2,
            SessionState::Up => 3,
        }
    }
}

/// Diagnostic codes (RFC 5880 §4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Diag {
    None,
    ControlDetectionTimeExpired,
    EchoFunctionFailed,
    NeighborSignaledSessionDown,
    ForwardingPlaneReset,
    PathDown,
    ConcatenatedPathDown,
    AdministrativelyDown,
    ReverseConcatenatedPathDown,
    /// 9-31: reserved, carried through.
    Reserved(u8),
}

impl Diag {
    fn from_bits(b: u8) -> Diag {
        match b & 0x1f {
            0 => Diag::None,
            1 => Diag::ControlDetectionTimeExpired,
            2 => Diag::EchoFunctionFailed,
            3 => Diag::NeighborSignaledSessionDown,
            4 => Diag::ForwardingPlaneReset,
            5 => Diag::PathDown,
            6 => Diag::ConcatenatedPathDown,
            7 => Diag::AdministrativelyDown,
            8 => Diag::ReverseConcatenatedPathDown,
            n => Diag::Reserved(n),
        }
    }

    fn bits(self) -> u8 {
        match self {
            Diag::None => 0,
            Diag::ControlDetectionTimeExpired => 1,
            Diag::EchoFunctionFailed => 2,
            Diag::NeighborSignaledSessionDown => 3,
            Diag::ForwardingPlaneReset => 4,
            Diag::PathDown => 5,
            Diag::ConcatenatedPathDown => 6,
            Diag::AdministrativelyDown => 7,
            Diag::ReverseConcatenatedPathDown => 8,
            Diag::Reserved(n) => n & 0x1f,
        }
    }
}

/// Why a received BFD packet was dropped (RFC 5880 §6.8.6, RFC 5881 §5).
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BfdDrop {
    #[error("TTL {0}, not 255 (RFC 5881 §5, GTSM)")]
    Ttl(u8),
    #[error("{len} bytes, shorter than the 24-byte mandatory section")]
    Truncated { len: usize },
    #[error("version {0}, not 1")]
    Version(u8),
    #[error("length field {field} against {len} bytes received")]
    Length { field: u8, len: usize },
    #[error("detect multiplier 0")]
    DetectMultZero,
    #[error("multipoint bit set")]
    Multipoint,
    #[error("my discriminator 0")]
    MyDiscriminatorZero,
    #[error("authentication present; vrrpd runs BFD without it")]
    AuthPresent,
    #[error("your discriminator {0:#x} names no session")]
    UnknownDiscriminator(u32),
    #[error("your discriminator 0 in state {0:?}")]
    ZeroDiscriminatorInState(SessionState),
    #[error("no session with this source")]
    NoSession,
}

impl BfdDrop {
    /// The metric/status label.
    pub fn label(&self) -> &'static str {
        match self {
            BfdDrop::Ttl(_) => "ttl",
            BfdDrop::Truncated { .. } => "truncated",
            BfdDrop::Version(_) => "version",
            BfdDrop::Length { .. } => "length",
            BfdDrop::DetectMultZero => "detect_mult_zero",
            BfdDrop::Multipoint => "multipoint",
            BfdDrop::MyDiscriminatorZero => "my_discriminator_zero",
            BfdDrop::AuthPresent => "auth_present",
            BfdDrop::UnknownDiscriminator(_) => "unknown_discriminator",
            BfdDrop::ZeroDiscriminatorInState(_) => "zero_discriminator",
            BfdDrop::NoSession => "no_session",
        }
    }
}

/// One BFD Control packet, decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ControlPacket {
    pub diag: Diag,
    pub state: SessionState,
    pub poll: bool,
    pub final_: bool,
    pub control_plane_independent: bool,
    pub demand: bool,
    pub detect_mult: u8,
    pub my_discr: u32,
    pub your_discr: u32,
    pub desired_min_tx: Duration,
    pub required_min_rx: Duration,
    pub required_min_echo_rx: Duration,
}

fn be32(b: &[u8], r: std::ops::Range<usize>) -> u32 {
    u32::from_be_bytes([b[r.start], b[r.start + 1], b[r.start + 2], b[r.start + 3]])
}

fn micros(us: u32) -> Duration {
    Duration::from_micros(u64::from(us))
}

fn to_micros(d: Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}

impl ControlPacket {
    /// RFC 5880 §6.8.6, the checks that need only the packet.
    pub fn parse(b: &[u8]) -> Result<ControlPacket, BfdDrop> {
        if b.len() < LEN {
            return Err(BfdDrop::Truncated { len: b.len() });
        }
        let version = b[field::VERS_DIAG] >> 5;
        if version != VERSION {
            return Err(BfdDrop::Version(version));
        }
        let flags = b[field::STA_FLAGS];
        let length = b[field::LENGTH];
        // "If the A bit is clear, less than 24": the A bit is refused below.
        if usize::from(length) < LEN || usize::from(length) > b.len() {
            return Err(BfdDrop::Length {
                field: length,
                len: b.len(),
            });
        }
        let detect_mult = b[field::DETECT_MULT];
        if detect_mult == 0 {
            return Err(BfdDrop::DetectMultZero);
        }
        if flags & flag::MULTIPOINT != 0 {
            return Err(BfdDrop::Multipoint);
        }
        let my_discr = be32(b, field::MY_DISCR);
        if my_discr == 0 {
            return Err(BfdDrop::MyDiscriminatorZero);
        }
        if flags & flag::AUTH != 0 {
            return Err(BfdDrop::AuthPresent);
        }
        Ok(ControlPacket {
            diag: Diag::from_bits(b[field::VERS_DIAG]),
            state: SessionState::from_bits(flags >> 6),
            poll: flags & flag::POLL != 0,
            final_: flags & flag::FINAL != 0,
            control_plane_independent: flags & flag::CPI != 0,
            demand: flags & flag::DEMAND != 0,
            detect_mult,
            my_discr,
            your_discr: be32(b, field::YOUR_DISCR),
            desired_min_tx: micros(be32(b, field::DESIRED_MIN_TX)),
            required_min_rx: micros(be32(b, field::REQUIRED_MIN_RX)),
            required_min_echo_rx: micros(be32(b, field::REQUIRED_MIN_ECHO_RX)),
        })
    }

    /// The 24 bytes on the wire.
    pub fn emit(&self) -> [u8; LEN] {
        let mut b = [0u8; LEN];
        b[field::VERS_DIAG] = (VERSION << 5) | self.diag.bits();
        let mut flags = self.state.bits() << 6;
        for (on, bit) in [
            (self.poll, flag::POLL),
            (self.final_, flag::FINAL),
            (self.control_plane_independent, flag::CPI),
            (self.demand, flag::DEMAND),
        ] {
            if on {
                flags |= bit;
            }
        }
        b[field::STA_FLAGS] = flags;
        b[field::DETECT_MULT] = self.detect_mult;
        b[field::LENGTH] = LEN as u8;
        b[field::MY_DISCR].copy_from_slice(&self.my_discr.to_be_bytes());
        b[field::YOUR_DISCR].copy_from_slice(&self.your_discr.to_be_bytes());
        b[field::DESIRED_MIN_TX].copy_from_slice(&to_micros(self.desired_min_tx).to_be_bytes());
        b[field::REQUIRED_MIN_RX].copy_from_slice(&to_micros(self.required_min_rx).to_be_bytes());
        b[field::REQUIRED_MIN_ECHO_RX]
            .copy_from_slice(&to_micros(self.required_min_echo_rx).to_be_bytes());
        b
    }
}
