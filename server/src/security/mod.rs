//! Credentials: password hashing and access tokens.

mod password;
mod token;

pub use password::PasswordHasher;
pub use token::{IssuedToken, TokenError, TokenIssuer};
