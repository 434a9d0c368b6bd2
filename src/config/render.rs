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
//! own sections with a function in its folder, at a [`Place`]; `crate::features::Config::sections`
//! collects them from the feature list and [`Sections::in_order`] puts them in Comware order.

use crate::cli::View;

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

/// Where a block goes in the configuration text. Comware writes the global settings first,
/// then the views of protocols and services (address pools, hot backup), the interfaces, the
/// static routes, the user lines, and last the global settings that refer to users (SSH
/// server, local users).
/// Blocks of one place keep the order of the feature list, then the order a feature adds them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Place {
    /// Global lines (` sysname`, ` dhcp enable`, ...), each feature's in a block of its own.
    Global,
    /// Protocol and service views (`dhcp server ip-pool P`, `hot-backup`).
    View,
    /// `interface X` sections.
    Interface,
    /// Global lines that refer to the interfaces' subnets (` ip route-static ...`).
    Routes,
    /// `line console 0`, `line vty A B`.
    Line,
    /// Global lines and sections about logins (` ssh server ...`, `local-user U`).
    Access,
}

/// The blocks the features add, each at its place; [`Sections::in_order`] gives the text's
/// order.
#[derive(Default)]
pub struct Sections {
    blocks: Vec<(Place, Section)>,
}

impl Sections {
    /// A block of global lines (system view, each indented by one space).
    pub fn global(&mut self, place: Place, lines: Vec<String>) {
        self.add(
            place,
            Section {
                view: View::System,
                lines,
            },
        );
    }
    pub fn add(&mut self, place: Place, section: Section) {
        self.blocks.push((place, section));
    }
    /// The blocks in Comware order (a stable sort by place). A feature with nothing
    /// configured contributes no block, not an empty `#` pair.
    pub fn in_order(self) -> Vec<Section> {
        let mut blocks = self.blocks;
        blocks.sort_by_key(|(place, _)| *place);
        blocks
            .into_iter()
            .map(|(_, section)| section)
            .filter(|s| !s.lines.is_empty())
            .collect()
    }
}

/// The whole configuration text (`display current-configuration`, the saved file): the
/// version line, each section after a `#` line, then `return`.
pub fn full(sections: &[Section]) -> String {
    let mut out = String::new();
    push_line(&mut out, "#");
    push_line(&mut out, &format!(" version {}", version_text()));
    for section in sections {
        push_section(&mut out, section);
    }
    push_line(&mut out, "#");
    push_line(&mut out, "return");
    out
}

/// `display this`: the sections of `view` between `#` lines, then `return`. User view shows
/// what system view shows.
pub fn of_view(sections: &[Section], view: &View) -> String {
    let view = match view {
        View::User => &View::System,
        other => other,
    };
    partial(sections.iter().filter(|s| &s.view == view))
}

/// Some sections of the configuration (`display this`, `display current-configuration
/// interface X`): each after a `#` line, then `#` and `return`.
pub fn partial<'a>(sections: impl IntoIterator<Item = &'a Section>) -> String {
    let mut out = String::new();
    for section in sections {
        push_section(&mut out, section);
    }
    push_line(&mut out, "#");
    push_line(&mut out, "return");
    out
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
