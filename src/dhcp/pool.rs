//! The address allocator of one pool: which addresses of a contiguous range are free.
//!
//! Two bitmap levels: `free` has one bit per address (1 = free); `summary` has one bit per
//! word of `free` (1 = that word has a free bit). Finding a free address reads at most
//! `n / 4096` summary words plus one word of `free`, so a pool of a million addresses costs
//! ~250 word reads in the worst case (a nearly full pool) and one or two in the usual case.
//! A rotating cursor spreads allocations over the pool, so an address a client released is the
//! last to be handed to somebody else (and the client can get it back).
//!
//! A third bitmap marks addresses that are never allocated dynamically (forbidden, static,
//! gateways, conflicts): freeing such an address does nothing.

use std::net::Ipv4Addr;

/// One half of a pool's addresses: those at an even or at an odd offset from its first
/// address. While the hot-backup peer is unreachable each device allocates new addresses only
/// from its own half, so a split brain never hands one address to two clients.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Half {
    Even,
    Odd,
}

impl Half {
    /// The bits of a bitmap word that belong to this half (words start at multiples of 64).
    fn mask(self) -> u64 {
        match self {
            Half::Even => 0x5555_5555_5555_5555,
            Half::Odd => 0xAAAA_AAAA_AAAA_AAAA,
        }
    }
}

/// A free-address set over `first..=last`.
#[derive(Clone, Debug)]
pub struct Allocator {
    first: u32,
    len: u32,
    free: Vec<u64>,
    summary: Vec<u64>,
    reserved: Vec<u64>,
    free_count: u32,
    /// The address index where the next search starts.
    cursor: usize,
}

impl Allocator {
    /// An allocator over `first..=last` with every address free.
    pub fn new(first: Ipv4Addr, last: Ipv4Addr) -> Allocator {
        let (f, l) = (u32::from(first), u32::from(last));
        let len = if l < f { 0 } else { l - f + 1 };
        let words = (len as usize).div_ceil(64);
        let mut free = vec![u64::MAX; words];
        if !(len as usize).is_multiple_of(64) {
            free[words - 1] = (1u64 << (len % 64)) - 1;
        }
        let mut summary = vec![0u64; words.div_ceil(64)];
        for w in 0..words {
            summary[w / 64] |= 1 << (w % 64);
        }
        Allocator {
            first: f,
            len,
            free,
            summary,
            reserved: vec![0; words],
            free_count: len,
            cursor: 0,
        }
    }

