//! An index of the subnets configured on the ports, by first address, so the `ip address`
//! overlap check is a lookup instead of a scan of every port (a configuration of thousands of
//! ports loads in linear time; docs/performance.md).
//!
//! It is derived data kept beside `Config::interfaces` by the `ip address` handler, not
//! configuration: it takes no part in comparing configurations. Subnets of different ports
//! never overlap (the handler refuses it), so the entries are disjoint intervals sorted by
//! start, and the only candidates for an overlap with `[s, e]` are the entries starting at or
//! before `e` whose end reaches `s` — the last ones before `e`.

use std::collections::BTreeMap;
use std::fmt;
use std::net::Ipv4Addr;

use super::address::network_of;
use super::name::IfName;

/// Subnets by first address: `start -> (last address, port)`.
#[derive(Clone, Default)]
pub struct SubnetIndex {
    by_start: BTreeMap<u32, (u32, IfName)>,
}

/// First and last address of `addr/len` as integers.
fn range(addr: Ipv4Addr, len: u8) -> (u32, u32) {
    let start = u32::from(network_of(addr, len));
    // The host bits: all for /0, none for /32.
    let host = u32::MAX.checked_shr(u32::from(len)).unwrap_or(0);
    (start, start | host)
}

impl SubnetIndex {
    /// `port` now has `addr/len`.
    pub fn insert(&mut self, port: &IfName, addr: Ipv4Addr, len: u8) {
        let (start, end) = range(addr, len);
        self.by_start.insert(start, (end, port.clone()));
    }

    /// `port` no longer has `addr/len`.
    pub fn remove(&mut self, port: &IfName, addr: Ipv4Addr, len: u8) {
        let (start, _) = range(addr, len);
        if self.by_start.get(&start).is_some_and(|(_, p)| p == port) {
            self.by_start.remove(&start);
        }
    }

    /// The ports other than `port` whose subnet may overlap `addr/len`, nearest first. The
    /// caller confirms each against the configuration.
    pub fn candidates<'a>(
        &'a self,
        port: &'a IfName,
        addr: Ipv4Addr,
        len: u8,
    ) -> impl Iterator<Item = &'a IfName> + 'a {
        let (start, end) = range(addr, len);
        self.by_start
            .range(..=end)
            .rev()
            .filter(move |(_, (_, p))| p != port)
            .take_while(move |(_, (e, _))| *e >= start)
            .map(|(_, (_, p))| p)
    }
}

/// Derived data: any two indexes compare equal, so configurations compare by what is
/// configured.
impl PartialEq for SubnetIndex {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl fmt::Debug for SubnetIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SubnetIndex({} subnets)", self.by_start.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ge(n: u32) -> IfName {
        format!("ge1/0/{n}").parse().unwrap()
    }

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    #[test]
    fn finds_overlaps_with_other_ports_only() {
        let mut idx = SubnetIndex::default();
        idx.insert(&ge(1), ip("10.0.0.1"), 24);
        idx.insert(&ge(2), ip("10.0.2.1"), 24);
        idx.insert(&ge(3), ip("192.168.0.1"), 16);
        fn hits(idx: &SubnetIndex, port: u32, a: &str, len: u8) -> Vec<IfName> {
            let p = ge(port);
            idx.candidates(&p, ip(a), len).cloned().collect()
        }
        assert_eq!(hits(&idx, 4, "10.0.0.9", 30), vec![ge(1)]);
        assert_eq!(hits(&idx, 4, "10.0.1.1", 24), Vec::<IfName>::new());
        assert_eq!(hits(&idx, 4, "10.0.0.1", 8), vec![ge(2), ge(1)]);
        assert_eq!(hits(&idx, 4, "192.168.255.254", 30), vec![ge(3)]);
        assert_eq!(hits(&idx, 4, "0.0.0.1", 0).len(), 3);
        idx.insert(&ge(5), ip("172.16.0.1"), 32);
        assert_eq!(hits(&idx, 4, "172.16.0.0", 31), vec![ge(5)]);
        assert_eq!(hits(&idx, 4, "172.16.0.2", 32), Vec::<IfName>::new());
        idx.remove(&ge(5), ip("172.16.0.1"), 32);
        // A port's own subnet is not an overlap (it is being replaced).
        assert_eq!(hits(&idx, 1, "10.0.0.2", 24), Vec::<IfName>::new());
        idx.remove(&ge(1), ip("10.0.0.1"), 24);
        assert_eq!(hits(&idx, 4, "10.0.0.9", 30), Vec::<IfName>::new());
        // Removing with the wrong port leaves the entry.
        idx.remove(&ge(9), ip("10.0.2.1"), 24);
        assert_eq!(hits(&idx, 4, "10.0.2.9", 30), vec![ge(2)]);
        assert_eq!(idx, SubnetIndex::default());
    }
}
