//! `/users`: the account behind the bearer token, its sessions and its password.

use std::{future::Future, sync::Arc};

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::{
    ApiResponse, Enum, Object, OpenApi,
    param::{Path, Query},
    payload::Json,
    types::Example,
};
use serde::Serialize;
use strum::{EnumString, IntoStaticStr, VariantArray};
use uuid::Uuid;

use crate::{
    ApiTag,
    body::JsonBody,
    json::{self, Serialized},
    paging::{Cursor, PageLimit},
    problem::{Errors, error_set},
    security::{Authenticate, BearerAuth, ClientAddress},
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
    /// The email address as registered (trimmed).
    pub email: String,
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

/// One page of sessions, newest first.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct SessionPage {
    pub items: Vec<Session>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    #[oai(nullable)]
    pub next_cursor: Option<String>,
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

impl Example for User {
    fn example() -> Self {
        Self {
            email: "alice@example.com".to_owned(),
            id: Uuid::from_u128(0x0194_b2a4_0000_7000_8000_0000_0000_0001),
            role: Role::User,
            created_at: crate::EXAMPLE_TIME,
        }
    }
}

impl Example for Session {
    fn example() -> Self {
        Self {
            id: Uuid::from_u128(0x0194_b2a4_0000_7000_8000_0000_0000_0003),
            current: true,
            created_at: crate::EXAMPLE_TIME,
            last_used_at: crate::EXAMPLE_TIME + chrono::Duration::hours(2),
            expires_at: crate::EXAMPLE_TIME + chrono::Duration::days(30),
            user_agent: Some("Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0".to_owned()),
            client_address: "192.0.2.10".to_owned(),
        }
    }
}

impl Example for SessionPage {
    fn example() -> Self {
        Self {
            items: vec![Session::example()],
            next_cursor: None,
        }
    }
}

impl Example for PasswordChange {
    fn example() -> Self {
        Self {
            current_password: AnyText::new("correct horse battery staple"),
            new_password: AnyText::new("purple monkey dishwasher lamp"),
        }
    }
}

impl Example for EmailChange {
    fn example() -> Self {
        Self {
            email: Text::new("alice@example.org"),
            current_password: AnyText::new("correct horse battery staple"),
        }
    }
}

impl Example for AccountDeletion {
    fn example() -> Self {
        Self {
            current_password: AnyText::new("correct horse battery staple"),
        }
    }
}

/// What the server behind `/users` does, always on behalf of one caller.
pub trait UserBackend: Authenticate {
    /// The caller's own account.
    fn current_user(
        &self,
        caller: Self::Caller,
    ) -> impl Future<Output = Result<User, Errors<CurrentUserErrors>>> + Send;

    fn change_email(
        &self,
        client: ClientAddress,
        caller: Self::Caller,
        body: JsonBody<EmailChange>,
    ) -> impl Future<Output = Result<User, Errors<ChangeEmailErrors>>> + Send;

    fn delete_account(
        &self,
        client: ClientAddress,
        caller: Self::Caller,
        body: JsonBody<AccountDeletion>,
    ) -> impl Future<Output = Result<(), Errors<DeleteAccountErrors>>> + Send;

    fn change_password(
        &self,
        client: ClientAddress,
        caller: Self::Caller,
        body: JsonBody<PasswordChange>,
    ) -> impl Future<Output = Result<(), Errors<ChangePasswordErrors>>> + Send;

    fn list_sessions(
        &self,
        caller: Self::Caller,
        limit: PageLimit,
        cursor: Option<Cursor>,
    ) -> impl Future<Output = Result<SessionPage, Errors<ListSessionsErrors>>> + Send;

    fn end_session(
        &self,
        caller: Self::Caller,
        session_id: Uuid,
    ) -> impl Future<Output = Result<(), Errors<EndSessionErrors>>> + Send;
}

#[derive(ApiResponse)]
pub enum UserResponse {
    /// The caller's account.
    #[oai(status = 200)]
    Ok(Serialized<User>),
}

#[derive(ApiResponse)]
pub enum SessionPageResponse {
    /// A page of the caller's live sessions.
    #[oai(status = 200)]
    Ok(Json<SessionPage>),
}

#[derive(ApiResponse)]
pub enum DoneResponse {
    /// Done.
    #[oai(status = 204)]
    NoContent,
}

error_set!(
    /// Errors of `get_current_user`.
    CurrentUserErrors: 401, 429
);
error_set!(
    /// Errors of `update_current_user`.
    ChangeEmailErrors: 400, 401, 403, 409, 413, 415, 422, 429
);
error_set!(
    /// Errors of `delete_current_user`.
    DeleteAccountErrors: 400, 401, 403, 409, 413, 415, 422, 429
);
error_set!(
    /// Errors of `change_password`.
    ChangePasswordErrors: 400, 401, 403, 413, 415, 422, 429
);
error_set!(
    /// Errors of `list_sessions`.
    ListSessionsErrors: 400, 401, 422, 429
);
error_set!(
    /// Errors of `end_session`.
    EndSessionErrors: 400, 401, 404, 429
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
    async fn me(&self, auth: BearerAuth) -> Result<UserResponse, Errors<CurrentUserErrors>> {
        let caller = self.backend.authenticate(auth).await?;
        let user = self.backend.current_user(caller).await?;
        Ok(UserResponse::Ok(Serialized(user)))
    }

    /// Change the email address
    ///
    /// Changes the caller's email, which must be unique as at registration. Needs the
    /// current password; a wrong one is refused with 403 and counts as a failed login.
    #[oai(path = "/me", method = "patch", operation_id = "update_current_user")]
    async fn change_email(
        &self,
        auth: BearerAuth,
        client: Data<&ClientAddress>,
        body: JsonBody<EmailChange>,
    ) -> Result<UserResponse, Errors<ChangeEmailErrors>> {
        let caller = self.backend.authenticate(auth).await?;
        let user = self.backend.change_email(*client.0, caller, body).await?;
        Ok(UserResponse::Ok(Serialized(user)))
    }

    /// Delete the account
    ///
    /// Deletes the caller's account with all of its tasks and sessions; its tokens stop
    /// working at once, on every server. Needs the current password (a wrong one is 403
    /// and counts as a failed login). The last enabled administrator cannot delete their
    /// account (409).
    #[oai(path = "/me", method = "delete", operation_id = "delete_current_user")]
    async fn delete_account(
        &self,
        auth: BearerAuth,
        client: Data<&ClientAddress>,
        body: JsonBody<AccountDeletion>,
    ) -> Result<DoneResponse, Errors<DeleteAccountErrors>> {
        let caller = self.backend.authenticate(auth).await?;
        self.backend.delete_account(*client.0, caller, body).await?;
        Ok(DoneResponse::NoContent)
    }

    /// Change the password
    ///
    /// Replaces the caller's password and ends every other session of the account; the
    /// session making the request stays. The new password follows the registration rules;
    /// a wrong current password is 403 and counts as a failed login.
    #[oai(
        path = "/me/password",
        method = "post",
        operation_id = "change_password"
    )]
    async fn change_password(
        &self,
        auth: BearerAuth,
        client: Data<&ClientAddress>,
        body: JsonBody<PasswordChange>,
    ) -> Result<DoneResponse, Errors<ChangePasswordErrors>> {
        let caller = self.backend.authenticate(auth).await?;
        self.backend
            .change_password(*client.0, caller, body)
            .await?;
        Ok(DoneResponse::NoContent)
    }

    /// List sessions
    ///
    /// The caller's live sessions, newest first, one bounded page at a time; the one making
    /// the request has `current: true`.
    #[oai(path = "/me/sessions", method = "get", operation_id = "list_sessions")]
    async fn list_sessions(
        &self,
        auth: BearerAuth,
        /// How many sessions the page holds.
        #[oai(default)]
        limit: Query<PageLimit>,
        /// The previous page's `next_cursor` (only cursors this API issued); omit for page one.
        cursor: Query<Option<Cursor>>,
    ) -> Result<SessionPageResponse, Errors<ListSessionsErrors>> {
        let caller = self.backend.authenticate(auth).await?;
        let page = self
            .backend
            .list_sessions(caller, limit.0, cursor.0)
            .await?;
        Ok(SessionPageResponse::Ok(Json(page)))
    }

    /// End a session
    ///
    /// Ends one of the caller's sessions (the current one too): its refresh token and
    /// access tokens stop working on every server at once. Another user's session is
    /// reported exactly like a missing one (404).
    #[oai(
        path = "/me/sessions/:session_id",
        method = "delete",
        operation_id = "end_session"
    )]
    async fn end_session(
        &self,
        auth: BearerAuth,
        session_id: Path<Uuid>,
    ) -> Result<DoneResponse, Errors<EndSessionErrors>> {
        let caller = self.backend.authenticate(auth).await?;
        self.backend.end_session(caller, session_id.0).await?;
        Ok(DoneResponse::NoContent)
    }
}
