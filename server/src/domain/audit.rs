//! The audit log's events: who did what security-relevant thing to which account, from
//! where and in which request.

use chrono::{DateTime, Utc};
use strum::{EnumString, IntoStaticStr, VariantArray};
use uuid::Uuid;

use super::UserId;

/// What happened. The snake_case names are the wire format and what the database stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, IntoStaticStr, EnumString, VariantArray)]
#[strum(serialize_all = "snake_case")]
pub enum AuditKind {
    AccountCreated,
    LoginSucceeded,
    /// A password login refused: a wrong password (target: the account, when one has the
    /// address), a disabled account, or an unverified address.
    LoginFailed,
    PasswordChanged,
    PasswordReset,
    EmailChangeRequested,
    EmailChanged,
    EmailVerified,
    AccessTokenCreated,
    AccessTokenDeleted,
    /// A session ended by a logout, by its owner, or by an administrator.
    SessionEnded,
    RoleChanged,
    AccountDisabled,
    AccountEnabled,
    AccountDeleted,
}

/// The id of an audit event (a UUIDv7: they sort by time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditEventId(pub Uuid);

/// One event, as recorded.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    pub id: AuditEventId,
    pub at: DateTime<Utc>,
    pub kind: AuditKind,
    /// Who acted: the caller, or `None` (an anonymous request, the command line).
    pub actor: Option<UserId>,
    /// The account acted on, if there is one.
    pub target: Option<UserId>,
    pub client_address: Option<String>,
    pub request_id: Option<String>,
    /// What else identifies the event (the token's name, the new role, the session's id).
    pub detail: Option<String>,
}

/// Which events a listing keeps: each given condition must hold.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor: Option<UserId>,
    pub target: Option<UserId>,
    /// Any of these kinds (all when empty).
    pub kinds: Vec<AuditKind>,
    /// At or after.
    pub since: Option<DateTime<Utc>>,
    /// Before.
    pub until: Option<DateTime<Utc>>,
}

/// One page of audit events, newest first.
pub type AuditEventPage = super::Page<AuditEvent>;
