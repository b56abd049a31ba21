//! Credentials: password hashing, access tokens and refresh tokens.

pub mod opaque;
mod password;
mod token;

pub use opaque::TokenHash;
pub use password::PasswordHasher;
pub use token::{IssuedToken, JwtSecret, Seal, TokenError, TokenIssuer};
