//! SQL for `idempotency_keys`: the first response to each `Idempotency-Key`, per user,
//! until the key expires. A key is claimed with a transaction-scoped advisory lock, so a
//! request whose twin is still running is told apart without waiting for it.

use chrono::{DateTime, Utc};
use sea_query::{Expr, ExprTrait, Func, Iden, OnConflict, Query};
use sha2::{Digest, Sha256};
use sqlx::PgExecutor;

use super::{delete_expired, execute, query_as, tasks::TaskRow};
use crate::{
    domain::{IdempotencyKey, Task, UserId},
    failure::Failure,
};

#[derive(Iden)]
enum IdempotencyKeys {
    Table,
    OwnerId,
    Key,
    Fingerprint,
    Response,
    ExpiresAt,
}

/// The advisory lock that stands for the owner's key: the first 8 bytes of a SHA-256 over
/// both. Public so that a test can hold it, as a twin request in flight would.
pub fn lock_id(owner: UserId, key: &IdempotencyKey) -> i64 {
    let digest = Sha256::new()
        .chain_update(owner.0.as_bytes())
        .chain_update(key.as_str().as_bytes())
        .finalize();
    let mut first = [0; 8];
    first.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(first)
}

/// Claims the owner's key until the transaction `db` belongs to ends; `false` when another
/// transaction holds it (a request with the same key is running).
pub async fn claim(
    db: impl PgExecutor<'_>,
    owner: UserId,
    key: &IdempotencyKey,
) -> Result<bool, Failure> {
    let statement = Query::select()
        .expr(Func::cust("pg_try_advisory_xact_lock").arg(lock_id(owner, key)))
        .to_owned();
    let (claimed,): (bool,) = query_as(&statement).fetch_one(db).await?;
    Ok(claimed)
}

/// What a key that has not expired answered.
pub struct Remembered {
    /// The digest of the request it answered.
    pub fingerprint: Vec<u8>,
    /// The task, as that response showed it.
    pub task: Task,
}

/// What the owner's key answered, if it has not expired.
pub async fn find(
    db: impl PgExecutor<'_>,
    owner: UserId,
    key: &IdempotencyKey,
) -> Result<Option<Remembered>, Failure> {
    let statement = Query::select()
        .column(IdempotencyKeys::Fingerprint)
        .expr(Expr::col(IdempotencyKeys::Response).cast_as("text"))
        .from(IdempotencyKeys::Table)
        .and_where(Expr::col(IdempotencyKeys::OwnerId).eq(owner.0))
        .and_where(Expr::col(IdempotencyKeys::Key).eq(key.as_str()))
        .and_where(Expr::col(IdempotencyKeys::ExpiresAt).gt(Expr::current_timestamp()))
        .to_owned();
    let row: Option<(Vec<u8>, String)> = query_as(&statement).fetch_optional(db).await?;
    let Some((fingerprint, response)) = row else {
        return Ok(None);
    };
    let row: TaskRow = serde_json::from_str(&response).map_err(|error| {
        Failure::internal("a remembered response is invalid", error.to_string())
    })?;
    Ok(Some(Remembered {
        fingerprint,
        task: row.try_into()?,
    }))
}

/// Remembers that the owner's key answered a request with this fingerprint by creating
/// `task`, until `expires_at`; replaces what an expired use of the key left. The key must
/// be claimed.
pub async fn remember(
    db: impl PgExecutor<'_>,
    owner: UserId,
    key: &IdempotencyKey,
    fingerprint: [u8; 32],
    task: &Task,
    expires_at: DateTime<Utc>,
) -> Result<(), Failure> {
    let response = serde_json::to_string(&TaskRow::from(task))
        .map_err(|error| Failure::internal("cannot remember a response", error.to_string()))?;
    let statement = Query::insert()
        .into_table(IdempotencyKeys::Table)
        .columns([
            IdempotencyKeys::OwnerId,
            IdempotencyKeys::Key,
            IdempotencyKeys::Fingerprint,
            IdempotencyKeys::Response,
            IdempotencyKeys::ExpiresAt,
        ])
        // As many values as columns: cannot panic.
        .values_panic([
            owner.0.into(),
            key.as_str().into(),
            fingerprint.to_vec().into(),
            Expr::val(response).cast_as("jsonb"),
            expires_at.into(),
        ])
        .on_conflict(
            OnConflict::columns([IdempotencyKeys::OwnerId, IdempotencyKeys::Key])
                .update_columns([
                    IdempotencyKeys::Fingerprint,
                    IdempotencyKeys::Response,
                    IdempotencyKeys::ExpiresAt,
                ])
                .action_and_where(
                    Expr::col((IdempotencyKeys::Table, IdempotencyKeys::ExpiresAt))
                        .lte(Expr::current_timestamp()),
                )
                .to_owned(),
        )
        .to_owned();
    match execute(db, &statement).await? {
        1 => Ok(()),
        // Claimed and found unused or expired: a live row cannot be in the way.
        _ => Err(Failure::internal(
            "an idempotency key in use was not claimed",
            key.as_str().to_owned(),
        )),
    }
}

/// Deletes every expired key; how many it deleted.
pub async fn purge_expired(db: impl PgExecutor<'_>) -> Result<u64, Failure> {
    delete_expired(db, IdempotencyKeys::Table, IdempotencyKeys::ExpiresAt).await
}
