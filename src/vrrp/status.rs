//! What `display vrrp [verbose]` and `display vrrp statistics` show of one group.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::config::TrackAction;
use super::io::State;
use super::packet::{RejectReason, Version};
use crate::track::TrackState;

/// The virtual MAC of a VRID: 00-00-5E-00-01-{VRID} (RFC 5798 section 7.3).
pub fn virtual_mac(vrid: u8) -> [u8; 6] {
    [0x00, 0x00, 0x5e, 0x00, 0x01, vrid]
}

/// A tracked interface as the group sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackStatus {
    /// Full interface name.
    pub interface: String,
    pub up: bool,
    pub reduced: u8,
}

/// A snapshot of one group, taken at a given `now`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    pub vrid: u8,
    pub state: State,
    /// `Admin Status`: false when the group is shut down.
    pub admin_up: bool,
    pub link_up: bool,
    pub version: Version,
    pub config_priority: u8,
    pub running_priority: u8,
    pub preempt: bool,
    pub preempt_delay_cs: u32,
    /// `Adver Timer`: the configured interval (centiseconds).
    pub adver_timer_cs: u16,
    /// The interval the master is timed by (a VRRPv3 backup adopts the master's).
    pub master_adver_interval_cs: u16,
    pub simple_auth: bool,
    pub virtual_ips: Vec<Ipv4Addr>,
    pub virtual_mac: [u8; 6],
    pub master_ip: Option<Ipv4Addr>,
    pub master_priority: Option<u8>,
    /// `Become Master : Nms left` on a backup.
    pub become_master_in: Option<Duration>,
    pub tracks: Vec<TrackStatus>,
    /// `vrrp vrid N track M ...`, in configuration order.
    #[serde(default)]
    pub track_entries: Vec<EntryTrackStatus>,
}

/// A track entry a group follows, its state and what its Negative state does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryTrackStatus {
    pub entry: u16,
    pub state: TrackState,
    pub action: TrackAction,
}

/// Counters of one group, cleared by `reset vrrp statistics`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statistics {
    /// Every packet handed to the router.
    pub received: u64,
    /// Packets that passed every check.
    pub accepted: u64,
    pub sent: u64,
    pub priority_zero_received: u64,
    pub priority_zero_sent: u64,
    pub became_master: u64,
    /// Every change of state (Initialize, Backup, Master), whatever its reason (the metrics
    /// endpoint's transitions per group).
    pub state_changes: u64,
    /// Dropped packets by reason.
    pub rejected: BTreeMap<RejectReason, u64>,
}

impl Statistics {
    pub fn rejected(&self, reason: RejectReason) -> u64 {
        self.rejected.get(&reason).copied().unwrap_or(0)
    }

    pub fn rejected_total(&self) -> u64 {
        self.rejected.values().sum()
    }

    pub(super) fn reject(&mut self, reason: RejectReason) {
        *self.rejected.entry(reason).or_default() += 1;
    }
}
