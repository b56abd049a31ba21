//! Credentials: password hashing, access tokens, their signing keys, and opaque tokens.

pub mod keys;
pub mod opaque;
mod password;
mod token;

pub use opaque::TokenHash;
pub use password::PasswordHasher;
pub use token::{IssuedToken, JwtSecret, Seal, TokenError, TokenIssuer};
