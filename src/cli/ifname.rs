//! Interface names the Comware way: `GigabitEthernet1/0/1`, typed as `ge1/0/1`, `g1/0/1`,
//! `gigabitethernet 1/0/1` or `GE 1/0/1` (case-insensitive, prefix or acronym, space optional).

use std::fmt;
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IfKind {
    GigabitEthernet,
    TenGigabitEthernet,
    LoopBack,
    VlanInterface,
}

impl IfKind {
    pub const ALL: [IfKind; 4] = [
        IfKind::GigabitEthernet,
        IfKind::TenGigabitEthernet,
        IfKind::LoopBack,
        IfKind::VlanInterface,
    ];
    /// Full name as Comware prints it.
    pub fn full(self) -> &'static str {
        match self {
            IfKind::GigabitEthernet => "GigabitEthernet",
            IfKind::TenGigabitEthernet => "Ten-GigabitEthernet",
            IfKind::LoopBack => "LoopBack",
            IfKind::VlanInterface => "Vlan-interface",
        }
    }
    /// Short name used in brief displays (`GE1/0/1`, `Vlan2`).
    pub fn short(self) -> &'static str {
        match self {
            IfKind::GigabitEthernet => "GE",
            IfKind::TenGigabitEthernet => "XGE",
            IfKind::LoopBack => "Loop",
            IfKind::VlanInterface => "Vlan",
        }
    }
    /// Numbers a name of this kind carries (`1/0/1` is three, `Vlan-interface10` one).
    fn levels(self) -> std::ops::RangeInclusive<usize> {
        match self {
            IfKind::GigabitEthernet | IfKind::TenGigabitEthernet => 1..=3,
            IfKind::LoopBack | IfKind::VlanInterface => 1..=1,
        }
    }
    /// The numbers a one-number kind accepts: a VLAN id for a Vlan-interface (1-4094, IEEE
    /// 802.1Q), Comware 7's loopback numbers (0-1023). Ports take what the device has.
    pub fn number_range(self) -> Option<std::ops::RangeInclusive<u32>> {
        match self {
            IfKind::GigabitEthernet | IfKind::TenGigabitEthernet => None,
            IfKind::LoopBack => Some(0..=1023),
            IfKind::VlanInterface => Some(1..=4094),
        }
    }
    /// The kind a typed word names: a case-insensitive prefix of the full name, or an acronym.
    pub fn from_word(word: &str) -> Option<IfKind> {
        let w = word.to_ascii_lowercase();
        if w.is_empty() {
            return None;
        }
        let acronyms: [(&str, IfKind); 5] = [
            ("ge", IfKind::GigabitEthernet),
            ("xge", IfKind::TenGigabitEthernet),
            ("loop", IfKind::LoopBack),
            ("vlan-int", IfKind::VlanInterface),
            ("vlan", IfKind::VlanInterface),
        ];
        if let Some((_, k)) = acronyms.iter().find(|(a, _)| *a == w) {
            return Some(*k);
        }
        let mut hits = IfKind::ALL
            .iter()
            .filter(|k| k.full().to_ascii_lowercase().starts_with(&w));
        match (hits.next(), hits.next()) {
            (Some(k), None) => Some(*k),
            _ => None,
        }
    }
}

/// A canonical interface name. Orders as Comware lists interfaces: by kind, then numerically.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IfName {
    pub kind: IfKind,
    pub numbers: Vec<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid interface name")]
pub struct BadIfName;

impl IfName {
    /// Parse a name typed as one token (`ge1/0/1`) or as type and number (`ge`, `1/0/1`).
    pub fn parse_parts(kind_word: &str, number: &str) -> Result<IfName, BadIfName> {
        let kind = IfKind::from_word(kind_word).ok_or(BadIfName)?;
        let numbers = number
            .split('/')
            .map(|n| {
                if n.is_empty() || n.len() > 5 || !n.bytes().all(|b| b.is_ascii_digit()) {
                    Err(BadIfName)
                } else {
                    n.parse::<u32>().map_err(|_| BadIfName)
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        if !kind.levels().contains(&numbers.len()) {
            return Err(BadIfName);
        }
        // `Vlan-interface0` or `LoopBack5000` name nothing, here or on a `--port`.
        if let Some(range) = kind.number_range()
            && !numbers.iter().all(|n| range.contains(n))
        {
            return Err(BadIfName);
        }
        Ok(IfName { kind, numbers })
    }

    /// `GE1/0/1`, as brief displays show it.
    pub fn short(&self) -> String {
        format!("{}{}", self.kind.short(), self.number_text())
    }

    pub fn number_text(&self) -> String {
        self.numbers
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join("/")
    }
}

impl FromStr for IfName {
    type Err = BadIfName;
    /// One token: the type word runs up to the first digit.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let split = s.find(|c: char| c.is_ascii_digit()).ok_or(BadIfName)?;
        IfName::parse_parts(&s[..split], &s[split..])
    }
}

impl fmt::Display for IfName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.kind.full(), self.number_text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abbreviations() {
        for typed in [
            "GigabitEthernet1/0/1",
            "ge1/0/1",
            "g1/0/1",
            "GE1/0/1",
            "gigabit1/0/1",
        ] {
            assert_eq!(
                typed.parse::<IfName>().unwrap().to_string(),
                "GigabitEthernet1/0/1"
            );
        }
        assert_eq!(
            IfName::parse_parts("vlan-int", "10").unwrap().to_string(),
            "Vlan-interface10"
        );
        assert_eq!("loop0".parse::<IfName>().unwrap().short(), "Loop0");
        assert!("ge1/0/1/4".parse::<IfName>().is_err());
        assert!("foo1".parse::<IfName>().is_err());
        assert!("ge".parse::<IfName>().is_err());
    }

    #[test]
    fn vlan_and_loopback_numbers_in_range() {
        assert_eq!(
            "vlan 10"
                .replace(' ', "")
                .parse::<IfName>()
                .unwrap()
                .short(),
            "Vlan10"
        );
        assert_eq!(
            "Vlan-interface4094".parse::<IfName>().unwrap().to_string(),
            "Vlan-interface4094"
        );
        assert!("Vlan-interface0".parse::<IfName>().is_err());
        assert!("Vlan-interface4095".parse::<IfName>().is_err());
        assert_eq!("LoopBack0".parse::<IfName>().unwrap().short(), "Loop0");
        assert!("LoopBack1023".parse::<IfName>().is_ok());
        assert!("LoopBack1024".parse::<IfName>().is_err());
    }

    #[test]
    fn order_is_numeric() {
        let a: IfName = "ge1/0/2".parse().unwrap();
        let b: IfName = "ge1/0/10".parse().unwrap();
        assert!(a < b);
    }
}
