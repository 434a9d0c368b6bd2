//! Password storage: only a salted, slow hash (argon2id, PHC string format) is kept, in the
//! configuration and in memory; `password simple TEXT` hashes at once.
//!
//! A hash imported from a Comware device (`password hash $h$6$SALT$DIGEST`) is kept as it is
//! and verified the way Comware computes it ([`comware`]), so an imported startup.cfg keeps its
//! users' passwords; the next `password simple` stores argon2id.
//!
//! Checking a password costs the hash's memory (19 MiB for our own hashes) and CPU on purpose.
//! A [`Scratch`] holds that memory so a caller that checks many passwords (the SSH server's
//! checkers) reuses one buffer instead of allocating per attempt, and [`MAX_MEMORY_KIB`] /
//! [`MAX_PASSES`] bound what a stored hash may ask for, so the memory of one check is bounded
//! whatever hash was configured.

use argon2::{Algorithm, Argon2, Block, Params, PasswordHash, PasswordHasher, Version};

/// Longest plain-text password accepted (Comware: 63 characters).
pub const MAX_PLAIN: usize = 63;
/// Most memory a stored hash may ask for (argon2 `m`, KiB): 64 MiB. Ours use 19 MiB.
pub const MAX_MEMORY_KIB: u32 = 64 * 1024;
/// Most passes (argon2 `t`) and lanes (`p`) a stored hash may ask for. Ours use 2 and 1.
pub const MAX_PASSES: u32 = 16;
pub const MAX_LANES: u32 = 16;

/// Why a password could not be hashed or a stored hash is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("the password hash is neither an argon2id PHC string nor a Comware $h$6$ hash")]
    BadHash,
    #[error("the password could not be hashed")]
    Hashing,
    #[error("the password hash asks for more than 64 MiB of memory, 16 passes or 16 lanes")]
    TooCostly,
}

/// Hash `plain` with a fresh random salt: `$argon2id$v=19$m=...,t=...,p=...$SALT$HASH`.
pub fn hash(plain: &str) -> Result<String, PasswordError> {
    Argon2::default()
        .hash_password(plain.as_bytes())
        .map(|h| h.to_string())
        .map_err(|_| PasswordError::Hashing)
}

/// Accept a stored hash given with `password hash TEXT` only if it is an argon2id PHC string
/// within the cost bounds (so that it can be verified later); returns it unchanged.
pub fn check_hash(text: &str) -> Result<String, PasswordError> {
    if text.starts_with(comware::PREFIX) {
        return comware::parse(text)
            .map(|_| text.to_string())
            .ok_or(PasswordError::BadHash);
    }
    let parsed = PasswordHash::new(text).map_err(|_| PasswordError::BadHash)?;
    if parsed.algorithm.as_str() != "argon2id" || parsed.hash.is_none() || parsed.salt.is_none() {
        return Err(PasswordError::BadHash);
    }
    let params = Params::try_from(&parsed).map_err(|_| PasswordError::BadHash)?;
    if !affordable(&params) {
        return Err(PasswordError::TooCostly);
    }
    Ok(text.to_string())
}

/// Invariant: one check never needs more than [`MAX_MEMORY_KIB`] of memory or more than
/// [`MAX_PASSES`] passes over it; a hash asking for more is refused, here and in `check_hash`.
fn affordable(params: &Params) -> bool {
    params.m_cost() <= MAX_MEMORY_KIB
        && params.t_cost() <= MAX_PASSES
        && params.p_cost() <= MAX_LANES
}

/// The working memory of password checks, kept between checks by whoever owns it.
#[derive(Default)]
pub struct Scratch {
    blocks: Vec<Block>,
}

impl Scratch {
    /// Bytes held now.
    pub fn bytes(&self) -> usize {
        self.blocks.len() * std::mem::size_of::<Block>()
    }
}

/// Does `plain` match the stored hash? A fresh [`Scratch`] per call (the console's way).
pub fn verify(plain: &str, stored: &str) -> bool {
    verify_in(plain, stored, &mut Scratch::default())
}

/// Does `plain` match the stored hash, computed in `scratch` (grown to the hash's memory cost
/// and kept)? Oversized input and hashes beyond the cost bounds are refused without hashing.
pub fn verify_in(plain: &str, stored: &str, scratch: &mut Scratch) -> bool {
    if plain.len() > 4 * MAX_PLAIN {
        return false;
    }
    if stored.starts_with(comware::PREFIX) {
        return comware::verify(plain, stored);
    }
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
        return false;
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm.as_str()) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from).transpose() {
        Ok(v) => v.unwrap_or_default(),
        Err(_) => return false,
    };
    if !affordable(&params) {
        return false;
    }
    let blocks = params.block_count();
    if scratch.blocks.len() < blocks {
        scratch.blocks.resize(blocks, Block::default());
    }
    let mut out = vec![0u8; expected.len()];
    let hashed = Argon2::new(algorithm, version, params).hash_password_into_with_memory(
        plain.as_bytes(),
        salt.as_ref(),
        &mut out,
        &mut scratch.blocks[..blocks],
    );
    // `Output`'s comparison takes constant time.
    hashed.is_ok() && argon2::password_hash::phc::Output::new(&out).is_ok_and(|o| o == *expected)
}

