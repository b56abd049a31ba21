//! SQL for the `tasks` table. Ownership is part of every statement's `WHERE`: a task that
//! belongs to someone else is simply not found.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use sea_query::{
    Cond, Condition, Expr, ExprTrait, Func, FunctionCall, Iden, LockType, Order, Query,
    SelectStatement, extension::postgres::PgExpr,
};
use serde::{Deserialize, Serialize};
use sqlx::{FromRow, PgExecutor};
use uuid::Uuid;

use super::{execute, fetch_optional, insert_row, query_as, timed};
use crate::{
    domain::{
        SortField, SortValue, TagName, TagSet, Task, TaskChange, TaskDescription, TaskFilter,
        TaskId, TaskListing, TaskPriority, TaskStatus, TaskTitle, UserId, Version,
    },
    failure::Failure,
};

#[derive(Iden)]
pub(super) enum Tasks {
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
    Tags,
    /// Generated: the priority as a number, urgent highest.
    PriorityRank,
    /// Generated: `due_at`, or infinity when there is none.
    DueKey,
    /// Generated: the words of title, description and tags (`tsvector`, `simple`).
    Search,
}

const TASK_COLUMNS: [Tasks; 12] = [
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
    Tasks::Tags,
];

/// A task row; also the snapshot an idempotency key keeps of the task it created.
#[derive(FromRow, Serialize, Deserialize)]
pub(super) struct TaskRow {
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
    tags: Vec<String>,
}

impl TryFrom<TaskRow> for Task {
    type Error = Failure;

    fn try_from(row: TaskRow) -> Result<Self, Failure> {
        let corrupt = |problem: String| Failure::internal("a stored task is invalid", problem);
        Ok(Self {
            id: TaskId(row.id),
            owner: UserId(row.owner_id),
            title: TaskTitle::parse(&row.title).map_err(corrupt)?,
            description: row.description.map(TaskDescription::new),
            status: TaskStatus::from_str(&row.status)
                .map_err(|_| corrupt(format!("status {:?}", row.status)))?,
            priority: TaskPriority::from_str(&row.priority)
                .map_err(|_| corrupt(format!("priority {:?}", row.priority)))?,
            due_at: row.due_at,
            completed_at: row.completed_at,
            tags: TagSet::stored(row.tags),
            created_at: row.created_at,
            updated_at: row.updated_at,
            version: Version(row.version),
        })
    }
}

impl From<&Task> for TaskRow {
    fn from(task: &Task) -> Self {
        Self {
            id: task.id.0,
            owner_id: task.owner.0,
            title: task.title.as_str().to_owned(),
            description: task.description.as_ref().map(|d| d.as_str().to_owned()),
            status: <&str>::from(task.status).to_owned(),
            priority: <&str>::from(task.priority).to_owned(),
            due_at: task.due_at,
            completed_at: task.completed_at,
            created_at: task.created_at,
            updated_at: task.updated_at,
            version: task.version.0,
            tags: task.tags.clone().into_strings(),
        }
    }
}

/// The columns a change writes, with their values, in a fixed order.
fn changed_values(change: &TaskChange) -> [(Tasks, Expr); 8] {
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
        (Tasks::Tags, Expr::val(draft.tags.clone().into_strings())),
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
    let statement = insert_row(
        Tasks::Table,
        identity.into_iter().chain(changed_values(change)),
    )
    .returning(Query::returning().columns(TASK_COLUMNS))
    .to_owned();
    let row: TaskRow = timed("tasks.insert", query_as(&statement).fetch_one(db)).await?;
    row.try_into()
}

/// A listing's filter in the owner's terms: the owner's spellings of its tags, and its
/// search as a `tsquery` over the owner's words (see [`owner_tsquery`]).
#[derive(Debug, Clone, Default)]
pub struct Spelled {
    pub tags: Vec<TagName>,
    pub search: Option<String>,
}

