//! Parameter types: what each accepts from a token and how `?` names its slot.

use std::net::Ipv4Addr;

use super::args::Value;
use super::syntax::ParamType;

impl ParamType {
    /// The slot name `?` shows (`INTEGER<1-255>`, `X.X.X.X`).
    pub fn label(&self) -> String {
        match self {
            ParamType::Str { min, max } => format!("STRING<{min}-{max}>"),
            ParamType::Text { .. } => "TEXT".to_string(),
            ParamType::Int { min, max } => format!("INTEGER<{min}-{max}>"),
            ParamType::Ipv4 | ParamType::Mask => "X.X.X.X".to_string(),
            ParamType::Mac => "H-H-H".to_string(),
            ParamType::Hex { min, max } => format!("HEX<{min}-{max}>"),
            ParamType::Interface => "INTERFACE".to_string(),
        }
    }

    /// The value of `text` for this type, or `None` when it is invalid or out of range.
    /// `Text` takes the text as given; `Interface` takes one token (`ge1/0/1`).
    pub fn value_of(&self, text: &str) -> Option<Value> {
        let chars = text.chars().count() as u64;
        match *self {
            // U+FFFD stands for a control character or invalid UTF-8 the front end replaced:
            // such text never becomes a name or description (nor reaches a prompt).
            ParamType::Str { min, max } | ParamType::Text { min, max } => ((min..=max)
                .contains(&chars)
                && !text
                    .chars()
                    .any(|c| c.is_control() || c == char::REPLACEMENT_CHARACTER))
            .then(|| Value::Str(text.to_string())),
            ParamType::Int { min, max } => {
                if text.is_empty() || text.len() > 20 || !text.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                let n: u64 = text.parse().ok()?;
                (min..=max).contains(&n).then_some(Value::Int(n))
            }
            ParamType::Ipv4 => text.parse::<Ipv4Addr>().ok().map(Value::Ipv4),
            ParamType::Mask => {
                let m: Ipv4Addr = text.parse().ok()?;
                let bits = u32::from(m);
                (bits.leading_ones() + bits.trailing_zeros() == 32).then_some(Value::Ipv4(m))
            }
            ParamType::Mac => parse_mac(text).map(Value::Mac),
            ParamType::Hex { min, max } => (text.bytes().all(|b| b.is_ascii_hexdigit())
                && (min..=max).contains(&chars))
            .then(|| Value::Str(text.to_string())),
            ParamType::Interface => {
                let name: crate::cli::ifname::IfName = text.parse().ok()?;
                Some(Value::Interface(name.to_string()))
            }
        }
    }
}

/// `H-H-H` (Comware: three groups of up to four hex digits), `HH:HH:HH:HH:HH:HH` or
/// `HHHH.HHHH.HHHH`.
pub fn parse_mac(text: &str) -> Option<[u8; 6]> {
    let groups: Vec<&str> = if text.contains('-') {
        text.split('-').collect()
    } else if text.contains(':') {
        text.split(':').collect()
    } else {
        text.split('.').collect()
    };
    let width = match groups.len() {
        3 if !text.contains(':') => 4,
        6 if text.contains(':') => 2,
        _ => return None,
    };
    let mut bytes = Vec::with_capacity(6);
    for g in groups {
        if g.is_empty() || g.len() > width || !g.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let v = u16::from_str_radix(g, 16).ok()?;
        if width == 4 {
            bytes.extend_from_slice(&v.to_be_bytes());
        } else {
            bytes.push(v as u8);
        }
    }
    bytes.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_and_ranges() {
        let t = ParamType::Int { min: 1, max: 255 };
        assert_eq!(t.value_of("1"), Some(Value::Int(1)));
        assert_eq!(t.value_of("255"), Some(Value::Int(255)));
        assert_eq!(t.value_of("0"), None);
        assert_eq!(t.value_of("256"), None);
        assert_eq!(t.value_of("-1"), None);
        assert_eq!(t.value_of("99999999999999999999999"), None);
        assert_eq!(t.label(), "INTEGER<1-255>");
    }

    #[test]
    fn addresses_and_masks() {
        assert_eq!(
            ParamType::Ipv4.value_of("10.0.0.1"),
            Some(Value::Ipv4(Ipv4Addr::new(10, 0, 0, 1)))
        );
        assert_eq!(ParamType::Ipv4.value_of("10.0.0"), None);
        assert!(ParamType::Mask.value_of("255.255.255.0").is_some());
        assert!(ParamType::Mask.value_of("0.0.0.0").is_some());
        assert!(ParamType::Mask.value_of("255.0.255.0").is_none());
    }

    #[test]
    fn macs() {
        let m = [0x00, 0x0c, 0x29, 0xab, 0xcd, 0xef];
        assert_eq!(parse_mac("000c-29ab-cdef"), Some(m));
        assert_eq!(parse_mac("c-29ab-cdef"), Some(m));
        assert_eq!(parse_mac("00:0c:29:ab:cd:ef"), Some(m));
        assert_eq!(parse_mac("000c.29ab.cdef"), Some(m));
        assert_eq!(parse_mac("000c-29ab"), None);
        assert_eq!(parse_mac("000c-29ab-cdefg"), None);
        assert_eq!(parse_mac("00:0c:29:ab:cd"), None);
    }

    #[test]
    fn strings_hex_interfaces() {
        let s = ParamType::Str { min: 1, max: 3 };
        assert!(s.value_of("abc").is_some());
        assert!(s.value_of("abcd").is_none());
        // Replaced or control characters are refused; other Unicode is text like any other.
        assert!(s.value_of("a\u{fffd}").is_none());
        assert!(s.value_of("a\u{1b}").is_none());
        assert!(s.value_of("é").is_some());
        let t = ParamType::Text { min: 1, max: 9 };
        assert!(t.value_of("two words").is_some());
        assert!(t.value_of("bell\u{7}").is_none());
        let h = ParamType::Hex { min: 2, max: 4 };
        assert!(h.value_of("0aF").is_some());
        assert!(h.value_of("0g").is_none());
        assert_eq!(
            ParamType::Interface.value_of("ge1/0/2"),
            Some(Value::Interface("GigabitEthernet1/0/2".into()))
        );
        assert_eq!(ParamType::Interface.value_of("ge"), None);
    }
}
