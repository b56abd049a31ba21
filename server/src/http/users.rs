//! Entry points of `/users`.

use taskapi_api::{
    problem::Errors,
    users::{CurrentUserErrors, User, UserBackend},
};

use super::AppState;
use crate::domain::UserId;

impl UserBackend for AppState {
    async fn current_user(&self, caller: UserId) -> Result<User, Errors<CurrentUserErrors>> {
        Ok(self.users.get(caller).await?.into())
    }
}
