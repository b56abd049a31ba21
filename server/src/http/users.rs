//! Entry points of `/users`.

use async_trait::async_trait;
use taskapi_api::{ApiError, Caller, UserBackend, users::User as UserSchema};

use super::AppState;
use crate::domain::{User, UserId};

#[async_trait]
impl UserBackend for AppState {
    async fn current_user(&self, caller: Caller) -> Result<UserSchema, ApiError> {
        let user = self.users.get(UserId(caller.user_id)).await?;
        Ok(user_schema(user))
    }
}

pub(super) fn user_schema(user: User) -> UserSchema {
    UserSchema {
        id: user.id.0,
        email: user.email.as_str().to_owned(),
        created_at: user.created_at,
    }
}
