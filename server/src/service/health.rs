//! Whether this server can serve.

use super::Failure;
use crate::store::{Database, migrations};

#[derive(Debug, thiserror::Error)]
pub enum NotReady {
    #[error("the database schema is behind this server's migrations")]
    SchemaBehind,
    #[error(transparent)]
    Failed(#[from] Failure),
}

#[derive(Clone)]
pub struct HealthService {
    db: Database,
}

impl HealthService {
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    /// Ready when the database answers and has every migration this server carries.
    pub async fn ready(&self) -> Result<(), NotReady> {
        match migrations::up_to_date(&mut *self.db.acquire().await?).await? {
            true => Ok(()),
            false => Err(NotReady::SchemaBehind),
        }
    }
}
