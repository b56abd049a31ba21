//! Business rules, one service per resource. Services take domain values, decide where a
//! transaction begins and ends, and return domain results or an error that says what went
//! wrong in the domain; failures beneath the domain travel inside those errors as
//! [`Failure`].

pub mod admin;
pub mod auth;
pub mod health;
pub mod limits;
pub mod passwords;
pub mod revocations;
pub mod tags;
pub mod tasks;
pub mod users;

use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};

pub use crate::failure::Failure;
use crate::{
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

/// Every service, sharing one database pool and one revocation set.
pub struct Services {
    pub auth: auth::AuthService,
    pub admin: admin::AdminService,
    pub health: health::HealthService,
    pub users: users::UserService,
    pub tasks: tasks::TaskService,
    pub tags: tags::TagService,
}

impl Services {
    pub fn new(
        db: Database,
        hasher: PasswordHasher,
        tokens: TokenIssuer,
        limits: limits::RateLimits,
        sessions: auth::SessionPolicy,
        revocations: revocations::RevocationSet,
        tasks: tasks::TaskPolicy,
    ) -> Self {
        let passwords = passwords::Passwords::new(hasher, limits.clone());
        let revoker = revocations::Revoker::new(revocations.clone(), tokens.acceptance_window());
        Self {
            auth: auth::AuthService {
                db: db.clone(),
                passwords: passwords.clone(),
                tokens,
                limits,
                sessions,
                revocations,
                revoker: revoker.clone(),
            },
            admin: admin::AdminService::new(db.clone(), revoker.clone()),
            health: health::HealthService::new(db.clone()),
            users: users::UserService::new(db.clone(), passwords, revoker),
            tags: tags::TagService::new(db.clone()),
            tasks: tasks::TaskService::new(db, tasks),
        }
    }
}
