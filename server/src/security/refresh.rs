//! Refresh tokens: 256 random bits from the operating system, handed to the client once and
//! stored only as a SHA-256 hash. The token is a bearer secret with full entropy, so a fast
//! unsalted hash is enough: nothing about it can be guessed, only stolen.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};

use crate::domain::RefreshToken;

/// Random bytes in a refresh token.
const TOKEN_BYTES: usize = 32;

/// Bytes in a refresh token's hash (SHA-256).
pub const HASH_BYTES: usize = 32;

/// The SHA-256 of a refresh token: what the database holds instead of the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshTokenHash(pub [u8; HASH_BYTES]);

/// A new refresh token, and its hash to store.
pub fn generate() -> (RefreshToken, RefreshTokenHash) {
    let mut bytes = [0; TOKEN_BYTES];
    OsRng.fill_bytes(&mut bytes);
    let token = RefreshToken::presented(URL_SAFE_NO_PAD.encode(bytes));
    let hash = hash(&token);
    (token, hash)
}

/// The hash a presented token would be stored under.
pub fn hash(token: &RefreshToken) -> RefreshTokenHash {
    RefreshTokenHash(Sha256::digest(token.expose().as_bytes()).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_full_entropy_and_stored_as_their_hash() {
        let (first, first_hash) = generate();
        let (second, second_hash) = generate();
        assert_ne!(first.expose(), second.expose());
        assert_ne!(first_hash, second_hash);
        assert_eq!(
            URL_SAFE_NO_PAD
                .decode(first.expose())
                .expect("base64url")
                .len(),
            32
        );
        assert_eq!(hash(&first), first_hash);
        assert!(!format!("{first:?}").contains(first.expose()));
    }
}
