//! Persistence: every SQL statement of the service lives in this module's resource files,
//! built with sea-query and run with sqlx. Values are always bound, never inlined.
//!
//! Store functions take any executor (the pool, or `&mut *transaction`), so a service
//! decides where a transaction begins and ends; the store never does.

pub mod access_tokens;
pub mod account_tokens;
pub mod audit;
pub mod idempotency;
pub mod invitations;
pub mod lists;
pub mod mail;
pub mod migrations;
pub mod rate_limits;
pub mod revocations;
pub mod sessions;
pub mod sync;
pub mod tags;
pub mod tasks;
pub mod users;

use std::{
    ops::{Deref, DerefMut},
    str::FromStr,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use sea_query::{
    Expr, ExprTrait, InsertStatement, IntoColumnRef, IntoCondition, IntoIden, IntoTableRef, Order,
    PostgresQueryBuilder, Query, QueryBuilder, QueryStatementWriter, SelectStatement, SqlWriter,
    Value, Values,
};
use sea_query_sqlx::SqlxValues;
use sqlx::{
    AssertSqlSafe, Connection as _, FromRow, PgConnection, PgExecutor, PgPool, Postgres,
    pool::PoolConnection,
    postgres::{PgConnectOptions, PgPoolOptions, PgRow},
    query::{Query as SqlxQuery, QueryAs, QueryScalar},
};

use tokio::{sync::Notify, time::Instant};
use tracing::Instrument;

use crate::{domain::PageCursor, failure::Failure, telemetry::metrics};

/// The pool the services take connections from. A connection that cannot be had in time
/// is told apart here: with every connection open and in use the server is busy; with
/// fewer open, the database could not be reached.
///
/// Through a transaction pooler (`TASKAPI_DB_STATEMENT_CACHE=0`) every connection handed
/// out is a transaction, begun with the request pool's timeouts: sqlx prepares a statement
/// and runs it in two round trips, and only inside a transaction does a transaction pooler
/// keep both on one server connection.
#[derive(Debug, Clone)]
pub struct Database {
    pool: PgPool,
    /// `BEGIN` with the session settings a pooler cannot carry, when behind one.
    pooled_begin: Option<String>,
    /// Told of every commit (see [`Database::commits`]).
    committed: Arc<Notify>,
}

impl Database {
    pub fn new(pool: PgPool, settings: &PoolSettings) -> Self {
        let pooled_begin = settings.through_transaction_pooler().then(|| {
            format!(
                "BEGIN; SET LOCAL statement_timeout = {}; SET LOCAL lock_timeout = {}; \
                 SET LOCAL jit = off",
                settings.statement_timeout.as_millis(),
                settings.lock_timeout.as_millis()
            )
        });
        Self {
            pool,
            pooled_begin,
            committed: Arc::default(),
        }
    }

    /// What is told after a [`Transaction`] commits (one stored wake-up for any number of
    /// commits): what announces the change feed's writes to the event streams waits on it.
    pub fn commits(&self) -> Arc<Notify> {
        Arc::clone(&self.committed)
    }

    /// A connection for one statement or several that need no transaction of their own;
    /// back to the pool when dropped. [`Connection::release`] ends it; a writer must call
    /// it, since behind a transaction pooler dropping it undoes the writes.
    pub async fn acquire(&self) -> Result<Connection, Failure> {
        if self.pooled_begin.is_some() {
            return Ok(Connection::InTransaction(self.transaction().await?));
        }
        let connection = self.waited(self.pool.acquire()).await;
        Ok(Connection::Pooled(
            connection.map_err(|error| self.failure(error))?,
        ))
    }

    /// A transaction; rolled back unless committed.
    pub async fn begin(&self) -> Result<Transaction, Failure> {
        Ok(Transaction(
            Some(self.transaction().await?),
            Arc::clone(&self.committed),
        ))
    }

    async fn transaction(&self) -> Result<sqlx::Transaction<'static, Postgres>, Failure> {
        let transaction = match &self.pooled_begin {
            Some(begin) => {
                self.waited(self.pool.begin_with(AssertSqlSafe(begin.clone())))
                    .await
            }
            None => self.waited(self.pool.begin()).await,
        };
        transaction.map_err(|error| self.failure(error))
    }

    /// Waits for a connection (and, for a transaction, its `BEGIN`), timed in the metrics
    /// and traced as a span of its own.
    async fn waited<T>(
        &self,
        connection: impl Future<Output = sqlx::Result<T>>,
    ) -> sqlx::Result<T> {
        let started = Instant::now();
        let connection = connection
            .instrument(tracing::debug_span!("db.connection.wait"))
            .await;
        metrics::pool_waited(started.elapsed());
        connection
    }

    /// The request pool's gauges as they stand (read when the metrics are scraped).
    pub fn observe_pool(&self) {
        metrics::pool(
            self.pool.size(),
            self.pool.num_idle(),
            self.pool.options().get_max_connections(),
        );
    }

    fn failure(&self, error: sqlx::Error) -> Failure {
        let all_in_use = self.pool.size() >= self.pool.options().get_max_connections()
            && self.pool.num_idle() == 0;
        if matches!(error, sqlx::Error::PoolTimedOut) {
            metrics::pool_timed_out();
        }
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

/// A transaction from [`Database::begin`]: rolled back when dropped uncommitted, which
/// the metrics count.
pub struct Transaction(Option<sqlx::Transaction<'static, Postgres>>, Arc<Notify>);

impl Transaction {
    /// Commits, and gives back `result`: what the transaction made.
    pub async fn finish<T>(self, result: T) -> Result<T, Failure> {
        self.commit().await?;
        Ok(result)
    }

    pub async fn commit(mut self) -> Result<(), sqlx::Error> {
        let Some(transaction) = self.0.take() else {
            return Ok(());
        };
        transaction.commit().await?;
        self.1.notify_one();
        Ok(())
    }
}

impl Drop for Transaction {
    fn drop(&mut self) {
        if self.0.is_some() {
            metrics::rolled_back();
        }
    }
}

impl Deref for Transaction {
    type Target = PgConnection;

    fn deref(&self) -> &PgConnection {
        // Only `commit` and `drop` take the transaction out, and both consume it.
        self.0.as_deref().expect("a transaction until committed")
    }
}

impl DerefMut for Transaction {
    fn deref_mut(&mut self) -> &mut PgConnection {
        // As in `deref`.
        self.0
            .as_deref_mut()
            .expect("a transaction until committed")
    }
}

/// A connection from [`Database::acquire`]: a pooled connection, or behind a transaction
/// pooler a transaction of its own. Either way the metrics count no rollback for it: its
/// statements are single ones, committed one by one when it is a pooled connection.
pub enum Connection {
    Pooled(PoolConnection<Postgres>),
    InTransaction(sqlx::Transaction<'static, Postgres>),
}

impl Connection {
    /// Done with the connection: commits what it wrote when it is a transaction.
    pub async fn release(self) -> Result<(), Failure> {
        match self {
            Self::Pooled(_) => Ok(()),
            Self::InTransaction(transaction) => Ok(transaction.commit().await?),
        }
    }
}

impl Deref for Connection {
    type Target = PgConnection;

    fn deref(&self) -> &PgConnection {
        match self {
            Self::Pooled(connection) => connection,
            Self::InTransaction(transaction) => transaction,
        }
    }
}

impl DerefMut for Connection {
    fn deref_mut(&mut self) -> &mut PgConnection {
        match self {
            Self::Pooled(connection) => connection,
            Self::InTransaction(transaction) => transaction,
        }
    }
}

/// How the request pool reaches PostgreSQL, and the bounds on its sessions.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    /// PostgreSQL, or a transaction pooler in front of it.
    pub url: String,
    pub max_connections: u32,
    /// Longest a request waits for a connection.
    pub acquire_timeout: Duration,
    /// Longest one statement may run (`statement_timeout`).
    pub statement_timeout: Duration,
    /// Longest a statement waits for a row or table lock (`lock_timeout`).
    pub lock_timeout: Duration,
    /// Prepared statements each connection keeps; `0` says `url` is a transaction pooler.
    pub statement_cache: usize,
}

impl PoolSettings {
    fn through_transaction_pooler(&self) -> bool {
        self.statement_cache == 0
    }
}

/// Whether statements are prepared once per connection under a name and cached (the
/// default), or prepared unnamed each time, as a transaction pooler needs. Unnamed once
/// any pool of the process is behind a pooler: that is always correct, only slower.
static NAMED_STATEMENTS: AtomicBool = AtomicBool::new(true);

/// The pool requests use, opened lazily (connections are made on first use; start-up
/// checks the database once, see `startup`). Every session bounds how long one
/// statement may run and wait for a lock, so one slow table cannot hold up every request,
/// and turns JIT compilation off: it pays off for long analytical queries, never for
/// the short statements a request runs, yet a plan estimated costly (as before
/// statistics are gathered) spends hundreds of milliseconds compiling one.
/// Behind a transaction pooler, which passes no session options on, each transaction
/// sets them instead (see [`Database`]).
pub fn connect(settings: &PoolSettings) -> Result<PgPool, sqlx::Error> {
    let options = PgConnectOptions::from_str(&settings.url)?
        .statement_cache_capacity(settings.statement_cache);
    let options = if settings.through_transaction_pooler() {
        NAMED_STATEMENTS.store(false, Ordering::Relaxed);
        // PgBouncer refuses start-up parameters it does not know.
        options.extra_float_digits(None)
    } else {
        options.options([
            (
                "statement_timeout",
                format!("{}ms", settings.statement_timeout.as_millis()),
            ),
            (
                "lock_timeout",
                format!("{}ms", settings.lock_timeout.as_millis()),
            ),
            ("jit", "off".to_owned()),
        ])
    };
    Ok(PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .acquire_timeout(settings.acquire_timeout)
        // sqlx would ping every connection it hands out: a round trip per request. It also
        // pings each one it takes back, so a connection in use a moment ago is known to
        // work; only one idle for a while is checked before use.
        .test_before_acquire(false)
        .before_acquire(|connection, metadata| {
            Box::pin(async move {
                if metadata.idle_for >= CHECK_IDLE_AFTER {
                    connection.ping().await?;
                }
                Ok(true)
            })
        })
        .connect_lazy_with(options))
}

/// How long a pooled connection may sit idle and still be handed out unchecked. A
/// connection the database ended within that time (a restart, a terminated backend) fails
/// the one request that gets it, with 503 `unavailable`, and is closed.
pub const CHECK_IDLE_AFTER: Duration = Duration::from_secs(1);

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

/// A pool of one connection to PostgreSQL itself (`url`, never a transaction pooler) for
/// the revocation listener, which holds it for as long as it listens; request connections
/// are not taken from the pool requests use.
pub fn connect_for_listening(url: &str, acquire_timeout: Duration) -> Result<PgPool, sqlx::Error> {
    let options = PgConnectOptions::from_str(url)?.application_name(LISTENER_APPLICATION_NAME);
    Ok(PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(acquire_timeout)
        .connect_lazy_with(options))
}

/// A small pool on PostgreSQL itself (`url`) for migrations, whose statements (an index on
/// a large table, say) may run longer than any request's.
pub fn connect_for_migrations(url: &str) -> Result<PgPool, sqlx::Error> {
    Ok(PgPoolOptions::new()
        .max_connections(1)
        .connect_lazy_with(PgConnectOptions::from_str(url)?))
}

/// Renders a sea-query statement for PostgreSQL with its values bound separately.
/// The text of a statement and its values to bind. Every value is bound (sea-query emits
/// a placeholder for it) except `LIMIT` and `OFFSET`, which are written into the text: a
/// prepared statement's generic plan then knows them, where it would estimate a bound
/// `LIMIT` at a tenth of the rows and plan for that, or PostgreSQL would keep planning
/// it anew for each request (a merge of many lists took milliseconds to plan). Page sizes
/// are few, so few more statements are prepared. Public so that the benchmark explains
/// statements exactly as they run.
pub fn build(statement: &impl QueryStatementWriter) -> (AssertSqlSafe<String>, SqlxValues) {
    let mut writer = LimitsInline::default();
    statement.build_collect_into(PostgresQueryBuilder, &mut writer);
    // Nothing user-supplied is in the text: the numbers written in are `u64`s.
    (AssertSqlSafe(writer.sql), SqlxValues(Values(writer.values)))
}

/// Collects a statement as [`build`] writes it: `$n` for each value, but unsigned integers
/// (sea-query's type for `LIMIT` and `OFFSET`, and only theirs here) written in.
#[derive(Default)]
struct LimitsInline {
    sql: String,
    values: Vec<Value>,
}

impl std::fmt::Write for LimitsInline {
    fn write_str(&mut self, text: &str) -> std::fmt::Result {
        self.sql.write_str(text)
    }
}

impl std::fmt::Display for LimitsInline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.sql)
    }
}

