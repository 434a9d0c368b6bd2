//! The syntax mini-language of `commands/*.yaml` (docs/grammar.md): keywords, typed parameters
//! `<name:type>`, repetition `&<A-B>`, optional `[ ]`, alternatives `{ a | b }` and the
//! any-order set `{ a | b } *`, parsed with nom into a [`Node`] tree.

use nom::branch::alt;
use nom::bytes::complete::{tag, take_while1};
use nom::character::complete::{char, digit1, multispace0};
use nom::combinator::{all_consuming, cut, map_res, opt, value};
use nom::multi::{many1, separated_list1};
use nom::sequence::{delimited, preceded, separated_pair, terminated};
use nom::{IResult, Parser};

/// The type of a parameter slot, with its bounds.
#[derive(Clone, Debug, PartialEq)]
pub enum ParamType {
    /// One token of `min..=max` characters.
    Str {
        min: u64,
        max: u64,
    },
    /// The rest of the line, `min..=max` characters.
    Text {
        min: u64,
        max: u64,
    },
    /// A decimal integer in `min..=max`.
    Int {
        min: u64,
        max: u64,
    },
    Ipv4,
    /// A dotted contiguous netmask.
    Mask,
    Mac,
    /// `min..=max` hex digits.
    Hex {
        min: u64,
        max: u64,
    },
    /// An interface name, one token or two.
    Interface,
}

/// A `<name:type>` slot, possibly repeated (`&<1-8>`).
#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    pub name: String,
    pub ty: ParamType,
    /// `(min, max)` occurrences for `&<min-max>`.
    pub repeat: Option<(u32, u32)>,
}

/// A parsed syntax.
#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    Keyword(String),
    Param(Param),
    Seq(Vec<Node>),
    Optional(Box<Node>),
    /// Exactly one of the alternatives.
    Choice(Vec<Node>),
    /// One or more of the alternatives, each at most once, in any order.
    Multi(Vec<Node>),
}

/// Why a syntax string was rejected.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum SyntaxError {
    #[error("syntax error at character {0}")]
    At(usize),
    #[error("{0}")]
    Invalid(String),
}

/// Most alternatives a `{ } *` set may have (the matcher tracks them in a bit set).
pub const MAX_MULTI: usize = 64;

type Res<'a, T> = IResult<&'a str, T>;

fn number(i: &str) -> Res<'_, u64> {
    map_res(digit1, str::parse::<u64>).parse(i)
}

fn range(i: &str) -> Res<'_, (u64, u64)> {
    delimited(
        char('('),
        separated_pair(number, char('-'), number),
        char(')'),
    )
    .parse(i)
}

fn param_type(i: &str) -> Res<'_, ParamType> {
    alt((
        value(ParamType::Interface, tag("interface")),
        value(ParamType::Ipv4, tag("ipv4")),
        value(ParamType::Mask, tag("mask")),
        value(ParamType::Mac, tag("mac")),
        preceded(tag("string"), range).map(|(min, max)| ParamType::Str { min, max }),
        preceded(tag("text"), range).map(|(min, max)| ParamType::Text { min, max }),
        preceded(tag("int"), range).map(|(min, max)| ParamType::Int { min, max }),
        preceded(tag("hex"), range).map(|(min, max)| ParamType::Hex { min, max }),
    ))
    .parse(i)
}

fn name(i: &str) -> Res<'_, &str> {
    take_while1(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-').parse(i)
}

fn param(i: &str) -> Res<'_, Node> {
    let repeat = preceded(
        tag("&<"),
        terminated(separated_pair(number, char('-'), number), char('>')),
    );
    (
        preceded(
            char('<'),
            cut(terminated(
                separated_pair(name, char(':'), param_type),
                char('>'),
            )),
        ),
        opt(repeat),
    )
        .map(|((name, ty), repeat)| {
            Node::Param(Param {
                name: name.to_string(),
                ty,
                repeat: repeat
                    .map(|(a, b)| (a.min(u32::MAX as u64) as u32, b.min(u32::MAX as u64) as u32)),
            })
        })
        .parse(i)
}

