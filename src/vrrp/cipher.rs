//! The ciphered form of a VRRP simple key, as the configuration shows it
//! (`authentication-mode simple cipher $c$3$...`). Like Comware's, it only keeps the key out
//! of sight on screen and in saved files: it is a reversible obfuscation (XOR with a fixed
//! keystream, then base64), not encryption. The same key always gives the same text, so
//! rendering the configuration is stable.

/// The marker every ciphered key starts with.
pub const PREFIX: &str = "$c$3$";

/// Longest ciphertext the grammar accepts (an 8-character key gives 17 characters).
pub const MAX_CIPHER_LEN: usize = 53;

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// The keystream byte at `i` (a small LCG; any fixed sequence would do).
fn stream(i: usize) -> u8 {
    let mut x: u32 = 0x5eed_0112;
    for _ in 0..=i {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
    }
    (x >> 16) as u8
}

/// `$c$3$...` for a plain key.
pub fn encrypt(plain: &str) -> String {
    let bytes: Vec<u8> = plain
        .bytes()
        .enumerate()
        .map(|(i, b)| b ^ stream(i))
        .collect();
    format!("{PREFIX}{}", base64(&bytes))
}

/// The plain key of a ciphered one, or `None` when the text is not one of ours.
pub fn decrypt(cipher: &str) -> Option<String> {
    let body = cipher.strip_prefix(PREFIX)?;
    let bytes = unbase64(body)?;
    let plain: Vec<u8> = bytes
        .iter()
        .enumerate()
        .map(|(i, b)| b ^ stream(i))
        .collect();
    let text = String::from_utf8(plain).ok()?;
    (!text.is_empty() && text.chars().all(|c| c.is_ascii_graphic())).then_some(text)
}

fn base64(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * k)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn unbase64(text: &str) -> Option<Vec<u8>> {
    if text.is_empty() || !text.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::new();
    let chunks: Vec<&[u8]> = text.as_bytes().chunks(4).collect();
    for (c, chunk) in chunks.iter().enumerate() {
        let pad = chunk.iter().rev().take_while(|b| **b == b'=').count();
        if pad > 2 || (pad > 0 && c + 1 != chunks.len()) {
            return None;
        }
        let mut n = 0u32;
        for (k, b) in chunk.iter().enumerate() {
            let v = if k >= 4 - pad {
                0
            } else {
                ALPHABET.iter().position(|a| a == b)? as u32
            };
            n |= v << (18 - 6 * k);
        }
        let got = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&got[..3 - pad]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ciphered_keys_hide_the_key_and_come_back() {
        let c = encrypt("secret");
        assert!(c.starts_with("$c$3$"), "{c}");
        assert!(!c.contains("secret"));
        assert_eq!(decrypt(&c).as_deref(), Some("secret"));
        assert_eq!(encrypt("secret"), c, "stable");
        assert!(encrypt("12345678").len() <= MAX_CIPHER_LEN);
    }

    #[test]
    fn foreign_text_is_refused() {
        for bad in [
            "secret",
            "$c$3$",
            "$c$3$a",
            "$c$3$====",
            "$c$3$AB=A",
            "$c$2$QUJD",
        ] {
            assert_eq!(decrypt(bad), None, "{bad}");
        }
    }

    proptest! {
        #[test]
        fn any_printable_key_round_trips(key in "[!-~]{1,8}") {
            prop_assert_eq!(decrypt(&encrypt(&key)), Some(key));
        }

        #[test]
        fn decrypt_never_panics(text in "\\PC{0,60}") {
            let _ = decrypt(&text);
            let _ = decrypt(&format!("{PREFIX}{text}"));
        }
    }
}
