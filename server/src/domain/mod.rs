//! Domain values. Each is parsed once at the boundary and trusted afterwards: a value of
//! these types is valid by construction.

/// Declares secrets a client holds and presents back (opaque tokens): each is a string
/// whose `Debug` never shows it, made from the text presented (or generated).
macro_rules! secret_tokens {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name(secrecy::SecretString);

        impl $name {
            /// A token a client presented, not yet checked.
            pub fn presented(token: String) -> Self {
                Self(token.into())
            }

            pub fn expose(&self) -> &str {
                secrecy::ExposeSecret::expose_secret(&self.0)
            }
        }

        impl From<String> for $name {
            fn from(token: String) -> Self {
                Self::presented(token)
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}(<redacted>)", stringify!($name))
            }
        }
    )*};
}
use secret_tokens;

mod access;
mod account;
mod audit;
mod email;
mod etag;
mod idempotency;
mod list;
mod listing;
mod page;
mod password;
mod session;
mod sync;
mod tag;
mod task;
mod user;

pub use access::{
    ACCESS_TOKEN_PREFIX, AccessToken, AccessTokenDraft, AccessTokenId, AccessTokenPage, Credential,
    Needs, PersonalToken, Scope, Scopes, TokenName,
};
pub use account::{AccountToken, PasswordReset, TokenPurpose};
pub use audit::{AuditEvent, AuditEventId, AuditEventPage, AuditFilter, AuditKind};
pub use email::Email;
pub use etag::{Condition, EntityTag, Version};
pub use idempotency::IdempotencyKey;
pub use list::{
    Invitation, InvitationId, InvitationPage, List, ListDescription, ListDraft, ListEdit, ListId,
    ListName, ListPage, ListRole, Member, MemberPage, RoleNeeded, SharedRole,
};
pub use listing::{
    Assignee, SearchTerms, SortField, SortValue, TaskCursor, TaskFilter, TaskListing, TaskOrder,
    TaskPosition,
};
pub use page::{CursorText, Page, PageCursor, PageSize, Positioned};
pub use password::{Password, normalized as normalized_password};
pub use session::{RefreshToken, Session, SessionId, SessionOrigin, SessionPage};
pub use sync::{
    Change, ChangePosition, FOREIGN_TOKEN, ItemPosition, Snapshot, SyncPage, SyncState, SyncToken,
};
pub use tag::{TagCursor, TagKey, TagName, TagPage, TagSet, TagUse};
pub use task::{
    DueAt, Placement, Task, TaskChange, TaskDescription, TaskDraft, TaskEdit, TaskId, TaskPage,
    TaskPriority, TaskStatus, TaskTitle, completed_at,
};
pub use user::{
    Admin, Caller, Credentials, DeletionConfirmation, Grant, NewEmail, NewPassword, NotAdmin,
    Registration, Role, User, UserId,
};

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Utc};

/// Why the fields of one request are invalid: field name → what is wrong with it.
#[derive(Debug, Default, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid fields: {0:?}")]
pub struct FieldErrors(BTreeMap<String, Vec<String>>);

impl FieldErrors {
    /// Parses one field, recording its error and returning `None` when it is invalid.
    pub fn check<T>(&mut self, field: &str, parsed: Result<T, String>) -> Option<T> {
        parsed.map_err(|message| self.add(field, message)).ok()
    }

    /// Parses an optional field: `Some(None)` when absent, `None` when present and invalid.
    pub fn check_optional<R, T>(
        &mut self,
        field: &str,
        raw: Option<R>,
        parse: impl FnOnce(R) -> Result<T, String>,
    ) -> Option<Option<T>> {
        match raw {
            Some(raw) => self.check(field, parse(raw)).map(Some),
            None => Some(None),
        }
    }

    pub fn into_inner(self) -> BTreeMap<String, Vec<String>> {
        self.0
    }

    pub fn single(field: &str, message: impl Into<String>) -> Self {
        let mut errors = Self::default();
        errors.add(field, message);
        errors
    }

    /// Adds `message` to `field`'s, once: two rules finding the same fault (a length and a
    /// pattern both saying "must not be empty") say it once.
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        let messages = self.0.entry(field.to_owned()).or_default();
        let message = message.into();
        if !messages.contains(&message) {
            messages.push(message);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Text a person typed, such as a title: trimmed, and not empty once trimmed. (Its length
/// and characters are the contract's to bound: the schema of its request states them.)
fn trimmed(raw: &str) -> Result<&str, String> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(too_short(1));
    }
    Ok(text)
}

/// Text shorter than `min_chars` characters: the wording of the rule whichever check finds
/// the problem, the schema of a request or the domain once the text is trimmed.
pub fn too_short(min_chars: usize) -> String {
    match min_chars {
        1 => "must not be empty".to_owned(),
        min => format!("must be at least {min} characters"),
    }
}

/// A field a change gives a new value, or keeps: `current`'s when `changed` is `None`.
fn or_current<T: Clone>(changed: Option<T>, current: &T) -> T {
    changed.unwrap_or_else(|| current.clone())
}

/// What a cursor that does not decode is told: whatever is wrong with it, the API did not
/// issue it.
pub const FOREIGN_CURSOR: &str = "is not a cursor this API returned";

/// `at`, if PostgreSQL and every client can represent it: between the years 1 and 9999.
pub fn within_four_digit_years(at: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    if (1..=9999).contains(&at.year()) {
        Ok(at)
    } else {
        Err("must be between the years 1 and 9999".to_owned())
    }
}