impl SqlWriter for LimitsInline {
    fn push_param<T: QueryBuilder>(&mut self, value: Value, _: &T) {
        use std::fmt::Write as _;
        match value {
            Value::BigUnsigned(Some(number)) => write!(self.sql, "{number}"),
            value => {
                self.values.push(value);
                write!(self.sql, "${}", self.values.len())
            }
        }
        .expect("writing to a String cannot fail");
    }

    fn as_writer(&mut self) -> &mut dyn std::fmt::Write {
        self
    }
}

/// A statement ready to run; prepared as [`NAMED_STATEMENTS`] says.
fn query(statement: &impl QueryStatementWriter) -> SqlxQuery<'static, Postgres, SqlxValues> {
    let (sql, values) = build(statement);
    sqlx::query_with(sql, values).persistent(NAMED_STATEMENTS.load(Ordering::Relaxed))
}

/// A statement whose rows are read as `T`.
fn query_as<T>(statement: &impl QueryStatementWriter) -> QueryAs<'static, Postgres, T, SqlxValues>
where
    T: for<'r> FromRow<'r, PgRow>,
{
    let (sql, values) = build(statement);
    sqlx::query_as_with(sql, values).persistent(NAMED_STATEMENTS.load(Ordering::Relaxed))
}

/// A statement whose rows are one column, read as `T`.
fn query_scalar<T>(
    statement: &impl QueryStatementWriter,
) -> QueryScalar<'static, Postgres, T, SqlxValues>
where
    (T,): for<'r> FromRow<'r, PgRow>,
{
    let (sql, values) = build(statement);
    sqlx::query_scalar_with(sql, values).persistent(NAMED_STATEMENTS.load(Ordering::Relaxed))
}

