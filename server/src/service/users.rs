//! Reading accounts.

use sqlx::PgPool;

use super::Failure;
use crate::{
    domain::{User, UserId},
    store::users,
};

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    /// The account was deleted after its token was checked.
    #[error("the account no longer exists")]
    Gone,
    #[error(transparent)]
    Failed(#[from] Failure),
}

#[derive(Clone)]
pub struct UserService {
    pool: PgPool,
}

impl UserService {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// The account behind a token; one deleted since the token was checked is gone.
    pub async fn get(&self, id: UserId) -> Result<User, UserError> {
        users::find(&self.pool, id).await?.ok_or(UserError::Gone)
    }
}
