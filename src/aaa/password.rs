//! Password storage: only a salted, slow hash (argon2id, PHC string format) is kept, in the
//! configuration and in memory; `password simple TEXT` hashes at once.

use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};

/// Longest plain-text password accepted (Comware: 63 characters).
pub const MAX_PLAIN: usize = 63;

/// Why a password could not be hashed or a stored hash is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("the password hash is not an argon2id PHC string")]
    BadHash,
    #[error("the password could not be hashed")]
    Hashing,
}

/// Hash `plain` with a fresh random salt: `$argon2id$v=19$m=...,t=...,p=...$SALT$HASH`.
pub fn hash(plain: &str) -> Result<String, PasswordError> {
    Argon2::default()
        .hash_password(plain.as_bytes())
        .map(|h| h.to_string())
        .map_err(|_| PasswordError::Hashing)
}

/// Accept a stored hash given with `password hash TEXT` only if it is an argon2id PHC string
/// (so that it can be verified later); returns it unchanged.
pub fn check_hash(text: &str) -> Result<String, PasswordError> {
    let parsed = PasswordHash::new(text).map_err(|_| PasswordError::BadHash)?;
    if parsed.algorithm.as_str() != "argon2id" || parsed.hash.is_none() || parsed.salt.is_none() {
        return Err(PasswordError::BadHash);
    }
    Ok(text.to_string())
}

/// Does `plain` match the stored hash? Oversized input is refused without hashing.
pub fn verify(plain: &str, stored: &str) -> bool {
    if plain.len() > 4 * MAX_PLAIN {
        return false;
    }
    Argon2::default()
        .verify_password(plain.as_bytes(), stored)
        .is_ok()
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
}