/// Runs a statement of the store operation `operation` (`tasks.insert`: the store module
/// and function): timed in `db_client_operation_duration_seconds`, and traced as a span
/// with the database's semantic-convention attributes.
async fn timed<T>(
    operation: &'static str,
    statement: impl Future<Output = sqlx::Result<T>>,
) -> sqlx::Result<T> {
    let span = tracing::debug_span!(
        "db.statement",
        otel.name = operation,
        otel.kind = "client",
        db.system = "postgresql",
        db.operation = operation,
    );
    let started = Instant::now();
    let result = statement.instrument(span).await;
    metrics::store_operation(operation, started.elapsed());
    result
}

/// Runs a statement that yields at most one row, read as `Row` and checked into `T`.
async fn fetch_optional<Row, T>(
    operation: &'static str,
    db: impl Db<'_>,
    statement: &impl QueryStatementWriter,
) -> Result<Option<T>, Failure>
where
    Row: for<'r> FromRow<'r, PgRow> + Send + Unpin,
    T: TryFrom<Row, Error = Failure>,
{
    let row: Option<Row> = timed(operation, query_as(statement).fetch_optional(db)).await?;
    row.map(T::try_from).transpose()
}

/// One page of `statement`'s rows, newest first by `order` (its `created_at` and `id`
/// columns), the `limit` of them after `after`, each read as `Row` and made a `T`.
async fn fetch_page<Row, T, Column>(
    operation: &'static str,
    db: impl Db<'_>,
    mut statement: SelectStatement,
    order: (Column, Column),
    (after, limit): (Option<PageCursor>, u64),
) -> Result<Vec<T>, Failure>
where
    Row: for<'r> FromRow<'r, PgRow> + Send + Unpin,
    T: TryFrom<Row>,
    Failure: From<T::Error>,
    Column: IntoColumnRef + Copy,
{
    page_newest_first(&mut statement, order, after, limit);
    let rows: Vec<Row> = timed(operation, query_as(&statement).fetch_all(db)).await?;
    Ok(rows
        .into_iter()
        .map(T::try_from)
        .collect::<Result<_, _>>()?)
}

