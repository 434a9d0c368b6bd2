//! The VRRP advertisement codec for IPv4: version 2 (RFC 3768) and version 3 (RFC 5798, with the
//! IPv4 pseudo-header checksum that RFC 9568 settled), and the IPv4 header a raw socket hands
//! over with each received advertisement.
//!
//! ```text
//! VRRPv2 (RFC 3768 section 5.1)              VRRPv3 (RFC 5798 section 5.1)
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-------+-------+---------------+---------------+---------------+
//! |Version| Type  | Virtual Rtr ID|   Priority    | Count IP Addrs|  both versions
//! +-------+-------+---------------+---------------+---------------+
//! |   Auth Type   |   Adver Int   |          Checksum             |  v2: Adver Int in seconds
//! +---------------+---------------+-------------------------------+
//! |(rsvd) |     Max Adver Int     |          Checksum             |  v3: 12 bits, centiseconds
//! +-------+-----------------------+-------------------------------+
//! |                       IPv4 Address (1..n)                     |  Count addresses
//! +---------------------------------------------------------------+
//! |                 Authentication Data (8 bytes)                 |  v2 only
//! +---------------------------------------------------------------+
//! ```
//!
//! Checksums (one's complement of the one's complement sum):
//! - v2 covers the VRRP message only (RFC 3768 section 5.3.8), authentication data included;
//! - v3 covers an IPv4 pseudo-header (source, destination, zero, protocol 112, VRRP length)
//!   followed by the VRRP message (RFC 5798 section 5.2.8, clarified by RFC 9568). The
//!   destination is the packet's real one (224.0.0.18, or the peer for unicast).

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

/// IP protocol number of VRRP.
pub const IPPROTO_VRRP: u8 = 112;
/// The IPv4 multicast group adverts go to (RFC 5798 section 5.1.1.2).
pub const VRRP_MULTICAST: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// The only TTL a sender may use and a receiver may accept (RFC 5798 section 5.1.1.3).
pub const VRRP_TTL: u8 = 255;
/// Type field of an ADVERTISEMENT, the only type defined.
const TYPE_ADVERTISEMENT: u8 = 1;
/// v2 authentication types (RFC 3768 section 5.3.6; 1 is the RFC 2338 simple text password
/// that keepalived and Comware still send).
const AUTH_NONE: u8 = 0;
const AUTH_SIMPLE: u8 = 1;
/// Length of the v2 authentication data.
pub const AUTH_DATA_LEN: usize = 8;
/// Largest v3 Max Adver Int (12 bits), in centiseconds.
pub const MAX_V3_INTERVAL_CS: u16 = 0x0fff;
const HEADER_LEN: usize = 8;

/// VRRP protocol version. Serialized as the number (2 or 3), as the CLI shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub enum Version {
    V2,
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

impl From<Version> for u8 {
    fn from(v: Version) -> u8 {
        v.number()
    }
}

impl TryFrom<u8> for Version {
    type Error = String;
    fn try_from(n: u8) -> Result<Self, String> {
        match n {
            2 => Ok(Version::V2),
            3 => Ok(Version::V3),
            _ => Err(format!("VRRP version {n} is not 2 or 3")),
        }
    }
}

/// v2 authentication carried in an advertisement. v3 has none (RFC 5798 section 9).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Auth {
    None,
    /// Simple text password: the key, zero-padded to 8 bytes.
    Simple([u8; AUTH_DATA_LEN]),
}

impl Auth {
    /// The simple-text form of a configured key (at most 8 bytes, zero-padded).
    pub fn simple(key: &str) -> Auth {
        let mut data = [0u8; AUTH_DATA_LEN];
        for (d, b) in data.iter_mut().zip(key.bytes()) {
            *d = b;
        }
        Auth::Simple(data)
    }
}

/// The parts of the IPv4 header a VRRP receiver must check (RFC 5798 section 7.1) and the
/// v3 checksum covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpHeader {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub ttl: u8,
    pub protocol: u8,
}

impl IpHeader {
    /// The header of an advertisement sent from `src` to the VRRP multicast group.
    pub fn multicast_from(src: Ipv4Addr) -> IpHeader {
        IpHeader {
            src,
            dst: VRRP_MULTICAST,
            ttl: VRRP_TTL,
            protocol: IPPROTO_VRRP,
        }
    }
}

/// One decoded VRRP advertisement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Advertisement {
    pub version: Version,
    pub vrid: u8,
    /// 0 means the master is leaving; 255 the address owner.
    pub priority: u8,
    /// The advertisement interval in centiseconds. v3 carries it as is (12 bits); v2 carries
    /// whole seconds, so a v2 advert decodes to a multiple of 100.
    pub interval_cs: u16,
    /// Always [`Auth::None`] for v3.
    pub auth: Auth,
    pub addresses: Vec<Ipv4Addr>,
}

