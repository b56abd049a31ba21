//! SQL for the `revocations` table, and the notifications that carry each change to every
//! server at once.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_query::{Expr, ExprTrait, Func, Iden, OnConflict, Query};
use sqlx::{FromRow, PgExecutor};
use uuid::Uuid;

use super::{delete_expired, execute, query_as};
use crate::failure::Failure;

/// The channel the server listens on for revocations; no other program should use it.
pub const CHANNEL: &str = "taskapi_revocations";

/// What the `kind` column may hold (and its `CHECK` constraint states).
pub const KINDS: [&str; 2] = [SESSION, USER];
const SESSION: &str = "session";
const USER: &str = "user";

/// The largest payload PostgreSQL delivers is 8000 bytes; stay well under it.
const MAX_PAYLOAD_BYTES: usize = 7_000;
/// Revocations written by one statement.
const ROWS_PER_INSERT: usize = 1_000;
/// Notifications sent by one statement.
const PAYLOADS_PER_STATEMENT: usize = 1_000;

#[derive(Iden)]
enum Revocations {
    Table,
    Kind,
    Subject,
    ExpiresAt,
}

/// What a revocation makes every server refuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Revoked {
    /// Every access token of this session.
    Session(Uuid),
    /// Every access token of this account.
    User(Uuid),
}

/// A change to the revocation set, as notifications carry it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Refuse this until `until`.
    Revoke(Revoked, DateTime<Utc>),
    /// Stop refusing this account as such (it was enabled again).
    Lift(Uuid),
}

impl Revoked {
    fn parts(self) -> (&'static str, Uuid) {
        match self {
            Self::Session(id) => (SESSION, id),
            Self::User(id) => (USER, id),
        }
    }

    fn from_parts(kind: &str, subject: Uuid) -> Option<Self> {
        match kind {
            SESSION => Some(Self::Session(subject)),
            USER => Some(Self::User(subject)),
            _ => None,
        }
    }
}

impl Change {
    /// One line of a notification payload: `session <id> <unix seconds>`,
    /// `user <id> <unix seconds>` or `lift <id>`.
    fn encode(self) -> String {
        match self {
            Self::Revoke(revoked, until) => {
                let (kind, subject) = revoked.parts();
                format!("{kind} {} {}", subject.simple(), until.timestamp())
            }
            Self::Lift(user) => format!("lift {}", user.simple()),
        }
    }

    /// The changes in a payload; lines that do not parse are skipped (and reported).
    pub fn decode_all(payload: &str) -> Vec<Self> {
        payload
            .lines()
            .filter_map(|line| {
                let change = Self::decode(line);
                if change.is_none() {
                    tracing::warn!(line, "ignoring an unreadable revocation notification");
                }
                change
            })
            .collect()
    }

    fn decode(line: &str) -> Option<Self> {
        let mut parts = line.split(' ');
        let kind = parts.next()?;
        let subject = Uuid::try_parse(parts.next()?).ok()?;
        if kind == "lift" {
            return Some(Self::Lift(subject));
        }
        let until = DateTime::from_timestamp(parts.next()?.parse().ok()?, 0)?;
        Some(Self::Revoke(Revoked::from_parts(kind, subject)?, until))
    }
}

/// Records that `revoked` must be refused for `window` from now, and tells every listening
/// server, when the transaction `db` belongs to commits (notifications wait for it).
pub async fn record(
    db: &mut sqlx::PgConnection,
    revoked: &[Revoked],
    window: Duration,
) -> Result<Vec<Change>, Failure> {
    if revoked.is_empty() {
        return Ok(Vec::new());
    }
    let until = Utc::now()
        + chrono::Duration::from_std(window)
            .map_err(|error| Failure::internal("a revocation window out of range", error))?
        // Whole seconds on the wire: round up.
        + chrono::Duration::seconds(1);
    // In chunks: a statement binds at most 65,535 values, and an account may have ended
    // many sessions at once.
    for chunk in revoked.chunks(ROWS_PER_INSERT) {
        let mut insert = Query::insert();
        insert.into_table(Revocations::Table).columns([
            Revocations::Kind,
            Revocations::Subject,
            Revocations::ExpiresAt,
        ]);
        for entry in chunk {
            let (kind, subject) = entry.parts();
            // Three columns, three values: cannot panic.
            insert.values_panic([kind.into(), subject.into(), until.into()]);
        }
        insert.on_conflict(
            OnConflict::columns([Revocations::Kind, Revocations::Subject])
                .update_column(Revocations::ExpiresAt)
                .to_owned(),
        );
        execute(&mut *db, &insert).await?;
    }
    let changes: Vec<Change> = revoked
        .iter()
        .map(|revoked| Change::Revoke(*revoked, until))
        .collect();
    notify(db, &changes).await?;
    Ok(changes)
}