/// What a statement runs on: the pool, a connection, or a transaction (any PostgreSQL
/// executor; the name keeps the store's signatures short).
pub trait Db<'c>: PgExecutor<'c> {}

impl<'c, T: PgExecutor<'c>> Db<'c> for T {}

/// A row that may not be there.
pub type Found<T> = Result<Option<T>, Failure>;

/// Deletes the rows of `table` that meet `condition`; how many.
async fn delete_where(
    operation: &'static str,
    db: impl Db<'_>,
    table: impl IntoTableRef,
    condition: impl IntoCondition,
) -> Result<u64, Failure> {
    let statement = Query::delete()
        .from_table(table)
        .cond_where(condition)
        .to_owned();
    execute(operation, db, &statement).await
}

/// Runs a statement that returns no rows; how many rows it changed.
async fn execute(
    operation: &'static str,
    db: impl Db<'_>,
    statement: &impl QueryStatementWriter,
) -> Result<u64, Failure> {
    Ok(timed(operation, query(statement).execute(db))
        .await?
        .rows_affected())
}

/// `INSERT INTO table` one row, each column given beside its value, so the two lists
/// cannot differ.
fn insert_row<Column: IntoIden>(
    table: impl IntoTableRef,
    row: impl IntoIterator<Item = (Column, Expr)>,
) -> InsertStatement {
    let (columns, values): (Vec<Column>, Vec<Expr>) = row.into_iter().unzip();
    Query::insert()
        .into_table(table)
        .columns(columns)
        // As many values as columns: both come from the pairs.
        .values_panic(values)
        .to_owned()
}

