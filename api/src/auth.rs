//! `/auth`: creating an account and exchanging credentials for a bearer token.

use std::{future::Future, sync::Arc};

use poem::web::Data;
use poem_openapi::{ApiResponse, Object, OpenApi, payload::Json, types::Example};

use crate::{
    ApiTag,
    body::{FormBody, JsonBody},
    problem::{Errors, error_set},
    security::ClientAddress,
    text::{AnyText, EmailChars, Text},
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
#[oai(deny_unknown_fields, example)]
pub struct RegisterRequest {
    /// The account's email address, `name@example.com`: surrounding whitespace is ignored,
    /// and it must be unique regardless of letter case and of look-alike spellings
    /// (fullwidth letters, accents composed or not, a domain in Unicode or `xn--` form).
    /// Quoted local parts and address literals (`name@[192.0.2.1]`) are not accepted.
    pub email: Text<EMAIL_MIN_CHARS, EMAIL_MAX_CHARS, EmailChars>,
    /// Any characters; no composition rules.
    pub password: AnyText<PASSWORD_MIN_CHARS, PASSWORD_MAX_CHARS>,
}

/// OAuth2 password-grant credentials (RFC 6749 §4.3), as Swagger UI's Authorize dialog and
/// FastAPI's `OAuth2PasswordRequestForm` send them.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct LoginForm {
    /// The account's email address.
    pub username: String,
    /// The account's password.
    pub password: String,
    /// `password` when present; any other grant type is refused.
    #[oai(skip_serializing_if_is_none)]
    pub grant_type: Option<String>,
    /// Accepted for compatibility with OAuth2 clients and ignored.
    #[oai(skip_serializing_if_is_none)]
    pub scope: Option<String>,
}

/// A bearer token for the `Authorization` header.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct Token {
    /// The JWT to send as `Authorization: Bearer <access_token>`.
    pub access_token: String,
    /// Always `bearer`.
    pub token_type: String,
    /// Seconds until the token expires.
    pub expires_in: u64,
}

impl Example for RegisterRequest {
    fn example() -> Self {
        Self {
            email: Text::new("alice@example.com"),
            password: AnyText::new("correct horse battery staple"),
        }
    }
}

impl Example for LoginForm {
    fn example() -> Self {
        Self {
            username: "alice@example.com".to_owned(),
            password: "correct horse battery staple".to_owned(),
            grant_type: Some("password".to_owned()),
            scope: None,
        }
    }
}

impl Example for Token {
    fn example() -> Self {
        Self {
            access_token: "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIwMTk0YjJhNC0wMDAwLTcwMDAtODAwMC0wMDAwMDAwMDAwMDEifQ.c2lnbmF0dXJl".to_owned(),
            token_type: "bearer".to_owned(),
            expires_in: 1800,
        }
    }
}

/// What the server behind `/auth` does.
pub trait AuthBackend: Send + Sync + 'static {
    fn register(
        &self,
        client: ClientAddress,
        body: JsonBody<RegisterRequest>,
    ) -> impl Future<Output = Result<User, Errors<RegisterErrors>>> + Send;

    fn login(
        &self,
        client: ClientAddress,
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
    RegisterErrors: 400, 409, 413, 415, 422, 429
);
error_set!(
    /// Errors of `login`.
    LoginErrors: 400, 401, 413, 415, 422, 429
);

pub struct AuthApi<B> {
    pub backend: Arc<B>,
}

#[OpenApi(prefix_path = "/auth", tag = "ApiTag::Auth")]
impl<B: AuthBackend> AuthApi<B> {
    /// Create an account
    ///
    /// Registers an email address and password. The email is unique regardless of letter
    /// case and look-alike spellings, and kept as typed; the password is stored only as an
    /// argon2id hash. Registrations from one client address are limited per hour.
    #[oai(path = "/register", method = "post", operation_id = "register")]
    async fn register(
        &self,
        client: Data<&ClientAddress>,
        body: JsonBody<RegisterRequest>,
    ) -> Result<RegisterResponse, Errors<RegisterErrors>> {
        let user = self.backend.register(*client.0, body).await?;
        Ok(RegisterResponse::Created(Json(user)))
    }

    /// Log in
    ///
    /// Exchanges an email (`username`) and password for a bearer token, using the OAuth2
    /// password grant's form encoding. A wrong password and an unknown email get the same
    /// answer. Failed logins are limited per account and client address, and per client
    /// address; past a limit, attempts are refused with 429 until its window ends (a
    /// successful login clears the account's count for that address).
    #[oai(path = "/login", method = "post", operation_id = "login")]
    async fn login(
        &self,
        client: Data<&ClientAddress>,
        form: FormBody<LoginForm>,
    ) -> Result<LoginResponse, Errors<LoginErrors>> {
        let token = self.backend.login(*client.0, form).await?;
        Ok(LoginResponse::Ok(Json(token)))
    }
}
