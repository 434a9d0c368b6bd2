//! `display current-configuration`, `display this` and the saved file: the configuration as
//! Comware-ordered text.
//!
//! The text is a list of sections separated by `#` lines and ended by `return`:
//!
//! ```text
//! #
//!  version 7.1.064, Duet 0.1.0
//! #
//!  sysname Duet
//! #
//! interface GigabitEthernet1/0/1
//!  ip address 10.1.1.1 255.255.255.0
//! #
//! return
//! ```
//!
//! The version line names the Comware release whose command syntax Duet follows
//! ([`COMWARE_RELEASE`]) and Duet's own version; loading ignores it. Each feature renders its
//! own sections with a function in its folder; [`Config::sections`] puts them in order.

use super::Config;
use crate::cli::View;
use crate::interface::render::render_interface;

/// The Comware 7 release whose command syntax and layouts Duet follows.
pub const COMWARE_RELEASE: &str = "7.1.064";

/// `7.1.064, Duet 0.1.0`: what the ` version` line and `display version` show.
pub fn version_text() -> String {
    format!("{COMWARE_RELEASE}, Duet {}", env!("CARGO_PKG_VERSION"))
}

/// One `#`-delimited block of the configuration text.
#[derive(Clone, Debug, PartialEq)]
pub struct Section {
    /// The view whose `display this` shows the block: [`View::System`] for global lines
    /// (indented by one space), the view a header line enters for the others.
    pub view: View,
    pub lines: Vec<String>,
}

impl Config {
    /// Every section in Comware order: global settings, then one section per interface.
    /// Features add their sections here at their Comware position (e.g. DHCP pools before
    /// the interfaces).
    pub fn sections(&self) -> Vec<Section> {
        let mut sections = vec![
            Section {
                view: View::System,
                lines: vec![format!(" sysname {}", self.sysname)],
            },
            Section {
                view: View::System,
                lines: self.infocenter.render(),
            },
            Section {
                view: View::System,
                lines: crate::dhcp::render::global_lines(&self.dhcp),
            },
        ];
        sections.push(Section {
            view: View::System,
            lines: crate::hotbackup::render::global_lines(&self.hotbackup),
        });
        sections.extend(crate::dhcp::render::pool_sections(&self.dhcp));
        sections.extend(crate::hotbackup::render::section(&self.hotbackup));
        sections.extend(self.interfaces.iter().map(|(name, cfg)| Section {
            view: View::Interface(name.to_string()),
            lines: render_interface(name, cfg),
        }));
        sections.extend(crate::aaa::render::render_lines(&self.lines));
        sections.push(Section {
            view: View::System,
            lines: crate::aaa::render::render_ssh(&self.ssh),
        });
        sections.extend(
            self.users
                .iter()
                .map(|(name, user)| crate::aaa::render::render_user(name, user)),
        );
        // A feature with nothing configured contributes no block, not an empty `#` pair.
        sections.retain(|s| !s.lines.is_empty());
        sections
    }

    /// The whole configuration as `display current-configuration` shows it and `save` writes it.
    pub fn render(&self) -> String {
        let mut out = String::new();
        push_line(&mut out, "#");
        push_line(&mut out, &format!(" version {}", version_text()));
        for section in self.sections() {
            push_section(&mut out, &section);
        }
        push_line(&mut out, "#");
        push_line(&mut out, "return");
        out
    }

    /// `display this`: the sections of `view` between `#` lines, then `return`. User view
    /// shows what system view shows.
    pub fn render_view(&self, view: &View) -> String {
        let view = match view {
            View::User => &View::System,
            other => other,
        };
        let mut out = String::new();
        for section in self.sections().iter().filter(|s| &s.view == view) {
            push_section(&mut out, section);
        }
        push_line(&mut out, "#");
        push_line(&mut out, "return");
        out
    }
}

fn push_section(out: &mut String, section: &Section) {
    push_line(out, "#");
    for line in &section.lines {
        push_line(out, line);
    }
}

fn push_line(out: &mut String, line: &str) {
    out.push_str(line);
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interface::name::IfName;

    fn ports(n: u32) -> Vec<IfName> {
        (1..=n)
            .map(|i| format!("ge1/0/{i}").parse().unwrap())
            .collect()
    }

    fn version_line() -> String {
        format!(" version 7.1.064, Duet {}", env!("CARGO_PKG_VERSION"))
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
