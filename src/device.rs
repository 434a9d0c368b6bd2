//! A Device: the configuration owner, the engines and the sessions, and the wiring between them.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use crate::cli::Registry;
use crate::config::{Config, ConfigStore};
use crate::infocenter::LogBuffer;
use crate::interface::name::IfName;

/// Which network a device runs on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NetKind {
    /// The in-process simulated LAN (no root needed).
    Sim,
    /// Real Linux interfaces, each vendor-style port mapped onto a Linux interface name.
    Linux { ports: Vec<(IfName, String)> },
}

/// How to start a device.
#[derive(Clone, Debug)]
pub struct DeviceOptions {
    pub data_dir: PathBuf,
    pub net: NetKind,
}

/// One network device.
pub struct Device {
    pub options: DeviceOptions,
    /// The ports this device has, in Comware order.
    pub ports: Vec<IfName>,
    pub config: ConfigStore,
    pub logs: Arc<LogBuffer>,
    pub handlers: Registry,
    pub started: SystemTime,
}

impl Device {
    pub fn ports_for(net: &NetKind) -> Vec<IfName> {
        let mut ports: Vec<IfName> = match net {
            NetKind::Sim => (1..=4)
                .map(|n| {
                    IfName::parse_parts("GigabitEthernet", &format!("1/0/{n}")).expect("valid")
                })
                .collect(),
            NetKind::Linux { ports } => ports.iter().map(|(n, _)| n.clone()).collect(),
        };
        ports.sort();
        ports
    }

    pub fn new(options: DeviceOptions) -> Arc<Device> {
        let ports = Self::ports_for(&options.net);
        Arc::new(Device {
            config: ConfigStore::new(Config::new(&ports)),
            ports,
            options,
            logs: Arc::new(LogBuffer::default()),
            handlers: Registry::all(),
            started: SystemTime::now(),
        })
    }

    pub fn sysname(&self) -> String {
        self.config.lock().sysname.clone()
    }

    /// Record a Comware-style log line in this device's log buffer
    /// (`SHELL`, 5, `SHELL_CMD`, "...").
    pub fn log(&self, module: &str, severity: u8, mnemonic: &str, message: &str) {
        self.logs
            .push(&self.sysname(), module, severity, mnemonic, message);
    }
}
