//! The features of a Duet device, in order, and the running configuration they make up.
//!
//! This is the one place where features plug in. The shared machinery (cli/, config/, net/)
//! knows no feature: each feature folder exposes one [`Feature`] entry (its handlers, its part
//! of the configuration text with its place there, its engine), and [`ALL`] lists them. A new
//! feature is its folder, its `commands/*.yaml`, its field in [`Config`] and one line in
//! [`ALL`] — the way FRR's daemons install their own command nodes and config writers, and
//! holo's daemon lists its protocols.
//!
//! The layering rule (cli/ and config/ import no feature, nor this module or the device that
//! assembles them) is checked by tests/layering.rs, which reads the feature names from [`ALL`].

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio::runtime::Handle;

use crate::aaa::{LinesConfig, LocalUser, SshServerConfig};
use crate::cli::View;
use crate::config::DEFAULT_SYSNAME;
use crate::config::render::{self as text, Section, Sections};
use crate::device::{Device, Registry, StartError};
use crate::dhcp::DhcpConfig;
use crate::hotbackup::settings::HotBackupConfig;
use crate::infocenter::InfoCenterConfig;
use crate::interface::config::InterfaceConfig;
use crate::interface::name::IfName;
use crate::interface::subnets::SubnetIndex;
use crate::metrics::MetricsConfig;
use crate::net::sim::{Lan, NodeId};
use crate::route::RouteConfig;
use crate::track::TrackConfig;

/// What a feature plugs into the device.
pub struct Feature {
    /// The feature's folder under `src/` (and module name).
    pub name: &'static str,
    /// Adds the feature's handlers (the names its `commands/*.yaml` give).
    pub register: fn(&mut Registry),
    /// Adds the feature's blocks of the configuration text, each at its place in Comware's
    /// order (`config::render::Place`).
    pub render: fn(&Config, &mut Sections),
    /// Starts the feature's engine on a started device, if it has one. Engines start in the
    /// order of [`ALL`] (one that follows another's status comes after it).
    pub start: Option<StartEngine>,
}

