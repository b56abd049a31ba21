//! Persistence: every SQL statement of the service lives in this module's resource files,
//! built with sea-query and run with sqlx. Values are always bound, never inlined.
//!
//! Store functions take any executor (`&PgPool`, or `&mut *transaction`), so a service
//! decides where a transaction begins and ends; the store never does.

pub mod migrations;
pub mod tasks;
pub mod users;

use std::time::Duration;

use sea_query::PostgresQueryBuilder;
use sea_query_sqlx::{SqlxBinder, SqlxValues};
use sqlx::{AssertSqlSafe, PgPool, Postgres, Transaction, postgres::PgPoolOptions};

use crate::{config::DatabaseSettings, failure::Failure};

/// How long a request waits for a pooled connection before the database counts as
/// unavailable.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// Opens the pool lazily: connections are made on first use, so start-up does not fail
/// while the database is briefly away.
pub fn connect(settings: &DatabaseSettings) -> Result<PgPool, sqlx::Error> {
    PgPoolOptions::new()
        .max_connections(settings.db_max_connections)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_lazy(&settings.database_url)
}

/// Starts a transaction; it commits with `commit()` and rolls back when dropped.
pub async fn begin(pool: &PgPool) -> Result<Transaction<'static, Postgres>, Failure> {
    Ok(pool.begin().await?)
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