fn keyword(i: &str) -> Res<'_, Node> {
    take_while1(|c: char| c.is_ascii_alphanumeric() || "-_./:".contains(c))
        .map(|w: &str| Node::Keyword(w.to_string()))
        .parse(i)
}

fn alternatives(i: &str) -> Res<'_, Vec<Node>> {
    separated_list1(preceded(multispace0, char('|')), sequence).parse(i)
}

fn choice(i: &str) -> Res<'_, Node> {
    (
        // After an opening bracket the group must close: `cut` reports the error where it is.
        preceded(
            char('{'),
            cut(terminated(alternatives, preceded(multispace0, char('}')))),
        ),
        opt(preceded(multispace0, char('*'))),
    )
        .map(|(alts, star)| {
            if star.is_some() {
                Node::Multi(alts)
            } else {
                Node::Choice(alts)
            }
        })
        .parse(i)
}

fn optional(i: &str) -> Res<'_, Node> {
    preceded(
        char('['),
        cut(terminated(alternatives, preceded(multispace0, char(']')))),
    )
    .map(|mut alts| {
        let inner = if alts.len() == 1 {
            alts.remove(0)
        } else {
            Node::Choice(alts)
        };
        Node::Optional(Box::new(inner))
    })
    .parse(i)
}

fn item(i: &str) -> Res<'_, Node> {
    preceded(multispace0, alt((choice, optional, param, keyword))).parse(i)
}

fn sequence(i: &str) -> Res<'_, Node> {
    many1(item)
        .map(|mut items| {
            if items.len() == 1 {
                items.remove(0)
            } else {
                Node::Seq(items)
            }
        })
        .parse(i)
}

/// Parse and check one syntax string.
pub fn parse(text: &str) -> Result<Node, SyntaxError> {
    let node = match all_consuming(terminated(sequence, multispace0)).parse(text) {
        Ok((_, node)) => node,
        Err(nom::Err::Error(e) | nom::Err::Failure(e)) => {
            return Err(SyntaxError::At(text.len() - e.input.len() + 1));
        }
        Err(nom::Err::Incomplete(_)) => return Err(SyntaxError::At(text.len())),
    };
    check(&node, true)?;
    Ok(node)
}

/// Bounds are ordered, `{ } *` sets are small enough, and a `text` slot (which takes the rest
/// of the line) is the last item of the top-level sequence.
fn check(node: &Node, top: bool) -> Result<(), SyntaxError> {
    match node {
        Node::Keyword(_) => Ok(()),
        Node::Param(p) => {
            let bounds = match p.ty {
                ParamType::Str { min, max }
                | ParamType::Text { min, max }
                | ParamType::Int { min, max }
                | ParamType::Hex { min, max } => Some((min, max)),
                _ => None,
            };
            if let Some((min, max)) = bounds
                && min > max
            {
                return Err(SyntaxError::Invalid(format!(
                    "<{}>: range {min}-{max} is empty",
                    p.name
                )));
            }
            if let Some((min, max)) = p.repeat
                && (min == 0 || min > max)
            {
                return Err(SyntaxError::Invalid(format!(
                    "<{}>: repetition &<{min}-{max}> is invalid",
                    p.name
                )));
            }
            if matches!(p.ty, ParamType::Text { .. }) && (!top || p.repeat.is_some()) {
                return Err(SyntaxError::Invalid(format!(
                    "<{}>: a text parameter must end the syntax",
                    p.name
                )));
            }
            Ok(())
        }
        Node::Seq(items) => {
            let last = items.len() - 1;
            items
                .iter()
                .enumerate()
                .try_for_each(|(i, n)| check(n, top && i == last))
        }
        Node::Optional(inner) => check(inner, false),
        Node::Choice(alts) => alts.iter().try_for_each(|n| check(n, false)),
        Node::Multi(alts) => {
            if alts.len() > MAX_MULTI {
                return Err(SyntaxError::Invalid(format!(
                    "a {{ }} * set has more than {MAX_MULTI} alternatives"
                )));
            }
            alts.iter().try_for_each(|n| check(n, false))
        }
    }
}

