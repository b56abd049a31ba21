//! `/auth`: creating an account and exchanging credentials for a bearer token.

use std::sync::Arc;

use async_trait::async_trait;
use poem::web::Data;
use poem_openapi::{
    ApiResponse, Object, OpenApi,
    payload::{Form, Json},
};
use serde::Deserialize;

use crate::{
    ApiTag,
    body::{JsonBody, check_fields},
    problem::{ApiError, Errors, error_set},
    text::{PlainText, Text},
    users::User,
};

/// A new account.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields)]
pub struct RegisterRequest {
    /// The account's email address; surrounding whitespace is ignored and it must be
    /// unique regardless of letter case.
    #[oai(validator(min_length = 3, max_length = 254))]
    pub email: PlainText,
    /// 8 to 128 characters; no composition rules.
    #[oai(validator(min_length = 8, max_length = 128))]
    pub password: Text,
}

check_fields!(RegisterRequest {
    email: PlainText,
    password: Text,
});

/// OAuth2 password-grant credentials (RFC 6749 §4.3), as Swagger UI's Authorize dialog and
/// FastAPI's `OAuth2PasswordRequestForm` send them.
#[derive(Debug, Clone, Object, Deserialize)]
pub struct LoginForm {
    /// The account's email address.
    pub username: String,
    /// The account's password.
    pub password: String,
    /// `password` when present; any other grant type is refused.
    pub grant_type: Option<String>,
    /// Accepted for compatibility with OAuth2 clients and ignored.
    pub scope: Option<String>,
}

/// A bearer token for the `Authorization` header.
#[derive(Debug, Clone, Object)]
pub struct Token {
    /// The JWT to send as `Authorization: Bearer <access_token>`.
    pub access_token: String,
    /// Always `bearer`.
    pub token_type: String,
    /// Seconds until the token expires.
    pub expires_in: u64,
}

/// The identity a valid bearer token proves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    pub user_id: uuid::Uuid,
}

/// What the service behind `/auth` and the bearer-token check must do.
#[async_trait]
pub trait AuthBackend: Send + Sync + 'static {
    async fn register(&self, request: RegisterRequest) -> Result<User, ApiError>;
    async fn login(&self, form: LoginForm) -> Result<Token, ApiError>;
    /// Resolves a bearer token to the caller, refusing tokens that are invalid, expired or
    /// belong to an account that no longer exists.
    async fn authenticate(&self, token: &str) -> Result<Caller, ApiError>;
}

#[derive(ApiResponse)]
pub enum RegisterResponse {
    /// The account was created.
    #[oai(status = 201)]
    Created(Json<User>),
}

#[derive(ApiResponse)]
pub enum LoginResponse {
    /// Credentials accepted.
    #[oai(status = 200)]
    Ok(Json<Token>),
}

error_set!(
    /// Errors of `register`.
    RegisterErrors: 400, 409, 413, 415, 422, 500, 503
);
error_set!(
    /// Errors of `login`.
    LoginErrors: 400, 401, 413, 415, 422, 500, 503
);

pub struct AuthApi;

#[OpenApi(prefix_path = "/auth", tag = "ApiTag::Auth")]
impl AuthApi {
    /// Create an account
    ///
    /// Registers an email address and password. The email is unique regardless of letter
    /// case; the password is stored only as an argon2id hash.
    #[oai(path = "/register", method = "post", operation_id = "register")]
    async fn register(
        &self,
        backend: Data<&Arc<dyn AuthBackend>>,
        body: JsonBody<RegisterRequest>,
    ) -> Result<RegisterResponse, Errors<RegisterErrors>> {
        let user = backend.register(body.0).await?;
        Ok(RegisterResponse::Created(Json(user)))
    }

    /// Log in
    ///
    /// Exchanges an email (`username`) and password for a bearer token, using the OAuth2
    /// password grant's form encoding. A wrong password and an unknown email get the same
    /// answer.
    #[oai(path = "/login", method = "post", operation_id = "login")]
    async fn login(
        &self,
        backend: Data<&Arc<dyn AuthBackend>>,
        form: Form<LoginForm>,
    ) -> Result<LoginResponse, Errors<LoginErrors>> {
        let token = backend.login(form.0).await?;
        Ok(LoginResponse::Ok(Json(token)))
    }
}
