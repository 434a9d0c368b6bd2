//! User lines: the console (`line console 0`) and the 64 virtual terminal lines
//! (`line vty 0 63`) that SSH and control-socket sessions occupy.

use crate::cli::LineRange;
use crate::session::Role;

/// Number of vty lines (`vty0` to `vty63`).
pub const VTY_LINES: usize = 64;
/// Default idle timeout: 10 minutes.
pub const DEFAULT_IDLE_SECS: u32 = 600;

/// `authentication-mode { none | password | scheme }`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMode {
    /// Anyone may log in, with the line's user role.
    None,
    /// The line's password (`set authentication password`), with the line's user role.
    Password,
    /// Local users (AAA) with the service type of the access, each with their own role.
    Scheme,
}

impl AuthMode {
    pub fn name(self) -> &'static str {
        match self {
            AuthMode::None => "none",
            AuthMode::Password => "password",
            AuthMode::Scheme => "scheme",
        }
    }
}

/// The settings of one user line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineConfig {
    pub auth: AuthMode,
    /// argon2id PHC string of `set authentication password`.
    pub password: Option<String>,
    /// `user-role`: the role of sessions not authenticated by scheme.
    pub role: Role,
    /// `idle-timeout MINUTES [SECONDS]` in seconds; 0 disables.
    pub idle_secs: u32,
}

impl LineConfig {
    /// A new device's console: no authentication, network-admin.
    pub fn console_default() -> Self {
        LineConfig {
            auth: AuthMode::None,
            password: None,
            role: Role::NetworkAdmin,
            idle_secs: DEFAULT_IDLE_SECS,
        }
    }
    /// A new device's vty line: password authentication (no password: nobody gets in),
    /// network-operator.
    pub fn vty_default() -> Self {
        LineConfig {
            auth: AuthMode::Password,
            password: None,
            role: Role::NetworkOperator,
            idle_secs: DEFAULT_IDLE_SECS,
        }
    }
}

/// Every user line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinesConfig {
    pub console: LineConfig,
    /// Exactly [`VTY_LINES`] entries.
    pub vty: Vec<LineConfig>,
}

impl Default for LinesConfig {
    fn default() -> Self {
        LinesConfig {
            console: LineConfig::console_default(),
            vty: vec![LineConfig::vty_default(); VTY_LINES],
        }
    }
}

impl LinesConfig {
    /// The lines a line view configures.
    pub fn range_mut(&mut self, range: LineRange) -> Vec<&mut LineConfig> {
        match range {
            LineRange::Console => vec![&mut self.console],
            LineRange::Vty { first, last } => self
                .vty
                .iter_mut()
                .skip(first as usize)
                .take((last as usize + 1).saturating_sub(first as usize))
                .collect(),
        }
    }

    /// The settings of vty line `n` (the last line's for a number out of range).
    pub fn vty(&self, n: usize) -> &LineConfig {
        &self.vty[n.min(VTY_LINES - 1)]
    }
}
