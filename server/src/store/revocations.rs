//! SQL for the `revocations` table, the notifications that carry each change to every
//! server at once, and the [`Feed`] that receives them: a connection that `LISTEN`s,
//! reconnects when it is lost and reads the table again whenever it may have missed a
//! notification. The same connection hears the change feed's announcements
//! ([`super::sync::CHANNEL`]): one listening connection a server.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_query::{Expr, ExprTrait, Func, Iden, OnConflict, Query};
use sqlx::{FromRow, PgPool, postgres::PgListener};
use tokio::time::{Instant, sleep, sleep_until, timeout};
use uuid::Uuid;

use super::{Db, delete_expired, execute, query_as, timed};
use crate::{failure::Failure, telemetry::metrics};

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

/// How often a [`Feed`] reads the table again even when nothing seems lost, which also
/// lets its reader forget revocations whose access tokens have all expired.
const RELOAD_INTERVAL: Duration = Duration::from_secs(300);
/// The first wait after a failed attempt to reconnect the feed; it doubles with each
/// failure after that.
const FIRST_RECONNECT_DELAY: Duration = Duration::from_millis(100);
/// Longest wait between attempts to reconnect the feed.
const MAX_RECONNECT_DELAY: Duration = Duration::from_secs(5);
/// How long the listening connection may stay silent before it must answer a round trip.
const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(10);
/// Longest a round trip on the listening connection may take before it counts as lost.
const ROUND_TRIP_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Iden, Clone, Copy)]
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

    /// The changes in a payload; lines that do not parse are skipped (and reported). How
    /// long the payload took to arrive goes to the metrics.
    fn decode_all(payload: &str) -> Vec<Self> {
        let mut sent_at = None;
        let changes = payload
            .lines()
            .filter_map(|line| {
                let decoded = Self::decode(line);
                if decoded.is_none() {
                    tracing::warn!(line, "ignoring an unreadable revocation notification");
                }
                let (change, sent) = decoded?;
                sent_at = sent_at.or(sent);
                Some(change)
            })
            .collect();
        if let Some(lag) = sent_at.and_then(|sent| (Utc::now() - sent).to_std().ok()) {
            metrics::revocation_heard_after(lag);
        }
        changes
    }

    /// A line, and when its sender sent it (a trailing field in milliseconds since the
    /// epoch, which servers before it did not send and ignore).
    fn decode(line: &str) -> Option<(Self, Option<DateTime<Utc>>)> {
        let mut parts = line.split(' ');
        let kind = parts.next()?;
        let subject = Uuid::try_parse(parts.next()?).ok()?;
        let change = if kind == "lift" {
            Self::Lift(subject)
        } else {
            let until = DateTime::from_timestamp(parts.next()?.parse().ok()?, 0)?;
            Self::Revoke(Revoked::from_parts(kind, subject)?, until)
        };
        let sent = parts
            .next()
            .and_then(|millis| DateTime::from_timestamp_millis(millis.parse().ok()?));
        Some((change, sent))
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
        execute("revocations.record", &mut *db, &insert).await?;
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
    execute("revocations.lift_user", &mut *db, &statement).await?;
    let change = Change::Lift(user);
    notify(db, &[change]).await?;
    Ok(change)
}

/// Sends `changes` on [`CHANNEL`], in as few notifications as fit.
async fn notify(db: &mut sqlx::PgConnection, changes: &[Change]) -> Result<(), Failure> {
    let mut payloads = vec![String::new()];
    let sent = Utc::now().timestamp_millis();
    for change in changes {
        let line = format!("{} {sent}", change.encode());
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
        execute("revocations.notify", &mut *db, &statement).await?;
    }
    Ok(())
}

/// A round trip on `db` (the listener's connection), to find out that it is still alive.
async fn ping(db: impl Db<'_>) -> Result<(), Failure> {
    execute(
        "revocations.ping",
        db,
        &Query::select().expr(Expr::val(1)).to_owned(),
    )
    .await?;
    Ok(())
}

#[derive(FromRow)]
struct RevocationRow {
    kind: String,
    subject: Uuid,
    expires_at: DateTime<Utc>,
}

/// Every revocation still in force.
async fn load(db: impl Db<'_>) -> Result<Vec<(Revoked, DateTime<Utc>)>, Failure> {
    let statement = Query::select()
        .columns([
            Revocations::Kind,
            Revocations::Subject,
            Revocations::ExpiresAt,
        ])
        .from(Revocations::Table)
        .and_where(Expr::col(Revocations::ExpiresAt).gt(Expr::current_timestamp()))
        .to_owned();
    let rows: Vec<RevocationRow> =
        timed("revocations.load", query_as(&statement).fetch_all(db)).await?;
    rows.into_iter()
        .map(|row| {
            Revoked::from_parts(&row.kind, row.subject)
                .map(|revoked| (revoked, row.expires_at))
                .ok_or_else(|| Failure::internal("a stored revocation is invalid", row.kind))
        })
        .collect()
}

/// Deletes revocations whose access tokens have all expired.
pub async fn purge_expired(db: impl Db<'_>) -> Result<u64, Failure> {
    let expiry = (Revocations::Table, Revocations::ExpiresAt);
    delete_expired("revocations.purge_expired", db, expiry).await
}

/// Every revocation in force, with when each ends.
pub type Loaded = Vec<(Revoked, DateTime<Utc>)>;

