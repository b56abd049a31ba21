//! Checking a password someone typed, the way a login does: counted against the
//! failed-login limits before any hashing, with the count settled once the answer is known.
//! Logins and account changes that ask for the current password share it, so neither is a
//! side door for guessing.

use std::{future::Future, net::IpAddr};

use super::{
    Failure,
    limits::{LimitError, Limited, RateLimits},
};
use crate::{
    domain::{Email, Password, User, UserId},
    security::PasswordHasher,
};

/// Why a typed password was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// No such account, or not its password; deliberately not told apart to the client
    /// (`account` is for the audit log: the account that has the address, if one does).
    #[error("the password is wrong")]
    Wrong { account: Option<UserId> },
    #[error("too many failed logins")]
    Limited(Limited),
    #[error(transparent)]
    Failed(#[from] Failure),
}

impl From<LimitError> for CheckError {
    fn from(error: LimitError) -> Self {
        error.into_error(Self::Limited)
    }
}

/// An account whose password was just checked, with the hash it matched: a change made
/// on the strength of that check can make sure the password is still the same.
#[derive(Debug)]
pub struct Verified {
    pub user: User,
    pub hash: String,
}

#[derive(Clone)]
pub struct Passwords {
    hasher: PasswordHasher,
    limits: RateLimits,
}

impl Passwords {
    pub fn new(hasher: PasswordHasher, limits: RateLimits) -> Self {
        Self { hasher, limits }
    }

    pub async fn hash(&self, password: &Password) -> Result<String, Failure> {
        self.hasher.hash(password).await
    }

    /// The account `account` finds, if `typed` is its password. `email` is what the
    /// client said the account is (`None` when that cannot be an email: it is counted as
    /// one account that never matches); the attempt is counted before `account` is looked
    /// up, so a client over its limit costs no lookup and no hashing.
    pub async fn check(
        &self,
        client: IpAddr,
        email: Option<&Email>,
        typed: &str,
        account: impl Future<Output = Result<Option<(User, String)>, Failure>>,
    ) -> Result<Verified, CheckError> {
        let (key, shown) = email.map_or_else(
            || ("(not an email)".to_owned(), "(not an email)".to_owned()),
            |email| (email.key().to_owned(), email.redacted()),
        );
        self.limits.login_attempt(client, &key, &shown).await?;
        let verified = match self.verify(email.is_some(), typed, account).await {
            Ok(verified) => verified,
            Err(failure) => {
                // The server failed, not the client: the attempt does not count.
                if let Err(error) = self.limits.login_abandoned(client, &key).await {
                    tracing::warn!(%error, "cannot take back a login attempt");
                }
                return Err(failure.into());
            }
        };
        let verified = match verified {
            Ok(verified) => verified,
            Err(account) => {
                tracing::warn!(target: "security", %client, email = %shown, "wrong password");
                return Err(CheckError::Wrong { account });
            }
        };
        // The password was right: failing to clear the count must not refuse it.
        if let Err(error) = self.limits.login_succeeded(client, &key).await {
            tracing::warn!(%error, "cannot clear the failed-login count");
        }
        Ok(verified)
    }

    /// The account, if `typed` is its password; else the account's id, if there is one.
    /// Without an account (or an email that cannot have one) the dummy hash is checked, so
    /// the answer and its timing match those of a wrong password.
    async fn verify(
        &self,
        may_exist: bool,
        typed: &str,
        account: impl Future<Output = Result<Option<(User, String)>, Failure>>,
    ) -> Result<Result<Verified, Option<UserId>>, Failure> {
        let account = if may_exist { account.await? } else { None };
        let stored = account.as_ref().map(|(_, hash)| hash.as_str());
        let matches = self.hasher.verify(typed, stored).await?;
        Ok(match account {
            Some((user, hash)) if matches => Ok(Verified { user, hash }),
            account => Err(account.map(|(user, _)| user.id)),
        })
    }
}
