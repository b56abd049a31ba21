//! Whether this server can serve.

use sqlx::PgPool;

use super::Failure;
use crate::store::migrations;

#[derive(Debug, thiserror::Error)]
pub enum NotReady {
    #[error("the database schema is behind this server's migrations")]
    SchemaBehind,
    #[error(transparent)]
    Failed(#[from] Failure),
}

#[derive(Clone)]
pub struct HealthService {
    pool: PgPool,
}

impl HealthService {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// Ready when the database answers and has every migration this server carries.
    pub async fn ready(&self) -> Result<(), NotReady> {
        match migrations::up_to_date(&self.pool).await? {
            true => Ok(()),
            false => Err(NotReady::SchemaBehind),
        }
    }
}
