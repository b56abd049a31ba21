//! The audit log: services record security events in the transaction that makes them (so
//! an event is there exactly when what it records happened), with the request's client
//! address and id, which the HTTP layer sets for the request ([`within`]); administrators
//! list them; old ones are purged after the retention.

use std::{future::Future, net::IpAddr, time::Duration};

use uuid::Uuid;

use sqlx::PgConnection;

use super::{Failure, now};
use crate::{
    domain::{
        Admin, AuditEvent, AuditEventId, AuditEventPage, AuditFilter, AuditKind, PageCursor,
        PageSize, UserId,
    },
    store::{Database, Db, audit},
};

/// Where a request came from, as the events it causes record it.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub client: Option<IpAddr>,
    pub request_id: Option<String>,
}

tokio::task_local! {
    static ORIGIN: Origin;
}

/// Runs `request` with `origin` as where the events it records come from.
pub async fn within<F: Future>(origin: Origin, request: F) -> F::Output {
    ORIGIN.scope(origin, request).await
}

/// An event of `kind` by `actor` on `target`, now, from the current request (none outside
/// one: the command line, a periodic job).
pub fn event(kind: AuditKind, actor: Option<UserId>, target: Option<UserId>) -> AuditEvent {
    let origin = ORIGIN.try_with(Clone::clone).unwrap_or_default();
    AuditEvent {
        id: AuditEventId(Uuid::now_v7()),
        at: now(),
        kind,
        actor,
        target,
        client_address: origin.client.map(|client| client.to_string()),
        request_id: origin.request_id,
        detail: None,
    }
}

/// What an account did to itself: `kind`, with it as actor and target.
pub fn own(kind: AuditKind, user: UserId) -> AuditEvent {
    event(kind, Some(user), Some(user))
}

impl AuditEvent {
    /// The event, with `detail` (cut to what the table keeps).
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into().chars().take(MAX_DETAIL_CHARS).collect());
        self
    }

    /// Appends the event in `db`'s transaction.
    pub async fn record(self, db: impl Db<'_>) -> Result<(), Failure> {
        audit::insert(db, &self).await
    }
}

/// Longest `detail` kept, in characters (the table's check says so too).
pub const MAX_DETAIL_CHARS: usize = 200;
/// Longest request id kept: the longest a client's `X-Request-Id` is taken.
pub const MAX_REQUEST_ID_CHARS: usize = 64;
/// Longest client address: an IPv6 address's longest text.
pub const MAX_CLIENT_ADDRESS_CHARS: usize = 45;

#[derive(Clone)]
pub struct AuditService {
    db: Database,
    /// How long events are kept (`None`: for ever).
    retention: Option<Duration>,
}

impl AuditService {
    pub fn new(db: Database, retention: Option<Duration>) -> Self {
        Self { db, retention }
    }

    /// One page of the events `filter` keeps, newest first.
    pub async fn list(
        &self,
        _admin: Admin,
        filter: AuditFilter,
        size: PageSize,
        after: Option<PageCursor>,
    ) -> Result<AuditEventPage, Failure> {
        let read =
            async |db: &mut PgConnection, limit| audit::list(db, &filter, after, limit).await;
        super::page(&self.db, size, read).await
    }

    /// Deletes the events older than the retention (a periodic job); how many.
    pub async fn purge_expired(&self) -> Result<u64, Failure> {
        let Some(retention) = self.retention else {
            return Ok(0);
        };
        let before = chrono::Duration::from_std(retention)
            .ok()
            .and_then(|retention| now().checked_sub_signed(retention))
            .unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC);
        let mut db = self.db.acquire().await?;
        let purged = audit::delete_before(&mut *db, before).await?;
        db.release().await?;
        Ok(purged)
    }
}
