//! Output filters of display commands: `| begin|include|exclude REGEX` (case-sensitive,
//! chainable), `| count`, and `| by-linenum [ begin|include|exclude REGEX ]` (Comware 7's line
//! numbers: five columns, then `:` for a line the filter matched or `-` for a line `begin`
//! shows after the first match, then two spaces and the line).
//!
//! A filter starts at a `|` that stands alone as a word; its regular expression is the text up
//! to the next such `|` (so `a|b` without spaces is one alternation).

use regex::Regex;

use super::matcher::{ErrorKind, MatchError, tokenize};

/// One filter.
#[derive(Clone, Debug)]
pub enum Pipe {
    /// Output from the first line that matches.
    Begin(Regex),
    /// Only the lines that match.
    Include(Regex),
    /// Only the lines that do not match.
    Exclude(Regex),
    /// The number of lines instead of the lines.
    Count,
    /// Number each line shown by its place in the command's whole output.
    LineNumbers,
}

/// The filter keywords with their help, sorted.
pub const KEYWORDS: [(&str, &str); 5] = [
    (
        "begin",
        "Display the first line that matches the specified regular expression",
    ),
    ("by-linenum", "Display the number of each line"),
    ("count", "Display the number of lines of output"),
    (
        "exclude",
        "Display the lines that do not match the specified regular expression",
    ),
    (
        "include",
        "Display the lines that match the specified regular expression",
    ),
];

/// Help of the `|` itself.
pub const BAR_HELP: &str = "Matching output";
/// `?` label and help of a regular expression slot.
pub const REGEX_LABEL: &str = "STRING<1-256>";
pub const REGEX_HELP: &str = "Regular expression";

/// Byte offset of the first `|` that stands alone as a word.
pub fn first_bar(line: &str) -> Option<usize> {
    tokenize(line)
        .into_iter()
        .find(|&(s, e)| &line[s..e] == "|")
        .map(|(s, _)| s)
}

/// What the line asks of the pipe part, word by word.
#[derive(Debug, PartialEq)]
pub enum Expect {
    /// A filter keyword (after `|`).
    Keyword,
    /// A regular expression (after `begin`, `include`, `exclude`).
    Regex,
    /// After a regular expression: more of it, another `|`, or the end.
    AfterRegex,
    /// After `count`: the end.
    End,
    /// After `by-linenum`: the end, or `begin`, `include` or `exclude` with an expression.
    AfterLinenum,
}

/// The filter keyword `word` is a unique prefix of.
fn keyword(word: &str) -> Result<&'static str, ErrorKind> {
    let lower = word.to_ascii_lowercase();
    let hits: Vec<&str> = KEYWORDS
        .iter()
        .map(|(k, _)| *k)
        .filter(|k| k.starts_with(&lower))
        .collect();
    match hits.as_slice() {
        [one] => Ok(one),
        [] => Err(ErrorKind::Unrecognized),
        _ => Err(ErrorKind::Ambiguous),
    }
}

/// Walk the pipe part of `line` (from the `|` at byte `bar`); returns the filters and what may
/// come next.
pub fn walk(line: &str, bar: usize) -> Result<(Vec<Pipe>, Expect), MatchError> {
    let tokens: Vec<(usize, usize)> = tokenize(line).into_iter().filter(|t| t.0 >= bar).collect();
    let mut pipes = Vec::new();
    let mut expect = Expect::End;
    let mut i = 0;
    let err = |kind, offset| MatchError { kind, offset };
    while i < tokens.len() {
        let (s, e) = tokens[i];
        let word = &line[s..e];
        match expect {
            Expect::End | Expect::AfterRegex if word != "|" => {
                return Err(err(ErrorKind::TooMany, s));
            }
            Expect::End | Expect::AfterRegex => expect = Expect::Keyword,
            Expect::Keyword => {
                let k = keyword(word).map_err(|kind| err(kind, s))?;
                expect = match k {
                    "count" => {
                        pipes.push(Pipe::Count);
                        Expect::End
                    }
                    "by-linenum" => {
                        pipes.push(Pipe::LineNumbers);
                        Expect::AfterLinenum
                    }
                    _ => Expect::Regex,
                };
            }
            Expect::AfterLinenum => {
                let k = keyword(word).map_err(|kind| err(kind, s))?;
                if matches!(k, "count" | "by-linenum") {
                    return Err(err(ErrorKind::Unrecognized, s));
                }
                expect = Expect::Regex;
            }
            Expect::Regex => {
                // The expression runs up to the next lone `|`.
                let mut j = i;
                while j + 1 < tokens.len() && &line[tokens[j + 1].0..tokens[j + 1].1] != "|" {
                    j += 1;
                }
                let text = &line[s..tokens[j].1];
                let re = Regex::new(text).map_err(|_| err(ErrorKind::WrongParameter, s))?;
                let kw = keyword(&line[tokens[i - 1].0..tokens[i - 1].1]).unwrap_or("include");
                pipes.push(match kw {
                    "begin" => Pipe::Begin(re),
                    "exclude" => Pipe::Exclude(re),
                    _ => Pipe::Include(re),
                });
                expect = Expect::AfterRegex;
                i = j;
            }
        }
        i += 1;
    }
    Ok((pipes, expect))
}