/// The words of `text` as the search document splits and lower-cases a task's text.
pub async fn search_words(db: impl PgExecutor<'_>, text: &str) -> Result<Vec<String>, Failure> {
    let document = Func::cust("to_tsvector")
        .arg(Expr::cust("'simple'::regconfig"))
        .arg(text);
    let statement = Query::select()
        .column("lexeme")
        .from_function(Func::cust("unnest").arg(document), "word")
        .to_owned();
    let words: Vec<(String,)> =
        timed("tasks.search_words", query_as(&statement).fetch_all(db)).await?;
    Ok(words.into_iter().map(|(word,)| word).collect())
}

/// A search for `words` (as the database split them) among the owner's tasks, as a
/// PostgreSQL `tsquery`: every word a prefix, of the owner's words only (the search
/// document stores each word as `<owner hex>_<word>`; see the migrations).
pub fn owner_tsquery(owner: UserId, words: &[String]) -> String {
    let owner = owner.0.simple();
    let prefixes: Vec<String> = words
        .iter()
        .map(|word| {
            // A quoted tsquery lexeme: quotes and backslashes are escaped by doubling.
            let escaped = word.replace('\\', "\\\\").replace('\'', "''");
            format!("'{owner}_{escaped}':*")
        })
        .collect();
    prefixes.join(" & ")
}

/// One page of the owner's tasks that `listing` asks for, in its order, at most `limit`;
/// `spelled` is its filter in the owner's terms.
pub async fn list(
    db: impl PgExecutor<'_>,
    owner: UserId,
    listing: &TaskListing,
    spelled: &Spelled,
    limit: u64,
) -> Result<Vec<Task>, Failure> {
    // How selective a tag or a search is decides the plan: walk the order's index until
    // the page is full (a common tag or word), or collect the matches from the GIN index
    // and sort them (a rare one). A prepared statement soon settles on one generic plan
    // that cannot tell, so these listings go unprepared and are planned with their values
    // (and the owner's, whose task count matters as much).
    let by_value = !listing.filter.tags.is_empty() || listing.filter.search.is_some();
    let mut statement = query_as(&list_statement(owner, listing, spelled, limit));
    if by_value {
        statement = statement.persistent(false);
    }
    let rows: Vec<TaskRow> = timed("tasks.list", statement.fetch_all(db)).await?;
    rows.into_iter().map(Task::try_from).collect()
}

/// The statement [`list`] runs; public so the benchmark can `EXPLAIN` exactly it.
pub fn list_statement(
    owner: UserId,
    listing: &TaskListing,
    spelled: &Spelled,
    limit: u64,
) -> SelectStatement {
    let key = sort_key(listing.order.field);
    let direction = || {
        if listing.order.descending() {
            Order::Desc
        } else {
            Order::Asc
        }
    };
    Query::select()
        .columns(TASK_COLUMNS)
        .from(Tasks::Table)
        .and_where(Expr::col(Tasks::OwnerId).eq(owner.0))
        .cond_where(filtered(&listing.filter, spelled))
        .apply_if(listing.after.as_ref(), |query, after| {
            // A row comparison keeps the keyset exact when sort values tie.
            let row = Expr::tuple([key.clone(), Expr::col(Tasks::Id)]);
            let last = Expr::tuple([sort_value(&after.value), Expr::val(after.id)]);
            query.and_where(if listing.order.descending() {
                row.lt(last)
            } else {
                row.gt(last)
            });
        })
        .order_by_expr(key.clone(), direction())
        .order_by(Tasks::Id, direction())
        .limit(limit)
        .to_owned()
}

/// What a listing sorts by; each has an index led by `owner_id` (see the migrations).
fn sort_key(field: SortField) -> Expr {
    match field {
        SortField::CreatedAt => Expr::col(Tasks::CreatedAt),
        SortField::UpdatedAt => Expr::col(Tasks::UpdatedAt),
        SortField::DueAt => Expr::col(Tasks::DueKey),
        SortField::Priority => Expr::col(Tasks::PriorityRank),
        SortField::Title => Func::lower(Expr::col(Tasks::Title)).into(),
    }
}

