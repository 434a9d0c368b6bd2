//! The sans-IO VRRP state machine of one group on one interface (RFC 5798 section 6.4,
//! RFC 3768 section 6.4), shaped like quinn-proto: `handle_*` take input with the current
//! time, `poll_*` give what to send, the next deadline and the events to publish. It never
//! reads a clock: `now` is any monotonic `Duration` the driver chooses as its epoch.
//!
//! Preemption delay (a Comware extension, not in the RFC): a backup that preempts and hears
//! a lower-priority master keeps treating it as master (its adverts reset Master_Down_Timer)
//! for the delay, counted from the first such advert. After that it discards them as RFC 5798
//! 6.4.2 says, so it takes over Master_Down_Interval after the last advert it accepted. With
//! no delay this is exactly the RFC.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::Ipv4Addr;
use std::time::Duration;

use super::config::{ConfigError, GroupConfig, OWNER_PRIORITY, TrackAction};
use super::io::{Event, Input, Output, State, StateReason, Transmit};
use super::packet::{Advertisement, Auth, IpHeader, RejectReason, Version};
use super::status::{EntryTrackStatus, Statistics, Status, TrackStatus, virtual_mac};
use super::timers::{cs, master_down_interval, skew_time};
use crate::interface::name::IfName;
use crate::track::TrackState;

/// One VRRP group on one interface.
#[derive(Clone, Debug)]
pub struct Router {
    config: GroupConfig,
    primary_ip: Option<Ipv4Addr>,
    link_up: bool,
    /// Tracked interfaces currently down.
    tracks_down: BTreeSet<IfName>,
    /// The track entries' states as the driver last told them (an entry never told is
    /// NotReady).
    entry_states: BTreeMap<u16, TrackState>,
    state: State,
    running_priority: u8,
    /// The interval the master is timed by (RFC 5798 Master_Adver_Interval), centiseconds.
    master_adver_interval_cs: u16,
    master_ip: Option<Ipv4Addr>,
    master_priority: Option<u8>,
    adver_timer: Option<Duration>,
    master_down_timer: Option<Duration>,
    /// Master_Down_Timer was last set to Skew_Time by a priority 0 advert.
    down_after_resign: bool,
    /// When this backup first heard a lower-priority master it wants to preempt.
    preempt_since: Option<Duration>,
    /// Hot backup holds preemption while this device lacks the peer's bindings.
    preempt_held: bool,
    /// The virtual IPs this router has told the driver to add (while master).
    installed: Vec<Ipv4Addr>,
    outputs: VecDeque<Output>,
    stats: Statistics,
}

impl Router {
    /// A group not yet configured: it stays in Initialize until [`Router::handle_config`]
    /// gives it a virtual IP and the interface a primary address.
    pub fn new(vrid: u8, link_up: bool) -> Router {
        let config = GroupConfig::new(vrid, Vec::new());
        Router {
            running_priority: config.priority,
            master_adver_interval_cs: config.advertise_interval_cs,
            config,
            primary_ip: None,
            link_up,
            tracks_down: BTreeSet::new(),
            entry_states: BTreeMap::new(),
            state: State::Initialize,
            master_ip: None,
            master_priority: None,
            adver_timer: None,
            master_down_timer: None,
            down_after_resign: false,
            preempt_since: None,
            preempt_held: false,
            installed: Vec::new(),
            outputs: VecDeque::new(),
            stats: Statistics::default(),
        }
    }

    /// Hold preemption (hot backup: this device has not yet applied the peer's table), or
    /// allow it again. While held, a lower-priority master is accepted as in non-preempt
    /// mode, and the preemption delay starts again once it is lifted.
    pub fn set_preempt_held(&mut self, held: bool) {
        self.preempt_held = held;
    }

    pub fn vrid(&self) -> u8 {
        self.config.vrid
    }

    pub fn state(&self) -> State {
        self.state
    }

    pub fn config(&self) -> &GroupConfig {
        &self.config
    }