/// Why a received packet was dropped. Each reason is counted by the router.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    thiserror::Error,
)]
pub enum RejectReason {
    #[error("IPv4 header malformed or not VRRP")]
    BadIpHeader,
    #[error("TTL is not 255")]
    BadTtl,
    #[error("VRRP version is not the configured one")]
    BadVersion,
    #[error("packet type is not ADVERTISEMENT")]
    BadType,
    #[error("packet shorter than the VRRP header")]
    Truncated,
    #[error("address count does not match the packet length")]
    AddressCount,
    #[error("advertisement interval is zero")]
    ZeroInterval,
    #[error("checksum is wrong")]
    BadChecksum,
    #[error("unknown authentication type")]
    UnknownAuthType,
    #[error("authentication type or key does not match")]
    AuthMismatch,
    #[error("advertisement interval differs from the configured one")]
    IntervalMismatch,
    #[error("virtual router ID is not configured on this interface")]
    VridNotConfigured,
    #[error("virtual IP addresses differ from the configured ones")]
    AddressListMismatch,
    #[error("the local router owns the virtual IP")]
    LocalIsOwner,
    #[error("sent by this router")]
    OwnAdvert,
    #[error("the group is not running")]
    Inactive,
}

/// Why an advertisement could not be encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    #[error("an advertisement carries 1 to 255 addresses, not {0}")]
    AddressCount(usize),
    #[error("advertisement interval {0} cs does not fit the version's field")]
    Interval(u16),
    #[error("VRRPv3 has no authentication")]
    AuthOnV3,
}

/// One's complement sum of `data` folded into `sum` (RFC 1071); odd lengths pad with zero.
fn sum16(mut sum: u32, data: &[u8]) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u32::from(*last) << 8;
    }
    sum
}

fn fold(mut sum: u32) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// The checksum of a VRRP message (with its checksum field zero, or as received: a correct
/// message then sums to 0). v3 adds the IPv4 pseudo-header.
pub fn checksum(version: Version, src: Ipv4Addr, dst: Ipv4Addr, message: &[u8]) -> u16 {
    let mut sum = 0;
    if version == Version::V3 {
        sum = sum16(sum, &src.octets());
        sum = sum16(sum, &dst.octets());
        sum += u32::from(IPPROTO_VRRP);
        // A VRRP message is at most 8 + 255 * 4 + 8 bytes, so its length fits 16 bits.
        sum += message.len() as u32;
    }
    fold(sum16(sum, message))
}

impl Advertisement {
    /// The VRRP message (no IP header) as sent from `src` to `dst`.
    pub fn encode(&self, src: Ipv4Addr, dst: Ipv4Addr) -> Result<Vec<u8>, EncodeError> {
        let count = self.addresses.len();
        let count_u8 = u8::try_from(count)
            .ok()
            .filter(|c| *c > 0)
            .ok_or(EncodeError::AddressCount(count))?;
        let mut out = Vec::with_capacity(HEADER_LEN + 4 * count + AUTH_DATA_LEN);
        out.push(self.version.number() << 4 | TYPE_ADVERTISEMENT);
        out.push(self.vrid);
        out.push(self.priority);
        out.push(count_u8);
        match self.version {
            Version::V2 => {
                // RFC 3768 section 5.3.7: whole seconds.
                if self.interval_cs == 0
                    || !self.interval_cs.is_multiple_of(100)
                    || self.interval_cs / 100 > 255
                {
                    return Err(EncodeError::Interval(self.interval_cs));
                }
                out.push(match self.auth {
                    Auth::None => AUTH_NONE,
                    Auth::Simple(_) => AUTH_SIMPLE,
                });
                out.push((self.interval_cs / 100) as u8);
            }
            Version::V3 => {
                if self.auth != Auth::None {
                    return Err(EncodeError::AuthOnV3);
                }
                if self.interval_cs == 0 || self.interval_cs > MAX_V3_INTERVAL_CS {
                    return Err(EncodeError::Interval(self.interval_cs));
                }
                out.extend_from_slice(&self.interval_cs.to_be_bytes());
            }
        }
        out.extend_from_slice(&[0, 0]);
        for a in &self.addresses {
            out.extend_from_slice(&a.octets());
        }
        if self.version == Version::V2 {
            match &self.auth {
                Auth::None => out.extend_from_slice(&[0; AUTH_DATA_LEN]),
                Auth::Simple(key) => out.extend_from_slice(key),
            }
        }
        let sum = checksum(self.version, src, dst, &out);
        out[6..8].copy_from_slice(&sum.to_be_bytes());
        Ok(out)
    }