/// A sort value as [`sort_key`] compares it.
fn sort_value(value: &SortValue) -> Expr {
    match value {
        SortValue::Time(at) | SortValue::Due(Some(at)) => Expr::val(*at),
        SortValue::Due(None) => Expr::val("infinity").cast_as("timestamptz"),
        SortValue::Priority(priority) => Expr::val(priority_rank(*priority)),
        SortValue::Title(title) => Func::lower(Expr::val(title.as_str())).into(),
    }
}

/// A priority's rank, as the generated column `priority_rank` computes it.
fn priority_rank(priority: TaskPriority) -> i16 {
    match priority {
        TaskPriority::Low => 0,
        TaskPriority::Normal => 1,
        TaskPriority::High => 2,
        TaskPriority::Urgent => 3,
    }
}

/// The conditions of `filter`, all of which a listed task meets, with its tags and search
/// as `spelled` has them. Both are bound as values, not looked up in a subquery, so the
/// planner sees them and weighs how common they are: a common tag or word walks the sort
/// order's index, a rare one takes the GIN index.
fn filtered(filter: &TaskFilter, spelled: &Spelled) -> Condition {
    let done: &str = TaskStatus::Done.into();
    let overdue = || {
        Expr::col(Tasks::DueKey)
            .lt(Expr::current_timestamp())
            .and(Expr::col(Tasks::Status).ne(done))
    };
    Cond::all()
        .add_option((!filter.statuses.is_empty()).then(|| {
            Expr::col(Tasks::Status).is_in(filter.statuses.iter().map(|s| <&str>::from(*s)))
        }))
        .add_option((!filter.priorities.is_empty()).then(|| {
            Expr::col(Tasks::Priority).is_in(filter.priorities.iter().map(|p| <&str>::from(*p)))
        }))
        .add_option((!filter.tags.is_empty()).then(|| {
            let names: Vec<String> = spelled.tags.iter().map(|t| t.as_str().to_owned()).collect();
            Expr::col(Tasks::Tags).contains(Expr::val(names))
        }))
        .add_option(filter.due_before.map(|at| Expr::col(Tasks::DueAt).lt(at)))
        .add_option(filter.due_after.map(|at| Expr::col(Tasks::DueAt).gte(at)))
        .add_option(
            filter
                .overdue
                .map(|wanted| if wanted { overdue() } else { overdue().not() }),
        )
        .add_option(filter.has_due.map(|wanted| {
            if wanted {
                Expr::col(Tasks::DueAt).is_not_null()
            } else {
                Expr::col(Tasks::DueAt).is_null()
            }
        }))
        .add_option(
            filter
                .updated_since
                .map(|at| Expr::col(Tasks::UpdatedAt).gte(at)),
        )
        .add_option(spelled.search.as_ref().map(|query| {
            Expr::col(Tasks::Search).matches(Expr::val(query.as_str()).cast_as("tsquery"))
        }))
}

/// The owner's task with this id: ownership is part of every statement that names a task,
/// so another user's task is simply not found.
fn owned_task(owner: UserId, id: TaskId) -> Condition {
    Cond::all()
        .add(Expr::col(Tasks::Id).eq(id.0))
        .add(Expr::col(Tasks::OwnerId).eq(owner.0))
}

/// The owner's task with this id.
fn one(owner: UserId, id: TaskId) -> SelectStatement {
    Query::select()
        .columns(TASK_COLUMNS)
        .from(Tasks::Table)
        .cond_where(owned_task(owner, id))
        .to_owned()
}

pub async fn find(
    db: impl PgExecutor<'_>,
    owner: UserId,
    id: TaskId,
) -> Result<Option<Task>, Failure> {
    fetch_optional::<TaskRow, _>("tasks.find", db, &one(owner, id)).await
}

/// Like [`find`], and locks the row until the transaction `db` belongs to ends, so that
/// what is written next is based on what was read.
pub async fn find_for_update(
    db: impl PgExecutor<'_>,
    owner: UserId,
    id: TaskId,
) -> Result<Option<Task>, Failure> {
    fetch_optional::<TaskRow, _>(
        "tasks.find_for_update",
        db,
        &*one(owner, id).lock(LockType::Update),
    )
    .await
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
        .cond_where(owned_task(owner, id))
        .returning(Query::returning().columns(TASK_COLUMNS))
        .to_owned();
    fetch_optional::<TaskRow, _>("tasks.update", db, &statement).await
}

