//! The info-center part of the configuration and its rendering.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use super::buffer::DEFAULT_SIZE;

/// Comware's default log host port (`info-center loghost A.B.C.D` without `port`).
pub const DEFAULT_LOGHOST_PORT: u16 = 514;
/// Comware's default facility for a log host: local7 (syslog facility code 23).
pub const DEFAULT_FACILITY: u8 = 7;
/// How many log hosts a device keeps (Comware 7 allows 20).
pub const MAX_LOGHOSTS: usize = 20;

/// The severity keywords of `info-center source ... level`, 0 (emergency) to 7 (debugging).
pub const SEVERITY_NAMES: [&str; 8] = [
    "emergency",
    "alert",
    "critical",
    "error",
    "warning",
    "notification",
    "informational",
    "debugging",
];

/// One `info-center loghost A.B.C.D [port P] [facility localN]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogHost {
    pub address: Ipv4Addr,
    pub port: u16,
    /// N of `localN` (0-7); the syslog facility code is 16 + N.
    pub facility: u8,
}

impl LogHost {
    /// The syslog facility code (RFC 3164 section 4.1.1: local0 is 16 ... local7 is 23).
    pub fn facility_code(&self) -> u8 {
        16 + self.facility
    }
}

/// The output destinations `info-center source` filters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Destination {
    Console,
    Monitor,
    Logbuffer,
    Loghost,
}

impl Destination {
    pub fn keyword(self) -> &'static str {
        match self {
            Destination::Console => "console",
            Destination::Monitor => "monitor",
            Destination::Logbuffer => "logbuffer",
            Destination::Loghost => "loghost",
        }
    }
}

/// What `info-center source MODULE DEST` says: nothing of the module, or only lines at this
/// severity or more severe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceRule {
    Deny,
    Level(u8),
}

/// `info-center timestamp loghost {date | iso | no-year-date | none}` (default `date`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LoghostTimestamp {
    /// `Nov 21 10:38:12 2026`
    #[default]
    Date,
    /// `2026-11-21T10:38:12.320+01:00`
    Iso,
    /// `Nov 21 10:38:12`
    NoYearDate,
    /// No timestamp at all.
    None,
}

impl LoghostTimestamp {
    pub fn keyword(self) -> &'static str {
        match self {
            LoghostTimestamp::Date => "date",
            LoghostTimestamp::Iso => "iso",
            LoghostTimestamp::NoYearDate => "no-year-date",
            LoghostTimestamp::None => "none",
        }
    }
}

/// The module name `info-center source default ...` uses: the rule for every module without
/// one of its own.
pub const DEFAULT_MODULE: &str = "default";

/// What the info-center keeps in the running configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InfoCenterConfig {
    /// `info-center logbuffer size N` (entries; 0 keeps nothing).
    pub logbuffer_size: usize,
    /// `info-center loghost ...`, in the order configured (one per address).
    pub loghosts: Vec<LogHost>,
    /// `info-center source MODULE DEST ...`, by upper-case module (or `default`) and destination.
    pub sources: BTreeMap<(String, Destination), SourceRule>,
    /// `info-center timestamp loghost ...`.
    pub loghost_timestamp: LoghostTimestamp,
}

impl Default for InfoCenterConfig {
    fn default() -> Self {
        InfoCenterConfig {
            logbuffer_size: DEFAULT_SIZE,
            loghosts: Vec::new(),
            sources: BTreeMap::new(),
            loghost_timestamp: LoghostTimestamp::Date,
        }
    }
}

impl InfoCenterConfig {
    /// Does a line of `module` at `severity` go to `dest`? The module's own rule wins, then the
    /// `default` module's rule, then the built-in default: Comware sends `informational` and
    /// more severe to a log host; the log buffer keeps every severity (as it did before
    /// `info-center source` existed), as do console and monitor, which Duet does not feed.
    pub fn allows(&self, module: &str, severity: u8, dest: Destination) -> bool {
        let rule = if self.sources.is_empty() {
            None
        } else {
            self.sources
                .get(&(module.to_ascii_uppercase(), dest))
                .or_else(|| self.sources.get(&(DEFAULT_MODULE.to_string(), dest)))
        };
        match rule {
            Some(SourceRule::Deny) => false,
            Some(SourceRule::Level(level)) => severity <= *level,
            None => match dest {
                Destination::Loghost => severity <= 6,
                _ => true,
            },
        }
    }

