//! Views (command modes) and their prompts.

/// Where a session stands. `views[0]` of a session is always [`View::User`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum View {
    /// `<Sysname>`
    User,
    /// `[Sysname]`
    System,
    /// `[Sysname-GigabitEthernet1/0/1]`; holds the canonical interface name.
    Interface(String),
    /// `[Sysname-dhcp-pool-NAME]`: the view `dhcp server ip-pool NAME` enters; holds the
    /// pool's name as configured.
    DhcpPool(String),
    /// `[Sysname-hot-backup]`: the view `hot-backup` enters.
    HotBackup,
}

impl View {
    /// The view name used in `commands/*.yaml` (`views: [system]`).
    pub fn kind(&self) -> &'static str {
        match self {
            View::User => "user",
            View::System => "system",
            View::Interface(_) => "interface",
            View::DhcpPool(_) => "dhcp-pool",
            View::HotBackup => "hot-backup",
        }
    }

    /// The prompt Comware shows in this view.
    pub fn prompt(&self, sysname: &str) -> String {
        match self {
            View::User => format!("<{sysname}>"),
            View::System => format!("[{sysname}]"),
            View::Interface(name) => format!("[{sysname}-{name}]"),
            View::DhcpPool(name) => format!("[{sysname}-dhcp-pool-{name}]"),
            View::HotBackup => format!("[{sysname}-hot-backup]"),
        }
    }
}
