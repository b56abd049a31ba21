//! Reading accounts.

use super::Failure;
use crate::{
    domain::{User, UserId},
    store::{Database, users},
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
    db: Database,
}

impl UserService {
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    /// The account behind a token; one deleted since the token was checked is gone.
    pub async fn get(&self, id: UserId) -> Result<User, UserError> {
        users::find(&mut *self.db.acquire().await?, id)
            .await?
            .ok_or(UserError::Gone)
    }
}
