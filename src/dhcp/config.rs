//! The DHCP server part of the configuration, as the Comware 7 shell fills it:
//! `dhcp enable`, `dhcp server ip-pool NAME` (network, address range, gateway-list, dns-list,
//! domain-name, expired, forbidden-ip, static-bind, option), `dhcp server forbidden-ip` and
//! `dhcp server relay information enable`.
//!
//! The interface side (`dhcp server apply ip-pool NAME`) is interface configuration; the driver
//! passes it to the server in each packet's [`Ingress`](super::event::Ingress).

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Comware limits.
pub const MAX_GATEWAYS: usize = 8;
pub const MAX_DNS: usize = 8;
/// `nbns-list IP&<1-8>`.
pub const MAX_NBNS: usize = 8;
pub const MAX_STATIC_BINDINGS: usize = 8192;
pub const MAX_POOL_NAME: usize = 63;
/// `expired day D`: D is 0..=365.
pub const MAX_LEASE_SECS: u32 = 365 * 86400 + 23 * 3600 + 59 * 60 + 59;
/// The Comware default lease: 1 day.
pub const DEFAULT_LEASE_SECS: u32 = 86400;
/// How long a declined address stays in the conflict list by default: 1 day, Kea's default
/// `decline-probation-period`.
pub const DEFAULT_CONFLICT_RECYCLE_SECS: u32 = 86400;

/// `dhcp server ping packets N`: N is 0..=10.
pub const MAX_PING_PACKETS: u8 = 10;
/// `dhcp server ping timeout MS`: MS is 1..=10000, 500 by default (Comware 7).
pub const MAX_PING_TIMEOUT_MS: u32 = 10_000;
pub const DEFAULT_PING_TIMEOUT_MS: u32 = 500;

/// Everything the DHCP server is configured with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DhcpConfig {
    /// `dhcp enable` (default disabled).
    pub enabled: bool,
    /// `dhcp server ip-pool NAME`, keyed by the name as typed (names compare case-insensitively).
    pub pools: BTreeMap<String, PoolConfig>,
    /// `dhcp server forbidden-ip START [END]`: never handed out from any pool.
    pub forbidden: Vec<IpRange>,
    /// `dhcp server relay information enable` (default on): echo a request's option 82.
    pub relay_information: bool,
    /// `dhcp server always-broadcast` (default off): broadcast the replies a client without an
    /// address would otherwise get as a frame to its hardware address (RFC 2131 section 4.1
    /// allows either); replies to a relay or to a client's ciaddr are not affected.
    pub always_broadcast: bool,
    /// `dhcp server conflict auto-recycle interval ...`: how long an address stays in the
    /// conflict list (a DECLINE, or the server's own address found in a pool) before it returns
    /// to the pool, in seconds (Kea's `decline-probation-period`; 1 to 365 days 23:59:59).
    pub conflict_recycle_secs: u32,
    /// `dhcp server ping packets N` (0 to 10): echo requests sent to an address before it is
    /// offered; an address that answers is put in the conflict list instead. 0 turns the probe
    /// off. Comware's default is 1; Duet's is 0 (docs/dhcp.md, "Conflict probe").
    pub ping_packets: u8,
    /// `dhcp server ping timeout MS` (1 to 10000, Comware's default 500): how long each echo
    /// request waits for its answer.
    pub ping_timeout_ms: u32,
}

impl Default for DhcpConfig {
    fn default() -> Self {
        DhcpConfig {
            enabled: false,
            pools: BTreeMap::new(),
            forbidden: Vec::new(),
            relay_information: true,
            always_broadcast: false,
            conflict_recycle_secs: DEFAULT_CONFLICT_RECYCLE_SECS,
            ping_packets: 0,
            ping_timeout_ms: DEFAULT_PING_TIMEOUT_MS,
        }
    }
}

/// An inclusive range of addresses (`START [END]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpRange {
    pub start: Ipv4Addr,
    pub end: Ipv4Addr,
}

impl IpRange {
    pub fn single(ip: Ipv4Addr) -> IpRange {
        IpRange { start: ip, end: ip }
    }
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        self.start <= ip && ip <= self.end
    }
}

/// `network A.B.C.D [ LEN | mask M ]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Network {
    pub address: Ipv4Addr,
    pub prefix_len: u8,
}

