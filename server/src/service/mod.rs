//! Business rules, one service per resource. Services take domain values, decide where a
//! transaction begins and ends, and return domain results or an error that says what went
//! wrong in the domain; failures beneath the domain travel inside those errors as
//! [`Failure`].

pub mod admin;
pub mod audit;
pub mod auth;
pub mod events;
pub mod health;
pub mod limits;
pub mod lists;
pub mod mail;
pub mod passwords;
pub mod recovery;
pub mod revocations;
pub mod sync;
pub mod tags;
pub mod tasks;
pub mod tokens;
pub mod users;

use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use sqlx::PgConnection;

pub use crate::failure::Failure;
use crate::{
    domain::{Condition, Page, PageSize, Positioned, Version},
    security::{PasswordHasher, TokenIssuer},
    store::Database,
};

/// Declares the error of the operations on one thing a caller names: there is no such
/// thing for them (another user's is not told apart), or the service failed.
macro_rules! not_found_error {
    ($(#[$doc:meta])* $name:ident: $message:literal) => {
        $(#[$doc])*
        #[derive(Debug, thiserror::Error)]
        pub enum $name {
            #[error($message)]
            NotFound,
            #[error(transparent)]
            Failed(#[from] Failure),
        }
    };
}
use not_found_error;

/// Declares an error that is one of other errors, each passed on as it is (its message
/// and its source) and converted from: its description, then `Name { Variant(Type), … }`,
/// and `failing in Variant` when a failure beneath the domain travels in that variant.
macro_rules! one_of {
    ($(#[$doc:meta])* $name:ident { $($(#[$meta:meta])* $variant:ident($inner:ty)),+ $(,)? }
     $(failing in $via:ident)?) => {
        $(#[$doc])*
        #[derive(Debug, thiserror::Error)]
        pub enum $name {
            $($(#[$meta])* #[error(transparent)] $variant(#[from] $inner),)+
        }
        $(
            impl From<Failure> for $name {
                fn from(failure: Failure) -> Self {
                    Self::$via(failure.into())
                }
            }
        )?
    };
}
use one_of;

/// `From<Inner> for Outer` through a variant of `Outer` that holds what `Inner` converts
/// into: `Outer::Variant <- Inner`, each.
macro_rules! converts_through {
    ($($outer:ident::$variant:ident <- $inner:ty),+ $(,)?) => {$(
        impl From<$inner> for $outer {
            fn from(inner: $inner) -> Self {
                Self::$variant(inner.into())
            }
        }
    )+};
}
use converts_through;

/// One page of a listing in creation order: `read` gets, on a connection of its own, the
/// rows after the page's cursor, at most the given number (the page's size and one more,
/// to tell whether another page follows).
async fn page<T: Positioned>(
    db: &Database,
    size: PageSize,
    read: impl AsyncFnOnce(&mut PgConnection, u64) -> Result<Vec<T>, Failure>,
) -> Result<Page<T>, Failure> {
    let mut connection = db.acquire().await?;
    let items = read(&mut connection, Page::<T>::lookahead(size)).await?;
    Ok(Page::from_lookahead(items, size, T::position))
}

/// The time of a change, at the microsecond precision PostgreSQL keeps.
fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// `at + duration`, saturating far in the future (a lifetime setting may be huge).
fn after(at: DateTime<Utc>, duration: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(duration)
        .ok()
        .and_then(|duration| at.checked_add_signed(duration))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Why a conditional change (to a task, to a list) was refused.
#[derive(Debug, thiserror::Error)]
pub enum Precondition {
    /// `If-Match` does not name the current version.
    #[error("changed since that version (now at {current:?})")]
    Failed { current: Version },
    /// This server requires `If-Match` on every change, and there was none.
    #[error("changes need If-Match")]
    Required,
}

/// What reading something with `If-None-Match` gives.
#[derive(Debug)]
pub enum Read<T> {
    Current(T),
    /// The client's copy is current.
    NotModified(Version),
}

impl<T> Read<T> {
    /// `current`, unless `if_none_match` names its version (weak comparison).
    pub fn of(
        current: T,
        version: impl Fn(&T) -> Version,
        if_none_match: Option<Condition>,
    ) -> Self {
        let version = version(&current);
        match if_none_match {
            Some(condition) if condition.matches_weakly(version) => Self::NotModified(version),
            _ => Self::Current(current),
        }
    }
}

/// Whether this server requires every change to name the version it replaces.
#[derive(Debug, Clone, Copy)]
pub struct Preconditions {
    pub required: bool,
}

impl Preconditions {
    /// The condition a change was sent with, unless this server requires one and it has
    /// none.
    pub fn of(self, if_match: Option<Condition>) -> Result<Option<Condition>, Precondition> {
        match if_match {
            None if self.required => Err(Precondition::Required),
            condition => Ok(condition),
        }
    }
}

/// Refuses a change whose `If-Match` does not name `current` (strong comparison).
fn check(if_match: Option<&Condition>, current: Version) -> Result<(), Precondition> {
    match if_match {
        Some(condition) if !condition.matches_strongly(current) => {
            Err(Precondition::Failed { current })
        }
        _ => Ok(()),
    }
}

/// What the server's settings decide for the services.
#[derive(Debug, Clone)]
pub struct Policies {
    pub sessions: auth::SessionPolicy,
    pub tasks: tasks::TaskPolicy,
    pub lists: lists::ListPolicy,
    pub sync: sync::SyncPolicy,
    pub streams: events::StreamPolicy,
    pub mail: mail::MailPolicy,
    /// How long audit events are kept (`None`: for ever).
    pub audit_retention: Option<Duration>,
}

/// Every service, sharing one database pool and one revocation set.
pub struct Services {
    pub auth: auth::AuthService,
    pub admin: admin::AdminService,
    pub health: health::HealthService,
    pub users: users::UserService,
    pub tasks: tasks::TaskService,
    pub tags: tags::TagService,
    pub lists: lists::ListService,
    pub sync: sync::SyncService,
    pub events: events::EventService,
    pub recovery: recovery::RecoveryService,
    pub mail: mail::MailService,
    pub tokens: tokens::TokenService,
    pub audit: audit::AuditService,
}

impl Services {
    pub fn new(
        db: Database,
        hasher: PasswordHasher,
        tokens: TokenIssuer,
        limits: limits::RateLimits,
        revocations: revocations::RevocationSet,
        mailer: crate::mail::Mailer,
        policies: Policies,
    ) -> Self {
        let Policies {
            sessions,
            tasks,
            lists,
            sync,
            streams,
            mail,
            audit_retention,
        } = policies;
        let max_access_tokens = sessions.max_access_tokens_per_user;
        let outbox = mail::Outbox::default();
        let passwords = passwords::Passwords::new(hasher, limits.clone());
        let seal = tokens.seal();
        let revoker = revocations::Revoker::new(revocations.clone(), tokens.acceptance_window());
        Self {
            lists: lists::ListService::new(db.clone(), lists, limits.clone()),
            recovery: recovery::RecoveryService::new(
                db.clone(),
                passwords.clone(),
                limits.clone(),
                revoker.clone(),
                outbox.clone(),
            ),
            mail: mail::MailService::new(db.clone(), mailer, mail, outbox.clone()),
            auth: auth::AuthService {
                db: db.clone(),
                passwords: passwords.clone(),
                tokens,
                limits,
                sessions,
                revocations: revocations.clone(),
                revoker: revoker.clone(),
                outbox: outbox.clone(),
            },
            admin: admin::AdminService::new(db.clone(), revoker.clone()),
            audit: audit::AuditService::new(db.clone(), audit_retention),
            tokens: tokens::TokenService::new(db.clone(), revoker.clone(), max_access_tokens),
            health: health::HealthService::new(db.clone()),
            users: users::UserService::new(db.clone(), passwords, revoker, outbox),
            tags: tags::TagService::new(db.clone()),
            events: events::EventService::new(
                db.clone(),
                sync::SyncService::new(db.clone(), sync, seal.clone()),
                events::Streams::new(streams),
                revocations,
            ),
            sync: sync::SyncService::new(db.clone(), sync, seal),
            tasks: tasks::TaskService::new(db, tasks),
        }
    }
}
