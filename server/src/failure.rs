//! [`Failure`]: what can go wrong beneath the domain, sorted by what a client can do about it.
//!
//! The store and the password hasher return it; services pass it on inside their own
//! errors; the HTTP layer turns it into 503 (retry later) or 500 (logged, nothing to do).

use std::error::Error;

#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The database cannot be reached right now; retrying later may work.
    #[error("the database is unavailable")]
    Unavailable(#[source] sqlx::Error),
    /// Every password-hashing slot stayed busy; retrying later may work.
    #[error("all password-hashing slots stayed busy")]
    Busy,
    /// A bug or a broken invariant; the cause belongs in the log.
    #[error("{context}")]
    Internal {
        context: &'static str,
        #[source]
        source: Box<dyn Error + Send + Sync>,
    },
}

impl Failure {
    pub fn internal(
        context: &'static str,
        source: impl Into<Box<dyn Error + Send + Sync>>,
    ) -> Self {
        Self::Internal {
            context,
            source: source.into(),
        }
    }
}

impl From<sqlx::Error> for Failure {
    fn from(error: sqlx::Error) -> Self {
        match error {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                Self::Unavailable(error)
            }
            other => Self::internal("a database query failed", other),
        }
    }
}
