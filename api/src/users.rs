//! `/users`: the account behind the bearer token, its sessions and its password.

use chrono::{DateTime, Utc};
use poem_openapi::{Enum, Object, payload::Json};
use serde::Serialize;
use strum::{EnumString, IntoStaticStr, VariantArray};
use uuid::Uuid;

use crate::{
    json::{self, Serialized},
    problem::error_sets,
    text::{AnyText, EmailChars, Text},
};

/// Shortest email address accepted, in characters.
pub const EMAIL_MIN_CHARS: usize = 3;
/// Longest email address accepted, in characters (RFC 5321's path limit).
pub const EMAIL_MAX_CHARS: usize = 254;
/// Shortest password accepted, in characters (Unicode scalar values after NFC).
pub const PASSWORD_MIN_CHARS: usize = 8;
/// Longest password accepted, in characters (Unicode scalar values after NFC).
pub const PASSWORD_MAX_CHARS: usize = 128;

/// What an account may do. Every account starts as a `user`; administrators are made from
/// the command line (`taskapi users create-admin`, `taskapi users set-role`), never through
/// the API.
// The snake_case names are the wire format and also how the database stores a role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, IntoStaticStr, EnumString, VariantArray)]
#[oai(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Role {
    /// Manages its own tasks and account.
    User,
    /// Also manages every account under `/admin`.
    Admin,
}

/// An account. Password material never leaves the server. A change of `role` reaches the
/// account's access token at its next refresh.
#[derive(Debug, Clone, Object, Serialize)]
#[oai(example)]
pub struct User {
    pub id: Uuid,
    /// The email address as registered (trimmed). An email change replaces it only once
    /// the new address is verified.
    pub email: String,
    /// Whether `email` is verified: the token mailed to it was given to `verify_email` (or
    /// to `confirm_password_reset`).
    pub email_verified: bool,
    /// The address an email change is waiting to verify; `null` when none is.
    #[oai(nullable)]
    pub pending_email: Option<String>,
    // No doc comment: on an enum-typed field it becomes an `allOf` some generators refuse.
    #[serde(serialize_with = "json::wire_name")]
    pub role: Role,
    #[serde(serialize_with = "json::rfc3339")]
    pub created_at: DateTime<Utc>,
}

/// A session: one login, kept alive by refreshing its tokens.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct Session {
    pub id: Uuid,
    /// Whether this is the session of the token making the request.
    pub current: bool,
    /// When the session began (the login).
    pub created_at: DateTime<Utc>,
    /// When its tokens were last issued (the login or the latest refresh).
    pub last_used_at: DateTime<Utc>,
    /// When its refresh token expires unless used first; a refresh moves this forward, up
    /// to a maximum lifetime from the login.
    pub expires_at: DateTime<Utc>,
    /// The `User-Agent` of the login, shortened; `null` when none was sent.
    #[oai(nullable)]
    pub user_agent: Option<String>,
    /// The client address of the login.
    pub client_address: String,
}

/// A new password for the caller's account.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields, example)]
pub struct PasswordChange {
    /// The account's password now.
    pub current_password: AnyText<1, PASSWORD_MAX_CHARS>,
    /// The same rules as at registration: 8 to 128 characters, not a commonly used password.
    pub new_password: AnyText<PASSWORD_MIN_CHARS, PASSWORD_MAX_CHARS>,
}

/// A new email address for the caller's account.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields, example)]
pub struct EmailChange {
    /// The same rules as at registration, including uniqueness.
    pub email: Text<EMAIL_MIN_CHARS, EMAIL_MAX_CHARS, EmailChars>,
    /// The account's password, to prove the change comes from its owner.
    pub current_password: AnyText<1, PASSWORD_MAX_CHARS>,
}

/// Confirmation that the caller means to delete their account.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields, example)]
pub struct AccountDeletion {
    /// The account's password.
    pub current_password: AnyText<1, PASSWORD_MAX_CHARS>,
}

pages! {
    /// One page of sessions, newest first.
    SessionPage(Session);
}

examples! {
    User => User {
        email: "alice@example.com".to_owned(),
        email_verified: true,
        pending_email: None,
        id: Uuid::from_u128(0x0194_b2a4_0000_7000_8000_0000_0000_0001),
        role: Role::User,
        created_at: crate::EXAMPLE_TIME,
    };
    Session => Session {
        id: Uuid::from_u128(0x0194_b2a4_0000_7000_8000_0000_0000_0003),
        current: true,
        created_at: crate::EXAMPLE_TIME,
        last_used_at: crate::EXAMPLE_TIME + chrono::Duration::hours(2),
        expires_at: crate::EXAMPLE_TIME + chrono::Duration::days(30),
        user_agent: Some("Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0".to_owned()),
        client_address: "192.0.2.10".to_owned(),
    };
    PasswordChange => PasswordChange {
        current_password: AnyText::new("correct horse battery staple"),
        new_password: AnyText::new("purple monkey dishwasher lamp"),
    };
    EmailChange => EmailChange {
        email: Text::new("alice@example.org"),
        current_password: AnyText::new("correct horse battery staple"),
    };
    AccountDeletion => AccountDeletion {
        current_password: AnyText::new("correct horse battery staple"),
    };
}

responses! {
    /// The caller's account.
    UserResponse: 200 Ok(Serialized<User>);
    /// A page of the caller's live sessions.
    SessionPageResponse: 200 Ok(Json<SessionPage>);
    /// Done.
    DoneResponse: 204 NoContent;
}

error_sets! {
    /// Errors of `get_current_user`.
    CurrentUserErrors: 401, 403, 429;
    /// Errors of `update_current_user`.
    ChangeEmailErrors: 400, 401, 403, 409, 413, 415, 422, 429;
    /// Errors of `delete_current_user`.
    DeleteAccountErrors: 400, 401, 403, 409, 413, 415, 422, 429;
    /// Errors of `change_password`.
    ChangePasswordErrors: 400, 401, 403, 413, 415, 422, 429;
    /// Errors of `list_sessions`.
    ListSessionsErrors: 400, 401, 403, 422, 429;
    /// Errors of `end_session`.
    EndSessionErrors: 400, 401, 403, 404, 429;
}