/// Starts a feature's engine on a device whose interface engine runs on `Network`.
pub type StartEngine = fn(&Arc<Device>, &Handle, &Network<'_>) -> Result<(), StartError>;

/// The network a device's engines run on (its interface engine has started on it).
pub enum Network<'a> {
    /// The simulated LAN, as this node.
    Sim(&'a Lan, NodeId),
    /// Linux interfaces: each vendor-style port and the Linux interface it maps onto.
    Linux(&'a [(IfName, String)]),
}

/// Every feature, in order: handlers register, configuration blocks of one place render, and
/// engines start in this order.
pub const ALL: &[Feature] = &[
    crate::system::FEATURE,
    crate::interface::FEATURE,
    crate::infocenter::FEATURE,
    // Before VRRP: its groups follow the track entries' states.
    crate::track::FEATURE,
    crate::vrrp::FEATURE,
    crate::dhcp::FEATURE,
    crate::aaa::FEATURE,
    crate::hotbackup::FEATURE,
    crate::route::FEATURE,
    crate::metrics::FEATURE,
];

impl Registry {
    /// Every handler of every feature.
    pub fn all() -> Self {
        let mut r = Registry::default();
        for feature in ALL {
            (feature.register)(&mut r);
        }
        r
    }
}

/// The whole running configuration: one part per feature. `Default` is a new device's
/// configuration, except for the interfaces, which come from the hardware (see
/// [`Config::new`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub sysname: String,
    /// `clock timezone NAME {add|minus} HH:MM:SS` (`None`: UTC). Duet's own setting; the host's
    /// zone and clock are not touched (src/system/clock.rs).
    pub timezone: Option<crate::system::clock::TimeZone>,
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
    /// `track N interface IF [physical]` (system view).
    pub track: TrackConfig,
    /// `ip route-static ...` (system view).
    pub route: RouteConfig,
    /// `metrics enable`, `metrics listen ...` (system view).
    pub metrics: MetricsConfig,
}

impl Config {
    /// A new device's configuration with these ports.
    pub fn new(ports: &[IfName]) -> Self {
        Config {
            sysname: DEFAULT_SYSNAME.to_string(),
            timezone: None,
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
            track: TrackConfig::default(),
            route: RouteConfig::default(),
            metrics: MetricsConfig::default(),
        }
    }

    /// Every section in Comware order: each feature's blocks sorted by their place, features
    /// in the order of [`ALL`] within a place.
    pub fn sections(&self) -> Vec<Section> {
        let mut sections = Sections::default();
        for feature in ALL {
            (feature.render)(self, &mut sections);
        }
        sections.in_order()
    }

    /// The sections one feature renders (by its name in [`ALL`]), in Comware order; `None`
    /// for a name that is no feature's.
    pub fn sections_of(&self, feature: &str) -> Option<Vec<Section>> {
        let feature = ALL.iter().find(|f| f.name == feature)?;
        let mut sections = Sections::default();
        (feature.render)(self, &mut sections);
        Some(sections.in_order())
    }

    /// The whole configuration as `display current-configuration` shows it and `save` writes it.
    pub fn render(&self) -> String {
        text::full(&self.sections())
    }

    /// `display this`: the sections of `view` between `#` lines, then `return`.
    pub fn render_view(&self, view: &View) -> String {
        text::of_view(&self.sections(), view)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ports(n: u32) -> Vec<IfName> {
        (1..=n)
            .map(|i| format!("ge1/0/{i}").parse().unwrap())
            .collect()
    }

    fn version_line() -> String {
        format!(" version 7.1.064, Duet {}", env!("CARGO_PKG_VERSION"))
    }

    /// Grammar and handlers stay in step: every handler the grammar names is registered, and
    /// every registered handler is reachable from the grammar.
    #[test]
    fn grammar_and_registry_agree() {
        let g = crate::cli::grammar::builtin().unwrap_or_else(|e| panic!("{e}"));
        let registry = Registry::all();
        let named: std::collections::BTreeSet<&str> =
            g.commands.iter().map(|c| c.handler.as_str()).collect();
        let missing: Vec<String> = g
            .commands
            .iter()
            .filter(|c| registry.get(&c.handler).is_none())
            .map(|c| format!("{} (commands/{}: {})", c.handler, c.file, c.text))
            .collect();
        assert!(
            missing.is_empty(),
            "handlers named in the grammar but not registered: {missing:?}"
        );
        let unused: Vec<&str> = registry.names().filter(|n| !named.contains(n)).collect();
        assert!(
            unused.is_empty(),
            "registered handlers no command names: {unused:?}"
        );
    }

    /// Context help says what a word does in the command it is typed in, not what the same
    /// word does elsewhere (issue 14: `reset ?` showed `vrrp` as "Configure VRRP"). Stated
    /// sharply for the commands that configure nothing: in a `display` or `reset` command no
    /// keyword's help offers to configure, enable, disable or enter a view, and every word
    /// right after `reset` says what it clears or deletes.
    #[test]
    fn display_and_reset_words_say_what_they_show_or_clear() {
        let g = crate::cli::grammar::builtin().unwrap_or_else(|e| panic!("{e}"));
        let keyword = |w: &str| {
            !w.is_empty()
                && w.chars()
                    .all(|c| c.is_ascii_lowercase() || c == '-' || c.is_ascii_digit())
        };
        let mut bad = Vec::new();
        for c in &g.commands {
            let first = c.text.split_whitespace().next().unwrap_or("");
            if first != "display" && first != "reset" {
                continue;
            }
            let kind = c
                .views
                .iter()
                .find(|v| *v != "any")
                .map_or("user", String::as_str);
            let words: Vec<&str> = c
                .text
                .split_whitespace()
                .take_while(|w| keyword(w))
                .collect();
            for k in 1..=words.len() {
                let line = format!("{} ", words[..k].join(" "));
                let Ok(text) = crate::cli::help::help(g, &[kind], &line) else {
                    continue;
                };
                for row in text.lines() {
                    let row = row.trim();
                    let Some((word, help)) = row.split_once("  ") else {
                        continue;
                    };
                    let help = help.trim();
                    if !keyword(word) {
                        continue;
                    }
                    let configures = ["Configure", "Enable", "Disable", "Specify the"]
                        .iter()
                        .any(|p| help.starts_with(p))
                        || help.contains("enter its view")
                        || help.ends_with("configuration") && first == "reset";
                    let says_what_it_clears =
                        ["Clear", "Delete"].iter().any(|p| help.starts_with(p));
                    let shows = first == "reset" && help.starts_with("Display");
                    if configures || shows || (first == "reset" && k == 1 && !says_what_it_clears) {
                        bad.push(format!("`{line}?` shows {word}: {help:?}"));
                    }
                }
            }
        }
        bad.sort();
        bad.dedup();
        assert!(bad.is_empty(), "{bad:#?}");
    }

    /// A word's help names VRRP only in a command about VRRP: the words are shared by every
    /// grammar file, and `display hot-backup statistics` showed "Display VRRP statistics".
    #[test]
    fn only_vrrp_commands_offer_vrrp_help() {
        let g = crate::cli::grammar::builtin().unwrap_or_else(|e| panic!("{e}"));
        let mut bad = Vec::new();
        for c in &g.commands {
            if c.text.contains("vrrp") {
                continue;
            }
            for w in c.text.split_whitespace() {
                let help = c.words.get(w).or_else(|| g.words.get(w));
                if help.is_some_and(|h| h.contains("VRRP")) {
                    bad.push(format!("{} (commands/{}): {w}: {help:?}", c.text, c.file));
                }
            }
        }
        assert!(bad.is_empty(), "{bad:#?}");
    }

    #[test]
    fn feature_names_are_their_folders() {
        for feature in ALL {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("src")
                .join(feature.name);
            assert!(
                dir.is_dir(),
                "feature {} has no folder src/{}",
                feature.name,
                feature.name
            );
        }
    }

    #[test]
    fn new_device_golden() {
        let cfg = Config::new(&ports(2));
        let expected = format!(
            "#\n{}\n#\n sysname Duet\n#\ninterface GigabitEthernet1/0/1\n#\ninterface GigabitEthernet1/0/2\n#\nreturn\n",
            version_line()
        );
        assert_eq!(cfg.render(), expected);
    }

    #[test]
    fn configured_device_golden() {
        let mut cfg = Config::new(&ports(3));
        cfg.sysname = "CoreA".to_string();
        let ge2: IfName = "ge1/0/2".parse().unwrap();
        let ge3: IfName = "ge1/0/3".parse().unwrap();
        let port = cfg.interfaces.get_mut(&ge2).unwrap();
        port.description = Some("uplink to B".to_string());
        port.address = Some(("10.0.0.1".parse().unwrap(), 30));
        cfg.interfaces.get_mut(&ge3).unwrap().shutdown = true;
        let expected = [
            "#".to_string(),
            version_line(),
            "#".into(),
            " sysname CoreA".into(),
            "#".into(),
            "interface GigabitEthernet1/0/1".into(),
            "#".into(),
            "interface GigabitEthernet1/0/2".into(),
            " description uplink to B".into(),
            " ip address 10.0.0.1 255.255.255.252".into(),
            "#".into(),
            "interface GigabitEthernet1/0/3".into(),
            " shutdown".into(),
            "#".into(),
            "return".into(),
            "".into(),
        ]
        .join("\n");
        assert_eq!(cfg.render(), expected);
    }

    #[test]
    fn interfaces_render_in_numeric_order() {
        let cfg = Config::new(&[
            "ge1/0/10".parse().unwrap(),
            "ge1/0/2".parse().unwrap(),
            "xge1/0/1".parse().unwrap(),
        ]);
        let headers: Vec<_> = cfg
            .render()
            .lines()
            .filter(|l| l.starts_with("interface"))
            .map(str::to_string)
            .collect();
        assert_eq!(
            headers,
            [
                "interface GigabitEthernet1/0/2",
                "interface GigabitEthernet1/0/10",
                "interface Ten-GigabitEthernet1/0/1"
            ]
        );
    }

    #[test]
    fn display_this_per_view() {
        let mut cfg = Config::new(&ports(2));
        let ge1: IfName = "ge1/0/1".parse().unwrap();
        cfg.interfaces.get_mut(&ge1).unwrap().address = Some(("10.1.1.1".parse().unwrap(), 24));
        assert_eq!(
            cfg.render_view(&View::Interface("GigabitEthernet1/0/1".into())),
            "#\ninterface GigabitEthernet1/0/1\n ip address 10.1.1.1 255.255.255.0\n#\nreturn\n"
        );
        assert_eq!(
            cfg.render_view(&View::Interface("GigabitEthernet1/0/2".into())),
            "#\ninterface GigabitEthernet1/0/2\n#\nreturn\n"
        );
        assert_eq!(
            cfg.render_view(&View::System),
            "#\n sysname Duet\n#\nreturn\n"
        );
        assert_eq!(cfg.render_view(&View::User), cfg.render_view(&View::System));
    }
}
