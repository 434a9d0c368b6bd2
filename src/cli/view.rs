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
    /// `[Sysname-luser-manage-NAME]` (`local-user NAME class manage`).
    LocalUser(String),
    /// `[Sysname-line-vty0-63]`, `[Sysname-line-vty5]`, `[Sysname-line-console0]`.
    Line(LineRange),
    /// `[Sysname-hot-backup]`: the view `hot-backup` enters.
    HotBackup,
}

/// The user lines a line view configures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineRange {
    /// `line console 0`.
    Console,
    /// `line vty FIRST [LAST]`, both inclusive.
    Vty { first: u8, last: u8 },
}

impl View {
    /// The view name used in `commands/*.yaml` (`views: [system]`).
    pub fn kind(&self) -> &'static str {
        match self {
            View::User => "user",
            View::System => "system",
            View::Interface(_) => "interface",
            View::DhcpPool(_) => "dhcp-pool",
            View::LocalUser(_) => "local-user",
            View::Line(_) => "line",
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
            View::LocalUser(name) => format!("[{sysname}-luser-manage-{name}]"),
            View::Line(LineRange::Console) => format!("[{sysname}-line-console0]"),
            View::Line(LineRange::Vty { first, last }) if first == last => {
                format!("[{sysname}-line-vty{first}]")
            }
            View::Line(LineRange::Vty { first, last }) => {
                format!("[{sysname}-line-vty{first}-{last}]")
            }
            View::HotBackup => format!("[{sysname}-hot-backup]"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompts() {
        assert_eq!(
            View::LocalUser("admin".into()).prompt("Duet"),
            "[Duet-luser-manage-admin]"
        );
        let all = View::Line(LineRange::Vty { first: 0, last: 63 });
        assert_eq!(all.prompt("Duet"), "[Duet-line-vty0-63]");
        let one = View::Line(LineRange::Vty { first: 5, last: 5 });
        assert_eq!(one.prompt("Duet"), "[Duet-line-vty5]");
        assert_eq!(
            View::Line(LineRange::Console).prompt("Duet"),
            "[Duet-line-console0]"
        );
    }
}
