//! Comware lines Duet does not implement but that change nothing about what it does, so a
//! real Comware startup.cfg loads: `duet check` and start-up report each as not supported and
//! skip it, and nothing that follows fails because of it.
//!
//! This is the one list of them, each with the reason it is harmless here. A line is on it
//! only if ignoring it leaves the device behaving as the file means: anything that would
//! change forwarding, addressing, who may log in or what a client gets (`vlan 10`, `ip
//! route-static`, `authorization-attribute user-role level-15`) is not, and stays an error.

use crate::cli::View;

/// What the loader does with a line.
#[derive(Debug, PartialEq)]
pub enum Verdict<'a> {
    /// A line for the grammar.
    Ours,
    /// Skip the line (and, for a `section`, the indented lines under it).
    Skip { reason: &'static str, section: bool },
    /// Run `kept`, the line without the words Duet does not have (`service-type ssh telnet
    /// terminal` keeps `ssh terminal`).
    Trim {
        kept: String,
        dropped: Vec<&'a str>,
        reason: &'static str,
    },
}

/// A Comware command (or section) Duet skips.
struct Unsupported {
    /// The view kind it is written in.
    view: &'static str,
    /// The words the line starts with, in full.
    words: &'static [&'static str],
    /// Does it open a section whose indented lines go with it?
    section: bool,
    reason: &'static str,
}

const fn line(
    view: &'static str,
    words: &'static [&'static str],
    reason: &'static str,
) -> Unsupported {
    Unsupported {
        view,
        words,
        section: false,
        reason,
    }
}

const fn section(
    view: &'static str,
    words: &'static [&'static str],
    reason: &'static str,
) -> Unsupported {
    Unsupported {
        view,
        words,
        section: true,
        reason,
    }
}

const HOST_CLOCK: &str = "Duet's clock is the host's, set by the host's time service";
const NO_IRF: &str = "Duet devices are not stacked (IRF); the pair is VRRP and hot backup";
const ROUTED: &str = "Duet's ports are always routed ports";

/// Every line Duet skips, with why that changes nothing.
const UNSUPPORTED: &[Unsupported] = &[
    line("system", &["clock", "protocol"], HOST_CLOCK),
    line(
        "system",
        &["clock", "summer-time"],
        "Duet's displays use the configured time zone without summer time",
    ),
    section(
        "system",
        &["vlan", "1"],
        "VLAN 1 is Comware's default VLAN; Duet's ports are routed and carry no VLAN",
    ),
    line("interface", &["port", "link-mode", "route"], ROUTED),
    line(
        "interface",
        &["combo", "enable"],
        "the port's medium is the host's network interface",
    ),
    line(
        "system",
        &["undo", "copyright-info", "enable"],
        "Duet shows no copyright notice at login",
    ),
    line(
        "system",
        &["telnet", "server", "enable"],
        "Duet has no Telnet server; log in over SSH",
    ),
    line(
        "system",
        &["undo", "telnet", "server", "enable"],
        "Duet has no Telnet server",
    ),
    line(
        "system",
        &["lldp", "global", "enable"],
        "Duet does not run LLDP",
    ),
    line(
        "interface",
        &["undo", "lldp", "enable"],
        "Duet does not run LLDP",
    ),
    line(
        "system",
        &["password-recovery", "enable"],
        "Duet has no boot menu to recover a password from",
    ),
    line(
        "system",
        &["system-working-mode", "standard"],
        "Duet has one working mode",
    ),
    line("system", &["irf", "mac-address", "persistent"], NO_IRF),
    line("system", &["irf", "auto-update", "enable"], NO_IRF),
    line("system", &["undo", "irf", "link-delay"], NO_IRF),
    line("system", &["irf", "member"], NO_IRF),
    section(
        "system",
        &["interface", "NULL0"],
        "the null interface only discards what routes send to it, and Duet has no route to it",
    ),
    section(
        "system",
        &["domain", "system"],
        "Comware's default ISP domain; Duet authenticates its local users only",
    ),
    line(
        "system",
        &["domain", "default", "enable", "system"],
        "Comware's default ISP domain; Duet authenticates its local users only",
    ),
    section(
        "system",
        &["user-group", "system"],
        "Comware's default user group, which holds no setting Duet has",
    ),
    section(
        "system",
        &["role", "name"],
        "Duet's user roles are the predefined network-admin and network-operator",
    ),
];

/// Service types a Comware local user may have and Duet has no server for.
const FOREIGN_SERVICES: &[&str] = &["telnet", "ftp", "http", "https", "pad"];
const FOREIGN_SERVICES_REASON: &str = "Duet has no Telnet, FTP or web management server";

/// What to do with `line` in this view stack: the verdict of the current view, or of the
/// first view above it (down to system view) that has the line on its list, with that view's
/// level in the stack.
pub fn classify_in<'a>(views: &[View], line: &'a str) -> (usize, Verdict<'a>) {
    let top = views.len().saturating_sub(1);
    for level in (1..=top).rev() {
        let verdict = classify(views[level].kind(), line);
        if verdict != Verdict::Ours {
            return (level, verdict);
        }
    }
    (top, Verdict::Ours)
}

/// What to do with `line`, written in a view of kind `view`.
pub fn classify<'a>(view: &str, line: &'a str) -> Verdict<'a> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let starts_with = |entry: &[&str]| {
        words.len() >= entry.len()
            && entry
                .iter()
                .zip(&words)
                .all(|(e, w)| e.eq_ignore_ascii_case(w))
    };
    if let Some(u) = UNSUPPORTED
        .iter()
        .find(|u| u.view == view && starts_with(u.words))
    {
        return Verdict::Skip {
            reason: u.reason,
            section: u.section,
        };
    }
    if view == "local-user" && words.first() == Some(&"service-type") {
        let (dropped, kept): (Vec<&str>, Vec<&str>) = words[1..]
            .iter()
            .partition(|w| FOREIGN_SERVICES.contains(&w.to_ascii_lowercase().as_str()));
        if dropped.is_empty() {
            return Verdict::Ours;
        }
        if kept.is_empty() {
            return Verdict::Skip {
                reason: FOREIGN_SERVICES_REASON,
                section: false,
            };
        }
        return Verdict::Trim {
            kept: format!("service-type {}", kept.join(" ")),
            dropped,
            reason: FOREIGN_SERVICES_REASON,
        };
    }
    Verdict::Ours
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listed_line_is_skipped_in_its_view_only() {
        assert!(matches!(
            classify("system", "clock protocol none"),
            Verdict::Skip { section: false, .. }
        ));
        assert!(matches!(
            classify("system", "vlan 1"),
            Verdict::Skip { section: true, .. }
        ));
        // Another VLAN changes switching: not harmless, not on the list.
        assert_eq!(classify("system", "vlan 10"), Verdict::Ours);
        assert_eq!(classify("system", "port link-mode route"), Verdict::Ours);
        assert!(matches!(
            classify("interface", "port link-mode route"),
            Verdict::Skip { .. }
        ));
    }

    #[test]
    fn service_types_duet_has_are_kept() {
        assert_eq!(
            classify("local-user", "service-type ssh telnet terminal"),
            Verdict::Trim {
                kept: "service-type ssh terminal".into(),
                dropped: vec!["telnet"],
                reason: FOREIGN_SERVICES_REASON
            }
        );
        assert_eq!(classify("local-user", "service-type ssh"), Verdict::Ours);
        assert!(matches!(
            classify("local-user", "service-type telnet"),
            Verdict::Skip { .. }
        ));
    }
}