    /// Decode a received VRRP message, checking what RFC 5798 section 7.1 (and RFC 3768
    /// section 7.1 for v2) asks of every packet before the router looks at it. The checks
    /// that need the group's configuration (VRID, authentication key, v2 interval, address
    /// list) are the router's.
    pub fn decode(ip: &IpHeader, msg: &[u8]) -> Result<Advertisement, RejectReason> {
        if ip.protocol != IPPROTO_VRRP {
            return Err(RejectReason::BadIpHeader);
        }
        // RFC 5798 7.1: MUST verify that the IPv4 TTL is 255.
        if ip.ttl != VRRP_TTL {
            return Err(RejectReason::BadTtl);
        }
        let [first, vrid, priority, count, b4, b5, ..] = *msg else {
            return Err(RejectReason::Truncated);
        };
        let version = match first >> 4 {
            2 => Version::V2,
            3 => Version::V3,
            _ => return Err(RejectReason::BadVersion),
        };
        if first & 0x0f != TYPE_ADVERTISEMENT {
            return Err(RejectReason::BadType);
        }
        // RFC 5798 7.1: MUST verify the packet holds the complete message with its addresses.
        let trailer = if version == Version::V2 {
            AUTH_DATA_LEN
        } else {
            0
        };
        if count == 0 || msg.len() != HEADER_LEN + 4 * usize::from(count) + trailer {
            return Err(RejectReason::AddressCount);
        }
        if checksum(version, ip.src, ip.dst, msg) != 0 {
            return Err(RejectReason::BadChecksum);
        }
        let addr_end = HEADER_LEN + 4 * usize::from(count);
        let addresses = msg[HEADER_LEN..addr_end]
            .chunks_exact(4)
            .map(|c| Ipv4Addr::new(c[0], c[1], c[2], c[3]))
            .collect();
        let (interval_cs, auth) = match version {
            Version::V2 => {
                let auth = match b4 {
                    AUTH_NONE => Auth::None,
                    AUTH_SIMPLE => {
                        let mut key = [0u8; AUTH_DATA_LEN];
                        key.copy_from_slice(&msg[addr_end..]);
                        Auth::Simple(key)
                    }
                    _ => return Err(RejectReason::UnknownAuthType),
                };
                (u16::from(b5) * 100, auth)
            }
            // The 4 reserved bits are ignored on receipt (RFC 5798 section 5.2.6).
            Version::V3 => (
                u16::from_be_bytes([b4, b5]) & MAX_V3_INTERVAL_CS,
                Auth::None,
            ),
        };
        if interval_cs == 0 {
            return Err(RejectReason::ZeroInterval);
        }
        Ok(Advertisement {
            version,
            vrid,
            priority,
            interval_cs,
            auth,
            addresses,
        })
    }
}

/// Split a received IPv4 datagram (what a raw socket returns: header included) into the
/// header fields VRRP needs and the VRRP message. Uses IHL and the total length, so link
/// padding after the datagram is dropped.
pub fn parse_ipv4(datagram: &[u8]) -> Result<(IpHeader, &[u8]), RejectReason> {
    let [vihl, ..] = *datagram else {
        return Err(RejectReason::BadIpHeader);
    };
    let ihl = usize::from(vihl & 0x0f) * 4;
    if vihl >> 4 != 4 || ihl < 20 || datagram.len() < ihl {
        return Err(RejectReason::BadIpHeader);
    }
    let total = usize::from(u16::from_be_bytes([datagram[2], datagram[3]]));
    if total < ihl || total > datagram.len() {
        return Err(RejectReason::BadIpHeader);
    }
    let octets = |at: usize| {
        Ipv4Addr::new(
            datagram[at],
            datagram[at + 1],
            datagram[at + 2],
            datagram[at + 3],
        )
    };
    let header = IpHeader {
        src: octets(12),
        dst: octets(16),
        ttl: datagram[8],
        protocol: datagram[9],
    };
    Ok((header, &datagram[ihl..total]))
}

/// A whole IPv4 datagram carrying `msg` (no options, DF clear), as a sender building its own
/// header (IP_HDRINCL) or a test sends it.
pub fn build_ipv4(ip: &IpHeader, msg: &[u8]) -> Vec<u8> {
    let total = (20 + msg.len()).min(usize::from(u16::MAX)) as u16;
    let mut out = vec![0x45, 0xc0];
    out.extend_from_slice(&total.to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0, ip.ttl, ip.protocol, 0, 0]);
    out.extend_from_slice(&ip.src.octets());
    out.extend_from_slice(&ip.dst.octets());
    let sum = fold(sum16(0, &out));
    out[10..12].copy_from_slice(&sum.to_be_bytes());
    out.extend_from_slice(msg);
    out
}

#[cfg(test)]
mod tests;
