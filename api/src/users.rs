//! `/users`: the account behind the bearer token.

use std::{future::Future, sync::Arc};

use chrono::{DateTime, Utc};
use poem_openapi::{ApiResponse, Object, OpenApi, payload::Json, types::Example};
use uuid::Uuid;

use crate::{
    ApiTag,
    problem::{Errors, error_set},
    security::{Authenticate, BearerAuth},
};

/// An account. Password material never leaves the server.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct User {
    pub id: Uuid,
    /// The email address as registered (trimmed).
    pub email: String,
    pub created_at: DateTime<Utc>,
}

impl Example for User {
    fn example() -> Self {
        Self {
            email: "alice@example.com".to_owned(),
            id: Uuid::from_u128(0x0194_b2a4_0000_7000_8000_0000_0000_0001),
            created_at: crate::EXAMPLE_TIME,
        }
    }
}

/// What the server behind `/users` does.
pub trait UserBackend: Authenticate {
    /// The caller's own account.
    fn current_user(
        &self,
        caller: Self::Caller,
    ) -> impl Future<Output = Result<User, Errors<CurrentUserErrors>>> + Send;
}

#[derive(ApiResponse)]
pub enum CurrentUserResponse {
    /// The caller's account.
    #[oai(status = 200)]
    Ok(Json<User>),
}

error_set!(
    /// Errors of `get_current_user`.
    CurrentUserErrors: 401, 429
);

pub struct UsersApi<B> {
    pub backend: Arc<B>,
}

#[OpenApi(prefix_path = "/users", tag = "ApiTag::Users")]
impl<B: UserBackend> UsersApi<B> {
    /// The current user
    ///
    /// Returns the account the bearer token belongs to.
    #[oai(path = "/me", method = "get", operation_id = "get_current_user")]
    async fn me(&self, auth: BearerAuth) -> Result<CurrentUserResponse, Errors<CurrentUserErrors>> {
        let caller = self.backend.authenticate(auth).await?;
        let user = self.backend.current_user(caller).await?;
        Ok(CurrentUserResponse::Ok(Json(user)))
    }
}