impl Node {
    /// Every keyword and parameter of the tree, in syntax order.
    pub fn walk<'a>(&'a self, f: &mut impl FnMut(&'a Node)) {
        match self {
            Node::Keyword(_) | Node::Param(_) => f(self),
            Node::Seq(items) | Node::Choice(items) | Node::Multi(items) => {
                items.iter().for_each(|n| n.walk(f))
            }
            Node::Optional(inner) => inner.walk(f),
        }
    }

    /// The first keyword of the syntax, when it starts with one.
    pub fn first_keyword(&self) -> Option<&str> {
        match self {
            Node::Keyword(w) => Some(w),
            Node::Seq(items) => items.first()?.first_keyword(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kw(w: &str) -> Node {
        Node::Keyword(w.to_string())
    }

    #[test]
    fn keywords_and_params() {
        let n = parse("vrrp vrid <id:int(1-255)> virtual-ip <ip:ipv4>").unwrap();
        let Node::Seq(items) = n else {
            panic!("not a sequence")
        };
        assert_eq!(items[0], kw("vrrp"));
        assert_eq!(
            items[2],
            Node::Param(Param {
                name: "id".into(),
                ty: ParamType::Int { min: 1, max: 255 },
                repeat: None
            })
        );
        assert_eq!(
            items[4],
            Node::Param(Param {
                name: "ip".into(),
                ty: ParamType::Ipv4,
                repeat: None
            })
        );
    }

    #[test]
    fn repetition_optional_choice_multi() {
        let n = parse("gateway-list <ip:ipv4>&<1-8>").unwrap();
        assert_eq!(
            n,
            Node::Seq(vec![
                kw("gateway-list"),
                Node::Param(Param {
                    name: "ip".into(),
                    ty: ParamType::Ipv4,
                    repeat: Some((1, 8))
                })
            ])
        );
        let n = parse("save [ force ]").unwrap();
        assert_eq!(
            n,
            Node::Seq(vec![kw("save"), Node::Optional(Box::new(kw("force")))])
        );
        let n = parse("a { b | c d }").unwrap();
        assert_eq!(
            n,
            Node::Seq(vec![
                kw("a"),
                Node::Choice(vec![kw("b"), Node::Seq(vec![kw("c"), kw("d")])])
            ])
        );
        let n = parse("a {b|c} *").unwrap();
        assert_eq!(
            n,
            Node::Seq(vec![kw("a"), Node::Multi(vec![kw("b"), kw("c")])])
        );
        let n = parse("a [ b | c ]").unwrap();
        assert_eq!(
            n,
            Node::Seq(vec![
                kw("a"),
                Node::Optional(Box::new(Node::Choice(vec![kw("b"), kw("c")])))
            ])
        );
    }

    #[test]
    fn types() {
        for (t, ty) in [
            ("string(1-63)", ParamType::Str { min: 1, max: 63 }),
            ("text(1-255)", ParamType::Text { min: 1, max: 255 }),
            ("mask", ParamType::Mask),
            ("mac", ParamType::Mac),
            ("hex(2-8)", ParamType::Hex { min: 2, max: 8 }),
            ("interface", ParamType::Interface),
        ] {
            let Node::Seq(items) = parse(&format!("x <p:{t}>")).unwrap() else {
                panic!("{t}")
            };
            let Node::Param(p) = &items[1] else {
                panic!("{t}")
            };
            assert_eq!(p.ty, ty);
        }
    }

    #[test]
    fn rejects() {
        assert_eq!(parse("a { b | c"), Err(SyntaxError::At(10)));
        assert!(parse("a <x:float>").is_err());
        assert!(parse("a <x:int(5-1)>").is_err());
        assert!(parse("a <x:ipv4>&<0-8>").is_err());
        assert!(parse("a <t:text(1-5)> b").is_err());
        assert!(parse("a [ <t:text(1-5)> ]").is_err());
        assert!(parse("").is_err());
        assert!(parse("a ]").is_err());
        assert!(parse("a <t:text(1-5)>").is_ok());
    }
}
