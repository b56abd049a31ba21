//! SQL for the `mail_outbox` table: mails waiting to be sent, and the worker's claim on
//! them.

use std::{str::FromStr, time::Duration};

use chrono::{DateTime, Utc};
use sea_query::{Expr, ExprTrait, Iden, LockBehavior, LockType, Order, Query};
use sqlx::FromRow;
use uuid::Uuid;

use super::{Db, delete_where, execute, from_now, insert_row, query_as, timed};
use crate::{
    domain::{TokenPurpose, UserId},
    failure::Failure,
};

#[derive(Iden, Clone, Copy)]
enum MailOutbox {
    Table,
    Id,
    Kind,
    Recipient,
    UserId,
    CreatedAt,
    Attempts,
    NextAttemptAt,
    LastError,
}

/// Longest reason kept for a failed send, in characters (the table's check says so too).
pub const MAX_ERROR_CHARS: usize = 1000;

/// A mail waiting in the outbox: what it is (the purpose of the token it will carry), to
/// whom, and for which account when that is known already.
#[derive(Debug, Clone)]
pub struct Queued {
    pub id: Uuid,
    pub kind: TokenPurpose,
    pub recipient: String,
    pub user: Option<UserId>,
    pub created_at: DateTime<Utc>,
    /// Attempts to send it so far, the one about to be made included.
    pub attempts: i32,
}

#[derive(FromRow)]
struct QueuedRow {
    id: Uuid,
    kind: String,
    recipient: String,
    user_id: Option<Uuid>,
    created_at: DateTime<Utc>,
    attempts: i32,
}

impl TryFrom<QueuedRow> for Queued {
    type Error = Failure;

    fn try_from(row: QueuedRow) -> Result<Self, Failure> {
        let kind = TokenPurpose::from_str(&row.kind)
            .map_err(|_| Failure::internal("a queued mail has an unknown kind", row.kind))?;
        Ok(Self {
            id: row.id,
            kind,
            recipient: row.recipient,
            user: row.user_id.map(UserId),
            created_at: row.created_at,
            attempts: row.attempts,
        })
    }
}

/// Queues a mail, due at once.
pub async fn enqueue(
    db: impl Db<'_>,
    kind: TokenPurpose,
    recipient: &str,
    user: Option<UserId>,
) -> Result<(), Failure> {
    let kind: &'static str = kind.into();
    let statement = insert_row(
        MailOutbox::Table,
        [
            (MailOutbox::Id, Uuid::now_v7().into()),
            (MailOutbox::Kind, kind.into()),
            (MailOutbox::Recipient, recipient.into()),
            (MailOutbox::UserId, user.map(|user| user.0).into()),
            (MailOutbox::CreatedAt, Expr::current_timestamp()),
            (MailOutbox::NextAttemptAt, Expr::current_timestamp()),
        ],
    );
    execute("mail.enqueue", db, &statement).await?;
    Ok(())
}

/// Claims up to `limit` due mails, oldest first, for `lease`: none of them is due again (to
/// this server or another) until it has passed, by which time the send has succeeded (the
/// mail is deleted), failed (it is rescheduled) or been abandoned with its server. Mails
/// another server is claiming right now are skipped, not waited for.
pub async fn claim_due(
    db: impl Db<'_>,
    limit: u64,
    lease: Duration,
) -> Result<Vec<Queued>, Failure> {
    let due = Query::select()
        .column(MailOutbox::Id)
        .from(MailOutbox::Table)
        .and_where(Expr::col(MailOutbox::NextAttemptAt).lte(Expr::current_timestamp()))
        .order_by(MailOutbox::NextAttemptAt, Order::Asc)
        .limit(limit)
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
        .to_owned();
    let statement = Query::update()
        .table(MailOutbox::Table)
        .values([
            (MailOutbox::NextAttemptAt, from_now(lease)),
            (MailOutbox::Attempts, Expr::col(MailOutbox::Attempts).add(1)),
        ])
        .and_where(Expr::col(MailOutbox::Id).in_subquery(due))
        .returning(Query::returning().columns([
            MailOutbox::Id,
            MailOutbox::Kind,
            MailOutbox::Recipient,
            MailOutbox::UserId,
            MailOutbox::CreatedAt,
            MailOutbox::Attempts,
        ]))
        .to_owned();
    let rows: Vec<QueuedRow> = timed("mail.claim_due", query_as(&statement).fetch_all(db)).await?;
    rows.into_iter().map(Queued::try_from).collect()
}

/// Takes a mail out of the outbox: sent, or not to be sent.
pub async fn remove(db: impl Db<'_>, id: Uuid) -> Result<(), Failure> {
    delete_where(
        "mail.remove",
        db,
        MailOutbox::Table,
        Expr::col(MailOutbox::Id).eq(id),
    )
    .await?;
    Ok(())
}

/// A send failed: the mail is due again after `delay`, and keeps why (for operators).
pub async fn retry_later(
    db: impl Db<'_>,
    id: Uuid,
    delay: Duration,
    error: &str,
) -> Result<(), Failure> {
    let error: String = error.chars().take(MAX_ERROR_CHARS).collect();
    let statement = Query::update()
        .table(MailOutbox::Table)
        .values([
            (MailOutbox::NextAttemptAt, from_now(delay)),
            (MailOutbox::LastError, error.into()),
        ])
        .and_where(Expr::col(MailOutbox::Id).eq(id))
        .to_owned();
    execute("mail.retry_later", db, &statement).await?;
    Ok(())
}
