//! Registering accounts, logging in, and turning a bearer token back into an account.

use std::net::IpAddr;

use super::{
    Failure,
    limits::{LimitError, Limited, RateLimits},
};
use crate::{
    domain::{Credentials, Email, Registration, User, UserId},
    security::{IssuedToken, PasswordHasher, TokenError, TokenIssuer},
    store::{
        Database,
        users::{self, InsertUserError},
    },
};

#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    #[error("an account with this email already exists")]
    EmailTaken,
    #[error("too many registrations from this client")]
    Limited(Limited),
    #[error(transparent)]
    Failed(#[from] Failure),
}

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Unknown email or wrong password; deliberately not told apart.
    #[error("invalid email or password")]
    InvalidCredentials,
    #[error("too many failed logins")]
    Limited(Limited),
    #[error(transparent)]
    Failed(#[from] Failure),
}

impl From<LimitError> for RegisterError {
    fn from(error: LimitError) -> Self {
        match error {
            LimitError::Limited(limited) => Self::Limited(limited),
            LimitError::Failed(failure) => Self::Failed(failure),
        }
    }
}

impl From<LimitError> for LoginError {
    fn from(error: LimitError) -> Self {
        match error {
            LimitError::Limited(limited) => Self::Limited(limited),
            LimitError::Failed(failure) => Self::Failed(failure),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthenticateError {
    #[error("the token has expired")]
    TokenExpired,
    /// Malformed, forged, or issued for something else.
    #[error("the token is invalid")]
    TokenInvalid,
    /// The token is genuine but its account has been deleted since.
    #[error("the token's account no longer exists")]
    AccountGone,
    #[error("the caller is over its request quota")]
    Limited(Limited),
    #[error(transparent)]
    Failed(#[from] Failure),
}

#[derive(Clone)]
pub struct AuthService {
    db: Database,
    hasher: PasswordHasher,
    tokens: TokenIssuer,
    limits: RateLimits,
}

impl AuthService {
    pub fn new(
        db: Database,
        hasher: PasswordHasher,
        tokens: TokenIssuer,
        limits: RateLimits,
    ) -> Self {
        Self {
            db,
            hasher,
            tokens,
            limits,
        }
    }

    /// The rate limits, for the background task that purges their expired counters.
    pub fn limits(&self) -> &RateLimits {
        &self.limits
    }

    pub async fn register(
        &self,
        client: IpAddr,
        registration: Registration,
    ) -> Result<User, RegisterError> {
        self.limits.registration(client).await?;
        let hash = self.hasher.hash(&registration.password).await?;
        users::insert(&mut *self.db.acquire().await?, &registration.email, &hash)
            .await
            .map_err(|error| match error {
                InsertUserError::EmailTaken => RegisterError::EmailTaken,
                InsertUserError::Failed(failure) => failure.into(),
            })
    }

    /// The OAuth2 password grant: an access token for a matching email and password,
    /// unless `client` has failed too often (for this account, or at all) lately.
    pub async fn login(
        &self,
        client: IpAddr,
        credentials: Credentials,
    ) -> Result<IssuedToken, LoginError> {
        let email = Email::parse(&credentials.username).ok();
        // An email that cannot exist is counted as one account; it never logs in.
        let (key, redacted) = email.as_ref().map_or_else(
            || ("(not an email)".to_owned(), "(not an email)".to_owned()),
            |email| (email.key().to_owned(), email.redacted()),
        );
        self.limits.login_attempt(client, &key, &redacted).await?;
        let verified = match self.verify(email.as_ref(), &credentials.password).await {
            Ok(verified) => verified,
            Err(failure) => {
                // The server failed, not the client: the attempt does not count.
                if let Err(error) = self.limits.login_abandoned(client, &key).await {
                    tracing::warn!(%error, "cannot take back a login attempt");
                }
                return Err(failure.into());
            }
        };
        let Some(user) = verified else {
            tracing::warn!(target: "security", %client, email = %redacted, "failed login");
            return Err(LoginError::InvalidCredentials);
        };
        // The password was right: failing to clear the count must not refuse the login.
        if let Err(error) = self.limits.login_succeeded(client, &key).await {
            tracing::warn!(%error, "cannot clear the failed-login count");
        }
        Ok(self.tokens.issue(user.id)?)
    }

    /// The account `email` names, if `password` is its password.
    async fn verify(&self, email: Option<&Email>, password: &str) -> Result<Option<User>, Failure> {
        // An email that cannot exist is looked up as no account, so the response and its
        // timing match those of a wrong password.
        let account = match email {
            Some(email) => users::find_credentials(&mut *self.db.acquire().await?, email).await?,
            None => None,
        };
        let (user, hash) = account.unzip();
        let verified = self.hasher.verify(password, hash.as_deref()).await?;
        Ok(user.filter(|_| verified))
    }

    /// The account a bearer token proves, if the token is valid and the account exists.
    pub async fn authenticate(&self, token: &str) -> Result<UserId, AuthenticateError> {
        let user_id = self.tokens.verify(token).map_err(|error| match error {
            TokenError::Expired => AuthenticateError::TokenExpired,
            TokenError::Invalid(_) | TokenError::IssuedInTheFuture => {
                AuthenticateError::TokenInvalid
            }
        })?;
        // Before the lookup: a caller over its quota costs no database work.
        self.limits
            .request(user_id)
            .map_err(AuthenticateError::Limited)?;
        if users::exists(&mut *self.db.acquire().await?, user_id).await? {
            Ok(user_id)
        } else {
            Err(AuthenticateError::AccountGone)
        }
    }
}
