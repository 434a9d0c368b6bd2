//! Password storage: only a salted, slow hash (argon2id, PHC string format) is kept, in the
//! configuration and in memory; `password simple TEXT` hashes at once.
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
    #[error("the password hash is not an argon2id PHC string")]
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

#[cfg(test)]
mod tests {
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
