//! The running configuration's machinery: the store that owns it and publishes snapshots to
//! the engines, the configuration text (sections in Comware order), the atomic file write and
//! the next-startup record.
//!
//! It knows no feature: the typed configuration itself (`crate::features::Config`) is one part
//! per feature, assembled at the top of the crate, and each feature renders its own sections.

pub mod atomic;
pub mod render;
pub mod startup;
pub mod text;

use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::watch;

/// The name of a new device (`sysname`'s default).
pub const DEFAULT_SYSNAME: &str = "Duet";

/// The one owner of the running configuration. Commands edit it under the lock; a changed
/// configuration is published as an immutable snapshot to the engines.
pub struct ConfigStore<C> {
    inner: Mutex<C>,
    tx: watch::Sender<Arc<C>>,
}

impl<C: Clone + PartialEq> ConfigStore<C> {
    pub fn new(config: C) -> Self {
        let (tx, _) = watch::channel(Arc::new(config.clone()));
        ConfigStore {
            inner: Mutex::new(config),
            tx,
        }
    }
    /// The configuration, locked for reading or editing by one command.
    pub fn lock(&self) -> MutexGuard<'_, C> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
    /// The last published snapshot.
    pub fn snapshot(&self) -> Arc<C> {
        self.tx.borrow().clone()
    }
    /// Engines subscribe here and reconcile on every new snapshot.
    pub fn subscribe(&self) -> watch::Receiver<Arc<C>> {
        self.tx.subscribe()
    }
    /// Publish the current configuration if it differs from the last snapshot.
    pub fn publish(&self) {
        let current = self.lock().clone();
        self.tx.send_if_modified(|snap| {
            if **snap == current {
                false
            } else {
                *snap = Arc::new(current);
                true
            }
        });
    }
}