/// The filters of a complete line.
pub fn parse(line: &str, bar: usize) -> Result<Vec<Pipe>, MatchError> {
    let (pipes, expect) = walk(line, bar)?;
    match expect {
        Expect::Keyword | Expect::Regex => Err(MatchError {
            kind: ErrorKind::Incomplete,
            offset: line.trim_end().len() + 1,
        }),
        Expect::AfterRegex | Expect::End | Expect::AfterLinenum => Ok(pipes),
    }
}

/// Apply the filters, in order, to a command's output.
pub fn apply(pipes: &[Pipe], output: String) -> String {
    // Each line keeps its number in the whole output and whether the filter that let it
    // through matched it (`by-linenum` shows `:` or `-`).
    let mut lines: Vec<(usize, bool, &str)> = output
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, true, l))
        .collect();
    for pipe in pipes {
        match pipe {
            Pipe::Include(re) => lines.retain(|(_, _, l)| re.is_match(l)),
            Pipe::Exclude(re) => lines.retain(|(_, _, l)| !re.is_match(l)),
            Pipe::Begin(re) => {
                let first = lines.iter().position(|(_, _, l)| re.is_match(l));
                lines.drain(..first.unwrap_or(lines.len()));
                for line in &mut lines {
                    line.1 = re.is_match(line.2);
                }
            }
            Pipe::Count => return format!("Total lines: {}.\n", lines.len()),
            Pipe::LineNumbers => {}
        }
    }
    let numbered = pipes.iter().any(|p| matches!(p, Pipe::LineNumbers));
    lines
        .iter()
        .map(|(n, matched, l)| match numbered {
            true => format!("{n:>5}{}  {l}\n", if *matched { ':' } else { '-' }),
            false => format!("{l}\n"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUT: &str = "alpha\nbeta\ngamma\nAlpha\ndelta\n";

    fn run(line: &str) -> Result<String, MatchError> {
        let bar = first_bar(line).expect("a bar");
        Ok(apply(&parse(line, bar)?, OUT.to_string()))
    }

    #[test]
    fn filters() {
        assert_eq!(
            run("display x | include a$").unwrap(),
            "alpha\nbeta\ngamma\nAlpha\ndelta\n"
        );
        assert_eq!(run("display x | include ^a").unwrap(), "alpha\n");
        assert_eq!(run("display x | exclude l").unwrap(), "beta\ngamma\n");
        assert_eq!(
            run("display x | begin gam").unwrap(),
            "gamma\nAlpha\ndelta\n"
        );
        assert_eq!(
            run("display x | inc lpha|elt").unwrap(),
            "alpha\nAlpha\ndelta\n"
        );
        assert_eq!(
            run("display x | include a | exclude ^A | count").unwrap(),
            "Total lines: 4.\n"
        );
        assert_eq!(run("display x | begin zzz").unwrap(), "");
        assert_eq!(run("display x | include al pha").unwrap(), "");
    }

    #[test]
    fn errors() {
        let e = |line: &str| run(line).unwrap_err();
        assert_eq!(
            e("d | include"),
            MatchError {
                kind: ErrorKind::Incomplete,
                offset: 12
            }
        );
        assert_eq!(
            e("d |"),
            MatchError {
                kind: ErrorKind::Incomplete,
                offset: 4
            }
        );
        assert_eq!(
            e("d | foo x"),
            MatchError {
                kind: ErrorKind::Unrecognized,
                offset: 4
            }
        );
        assert_eq!(
            e("d | e ("),
            MatchError {
                kind: ErrorKind::WrongParameter,
                offset: 6
            }
        );
        assert_eq!(
            e("d | count x"),
            MatchError {
                kind: ErrorKind::TooMany,
                offset: 10
            }
        );
    }

    #[test]
    fn line_numbers() {
        assert_eq!(
            run("display x | by-linenum").unwrap(),
            "    1:  alpha\n    2:  beta\n    3:  gamma\n    4:  Alpha\n    5:  delta\n"
        );
        // Comware 7's example: `:` on the lines that match, `-` on the ones after them.
        assert_eq!(
            run("display x | by-linenum begin ^[gA]").unwrap(),
            "    3:  gamma\n    4:  Alpha\n    5-  delta\n"
        );
        assert_eq!(
            run("display x | by-l include ^a").unwrap(),
            "    1:  alpha\n"
        );
        assert_eq!(
            run("display x | by-linenum exclude l").unwrap(),
            "    2:  beta\n    3:  gamma\n"
        );
        assert_eq!(
            run("d | by-linenum count").unwrap_err(),
            MatchError {
                kind: ErrorKind::Unrecognized,
                offset: 15
            }
        );
        assert_eq!(
            run("d | by-linenum include").unwrap_err(),
            MatchError {
                kind: ErrorKind::Incomplete,
                offset: 23
            }
        );
    }

    #[test]
    fn bar_must_stand_alone() {
        assert_eq!(first_bar("display a|b"), None);
        assert_eq!(first_bar("display a | b"), Some(10));
    }
}