/// Stops refusing the account as such (its sessions stay ended), on every server once the
/// transaction `db` belongs to commits.
pub async fn lift_user(db: &mut sqlx::PgConnection, user: Uuid) -> Result<Change, Failure> {
    let statement = Query::delete()
        .from_table(Revocations::Table)
        .and_where(Expr::col(Revocations::Kind).eq(USER))
        .and_where(Expr::col(Revocations::Subject).eq(user))
        .to_owned();
    execute(&mut *db, &statement).await?;
    let change = Change::Lift(user);
    notify(db, &[change]).await?;
    Ok(change)
}

/// Sends `changes` on [`CHANNEL`], in as few notifications as fit.
async fn notify(db: &mut sqlx::PgConnection, changes: &[Change]) -> Result<(), Failure> {
    let mut payloads = vec![String::new()];
    for change in changes {
        let line = change.encode();
        let current = payloads.last_mut().expect("never empty");
        if !current.is_empty() && current.len() + line.len() + 1 > MAX_PAYLOAD_BYTES {
            payloads.push(line);
        } else {
            if !current.is_empty() {
                current.push('\n');
            }
            current.push_str(&line);
        }
    }
    for chunk in payloads.chunks(PAYLOADS_PER_STATEMENT) {
        let statement = Query::select()
            .exprs(
                chunk
                    .iter()
                    .map(|payload| Func::cust("pg_notify").arg(CHANNEL).arg(payload.as_str())),
            )
            .to_owned();
        execute(&mut *db, &statement).await?;
    }
    Ok(())
}

/// A round trip on `db` (the listener's connection), to find out that it is still alive.
pub async fn ping(db: impl PgExecutor<'_>) -> Result<(), Failure> {
    execute(db, &Query::select().expr(Expr::val(1)).to_owned()).await?;
    Ok(())
}

#[derive(FromRow)]
struct RevocationRow {
    kind: String,
    subject: Uuid,
    expires_at: DateTime<Utc>,
}

/// Every revocation still in force.
pub async fn load(db: impl PgExecutor<'_>) -> Result<Vec<(Revoked, DateTime<Utc>)>, Failure> {
    let statement = Query::select()
        .columns([
            Revocations::Kind,
            Revocations::Subject,
            Revocations::ExpiresAt,
        ])
        .from(Revocations::Table)
        .and_where(Expr::col(Revocations::ExpiresAt).gt(Expr::current_timestamp()))
        .to_owned();
    let rows: Vec<RevocationRow> = query_as(&statement).fetch_all(db).await?;
    rows.into_iter()
        .map(|row| {
            Revoked::from_parts(&row.kind, row.subject)
                .map(|revoked| (revoked, row.expires_at))
                .ok_or_else(|| Failure::internal("a stored revocation is invalid", row.kind))
        })
        .collect()
}

/// Deletes revocations whose access tokens have all expired.
pub async fn purge_expired(db: impl PgExecutor<'_>) -> Result<u64, Failure> {
    delete_expired(db, Revocations::Table, Revocations::ExpiresAt).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_survive_the_wire() {
        let until = DateTime::from_timestamp(1_800_000_000, 0).expect("valid");
        let changes = [
            Change::Revoke(Revoked::Session(Uuid::now_v7()), until),
            Change::Revoke(Revoked::User(Uuid::now_v7()), until),
            Change::Lift(Uuid::now_v7()),
        ];
        let payload: Vec<String> = changes.iter().map(|change| change.encode()).collect();
        assert_eq!(Change::decode_all(&payload.join("\n")), changes);
        assert!(Change::decode_all("session nonsense 1\nfoo").is_empty());
    }
}
