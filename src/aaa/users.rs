//! Local users (`local-user NAME class manage`) and the SSH server settings, as kept in the
//! running configuration.

use crate::cli::View;
use crate::session::Role;

/// The view kind of local-user views (`views: [local-user]` in commands/aaa.yaml).
pub const USER_VIEW: &str = "local-user";

/// The view `local-user NAME class manage` enters: `[Sysname-luser-manage-NAME]`.
pub fn user_view(name: &str) -> View {
    View::feature(USER_VIEW, name, format!("luser-manage-{name}"))
}

/// One device management user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalUser {
    /// The argon2id PHC string of the password; `None` until `password` is set.
    pub password: Option<String>,
    /// `service-type ssh`.
    pub ssh: bool,
    /// `service-type terminal` (the console).
    pub terminal: bool,
    /// `authorization-attribute user-role ...`; a new user is network-operator, as on Comware.
    pub role: Role,
    /// `ssh authorized-key TYPE BASE64` (Duet): public keys that log this user in, as
    /// `ssh-ed25519 AAAA...` without comment, in the order given.
    pub keys: Vec<String>,
}

impl Default for LocalUser {
    fn default() -> Self {
        LocalUser {
            password: None,
            ssh: false,
            terminal: false,
            role: Role::NetworkOperator,
            keys: Vec::new(),
        }
    }
}

/// Longest user name Comware accepts.
pub const MAX_USER_NAME: usize = 55;

/// Is `name` a valid local user name (1 to 55 characters, none of `\ | / : * ? < > @` nor
/// spaces or control characters)?
pub fn valid_user_name(name: &str) -> bool {
    let count = name.chars().count();
    (1..=MAX_USER_NAME).contains(&count)
        && name
            .chars()
            .all(|c| !c.is_control() && !c.is_whitespace() && !"\\|/:*?<>@".contains(c))
        && name != "a"
        && name != "al"
        && name != "all"
}

/// Default number of seconds a source is refused after too many failed logins.
pub const DEFAULT_LOCKOUT_SECS: u32 = 300;
/// Default seconds a connection may take to log in (Comware `ssh server authentication-timeout`).
pub const DEFAULT_AUTH_TIMEOUT_SECS: u32 = 60;
/// Default SSH port.
pub const DEFAULT_SSH_PORT: u16 = 22;

/// `ssh server ...` (system view).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SshServerConfig {
    /// `ssh server enable`.
    pub enabled: bool,
    /// `ssh server port N`.
    pub port: u16,
    /// `ssh server login-lockout SECONDS` (Duet): how long a source that failed 5 logins
    /// within a minute is refused.
    pub lockout_secs: u32,
    /// `ssh server authentication-timeout SECONDS` (1 to 120): a connection that has not logged
    /// in by then is dropped and gives back its slot (OpenSSH's `LoginGraceTime`).
    pub auth_timeout_secs: u32,
}

impl Default for SshServerConfig {
    fn default() -> Self {
        SshServerConfig {
            enabled: false,
            port: DEFAULT_SSH_PORT,
            lockout_secs: DEFAULT_LOCKOUT_SECS,
            auth_timeout_secs: DEFAULT_AUTH_TIMEOUT_SECS,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_view_prompt() {
        let view = user_view("admin");
        assert_eq!(view.prompt("Duet"), "[Duet-luser-manage-admin]");
        assert_eq!(view.feature_arg(USER_VIEW), Some("admin"));
    }

    #[test]
    fn user_names() {
        assert!(valid_user_name("admin"));
        assert!(valid_user_name(&"u".repeat(55)));
        assert!(!valid_user_name(&"u".repeat(56)));
        assert!(!valid_user_name(""));
        for bad in ["a@b", "x/y", "sp ace", "all", "q?"] {
            assert!(!valid_user_name(bad), "{bad}");
        }
    }
}