/// Deletes the owner's task; `false` when there is no such task.
pub async fn delete(db: impl PgExecutor<'_>, owner: UserId, id: TaskId) -> Result<bool, Failure> {
    let statement = Query::delete()
        .from_table(Tasks::Table)
        .cond_where(owned_task(owner, id))
        .to_owned();
    Ok(execute("tasks.delete", db, &statement).await? == 1)
}

/// The owner's tasks carrying every one of `names` (spelled as stored).
fn carrying(owner: UserId, names: &[&TagName]) -> Condition {
    let names: Vec<String> = names.iter().map(|name| name.as_str().to_owned()).collect();
    Cond::all()
        .add(Expr::col(Tasks::OwnerId).eq(owner.0))
        .add(Expr::col(Tasks::Tags).contains(Expr::val(names)))
}

/// Respells or renames tag `from` to `to` on every task of the owner that carries it; how
/// many tasks changed. The caller makes sure no task carries both.
pub async fn rename_tag(
    db: impl PgExecutor<'_>,
    owner: UserId,
    from: &TagName,
    to: &TagName,
    at: DateTime<Utc>,
) -> Result<u64, Failure> {
    let tags = Func::cust("array_replace")
        .arg(Expr::col(Tasks::Tags))
        .arg(from.as_str())
        .arg(to.as_str());
    rewrite_tags(db, owner, &[from], tags, at).await
}

/// Takes tag `name` off every task of the owner that carries it and all of `also`; how
/// many tasks changed.
pub async fn remove_tag(
    db: impl PgExecutor<'_>,
    owner: UserId,
    name: &TagName,
    also: &[&TagName],
    at: DateTime<Utc>,
) -> Result<u64, Failure> {
    let all: Vec<&TagName> = std::iter::once(name).chain(also.iter().copied()).collect();
    let tags = Func::cust("array_remove")
        .arg(Expr::col(Tasks::Tags))
        .arg(name.as_str());
    rewrite_tags(db, owner, &all, tags, at).await
}

/// Sets the tags of every task of the owner that carries all of `names` to `tags` (an
/// expression over the current ones), each as its next version, changed `at`; how many
/// tasks changed.
async fn rewrite_tags(
    db: impl PgExecutor<'_>,
    owner: UserId,
    names: &[&TagName],
    tags: FunctionCall,
    at: DateTime<Utc>,
) -> Result<u64, Failure> {
    let statement = Query::update()
        .table(Tasks::Table)
        .value(Tasks::Tags, tags)
        .value(Tasks::Version, Expr::col(Tasks::Version).add(1))
        .value(Tasks::UpdatedAt, Expr::val(at))
        .cond_where(carrying(owner, names))
        .to_owned();
    execute("tasks.rewrite_tags", db, &statement).await
}

/// How many of the owner's tasks carry tag `name` (spelled as stored).
pub async fn count_carrying(
    db: impl PgExecutor<'_>,
    owner: UserId,
    name: &TagName,
) -> Result<i64, Failure> {
    let statement = Query::select()
        .expr(Expr::col(Tasks::Id).count())
        .from(Tasks::Table)
        .cond_where(carrying(owner, &[name]))
        .to_owned();
    let (count,): (i64,) =
        timed("tasks.count_carrying", query_as(&statement).fetch_one(db)).await?;
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_queries_prefix_every_word_and_escape_quotes() {
        let owner = UserId(Uuid::from_u128(0xab));
        let hex = "000000000000000000000000000000ab";
        assert_eq!(
            owner_tsquery(owner, &["dent".to_owned(), "o'brien\\x".to_owned()]),
            format!("'{hex}_dent':* & '{hex}_o''brien\\\\x':*")
        );
    }
}