/// Keyset paging, newest first: orders `query` by `created_at` and then `id` (ties), both
/// descending, and keeps at most `limit` rows after `after`.
fn page_newest_first<Column: IntoColumnRef + Copy>(
    query: &mut SelectStatement,
    columns: (Column, Column),
    after: Option<PageCursor>,
    limit: u64,
) {
    page_in_creation_order(query, columns, after, limit, Order::Desc);
}

/// Keyset paging by creation: orders `query` by `created_at` and then `id` (ties), both
/// in `order`, and keeps at most `limit` rows after `after`.
fn page_in_creation_order<Column: IntoColumnRef + Copy>(
    query: &mut SelectStatement,
    (created_at, id): (Column, Column),
    after: Option<PageCursor>,
    limit: u64,
    order: Order,
) {
    query
        .apply_if(after, |query, cursor| {
            let row = Expr::tuple([Expr::col(created_at), Expr::col(id)]);
            let last = Expr::tuple([Expr::val(cursor.created_at), Expr::val(cursor.id)]);
            query.and_where(match order {
                Order::Asc => row.gt(last),
                _ => row.lt(last),
            });
        })
        .order_by(created_at, order.clone())
        .order_by(id, order)
        .limit(limit);
}

/// Deletes the rows whose time in `expiry` (a table's column) has passed; how many.
async fn delete_expired<T, C>(
    op: &'static str,
    db: impl Db<'_>,
    expiry: (T, C),
) -> Result<u64, Failure>
where
    T: IntoIden + Clone,
    C: IntoIden + Clone,
{
    let expired = Expr::col(expiry.clone()).lte(Expr::current_timestamp());
    delete_where(op, db, expiry.0, expired).await
}

/// `now() + duration`, in the database's clock, so every instance agrees.
fn from_now(duration: Duration) -> Expr {
    Expr::cust_with_values(
        "now() + make_interval(secs => $1)",
        [duration.as_secs_f64()],
    )
}

/// The name of the constraint a unique violation broke, if that is what `error` is.
fn violated_unique_constraint(error: &sqlx::Error) -> Option<&str> {
    let database_error = error.as_database_error()?;
    database_error
        .is_unique_violation()
        .then(|| database_error.constraint())
        .flatten()
}
