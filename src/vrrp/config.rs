//! The typed configuration of one VRRP group (`vrrp vrid N ...` in interface view), which the
//! shell fills and the router runs. Times are in centiseconds, as Comware 7 shows them.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use super::packet::{AUTH_DATA_LEN, MAX_V3_INTERVAL_CS, Version};
use crate::interface::name::IfName;

pub const DEFAULT_PRIORITY: u8 = 100;
/// The priority of the router that owns the virtual IP (RFC 5798 section 5.2.4).
pub const OWNER_PRIORITY: u8 = 255;
pub const DEFAULT_INTERVAL_CS: u16 = 100;
/// `timer advertise` lower bound: Comware 7 stops at 10, Duet accepts the RFC 5798 range
/// (1-4095 cs) so v3 can advertise every 10 ms.
pub const MIN_INTERVAL_CS: u16 = 1;
/// Comware 7 `preempt-mode delay` upper bound (30 minutes).
pub const MAX_PREEMPT_DELAY_CS: u32 = 180_000;
pub const DEFAULT_REDUCTION: u8 = 10;

/// An interface whose link state lowers the group's running priority when it goes down.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackedInterface {
    #[serde(with = "ifname_text")]
    pub interface: IfName,
    /// `reduced R`, 1-255, default 10.
    #[serde(default = "default_reduction")]
    pub reduced: u8,
}

/// `vrrp vrid N track M [priority reduced R | switchover]`: what a track entry's Negative
/// state does to the group (Comware 7). Positive and NotReady (an entry deleted or not yet
/// created) do nothing: the reduction is taken back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackedEntry {
    /// The track entry, 1-1024.
    pub entry: u16,
    pub action: TrackAction,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TrackAction {
    /// `priority reduced R` (default 10): the running priority drops by R.
    Reduce(u8),
    /// `switchover`: a backup becomes master at once (the entry watches the master's path).
    Switchover,
}

fn default_priority() -> u8 {
    DEFAULT_PRIORITY
}

fn default_true() -> bool {
    true
}

fn default_interval() -> u16 {
    DEFAULT_INTERVAL_CS
}

fn default_version() -> Version {
    Version::V3
}

fn default_reduction() -> u8 {
    DEFAULT_REDUCTION
}

/// One VRRP group on one interface. In serialized form only `vrid` and `virtual_ips` are
/// required; every other field defaults as in [`GroupConfig::new`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupConfig {
    /// 1-255.
    pub vrid: u8,
    /// The virtual IPs, in configuration order; the group runs with at least one.
    pub virtual_ips: Vec<Ipv4Addr>,
    /// Configured priority, 1-254. The group runs at 255 when it owns a virtual IP.
    #[serde(default = "default_priority")]
    pub priority: u8,
    /// `preempt-mode` (default on); `undo vrrp vrid N preempt-mode` turns it off.
    #[serde(default = "default_true")]
    pub preempt: bool,
    /// `preempt-mode delay D`, centiseconds, 0-180000.
    #[serde(default)]
    pub preempt_delay_cs: u32,
    /// `timer advertise T`, centiseconds, 1-4095. VRRPv2 sends whole seconds, rounded up.
    #[serde(default = "default_interval")]
    pub advertise_interval_cs: u16,
    #[serde(default = "default_version")]
    pub version: Version,
    /// `authentication-mode simple plain KEY`: 1-8 characters, sent by VRRPv2 only.
    #[serde(default)]
    pub simple_key: Option<String>,
    #[serde(default)]
    pub tracks: Vec<TrackedInterface>,
    /// Track entries the group follows, in configuration order.
    #[serde(default)]
    pub track_entries: Vec<TrackedEntry>,
    /// `vrrp vrid N shutdown`.
    #[serde(default)]
    pub shutdown: bool,
}

/// A group configuration the router cannot run.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("VRID {0} is out of range; use 1 to 255")]
    Vrid(u8),
    #[error("priority {0} is out of range; use 1 to 254")]
    Priority(u8),
    #[error("advertisement interval {0} is out of range; use 1 to 4095 centiseconds")]
    Interval(u16),
    #[error("preemption delay {0} is out of range; use 0 to 180000 centiseconds")]
    PreemptDelay(u32),
    #[error("authentication key must be 1 to 8 characters")]
    Key,
    #[error("virtual IP {0} is not a unicast address")]
    VirtualIp(Ipv4Addr),
    #[error("a group holds at most 255 virtual IPs")]
    TooManyVirtualIps,
    #[error("tracked interface reduction must be 1 to 255")]
    Reduction,
    #[error("VRID of a running group cannot change (from {from} to {to}); create a new group")]
    VridChanged { from: u8, to: u8 },
}

