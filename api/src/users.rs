//! `/users`: the account behind the bearer token.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::{ApiResponse, Object, OpenApi, payload::Json};
use uuid::Uuid;

use crate::{
    ApiTag,
    auth::Caller,
    problem::{ApiError, Errors, error_set},
    security::BearerAuth,
};

/// An account. Password material never leaves the server.
#[derive(Debug, Clone, Object)]
pub struct User {
    pub id: Uuid,
    /// The email address as registered (trimmed).
    pub email: String,
    pub created_at: DateTime<Utc>,
}

/// What the service behind `/users` must do.
#[async_trait]
pub trait UserBackend: Send + Sync + 'static {
    async fn current_user(&self, caller: Caller) -> Result<User, ApiError>;
}

#[derive(ApiResponse)]
pub enum CurrentUserResponse {
    /// The caller's account.
    #[oai(status = 200)]
    Ok(Json<User>),
}

error_set!(
    /// Errors of `get_current_user`.
    CurrentUserErrors: 401, 500, 503
);

pub struct UsersApi;

#[OpenApi(prefix_path = "/users", tag = "ApiTag::Users")]
impl UsersApi {
    /// The current user
    ///
    /// Returns the account the bearer token belongs to.
    #[oai(path = "/me", method = "get", operation_id = "get_current_user")]
    async fn me(
        &self,
        auth: BearerAuth,
        backend: Data<&Arc<dyn UserBackend>>,
    ) -> Result<CurrentUserResponse, Errors<CurrentUserErrors>> {
        let user = backend.current_user(auth.0).await?;
        Ok(CurrentUserResponse::Ok(Json(user)))
    }
}
