//! `/auth`: creating an account and exchanging credentials for a bearer token.

use std::{future::Future, sync::Arc};

use poem_openapi::{ApiResponse, Object, OpenApi, payload::Json};

use crate::{
    ApiTag,
    body::{FormBody, JsonBody},
    problem::{Errors, error_set},
    text::{AnyText, PlainText},
    users::User,
};

/// Shortest email address accepted, in characters.
pub const EMAIL_MIN_CHARS: usize = 3;
/// Longest email address accepted, in characters (RFC 5321's path limit).
pub const EMAIL_MAX_CHARS: usize = 254;
/// Shortest password accepted, in characters.
pub const PASSWORD_MIN_CHARS: usize = 8;
/// Longest password accepted, in characters.
pub const PASSWORD_MAX_CHARS: usize = 128;

/// A new account.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields)]
pub struct RegisterRequest {
    /// The account's email address; surrounding whitespace is ignored and it must be
    /// unique regardless of letter case.
    pub email: PlainText<EMAIL_MIN_CHARS, EMAIL_MAX_CHARS>,
    /// Any characters; no composition rules.
    pub password: AnyText<PASSWORD_MIN_CHARS, PASSWORD_MAX_CHARS>,
}

/// OAuth2 password-grant credentials (RFC 6749 §4.3), as Swagger UI's Authorize dialog and
/// FastAPI's `OAuth2PasswordRequestForm` send them.
#[derive(Debug, Clone, Object)]
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

/// What the server behind `/auth` does.
pub trait AuthBackend: Send + Sync + 'static {
    fn register(
        &self,
        body: JsonBody<RegisterRequest>,
    ) -> impl Future<Output = Result<User, Errors<RegisterErrors>>> + Send;

    fn login(
        &self,
        form: FormBody<LoginForm>,
    ) -> impl Future<Output = Result<Token, Errors<LoginErrors>>> + Send;
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
    RegisterErrors: 400, 409, 413, 415, 422
);
error_set!(
    /// Errors of `login`.
    LoginErrors: 400, 401, 413, 415, 422
);

pub struct AuthApi<B> {
    pub backend: Arc<B>,
}

#[OpenApi(prefix_path = "/auth", tag = "ApiTag::Auth")]
impl<B: AuthBackend> AuthApi<B> {
    /// Create an account
    ///
    /// Registers an email address and password. The email is unique regardless of letter
    /// case; the password is stored only as an argon2id hash.
    #[oai(path = "/register", method = "post", operation_id = "register")]
    async fn register(
        &self,
        body: JsonBody<RegisterRequest>,
    ) -> Result<RegisterResponse, Errors<RegisterErrors>> {
        let user = self.backend.register(body).await?;
        Ok(RegisterResponse::Created(Json(user)))
    }

    /// Log in
    ///
    /// Exchanges an email (`username`) and password for a bearer token, using the OAuth2
    /// password grant's form encoding. A wrong password and an unknown email get the same
    /// answer.
    #[oai(path = "/login", method = "post", operation_id = "login")]
    async fn login(&self, form: FormBody<LoginForm>) -> Result<LoginResponse, Errors<LoginErrors>> {
        let token = self.backend.login(form).await?;
        Ok(LoginResponse::Ok(Json(token)))
    }
}
