//! User lines: the console (`line console 0`) and the 64 virtual terminal lines
//! (`line vty 0 63`) that SSH and control-socket sessions occupy.

use crate::cli::View;
use crate::session::Role;

/// The view kind of the line views (`views: [line]` in commands/line.yaml).
pub const LINE_VIEW: &str = "line";

/// The user lines a line view configures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineRange {
    /// `line console 0`.
    Console,
    /// `line vty FIRST [LAST]`, both inclusive.
    Vty { first: u8, last: u8 },
}

impl LineRange {
    /// The command that enters the view and heads its configuration section, without `line`:
    /// `console 0`, `vty 5`, `vty 0 63`.
    pub fn words(self) -> String {
        match self {
            LineRange::Console => "console 0".to_string(),
            LineRange::Vty { first, last } if first == last => format!("vty {first}"),
            LineRange::Vty { first, last } => format!("vty {first} {last}"),
        }
    }

    /// The line view of these lines: `[Sysname-line-console0]`, `[Sysname-line-vty5]`,
    /// `[Sysname-line-vty0-63]`. Its argument is [`LineRange::words`], which
    /// [`LineRange::of_view`] reads back.
    pub fn view(self) -> View {
        let prompt = match self {
            LineRange::Console => "line-console0".to_string(),
            LineRange::Vty { first, last } if first == last => format!("line-vty{first}"),
            LineRange::Vty { first, last } => format!("line-vty{first}-{last}"),
        };
        View::feature(LINE_VIEW, self.words(), prompt)
    }

    /// The lines of a line view; `None` in any other view.
    pub fn of_view(view: &View) -> Option<LineRange> {
        let words: Vec<&str> = view.feature_arg(LINE_VIEW)?.split(' ').collect();
        let number = |w: &str| w.parse::<u8>().ok();
        match words[..] {
            ["console", "0"] => Some(LineRange::Console),
            ["vty", n] => number(n).map(|n| LineRange::Vty { first: n, last: n }),
            ["vty", first, last] => Some(LineRange::Vty {
                first: number(first)?,
                last: number(last)?,
            }),
            _ => None,
        }
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    /// Each line view's prompt, and its argument read back as the lines it configures.
    #[test]
    fn line_views_prompt_and_read_back() {
        for (range, prompt) in [
            (LineRange::Console, "[Duet-line-console0]"),
            (LineRange::Vty { first: 5, last: 5 }, "[Duet-line-vty5]"),
            (LineRange::Vty { first: 0, last: 63 }, "[Duet-line-vty0-63]"),
        ] {
            let view = range.view();
            assert_eq!(view.prompt("Duet"), prompt);
            assert_eq!(view.kind(), LINE_VIEW);
            assert_eq!(LineRange::of_view(&view), Some(range));
        }
        assert_eq!(LineRange::of_view(&View::System), None);
        assert_eq!(
            LineRange::of_view(&View::feature("other", "vty 1", "x")),
            None
        );
    }
}
