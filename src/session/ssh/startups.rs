//! Unauthenticated connections ("startups"), counted per source and in total, sans-IO.
//! OpenSSH's `MaxStartups` and `PerSourceMaxStartups` are the anchor: a connection that has
//! not logged in yet holds a slot from accept until it logs in, fails or runs out of login
//! time (`ssh server authentication-timeout`); a new connection finding no slot is closed at
//! once, before the SSH handshake. Unlike OpenSSH's `10:30:100` there is no random early drop
//! below the total, so a source under its own limit is always served while the total has room.

use std::collections::HashMap;
use std::net::IpAddr;

/// Unauthenticated connections at once, from all sources (OpenSSH's `MaxStartups` full value is
/// 100; a device has 64 vty lines, so more logins in progress than that serve nobody).
pub const MAX_TOTAL: usize = 64;
/// Unauthenticated connections at once from one address (OpenSSH's `PerSourceMaxStartups`).
pub const MAX_PER_SOURCE: usize = 8;

/// Why a connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Crowded {
    /// [`MAX_TOTAL`] connections are logging in.
    Total,
    /// [`MAX_PER_SOURCE`] connections from this address are logging in.
    Source,
}

impl Crowded {
    pub fn reason(self) -> String {
        match self {
            Crowded::Total => {
                format!("{MAX_TOTAL} connections are already logging in")
            }
            Crowded::Source => {
                format!("{MAX_PER_SOURCE} connections from this address are already logging in")
            }
        }
    }
}

/// The slots held now. Invariant: `total` is the sum of `by_source`, which holds only sources
/// with at least one slot (so it never has more than [`MAX_TOTAL`] entries).
#[derive(Debug, Default)]
pub struct Startups {
    by_source: HashMap<IpAddr, usize>,
    total: usize,
}

impl Startups {
    /// Take a slot for a new connection from `source`, or say why not.
    pub fn admit(&mut self, source: IpAddr) -> Result<(), Crowded> {
        if self.total >= MAX_TOTAL {
            return Err(Crowded::Total);
        }
        let held = self.by_source.entry(source).or_default();
        if *held >= MAX_PER_SOURCE {
            return Err(Crowded::Source);
        }
        *held += 1;
        self.total += 1;
        Ok(())
    }

    /// Give back a slot of `source` (its connection logged in or ended).
    pub fn release(&mut self, source: IpAddr) {
        if let Some(held) = self.by_source.get_mut(&source) {
            *held -= 1;
            self.total -= 1;
            if *held == 0 {
                self.by_source.remove(&source);
            }
        }
    }

    /// Unauthenticated connections now.
    pub fn total(&self) -> usize {
        self.total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(n: u32) -> IpAddr {
        IpAddr::from((0x0a00_0000 + n).to_be_bytes())
    }

    #[test]
    fn limits_per_source_and_in_total() {
        let mut s = Startups::default();
        for _ in 0..MAX_PER_SOURCE {
            s.admit(ip(1)).unwrap();
        }
        assert_eq!(s.admit(ip(1)), Err(Crowded::Source));
        // Another address still gets in.
        s.admit(ip(2)).unwrap();
        s.release(ip(1));
        s.admit(ip(1)).unwrap();
        let mut n = 3;
        while s.total() < MAX_TOTAL {
            s.admit(ip(n)).unwrap();
            n += 1;
        }
        assert_eq!(s.admit(ip(n)), Err(Crowded::Total));
        s.release(ip(2));
        s.admit(ip(n)).unwrap();
        assert!(s.by_source.len() <= MAX_TOTAL);
    }

    #[test]
    fn releasing_everything_forgets_the_sources() {
        let mut s = Startups::default();
        s.admit(ip(1)).unwrap();
        s.admit(ip(1)).unwrap();
        s.release(ip(1));
        s.release(ip(1));
        // A stray release changes nothing.
        s.release(ip(1));
        assert_eq!(s.total(), 0);
        assert!(s.by_source.is_empty());
    }
}
