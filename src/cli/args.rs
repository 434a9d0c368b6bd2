//! The typed arguments of a matched command.

use std::net::Ipv4Addr;

/// One value taken from the command line.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A keyword that was present (stored under its full name, e.g. `cipher`).
    Keyword,
    /// A string, text or regex parameter.
    Str(String),
    /// An integer parameter.
    Int(u64),
    /// An IPv4 address parameter (also masks written dotted).
    Ipv4(Ipv4Addr),
    /// A MAC address parameter (`H-H-H`).
    Mac([u8; 6]),
    /// An interface name, canonicalised (`ge1/0/1` -> `GigabitEthernet1/0/1`).
    Interface(String),
}

/// One item of [`Args`]: the name from the grammar (keyword or `<name:type>`), its value,
/// and the byte range of its token(s) in the line (for caret errors).
#[derive(Clone, Debug, PartialEq)]
pub struct Arg {
    pub name: String,
    pub value: Value,
    pub span: (usize, usize),
}

/// Everything the matcher took from a line, in line order. Repeated parameters
/// (`<ip:ipv4>&<1-8>`) appear once per value under the same name.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Args {
    /// The line started with `undo` (or its alias `no`).
    pub undo: bool,
    pub items: Vec<Arg>,
}

impl Args {
    pub fn push(&mut self, name: &str, value: Value, span: (usize, usize)) {
        self.items.push(Arg {
            name: name.to_string(),
            value,
            span,
        });
    }
    /// Was this keyword (or parameter) given?
    pub fn has(&self, name: &str) -> bool {
        self.items.iter().any(|a| a.name == name)
    }
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.items.iter().find(|a| a.name == name).map(|a| &a.value)
    }
    /// Every value given under `name`, in order.
    pub fn all(&self, name: &str) -> impl Iterator<Item = &Value> {
        self.items
            .iter()
            .filter(move |a| a.name == name)
            .map(|a| &a.value)
    }
    pub fn span(&self, name: &str) -> Option<(usize, usize)> {
        self.items.iter().find(|a| a.name == name).map(|a| a.span)
    }
    pub fn str(&self, name: &str) -> Option<&str> {
        match self.get(name)? {
            Value::Str(s) | Value::Interface(s) => Some(s),
            _ => None,
        }
    }
    pub fn int(&self, name: &str) -> Option<u64> {
        match self.get(name)? {
            Value::Int(n) => Some(*n),
            _ => None,
        }
    }
    pub fn ipv4(&self, name: &str) -> Option<Ipv4Addr> {
        match self.get(name)? {
            Value::Ipv4(a) => Some(*a),
            _ => None,
        }
    }
    pub fn mac(&self, name: &str) -> Option<[u8; 6]> {
        match self.get(name)? {
            Value::Mac(m) => Some(*m),
            _ => None,
        }
    }
}
