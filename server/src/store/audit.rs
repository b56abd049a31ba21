//! SQL for the `audit_events` table: appending an event, listing them newest first, and
//! deleting those past the retention. Nothing here updates a row (the table refuses it).

use std::str::FromStr;

use chrono::{DateTime, Utc};
use sea_query::{Expr, ExprTrait, Iden, Query};
use sqlx::FromRow;
use uuid::Uuid;

use super::{Db, delete_where, execute, fetch_page, insert_row};
use crate::{
    domain::{AuditEvent, AuditEventId, AuditFilter, AuditKind, PageCursor, UserId},
    failure::Failure,
};

#[derive(Iden, Clone, Copy)]
enum AuditEvents {
    Table,
    Id,
    At,
    Kind,
    ActorId,
    TargetId,
    ClientAddress,
    RequestId,
    Detail,
}

const COLUMNS: [AuditEvents; 8] = [
    AuditEvents::Id,
    AuditEvents::At,
    AuditEvents::Kind,
    AuditEvents::ActorId,
    AuditEvents::TargetId,
    AuditEvents::ClientAddress,
    AuditEvents::RequestId,
    AuditEvents::Detail,
];

#[derive(FromRow)]
struct EventRow {
    id: Uuid,
    at: DateTime<Utc>,
    kind: String,
    actor_id: Option<Uuid>,
    target_id: Option<Uuid>,
    client_address: Option<String>,
    request_id: Option<String>,
    detail: Option<String>,
}

impl TryFrom<EventRow> for AuditEvent {
    type Error = Failure;

    fn try_from(row: EventRow) -> Result<Self, Failure> {
        let kind = AuditKind::from_str(&row.kind).map_err(|_| {
            Failure::internal(
                "a stored audit event is invalid",
                format!("kind {:?}", row.kind),
            )
        })?;
        Ok(Self {
            id: AuditEventId(row.id),
            at: row.at,
            kind,
            actor: row.actor_id.map(UserId),
            target: row.target_id.map(UserId),
            client_address: row.client_address,
            request_id: row.request_id,
            detail: row.detail,
        })
    }
}

/// Appends `event`.
pub async fn insert(db: impl Db<'_>, event: &AuditEvent) -> Result<(), Failure> {
    let kind: &'static str = event.kind.into();
    let statement = insert_row(
        AuditEvents::Table,
        [
            (AuditEvents::Id, Expr::val(event.id.0)),
            (AuditEvents::At, Expr::val(event.at)),
            (AuditEvents::Kind, Expr::val(kind)),
            (AuditEvents::ActorId, Expr::val(event.actor.map(|id| id.0))),
            (
                AuditEvents::TargetId,
                Expr::val(event.target.map(|id| id.0)),
            ),
            (
                AuditEvents::ClientAddress,
                Expr::val(event.client_address.clone()),
            ),
            (AuditEvents::RequestId, Expr::val(event.request_id.clone())),
            (AuditEvents::Detail, Expr::val(event.detail.clone())),
        ],
    );
    execute("audit.insert", db, &statement).await?;
    Ok(())
}

/// One page of the events `filter` keeps, newest first (ties by id), after `after`.
pub async fn list(
    db: impl Db<'_>,
    filter: &AuditFilter,
    after: Option<PageCursor>,
    limit: u64,
) -> Result<Vec<AuditEvent>, Failure> {
    let kinds: Vec<&'static str> = filter.kinds.iter().map(|kind| (*kind).into()).collect();
    let statement = Query::select()
        .columns(COLUMNS)
        .from(AuditEvents::Table)
        .and_where_option(
            filter
                .actor
                .map(|id| Expr::col(AuditEvents::ActorId).eq(id.0)),
        )
        .and_where_option(
            filter
                .target
                .map(|id| Expr::col(AuditEvents::TargetId).eq(id.0)),
        )
        .and_where_option((!kinds.is_empty()).then(|| Expr::col(AuditEvents::Kind).is_in(kinds)))
        .and_where_option(filter.since.map(|at| Expr::col(AuditEvents::At).gte(at)))
        .and_where_option(filter.until.map(|at| Expr::col(AuditEvents::At).lt(at)))
        .to_owned();
    let order = (AuditEvents::At, AuditEvents::Id);
    fetch_page::<EventRow, _, _>("audit.list", db, statement, order, (after, limit)).await
}

/// Deletes the events recorded before `before`; how many.
pub async fn delete_before(db: impl Db<'_>, before: DateTime<Utc>) -> Result<u64, Failure> {
    let condition = Expr::col(AuditEvents::At).lt(before);
    delete_where("audit.delete_before", db, AuditEvents::Table, condition).await
}
