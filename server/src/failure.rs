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
    /// The server is alive but too busy right now: every password-hashing slot, or the rows
    /// or the time a statement needed, stayed taken; a retry soon may work.
    #[error("too busy: {0}")]
    Busy(&'static str),
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

/// SQLSTATEs of a statement that gave up waiting, or lost a race worth retrying:
/// `lock_not_available` (`lock_timeout`), `query_canceled` (`statement_timeout`),
/// `deadlock_detected` and `serialization_failure`.
const GAVE_UP_WAITING: [&str; 4] = ["55P03", "57014", "40P01", "40001"];

/// What cannot fail does not: a conversion that cannot fail is one that never fails here.
impl From<std::convert::Infallible> for Failure {
    fn from(never: std::convert::Infallible) -> Self {
        match never {}
    }
}

impl From<sqlx::Error> for Failure {
    fn from(error: sqlx::Error) -> Self {
        let code = error
            .as_database_error()
            .and_then(|database| database.code())
            .map(|code| code.into_owned());
        match error {
            _ if code
                .as_deref()
                .is_some_and(|code| GAVE_UP_WAITING.contains(&code)) =>
            {
                Self::Busy("a statement gave up waiting, or lost a race with another writer")
            }
            // The server ended the session (an administrator, a restart, a failover) or
            // the connection broke. Before a commit nothing was written; during one the
            // outcome is unknown. Either way the client is told to retry later.
            _ if code
                .as_deref()
                .is_some_and(|code| code.starts_with("57P") || code.starts_with("08")) =>
            {
                Self::Unavailable(error)
            }
            // A pool timeout is taken as unreachable here; `store::Database`, which can see
            // the pool, calls it busy when every connection was open and in use.
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                Self::Unavailable(error)
            }
            other => Self::internal("a database query failed", other),
        }
    }
}
