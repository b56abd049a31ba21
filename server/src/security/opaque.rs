//! Opaque tokens (refresh tokens, personal access tokens, and the single-use tokens mailed
//! for a password reset or an email verification): 256 random bits from the operating system, handed out once and
//! stored only as a SHA-256 hash. Each is a bearer secret with full entropy, so a fast
//! unsalted hash is enough: nothing about it can be guessed, only stolen.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};

/// Random bytes in a token.
const TOKEN_BYTES: usize = 32;

/// Bytes in a token's hash (SHA-256).
pub const HASH_BYTES: usize = 32;

/// The SHA-256 of a token: what the database holds instead of the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenHash(pub [u8; HASH_BYTES]);

/// A new token (unpadded base64url, 43 characters) as `T` holds it, and its hash to store.
pub fn generate<T: From<String>>() -> (T, TokenHash) {
    generate_prefixed("")
}

/// [`generate`], with `prefix` in front of the random characters (and in what is hashed).
pub fn generate_prefixed<T: From<String>>(prefix: &str) -> (T, TokenHash) {
    let mut bytes = [0; TOKEN_BYTES];
    OsRng.fill_bytes(&mut bytes);
    let token = format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes));
    let hash = hash(&token);
    (T::from(token), hash)
}

/// Whether `token` has the shape of one [`generate_prefixed`] makes with `prefix`: the
/// prefix and 43 base64url characters.
pub fn is_well_formed(token: &str, prefix: &str) -> bool {
    token.strip_prefix(prefix).is_some_and(|random| {
        random.len() == 43
            && (random.bytes()).all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

/// The hash a presented token would be stored under.
pub fn hash(token: &str) -> TokenHash {
    TokenHash(Sha256::digest(token.as_bytes()).into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::RefreshToken;

    #[test]
    fn tokens_are_unique_full_entropy_and_stored_as_their_hash() {
        let (first, first_hash) = generate::<RefreshToken>();
        let (second, second_hash) = generate::<RefreshToken>();
        assert_ne!(first.expose(), second.expose());
        assert_ne!(first_hash, second_hash);
        assert_eq!(
            URL_SAFE_NO_PAD
                .decode(first.expose())
                .expect("base64url")
                .len(),
            32
        );
        assert_eq!(hash(first.expose()), first_hash);
        let (prefixed, _) = generate_prefixed::<String>("tka_");
        assert!(is_well_formed(&prefixed, "tka_"));
        assert!(!is_well_formed(&prefixed[1..], "tka_"));
        assert!(!is_well_formed(&format!("{prefixed}A"), "tka_"));
        assert!(!is_well_formed(
            &prefixed.replace(&prefixed[10..11], "."),
            "tka_"
        ));
        assert!(!format!("{first:?}").contains(first.expose()));
    }
}