impl Network {
    pub fn mask(&self) -> Ipv4Addr {
        Ipv4Addr::from(mask_bits(self.prefix_len))
    }
    /// The network address (host bits cleared).
    pub fn base(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.address) & mask_bits(self.prefix_len))
    }
    pub fn broadcast(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.base()) | !mask_bits(self.prefix_len))
    }
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & mask_bits(self.prefix_len) == u32::from(self.base())
    }
    /// The host addresses: the network without its network and broadcast addresses
    /// (a /31 or /32 has no such pair, RFC 3021).
    pub fn hosts(&self) -> IpRange {
        let (b, e) = (u32::from(self.base()), u32::from(self.broadcast()));
        if self.prefix_len >= 31 {
            IpRange {
                start: b.into(),
                end: e.into(),
            }
        } else {
            IpRange {
                start: (b + 1).into(),
                end: (e - 1).into(),
            }
        }
    }
}

fn mask_bits(len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(len.min(32)))
    }
}

/// `expired { day D [hour H [minute M [second S]]] | unlimited }`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LeaseDuration {
    Seconds(u32),
    Unlimited,
}

impl Default for LeaseDuration {
    fn default() -> Self {
        LeaseDuration::Seconds(DEFAULT_LEASE_SECS)
    }
}

/// Who a static binding is for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BindingClient {
    /// `client-identifier ID`: option 61's bytes.
    ClientIdentifier(Vec<u8>),
    /// `hardware-address MAC`: a 6-byte Ethernet address.
    HardwareAddress([u8; 6]),
}

/// `static-bind ip-address IP [LEN | mask M] { client-identifier ID | hardware-address MAC }`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaticBinding {
    pub ip: Ipv4Addr,
    /// The prefix length given on the command, if any (the pool's network otherwise).
    #[serde(default)]
    pub prefix_len: Option<u8>,
    pub client: BindingClient,
}

/// The value of `option CODE { ascii S | hex H | ip-address IP&<1-8> }`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RawOptionValue {
    Ascii(String),
    Hex(Vec<u8>),
    IpAddress(Vec<Ipv4Addr>),
}

impl RawOptionValue {
    pub fn bytes(&self) -> Vec<u8> {
        match self {
            RawOptionValue::Ascii(s) => s.as_bytes().to_vec(),
            RawOptionValue::Hex(h) => h.clone(),
            RawOptionValue::IpAddress(l) => l.iter().flat_map(|a| a.octets()).collect(),
        }
    }
}

/// `netbios-type { b-node | p-node | m-node | h-node }`: option 46's value (RFC 2132 section
/// 8.7: 0x1 B-node, 0x2 P-node, 0x4 M-node, 0x8 H-node).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NetbiosType {
    BNode,
    PNode,
    MNode,
    HNode,
}

impl NetbiosType {
    /// The option 46 byte.
    pub fn code(self) -> u8 {
        match self {
            NetbiosType::BNode => 0x1,
            NetbiosType::PNode => 0x2,
            NetbiosType::MNode => 0x4,
            NetbiosType::HNode => 0x8,
        }
    }
    /// The command keyword (`b-node`, ...).
    pub fn keyword(self) -> &'static str {
        match self {
            NetbiosType::BNode => "b-node",
            NetbiosType::PNode => "p-node",
            NetbiosType::MNode => "m-node",
            NetbiosType::HNode => "h-node",
        }
    }
}

/// One `dhcp server ip-pool NAME`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PoolConfig {
    pub network: Option<Network>,
    /// `address range S E`: dynamic addresses only from here (else the whole network).
    pub range: Option<IpRange>,
    pub gateways: Vec<Ipv4Addr>,
    pub dns: Vec<Ipv4Addr>,
    pub domain_name: Option<String>,
    pub lease: LeaseDuration,
    /// Pool-local `forbidden-ip IP&<1-8>`.
    pub forbidden: Vec<Ipv4Addr>,
    pub static_bindings: Vec<StaticBinding>,
    /// `option CODE ...`, by code. A code also set by a named command below (66, 67, 150, 44,
    /// 46) is sent with the `option` command's value: the generic command overrides.
    pub options: BTreeMap<u8, RawOptionValue>,
    /// `next-server IP`: the `siaddr` of OFFER and ACK (RFC 2131 section 2, the server to
    /// boot from).
    pub next_server: Option<Ipv4Addr>,
    /// `bootfile-name NAME`: the `file` header field of OFFER and ACK and, when asked for,
    /// option 67 (RFC 2132 section 9.5).
    pub bootfile_name: Option<String>,
    /// `tftp-server ip-address IP`: option 150 (the TFTP server address; Cisco and Comware).
    pub tftp_server_ip: Option<Ipv4Addr>,
    /// `tftp-server domain-name NAME`: option 66 (RFC 2132 section 9.4, the TFTP server name).
    pub tftp_server_name: Option<String>,
    /// `nbns-list IP&<1-8>`: option 44 (RFC 2132 section 8.5, NetBIOS name servers).
    pub nbns: Vec<Ipv4Addr>,
    /// `netbios-type ...`: option 46.
    pub netbios_type: Option<NetbiosType>,
}

