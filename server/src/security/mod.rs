//! Credentials: password hashing, access tokens and refresh tokens.

mod password;
pub mod refresh;
mod token;

pub use password::PasswordHasher;
pub use refresh::RefreshTokenHash;
pub use token::{IssuedToken, JwtSecret, Seal, TokenError, TokenIssuer};