/// Comware's hashed passwords: `$h$6$SALT$DIGEST`, where DIGEST is the standard base64 of
/// SHA-512(password NUL || SALT || password NUL), SALT taken as the text it is written as
/// (established from firmware analysis published in hashcat issue 3963, with a sample from
/// HPE's documentation: "abc" hashes to the value in the test below). One SHA-512 is a fast
/// hash: such a password is as strong as it was on the Comware device, no stronger.
mod comware {
    use sha2::{Digest, Sha512};

    pub const PREFIX: &str = "$h$6$";

    /// The salt and the digest's text of a well-formed hash.
    pub fn parse(stored: &str) -> Option<(&str, &str)> {
        let (salt, digest) = stored.strip_prefix(PREFIX)?.split_once('$')?;
        let base64 = |c: char| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=');
        let ok = !salt.is_empty()
            && salt.len() <= 64
            && !salt.contains('$')
            && digest.len() == 88
            && digest.chars().all(base64);
        ok.then_some((salt, digest))
    }

    pub fn digest(plain: &str, salt: &str) -> String {
        let mut h = Sha512::new();
        h.update(plain.as_bytes());
        h.update([0]);
        h.update(salt.as_bytes());
        h.update(plain.as_bytes());
        h.update([0]);
        base64(&h.finalize())
    }

    pub fn verify(plain: &str, stored: &str) -> bool {
        let Some((salt, expected)) = parse(stored) else {
            return false;
        };
        let computed = digest(plain, salt);
        // Compare without stopping at the first difference.
        computed.len() == expected.len()
            && computed
                .bytes()
                .zip(expected.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }

    /// Standard base64 (RFC 4648 section 4) with padding.
    fn base64(bytes: &[u8]) -> String {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
        for chunk in bytes.chunks(3) {
            let b = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
                } else {
                    out.push('=');
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    /// The sample of hashcat issue 3963 (from HPE's documentation): the password "abc".
    const COMWARE_ABC: &str = "$h$6$4tWqOiqovcWddOKv$XyFMVgaE46fGiqsZEHbcr+BM/m9tDkvahDbqU7HoNrvmALk2u31z9c/tuUmX7IiQhWRwN5qoZquW82A8XYaDWA==";

    #[test]
    fn a_comware_hash_is_accepted_and_verified() {
        assert_eq!(check_hash(COMWARE_ABC).as_deref(), Ok(COMWARE_ABC));
        assert!(verify("abc", COMWARE_ABC));
        assert!(!verify("abd", COMWARE_ABC));
        assert!(!verify("", COMWARE_ABC));
        // Malformed: no digest, a short digest, an empty salt.
        for bad in [
            "$h$6$salt",
            "$h$6$salt$abc=",
            "$h$6$$XyFMVgaE46fGiqsZEHbcr+BM/m9tDkvahDbqU7HoNrvmALk2u31z9c/tuUmX7IiQhWRwN5qoZquW82A8XYaDWA==",
        ] {
            assert_eq!(check_hash(bad), Err(PasswordError::BadHash), "{bad}");
            assert!(!verify("abc", bad));
        }
    }

    use super::*;

    #[test]
    fn hash_verifies_and_is_salted() {
        let a = hash("s3cret!").unwrap();
        let b = hash("s3cret!").unwrap();
        assert!(a.starts_with("$argon2id$"), "{a}");
        assert_ne!(a, b, "each hash has its own salt");
        assert!(verify("s3cret!", &a));
        assert!(!verify("s3cret", &a));
        assert!(!verify(&"x".repeat(1000), &a));
        assert!(!verify("s3cret!", "not a hash"));
        assert_eq!(check_hash(&a), Ok(a.clone()));
        assert_eq!(
            check_hash("$argon2id$v=19$nonsense"),
            Err(PasswordError::BadHash)
        );
        assert_eq!(check_hash("plain"), Err(PasswordError::BadHash));
    }

    #[test]
    fn scratch_is_reused_and_costly_hashes_are_refused() {
        let good = hash("s3cret!").unwrap();
        let mut scratch = Scratch::default();
        assert!(verify_in("s3cret!", &good, &mut scratch));
        let held = scratch.bytes();
        assert_eq!(held, 19 * 1024 * 1024, "the default hash uses 19 MiB");
        assert!(!verify_in("wrong", &good, &mut scratch));
        assert_eq!(scratch.bytes(), held, "a second check reuses the memory");
        // 1 GiB of memory: refused when configured and never computed.
        let costly = good.replace("m=19456", "m=1048576");
        assert_eq!(check_hash(&costly), Err(PasswordError::TooCostly));
        assert!(!verify_in("s3cret!", &costly, &mut scratch));
        assert_eq!(scratch.bytes(), held);
        let slow = good.replace("t=2", "t=1000");
        assert_eq!(check_hash(&slow), Err(PasswordError::TooCostly));
    }
}
