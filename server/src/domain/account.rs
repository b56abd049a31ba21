//! Recovering an account and proving an address: the single-use tokens mailed for a
//! password reset or an email verification, and what a client sends back with them.

use strum::{EnumString, IntoStaticStr, VariantArray};

use super::Password;

super::secret_tokens! {
    /// A token from a mail (a password reset's or an email verification's), as presented.
    AccountToken;
}

/// What a mailed token is for. The snake_case names are how the database states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, IntoStaticStr, EnumString, VariantArray)]
#[strum(serialize_all = "snake_case")]
pub enum TokenPurpose {
    /// Sets a new password; mailed on request to the account's address.
    PasswordReset,
    /// Proves the address it was mailed to: at registration, and to the new address of an
    /// email change.
    EmailVerification,
}

/// A password reset's confirmation: the mailed token and the new password.
#[derive(Debug)]
pub struct PasswordReset {
    pub token: AccountToken,
    pub new_password: Password,
}
