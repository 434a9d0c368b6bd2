//! `?` help and Tab completion (section 1.3 of the CLI reference).
//!
//! - `?` on an empty line: the view's header (`System view commands:`) and its first words.
//! - `word ?`: what may come next: keywords, argument slots (`INTEGER<1-255>`), `|` for display
//!   commands, `<cr>` when the line is complete.
//! - `wo?`: every keyword starting with `wo` at that place.
//!
//! Both take the view kinds to try in order (the current view, then the views above it): the
//! first view where the line makes sense answers.

use std::collections::BTreeSet;

use super::grammar::Grammar;
use super::matcher::{Analysis, Entry, ErrorKind, MatchError, Term, analyze, entries, tokenize};
use super::pipe::{self, Expect};
use super::render::rows;
use super::syntax::ParamType;
use crate::cli::ifname::IfKind;

/// `User view commands:` for `user`.
fn header(kind: &str) -> String {
    let mut chars = kind.chars();
    let first = chars
        .next()
        .map(|c| c.to_ascii_uppercase().to_string())
        .unwrap_or_default();
    format!("{first}{} view commands:\n", chars.as_str())
}

/// Where the partial word at the end of `line` starts (`None` when the line ends with a space,
/// or is empty).
fn partial_start(line: &str) -> Option<usize> {
    match tokenize(line).last() {
        Some(&(s, e)) if e == line.len() => Some(s),
        _ => None,
    }
}

fn unrecognized(offset: usize) -> MatchError {
    MatchError {
        kind: ErrorKind::Unrecognized,
        offset,
    }
}

/// Keywords of the analysis frontier starting with `word` (case-insensitive), sorted.
fn keywords<'g>(a: &Analysis<'g>, word: &str) -> BTreeSet<&'g str> {
    let lower = word.to_ascii_lowercase();
    a.frontier
        .iter()
        .filter_map(|(_, t)| {
            if let Term::Keyword(w) = t {
                Some(*w)
            } else {
                None
            }
        })
        .filter(|w| w.to_ascii_lowercase().starts_with(&lower))
        .collect()
}

/// `?` rows of the keywords (and interface types) that may come next and start with `word`,
/// sorted case-insensitively as Comware lists them. A keyword's help is the text of a command
/// offering it there that overrides it (`display interface`), else the grammar-wide text.
fn keyword_rows(
    grammar: &Grammar,
    a: &Analysis<'_>,
    entries: &[Entry<'_>],
    word: &str,
) -> Vec<(String, String)> {
    let mut rows: Vec<(String, String)> = keywords(a, word)
        .into_iter()
        .map(|w| {
            let help = a
                .frontier
                .iter()
                .filter(|(_, t)| *t == Term::Keyword(w))
                .find_map(|(i, _)| entries[*i].command.words.get(w))
                .map(String::as_str)
                .unwrap_or_else(|| grammar.word_help(w));
            (w.to_string(), help.to_string())
        })
        .collect();
    let takes_interface = a
        .frontier
        .iter()
        .any(|(_, t)| matches!(t, Term::Param(p) if p.ty == ParamType::Interface));
    if takes_interface {
        let lower = word.to_ascii_lowercase();
        rows.extend(
            IfKind::ALL
                .iter()
                .filter(|k| k.full().to_ascii_lowercase().starts_with(&lower))
                .map(|k| (k.full().to_string(), type_help(*k).to_string())),
        );
    }
    rows.sort_by_key(|(w, _)| w.to_ascii_lowercase());
    rows
}

/// The help of an interface type name.
fn type_help(kind: IfKind) -> &'static str {
    match kind {
        IfKind::GigabitEthernet => "GigabitEthernet interface",
        IfKind::TenGigabitEthernet => "Ten-GigabitEthernet interface",
        IfKind::LoopBack => "LoopBack interface",
        IfKind::VlanInterface => "VLAN interface",
    }
}

