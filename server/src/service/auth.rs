//! Registering accounts, logging in, and turning a bearer token back into an account.

use sqlx::PgPool;

use super::Failure;
use crate::{
    domain::{Credentials, Email, Registration, User, UserId},
    security::{IssuedToken, PasswordHasher, TokenError, TokenIssuer},
    store::users::{self, InsertUserError},
};

#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    #[error("an account with this email already exists")]
    EmailTaken,
    #[error(transparent)]
    Failed(#[from] Failure),
}

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Unknown email or wrong password; deliberately not told apart.
    #[error("invalid email or password")]
    InvalidCredentials,
    #[error(transparent)]
    Failed(#[from] Failure),
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
    #[error(transparent)]
    Failed(#[from] Failure),
}

#[derive(Clone)]
pub struct AuthService {
    pool: PgPool,
    hasher: PasswordHasher,
    tokens: TokenIssuer,
}

impl AuthService {
    pub fn new(pool: PgPool, hasher: PasswordHasher, tokens: TokenIssuer) -> Self {
        Self {
            pool,
            hasher,
            tokens,
        }
    }

    pub async fn register(&self, registration: Registration) -> Result<User, RegisterError> {
        let hash = self.hasher.hash(&registration.password).await?;
        users::insert(&self.pool, &registration.email, &hash)
            .await
            .map_err(|error| match error {
                InsertUserError::EmailTaken => RegisterError::EmailTaken,
                InsertUserError::Failed(failure) => failure.into(),
            })
    }

    /// The OAuth2 password grant: an access token for a matching email and password.
    pub async fn login(&self, credentials: Credentials) -> Result<IssuedToken, LoginError> {
        // An email that cannot exist is looked up as no account, so the response and its
        // timing match those of a wrong password.
        let account = match Email::parse(&credentials.username) {
            Ok(email) => users::find_credentials(&self.pool, &email).await?,
            Err(_) => None,
        };
        let (user, hash) = account.unzip();
        if !self
            .hasher
            .verify(&credentials.password, hash.as_deref())
            .await?
        {
            return Err(LoginError::InvalidCredentials);
        }
        let user = user.ok_or(LoginError::InvalidCredentials)?;
        Ok(self.tokens.issue(user.id)?)
    }

    /// The account a bearer token proves, if the token is valid and the account exists.
    pub async fn authenticate(&self, token: &str) -> Result<UserId, AuthenticateError> {
        let user_id = self.tokens.verify(token).map_err(|error| match error {
            TokenError::Expired => AuthenticateError::TokenExpired,
            TokenError::Invalid(_) | TokenError::IssuedInTheFuture => {
                AuthenticateError::TokenInvalid
            }
        })?;
        users::find(&self.pool, user_id)
            .await?
            .map(|user| user.id)
            .ok_or(AuthenticateError::AccountGone)
    }
}