/// A configuration the server cannot run, with what to change.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("pool name must be 1 to {MAX_POOL_NAME} characters")]
    BadPoolName,
    #[error("pool {0}: at most 8 gateways")]
    TooManyGateways(String),
    #[error("pool {0}: at most 8 DNS servers")]
    TooManyDns(String),
    #[error("pool {0}: at most 8 NetBIOS name servers")]
    TooManyNbns(String),
    #[error("pool {0}: the prefix length must be 1 to 32")]
    BadPrefix(String),
    #[error("pool {pool}: address range {start} to {end} is not inside network {network}")]
    RangeOutsideNetwork {
        pool: String,
        start: Ipv4Addr,
        end: Ipv4Addr,
        network: Ipv4Addr,
    },
    #[error("pool {pool}: the address range start {start} is above its end {end}")]
    RangeReversed {
        pool: String,
        start: Ipv4Addr,
        end: Ipv4Addr,
    },
    #[error("pool {pool}: static binding {ip} is not inside the pool's network")]
    StaticOutsideNetwork { pool: String, ip: Ipv4Addr },
    #[error("static binding {ip} is configured twice; undo the old binding first")]
    DuplicateStatic { ip: Ipv4Addr },
    #[error("at most {MAX_STATIC_BINDINGS} static bindings")]
    TooManyStatic,
    #[error("pool {pool}: the lease time exceeds 365 days 23:59:59")]
    LeaseTooLong { pool: String },
    #[error("pools {0} and {1} have the same network")]
    SameNetwork(String, String),
    #[error("pool {0}: option {1} cannot be set with the option command")]
    ReservedOption(String, u8),
    #[error("the conflict recycle interval must be 1 second to 365 days 23:59:59")]
    BadConflictRecycle,
    #[error("the ping probe takes 0 to 10 packets and a timeout of 1 to 10000 ms")]
    BadPing,
    #[error("forbidden range {start} to {end}: the start is above the end")]
    ForbiddenReversed { start: Ipv4Addr, end: Ipv4Addr },
}

