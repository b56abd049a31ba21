//! Business rules, one service per resource. Services take domain values, decide where a
//! transaction begins and ends, and return domain results or an error that says what went
//! wrong in the domain; failures beneath the domain travel inside those errors as
//! [`Failure`].

pub mod auth;
pub mod health;
pub mod limits;
pub mod tasks;
pub mod users;

use sqlx::PgPool;

pub use crate::failure::Failure;
use crate::security::{PasswordHasher, TokenIssuer};

/// Every service, sharing one pool.
pub struct Services {
    pub auth: auth::AuthService,
    pub health: health::HealthService,
    pub users: users::UserService,
    pub tasks: tasks::TaskService,
}

impl Services {
    pub fn new(
        pool: PgPool,
        hasher: PasswordHasher,
        tokens: TokenIssuer,
        limits: limits::RateLimits,
    ) -> Self {
        Self {
            auth: auth::AuthService::new(pool.clone(), hasher, tokens, limits),
            health: health::HealthService::new(pool.clone()),
            users: users::UserService::new(pool.clone()),
            tasks: tasks::TaskService::new(pool),
        }
    }
}
