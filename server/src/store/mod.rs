//! Persistence: every SQL statement of the service lives in this module's resource files,
//! built with sea-query and run with sqlx. Values are always bound, never inlined.

pub mod migrations;
pub mod tasks;
pub mod users;

use std::time::Duration;

use sea_query::PostgresQueryBuilder;
use sea_query_sqlx::{SqlxBinder, SqlxValues};
use sqlx::{AssertSqlSafe, PgPool, postgres::PgPoolOptions};

use crate::config::DatabaseSettings;

/// How long a request waits for a pooled connection before the database counts as
/// unavailable.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// A database failure, split by what the caller can do about it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached right now; retrying later may work.
    #[error("the database is unavailable")]
    Unavailable(#[source] sqlx::Error),
    /// Anything else: a bug or a broken invariant.
    #[error("a database query failed")]
    Query(#[source] sqlx::Error),
    /// A stored row holds a value the domain does not accept.
    #[error("stored row is invalid: {0}")]
    Corrupt(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        match error {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                Self::Unavailable(error)
            }
            other => Self::Query(other),
        }
    }
}

/// Opens the pool lazily: connections are made on first use, so start-up does not fail
/// while the database is briefly away.
pub fn connect(settings: &DatabaseSettings) -> Result<PgPool, sqlx::Error> {
    PgPoolOptions::new()
        .max_connections(settings.db_max_connections)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_lazy(&settings.database_url)
}

/// Renders a sea-query statement for PostgreSQL with its values bound separately.
fn build(statement: &impl SqlxBinder) -> (AssertSqlSafe<String>, SqlxValues) {
    let (sql, values) = statement.build_sqlx(PostgresQueryBuilder);
    // sea-query emits placeholders for every value; nothing user-supplied is in `sql`.
    (AssertSqlSafe(sql), values)
}

/// The name of the constraint a unique violation broke, if that is what `error` is.
fn violated_unique_constraint(error: &sqlx::Error) -> Option<&str> {
    let database_error = error.as_database_error()?;
    database_error
        .is_unique_violation()
        .then(|| database_error.constraint())
        .flatten()
}
