//! The matcher: a line against the commands of one view, token by token.
//!
//! Every command's syntax tree is walked as a set of *states* (a stack of what is left to
//! match), all advanced together one token position at a time. Doing all commands of the view
//! at once is what makes Comware's rules fall out: a prefix is ambiguous when it starts several
//! keywords possible at that position, an exact keyword beats prefixes, a keyword beats a
//! parameter slot, and the error reported is the one of the state that got furthest.

use std::collections::{BTreeMap, BTreeSet};

use super::args::{Arg, Args, Value};
use super::grammar::{Command, Grammar};
use super::pipe::{self, Pipe};
use super::syntax::{Node, Param, ParamType};
use crate::cli::ifname::{IfKind, IfName};

/// The five ways a line can be rejected, in the order that breaks ties between attempts that
/// failed at the same place (the last wins).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ErrorKind {
    Incomplete,
    TooMany,
    Unrecognized,
    WrongParameter,
    Ambiguous,
}

impl ErrorKind {
    /// Comware's message (without the leading space it is printed with).
    pub fn message(self) -> &'static str {
        match self {
            ErrorKind::Unrecognized => "% Unrecognized command found at '^' position.",
            ErrorKind::Incomplete => "% Incomplete command found at '^' position.",
            ErrorKind::Ambiguous => "% Ambiguous command found at '^' position.",
            ErrorKind::TooMany => "% Too many parameters found at '^' position.",
            ErrorKind::WrongParameter => "% Wrong parameter found at '^' position.",
        }
    }
}

/// A rejected line: the kind and the byte offset of the offending token in the line (for
/// `Incomplete`, one past the end of the line, where the next word would go).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MatchError {
    pub kind: ErrorKind,
    pub offset: usize,
}

impl MatchError {
    /// Keep the error that got furthest; at the same offset the stronger kind.
    pub fn furthest(a: Option<MatchError>, b: MatchError) -> MatchError {
        match a {
            Some(a) if (a.offset, a.kind) >= (b.offset, b.kind) => a,
            _ => b,
        }
    }
}

/// A line that matched a command.
#[derive(Clone, Debug)]
pub struct Matched<'g> {
    pub command: &'g Command,
    pub args: Args,
    /// `| include ...` filters, in line order.
    pub pipes: Vec<Pipe>,
}

/// Comware 7's built-in aliases, replacing a whole first word (or the word after `undo`).
pub fn alias(word: &str) -> Option<&'static str> {
    const ALIASES: [(&str, &str); 6] = [
        ("show", "display"),
        ("no", "undo"),
        ("exit", "quit"),
        ("end", "return"),
        ("write", "save"),
        ("hostname", "sysname"),
    ];
    ALIASES
        .iter()
        .find(|(a, _)| a.eq_ignore_ascii_case(word))
        .map(|(_, t)| *t)
}

/// Byte ranges of the whitespace-separated tokens of `line`.
pub fn tokenize(line: &str) -> Vec<(usize, usize)> {
    let mut tokens = Vec::new();
    let mut start = None;
    for (i, c) in line.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(s)) => {
                tokens.push((s, i));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        tokens.push((s, line.len()));
    }
    tokens
}

/// One way into a command: its syntax, or its `undo` form.
#[derive(Clone, Copy, Debug)]
pub struct Entry<'g> {
    pub command: &'g Command,
    pub syntax: &'g Node,
    pub undo: bool,
}

/// The entries of every command of a view kind, in grammar order.
pub fn entries<'g>(grammar: &'g Grammar, kind: &str) -> Vec<Entry<'g>> {
    let mut out = Vec::new();
    for c in grammar.commands.iter().filter(|c| c.in_view(kind)) {
        out.push(Entry {
            command: c,
            syntax: &c.syntax,
            undo: false,
        });
        if let Some(u) = &c.undo {
            out.push(Entry {
                command: c,
                syntax: u,
                undo: true,
            });
        }
    }
    out
}