/// The slot and help of an interface number after its type word.
fn number_row(kind: IfKind) -> (String, String) {
    let label = match kind {
        IfKind::GigabitEthernet | IfKind::TenGigabitEthernet => "X/X/X",
        IfKind::LoopBack => "<0-1023>",
        IfKind::VlanInterface => "<1-4094>",
    };
    (
        label.to_string(),
        format!("{} interface number", kind.full()),
    )
}

/// The argument slots of the frontier with their help, in grammar order, once each. An
/// interface slot is shown by its type names instead (see [`keyword_rows`]), unless
/// `generic_interface` asks for the `INTERFACE` row (a partial word no type name starts with).
fn slots(
    a: &Analysis<'_>,
    entries: &[Entry<'_>],
    generic_interface: bool,
) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (i, t) in &a.frontier {
        let row = match t {
            Term::Param(p) if p.ty == ParamType::Interface && !generic_interface => continue,
            Term::Param(p) => {
                let help = entries[*i]
                    .command
                    .params
                    .get(&p.name)
                    .cloned()
                    .unwrap_or_default();
                (p.ty.label(), help)
            }
            Term::IfNumber(kind) => number_row(*kind),
            Term::Keyword(_) => continue,
        };
        if !out.contains(&row) {
            out.push(row);
        }
    }
    out
}

/// The text `?` shows after `line`, or the error of the line before it.
pub fn help(grammar: &Grammar, kinds: &[&str], line: &str) -> Result<String, MatchError> {
    let Some(current) = kinds.first() else {
        return Err(unrecognized(0));
    };
    if line.trim().is_empty() {
        let entries = entries(grammar, current);
        let a = analyze(&entries, "");
        let items = keyword_rows(grammar, &a, &entries, "");
        return Ok(format!("{}{}", header(current), rows(&items)));
    }
    let mut error: Option<MatchError> = None;
    for kind in kinds {
        match help_in(grammar, kind, line) {
            Ok(text) => return Ok(text),
            Err(e) => error = Some(MatchError::furthest(error, e)),
        }
    }
    Err(error.unwrap_or(unrecognized(0)))
}

fn help_in(grammar: &Grammar, kind: &str, line: &str) -> Result<String, MatchError> {
    let entries = entries(grammar, kind);
    let partial = partial_start(line);
    let prefix = &line[..partial.unwrap_or(line.len())];
    if let Some(bar) = pipe::first_bar(prefix) {
        let head = analyze(&entries, &line[..bar]);
        return match head.complete.first() {
            Some((i, _)) if entries[*i].command.pipe => pipe_help(line, bar, partial),
            _ => Err(head.error.unwrap_or(unrecognized(bar))),
        };
    }
    let a = analyze(&entries, prefix);
    let takes_pipe = a.complete.iter().any(|(i, _)| entries[*i].command.pipe);
    let mut items: Vec<(String, String)> = Vec::new();
    match partial {
        None => {
            if a.frontier.is_empty() && a.complete.is_empty() {
                return Err(a.error.unwrap_or(unrecognized(0)));
            }
            items.extend(slots(&a, &entries, false));
            items.extend(keyword_rows(grammar, &a, &entries, ""));
            if takes_pipe {
                items.push(("|".to_string(), pipe::BAR_HELP.to_string()));
            }
            if !a.complete.is_empty() {
                items.push(("<cr>".to_string(), String::new()));
            }
        }
        Some(start) => {
            let word = &line[start..];
            items.extend(keyword_rows(grammar, &a, &entries, word));
            if items.is_empty() {
                if a.frontier.is_empty() && a.complete.is_empty() {
                    return Err(a.error.unwrap_or(unrecognized(start)));
                }
                if word == "|" && takes_pipe {
                    items.push(("|".to_string(), pipe::BAR_HELP.to_string()));
                } else {
                    items.extend(slots(&a, &entries, true));
                }
            }
            if items.is_empty() {
                return Err(unrecognized(start));
            }
        }
    }
    Ok(rows(&items))
}

