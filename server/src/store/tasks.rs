//! SQL for the `tasks` table. Ownership is part of every statement's `WHERE`: a task that
//! belongs to someone else is simply not found.

use chrono::{DateTime, Utc};
use sea_query::{Expr, ExprTrait, Func, Iden, Order, Query};
use sea_query_sqlx::SqlxBinder;
use sqlx::{FromRow, PgPool};
use uuid::Uuid;

use super::{StoreError, build};
use crate::domain::{
    PageCursor, Task, TaskDescription, TaskDraft, TaskId, TaskPriority, TaskStatus, TaskTitle,
    UserId,
};

#[derive(Iden)]
enum Tasks {
    Table,
    Id,
    OwnerId,
    Title,
    Description,
    Status,
    Priority,
    DueAt,
    CompletedAt,
    CreatedAt,
    UpdatedAt,
}

const TASK_COLUMNS: [Tasks; 10] = [
    Tasks::Id,
    Tasks::OwnerId,
    Tasks::Title,
    Tasks::Description,
    Tasks::Status,
    Tasks::Priority,
    Tasks::DueAt,
    Tasks::CompletedAt,
    Tasks::CreatedAt,
    Tasks::UpdatedAt,
];

#[derive(FromRow)]
struct TaskRow {
    id: Uuid,
    owner_id: Uuid,
    title: String,
    description: Option<String>,
    status: String,
    priority: String,
    due_at: Option<DateTime<Utc>>,
    completed_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<TaskRow> for Task {
    type Error = StoreError;

    fn try_from(row: TaskRow) -> Result<Self, Self::Error> {
        Ok(Self {
            id: TaskId(row.id),
            owner: UserId(row.owner_id),
            title: TaskTitle::parse(&row.title).map_err(StoreError::Corrupt)?,
            description: row
                .description
                .map(TaskDescription::parse)
                .transpose()
                .map_err(StoreError::Corrupt)?,
            status: TaskStatus::from_stored(&row.status)
                .ok_or_else(|| StoreError::Corrupt(format!("status {:?}", row.status)))?,
            priority: TaskPriority::from_stored(&row.priority)
                .ok_or_else(|| StoreError::Corrupt(format!("priority {:?}", row.priority)))?,
            due_at: row.due_at,
            completed_at: row.completed_at,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

fn no_timestamp() -> Expr {
    Expr::val(Option::<DateTime<Utc>>::None)
}

/// The writable columns of a draft, in a fixed order.
fn draft_values(draft: &TaskDraft) -> [(Tasks, Expr); 5] {
    [
        (Tasks::Title, Expr::val(draft.title.as_str())),
        (
            Tasks::Description,
            Expr::val(draft.description.as_ref().map(|d| d.as_str().to_owned())),
        ),
        (Tasks::Status, Expr::val(draft.status.as_str())),
        (Tasks::Priority, Expr::val(draft.priority.as_str())),
        (Tasks::DueAt, Expr::val(draft.due_at.map(|due| due.get()))),
    ]
}

pub async fn insert(pool: &PgPool, owner: UserId, draft: &TaskDraft) -> Result<Task, StoreError> {
    let completed_at = if draft.status.is_done() {
        Expr::current_timestamp()
    } else {
        no_timestamp()
    };
    let (columns, mut values): (Vec<Tasks>, Vec<Expr>) = draft_values(draft).into_iter().unzip();
    let statement = Query::insert()
        .into_table(Tasks::Table)
        .columns(
            [Tasks::Id, Tasks::OwnerId, Tasks::CompletedAt]
                .into_iter()
                .chain(columns),
        )
        .values_panic({
            values.splice(
                0..0,
                [Expr::val(Uuid::now_v7()), Expr::val(owner.0), completed_at],
            );
            // As many values as columns, by construction above.
            values
        })
        .returning(Query::returning().columns(TASK_COLUMNS))
        .to_owned();
    let (sql, values) = build(&statement);
    let row: TaskRow = sqlx::query_as_with(sql, values).fetch_one(pool).await?;
    row.try_into()
}

/// One page of the owner's tasks in listing order (newest first, ties by id), starting
/// after `after`.
pub async fn list(
    pool: &PgPool,
    owner: UserId,
    after: Option<PageCursor>,
    limit: u64,
) -> Result<Vec<Task>, StoreError> {
    let statement = Query::select()
        .columns(TASK_COLUMNS)
        .from(Tasks::Table)
        .and_where(Expr::col(Tasks::OwnerId).eq(owner.0))
        .apply_if(after, |query, cursor| {
            // Row comparison keeps the keyset exact when timestamps tie.
            query.and_where(
                Expr::tuple([Expr::col(Tasks::CreatedAt), Expr::col(Tasks::Id)]).lt(Expr::tuple([
                    Expr::val(cursor.created_at),
                    Expr::val(cursor.id.0),
                ])),
            );
        })
        .order_by(Tasks::CreatedAt, Order::Desc)
        .order_by(Tasks::Id, Order::Desc)
        .limit(limit)
        .to_owned();
    let (sql, values) = build(&statement);
    let rows: Vec<TaskRow> = sqlx::query_as_with(sql, values).fetch_all(pool).await?;
    rows.into_iter().map(Task::try_from).collect()
}

/// Runs a statement that yields at most one task row.
async fn fetch_optional(
    pool: &PgPool,
    statement: &impl SqlxBinder,
) -> Result<Option<Task>, StoreError> {
    let (sql, values) = build(statement);
    let row: Option<TaskRow> = sqlx::query_as_with(sql, values)
        .fetch_optional(pool)
        .await?;
    row.map(Task::try_from).transpose()
}

pub async fn find(pool: &PgPool, owner: UserId, id: TaskId) -> Result<Option<Task>, StoreError> {
    let statement = Query::select()
        .columns(TASK_COLUMNS)
        .from(Tasks::Table)
        .and_where(Expr::col(Tasks::Id).eq(id.0))
        .and_where(Expr::col(Tasks::OwnerId).eq(owner.0))
        .to_owned();
    fetch_optional(pool, &statement).await
}

/// Replaces the writable fields of the owner's task; `None` when there is no such task.
pub async fn replace(
    pool: &PgPool,
    owner: UserId,
    id: TaskId,
    draft: &TaskDraft,
) -> Result<Option<Task>, StoreError> {
    // A task that stays done keeps the time it was first completed.
    let completed_at = if draft.status.is_done() {
        Func::coalesce([Expr::col(Tasks::CompletedAt), Expr::current_timestamp()]).into()
    } else {
        no_timestamp()
    };
    let statement = Query::update()
        .table(Tasks::Table)
        .values(draft_values(draft))
        .value(Tasks::CompletedAt, completed_at)
        .value(Tasks::UpdatedAt, Expr::current_timestamp())
        .and_where(Expr::col(Tasks::Id).eq(id.0))
        .and_where(Expr::col(Tasks::OwnerId).eq(owner.0))
        .returning(Query::returning().columns(TASK_COLUMNS))
        .to_owned();
    fetch_optional(pool, &statement).await
}

/// Deletes the owner's task; `false` when there is no such task.
pub async fn delete(pool: &PgPool, owner: UserId, id: TaskId) -> Result<bool, StoreError> {
    let statement = Query::delete()
        .from_table(Tasks::Table)
        .and_where(Expr::col(Tasks::Id).eq(id.0))
        .and_where(Expr::col(Tasks::OwnerId).eq(owner.0))
        .to_owned();
    let (sql, values) = build(&statement);
    let result = sqlx::query_with(sql, values).execute(pool).await?;
    Ok(result.rows_affected() == 1)
}
