//! `/users/me/tokens`: personal access tokens, the credentials of scripts, CI jobs and
//! `taskctl`. A token acts for the account that made it, within the scopes it was given,
//! until it expires or is deleted. It is shown once, when it is made; the server keeps only
//! its hash.

use chrono::{DateTime, Utc};
use poem_openapi::{Enum, Object, payload::Json};
use strum::{EnumString, IntoStaticStr, VariantArray};
use uuid::Uuid;

use crate::{problem::error_sets, text::Text};

/// Longest token name, in characters.
pub const ACCESS_TOKEN_NAME_MAX_CHARS: usize = 100;

/// What an access token may do; the operations each allows list it under `security`. A
/// login session holds them all.
// The names are the wire format, the scopes' names in the spec, and what the database
// stores.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Enum, IntoStaticStr, EnumString, VariantArray,
)]
pub enum AccessTokenScope {
    /// Read tasks and tags.
    #[oai(rename = "tasks:read")]
    #[strum(serialize = "tasks:read")]
    TasksRead,
    /// Create, change, move and delete tasks; rename and delete tags.
    #[oai(rename = "tasks:write")]
    #[strum(serialize = "tasks:write")]
    TasksWrite,
    /// Read lists, their members and your invitations.
    #[oai(rename = "lists:read")]
    #[strum(serialize = "lists:read")]
    ListsRead,
    /// Create, change, share and delete lists; answer invitations.
    #[oai(rename = "lists:write")]
    #[strum(serialize = "lists:write")]
    ListsWrite,
    /// Read your account.
    #[oai(rename = "account:read")]
    #[strum(serialize = "account:read")]
    AccountRead,
}

/// A token to make.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields, example)]
pub struct AccessTokenInput {
    /// What the token is for (`CI deploys`), trimmed; names need not be unique.
    pub name: Text<1, ACCESS_TOKEN_NAME_MAX_CHARS>,
    /// At least one scope, each once.
    #[oai(validator(min_items = 1, unique_items))]
    pub scopes: Vec<AccessTokenScope>,
    /// When the token stops working; in the future. Absent: it works until deleted.
    #[oai(skip_serializing_if_is_none)]
    pub expires_at: Option<DateTime<Utc>>,
}

/// An access token, as its owner sees it: never the token itself.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct AccessToken {
    pub id: Uuid,
    pub name: String,
    pub scopes: Vec<AccessTokenScope>,
    pub created_at: DateTime<Utc>,
    /// When a request last used it (to the minute); `null` if none has.
    #[oai(nullable)]
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it stops working; `null` for never.
    #[oai(nullable)]
    pub expires_at: Option<DateTime<Utc>>,
}

/// A token just made: the token, shown this once, and what it is.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct NewAccessToken {
    /// Send as `Authorization: Bearer <token>`. It starts with `tka_`, so that secret
    /// scanners can find one that leaked. The server keeps only its hash: store it now.
    pub token: String,
    pub access_token: AccessToken,
}

pages! {
    /// One page of access tokens, newest first.
    AccessTokenPage(AccessToken);
}

examples! {
    AccessTokenInput => AccessTokenInput {
        name: Text::new("CI deploys"),
        scopes: vec![AccessTokenScope::TasksRead, AccessTokenScope::TasksWrite],
        expires_at: Some(crate::EXAMPLE_TIME + chrono::Duration::days(3650)),
    };
    AccessToken => AccessToken {
        id: Uuid::from_u128(0x0194_b2a4_0000_7000_8000_0000_0000_0009),
        name: "CI deploys".to_owned(),
        scopes: vec![AccessTokenScope::TasksRead, AccessTokenScope::TasksWrite],
        created_at: crate::EXAMPLE_TIME,
        last_used_at: Some(crate::EXAMPLE_TIME + chrono::Duration::hours(3)),
        expires_at: Some(crate::EXAMPLE_TIME + chrono::Duration::days(3650)),
    };
    NewAccessToken => NewAccessToken {
        token: "tka_Qm9vdHN0cmFwIHRva2VuIGZvciB0aGUgZXhhbXBsZQ".to_owned(),
        access_token: <AccessToken as poem_openapi::types::Example>::example(),
    };
}

responses! {
    /// The token, shown this once.
    AccessTokenCreated: 201 Created(Json<NewAccessToken>);
    /// A page of the caller's access tokens.
    AccessTokenPageResponse: 200 Ok(Json<AccessTokenPage>);
    /// The token is deleted and stops working.
    AccessTokenDeleted: 204 NoContent;
}

error_sets! {
    /// Errors of `create_access_token`.
    CreateAccessTokenErrors: 400, 401, 403, 409, 413, 415, 422, 429;
    /// Errors of `list_access_tokens`.
    ListAccessTokensErrors: 400, 401, 403, 422, 429;
    /// Errors of `delete_access_token`.
    DeleteAccessTokenErrors: 400, 401, 403, 404, 429;
}
