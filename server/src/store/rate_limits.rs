//! SQL for the `rate_limit_counters` table: fixed-window counters shared by every instance.

use std::time::Duration;

use sea_query::{Alias, Expr, ExprTrait, Iden, LockBehavior, LockType, OnConflict, Query};
use sqlx::FromRow;

use super::{Db, execute, from_now, query_as, timed};
use crate::failure::Failure;

#[derive(Iden)]
enum RateLimitCounters {
    Table,
    Bucket,
    Hits,
    WindowEnds,
}

/// A counter after a hit.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Count {
    pub bucket: String,
    /// Hits in the current window, this one included.
    pub hits: i32,
    /// Whole seconds until the window ends (at least 1).
    pub resets_in_seconds: i64,
}

/// Counts one hit on each bucket, each in its own window: a bucket whose window has ended
/// starts a new one at this hit. Returns every bucket's count, in one statement.
pub async fn hit(db: impl Db<'_>, buckets: &[(&str, Duration)]) -> Result<Vec<Count>, Failure> {
    let column = |name| Expr::col((RateLimitCounters::Table, name));
    let expired = column(RateLimitCounters::WindowEnds).lte(Expr::current_timestamp());
    let mut insert = Query::insert();
    insert.into_table(RateLimitCounters::Table).columns([
        RateLimitCounters::Bucket,
        RateLimitCounters::Hits,
        RateLimitCounters::WindowEnds,
    ]);
    for (bucket, window) in buckets {
        // Three columns, three values: cannot panic.
        insert.values_panic([(*bucket).into(), 1.into(), from_now(*window)]);
    }
    insert
        .on_conflict(
            OnConflict::column(RateLimitCounters::Bucket)
                .value(
                    RateLimitCounters::Hits,
                    Expr::case(expired.clone(), 1).finally(column(RateLimitCounters::Hits).add(1)),
                )
                .value(
                    RateLimitCounters::WindowEnds,
                    Expr::case(
                        expired,
                        Expr::col((Alias::new("excluded"), RateLimitCounters::WindowEnds)),
                    )
                    .finally(column(RateLimitCounters::WindowEnds)),
                )
                .to_owned(),
        )
        .returning(Query::returning().exprs([
            Expr::col(RateLimitCounters::Bucket),
            Expr::col(RateLimitCounters::Hits),
            Expr::cust(
                "greatest(1, ceil(extract(epoch FROM window_ends - now())))::bigint \
                 AS resets_in_seconds",
            ),
        ]));
    Ok(timed("rate_limits.hit", query_as(&insert).fetch_all(db)).await?)
}

/// Takes back one hit from `bucket` (an attempt that turned out not to count).
pub async fn take_back(db: impl Db<'_>, bucket: &str) -> Result<(), Failure> {
    let statement = Query::update()
        .table(RateLimitCounters::Table)
        .value(
            RateLimitCounters::Hits,
            Expr::col(RateLimitCounters::Hits).sub(1),
        )
        .and_where(Expr::col(RateLimitCounters::Bucket).eq(bucket))
        .and_where(Expr::col(RateLimitCounters::Hits).gt(0))
        .to_owned();
    execute("rate_limits.take_back", db, &statement).await?;
    Ok(())
}

/// Forgets `bucket` entirely.
pub async fn clear(db: impl Db<'_>, bucket: &str) -> Result<(), Failure> {
    let statement = Query::delete()
        .from_table(RateLimitCounters::Table)
        .and_where(Expr::col(RateLimitCounters::Bucket).eq(bucket))
        .to_owned();
    execute("rate_limits.clear", db, &statement).await?;
    Ok(())
}

/// Deletes counters whose window has ended; returns how many. Rows a login is updating
/// right now are skipped (and purged next time), so purging never waits on, or deadlocks
/// with, a hit.
pub async fn purge_expired(db: impl Db<'_>) -> Result<u64, Failure> {
    let expired = Query::select()
        .column(RateLimitCounters::Bucket)
        .from(RateLimitCounters::Table)
        .and_where(Expr::col(RateLimitCounters::WindowEnds).lte(Expr::current_timestamp()))
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
        .to_owned();
    let statement = Query::delete()
        .from_table(RateLimitCounters::Table)
        .and_where(Expr::col(RateLimitCounters::Bucket).in_subquery(expired))
        .to_owned();
    execute("rate_limits.purge_expired", db, &statement).await
}
