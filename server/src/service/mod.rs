//! Business rules, one service per resource. Services take domain values, decide where a
//! transaction begins and ends, and return domain results or an error that says what went
//! wrong in the domain; failures beneath the domain travel inside those errors as
//! [`Failure`].

pub mod auth;
pub mod health;
pub mod limits;
pub mod tasks;
pub mod users;

pub use crate::failure::Failure;
use crate::{
    security::{PasswordHasher, TokenIssuer},
    store::Database,
};

/// Every service, sharing one database pool.
pub struct Services {
    pub auth: auth::AuthService,
    pub health: health::HealthService,
    pub users: users::UserService,
    pub tasks: tasks::TaskService,
}

impl Services {
    pub fn new(
        db: Database,
        hasher: PasswordHasher,
        tokens: TokenIssuer,
        limits: limits::RateLimits,
    ) -> Self {
        Self {
            auth: auth::AuthService::new(db.clone(), hasher, tokens, limits),
            health: health::HealthService::new(db.clone()),
            users: users::UserService::new(db.clone()),
            tasks: tasks::TaskService::new(db),
        }
    }
}
