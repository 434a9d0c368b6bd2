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

/// The argument slots of the frontier with their help, in grammar order, once each.
fn slots(a: &Analysis<'_>, entries: &[Entry<'_>]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (i, t) in &a.frontier {
        if let Term::Param(p) = t {
            let help = entries[*i]
                .command
                .params
                .get(&p.name)
                .cloned()
                .unwrap_or_default();
            let row = (p.ty.label(), help);
            if !out.contains(&row) {
                out.push(row);
            }
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
        let items: Vec<(String, String)> = keywords(&a, "")
            .into_iter()
            .map(|w| (w.to_string(), grammar.word_help(w).to_string()))
            .collect();
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
            items.extend(slots(&a, &entries));
            items.extend(
                keywords(&a, "")
                    .into_iter()
                    .map(|w| (w.to_string(), grammar.word_help(w).to_string())),
            );
            if takes_pipe {
                items.push(("|".to_string(), pipe::BAR_HELP.to_string()));
            }
            if !a.complete.is_empty() {
                items.push(("<cr>".to_string(), String::new()));
            }
        }
        Some(start) => {
            let word = &line[start..];
            items.extend(
                keywords(&a, word)
                    .into_iter()
                    .map(|w| (w.to_string(), grammar.word_help(w).to_string())),
            );
            if items.is_empty() {
                if a.frontier.is_empty() && a.complete.is_empty() {
                    return Err(a.error.unwrap_or(unrecognized(start)));
                }
                if word == "|" && takes_pipe {
                    items.push(("|".to_string(), pipe::BAR_HELP.to_string()));
                } else {
                    items.extend(slots(&a, &entries));
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
        let c: Vec<String> = keywords(&a, word).into_iter().map(String::from).collect();
        if !c.is_empty() {
            return (start, c);
        }
    }
    (start, Vec::new())
}
