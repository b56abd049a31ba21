//! SQL for `idempotency_keys`: the first response to each `Idempotency-Key`, per user,
//! until the key expires. A key is claimed with a transaction-scoped advisory lock, so a
//! request whose twin is still running is told apart without waiting for it.

use chrono::{DateTime, Utc};
use sea_query::{Expr, ExprTrait, Func, Iden, OnConflict, Query};
use sha2::{Digest, Sha256};

use super::{Db, delete_expired, execute, insert_row, query_as, tasks::TaskRow, timed};
use crate::{
    domain::{IdempotencyKey, Task, UserId},
    failure::Failure,
};

#[derive(Iden, Clone, Copy)]
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

/// The owner's key, claimed until the transaction it was claimed in ends: only a claimed
/// key is read and written, so no twin request interleaves with it.
pub struct Claimed<'k> {
    owner: UserId,
    key: &'k IdempotencyKey,
}

/// Claims the owner's key until the transaction `db` belongs to ends; `None` when another
/// transaction holds it (a request with the same key is running).
pub async fn claim<'k>(
    db: impl Db<'_>,
    owner: UserId,
    key: &'k IdempotencyKey,
) -> Result<Option<Claimed<'k>>, Failure> {
    let statement = Query::select()
        .expr(Func::cust("pg_try_advisory_xact_lock").arg(lock_id(owner, key)))
        .to_owned();
    let (claimed,): (bool,) =
        timed("idempotency.claim", query_as(&statement).fetch_one(db)).await?;
    Ok(claimed.then_some(Claimed { owner, key }))
}

/// What a key that has not expired answered.
pub struct Remembered {
    /// The digest of the request it answered.
    pub fingerprint: Vec<u8>,
    /// The task, as that response showed it.
    pub task: Task,
}

impl Claimed<'_> {
    /// What the key answered, if it has not expired.
    pub async fn find(&self, db: impl Db<'_>) -> Result<Option<Remembered>, Failure> {
        let Self { owner, key } = self;
        let statement = Query::select()
            .column(IdempotencyKeys::Fingerprint)
            .expr(Expr::col(IdempotencyKeys::Response).cast_as("text"))
            .from(IdempotencyKeys::Table)
            .and_where(Expr::col(IdempotencyKeys::OwnerId).eq(owner.0))
            .and_where(Expr::col(IdempotencyKeys::Key).eq(key.as_str()))
            .and_where(Expr::col(IdempotencyKeys::ExpiresAt).gt(Expr::current_timestamp()))
            .to_owned();
        let row: Option<(Vec<u8>, String)> =
            timed("idempotency.find", query_as(&statement).fetch_optional(db)).await?;
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

    /// Remembers that the key answered a request with this fingerprint by creating `task`,
    /// until `expires_at`; replaces what an expired use of the key left.
    pub async fn remember(
        &self,
        db: impl Db<'_>,
        fingerprint: [u8; 32],
        task: &Task,
        expires_at: DateTime<Utc>,
    ) -> Result<(), Failure> {
        let Self { owner, key } = self;
        let response = serde_json::to_string(&TaskRow::from(task))
            .map_err(|error| Failure::internal("cannot remember a response", error.to_string()))?;
        let statement = insert_row(
            IdempotencyKeys::Table,
            [
                (IdempotencyKeys::OwnerId, owner.0.into()),
                (IdempotencyKeys::Key, key.as_str().into()),
                (IdempotencyKeys::Fingerprint, fingerprint.to_vec().into()),
                (
                    IdempotencyKeys::Response,
                    Expr::val(response).cast_as("jsonb"),
                ),
                (IdempotencyKeys::ExpiresAt, expires_at.into()),
            ],
        )
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
        match execute("idempotency.remember", db, &statement).await? {
            1 => Ok(()),
            // Claimed and found unused or expired: a live row cannot be in the way.
            _ => Err(Failure::internal(
                "an idempotency key in use was not claimed",
                key.as_str().to_owned(),
            )),
        }
    }
}

/// Deletes every expired key; how many it deleted.
pub async fn purge_expired(db: impl Db<'_>) -> Result<u64, Failure> {
    let expiry = (IdempotencyKeys::Table, IdempotencyKeys::ExpiresAt);
    delete_expired("idempotency.purge_expired", db, expiry).await
}
