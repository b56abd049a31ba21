//! Persistence: every SQL statement of the service lives in this module's resource files,
//! built with sea-query and run with sqlx. Values are always bound, never inlined.
//!
//! Store functions take any executor (the pool, or `&mut *transaction`), so a service
//! decides where a transaction begins and ends; the store never does.

pub mod idempotency;
pub mod migrations;
pub mod rate_limits;
pub mod revocations;
pub mod sessions;
pub mod tags;
pub mod tasks;
pub mod users;

use std::{str::FromStr, time::Duration};

use sea_query::{Expr, ExprTrait, IntoColumnRef, IntoTableRef, PostgresQueryBuilder, Query};
use sea_query_sqlx::{SqlxBinder, SqlxValues};
use sqlx::{
    AssertSqlSafe, PgExecutor, PgPool, Postgres, Transaction,
    pool::PoolConnection,
    postgres::{PgConnectOptions, PgPoolOptions},
};

use crate::{config::DatabaseSettings, failure::Failure};

/// The pool the services take connections from. A connection that cannot be had in time
/// is told apart here: with every connection open and in use the server is busy; with
/// fewer open, the database could not be reached.
#[derive(Debug, Clone)]
pub struct Database {
    pool: PgPool,
}

impl Database {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// A connection for one statement or several; back to the pool when dropped.
    pub async fn acquire(&self) -> Result<PoolConnection<Postgres>, Failure> {
        self.pool
            .acquire()
            .await
            .map_err(|error| self.failure(error))
    }

    /// A transaction; rolled back unless committed.
    pub async fn begin(&self) -> Result<Transaction<'static, Postgres>, Failure> {
        self.pool.begin().await.map_err(|error| self.failure(error))
    }

    fn failure(&self, error: sqlx::Error) -> Failure {
        let all_in_use = self.pool.size() >= self.pool.options().get_max_connections()
            && self.pool.num_idle() == 0;
        match error {
            sqlx::Error::PoolTimedOut if all_in_use => {
                Failure::Busy("every database connection stayed in use")
            }
            // No statement of the request has run: whatever refused the connection (a
            // database not accepting connections, a refused login, a broken socket), the
            // database is not available to it.
            other => Failure::Unavailable(other),
        }
    }
}

/// The pool requests use, opened lazily (connections are made on first use; start-up
/// checks the database once, see `startup`). Every session bounds how long one
/// statement may run and wait for a lock, so one slow table cannot hold up every request.
pub fn connect(settings: &DatabaseSettings) -> Result<PgPool, sqlx::Error> {
    let options = PgConnectOptions::from_str(&settings.database_url)?.options([
        (
            "statement_timeout",
            format!("{}ms", settings.db_statement_timeout_ms),
        ),
        ("lock_timeout", format!("{}ms", settings.db_lock_timeout_ms)),
    ]);
    Ok(PgPoolOptions::new()
        .max_connections(settings.db_max_connections)
        .acquire_timeout(Duration::from_millis(settings.db_acquire_timeout_ms))
        .connect_lazy_with(options))
}

/// `database_url` without its password, for messages.
pub fn describe_url(database_url: &str) -> String {
    PgConnectOptions::from_str(database_url).map_or_else(
        |_| "an unparsable DATABASE_URL".to_owned(),
        |options| {
            format!(
                "{}:{}/{} as role {}",
                options.get_host(),
                options.get_port(),
                options.get_database().unwrap_or("(default)"),
                options.get_username()
            )
        },
    )
}

/// The name the revocation listener's connection gives itself (`application_name`), so an
/// operator can tell it apart in `pg_stat_activity`.
pub const LISTENER_APPLICATION_NAME: &str = "taskapi-revocations";

/// A pool of one connection for the revocation listener, which holds it for as long as it
/// listens; request connections are not taken from the pool requests use.
pub fn connect_for_listening(settings: &DatabaseSettings) -> Result<PgPool, sqlx::Error> {
    let options = PgConnectOptions::from_str(&settings.database_url)?
        .application_name(LISTENER_APPLICATION_NAME);
    Ok(PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_millis(settings.db_acquire_timeout_ms))
        .connect_lazy_with(options))
}

/// A small pool for migrations, whose statements (an index on a large table, say) may run
/// longer than any request's.
pub fn connect_for_migrations(settings: &DatabaseSettings) -> Result<PgPool, sqlx::Error> {
    Ok(PgPoolOptions::new()
        .max_connections(1)
        .connect_lazy_with(PgConnectOptions::from_str(&settings.database_url)?))
}

/// Renders a sea-query statement for PostgreSQL with its values bound separately.
fn build(statement: &impl SqlxBinder) -> (AssertSqlSafe<String>, SqlxValues) {
    let (sql, values) = statement.build_sqlx(PostgresQueryBuilder);
    // sea-query emits placeholders for every value; nothing user-supplied is in `sql`.
    (AssertSqlSafe(sql), values)
}

/// Runs a statement that returns no rows; how many rows it changed.
async fn execute(db: impl PgExecutor<'_>, statement: &impl SqlxBinder) -> Result<u64, Failure> {
    let (sql, values) = build(statement);
    Ok(sqlx::query_with(sql, values)
        .execute(db)
        .await?
        .rows_affected())
}

/// Deletes the rows of `table` whose time in `column` has passed; how many it deleted.
async fn delete_expired(
    db: impl PgExecutor<'_>,
    table: impl IntoTableRef,
    column: impl IntoColumnRef,
) -> Result<u64, Failure> {
    let statement = Query::delete()
        .from_table(table)
        .and_where(Expr::col(column).lte(Expr::current_timestamp()))
        .to_owned();
    execute(db, &statement).await
}

/// The name of the constraint a unique violation broke, if that is what `error` is.
fn violated_unique_constraint(error: &sqlx::Error) -> Option<&str> {
    let database_error = error.as_database_error()?;
    database_error
        .is_unique_violation()
        .then(|| database_error.constraint())
        .flatten()
}
