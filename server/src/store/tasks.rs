//! SQL for the `tasks` table. Ownership is part of every statement's `WHERE`: a task that
//! belongs to someone else is simply not found.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use sea_query::{Expr, ExprTrait, Iden, LockType, Order, Query, SelectStatement};
use sea_query_sqlx::SqlxBinder;
use sqlx::{FromRow, PgExecutor};
use uuid::Uuid;

use super::{build, execute};
use crate::{
    domain::{
        PageCursor, Task, TaskChange, TaskDescription, TaskId, TaskPriority, TaskStatus, TaskTitle,
        UserId, Version,
    },
    failure::Failure,
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
    Version,
}

const TASK_COLUMNS: [Tasks; 11] = [
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
    Tasks::Version,
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
    version: i64,
}

impl TryFrom<TaskRow> for Task {
    type Error = Failure;

    fn try_from(row: TaskRow) -> Result<Self, Failure> {
        let corrupt = |problem: String| Failure::internal("a stored task is invalid", problem);
        Ok(Self {
            id: TaskId(row.id),
            owner: UserId(row.owner_id),
            title: TaskTitle::parse(&row.title).map_err(corrupt)?,
            description: row
                .description
                .map(TaskDescription::parse)
                .transpose()
                .map_err(corrupt)?,
            status: TaskStatus::from_str(&row.status)
                .map_err(|_| corrupt(format!("status {:?}", row.status)))?,
            priority: TaskPriority::from_str(&row.priority)
                .map_err(|_| corrupt(format!("priority {:?}", row.priority)))?,
            due_at: row.due_at,
            completed_at: row.completed_at,
            created_at: row.created_at,
            updated_at: row.updated_at,
            version: Version(row.version),
        })
    }
}

/// The columns a change writes, with their values, in a fixed order.
fn changed_values(change: &TaskChange) -> [(Tasks, Expr); 7] {
    let draft = &change.draft;
    let status: &'static str = draft.status.into();
    let priority: &'static str = draft.priority.into();
    [
        (Tasks::Title, Expr::val(draft.title.as_str())),
        (
            Tasks::Description,
            Expr::val(draft.description.as_ref().map(|d| d.as_str().to_owned())),
        ),
        (Tasks::Status, Expr::val(status)),
        (Tasks::Priority, Expr::val(priority)),
        (Tasks::DueAt, Expr::val(draft.due_at.map(|due| due.get()))),
        (Tasks::CompletedAt, Expr::val(change.completed_at)),
        (Tasks::UpdatedAt, Expr::val(change.at)),
    ]
}

pub async fn insert(
    db: impl PgExecutor<'_>,
    owner: UserId,
    change: &TaskChange,
) -> Result<Task, Failure> {
    let identity = [
        (Tasks::Id, Expr::val(Uuid::now_v7())),
        (Tasks::OwnerId, Expr::val(owner.0)),
        (Tasks::CreatedAt, Expr::val(change.at)),
    ];
    let (columns, values): (Vec<Tasks>, Vec<Expr>) =
        identity.into_iter().chain(changed_values(change)).unzip();
    let statement = Query::insert()
        .into_table(Tasks::Table)
        .columns(columns)
        // As many values as columns: both come from the pairs above.
        .values_panic(values)
        .returning(Query::returning().columns(TASK_COLUMNS))
        .to_owned();
    let (sql, values) = build(&statement);
    let row: TaskRow = sqlx::query_as_with(sql, values).fetch_one(db).await?;
    row.try_into()
}

/// One page of the owner's tasks in listing order (newest first, ties by id), starting
/// after `after`.
pub async fn list(
    db: impl PgExecutor<'_>,
    owner: UserId,
    after: Option<PageCursor>,
    limit: u64,
) -> Result<Vec<Task>, Failure> {
    let statement = Query::select()
        .columns(TASK_COLUMNS)
        .from(Tasks::Table)
        .and_where(Expr::col(Tasks::OwnerId).eq(owner.0))
        .apply_if(after, |query, cursor| {
            // Row comparison keeps the keyset exact when timestamps tie.
            query.and_where(
                Expr::tuple([Expr::col(Tasks::CreatedAt), Expr::col(Tasks::Id)]).lt(Expr::tuple([
                    Expr::val(cursor.created_at),
                    Expr::val(cursor.id),
                ])),
            );
        })
        .order_by(Tasks::CreatedAt, Order::Desc)
        .order_by(Tasks::Id, Order::Desc)
        .limit(limit)
        .to_owned();
    let (sql, values) = build(&statement);
    let rows: Vec<TaskRow> = sqlx::query_as_with(sql, values).fetch_all(db).await?;
    rows.into_iter().map(Task::try_from).collect()
}

/// The owner's task with this id.
fn one(owner: UserId, id: TaskId) -> SelectStatement {
    Query::select()
        .columns(TASK_COLUMNS)
        .from(Tasks::Table)
        .and_where(Expr::col(Tasks::Id).eq(id.0))
        .and_where(Expr::col(Tasks::OwnerId).eq(owner.0))
        .to_owned()
}

/// Runs a statement that yields at most one task row.
async fn fetch_one_task(
    db: impl PgExecutor<'_>,
    statement: &impl SqlxBinder,
) -> Result<Option<Task>, Failure> {
    let (sql, values) = build(statement);
    let row: Option<TaskRow> = sqlx::query_as_with(sql, values).fetch_optional(db).await?;
    row.map(Task::try_from).transpose()
}

pub async fn find(
    db: impl PgExecutor<'_>,
    owner: UserId,
    id: TaskId,
) -> Result<Option<Task>, Failure> {
    fetch_one_task(db, &one(owner, id)).await
}

/// Like [`find`], and locks the row until the transaction `db` belongs to ends, so that
/// what is written next is based on what was read.
pub async fn find_for_update(
    db: impl PgExecutor<'_>,
    owner: UserId,
    id: TaskId,
) -> Result<Option<Task>, Failure> {
    fetch_one_task(db, &*one(owner, id).lock(LockType::Update)).await
}

/// Writes `change` over the owner's task, as its next version; `None` when there is no
/// such task.
pub async fn update(
    db: impl PgExecutor<'_>,
    owner: UserId,
    id: TaskId,
    change: &TaskChange,
) -> Result<Option<Task>, Failure> {
    let statement = Query::update()
        .table(Tasks::Table)
        .values(changed_values(change))
        .value(Tasks::Version, Expr::col(Tasks::Version).add(1))
        .and_where(Expr::col(Tasks::Id).eq(id.0))
        .and_where(Expr::col(Tasks::OwnerId).eq(owner.0))
        .returning(Query::returning().columns(TASK_COLUMNS))
        .to_owned();
    fetch_one_task(db, &statement).await
}

/// Deletes the owner's task; `false` when there is no such task.
pub async fn delete(db: impl PgExecutor<'_>, owner: UserId, id: TaskId) -> Result<bool, Failure> {
    let statement = Query::delete()
        .from_table(Tasks::Table)
        .and_where(Expr::col(Tasks::Id).eq(id.0))
        .and_where(Expr::col(Tasks::OwnerId).eq(owner.0))
        .to_owned();
    Ok(execute(db, &statement).await? == 1)
}