    fn index(&self, ip: Ipv4Addr) -> Option<usize> {
        let i = u32::from(ip).wrapping_sub(self.first);
        (u32::from(ip) >= self.first && i < self.len).then_some(i as usize)
    }

    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        self.index(ip).is_some()
    }

    pub fn first(&self) -> Ipv4Addr {
        self.first.into()
    }

    pub fn size(&self) -> u32 {
        self.len
    }

    pub fn free_count(&self) -> u32 {
        self.free_count
    }

    pub fn is_free(&self, ip: Ipv4Addr) -> bool {
        self.index(ip)
            .is_some_and(|i| self.free[i / 64] & (1 << (i % 64)) != 0)
    }

    pub fn is_reserved(&self, ip: Ipv4Addr) -> bool {
        self.index(ip)
            .is_some_and(|i| self.reserved[i / 64] & (1 << (i % 64)) != 0)
    }

    /// Mark `ip` used. Returns false when it is outside the range or already used.
    pub fn take(&mut self, ip: Ipv4Addr) -> bool {
        let Some(i) = self.index(ip) else {
            return false;
        };
        let (w, bit) = (i / 64, 1u64 << (i % 64));
        if self.free[w] & bit == 0 {
            return false;
        }
        self.free[w] &= !bit;
        if self.free[w] == 0 {
            self.summary[w / 64] &= !(1 << (w % 64));
        }
        self.free_count -= 1;
        true
    }

    /// Return `ip` to the free set, unless it is reserved or outside the range.
    pub fn release(&mut self, ip: Ipv4Addr) {
        let Some(i) = self.index(ip) else { return };
        let (w, bit) = (i / 64, 1u64 << (i % 64));
        if self.reserved[w] & bit != 0 || self.free[w] & bit != 0 {
            return;
        }
        self.free[w] |= bit;
        self.summary[w / 64] |= 1 << (w % 64);
        self.free_count += 1;
    }

    /// Never allocate `ip` dynamically (it stays used until [`Allocator::unreserve`]).
    pub fn reserve(&mut self, ip: Ipv4Addr) {
        if let Some(i) = self.index(ip) {
            self.take(ip);
            self.reserved[i / 64] |= 1 << (i % 64);
        }
    }

    /// Undo [`Allocator::reserve`]; the address stays used until released.
    pub fn unreserve(&mut self, ip: Ipv4Addr) {
        if let Some(i) = self.index(ip) {
            self.reserved[i / 64] &= !(1 << (i % 64));
        }
    }

    /// Take the next free address at or after the cursor, wrapping around.
    pub fn allocate(&mut self) -> Option<Ipv4Addr> {
        self.allocate_in(None)
    }

    /// Like [`Allocator::allocate`], but only from `half` of the range when given.
    pub fn allocate_in(&mut self, half: Option<Half>) -> Option<Ipv4Addr> {
        if self.free_count == 0 {
            return None;
        }
        let mask = half.map_or(u64::MAX, Half::mask);
        let i = self
            .find_from(self.cursor, mask)
            .or_else(|| self.find_from(0, mask))?;
        let ip = Ipv4Addr::from(self.first + i as u32);
        self.take(ip);
        self.cursor = (i + 1) % self.len as usize;
        Some(ip)
    }

    /// Whether `ip` is in `half` of the range.
    pub fn in_half(&self, ip: Ipv4Addr, half: Half) -> bool {
        self.index(ip)
            .is_some_and(|i| half.mask() & (1 << (i % 64)) != 0)
    }

    /// The first free index at or after `from` whose bit is in `mask`: the rest of its word,
    /// then the words the summary marks as having a free bit.
    fn find_from(&self, from: usize, mask: u64) -> Option<usize> {
        if from >= self.len as usize {
            return None;
        }
        let mut w = from / 64;
        let mut bits = self.free[w] & mask & (u64::MAX << (from % 64));
        while bits == 0 {
            w = self.next_word(w + 1)?;
            bits = self.free[w] & mask;
        }
        Some(w * 64 + bits.trailing_zeros() as usize)
    }

    /// The first word at or after `from` with a free bit, using the summary level.
    fn next_word(&self, from: usize) -> Option<usize> {
        let mut s = from / 64;
        let mut mask = u64::MAX << (from % 64);
        while s < self.summary.len() {
            let bits = self.summary[s] & mask;
            if bits != 0 {
                return Some(s * 64 + bits.trailing_zeros() as usize);
            }
            s += 1;
            mask = u64::MAX;
        }
        None
    }

    /// Heap bytes held (for memory reports).
    pub fn heap_bytes(&self) -> usize {
        (self.free.capacity() + self.summary.capacity() + self.reserved.capacity()) * 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    fn ip(n: u32) -> Ipv4Addr {
        Ipv4Addr::from(0x0a00_0000 + n)
    }

    #[test]
    fn allocates_every_address_once_then_none() {
        let mut a = Allocator::new(ip(1), ip(200));
        let mut seen = BTreeSet::new();
        while let Some(x) = a.allocate() {
            assert!(seen.insert(x));
        }
        assert_eq!(seen.len(), 200);
        assert_eq!(a.free_count(), 0);
        a.release(ip(77));
        assert_eq!(a.allocate(), Some(ip(77)));
    }

    #[test]
    fn reserved_addresses_are_never_allocated_or_freed() {
        let mut a = Allocator::new(ip(1), ip(4));
        a.reserve(ip(2));
        a.release(ip(2));
        let got: BTreeSet<_> = std::iter::from_fn(|| a.allocate()).collect();
        assert_eq!(got, [ip(1), ip(3), ip(4)].into());
        assert!(a.is_reserved(ip(2)) && !a.take(ip(2)));
    }

    #[test]
    fn cursor_rotates_so_a_released_address_is_reused_last() {
        let mut a = Allocator::new(ip(0), ip(1023));
        let first = a.allocate().unwrap();
        a.release(first);
        for _ in 0..1023 {
            assert_ne!(a.allocate(), Some(first));
        }
        assert_eq!(a.allocate(), Some(first));
    }

    #[test]
    fn a_million_addresses_nearly_full_stays_fast() {
        let mut a = Allocator::new(ip(0), ip(1 << 20));
        for _ in 0..(1 << 20) {
            a.allocate().unwrap();
        }
        // One address left at the cursor, one far behind it.
        a.release(ip(5));
        assert_eq!(a.allocate(), Some(ip(1 << 20)));
        assert_eq!(a.allocate(), Some(ip(5)));
        assert_eq!(a.allocate(), None);
        assert!(a.heap_bytes() < 300 * 1024);
    }

    #[test]
    fn a_half_allocates_only_its_own_addresses() {
        let mut a = Allocator::new(ip(0), ip(199));
        let evens: BTreeSet<_> = std::iter::from_fn(|| a.allocate_in(Some(Half::Even))).collect();
        assert_eq!(evens, (0..200).step_by(2).map(ip).collect());
        assert_eq!(a.free_count(), 100, "the odd half is left for the peer");
        assert!(a.in_half(ip(7), Half::Odd) && !a.in_half(ip(7), Half::Even));
        assert_eq!(
            a.allocate_in(Some(Half::Odd)),
            Some(ip(199)),
            "from the cursor on"
        );
    }

    proptest! {
        #[test]
        fn matches_a_model(ops in proptest::collection::vec((0u8..4, 0u32..300), 0..400)) {
            let mut a = Allocator::new(ip(0), ip(299));
            let mut used = BTreeSet::new();
            let mut reserved = BTreeSet::new();
            for (op, n) in ops {
                match op {
                    0 => if let Some(x) = a.allocate() {
                        prop_assert!(!reserved.contains(&x));
                        prop_assert!(used.insert(x), "double allocation of {}", x);
                    } else {
                        prop_assert_eq!(used.len() + reserved.iter().filter(|r| !used.contains(r)).count(), 300);
                    },
                    1 => { a.release(ip(n)); if !reserved.contains(&ip(n)) { used.remove(&ip(n)); } }
                    2 => { prop_assert_eq!(a.take(ip(n)), !used.contains(&ip(n)) && !reserved.contains(&ip(n))); used.insert(ip(n)); }
                    _ => { a.reserve(ip(n)); reserved.insert(ip(n)); }
                }
                let free = 300 - used.union(&reserved).count();
                prop_assert_eq!(a.free_count() as usize, free);
            }
        }
    }
}
