//! `/admin`: managing every account. Only administrators may call these operations; anyone
//! else gets 403.

use chrono::{DateTime, Utc};
use poem_openapi::{Enum, Object, payload::Json};
use strum::{EnumString, IntoStaticStr, VariantArray};
use uuid::Uuid;

use crate::{
    problem::error_sets,
    text::{EmailChars, Text},
    users::{EMAIL_MAX_CHARS, Role},
};

/// An account as administrators see it.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct Account {
    pub id: Uuid,
    /// The email address as registered (trimmed).
    pub email: String,
    pub role: Role,
    /// When an administrator disabled the account; `null` while it is enabled. A disabled
    /// account cannot log in or refresh, and its tokens do not work.
    #[oai(nullable)]
    pub disabled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// What a security event was. The snake_case names are the wire format and what the
/// database stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, IntoStaticStr, EnumString, VariantArray)]
#[oai(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum AuditKind {
    /// An account was registered (or made at the command line).
    AccountCreated,
    LoginSucceeded,
    /// A password login was refused: a wrong password (`target` is the account, when one
    /// has the address), a disabled account or an unverified address (`detail` says which).
    LoginFailed,
    PasswordChanged,
    /// A password was reset with a mailed token.
    PasswordReset,
    /// An email change was asked for; it takes effect once the new address is verified.
    EmailChangeRequested,
    /// The address was respelled (the same address, other letter case).
    EmailChanged,
    /// An address was verified: the account's, or the one a change waited on, which is the
    /// account's now.
    EmailVerified,
    AccessTokenCreated,
    AccessTokenDeleted,
    /// A session ended: logged out, ended by its owner, or by an administrator.
    SessionEnded,
    /// The command line changed an account's role (`detail`: the new role).
    RoleChanged,
    AccountDisabled,
    AccountEnabled,
    AccountDeleted,
}

/// A security event of the audit log. Events are appended and never changed.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct AuditEvent {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    // No doc comment: on an enum-typed field it becomes an `allOf` some generators refuse.
    pub kind: AuditKind,
    /// Who acted: `null` for an anonymous request (a login, a reset) or the command line.
    #[oai(nullable)]
    pub actor_id: Option<Uuid>,
    /// The account acted on, if any (accounts may since have been deleted).
    #[oai(nullable)]
    pub target_id: Option<Uuid>,
    /// The client's address, as the server identified it; `null` outside a request.
    #[oai(nullable)]
    pub client_address: Option<String>,
    /// The request's `X-Request-Id`, to find its log lines; `null` outside a request.
    #[oai(nullable)]
    pub request_id: Option<String>,
    /// What else identifies the event: a session's or token's id, a token's name and
    /// scopes, a new role, an address (partly hidden), why a login failed.
    #[oai(nullable)]
    pub detail: Option<String>,
}

pages! {
    /// One page of accounts, newest first.
    AccountPage(Account);
    /// One page of audit events, newest first.
    AuditEventPage(AuditEvent);
}

examples! {
    Account => Account {
        id: Uuid::from_u128(0x0194_b2a4_0000_7000_8000_0000_0000_0001),
        email: "alice@example.com".to_owned(),
        role: Role::User,
        disabled_at: None,
        created_at: crate::EXAMPLE_TIME,
    };
    AuditEvent => AuditEvent {
        id: Uuid::from_u128(0x0194_b2a4_0000_7000_8000_0000_0000_0011),
        at: crate::EXAMPLE_TIME,
        kind: AuditKind::AccountDisabled,
        actor_id: Some(Uuid::from_u128(0x0194_b2a4_0000_7000_8000_0000_0000_0002)),
        target_id: Some(Uuid::from_u128(0x0194_b2a4_0000_7000_8000_0000_0000_0001)),
        client_address: Some("192.0.2.10".to_owned()),
        request_id: Some("5f0c6a2e-8b1d-4d7e-9a51-3c2f1e0d9b84".to_owned()),
        detail: None,
    };
}

/// The start of an email address to filter accounts by.
pub type EmailPrefix = Text<1, EMAIL_MAX_CHARS, EmailChars>;

responses! {
    /// A page of accounts.
    AccountPageResponse: 200 Ok(Json<AccountPage>);
    /// The account.
    AccountResponse: 200 Ok(Json<Account>);
    /// A page of audit events.
    AuditEventPageResponse: 200 Ok(Json<AuditEventPage>);
}

error_sets! {
    /// Errors of `admin_list_users`.
    ListAccountsErrors: 400, 401, 403, 422, 429;
    /// Errors of `admin_list_audit_events`.
    ListAuditEventsErrors: 400, 401, 403, 422, 429;
    /// Errors of the admin operations on one account that cannot break the last-admin rule.
    AccountByIdErrors: 400, 401, 403, 404, 429;
    /// Errors of disabling and deleting an account, which must leave an enabled admin.
    AccountChangeErrors: 400, 401, 403, 404, 409, 429;
}
