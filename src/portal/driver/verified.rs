//! A memory of passwords that already passed their argon2id check, so the same network user
//! logging in again with the same password (a guest account shared by a hotel's or a campus's
//! clients, a phone re-joining) costs a keyed SHA-256 instead of 19 MiB and tens of
//! milliseconds. Without it the device's cores cap durable logins at a few dozen per second.
//!
//! What is kept per user: the stored hash the password was checked against and
//! HMAC-SHA256(key, stored hash, password) under a key drawn at start and never stored. A
//! changed password (another stored hash) misses; wrong passwords are never remembered (each
//! costs a full check, and the user table's lockout bounds them). Trade-off (docs/portal.md):
//! someone who can read the process's memory could test guesses at SHA-256 speed against a
//! remembered entry instead of argon2id speed; they could read the key and the hashes anyway.

use std::collections::HashMap;
use std::io::Read;
use std::sync::Mutex;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// Users remembered at most (the memory forgets everything when full: the next logins pay a
/// full check once).
pub const MAX_ENTRIES: usize = 4096;

type HmacSha256 = Hmac<Sha256>;

pub struct Verified {
    key: [u8; 32],
    entries: Mutex<HashMap<String, (String, [u8; 32])>>,
}

impl Default for Verified {
    fn default() -> Self {
        let mut key = [0u8; 32];
        // Without /dev/urandom nothing is remembered (an all-zero key is never used).
        let drawn = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut key));
        if drawn.is_err() {
            key = [0; 32];
        }
        Verified {
            key,
            entries: Mutex::new(HashMap::new()),
        }
    }
}

impl Verified {
    fn digest(&self, stored: &str, plain: &str) -> Option<[u8; 32]> {
        if self.key == [0; 32] {
            return None;
        }
        let mut mac = HmacSha256::new_from_slice(&self.key).ok()?;
        mac.update(stored.as_bytes());
        mac.update(&[0]);
        mac.update(plain.as_bytes());
        Some(mac.finalize().into_bytes().into())
    }

    /// Does `plain` match `stored` (the hash of `user`)? Remembered answers first, else the
    /// full check (`verify`), remembered when it passes.
    pub fn check(
        &self,
        user: &str,
        plain: &str,
        stored: &str,
        verify: impl FnOnce(&str, &str) -> bool,
    ) -> bool {
        let digest = self.digest(stored, plain);
        if let Some(d) = digest {
            let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((hash, seen)) = entries.get(user)
                && hash == stored
                && constant_time_eq(seen, &d)
            {
                return true;
            }
        }
        if !verify(plain, stored) {
            return false;
        }
        if let Some(d) = digest {
            let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            if entries.len() >= MAX_ENTRIES && !entries.contains_key(user) {
                entries.clear();
            }
            entries.insert(user.to_string(), (stored.to_string(), d));
        }
        true
    }
}

fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn a_password_that_passed_is_remembered_until_the_hash_changes() {
        let v = Verified::default();
        let calls = Cell::new(0);
        let verify = |p: &str, h: &str| {
            calls.set(calls.get() + 1);
            format!("H({p})") == h
        };
        assert!(v.check("guest", "pw", "H(pw)", verify));
        assert!(v.check("guest", "pw", "H(pw)", verify));
        assert_eq!(calls.get(), 1, "the second check was remembered");
        // Wrong passwords always cost a full check and are never remembered.
        assert!(!v.check("guest", "bad", "H(pw)", verify));
        assert!(!v.check("guest", "bad", "H(pw)", verify));
        assert_eq!(calls.get(), 3);
        // A new password (another stored hash): the old one no longer passes.
        assert!(!v.check("guest", "pw", "H(new)", verify));
        assert!(v.check("guest", "new", "H(new)", verify));
        assert_eq!(calls.get(), 5);
    }
}
