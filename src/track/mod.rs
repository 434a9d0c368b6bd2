//! Track entries (Comware 7's Track module): `track N interface IF [physical]` in system view
//! creates entry N, whose state follows an interface: Positive while it is up, Negative while
//! it is down, NotReady while the interface is unknown to the device's network. The track
//! engine (engine.rs) publishes every entry's state on `Device::track_states`; VRRP
//! (`vrrp vrid X track N ...`) follows it the way it follows interface status, and a VRRP
//! group may name an entry that does not exist yet (it is NotReady until created).
//!
//! The states are a pure function of the configuration and the interface status
//! ([`evaluate`]); only the engine reads the clock (for how long an entry has been in its
//! state, `display track`).

pub mod commands;
pub mod engine;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::config::render::Place;
use crate::device::Registry;
use crate::features::Feature;
use crate::interface::name::IfName;
use crate::interface::status::IfStatus;

/// Highest track entry number (Comware 7: 1 to 1024).
pub const MAX_ENTRY: u16 = 1024;

/// The Track feature: its commands, its lines of the configuration, its engine.
pub const FEATURE: Feature = Feature {
    name: "track",
    register,
    render: |cfg, out| out.global(Place::Global, cfg.track.render()),
    start: Some(engine::start_on_device),
};

pub fn register(r: &mut Registry) {
    r.add("track.entry", commands::entry);
    r.add("track.display", commands::display);
}

/// What an entry follows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TrackObject {
    /// `interface IF`: the interface's link (line protocol) state; `physical`: its physical
    /// state.
    Interface { interface: IfName, physical: bool },
}

/// The configured track entries, by number.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrackConfig {
    pub entries: BTreeMap<u16, TrackObject>,
}

impl TrackConfig {
    /// ` track N interface IF [physical]`, one line per entry.
    pub fn render(&self) -> Vec<String> {
        self.entries
            .iter()
            .map(|(n, object)| match object {
                TrackObject::Interface {
                    interface,
                    physical,
                } => format!(
                    "track {n} interface {interface}{}",
                    if *physical { " physical" } else { "" }
                ),
            })
            .collect()
    }
}

/// The state of a track entry (Comware's words).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TrackState {
    /// The tracked object works.
    Positive,
    /// The tracked object is down.
    Negative,
    /// The tracked object is not known (or the entry does not exist).
    NotReady,
}

impl TrackState {
    pub fn text(self) -> &'static str {
        match self {
            TrackState::Positive => "Positive",
            TrackState::Negative => "Negative",
            TrackState::NotReady => "NotReady",
        }
    }
}

/// The state of one object given the interfaces' status.
pub fn evaluate(object: &TrackObject, ifs: &IfStatus) -> TrackState {
    match object {
        TrackObject::Interface {
            interface,
            physical,
        } => match ifs.get(interface) {
            None => TrackState::NotReady,
            Some(port) => {
                let up = if *physical {
                    port.physical_up()
                } else {
                    port.protocol_up()
                };
                if up {
                    TrackState::Positive
                } else {
                    TrackState::Negative
                }
            }
        },
    }
}

/// One entry as the engine last published it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryStatus {
    pub object: TrackObject,
    pub state: TrackState,
    /// When it entered this state.
    pub since: SystemTime,
}

/// Every entry's state, by number.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrackStates {
    pub entries: BTreeMap<u16, EntryStatus>,
}

impl TrackStates {
    /// The state of entry `n`: NotReady for an entry that does not exist (Comware: a VRRP
    /// group may track an entry before it is created).
    pub fn state(&self, n: u16) -> TrackState {
        self.entries
            .get(&n)
            .map_or(TrackState::NotReady, |e| e.state)
    }
}

pub type TrackStatesSender = watch::Sender<Arc<TrackStates>>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interface::status::PortStatus;

    fn ge(n: u32) -> IfName {
        format!("ge1/0/{n}").parse().unwrap()
    }

    #[test]
    fn an_entry_follows_its_interface() {
        let object = TrackObject::Interface {
            interface: ge(1),
            physical: false,
        };
        let mut ifs = IfStatus::new();
        assert_eq!(evaluate(&object, &ifs), TrackState::NotReady);
        ifs.insert(ge(1), PortStatus::default());
        assert_eq!(evaluate(&object, &ifs), TrackState::Negative);
        let port = ifs.get_mut(&ge(1)).unwrap();
        port.admin_up = true;
        port.link_up = true;
        assert_eq!(evaluate(&object, &ifs), TrackState::Positive);
        assert_eq!(TrackStates::default().state(7), TrackState::NotReady);
    }
}