    pub fn statistics(&self) -> &Statistics {
        &self.stats
    }

    /// `reset vrrp statistics`.
    pub fn reset_statistics(&mut self) {
        self.stats = Statistics::default();
    }

    /// Feed one recorded input (what a driver records, what conformance tests replay).
    pub fn handle(&mut self, now: Duration, input: &Input) -> Result<(), ConfigError> {
        match input {
            Input::Config { config, primary_ip } => {
                return self.handle_config(now, config, *primary_ip);
            }
            Input::Packet { ip, payload } => self.handle_packet(now, ip, payload),
            Input::Timeout => self.handle_timeout(now),
            Input::Link { up } => self.handle_link(now, *up),
            Input::Track { interface, up } => self.handle_track(now, interface, *up),
            Input::TrackEntry { entry, state } => self.handle_track_entry(now, *entry, *state),
            Input::Remove => self.handle_remove(),
        }
        Ok(())
    }

    // ---- outputs ------------------------------------------------------------------------

    /// The next thing to do, in the order the router produced it.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// Every pending output, in order.
    pub fn drain_outputs(&mut self) -> Vec<Output> {
        self.outputs.drain(..).collect()
    }

    /// The next advert to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        let at = self
            .outputs
            .iter()
            .position(|o| matches!(o, Output::Transmit(_)))?;
        match self.outputs.remove(at) {
            Some(Output::Transmit(t)) => Some(t),
            other => unreachable!("position found a transmit, got {other:?}"),
        }
    }

    /// The next event to publish.
    pub fn poll_event(&mut self) -> Option<Event> {
        let at = self
            .outputs
            .iter()
            .position(|o| matches!(o, Output::Event(_)))?;
        match self.outputs.remove(at) {
            Some(Output::Event(e)) => Some(e),
            other => unreachable!("position found an event, got {other:?}"),
        }
    }

    /// When to call [`Router::handle_timeout`] next.
    pub fn poll_timeout(&self) -> Option<Duration> {
        match (self.adver_timer, self.master_down_timer) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    // ---- inputs -------------------------------------------------------------------------

    /// A new configuration for this group and the interface's primary address. Invalid
    /// configuration is refused and changes nothing.
    pub fn handle_config(
        &mut self,
        now: Duration,
        config: &GroupConfig,
        primary_ip: Option<Ipv4Addr>,
    ) -> Result<(), ConfigError> {
        config.validate()?;
        if config.vrid != self.config.vrid {
            return Err(ConfigError::VridChanged {
                from: self.config.vrid,
                to: config.vrid,
            });
        }
        let runnable = !config.shutdown
            && self.link_up
            && primary_ip.is_some()
            && !config.virtual_ips.is_empty();
        if self.state != State::Initialize && (!runnable || config.version != self.config.version) {
            let reason = if config.shutdown {
                StateReason::AdminShutdown
            } else if !runnable {
                StateReason::NoAddress
            } else {
                StateReason::VersionChanged
            };
            // Resign under the old configuration, from the address the peers know.
            self.shutdown(reason, true);
        }
        self.config = config.clone();
        self.primary_ip = primary_ip;
        self.tracks_down
            .retain(|i| config.tracks.iter().any(|t| &t.interface == i));
        if self.state == State::Backup && config.version == Version::V2 {
            // v2 times the master by the configured interval (it must match the master's).
            self.master_adver_interval_cs = config.effective_interval_cs();
        }
        self.update_priority(now);
        match self.state {
            State::Initialize if runnable => self.startup(now),
            State::Master => self.sync_virtual_ips(),
            State::Backup if self.running_priority == OWNER_PRIORITY => {
                self.become_master(now, StateReason::AddressOwner)
            }
            _ => {}
        }
        Ok(())
    }

    /// The interface's link went up or down.
    pub fn handle_link(&mut self, now: Duration, up: bool) {
        self.link_up = up;
        if !up && self.state != State::Initialize {
            // Nothing can be sent on a down link, so no priority 0 advert.
            self.shutdown(StateReason::InterfaceDown, false);
        } else if up && self.state == State::Initialize && self.runnable() {
            self.startup(now);
        }
    }

    /// A tracked interface went up or down. The state is kept even before the configuration
    /// names the interface (the driver tells the states first, so a new group starts at its
    /// running priority); only configured tracks count (`update_priority`), and
    /// `handle_config` forgets the others.
    pub fn handle_track(&mut self, now: Duration, interface: &IfName, up: bool) {
        if up {
            self.tracks_down.remove(interface);
        } else {
            self.tracks_down.insert(interface.clone());
        }
        self.update_priority(now);
    }

    /// A track entry's state changed (src/track). The state is kept whether or not the group
    /// follows the entry yet, so a driver may tell the states before the configuration that
    /// names them and the group still starts at its running priority.
    ///
    /// Comware 7: while an entry is Negative its `priority reduced R` lowers the running
    /// priority (never below 1, never for the IP address owner); Positive or NotReady gives
    /// it back. An entry with `switchover` that turns Negative makes a backup master at once
    /// instead of waiting for Master_Down_Timer (the entry watches the master's path).
    pub fn handle_track_entry(&mut self, now: Duration, entry: u16, state: TrackState) {
        let before = self.entry_states.insert(entry, state);
        self.update_priority(now);
        let turned_negative = state == TrackState::Negative && before != Some(TrackState::Negative);
        let switchover = self
            .config
            .track_entries
            .iter()
            .any(|t| t.entry == entry && t.action == TrackAction::Switchover);
        if turned_negative && switchover && self.state == State::Backup {
            self.become_master(now, StateReason::TrackSwitchover);
        }
    }

    /// The group is deleted: a master resigns with priority 0 (RFC 5798 6.4.3 Shutdown).
    pub fn handle_remove(&mut self) {
        if self.state != State::Initialize {
            self.shutdown(StateReason::Removed, self.link_up);
        }
    }

    /// Fire whichever timer is due.
    pub fn handle_timeout(&mut self, now: Duration) {
        match self.state {
            State::Master if self.adver_timer.is_some_and(|t| t <= now) => {
                // RFC 5798 6.4.3: Adver_Timer fired: send an advert, restart the timer.
                self.send_advert(self.running_priority);
                self.adver_timer = Some(now + self.adver_interval());
            }
            State::Backup if self.master_down_timer.is_some_and(|t| t <= now) => {
                // RFC 5798 6.4.2: Master_Down_Timer fired.
                let reason = if self.down_after_resign {
                    StateReason::MasterResigned
                } else {
                    StateReason::MasterDownExpired
                };
                self.become_master(now, reason);
            }
            _ => {}
        }
    }

    /// A VRRP message received on the interface, with the IPv4 header it came in.
    pub fn handle_packet(&mut self, now: Duration, ip: &IpHeader, payload: &[u8]) {
        self.stats.received += 1;
        match Advertisement::decode(ip, payload).and_then(|adv| self.check(ip, adv)) {
            Ok(adv) => {
                self.stats.accepted += 1;
                if adv.priority == 0 {
                    self.stats.priority_zero_received += 1;
                }
                match self.state {
                    State::Backup => self.backup_receive(now, ip.src, &adv),
                    State::Master => self.master_receive(now, ip.src, &adv),
                    State::Initialize => unreachable!("check() rejects packets in Initialize"),
                }
            }
            Err(reason) => {
                self.stats.reject(reason);
                self.outputs.push_back(Output::Event(Event::PacketRejected {
                    from: ip.src,
                    reason,
                }));
            }
        }
    }

    /// The checks of RFC 5798 section 7.1 (RFC 3768 section 7.1 for v2) that need this
    /// group's configuration.
    fn check(&self, ip: &IpHeader, adv: Advertisement) -> Result<Advertisement, RejectReason> {
        if self.state == State::Initialize {
            return Err(RejectReason::Inactive);
        }
        if Some(ip.src) == self.primary_ip {
            return Err(RejectReason::OwnAdvert);
        }
        if adv.vrid != self.config.vrid {
            return Err(RejectReason::VridNotConfigured);
        }
        if adv.version != self.config.version {
            return Err(RejectReason::BadVersion);
        }
        if adv.version == Version::V2 {
            // RFC 3768 7.1: the authentication type and data must match the configuration.
            let expected = self
                .config
                .simple_key
                .as_deref()
                .map_or(Auth::None, Auth::simple);
            if adv.auth != expected {
                return Err(RejectReason::AuthMismatch);
            }
            // RFC 3768 7.1: MUST verify the Adver Interval matches the configured one.
            if adv.interval_cs != self.config.effective_interval_cs() {
                return Err(RejectReason::IntervalMismatch);
            }
        }
        // RFC 5798 7.1: MUST discard when the local router is the address owner.
        if self.running_priority == OWNER_PRIORITY {
            return Err(RejectReason::LocalIsOwner);
        }
        // RFC 5798 7.1: an address list that differs is dropped unless the owner sent it.
        if adv.priority != OWNER_PRIORITY {
            let theirs: BTreeSet<_> = adv.addresses.iter().collect();
            let ours: BTreeSet<_> = self.config.virtual_ips.iter().collect();
            if theirs != ours {
                return Err(RejectReason::AddressListMismatch);
            }
        }
        Ok(adv)
    }

    /// RFC 5798 6.4.2: an ADVERTISEMENT received in Backup.
    fn backup_receive(&mut self, now: Duration, src: Ipv4Addr, adv: &Advertisement) {
        if adv.priority == 0 {
            // The master resigned: take over after Skew_Time unless someone else does first.
            self.master_down_timer = Some(now + self.skew());
            self.down_after_resign = true;
            return;
        }
        let lower = adv.priority < self.running_priority;
        if self.config.preempt && lower && !self.preempt_held {
            let since = *self.preempt_since.get_or_insert(now);
            if now >= since + cs(u64::from(self.config.preempt_delay_cs)) {
                // Preempt: discard, and Master_Down_Timer runs out.
                return;
            }
        } else {
            self.preempt_since = None;
        }
        self.adopt_interval(adv.interval_cs);
        self.master_ip = Some(src);
        self.master_priority = Some(adv.priority);
        self.master_down_timer = Some(now + self.master_down());
        self.down_after_resign = false;
    }

    /// RFC 5798 6.4.3: an ADVERTISEMENT received in Master.
    fn master_receive(&mut self, now: Duration, src: Ipv4Addr, adv: &Advertisement) {
        if adv.priority == 0 {
            // Another master resigned: assert ourselves at once.
            self.send_advert(self.running_priority);
            self.adver_timer = Some(now + self.adver_interval());
            return;
        }
        let wins = adv.priority > self.running_priority
            || (adv.priority == self.running_priority && self.primary_ip.is_some_and(|p| src > p));
        if !wins {
            return;
        }
        self.adver_timer = None;
        self.adopt_interval(adv.interval_cs);
        self.master_ip = Some(src);
        self.master_priority = Some(adv.priority);
        self.master_down_timer = Some(now + self.master_down());
        self.down_after_resign = false;
        self.preempt_since = None;
        self.uninstall();
        self.set_state(State::Backup, StateReason::HigherPriorityMaster);
    }

    /// RFC 5798 6.4.2/6.4.3: a v3 backup times the master by the interval it advertises.
    /// (A v2 advert's interval already equals ours, or it was rejected.)
    fn adopt_interval(&mut self, interval_cs: u16) {
        if self.config.version == Version::V3 && interval_cs != self.master_adver_interval_cs {
            self.master_adver_interval_cs = interval_cs;
            self.outputs
                .push_back(Output::Event(Event::AdoptInterval { interval_cs }));
        }
    }

    // ---- transitions --------------------------------------------------------------------

    /// RFC 5798 6.4.1: Startup from Initialize.
    fn startup(&mut self, now: Duration) {
        if self.running_priority == OWNER_PRIORITY {
            self.become_master(now, StateReason::AddressOwner);
            return;
        }
        self.master_adver_interval_cs = self.config.effective_interval_cs();
        self.master_down_timer = Some(now + self.master_down());
        self.down_after_resign = false;
        self.preempt_since = None;
        self.master_ip = None;
        self.master_priority = None;
        self.set_state(State::Backup, StateReason::Startup);
    }

    /// Become master: advertise, add the virtual IPs, announce them by gratuitous ARP.
    fn become_master(&mut self, now: Duration, reason: StateReason) {
        self.master_down_timer = None;
        self.down_after_resign = false;
        self.preempt_since = None;
        self.master_ip = self.primary_ip;
        self.master_priority = Some(self.running_priority);
        self.master_adver_interval_cs = self.config.effective_interval_cs();
        self.stats.became_master += 1;
        self.set_state(State::Master, reason);
        self.send_advert(self.running_priority);
        self.adver_timer = Some(now + self.adver_interval());
        self.sync_virtual_ips();
    }

    /// Leave Backup or Master for Initialize. A master resigns with priority 0 when it can
    /// still send (RFC 5798 6.4.3 Shutdown).
    fn shutdown(&mut self, reason: StateReason, resign: bool) {
        if self.state == State::Master && resign {
            self.send_advert(0);
        }
        self.uninstall();
        self.adver_timer = None;
        self.master_down_timer = None;
        self.down_after_resign = false;
        self.preempt_since = None;
        self.master_ip = None;
        self.master_priority = None;
        self.set_state(State::Initialize, reason);
    }

    fn set_state(&mut self, to: State, reason: StateReason) {
        let from = std::mem::replace(&mut self.state, to);
        if from != to {
            self.stats.state_changes += 1;
            self.outputs
                .push_back(Output::Event(Event::StateChanged { from, to, reason }));
        }
    }

    /// Make the installed virtual IPs match the configuration (master only).
    fn sync_virtual_ips(&mut self) {
        let mac = virtual_mac(self.config.vrid);
        let removed: Vec<_> = self
            .installed
            .iter()
            .filter(|a| !self.config.virtual_ips.contains(a))
            .copied()
            .collect();
        let added: Vec<_> = self
            .config
            .virtual_ips
            .iter()
            .filter(|a| !self.installed.contains(a))
            .copied()
            .collect();
        if !removed.is_empty() {
            self.outputs
                .push_back(Output::Event(Event::RemoveVirtualIps {
                    addresses: removed,
                    mac,
                }));
        }
        if !added.is_empty() {
            self.outputs.push_back(Output::Event(Event::AddVirtualIps {
                addresses: added.clone(),
                mac,
            }));
            self.outputs.push_back(Output::Event(Event::GratuitousArp {
                addresses: added,
                mac,
            }));
        }
        self.installed.clone_from(&self.config.virtual_ips);
    }

    fn uninstall(&mut self) {
        if !self.installed.is_empty() {
            let addresses = std::mem::take(&mut self.installed);
            let mac = virtual_mac(self.config.vrid);
            self.outputs
                .push_back(Output::Event(Event::RemoveVirtualIps { addresses, mac }));
        }
    }

    fn send_advert(&mut self, priority: u8) {
        let Some(src) = self.primary_ip else { return };
        let auth = match (self.config.version, &self.config.simple_key) {
            (Version::V2, Some(key)) => Auth::simple(key),
            _ => Auth::None,
        };
        let advert = Advertisement {
            version: self.config.version,
            vrid: self.config.vrid,
            priority,
            interval_cs: self.config.effective_interval_cs(),
            auth,
            addresses: self.config.virtual_ips.clone(),
        };
        self.stats.sent += 1;
        if priority == 0 {
            self.stats.priority_zero_sent += 1;
        }
        self.outputs.push_back(Output::Transmit(Transmit {
            ip: IpHeader::multicast_from(src),
            advert,
        }));
    }

    /// Recompute the running priority: 255 for the owner, otherwise the configured priority
    /// less the reductions of tracked interfaces that are down, never below 1.
    fn update_priority(&mut self, now: Duration) {
        let priority = if self.config.owns(self.primary_ip) {
            OWNER_PRIORITY
        } else {
            let interfaces: u32 = self
                .config
                .tracks
                .iter()
                .filter(|t| self.tracks_down.contains(&t.interface))
                .map(|t| u32::from(t.reduced))
                .sum();
            let entries: u32 = self
                .config
                .track_entries
                .iter()
                .filter(|t| self.entry_state(t.entry) == TrackState::Negative)
                .map(|t| match t.action {
                    TrackAction::Reduce(r) => u32::from(r),
                    TrackAction::Switchover => 0,
                })
                .sum();
            let reduced = interfaces + entries;
            u32::from(self.config.priority)
                .saturating_sub(reduced)
                .max(1) as u8
        };
        if priority == self.running_priority {
            return;
        }
        let from = std::mem::replace(&mut self.running_priority, priority);
        if self.state != State::Initialize {
            self.outputs
                .push_back(Output::Event(Event::PriorityChanged { from, to: priority }));
        }
        if self.state == State::Master {
            // Tell the backups at once, so one that now outranks us can preempt without
            // waiting for the next advert.
            self.send_advert(priority);
            self.adver_timer = Some(now + self.adver_interval());
        }
    }

    fn entry_state(&self, entry: u16) -> TrackState {
        self.entry_states
            .get(&entry)
            .copied()
            .unwrap_or(TrackState::NotReady)
    }

    fn runnable(&self) -> bool {
        !self.config.shutdown
            && self.link_up
            && self.primary_ip.is_some()
            && !self.config.virtual_ips.is_empty()
    }

    fn adver_interval(&self) -> Duration {
        cs(u64::from(self.config.effective_interval_cs()))
    }

    fn skew(&self) -> Duration {
        skew_time(
            self.config.version,
            self.running_priority,
            self.master_adver_interval_cs,
        )
    }

    fn master_down(&self) -> Duration {
        master_down_interval(
            self.config.version,
            self.running_priority,
            self.master_adver_interval_cs,
        )
    }

    /// What `display vrrp verbose` shows, as of `now`.
    pub fn status(&self, now: Duration) -> Status {
        Status {
            vrid: self.config.vrid,
            state: self.state,
            admin_up: !self.config.shutdown,
            link_up: self.link_up,
            version: self.config.version,
            config_priority: self.config.priority,
            running_priority: self.running_priority,
            preempt: self.config.preempt,
            preempt_delay_cs: self.config.preempt_delay_cs,
            adver_timer_cs: self.config.advertise_interval_cs,
            master_adver_interval_cs: self.master_adver_interval_cs,
            simple_auth: self.config.simple_key.is_some() && self.config.version == Version::V2,
            virtual_ips: self.config.virtual_ips.clone(),
            virtual_mac: virtual_mac(self.config.vrid),
            master_ip: self.master_ip,
            master_priority: self.master_priority,
            become_master_in: match self.state {
                State::Backup => self.master_down_timer.map(|t| t.saturating_sub(now)),
                _ => None,
            },
            tracks: self
                .config
                .tracks
                .iter()
                .map(|t| TrackStatus {
                    interface: t.interface.to_string(),
                    up: !self.tracks_down.contains(&t.interface),
                    reduced: t.reduced,
                })
                .collect(),
            track_entries: self
                .config
                .track_entries
                .iter()
                .map(|t| EntryTrackStatus {
                    entry: t.entry,
                    state: self.entry_state(t.entry),
                    action: t.action,
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests;