/// What may come next in a state.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Term<'g> {
    Keyword(&'g str),
    Param(&'g Param),
    /// The number of an interface whose type was given as a word of its own
    /// (`interface gigabitethernet ?`).
    IfNumber(IfKind),
}

#[derive(Clone, Debug)]
enum Frame<'g> {
    Node(&'g Node),
    /// Inside `{ } *`: `used` alternatives were taken; more may follow.
    Multi {
        alts: &'g [Node],
        used: u64,
    },
    /// A repeated parameter taken `count` times.
    Repeat {
        param: &'g Param,
        count: u32,
    },
}

#[derive(Clone, Debug)]
struct State<'g> {
    entry: usize,
    /// What is left to match; the top is the last element.
    stack: Vec<Frame<'g>>,
    args: Vec<Arg>,
}

/// Every terminal that may come next from `stack` (with the stack after it), and whether
/// the stack may also end here.
fn expand<'g>(
    mut stack: Vec<Frame<'g>>,
    accept: &mut bool,
    out: &mut Vec<(Term<'g>, Vec<Frame<'g>>)>,
) {
    let Some(top) = stack.pop() else {
        *accept = true;
        return;
    };
    match top {
        Frame::Node(node) => match node {
            Node::Keyword(w) => out.push((Term::Keyword(w), stack)),
            Node::Param(p) => {
                if p.repeat.is_some() {
                    stack.push(Frame::Repeat { param: p, count: 1 });
                }
                out.push((Term::Param(p), stack));
            }
            Node::Seq(items) => {
                stack.extend(items.iter().rev().map(Frame::Node));
                expand(stack, accept, out);
            }
            Node::Optional(inner) => {
                expand(stack.clone(), accept, out);
                stack.push(Frame::Node(inner));
                expand(stack, accept, out);
            }
            Node::Choice(alts) => {
                for alt in alts {
                    let mut s = stack.clone();
                    s.push(Frame::Node(alt));
                    expand(s, accept, out);
                }
            }
            Node::Multi(alts) => {
                for (i, alt) in alts.iter().enumerate() {
                    let mut s = stack.clone();
                    s.push(Frame::Multi { alts, used: 1 << i });
                    s.push(Frame::Node(alt));
                    expand(s, accept, out);
                }
            }
        },
        Frame::Multi { alts, used } => {
            expand(stack.clone(), accept, out);
            for (i, alt) in alts
                .iter()
                .enumerate()
                .filter(|(i, _)| used & (1 << i) == 0)
            {
                let mut s = stack.clone();
                s.push(Frame::Multi {
                    alts,
                    used: used | 1 << i,
                });
                s.push(Frame::Node(alt));
                expand(s, accept, out);
            }
        }
        Frame::Repeat { param, count } => {
            let (min, max) = param.repeat.unwrap_or((1, 1));
            if count >= min {
                expand(stack.clone(), accept, out);
            }
            if count < max {
                stack.push(Frame::Repeat {
                    param,
                    count: count + 1,
                });
                out.push((Term::Param(param), stack));
            }
        }
    }
}

/// The result of running a (possibly partial) line through the commands of a view.
#[derive(Debug, Default)]
pub struct Analysis<'g> {
    /// Entries (index into the slice given) that the whole line matches, with their arguments.
    pub complete: Vec<(usize, Args)>,
    /// What may follow the line, per entry (for `?` and Tab).
    pub frontier: Vec<(usize, Term<'g>)>,
    /// The furthest error, when some state failed.
    pub error: Option<MatchError>,
}

/// The offset an `Incomplete` error points at: one past the last word.
fn end_offset(line: &str) -> usize {
    line.trim_end().len() + 1
}

