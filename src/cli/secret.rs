//! Secrets in command lines. A parameter marked `secret:` in `commands/*.yaml` (a password,
//! a key, their hashes and ciphertexts) is a secret wherever the command appears, so every
//! command with a secret is protected by construction:
//!
//! - a line that carries a secret is not kept in the history (Comware keeps password commands
//!   out of it), so no line editor recalls it either (they recall only what the history keeps:
//!   `Shell::last_in_history`), and is logged with each secret value replaced by [`MASK`]
//!   ([`mask`]);
//! - configuration text shown to a network-operator has every secret value replaced by
//!   [`MASK`] ([`mask_config`]), whatever display shows it.
//!
//! Invariant (docs/grammar.md, design.md §9): a value typed into a `secret:` slot never
//! reaches a log, the history or an operator's screen. `every_secret_stays_out_of_logs_and_history`
//! (src/session/exec/tests.rs) walks the grammar to hold every command to it.

use std::collections::BTreeSet;

use super::args::Args;
use super::grammar::{Command, Grammar};
use super::matcher;
use super::syntax::Node;

/// What a secret value is shown as (as `display vrrp verbose` shows the key).
pub const MASK: &str = "******";

/// Byte ranges of the secret values among `args`.
fn spans(command: &Command, args: &Args) -> Vec<(usize, usize)> {
    args.items
        .iter()
        .filter(|a| command.secret.contains(&a.name))
        .map(|a| a.span)
        .collect()
}

/// Was a secret typed in this line?
pub fn carries_secret(command: &Command, args: &Args) -> bool {
    args.items.iter().any(|a| command.secret.contains(&a.name))
}

/// `line` with each of `spans` replaced by [`MASK`]. A span that does not fit the line (never
/// expected: spans come from matching this line) withholds everything after the first word
/// rather than risk showing a secret.
fn replace(line: &str, mut spans: Vec<(usize, usize)>) -> String {
    spans.sort_unstable();
    spans.dedup();
    let fits = spans.iter().all(|&(start, end)| {
        start <= end
            && end <= line.len()
            && line.is_char_boundary(start)
            && line.is_char_boundary(end)
    });
    let overlapping = spans.windows(2).any(|w| w[1].0 < w[0].1);
    if !fits || overlapping {
        let first = line.split_whitespace().next().unwrap_or("");
        return format!("{first} {MASK}");
    }
    let mut out = String::with_capacity(line.len());
    let mut at = 0;
    for (start, end) in spans {
        out.push_str(&line[at..start]);
        out.push_str(MASK);
        at = end;
    }
    out.push_str(&line[at..]);
    out
}

/// The line a command was matched from, with every secret value replaced by [`MASK`]: what
/// the log shows (`Command is authentication-key plain ******`).
pub fn mask(line: &str, command: &Command, args: &Args) -> String {
    replace(line, spans(command, args))
}

/// Does the syntax have a slot named in `secret`?
fn has_secret_slot(node: &Node, secret: &BTreeSet<String>) -> bool {
    let mut found = false;
    node.walk(&mut |n| {
        if let Node::Param(p) = n {
            found |= secret.contains(&p.name);
        }
    });
    found
}

/// The first keywords of the forms that can carry a secret (`password`, `authentication-key`,
/// `vrrp`, ...): only a line starting with one of them (or a prefix of one) can hold a secret.
fn secret_heads(grammar: &Grammar) -> BTreeSet<&str> {
    let mut heads = BTreeSet::new();
    for c in grammar.commands.iter().filter(|c| !c.secret.is_empty()) {
        for form in std::iter::once(&c.syntax).chain(c.undo.as_ref()) {
            if has_secret_slot(form, &c.secret)
                && let Some(head) = form.first_keyword()
            {
                heads.insert(head);
            }
        }
    }
    heads
}

/// Does the line start with (a prefix of) the first keyword of a form with a secret slot?
fn starts_secret_form(heads: &BTreeSet<&str>, line: &str) -> bool {
    let first = line
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    !first.is_empty() && heads.iter().any(|h| h.starts_with(first.as_str()))
}

