//! The track engine: follows the configuration and the interface engine's status and
//! publishes every entry's state on `Device::track_states`. It is the I/O shell around
//! [`super::evaluate`]: the only part of the feature that reads the clock (when an entry
//! entered its state).

use std::sync::Arc;
use std::time::SystemTime;

use tokio::runtime::Handle;

use super::{EntryStatus, TrackStates, TrackStatesSender, evaluate};
use crate::device::{Device, StartError};
use crate::features::{Config, Network};
use crate::interface::status::IfStatus;

/// The feature's `start`: publish the states at once (so the VRRP driver, started after this
/// engine, sees them in its first reconcile), then follow every change.
pub fn start_on_device(
    device: &Arc<Device>,
    rt: &Handle,
    _net: &Network<'_>,
) -> Result<(), StartError> {
    let mut config = device.config.subscribe();
    let mut interfaces = device.if_status.subscribe();
    let states = device.track_states.clone();
    let cfg = config.borrow_and_update().clone();
    let ifs = interfaces.borrow_and_update().clone();
    publish(&states, &cfg, &ifs, SystemTime::now());
    device.spawn(rt, async move {
        loop {
            tokio::select! {
                changed = config.changed() => {
                    if changed.is_err() {
                        return;
                    }
                }
                changed = interfaces.changed() => {
                    if changed.is_err() {
                        return;
                    }
                }
            }
            let cfg = config.borrow_and_update().clone();
            let ifs = interfaces.borrow_and_update().clone();
            publish(&states, &cfg, &ifs, SystemTime::now());
        }
    });
    Ok(())
}

/// Publish the states of `cfg`'s entries if any changed; an entry whose state did not change
/// keeps its `since`.
pub fn publish(states: &TrackStatesSender, cfg: &Config, ifs: &IfStatus, now: SystemTime) {
    let before = states.borrow().clone();
    let next = TrackStates {
        entries: cfg
            .track
            .entries
            .iter()
            .map(|(n, object)| {
                let state = evaluate(object, ifs);
                let since = before
                    .entries
                    .get(n)
                    .filter(|e| e.state == state && &e.object == object)
                    .map_or(now, |e| e.since);
                (
                    *n,
                    EntryStatus {
                        object: object.clone(),
                        state,
                        since,
                    },
                )
            })
            .collect(),
    };
    if next != *before {
        for (n, e) in &next.entries {
            let old = before.entries.get(n).map(|e| e.state);
            if old.is_some_and(|s| s != e.state) {
                tracing::info!(
                    module = "TRACK",
                    severity = 6u8,
                    mnemonic = "TRACK_STATE_CHANGE",
                    "The state of track entry {n} changed from {} to {}.",
                    old.map_or("NotReady", |s| s.text()),
                    e.state.text()
                );
            }
        }
        states.send_replace(Arc::new(next));
    }
}