/// Take one parameter at token `pos`: its value, the next position and the span.
fn take_param(
    p: &Param,
    line: &str,
    tokens: &[(usize, usize)],
    pos: usize,
) -> Result<(Value, usize, (usize, usize)), MatchError> {
    let (start, end) = tokens[pos];
    let wrong = |offset| MatchError {
        kind: ErrorKind::WrongParameter,
        offset,
    };
    match p.ty {
        ParamType::Text { .. } => {
            let end = tokens[tokens.len() - 1].1;
            let value = p.ty.value_of(&line[start..end]).ok_or(wrong(start))?;
            Ok((value, tokens.len(), (start, end)))
        }
        ParamType::Interface => {
            let word = &line[start..end];
            if let Some(v) = p.ty.value_of(word) {
                return Ok((v, pos + 1, (start, end)));
            }
            // Type and number as two words: `gigabitethernet 1/0/1`.
            if word.bytes().any(|b| b.is_ascii_digit()) || IfKind::from_word(word).is_none() {
                return Err(wrong(start));
            }
            let Some(&(nstart, nend)) = tokens.get(pos + 1) else {
                return Err(MatchError {
                    kind: ErrorKind::Incomplete,
                    offset: end_offset(line),
                });
            };
            let name = IfName::parse_parts(word, &line[nstart..nend]).map_err(|_| wrong(nstart))?;
            Ok((Value::Interface(name.to_string()), pos + 2, (start, nend)))
        }
        _ => {
            let value = p.ty.value_of(&line[start..end]).ok_or(wrong(start))?;
            Ok((value, pos + 1, (start, end)))
        }
    }
}

/// Run `line` through `entries`.
pub fn analyze<'g>(entries: &[Entry<'g>], line: &str) -> Analysis<'g> {
    let tokens = tokenize(line);
    let n = tokens.len();
    let mut analysis = Analysis::default();
    let note = |a: &mut Analysis<'g>, kind, offset| {
        a.error = Some(MatchError::furthest(a.error, MatchError { kind, offset }));
    };
    let mut pending: BTreeMap<usize, Vec<State<'g>>> = BTreeMap::new();
    pending.insert(
        0,
        entries
            .iter()
            .enumerate()
            .map(|(i, e)| State {
                entry: i,
                stack: vec![Frame::Node(e.syntax)],
                args: Vec::new(),
            })
            .collect(),
    );
    while let Some((pos, states)) = pending.pop_first() {
        let mut next: Vec<(usize, Term<'g>, Vec<Frame<'g>>)> = Vec::new();
        for (si, st) in states.iter().enumerate() {
            let mut accept = false;
            let mut out = Vec::new();
            expand(st.stack.clone(), &mut accept, &mut out);
            if pos == n {
                if accept {
                    analysis.complete.push((
                        st.entry,
                        Args {
                            undo: entries[st.entry].undo,
                            items: st.args.clone(),
                        },
                    ));
                } else {
                    note(&mut analysis, ErrorKind::Incomplete, end_offset(line));
                }
                analysis
                    .frontier
                    .extend(out.into_iter().map(|(t, _)| (st.entry, t)));
            } else if out.is_empty() {
                note(&mut analysis, ErrorKind::TooMany, tokens[pos].0);
            } else {
                next.extend(out.into_iter().map(|(t, rest)| (si, t, rest)));
            }
        }
        if pos == n || next.is_empty() {
            continue;
        }
        let (start, end) = tokens[pos];
        let word = &line[start..end];
        // Which keyword the word stands for: an alias as first word, an exact keyword, or the
        // one keyword it is a prefix of.
        let words: BTreeSet<&str> = next
            .iter()
            .filter_map(|(_, t, _)| {
                if let Term::Keyword(w) = t {
                    Some(*w)
                } else {
                    None
                }
            })
            .collect();
        let lower = word.to_ascii_lowercase();
        // An alias stands for the first word, and for the word after `undo` (`no hostname`).
        let after_undo = pos == 1
            && next
                .iter()
                .any(|(si, _, _)| states[*si].args.first().is_some_and(|a| a.name == "undo"));
        let aliased = if pos == 0 || after_undo {
            alias(word).filter(|a| words.contains(a))
        } else {
            None
        };
        let exact = words.iter().find(|w| w.eq_ignore_ascii_case(word)).copied();
        let prefixed: Vec<&str> = words
            .iter()
            .filter(|w| w.to_ascii_lowercase().starts_with(&lower))
            .copied()
            .collect();
        let chosen = aliased.or(exact).or(if prefixed.len() == 1 {
            Some(prefixed[0])
        } else {
            None
        });
        let ambiguous = chosen.is_none() && prefixed.len() > 1;
        let mut advanced = false;
        let mut param_error: Option<MatchError> = None;
        for (si, term, rest) in next {
            let st = &states[si];
            match term {
                Term::Keyword(w) if Some(w) == chosen => {
                    let mut args = st.args.clone();
                    args.push(Arg {
                        name: w.to_string(),
                        value: Value::Keyword,
                        span: (start, end),
                    });
                    pending.entry(pos + 1).or_default().push(State {
                        entry: st.entry,
                        stack: rest,
                        args,
                    });
                    advanced = true;
                }
                Term::Param(p) if chosen.is_none() => match take_param(p, line, &tokens, pos) {
                    Ok((value, npos, span)) => {
                        let mut args = st.args.clone();
                        args.push(Arg {
                            name: p.name.clone(),
                            value,
                            span,
                        });
                        pending.entry(npos).or_default().push(State {
                            entry: st.entry,
                            stack: rest,
                            args,
                        });
                        advanced = true;
                    }
                    Err(e) => {
                        // `gigabitethernet` at the end of the line: the number comes next.
                        if e.kind == ErrorKind::Incomplete
                            && p.ty == ParamType::Interface
                            && let Some(kind) = IfKind::from_word(word)
                        {
                            analysis.frontier.push((st.entry, Term::IfNumber(kind)));
                        }
                        param_error = Some(MatchError::furthest(param_error, e));
                    }
                },
                _ => {}
            }
        }
        if !advanced {
            match (ambiguous, param_error) {
                (true, _) => note(&mut analysis, ErrorKind::Ambiguous, start),
                (false, Some(e)) => note(&mut analysis, e.kind, e.offset),
                (false, None) => note(&mut analysis, ErrorKind::Unrecognized, start),
            }
        }
    }
    analysis
}