fn pipe_help(line: &str, bar: usize, partial: Option<usize>) -> Result<String, MatchError> {
    let (_, expect) = pipe::walk(&line[..partial.unwrap_or(line.len())], bar)?;
    let word = partial.map(|s| &line[s..]);
    let pair = |a: &str, b: &str| (a.to_string(), b.to_string());
    let items: Vec<(String, String)> = match (expect, word) {
        (Expect::Keyword, w) => {
            let lower = w.unwrap_or("").to_ascii_lowercase();
            let items: Vec<_> = pipe::KEYWORDS
                .iter()
                .filter(|(k, _)| k.starts_with(&lower))
                .map(|(k, h)| pair(k, h))
                .collect();
            if items.is_empty() {
                return Err(unrecognized(partial.unwrap_or(line.len())));
            }
            items
        }
        (Expect::Regex, _) | (Expect::AfterRegex, Some(_)) => {
            vec![pair(pipe::REGEX_LABEL, pipe::REGEX_HELP)]
        }
        (Expect::AfterRegex, None) => vec![pair("|", pipe::BAR_HELP), pair("<cr>", "")],
        (Expect::End, None) => vec![pair("<cr>", "")],
        (Expect::AfterLinenum, w) => {
            let lower = w.unwrap_or("").to_ascii_lowercase();
            let mut items: Vec<_> = pipe::KEYWORDS
                .iter()
                .filter(|(k, _)| matches!(*k, "begin" | "exclude" | "include"))
                .filter(|(k, _)| k.starts_with(&lower))
                .map(|(k, h)| pair(k, h))
                .collect();
            if w.is_none() {
                items.push(pair("<cr>", ""));
            } else if items.is_empty() {
                return Err(unrecognized(partial.unwrap_or(line.len())));
            }
            items
        }
        (Expect::End, Some(_)) => {
            return Err(MatchError {
                kind: ErrorKind::TooMany,
                offset: partial.unwrap_or(line.len()),
            });
        }
    };
    Ok(rows(&items))
}