impl GroupConfig {
    /// A new group with the defaults: priority 100, preemption on without delay, 1 s
    /// adverts, VRRPv3, no authentication, no tracking.
    pub fn new(vrid: u8, virtual_ips: Vec<Ipv4Addr>) -> GroupConfig {
        GroupConfig {
            vrid,
            virtual_ips,
            priority: DEFAULT_PRIORITY,
            preempt: true,
            preempt_delay_cs: 0,
            advertise_interval_cs: DEFAULT_INTERVAL_CS,
            version: Version::V3,
            simple_key: None,
            tracks: Vec::new(),
            track_entries: Vec::new(),
            shutdown: false,
        }
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.vrid == 0 {
            return Err(ConfigError::Vrid(self.vrid));
        }
        if !(1..=254).contains(&self.priority) {
            return Err(ConfigError::Priority(self.priority));
        }
        if !(MIN_INTERVAL_CS..=MAX_V3_INTERVAL_CS).contains(&self.advertise_interval_cs) {
            return Err(ConfigError::Interval(self.advertise_interval_cs));
        }
        if self.preempt_delay_cs > MAX_PREEMPT_DELAY_CS {
            return Err(ConfigError::PreemptDelay(self.preempt_delay_cs));
        }
        if let Some(key) = &self.simple_key
            && (key.is_empty() || key.len() > AUTH_DATA_LEN)
        {
            return Err(ConfigError::Key);
        }
        if self.virtual_ips.len() > 255 {
            return Err(ConfigError::TooManyVirtualIps);
        }
        if let Some(bad) = self
            .virtual_ips
            .iter()
            .find(|a| a.is_unspecified() || a.is_multicast() || a.is_broadcast())
        {
            return Err(ConfigError::VirtualIp(*bad));
        }
        if self.tracks.iter().any(|t| t.reduced == 0)
            || self
                .track_entries
                .iter()
                .any(|t| t.action == TrackAction::Reduce(0))
        {
            return Err(ConfigError::Reduction);
        }
        Ok(())
    }

    /// The interval this group sends, in centiseconds: VRRPv2 carries whole seconds, so it
    /// rounds up to a multiple of 100 (`timer advertise 150` sends 2 s).
    pub fn effective_interval_cs(&self) -> u16 {
        match self.version {
            Version::V3 => self.advertise_interval_cs,
            Version::V2 => self.advertise_interval_cs.div_ceil(100).max(1) * 100,
        }
    }

    /// The group owns a virtual IP when that address is the interface's own (RFC 5798
    /// section 1.6, "IP Address Owner").
    pub fn owns(&self, primary_ip: Option<Ipv4Addr>) -> bool {
        primary_ip.is_some_and(|p| self.virtual_ips.contains(&p))
    }
}

/// The VRRP part of one interface's configuration: `vrrp version` and its groups by VRID.
/// Every group's `version` equals the interface's (the commands keep them in step).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterfaceVrrp {
    pub version: Version,
    pub groups: BTreeMap<u8, GroupConfig>,
}

impl Default for InterfaceVrrp {
    fn default() -> Self {
        InterfaceVrrp {
            version: Version::V3,
            groups: BTreeMap::new(),
        }
    }
}

/// Interface names travel as their full text (`GigabitEthernet1/0/1`).
pub(super) mod ifname_text {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    use crate::interface::name::IfName;

