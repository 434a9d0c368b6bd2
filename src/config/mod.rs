//! The typed running configuration and its owner.
//!
//! Each feature owns its part of [`Config`] (and renders it); this module holds the whole,
//! the store that publishes snapshots to the engines, rendering in Comware order, loading a
//! file through the CLI parser, and atomic save.

mod atomic;
pub mod load;
pub mod render;
pub mod save;
pub mod startup;
#[cfg(test)]
pub(crate) mod testing;
pub mod text;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::watch;

use crate::aaa::{LinesConfig, LocalUser, SshServerConfig};
use crate::dhcp::DhcpConfig;
use crate::hotbackup::settings::HotBackupConfig;
use crate::infocenter::InfoCenterConfig;
use crate::interface::config::InterfaceConfig;
use crate::interface::name::IfName;
use crate::interface::subnets::SubnetIndex;

pub const DEFAULT_SYSNAME: &str = "Duet";

/// The whole running configuration. `Default` is a new device's configuration, except for the
/// interfaces, which come from the hardware (see [`Config::new`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub sysname: String,
    /// One entry per port of the device, configured or not.
    pub interfaces: BTreeMap<IfName, InterfaceConfig>,
    /// `info-center ...` (system view); rendered by [`InfoCenterConfig::render`].
    pub infocenter: InfoCenterConfig,
    /// `dhcp enable`, `dhcp server ip-pool ...`, `dhcp server forbidden-ip ...`.
    pub dhcp: DhcpConfig,
    /// `line console 0` and `line vty A B` settings.
    pub lines: LinesConfig,
    /// `ssh server ...` (system view).
    pub ssh: SshServerConfig,
    /// `local-user NAME class manage`, by name.
    pub users: BTreeMap<String, LocalUser>,
    /// The ports' subnets indexed for the overlap check (derived from `interfaces` by the
    /// `ip address` handler; compares equal always).
    pub subnets: SubnetIndex,
    /// The `hot-backup` view and `dhcp server hot-backup`.
    pub hotbackup: HotBackupConfig,
}

impl Config {
    /// A new device's configuration with these ports.
    pub fn new(ports: &[IfName]) -> Self {
        Config {
            sysname: DEFAULT_SYSNAME.to_string(),
            interfaces: ports
                .iter()
                .map(|p| (p.clone(), InterfaceConfig::default()))
                .collect(),
            infocenter: InfoCenterConfig::default(),
            dhcp: DhcpConfig::default(),
            lines: LinesConfig::default(),
            ssh: SshServerConfig::default(),
            users: BTreeMap::new(),
            subnets: SubnetIndex::default(),
            hotbackup: HotBackupConfig::default(),
        }
    }
}

/// The one owner of the running configuration. Commands edit it under the lock; a changed
/// configuration is published as an immutable snapshot to the engines.
pub struct ConfigStore {
    inner: Mutex<Config>,
    tx: watch::Sender<Arc<Config>>,
}

impl ConfigStore {
    pub fn new(config: Config) -> Self {
        let (tx, _) = watch::channel(Arc::new(config.clone()));
        ConfigStore {
            inner: Mutex::new(config),
            tx,
        }
    }
    /// The configuration, locked for reading or editing by one command.
    pub fn lock(&self) -> MutexGuard<'_, Config> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
    /// The last published snapshot.
    pub fn snapshot(&self) -> Arc<Config> {
        self.tx.borrow().clone()
    }
    /// Engines subscribe here and reconcile on every new snapshot.
    pub fn subscribe(&self) -> watch::Receiver<Arc<Config>> {
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
