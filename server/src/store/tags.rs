//! SQL for `tags`, each list's tag vocabulary: one spelling per case-insensitive key.
//! Task rows carry the spellings (see `tasks`); every statement here is scoped to the
//! lists it is given, which the service has checked the caller may read or change.

use sea_query::extension::postgres::{PgExpr, PgFunc};
use sea_query::{Expr, ExprTrait, Func, Iden, LockType, OnConflict, Order, Query, SelectStatement};
use sqlx::FromRow;
use uuid::Uuid;

use super::{Db, execute, query_as, tasks::Tasks, timed};
use crate::{
    domain::{ListId, TagKey, TagName, TagSet, TagUse},
    failure::Failure,
};

#[derive(Iden)]
enum Tags {
    Table,
    ListId,
    Key,
    Name,
}

#[derive(FromRow)]
struct TagRow {
    key: String,
    name: String,
}

/// The list's spellings of every name in `set`, adding the names the list has not used
/// yet. Locks those vocabulary rows until the transaction `db` belongs to ends, so no
/// rename or deletion of them can interleave with the task being written.
pub async fn adopt(db: impl Db<'_>, list: ListId, set: &TagSet) -> Result<TagSet, Failure> {
    let mut insert = Query::insert();
    insert
        .into_table(Tags::Table)
        .columns([Tags::ListId, Tags::Key, Tags::Name]);
    // The set is in key order, so concurrent writers lock rows in the same order.
    for name in set.names() {
        // Three columns, three values: cannot panic.
        insert.values_panic([
            list.0.into(),
            name.key().as_str().into(),
            name.as_str().into(),
        ]);
    }
    insert
        .on_conflict(
            // Keeps the first spelling, and returns it (a no-op update locks and returns
            // the row; DO NOTHING would return nothing).
            OnConflict::columns([Tags::ListId, Tags::Key])
                .value(Tags::Name, Expr::col((Tags::Table, Tags::Name)))
                .to_owned(),
        )
        .returning(Query::returning().columns([Tags::Key, Tags::Name]));
    let rows: Vec<TagRow> = timed("tags.adopt", query_as(&insert).fetch_all(db)).await?;
    Ok(TagSet::stored(
        rows.into_iter().map(|row| row.name).collect(),
    ))
}

/// The list's tags with these keys, locked for a rename or deletion until the
/// transaction `db` belongs to ends.
pub async fn find_for_update(
    db: impl Db<'_>,
    list: ListId,
    keys: &[TagKey],
) -> Result<Vec<(TagKey, TagName)>, Failure> {
    let statement = Query::select()
        .columns([Tags::Key, Tags::Name])
        .from(Tags::Table)
        .and_where(Expr::col(Tags::ListId).eq(list.0))
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

/// Gives the list's tag `key` the spelling `name` (whose key it may also change).
pub async fn rename(
    db: impl Db<'_>,
    list: ListId,
    key: &TagKey,
    name: &TagName,
) -> Result<(), Failure> {
    let statement = Query::update()
        .table(Tags::Table)
        .value(Tags::Key, name.key().as_str())
        .value(Tags::Name, name.as_str())
        .and_where(Expr::col(Tags::ListId).eq(list.0))
        .and_where(Expr::col(Tags::Key).eq(key.as_str()))
        .to_owned();
    execute("tags.rename", db, &statement).await?;
    Ok(())
}

/// Forgets the list's tag `key`; its spelling, if there was one.
pub async fn delete(
    db: impl Db<'_>,
    list: ListId,
    key: &TagKey,
) -> Result<Option<TagName>, Failure> {
    let statement = Query::delete()
        .from_table(Tags::Table)
        .and_where(Expr::col(Tags::ListId).eq(list.0))
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

/// `lists` as a condition on `column`.
fn in_lists(column: impl sea_query::IntoColumnRef, lists: &[ListId]) -> Expr {
    let ids: Vec<Uuid> = lists.iter().map(|list| list.0).collect();
    Expr::col(column).eq(PgFunc::any(Expr::val(ids)))
}

/// A count of the tasks of the outer row's list that carry its tag.
fn tasks_carrying_outer_tag() -> SelectStatement {
    // `ARRAY[tags.name]`, built as `array_append('{}', tags.name)`: the containment is
    // what the tasks' GIN index answers.
    let carried = Func::cust("array_append")
        .arg(Expr::val(Vec::<String>::new()))
        .arg(Expr::col((Tags::Table, Tags::Name)));
    Query::select()
        .expr(Expr::col(Tasks::Id).count())
        .from(Tasks::Table)
        .and_where(Expr::col((Tasks::Table, Tasks::ListId)).equals((Tags::Table, Tags::ListId)))
        .and_where(Expr::col((Tasks::Table, Tasks::Tags)).contains(carried))
        .to_owned()
}

/// A page of the tags of `lists` in key order, after `after`, each with how many of
/// their tasks carry it (a tag spelled differently in two lists is one, in the spelling
/// that sorts first).
pub async fn list(
    db: impl Db<'_>,
    lists: &[ListId],
    after: Option<&TagKey>,
    limit: u64,
) -> Result<Vec<TagUse>, Failure> {
    let per_list = Query::select()
        .columns([Tags::Key, Tags::Name])
        .expr_as(
            Expr::SubQuery(None, Box::new(tasks_carrying_outer_tag().into())),
            "task_count",
        )
        .from(Tags::Table)
        .and_where(in_lists(Tags::ListId, lists))
        .apply_if(after, |query, after| {
            query.and_where(Expr::col(Tags::Key).gt(after.as_str()));
        })
        .to_owned();
    let statement = Query::select()
        .expr_as(Expr::col("name").min(), "name")
        .expr_as(
            Expr::col("task_count").sum().cast_as("bigint"),
            "task_count",
        )
        .from_subquery(per_list, "per_list")
        .group_by_col("key")
        .order_by("key", Order::Asc)
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

/// For each of `keys`, the spellings `lists` give it; an empty list for a key none of
/// them has.
pub async fn spellings(
    db: impl Db<'_>,
    lists: &[ListId],
    keys: &[TagKey],
) -> Result<Vec<Vec<TagName>>, Failure> {
    let statement = Query::select()
        .columns([Tags::Key, Tags::Name])
        .from(Tags::Table)
        .and_where(in_lists(Tags::ListId, lists))
        .and_where(Expr::col(Tags::Key).is_in(keys.iter().map(TagKey::as_str)))
        .to_owned();
    let rows: Vec<TagRow> = timed("tags.spellings", query_as(&statement).fetch_all(db)).await?;
    Ok(keys
        .iter()
        .map(|key| {
            let mut names: Vec<TagName> = (rows.iter())
                .filter(|row| row.key == key.as_str())
                .map(|row| TagName::stored(row.name.clone()))
                .collect();
            names.dedup();
            names
        })
        .collect())
}

/// How many of the list's tasks carry tag `name` (spelled as stored).
pub async fn count_carrying(db: impl Db<'_>, list: ListId, name: &TagName) -> Result<i64, Failure> {
    let statement = Query::select()
        .expr(Expr::col(Tasks::Id).count())
        .from(Tasks::Table)
        .and_where(Expr::col(Tasks::ListId).eq(list.0))
        .and_where(Expr::col(Tasks::Tags).contains(Expr::val(vec![name.as_str().to_owned()])))
        .to_owned();
    let (count,): (i64,) = timed("tags.count_carrying", query_as(&statement).fetch_one(db)).await?;
    Ok(count)
}