    /// The lines of `display current-configuration` for the info-center, each with its
    /// one-space indent and without the `#` separators; empty when everything is default.
    /// They form a global section of their own after ` sysname`.
    pub fn render(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if self.logbuffer_size != DEFAULT_SIZE {
            lines.push(format!(
                " info-center logbuffer size {}",
                self.logbuffer_size
            ));
        }
        for h in &self.loghosts {
            let mut line = format!(" info-center loghost {}", h.address);
            if h.port != DEFAULT_LOGHOST_PORT {
                line.push_str(&format!(" port {}", h.port));
            }
            if h.facility != DEFAULT_FACILITY {
                line.push_str(&format!(" facility local{}", h.facility));
            }
            lines.push(line);
        }
        for ((module, dest), rule) in &self.sources {
            let rule = match rule {
                SourceRule::Deny => "deny".to_string(),
                SourceRule::Level(l) => format!("level {}", SEVERITY_NAMES[*l as usize]),
            };
            lines.push(format!(
                " info-center source {module} {} {rule}",
                dest.keyword()
            ));
        }
        if self.loghost_timestamp != LoghostTimestamp::Date {
            lines.push(format!(
                " info-center timestamp loghost {}",
                self.loghost_timestamp.keyword()
            ));
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_renders_nothing() {
        assert!(InfoCenterConfig::default().render().is_empty());
        let c = InfoCenterConfig {
            logbuffer_size: 512,
            ..Default::default()
        };
        assert_eq!(c.render(), [" info-center logbuffer size 512"]);
    }

    #[test]
    fn loghosts_sources_and_timestamp_render_without_defaults() {
        let mut c = InfoCenterConfig::default();
        c.loghosts.push(LogHost {
            address: Ipv4Addr::new(10, 0, 0, 9),
            port: 514,
            facility: 7,
        });
        c.loghosts.push(LogHost {
            address: Ipv4Addr::new(10, 0, 0, 8),
            port: 1514,
            facility: 3,
        });
        c.sources
            .insert(("VRRP".into(), Destination::Loghost), SourceRule::Level(4));
        c.sources
            .insert(("SHELL".into(), Destination::Loghost), SourceRule::Deny);
        c.loghost_timestamp = LoghostTimestamp::Iso;
        assert_eq!(
            c.render(),
            [
                " info-center loghost 10.0.0.9",
                " info-center loghost 10.0.0.8 port 1514 facility local3",
                " info-center source SHELL loghost deny",
                " info-center source VRRP loghost level warning",
                " info-center timestamp loghost iso",
            ]
        );
    }

    #[test]
    fn source_rules_module_then_default_then_builtin() {
        let mut c = InfoCenterConfig::default();
        // Built in: informational and more severe to a log host, everything to the buffer.
        assert!(c.allows("VRRP", 6, Destination::Loghost));
        assert!(!c.allows("VRRP", 7, Destination::Loghost));
        assert!(c.allows("VRRP", 7, Destination::Logbuffer));
        c.sources.insert(
            (DEFAULT_MODULE.into(), Destination::Loghost),
            SourceRule::Level(3),
        );
        c.sources
            .insert(("VRRP".into(), Destination::Loghost), SourceRule::Level(6));
        c.sources
            .insert(("SHELL".into(), Destination::Logbuffer), SourceRule::Deny);
        assert!(c.allows("vrrp", 6, Destination::Loghost));
        assert!(!c.allows("DHCPS", 4, Destination::Loghost));
        assert!(c.allows("DHCPS", 3, Destination::Loghost));
        assert!(!c.allows("SHELL", 0, Destination::Logbuffer));
        assert!(
            c.allows("SHELL", 6, Destination::Loghost) == c.allows("X", 6, Destination::Loghost)
        );
    }
}
