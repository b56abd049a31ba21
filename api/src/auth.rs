//! `/auth`: creating an account and exchanging credentials for a bearer token.

use poem_openapi::{Object, payload::Json};

use crate::{
    problem::error_sets,
    text::{AnyText, EmailChars, Text},
    users::{EMAIL_MAX_CHARS, EMAIL_MIN_CHARS, PASSWORD_MAX_CHARS, PASSWORD_MIN_CHARS, User},
};

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

/// A request for a password-reset mail.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields, example)]
pub struct PasswordResetRequest {
    /// The account's email address (compared as at login).
    pub email: Text<EMAIL_MIN_CHARS, EMAIL_MAX_CHARS, EmailChars>,
}

/// The token of a password-reset mail, and the new password.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields, example)]
pub struct PasswordResetConfirmation {
    /// The token from the mail (the link's `token` parameter).
    pub token: AnyText<1, MAX_MAILED_TOKEN_CHARS>,
    /// The new password, by the same rules as at registration.
    pub new_password: AnyText<PASSWORD_MIN_CHARS, PASSWORD_MAX_CHARS>,
}

/// The token of a verification mail.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields, example)]
pub struct EmailVerification {
    /// The token from the mail (the link's `token` parameter).
    pub token: AnyText<1, MAX_MAILED_TOKEN_CHARS>,
}

/// Longest token accepted from a mail, in characters (the server's are 43).
pub const MAX_MAILED_TOKEN_CHARS: usize = 200;

/// The OAuth2 token request (RFC 6749), form-encoded as Swagger UI's Authorize dialog and
/// FastAPI's `OAuth2PasswordRequestForm` send it. The `password` grant (the default when
/// `grant_type` is absent, §4.3) takes `username` and `password`; the `refresh_token` grant
/// (§6) takes `refresh_token`, the one from the previous token response.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct LoginForm {
    /// The account's email address (password grant).
    #[oai(skip_serializing_if_is_none)]
    pub username: Option<String>,
    /// The account's password (password grant).
    #[oai(skip_serializing_if_is_none)]
    pub password: Option<String>,
    /// `password` (the default) or `refresh_token`; any other grant type is refused.
    #[oai(skip_serializing_if_is_none)]
    pub grant_type: Option<String>,
    /// The latest refresh token of a session (refresh-token grant). Each one works once.
    #[oai(skip_serializing_if_is_none)]
    pub refresh_token: Option<String>,
    /// Accepted for compatibility with OAuth2 clients and ignored.
    #[oai(skip_serializing_if_is_none)]
    pub scope: Option<String>,
}

/// The tokens of a session: a short-lived access token for the `Authorization` header,
/// and a refresh token that gets the next pair once.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct Token {
    /// The JWT to send as `Authorization: Bearer <access_token>`.
    pub access_token: String,
    /// Always `bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// Opaque; send it back as `grant_type=refresh_token` to get new tokens. It works once:
    /// the response carries its successor, and presenting a used one ends the session.
    pub refresh_token: String,
    /// Seconds until the refresh token expires unless used first.
    pub refresh_expires_in: u64,
}

examples! {
    PasswordResetRequest => PasswordResetRequest {
        email: Text::new("alice@example.com"),
    };
    PasswordResetConfirmation => PasswordResetConfirmation {
        token: AnyText::new("Zx9kQ2mV7bN4cR1tY6uI3oP8aS5dF0gH2jK4lW6eT1y"),
        new_password: AnyText::new("a new correct horse battery staple"),
    };
    EmailVerification => EmailVerification {
        token: AnyText::new("Zx9kQ2mV7bN4cR1tY6uI3oP8aS5dF0gH2jK4lW6eT1y"),
    };
    RegisterRequest => RegisterRequest {
        email: Text::new("alice@example.com"),
        password: AnyText::new("correct horse battery staple"),
    };
    LoginForm => LoginForm {
        username: Some("alice@example.com".to_owned()),
        password: Some("correct horse battery staple".to_owned()),
        grant_type: Some("password".to_owned()),
        refresh_token: None,
        scope: None,
    };
    Token => Token {
        access_token: "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIwMTk0YjJhNC0wMDAwLTcwMDAtODAwMC0wMDAwMDAwMDAwMDEifQ.c2lnbmF0dXJl".to_owned(),
        token_type: "bearer".to_owned(),
        expires_in: 900,
        refresh_token: "q8mXk2VfZ0b3nH5tJ7wLr9sYc1dP4eGa6uIo8QzTx0M".to_owned(),
        refresh_expires_in: 2_592_000,
    };
}

responses! {
    /// The account was created.
    RegisterResponse: 201 Created(Json<User>);
    /// Credentials accepted.
    LoginResponse: 200 Ok(Json<Token>);
    /// The session is over: its refresh token and access tokens no longer work.
    LogoutResponse: 204 NoContent;
    /// Accepted. If an account has this address, a reset mail is on its way; the answer is
    /// the same either way.
    PasswordResetRequested: 202 Accepted;
    /// The password is changed; every session of the account has ended.
    PasswordResetConfirmed: 204 NoContent;
    /// The address is verified; the account as it now is.
    EmailVerified: 200 Ok(Json<User>);
}

error_sets! {
    /// Errors of `register`.
    RegisterErrors: 400, 409, 413, 415, 422, 429;
    /// Errors of `login`.
    LoginErrors: 400, 401, 403, 413, 415, 422, 429;
    /// Errors of `logout`.
    LogoutErrors: 401, 403, 429;
    /// Errors of `request_password_reset`.
    PasswordResetRequestErrors: 400, 413, 415, 422, 429;
    /// Errors of `confirm_password_reset`.
    PasswordResetConfirmationErrors: 400, 413, 415, 422;
    /// Errors of `verify_email`.
    EmailVerificationErrors: 400, 409, 413, 415, 422;
}
