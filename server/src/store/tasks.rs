//! SQL for the `tasks` table. A task is read for a user only through the lists they can
//! see ([`lists::roles_of`]): a task in any other list is simply not found.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use sea_query::{
    Asterisk, Cond, Condition, Expr, ExprTrait, Func, FunctionCall, Iden, JoinType, LockType,
    Order, Query, SelectStatement, UnionType,
    extension::postgres::{PgBinOper, PgExpr, PgFunc},
};
use serde::{Deserialize, Serialize};
use sqlx::{FromRow, PgConnection};
use uuid::Uuid;

use super::{
    Db, delete_where, execute, insert_row,
    lists::{self, Access},
    query_as, timed,
};
use crate::{
    domain::{
        ListId, ListRole, SortField, SortValue, TagName, TagSet, Task, TaskChange, TaskDescription,
        TaskFilter, TaskId, TaskListing, TaskPriority, TaskStatus, TaskTitle, UserId, Version,
    },
    failure::Failure,
};

#[derive(Iden)]
pub(super) enum Tasks {
    Table,
    Id,
    ListId,
    AssigneeId,
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

const TASK_COLUMNS: [Tasks; 13] = [
    Tasks::Id,
    Tasks::ListId,
    Tasks::AssigneeId,
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
    list_id: Uuid,
    assignee_id: Option<Uuid>,
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
            list: ListId(row.list_id),
            assignee: row.assignee_id.map(UserId),
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
            list_id: task.list.0,
            assignee_id: task.assignee.map(|user| user.0),
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
fn changed_values(change: &TaskChange) -> [(Tasks, Expr); 10] {
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
        (Tasks::ListId, Expr::val(change.placement.list.0)),
        (
            Tasks::AssigneeId,
            Expr::val(change.placement.assignee.map(|user| user.0)),
        ),
    ]
}

pub async fn insert(db: impl Db<'_>, change: &TaskChange) -> Result<Task, Failure> {
    let identity = [
        (Tasks::Id, Expr::val(Uuid::now_v7())),
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

/// A listing's filter in the terms of the lists it reads: the spellings those lists give
/// its tags, and the words of its search as the database splits them.
#[derive(Debug, Clone, Default)]
pub struct Spelled {
    /// For each tag asked for, every spelling of it in the lists read.
    pub tags: Vec<Vec<TagName>>,
    /// The words searched for, if there is a search (see [`lists_tsquery`]).
    pub words: Option<Vec<String>>,
}

/// The words of `text` as the search document splits and lower-cases a task's text.
pub async fn search_words(db: impl Db<'_>, text: &str) -> Result<Vec<String>, Failure> {
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

/// A search for `words` (as the database split them) among the tasks of `lists`, as a
/// PostgreSQL `tsquery`: in any of the lists, every word a prefix of a word of that list
/// (the search document stores each word as `<list hex>_<word>`; see the migrations).
pub fn lists_tsquery(lists: &[ListId], words: &[String]) -> String {
    let of_list = |list: &ListId| {
        let list = list.0.simple();
        let prefixes: Vec<String> = words
            .iter()
            .map(|word| {
                // A quoted tsquery lexeme: quotes and backslashes are escaped by doubling.
                let escaped = word.replace('\\', "\\\\").replace('\'', "''");
                format!("'{list}_{escaped}':*")
            })
            .collect();
        format!("({})", prefixes.join(" & "))
    };
    lists.iter().map(of_list).collect::<Vec<_>>().join(" | ")
}

/// How many tasks a listing with a tag, a search or an assignee reads in its order,
/// looking for a page of matches, before it collects every match from the indexes
/// instead (see [`list`]).
pub const WALK: u64 = 1_000;

/// How many index scans a listing of several lists merges at most: one per list up to
/// this many lists, and as many groups of lists beyond (each group read and sorted).
pub const MERGED_LISTS: usize = 64;

/// The statements a listing runs; public so the benchmark can `EXPLAIN` exactly them.
pub struct ListStatements {
    /// The listing (prepared once per connection); or with a tag, a search or an
    /// assignee, the matches among the first [`WALK`] tasks in its order (planned with
    /// its values).
    pub first: SelectStatement,
    /// With a tag, a search or an assignee, run when `first` found less than a page:
    /// every match, collected from the indexes and sorted. Planned with its values.
    pub then: Option<SelectStatement>,
}

/// One page of the tasks of `lists` that `listing` asks for, in its order, at most
/// `limit`; `spelled` is its filter in those lists' terms and `caller` who `assignee=me`
/// is.
///
/// Each list's tasks are read in order from the sort's index, and the lists merged. A
/// tag, a search or an assignee could make that walk as long as the lists: a common word
/// fills the page within a few rows, a rare or absent one never does. So the walk stops
/// after [`WALK`] tasks, and when it has not filled the page, the matches are collected
/// from the GIN indexes (the assignee's index for an assignee alone: few matches, or the
/// walk would have found a page) and sorted. Each step is bounded by its shape, not by
/// the planner's estimates, which right after a bulk import have no statistics behind
/// them.
pub async fn list(
    db: &mut PgConnection,
    caller: UserId,
    lists: &[ListId],
    listing: &TaskListing,
    spelled: &Spelled,
    limit: u64,
) -> Result<Vec<Task>, Failure> {
    let statements = list_statements(caller, lists, listing, spelled, limit);
    let mut first = query_as(&statements.first);
    if statements.then.is_some() {
        // A walk is planned with its values: a generic plan estimates every list at the
        // average list's size, and for a walk of [`WALK`] tasks through a list that big
        // sorts the list whole instead (42 ms for one of 100,000 tasks).
        first = first.persistent(false);
    }
    let mut rows: Vec<TaskRow> = timed("tasks.list", first.fetch_all(&mut *db)).await?;
    if let Some(then) = statements.then
        && (rows.len() as u64) < limit
    {
        let then = query_as(&then).persistent(false);
        rows = timed("tasks.list_matches", then.fetch_all(&mut *db)).await?;
    }
    rows.into_iter().map(Task::try_from).collect()
}

/// The statements [`list`] runs.
pub fn list_statements(
    caller: UserId,
    lists: &[ListId],
    listing: &TaskListing,
    spelled: &Spelled,
    limit: u64,
) -> ListStatements {
    let plain = filtered(caller, &listing.filter);
    // What may match few of many tasks: a tag, a search, an assignee.
    let selective =
        !spelled.tags.is_empty() || spelled.words.is_some() || listing.filter.assignee.is_some();
    if !selective {
        let in_order = |group: &[ListId]| plain.clone().add(in_lists(group));
        return ListStatements {
            first: merged(lists, listing, limit, Read::InOrder, in_order),
            then: None,
        };
    }
    // The walk: the first tasks of the lists in order, whatever the filter, and among
    // them the matches; a search compares each task with its own list's words.
    let walk = merged(lists, listing, WALK, Read::InOrderForFilter, in_lists);
    let mut first = Query::select();
    first
        .columns(TASK_COLUMNS)
        .column(Merge::SortKey)
        .from_subquery(walk, Merge::Walked)
        .cond_where(
            plain
                .clone()
                .add(tagged(spelled))
                .add_option((spelled.words.as_ref()).map(|words| searched_per_task(lists, words))),
        );
    ordered(&mut first, Expr::col(Merge::SortKey), listing, limit);
    // The matches: a search reads its lists' entries of the search index, with no
    // condition on `list_id` that could lead the planner to its B-tree instead (each
    // entry names its list, see `lists_tsquery`); a tag or an assignee, with `list_id`,
    // the `(list_id, tags)` or the assignee's index.
    let then = merged(lists, listing, limit, Read::Collected, |group| {
        let matching = plain.clone().add(tagged(spelled));
        match &spelled.words {
            Some(words) => matching.add(searched(group, words)),
            None => matching.add(in_lists(group)),
        }
    });
    ListStatements {
        first,
        then: Some(then),
    }
}

/// The names [`merged`] gives its sort key and its subqueries.
#[derive(Iden)]
enum Merge {
    SortKey,
    Walked,
    Matches,
    FirstList,
    Lists,
}

/// How [`merged`] reads each list (or group of lists).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Read {
    /// In order from the sort's index, up to the limit.
    InOrder,
    /// The same, with the columns a filter around reads beyond the task's own (its
    /// search document and its due key).
    InOrderForFilter,
    /// Every task meeting the condition, from whichever index the planner prefers for
    /// the values, then sorted: a fence (`OFFSET 0`) keeps the planner from walking the
    /// sort's index instead, the walk the statement is the alternative to.
    Collected,
}

/// The tasks of `lists` (not empty) meeting `condition` (given a group of lists: which
/// of its tasks), in the listing's order, at most `limit`, with their sort key as
/// [`Merge::SortKey`]. One list is read one way (see [`Read`]); several are merged from
/// one read each, at most [`MERGED_LISTS`].
fn merged(
    lists: &[ListId],
    listing: &TaskListing,
    limit: u64,
    read: Read,
    condition: impl Fn(&[ListId]) -> Condition,
) -> SelectStatement {
    let key = sort_key(listing.order.field);
    let group_size = lists.len().div_ceil(MERGED_LISTS).max(1);
    let mut branches = lists.chunks(group_size).map(|group| {
        let mut branch = Query::select();
        branch
            .columns(TASK_COLUMNS)
            .expr_as(key.clone(), Merge::SortKey)
            .apply_if(
                (read == Read::InOrderForFilter).then_some([Tasks::Search, Tasks::DueKey]),
                |query, columns| {
                    query.columns(columns);
                },
            )
            .from(Tasks::Table)
            .cond_where(condition(group))
            .apply_if(listing.after.as_ref(), |query, after| {
                // A row comparison keeps the keyset exact when sort values tie.
                let row = Expr::tuple([key.clone(), Expr::col(Tasks::Id)]);
                let last = Expr::tuple([sort_value(&after.value), Expr::val(after.id)]);
                query.and_where(if listing.order.descending() {
                    row.lt(last)
                } else {
                    row.gt(last)
                });
            });
        if read == Read::Collected {
            branch.offset(0);
            let mut sorted = Query::select();
            sorted
                .column(Asterisk)
                .from_subquery(branch, Merge::Matches);
            ordered(&mut sorted, Expr::col(Merge::SortKey), listing, limit);
            return sorted;
        }
        ordered(&mut branch, key.clone(), listing, limit);
        branch
    });
    let first = branches.next().expect("a listing reads at least one list");
    let rest: Vec<SelectStatement> = branches.collect();
    if rest.is_empty() {
        return first;
    }
    // The first branch is parenthesised as a subquery of its own: a union's first select
    // would otherwise lose its `ORDER BY` and `LIMIT` to the union.
    let mut union = Query::select();
    union
        .column(Asterisk)
        .from_subquery(first, Merge::FirstList)
        .unions(rest.into_iter().map(|branch| (UnionType::All, branch)));
    let mut merged = Query::select();
    merged.column(Asterisk).from_subquery(union, Merge::Lists);
    ordered(&mut merged, Expr::col(Merge::SortKey), listing, limit);
    merged
}

/// Orders `statement` by `key` and the task id, as the listing asks, and keeps `limit`.
fn ordered(statement: &mut SelectStatement, key: Expr, listing: &TaskListing, limit: u64) {
    let direction = || {
        if listing.order.descending() {
            Order::Desc
        } else {
            Order::Asc
        }
    };
    statement
        .order_by_expr(key, direction())
        .order_by(Tasks::Id, direction())
        .limit(limit);
}

/// The tasks of `lists`.
fn in_lists(lists: &[ListId]) -> Condition {
    Cond::all().add(match lists {
        [list] => Expr::col(Tasks::ListId).eq(list.0),
        several => Expr::col(Tasks::ListId).eq(PgFunc::any(Expr::val(
            several.iter().map(|list| list.0).collect::<Vec<Uuid>>(),
        ))),
    })
}

/// What a listing sorts by; each has an index led by `list_id` (see the migrations).
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

/// The conditions of `filter` other than its tags and search, all of which a listed
/// task meets; each is cheap to check on a task read in order.
fn filtered(caller: UserId, filter: &TaskFilter) -> Condition {
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
        .add_option(
            filter
                .assignee
                .map(|assignee| Expr::col(Tasks::AssigneeId).eq(assignee.resolve(caller).0)),
        )
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
}

/// The tags of a filter, as `spelled` has them: each in any of its spellings (lists may
/// spell one tag differently), bound as a value for the planner to see.
fn tagged(spelled: &Spelled) -> Condition {
    spelled.tags.iter().fold(Cond::all(), |all, spellings| {
        let names: Vec<String> = spellings.iter().map(|t| t.as_str().to_owned()).collect();
        all.add(Expr::col(Tasks::Tags).binary(PgBinOper::Overlap, Expr::val(names)))
    })
}

/// A search for `words` among tasks of `lists`, each task compared with its own list's
/// query (`CASE` on its `list_id`): for tasks already read, where one query over every
/// list would be evaluated whole for each.
fn searched_per_task(lists: &[ListId], words: &[String]) -> Condition {
    let query = |list: &ListId| {
        Expr::val(lists_tsquery(std::slice::from_ref(list), words)).cast_as("tsquery")
    };
    let of_list = |list: &ListId| Expr::col(Tasks::ListId).eq(list.0);
    match lists {
        [] | [_] => searched(lists, words),
        [first, rest @ ..] => {
            let case = (rest.iter())
                .fold(Expr::case(of_list(first), query(first)), |case, list| {
                    case.case(of_list(list), query(list))
                });
            Cond::all().add(Expr::col(Tasks::Search).matches(case))
        }
    }
}

/// A search for `words` among the tasks of `lists`, as a constant `tsquery` the search
/// index answers.
fn searched(lists: &[ListId], words: &[String]) -> Condition {
    let query = lists_tsquery(lists, words);
    Cond::all().add(Expr::col(Tasks::Search).matches(Expr::val(query).cast_as("tsquery")))
}

/// The task with this id, with `user`'s role in its list, if they can see it.
fn seen_by(user: UserId, id: TaskId) -> SelectStatement {
    Query::select()
        .columns(TASK_COLUMNS.map(|column| (Tasks::Table, column)))
        .column((Access::Table, Access::Role))
        .from(Tasks::Table)
        .join_subquery(
            JoinType::InnerJoin,
            lists::roles_of(user),
            Access::Table,
            Expr::col((Access::Table, Access::ListId)).equals((Tasks::Table, Tasks::ListId)),
        )
        .and_where(Expr::col((Tasks::Table, Tasks::Id)).eq(id.0))
        .to_owned()
}

/// A task row with the reader's role in its list.
#[derive(FromRow)]
struct SeenRow {
    #[sqlx(flatten)]
    task: TaskRow,
    role: String,
}

async fn fetch_seen(
    operation: &'static str,
    db: impl Db<'_>,
    statement: &SelectStatement,
) -> Result<Option<(Task, ListRole)>, Failure> {
    let row: Option<SeenRow> = timed(operation, query_as(statement).fetch_optional(db)).await?;
    row.map(|row| Ok((row.task.try_into()?, lists::stored_role(&row.role)?)))
        .transpose()
}

/// The task, with `user`'s role in its list, if they can see it.
pub async fn find(
    db: impl Db<'_>,
    user: UserId,
    id: TaskId,
) -> Result<Option<(Task, ListRole)>, Failure> {
    fetch_seen("tasks.find", db, &seen_by(user, id)).await
}

/// Like [`find`], and locks the task's row until the transaction `db` belongs to ends, so
/// that what is written next is based on what was read.
pub async fn find_for_update(
    db: impl Db<'_>,
    user: UserId,
    id: TaskId,
) -> Result<Option<(Task, ListRole)>, Failure> {
    let statement = seen_by(user, id)
        .lock_with_tables(LockType::Update, [Tasks::Table])
        .to_owned();
    fetch_seen("tasks.find_for_update", db, &statement).await
}

/// Writes `change` over the task as its next version. The caller has read it locked, with
/// the right to change it, in the same transaction.
pub async fn update(db: impl Db<'_>, id: TaskId, change: &TaskChange) -> Result<Task, Failure> {
    let statement = Query::update()
        .table(Tasks::Table)
        .values(changed_values(change))
        .value(Tasks::Version, Expr::col(Tasks::Version).add(1))
        .and_where(Expr::col(Tasks::Id).eq(id.0))
        .returning(Query::returning().columns(TASK_COLUMNS))
        .to_owned();
    let row: TaskRow = timed("tasks.update", query_as(&statement).fetch_one(db)).await?;
    row.try_into()
}

/// Deletes the task. The caller has read it locked, with the right to delete it, in the
/// same transaction.
pub async fn delete(db: impl Db<'_>, id: TaskId) -> Result<u64, Failure> {
    let task = Expr::col(Tasks::Id).eq(id.0);
    delete_where("tasks.delete", db, Tasks::Table, task).await
}

/// Unassigns `user` from every task of the list (they are leaving it), each as its next
/// version, changed `at`.
pub async fn unassign(
    db: impl Db<'_>,
    list: ListId,
    user: UserId,
    at: DateTime<Utc>,
) -> Result<u64, Failure> {
    let statement = Query::update()
        .table(Tasks::Table)
        .value(Tasks::AssigneeId, Expr::val(None::<Uuid>))
        .value(Tasks::Version, Expr::col(Tasks::Version).add(1))
        .value(Tasks::UpdatedAt, Expr::val(at))
        .and_where(Expr::col(Tasks::ListId).eq(list.0))
        .and_where(Expr::col(Tasks::AssigneeId).eq(user.0))
        .to_owned();
    execute("tasks.unassign", db, &statement).await
}

/// The list's tasks carrying every one of `names` (spelled as stored).
fn carrying(list: ListId, names: &[&TagName]) -> Condition {
    let names: Vec<String> = names.iter().map(|name| name.as_str().to_owned()).collect();
    Cond::all()
        .add(Expr::col(Tasks::ListId).eq(list.0))
        .add(Expr::col(Tasks::Tags).contains(Expr::val(names)))
}

/// Respells or renames tag `from` to `to` on every task of the list that carries it; how
/// many tasks changed. The caller makes sure no task carries both.
pub async fn rename_tag(
    db: impl Db<'_>,
    list: ListId,
    from: &TagName,
    to: &TagName,
    at: DateTime<Utc>,
) -> Result<u64, Failure> {
    let tags = Func::cust("array_replace")
        .arg(Expr::col(Tasks::Tags))
        .arg(from.as_str())
        .arg(to.as_str());
    rewrite_tags(db, list, &[from], tags, at).await
}

/// Takes tag `name` off every task of the list that carries it and all of `also`; how
/// many tasks changed.
pub async fn remove_tag(
    db: impl Db<'_>,
    list: ListId,
    name: &TagName,
    also: &[&TagName],
    at: DateTime<Utc>,
) -> Result<u64, Failure> {
    let all: Vec<&TagName> = std::iter::once(name).chain(also.iter().copied()).collect();
    let tags = Func::cust("array_remove")
        .arg(Expr::col(Tasks::Tags))
        .arg(name.as_str());
    rewrite_tags(db, list, &all, tags, at).await
}

/// Sets the tags of every task of the list that carries all of `names` to `tags` (an
/// expression over the current ones), each as its next version, changed `at`; how many
/// tasks changed.
async fn rewrite_tags(
    db: impl Db<'_>,
    list: ListId,
    names: &[&TagName],
    tags: FunctionCall,
    at: DateTime<Utc>,
) -> Result<u64, Failure> {
    let statement = Query::update()
        .table(Tasks::Table)
        .value(Tasks::Tags, tags)
        .value(Tasks::Version, Expr::col(Tasks::Version).add(1))
        .value(Tasks::UpdatedAt, Expr::val(at))
        .cond_where(carrying(list, names))
        .to_owned();
    execute("tasks.rewrite_tags", db, &statement).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_queries_prefix_every_word_and_escape_quotes() {
        let (one, two) = (ListId(Uuid::from_u128(0xab)), ListId(Uuid::from_u128(0xcd)));
        let (a, b) = (
            "000000000000000000000000000000ab",
            "000000000000000000000000000000cd",
        );
        let words = ["dent".to_owned(), "o'brien\\x".to_owned()];
        assert_eq!(
            lists_tsquery(&[one], &words),
            format!("('{a}_dent':* & '{a}_o''brien\\\\x':*)")
        );
        assert_eq!(
            lists_tsquery(&[one, two], &words[..1]),
            format!("('{a}_dent':*) | ('{b}_dent':*)")
        );
    }
}