    pub fn serialize<S: Serializer>(name: &IfName, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(name)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<IfName, D::Error> {
        let text = String::deserialize(d)?;
        text.parse()
            .map_err(|_| D::Error::custom(format!("bad interface name {text:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vip() -> Vec<Ipv4Addr> {
        vec![Ipv4Addr::new(10, 0, 0, 254)]
    }

    #[test]
    fn defaults_follow_comware() {
        let c = GroupConfig::new(1, vip());
        assert_eq!(c.priority, 100);
        assert!(c.preempt);
        assert_eq!(c.preempt_delay_cs, 0);
        assert_eq!(c.advertise_interval_cs, 100);
        assert_eq!(c.version, Version::V3);
        assert_eq!(c.validate(), Ok(()));
    }

    #[test]
    fn v2_rounds_the_interval_up_to_seconds() {
        let mut c = GroupConfig::new(1, vip());
        c.version = Version::V2;
        for (cs, sent) in [(10, 100), (100, 100), (101, 200), (150, 200), (4095, 4100)] {
            c.advertise_interval_cs = cs;
            assert_eq!(c.effective_interval_cs(), sent, "{cs}");
        }
        c.version = Version::V3;
        c.advertise_interval_cs = 150;
        assert_eq!(c.effective_interval_cs(), 150);
    }

    #[test]
    fn validation_rejects_out_of_range_values() {
        let base = GroupConfig::new(1, vip());
        let cases: Vec<(GroupConfig, ConfigError)> = vec![
            (
                GroupConfig {
                    vrid: 0,
                    ..base.clone()
                },
                ConfigError::Vrid(0),
            ),
            (
                GroupConfig {
                    priority: 0,
                    ..base.clone()
                },
                ConfigError::Priority(0),
            ),
            (
                GroupConfig {
                    priority: 255,
                    ..base.clone()
                },
                ConfigError::Priority(255),
            ),
            (
                GroupConfig {
                    advertise_interval_cs: 0,
                    ..base.clone()
                },
                ConfigError::Interval(0),
            ),
            (
                GroupConfig {
                    advertise_interval_cs: 4096,
                    ..base.clone()
                },
                ConfigError::Interval(4096),
            ),
            (
                GroupConfig {
                    preempt_delay_cs: 180_001,
                    ..base.clone()
                },
                ConfigError::PreemptDelay(180_001),
            ),
            (
                GroupConfig {
                    simple_key: Some(String::new()),
                    ..base.clone()
                },
                ConfigError::Key,
            ),
            (
                GroupConfig {
                    simple_key: Some("123456789".into()),
                    ..base.clone()
                },
                ConfigError::Key,
            ),
            (
                GroupConfig {
                    virtual_ips: vec![Ipv4Addr::new(224, 0, 0, 1)],
                    ..base.clone()
                },
                ConfigError::VirtualIp(Ipv4Addr::new(224, 0, 0, 1)),
            ),
            (
                GroupConfig {
                    tracks: vec![TrackedInterface {
                        interface: "ge1/0/2".parse().unwrap(),
                        reduced: 0,
                    }],
                    ..base.clone()
                },
                ConfigError::Reduction,
            ),
        ];
        for (config, error) in cases {
            assert_eq!(config.validate(), Err(error));
        }
    }

    #[test]
    fn ownership_is_the_primary_address_among_the_virtual_ips() {
        let c = GroupConfig::new(
            1,
            vec![Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2)],
        );
        assert!(c.owns(Some(Ipv4Addr::new(10, 0, 0, 2))));
        assert!(!c.owns(Some(Ipv4Addr::new(10, 0, 0, 3))));
        assert!(!c.owns(None));
    }

    #[test]
    fn serde_round_trip_names_interfaces_by_text() {
        let mut c = GroupConfig::new(7, vip());
        c.tracks.push(TrackedInterface {
            interface: "ge1/0/2".parse().unwrap(),
            reduced: 30,
        });
        c.simple_key = Some("secret".into());
        let json = serde_json::to_string(&c).unwrap();
        assert!(json.contains("\"GigabitEthernet1/0/2\""), "{json}");
        assert!(json.contains("\"version\":3"), "{json}");
        assert_eq!(serde_json::from_str::<GroupConfig>(&json).unwrap(), c);
        let short = r#"{"vrid": 7, "virtual_ips": ["10.0.0.254"]}"#;
        assert_eq!(
            serde_json::from_str::<GroupConfig>(short).unwrap(),
            GroupConfig::new(7, vip())
        );
        let track: TrackedInterface = serde_json::from_str(r#"{"interface": "ge1/0/3"}"#).unwrap();
        assert_eq!(track.reduced, DEFAULT_REDUCTION);
    }
}