/// The entries whose first keyword the first word of `line` can stand for (a prefix of it, or
/// an alias of it); all entries when none can, so the error is the one all of them give.
/// Every syntax starts with a keyword (the grammar loader checks it), so an entry left out
/// could only fail at the first word, and an error there never beats one further on: the
/// match and its error are those of the whole view, found without walking every command.
fn by_first_word<'g>(all: Vec<Entry<'g>>, line: &str) -> Vec<Entry<'g>> {
    let Some(&(start, end)) = tokenize(line).first() else {
        return all;
    };
    let word = line[start..end].to_ascii_lowercase();
    let aliased = alias(&word);
    let some: Vec<Entry<'g>> = all
        .iter()
        .filter(|e| {
            e.syntax
                .first_keyword()
                .is_some_and(|k| k.to_ascii_lowercase().starts_with(&word) || Some(k) == aliased)
        })
        .copied()
        .collect();
    if some.is_empty() { all } else { some }
}

/// Match a whole line against the commands of one view kind (pipes included).
pub fn match_line<'g>(
    grammar: &'g Grammar,
    kind: &str,
    line: &str,
) -> Result<Matched<'g>, MatchError> {
    let entries = by_first_word(entries(grammar, kind), line);
    let whole = analyze(&entries, line);
    let unknown = MatchError {
        kind: ErrorKind::Unrecognized,
        offset: line.len() - line.trim_start().len(),
    };
    if let Some((i, args)) = whole.complete.into_iter().next() {
        return Ok(Matched {
            command: entries[i].command,
            args,
            pipes: Vec::new(),
        });
    }
    let error = whole.error.unwrap_or(unknown);
    // A display command followed by `| ...`.
    if let Some(bar) = pipe::first_bar(line) {
        let head = analyze(&entries, &line[..bar]);
        if let Some((i, args)) = head.complete.into_iter().next()
            && entries[i].command.pipe
        {
            let pipes = pipe::parse(line, bar)?;
            return Ok(Matched {
                command: entries[i].command,
                args,
                pipes,
            });
        }
    }
    Err(error)
}

#[cfg(test)]
mod tests;