/// May this line (matched or not) hold a secret? True when its first word starts a form with
/// a secret slot: an error report then does not quote its words.
pub fn may_hold_secret(grammar: &Grammar, line: &str) -> bool {
    starts_secret_form(&secret_heads(grammar), line.trim_start())
}

/// Configuration text (`display current-configuration`, `display this`, a saved file) as a
/// network-operator may see it: on each command line, every value that fills a `secret:` slot
/// is replaced by [`MASK`] (` authentication-key cipher ******`), so the operator sees that a
/// key or password is set but not what it is.
///
/// Only lines whose first word starts a form with a secret slot are matched (matching every
/// line of a large configuration in every view would cost seconds); such a line is tried in
/// every view (a file line does not say which view it belongs to) and the secrets of every
/// command it matches are masked. One that no command matches (a damaged saved file) is
/// withheld, only its indentation and [`MASK`] shown, since nothing says which word is secret.
pub fn mask_config(grammar: &Grammar, text: &str) -> String {
    let heads = secret_heads(grammar);
    let kinds: BTreeSet<&str> = grammar
        .commands
        .iter()
        .flat_map(|c| c.views.iter().map(String::as_str))
        .filter(|v| *v != "any")
        .collect();
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        let trimmed = body.trim_start();
        let indent = &body[..body.len() - trimmed.len()];
        if !starts_secret_form(&heads, trimmed) {
            out.push_str(line);
            continue;
        }
        let mut secret_spans = Vec::new();
        let mut matched = false;
        for kind in &kinds {
            if let Ok(m) = matcher::match_line(grammar, kind, trimmed) {
                matched = true;
                secret_spans.extend(spans(m.command, &m.args));
            }
        }
        out.push_str(indent);
        if matched {
            out.push_str(&replace(trimmed, secret_spans));
        } else {
            out.push_str(MASK);
        }
        out.push_str(&line[body.len()..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grammar() -> &'static Grammar {
        super::super::grammar::builtin().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn replace_masks_each_span_and_never_leaks_on_a_bad_one() {
        assert_eq!(
            replace("a bc de f", vec![(5, 7), (2, 4)]),
            "a ****** ****** f"
        );
        assert_eq!(replace("a bc", vec![]), "a bc");
        assert_eq!(replace("key s3cret", vec![(4, 99)]), "key ******");
        assert_eq!(replace("key s3cret", vec![(4, 8), (6, 10)]), "key ******");
    }

    #[test]
    fn operators_see_that_a_secret_is_set_not_what_it_is() {
        let cipher = crate::vrrp::cipher::encrypt("s3cret");
        let text = format!(
            "#\n version 7.1.064, Duet 0.1.0\n#\n sysname Duet\n#\nhot-backup\n authentication-key cipher {cipher}\n#\n\
             interface GigabitEthernet1/0/1\n vrrp vrid 1 authentication-mode simple cipher {cipher}\n#\n\
             line vty 0 4\n set authentication password hash $argon2id$abc\n#\n\
             local-user admin class manage\n password hash $argon2id$xyz\n ssh authorized-key ssh-ed25519 AAAA k\n#\n\
             password typo s3cret extra\n not a command s3cret\n#\nreturn\n"
        );
        let shown = mask_config(grammar(), &text);
        assert_eq!(
            shown,
            "#\n version 7.1.064, Duet 0.1.0\n#\n sysname Duet\n#\nhot-backup\n authentication-key cipher ******\n#\n\
             interface GigabitEthernet1/0/1\n vrrp vrid 1 authentication-mode simple cipher ******\n#\n\
             line vty 0 4\n set authentication password hash ******\n#\n\
             local-user admin class manage\n password hash ******\n ssh authorized-key ssh-ed25519 AAAA k\n#\n\
             ******\n not a command s3cret\n#\nreturn\n"
        );
    }
}