/// What Tab offers for the word at the end of `line`: where it starts and the keywords that
/// may replace it, sorted (the order repeated Tabs cycle through).
pub fn complete(grammar: &Grammar, kinds: &[&str], line: &str) -> (usize, Vec<String>) {
    let start = partial_start(line).unwrap_or(line.len());
    let word = &line[start..];
    for kind in kinds {
        let entries = entries(grammar, kind);
        let prefix = &line[..start];
        if let Some(bar) = pipe::first_bar(prefix) {
            let head = analyze(&entries, &line[..bar]);
            let is_pipe = head
                .complete
                .first()
                .is_some_and(|(i, _)| entries[*i].command.pipe);
            if is_pipe && let Ok((_, Expect::Keyword)) = pipe::walk(prefix, bar) {
                let lower = word.to_ascii_lowercase();
                let c: Vec<String> = pipe::KEYWORDS
                    .iter()
                    .map(|(k, _)| *k)
                    .filter(|k| k.starts_with(&lower))
                    .map(String::from)
                    .collect();
                if !c.is_empty() {
                    return (start, c);
                }
            }
            continue;
        }
        let a = analyze(&entries, prefix);
        let c: Vec<String> = keyword_rows(grammar, &a, &entries, word)
            .into_iter()
            .map(|(w, _)| w)
            .collect();
        if !c.is_empty() {
            return (start, c);
        }
    }
    (start, Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::testing;

    fn help_in_views(kinds: &[&str], line: &str) -> Result<String, MatchError> {
        help(&testing::grammar(), kinds, line)
    }

    #[test]
    fn empty_line_lists_the_view() {
        assert_eq!(
            help_in_views(&["user"], "").unwrap(),
            "User view commands:\n\
             \x20 display      Display current system information\n\
             \x20 quit         Exit from current command view\n\
             \x20 return       Exit to User View\n\
             \x20 save         Save the current configuration\n\
             \x20 system-view  Enter the System View\n"
        );
        let h = help_in_views(&["interface", "system"], " ").unwrap();
        assert!(h.starts_with("Interface view commands:\n"), "{h}");
        assert!(
            h.contains("  shutdown ") && h.contains("  undo ") && !h.contains("sysname"),
            "{h}"
        );
        assert!(
            help_in_views(&["system"], "")
                .unwrap()
                .starts_with("System view commands:\n")
        );
    }

    #[test]
    fn next_words_and_slots() {
        assert_eq!(
            help_in_views(&["user"], "dis ").unwrap(),
            "  clock                  Display the system clock\n\
             \x20 current-configuration  Display the running configuration\n\
             \x20 ip                     Specify IP configuration\n\
             \x20 ip-pool                Display address pools\n\
             \x20 mac                    Specify a MAC address\n"
        );
        assert_eq!(
            help_in_views(&["interface"], "vrrp vrid ").unwrap(),
            "  INTEGER<1-255>  Virtual router identifier\n"
        );
        assert_eq!(
            help_in_views(&["interface"], "vrrp vrid 1 ").unwrap(),
            "  priority    Specify the priority\n  virtual-ip  Specify the virtual IP address\n"
        );
        assert_eq!(
            help_in_views(&["interface"], "ip address 1.1.1.1 ").unwrap(),
            "  X.X.X.X        Subnet mask\n  INTEGER<0-32>  Mask length\n"
        );
        assert_eq!(
            help_in_views(&["system"], "sysname ").unwrap(),
            "  TEXT  Host name (1 to 64 characters)\n"
        );
        assert_eq!(
            help_in_views(&["user"], "display mac ").unwrap(),
            "  H-H-H  MAC address\n"
        );
    }

    #[test]
    fn cr_and_pipe_when_complete() {
        assert_eq!(
            help_in_views(&["user"], "display clock ").unwrap(),
            "  |  Matching output\n  <cr>\n"
        );
        assert_eq!(
            help_in_views(&["user"], "save ").unwrap(),
            "  force  Save without asking\n  <cr>\n"
        );
        assert_eq!(
            help_in_views(&["system"], "gateway-list 1.1.1.1 ").unwrap(),
            "  X.X.X.X  Gateway address\n  <cr>\n"
        );
        assert_eq!(
            help_in_views(&["system"], "service-type ssh ").unwrap(),
            "  telnet    Telnet service\n  terminal  Terminal service\n  <cr>\n"
        );
    }

    #[test]
    fn partial_words() {
        assert_eq!(
            help_in_views(&["user"], "dis c").unwrap(),
            "  clock                  Display the system clock\n\
             \x20 current-configuration  Display the running configuration\n"
        );
        assert_eq!(
            help_in_views(&["user"], "SY").unwrap(),
            "  system-view  Enter the System View\n"
        );
        assert_eq!(
            help_in_views(&["interface"], "vrrp vrid 1").unwrap(),
            "  INTEGER<1-255>  Virtual router identifier\n"
        );
        assert_eq!(
            help_in_views(&["user"], "display clock |").unwrap(),
            "  |  Matching output\n"
        );
        assert_eq!(
            help_in_views(&["user"], "dis x"),
            Err(MatchError {
                kind: ErrorKind::Unrecognized,
                offset: 4
            })
        );
    }

    #[test]
    fn errors_before_the_question_mark() {
        let e = |line: &str| help_in_views(&["user"], line).unwrap_err();
        assert_eq!(
            e("foo "),
            MatchError {
                kind: ErrorKind::Unrecognized,
                offset: 0
            }
        );
        assert_eq!(
            e("dis c "),
            MatchError {
                kind: ErrorKind::Ambiguous,
                offset: 4
            }
        );
        assert_eq!(
            e("display clock x "),
            MatchError {
                kind: ErrorKind::TooMany,
                offset: 14
            }
        );
    }

    #[test]
    fn views_above_answer_too() {
        let h = help_in_views(&["interface", "system"], "sysn").unwrap();
        assert_eq!(h, "  sysname  Specify the host name\n");
        let h = help_in_views(&["interface", "system"], "interface ").unwrap();
        assert!(
            h.starts_with("  GigabitEthernet      GigabitEthernet interface\n"),
            "{h}"
        );
    }

    /// An interface slot lists the type names; after a type word, its number.
    #[test]
    fn interface_slots() {
        let h = help_in_views(&["system"], "interface ").unwrap();
        assert_eq!(
            h,
            "  GigabitEthernet      GigabitEthernet interface\n\
             \x20 LoopBack             LoopBack interface\n\
             \x20 Ten-GigabitEthernet  Ten-GigabitEthernet interface\n\
             \x20 Vlan-interface       VLAN interface\n"
        );
        let h = help_in_views(&["system"], "interface g").unwrap();
        assert_eq!(h, "  GigabitEthernet  GigabitEthernet interface\n");
        let h = help_in_views(&["system"], "interface GigabitEthernet ").unwrap();
        assert_eq!(h, "  X/X/X  GigabitEthernet interface number\n");
        let h = help_in_views(&["system"], "interface vlan ").unwrap();
        assert_eq!(h, "  <1-4094>  Vlan-interface interface number\n");
        let h = help_in_views(&["system"], "interface ge1/0/1").unwrap();
        assert!(h.starts_with("  INTERFACE  "), "{h}");
        let h = help_in_views(&["system"], "interface ge1/0/1 ").unwrap();
        assert_eq!(h, "  <cr>\n");
        assert_eq!(
            complete(&testing::grammar(), &["system"], "interface gi"),
            (10, vec!["GigabitEthernet".to_string()])
        );
    }

    /// A command's own `words:` text wins over the grammar-wide one where it offers the word.
    #[test]
    fn command_specific_keyword_help() {
        let g = crate::cli::grammar::builtin().unwrap();
        let h = help(g, &["system"], "display ").unwrap();
        assert!(
            h.contains("  interface              Status and configuration of interfaces\n"),
            "{h}"
        );
        let h = help(g, &["system"], "").unwrap();
        assert!(
            h.contains("  interface    Specify an interface and enter its view\n"),
            "{h}"
        );
    }

    #[test]
    fn pipe_help() {
        let h = help_in_views(&["user"], "display clock | ").unwrap();
        assert!(h.starts_with("  begin       Display the first line"), "{h}");
        assert_eq!(h.lines().count(), 5);
        assert_eq!(
            help_in_views(&["user"], "display clock | by-linenum ").unwrap(),
            "  begin    Display the first line that matches the specified regular expression\n  exclude  Display the lines that do not match the specified regular expression\n  include  Display the lines that match the specified regular expression\n  <cr>\n"
        );
        assert_eq!(
            help_in_views(&["user"], "display clock | inc").unwrap(),
            "  include  Display the lines that match the specified regular expression\n"
        );
        assert_eq!(
            help_in_views(&["user"], "display clock | include ").unwrap(),
            "  STRING<1-256>  Regular expression\n"
        );
        assert_eq!(
            help_in_views(&["user"], "display clock | include x ").unwrap(),
            "  |  Matching output\n  <cr>\n"
        );
        assert_eq!(
            help_in_views(&["user"], "display clock | count ").unwrap(),
            "  <cr>\n"
        );
        assert_eq!(
            help_in_views(&["user"], "save | "),
            Err(MatchError {
                kind: ErrorKind::Unrecognized,
                offset: 5
            })
        );
    }

    #[test]
    fn completion() {
        let g = testing::grammar();
        assert_eq!(
            complete(&g, &["user"], "dis c"),
            (4, vec!["clock".into(), "current-configuration".into()])
        );
        assert_eq!(
            complete(&g, &["user"], "sy"),
            (0, vec!["system-view".into()])
        );
        assert_eq!(
            complete(&g, &["user"], "display ip"),
            (8, vec!["ip".into(), "ip-pool".into()])
        );
        assert_eq!(
            complete(&g, &["user"], "display clock | e"),
            (16, vec!["exclude".into()])
        );
        assert_eq!(complete(&g, &["user"], "xyz"), (0, vec![]));
        assert_eq!(
            complete(&g, &["interface", "system"], "sysn"),
            (0, vec!["sysname".into()])
        );
        let (start, all) = complete(&g, &["system"], "service-type ");
        assert_eq!((start, all.len()), (13, 3));
    }
}
