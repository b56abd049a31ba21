//! SQL for `tags`, each user's tag vocabulary: one spelling per case-insensitive key.
//! Task rows carry the spellings (see `tasks`); every statement here is scoped to one
//! owner.

use sea_query::extension::postgres::PgExpr;
use sea_query::{Expr, ExprTrait, Func, Iden, LockType, OnConflict, Order, Query, SelectStatement};
use sqlx::{FromRow, PgExecutor};

use super::{execute, query_as, tasks::Tasks, timed};
use crate::{
    domain::{TagKey, TagName, TagSet, TagUse, UserId},
    failure::Failure,
};

#[derive(Iden)]
enum Tags {
    Table,
    OwnerId,
    Key,
    Name,
}

#[derive(FromRow)]
struct TagRow {
    key: String,
    name: String,
}

/// The owner's spellings of every name in `set`, adding the names the owner has not used
/// yet. Locks those vocabulary rows until the transaction `db` belongs to ends, so no
/// rename or deletion of them can interleave with the task being written.
pub async fn adopt(
    db: impl PgExecutor<'_>,
    owner: UserId,
    set: &TagSet,
) -> Result<TagSet, Failure> {
    let mut insert = Query::insert();
    insert
        .into_table(Tags::Table)
        .columns([Tags::OwnerId, Tags::Key, Tags::Name]);
    // The set is in key order, so concurrent writers lock rows in the same order.
    for name in set.names() {
        // Three columns, three values: cannot panic.
        insert.values_panic([
            owner.0.into(),
            name.key().as_str().into(),
            name.as_str().into(),
        ]);
    }
    insert
        .on_conflict(
            // Keeps the first spelling, and returns it (a no-op update locks and returns
            // the row; DO NOTHING would return nothing).
            OnConflict::columns([Tags::OwnerId, Tags::Key])
                .value(Tags::Name, Expr::col((Tags::Table, Tags::Name)))
                .to_owned(),
        )
        .returning(Query::returning().columns([Tags::Key, Tags::Name]));
    let rows: Vec<TagRow> = timed("tags.adopt", query_as(&insert).fetch_all(db)).await?;
    Ok(TagSet::stored(
        rows.into_iter().map(|row| row.name).collect(),
    ))
}

/// The owner's tags with these keys, locked for a rename or deletion until the
/// transaction `db` belongs to ends.
pub async fn find_for_update(
    db: impl PgExecutor<'_>,
    owner: UserId,
    keys: &[TagKey],
) -> Result<Vec<(TagKey, TagName)>, Failure> {
    let statement = Query::select()
        .columns([Tags::Key, Tags::Name])
        .from(Tags::Table)
        .and_where(Expr::col(Tags::OwnerId).eq(owner.0))
        .and_where(Expr::col(Tags::Key).is_in(keys.iter().map(TagKey::as_str)))
        .order_by(Tags::Key, Order::Asc)
        .lock(LockType::Update)
        .to_owned();
    let rows: Vec<TagRow> =
        timed("tags.find_for_update", query_as(&statement).fetch_all(db)).await?;
    Ok(rows
        .into_iter()
        .map(|row| (TagKey::stored(row.key), TagName::stored(row.name)))
        .collect())
}

/// Gives the owner's tag `key` the spelling `name` (whose key it may also change).
pub async fn rename(
    db: impl PgExecutor<'_>,
    owner: UserId,
    key: &TagKey,
    name: &TagName,
) -> Result<(), Failure> {
    let statement = Query::update()
        .table(Tags::Table)
        .value(Tags::Key, name.key().as_str())
        .value(Tags::Name, name.as_str())
        .and_where(Expr::col(Tags::OwnerId).eq(owner.0))
        .and_where(Expr::col(Tags::Key).eq(key.as_str()))
        .to_owned();
    execute("tags.rename", db, &statement).await?;
    Ok(())
}

/// Forgets the owner's tag `key`; its spelling, if there was one.
pub async fn delete(
    db: impl PgExecutor<'_>,
    owner: UserId,
    key: &TagKey,
) -> Result<Option<TagName>, Failure> {
    let statement = Query::delete()
        .from_table(Tags::Table)
        .and_where(Expr::col(Tags::OwnerId).eq(owner.0))
        .and_where(Expr::col(Tags::Key).eq(key.as_str()))
        .returning(Query::returning().column(Tags::Name))
        .to_owned();
    let name: Option<(String,)> =
        timed("tags.delete", query_as(&statement).fetch_optional(db)).await?;
    Ok(name.map(|(name,)| TagName::stored(name)))
}

#[derive(FromRow)]
struct TagUseRow {
    name: String,
    task_count: i64,
}

/// A count of the owner's tasks that carry the tag in the outer row.
fn tasks_carrying_outer_tag() -> SelectStatement {
    // `ARRAY[tags.name]`, built as `array_append('{}', tags.name)`: the containment is
    // what the tasks' GIN index answers.
    let carried = Func::cust("array_append")
        .arg(Expr::val(Vec::<String>::new()))
        .arg(Expr::col((Tags::Table, Tags::Name)));
    Query::select()
        .expr(Expr::col(Tasks::Id).count())
        .from(Tasks::Table)
        .and_where(Expr::col((Tasks::Table, Tasks::OwnerId)).equals((Tags::Table, Tags::OwnerId)))
        .and_where(Expr::col((Tasks::Table, Tasks::Tags)).contains(carried))
        .to_owned()
}

/// A page of the owner's tags in key order, after `after`, with their task counts.
pub async fn list(
    db: impl PgExecutor<'_>,
    owner: UserId,
    after: Option<&TagKey>,
    limit: u64,
) -> Result<Vec<TagUse>, Failure> {
    let statement = Query::select()
        .column(Tags::Name)
        .expr_as(
            Expr::SubQuery(None, Box::new(tasks_carrying_outer_tag().into())),
            "task_count",
        )
        .from(Tags::Table)
        .and_where(Expr::col(Tags::OwnerId).eq(owner.0))
        .apply_if(after, |query, after| {
            query.and_where(Expr::col(Tags::Key).gt(after.as_str()));
        })
        .order_by(Tags::Key, Order::Asc)
        .limit(limit)
        .to_owned();
    let rows: Vec<TagUseRow> = timed("tags.list", query_as(&statement).fetch_all(db)).await?;
    Ok(rows
        .into_iter()
        .map(|row| TagUse {
            name: TagName::stored(row.name),
            task_count: row.task_count,
        })
        .collect())
}

/// The owner's spellings of `keys`, for those the owner has.
pub async fn spellings(
    db: impl PgExecutor<'_>,
    owner: UserId,
    keys: &[TagKey],
) -> Result<Vec<TagName>, Failure> {
    let statement = Query::select()
        .column(Tags::Name)
        .from(Tags::Table)
        .and_where(Expr::col(Tags::OwnerId).eq(owner.0))
        .and_where(Expr::col(Tags::Key).is_in(keys.iter().map(TagKey::as_str)))
        .to_owned();
    let names: Vec<(String,)> = timed("tags.spellings", query_as(&statement).fetch_all(db)).await?;
    Ok(names
        .into_iter()
        .map(|(name,)| TagName::stored(name))
        .collect())
}