/// What a [`Feed`] reports.
#[derive(Debug)]
pub enum Event {
    /// Every revocation in force, read after listening began: a change committed since is
    /// in it or in a [`Event::Changed`] still to come. Reported on every (re)connection
    /// and every [`RELOAD_INTERVAL`].
    Loaded(Loaded),
    /// Changes some server (this one included) committed.
    Changed(Vec<Change>),
    /// Changes were committed to the list, or to the access of the person, with this id
    /// (see [`super::sync::announce`]). Announcements may have been missed before an
    /// [`Event::Loaded`].
    Announced(Uuid),
    /// The connection is lost: changes may go unreported until the next
    /// [`Event::Loaded`].
    Lost,
}

/// The revocation changes every server announces on [`CHANNEL`], received over one
/// connection to PostgreSQL itself. A connection cut without a word (a partition, a
/// failover) is found out by a round trip after each [`HEARTBEAT_INTERVAL`] of silence.
pub struct Feed {
    /// A pool of one connection, which the listener holds.
    pool: PgPool,
    listener: Option<PgListener>,
    reload_at: Instant,
}

impl Feed {
    /// A feed over `pool` (see [`super::connect_for_listening`]); not connected yet.
    pub fn new(pool: PgPool) -> Self {
        metrics::revocation_listener(false);
        Self {
            pool,
            listener: None,
            reload_at: Instant::now() + RELOAD_INTERVAL,
        }
    }

    /// Starts listening, then reads every revocation in force: one attempt.
    pub async fn connect(&mut self) -> Result<Loaded, Failure> {
        let mut listener = PgListener::connect_with(&self.pool).await?;
        // A lost connection is reported, not silently replaced: the table must be read again.
        listener.eager_reconnect(false);
        timeout(
            ROUND_TRIP_TIMEOUT,
            listener.listen_all([CHANNEL, super::sync::CHANNEL]),
        )
        .await
        .map_err(|_| Failure::Busy("LISTEN took too long"))??;
        // Read after LISTEN: whatever is committed from now on is either in the read or in
        // a notification still to come.
        let loaded = load_within(&mut listener).await?;
        self.listener = Some(listener);
        metrics::revocation_listener(true);
        self.reload_at = Instant::now() + RELOAD_INTERVAL;
        Ok(loaded)
    }

    /// The next event; never ends. While the connection is lost, it reconnects, waiting
    /// longer after each failure (up to [`MAX_RECONNECT_DELAY`]), and reports
    /// [`Event::Loaded`] once it is back.
    pub async fn next(&mut self) -> Event {
        let Some(listener) = self.listener.as_mut() else {
            return Event::Loaded(self.reconnect().await);
        };
        let event = follow(listener, self.reload_at).await;
        match event {
            Event::Lost => {
                self.listener = None;
                metrics::revocation_listener(false);
            }
            Event::Loaded(_) => self.reload_at = Instant::now() + RELOAD_INTERVAL,
            Event::Changed(_) | Event::Announced(_) => {}
        }
        event
    }

    async fn reconnect(&mut self) -> Loaded {
        let mut delay = FIRST_RECONNECT_DELAY;
        loop {
            match self.connect().await {
                Ok(loaded) => {
                    metrics::revocation_listener_reconnected();
                    tracing::info!("revocation listener reconnected");
                    return loaded;
                }
                Err(error) => {
                    tracing::warn!(%error, "cannot reconnect the revocation listener");
                    sleep(delay).await;
                    delay = (delay * 2).min(MAX_RECONNECT_DELAY);
                }
            }
        }
    }
}

/// Waits on `listener` for a notification, a reload at `reload_at`, or the loss of its
/// connection, whichever comes first. Every [`HEARTBEAT_INTERVAL`] of silence, the
/// connection must answer a round trip.
async fn follow(listener: &mut PgListener, reload_at: Instant) -> Event {
    loop {
        let received = tokio::select! {
            received = listener.try_recv() => received,
            () = sleep(HEARTBEAT_INTERVAL) => {
                if answers(listener).await {
                    continue;
                }
                tracing::warn!("the revocation listener's connection stopped answering");
                return Event::Lost;
            }
            () = sleep_until(reload_at) => {
                return match load_within(listener).await {
                    Ok(loaded) => Event::Loaded(loaded),
                    Err(error) => {
                        tracing::warn!(%error, "cannot reload the revocation set");
                        Event::Lost
                    }
                };
            }
        };
        return match received {
            Ok(Some(notification)) if notification.channel() == CHANNEL => {
                Event::Changed(Change::decode_all(notification.payload()))
            }
            Ok(Some(notification)) => match notification.payload().parse() {
                Ok(id) => Event::Announced(id),
                Err(_) => continue,
            },
            // The connection closed.
            Ok(None) => Event::Lost,
            Err(error) => {
                tracing::warn!(%error, "revocation listener failed");
                Event::Lost
            }
        };
    }
}

/// Every revocation in force, read over the listening connection (its pool has no other)
/// within [`ROUND_TRIP_TIMEOUT`].
async fn load_within(listener: &mut PgListener) -> Result<Loaded, Failure> {
    timeout(ROUND_TRIP_TIMEOUT, load(&mut *listener))
        .await
        .map_err(|_| Failure::Busy("the revocation set took too long to load"))?
}

/// Whether the listening connection still answers, within [`ROUND_TRIP_TIMEOUT`].
async fn answers(listener: &mut PgListener) -> bool {
    matches!(
        timeout(ROUND_TRIP_TIMEOUT, ping(&mut *listener)).await,
        Ok(Ok(()))
    )
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
        // With the time it was sent, as servers send it now; without, as before.
        let sent: Vec<String> = payload
            .iter()
            .map(|line| format!("{line} 1700000000123"))
            .collect();
        assert_eq!(Change::decode_all(&sent.join("\n")), changes);
        assert!(Change::decode_all("session nonsense 1\nfoo").is_empty());
    }
}