impl DhcpConfig {
    /// Check what the server relies on; the shell calls it before applying a change.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut statics = std::collections::HashSet::new();
        let mut networks: Vec<(&String, Network)> = Vec::new();
        if !(1..=MAX_LEASE_SECS).contains(&self.conflict_recycle_secs) {
            return Err(ConfigError::BadConflictRecycle);
        }
        if self.ping_packets > MAX_PING_PACKETS
            || !(1..=MAX_PING_TIMEOUT_MS).contains(&self.ping_timeout_ms)
        {
            return Err(ConfigError::BadPing);
        }
        for r in &self.forbidden {
            if r.start > r.end {
                return Err(ConfigError::ForbiddenReversed {
                    start: r.start,
                    end: r.end,
                });
            }
        }
        for (name, pool) in &self.pools {
            if name.is_empty() || name.chars().count() > MAX_POOL_NAME {
                return Err(ConfigError::BadPoolName);
            }
            if pool.gateways.len() > MAX_GATEWAYS {
                return Err(ConfigError::TooManyGateways(name.clone()));
            }
            if pool.dns.len() > MAX_DNS {
                return Err(ConfigError::TooManyDns(name.clone()));
            }
            if pool.nbns.len() > MAX_NBNS {
                return Err(ConfigError::TooManyNbns(name.clone()));
            }
            if let LeaseDuration::Seconds(s) = pool.lease
                && s > MAX_LEASE_SECS
            {
                return Err(ConfigError::LeaseTooLong { pool: name.clone() });
            }
            // Options the server computes itself cannot be overridden by `option CODE`.
            for &code in pool.options.keys() {
                if matches!(code, 0 | 50..=55 | 58 | 59 | 61 | 82 | 255) {
                    return Err(ConfigError::ReservedOption(name.clone(), code));
                }
            }
            if let Some(net) = pool.network {
                if net.prefix_len == 0 || net.prefix_len > 32 {
                    return Err(ConfigError::BadPrefix(name.clone()));
                }
                if let Some((other, _)) = networks
                    .iter()
                    .find(|(_, n)| n.base() == net.base() && n.prefix_len == net.prefix_len)
                {
                    return Err(ConfigError::SameNetwork((*other).clone(), name.clone()));
                }
                networks.push((name, net));
                if let Some(r) = pool.range {
                    if r.start > r.end {
                        return Err(ConfigError::RangeReversed {
                            pool: name.clone(),
                            start: r.start,
                            end: r.end,
                        });
                    }
                    if !net.contains(r.start) || !net.contains(r.end) {
                        return Err(ConfigError::RangeOutsideNetwork {
                            pool: name.clone(),
                            start: r.start,
                            end: r.end,
                            network: net.base(),
                        });
                    }
                }
                for b in &pool.static_bindings {
                    if !net.contains(b.ip) {
                        return Err(ConfigError::StaticOutsideNetwork {
                            pool: name.clone(),
                            ip: b.ip,
                        });
                    }
                }
            }
            for b in &pool.static_bindings {
                if !statics.insert(b.ip) {
                    return Err(ConfigError::DuplicateStatic { ip: b.ip });
                }
            }
        }
        if statics.len() > MAX_STATIC_BINDINGS {
            return Err(ConfigError::TooManyStatic);
        }
        Ok(())
    }

    /// The pool named `name`, compared case-insensitively as Comware does.
    pub fn pool(&self, name: &str) -> Option<(&String, &PoolConfig)> {
        self.pools
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
    }

    /// Whether `ip` is in a global forbidden range.
    pub fn is_forbidden(&self, ip: Ipv4Addr) -> bool {
        self.forbidden.iter().any(|r| r.contains(ip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(a: [u8; 4], len: u8) -> Network {
        Network {
            address: a.into(),
            prefix_len: len,
        }
    }

    #[test]
    fn network_arithmetic() {
        let n = net([10, 1, 1, 77], 24);
        assert_eq!(n.base(), Ipv4Addr::new(10, 1, 1, 0));
        assert_eq!(n.broadcast(), Ipv4Addr::new(10, 1, 1, 255));
        assert_eq!(n.mask(), Ipv4Addr::new(255, 255, 255, 0));
        assert_eq!(
            n.hosts(),
            IpRange {
                start: [10, 1, 1, 1].into(),
                end: [10, 1, 1, 254].into()
            }
        );
        assert!(n.contains([10, 1, 1, 0].into()) && !n.contains([10, 1, 2, 0].into()));
        assert_eq!(
            net([10, 0, 0, 1], 32).hosts(),
            IpRange::single([10, 0, 0, 1].into())
        );
    }

    #[test]
    fn defaults_follow_comware() {
        let c = DhcpConfig::default();
        assert!(!c.enabled && c.relay_information);
        assert_eq!(PoolConfig::default().lease, LeaseDuration::Seconds(86400));
    }

    #[test]
    fn validation_rejects_what_the_server_cannot_run() {
        let mut c = DhcpConfig::default();
        let mut p = PoolConfig {
            network: Some(net([10, 1, 1, 0], 24)),
            ..PoolConfig::default()
        };
        c.pools.insert("a".into(), p.clone());
        assert_eq!(c.validate(), Ok(()));
        p.gateways = vec![Ipv4Addr::LOCALHOST; 9];
        c.pools.insert("b".into(), p.clone());
        assert_eq!(c.validate(), Err(ConfigError::TooManyGateways("b".into())));
        p.gateways.clear();
        assert!(c.pools.insert("b".into(), p.clone()).is_some());
        assert_eq!(
            c.validate(),
            Err(ConfigError::SameNetwork("a".into(), "b".into()))
        );
        p.network = Some(net([10, 2, 0, 0], 16));
        p.range = Some(IpRange {
            start: [10, 2, 0, 10].into(),
            end: [10, 3, 0, 1].into(),
        });
        c.pools.insert("b".into(), p.clone());
        assert!(matches!(
            c.validate(),
            Err(ConfigError::RangeOutsideNetwork { .. })
        ));
        p.range = None;
        p.static_bindings.push(StaticBinding {
            ip: [10, 9, 0, 1].into(),
            prefix_len: None,
            client: BindingClient::HardwareAddress([1, 2, 3, 4, 5, 6]),
        });
        c.pools.insert("b".into(), p.clone());
        assert!(matches!(
            c.validate(),
            Err(ConfigError::StaticOutsideNetwork { .. })
        ));
        p.static_bindings.clear();
        p.options.insert(53, RawOptionValue::Hex(vec![1]));
        c.pools.insert("b".into(), p.clone());
        assert_eq!(
            c.validate(),
            Err(ConfigError::ReservedOption("b".into(), 53))
        );
        p.options.clear();
        p.lease = LeaseDuration::Seconds(MAX_LEASE_SECS + 1);
        c.pools.insert("b".into(), p);
        assert!(matches!(
            c.validate(),
            Err(ConfigError::LeaseTooLong { .. })
        ));
        assert!(c.pool("A").is_some());
    }
}
