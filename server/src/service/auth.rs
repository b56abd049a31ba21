//! Registering accounts, logging in, and turning a bearer token back into an account.

use std::time::Duration;

use sqlx::PgPool;

use crate::{
    domain::{Email, Password, User, UserId},
    security::{HashError, PasswordHasher, TokenError, TokenIssuer},
    store::{
        StoreError,
        users::{self, InsertUserError},
    },
};

#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    #[error("an account with this email already exists")]
    EmailTaken,
    #[error(transparent)]
    Hash(#[from] HashError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Unknown email or wrong password; deliberately not told apart.
    #[error("invalid email or password")]
    InvalidCredentials,
    #[error("unsupported grant type {0:?}")]
    UnsupportedGrantType(String),
    #[error(transparent)]
    Hash(#[from] HashError),
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, thiserror::Error)]
pub enum AuthenticateError {
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The token is genuine but its account has been deleted since.
    #[error("the token's account no longer exists")]
    AccountGone,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An access token and how long it lives.
pub struct Session {
    pub access_token: String,
    pub expires_in: Duration,
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

    pub async fn register(&self, email: Email, password: Password) -> Result<User, RegisterError> {
        let hash = self.hasher.hash(&password).await?;
        users::insert(&self.pool, &email, &hash)
            .await
            .map_err(|error| match error {
                InsertUserError::EmailTaken => RegisterError::EmailTaken,
                InsertUserError::Store(store) => RegisterError::Store(store),
            })
    }

    /// OAuth2 password grant. `grant_type`, when given, must be `password`.
    pub async fn login(
        &self,
        email: &str,
        password: &str,
        grant_type: Option<&str>,
    ) -> Result<Session, LoginError> {
        if let Some(grant_type) = grant_type.filter(|grant| *grant != "password") {
            return Err(LoginError::UnsupportedGrantType(grant_type.to_owned()));
        }
        // An email that cannot exist is looked up as no account, so the response and its
        // timing match those of a wrong password.
        let account = match Email::parse(email) {
            Ok(email) => users::find_credentials(&self.pool, &email).await?,
            Err(_) => None,
        };
        let (user, hash) = account.unzip();
        if !self.hasher.verify(password, hash.as_deref()).await? {
            return Err(LoginError::InvalidCredentials);
        }
        let user = user.ok_or(LoginError::InvalidCredentials)?;
        let issued = self.tokens.issue(user.id)?;
        Ok(Session {
            access_token: issued.token,
            expires_in: issued.expires_in,
        })
    }

    /// The account a bearer token proves, if the token is valid and the account exists.
    pub async fn authenticate(&self, token: &str) -> Result<UserId, AuthenticateError> {
        let user_id = self.tokens.verify(token)?;
        users::find(&self.pool, user_id)
            .await?
            .map(|user| user.id)
            .ok_or(AuthenticateError::AccountGone)
    }
}
