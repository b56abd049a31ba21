//! SQL for the change feed: the `changes` log the triggers write (see the migration
//! `20261204000001_create_change_feed`), read one page per statement.
//!
//! A read is always in a snapshot: the statement's own, or the one a round of pages was
//! begun in (`target`). What a client has is what was visible in a snapshot (`seen`); what
//! it is sent next is every change visible in `target` but not in `seen`, each item as it
//! is now. A change of who may see a list (`user_id` set) brings the list along with all
//! its tasks: as they are, when the caller can see the list; as tombstones, when not.

use sea_query::{
    Cond, Expr, ExprTrait, Func, Iden, JoinType, Order, Query, SelectStatement, UnionType,
};
use sqlx::{FromRow, PgConnection};
use uuid::Uuid;

use super::{
    execute,
    lists::{self, Access, ListColumns, Lists},
    query_as, query_scalar,
    tasks::{TaskRow, Tasks},
    timed,
};
use crate::{
    domain::{
        Change, ChangePosition, ItemPosition, ListId, Snapshot, SyncState, Task, TaskId, UserId,
    },
    failure::Failure,
};

#[derive(Iden, Clone, Copy)]
enum Changes {
    Table,
    Seq,
    Txid,
    ListId,
    TaskId,
    UserId,
    At,
}

#[derive(Iden)]
enum ChangeHorizon {
    Table,
    Txid,
}

/// The names the page statement gives its parts and its columns.
#[derive(Iden, Clone, Copy)]
enum Sync {
    Snap,
    Scope,
    Logged,
    Rows,
    Expansion,
    Items,
    ItemTask,
    ItemList,
    Sub,
    IsList,
    Target,
    CurrentXmax,
    Horizon,
    TaskState,
    ListState,
}

/// What a page reads: a full sync, or the changes since a snapshot.
pub struct PageRequest<'a> {
    pub caller: UserId,
    pub state: Option<&'a SyncState>,
    /// At most this many items (the page and one to look ahead).
    pub limit: u64,
}

/// A page as read: its items in order, each with its position, and what the statement saw.
pub struct PageRead {
    pub items: Vec<(Position, Change)>,
    /// The snapshot the page was read in (`target`).
    pub target: Snapshot,
    /// The newest transaction id the database had handed out, as of the read.
    pub current_xmax: u64,
    /// The purge's horizon (see the migration).
    pub horizon: u64,
}

/// Where an item of a page stands.
#[derive(Debug, Clone, Copy)]
pub enum Position {
    Full(ItemPosition),
    Since(ChangePosition),
}

#[derive(FromRow)]
struct PageRow {
    target: String,
    current_xmax: String,
    horizon: String,
    txid: Option<String>,
    seq: Option<i64>,
    sub: Option<Uuid>,
    item_list: Option<Uuid>,
    item_task: Option<Uuid>,
    is_list: Option<bool>,
    task_state: Option<String>,
    list_state: Option<String>,
    role: Option<String>,
}

/// Reads one page of the feed, in one statement.
pub async fn page(db: &mut PgConnection, request: &PageRequest<'_>) -> Result<PageRead, Failure> {
    let statement = page_statement(request);
    let rows: Vec<PageRow> = timed("sync.page", query_as(&statement).fetch_all(db)).await?;
    let corrupt = |what: &'static str, detail: String| Failure::internal(what, detail);
    let first = rows
        .first()
        .ok_or_else(|| corrupt("a sync page read no snapshot", String::new()))?;
    let number = |text: &str| {
        text.parse::<u64>()
            .map_err(|_| corrupt("a transaction id is invalid", text.to_owned()))
    };
    let target = Snapshot::parse(&first.target)
        .map_err(|problem| corrupt("a snapshot is invalid", problem))?;
    let (current_xmax, horizon) = (number(&first.current_xmax)?, number(&first.horizon)?);
    let mut items = Vec::with_capacity(rows.len());
    for row in rows {
        let (Some(list), Some(sub), Some(is_list)) = (row.item_list, row.sub, row.is_list) else {
            continue;
        };
        let position = match (&row.txid, row.seq) {
            (Some(txid), Some(seq)) => Position::Since(ChangePosition {
                txid: number(txid)?,
                seq,
                sub,
            }),
            _ => Position::Full(ItemPosition { list, sub }),
        };
        let change = if is_list {
            let seen = match (row.list_state, row.role) {
                (Some(state), Some(role)) => {
                    let columns: ListColumns = serde_json::from_str(&state)
                        .map_err(|error| corrupt("a list read as JSON", error.to_string()))?;
                    Some(columns.seen_as(lists::stored_role(&role)?)?)
                }
                _ => None,
            };
            Change::List(ListId(list), seen)
        } else {
            let id = row
                .item_task
                .ok_or_else(|| corrupt("a task change names no task", list.to_string()))?;
            let seen = match row.task_state {
                Some(state) => {
                    let task: TaskRow = serde_json::from_str(&state)
                        .map_err(|error| corrupt("a task read as JSON", error.to_string()))?;
                    Some(Task::try_from(task)?)
                }
                None => None,
            };
            Change::Task(TaskId(id), seen)
        };
        items.push((position, change));
    }
    Ok(PageRead {
        items,
        target,
        current_xmax,
        horizon,
    })
}

/// A transaction id as SQL (`xid8`).
fn xid(id: u64) -> Expr {
    Expr::val(id.to_string()).cast_as("xid8")
}

fn snapshot(snapshot: &Snapshot) -> Expr {
    Expr::val(snapshot.to_string()).cast_as("pg_snapshot")
}

/// Whether the transaction `txid` is visible in `snapshot`.
fn visible(txid: Expr, snapshot: Expr) -> Expr {
    Func::cust("pg_visible_in_snapshot")
        .arg(txid)
        .arg(snapshot)
        .into()
}

/// The statement [`page`] runs (public for the tests of its plans).
pub fn page_statement(request: &PageRequest<'_>) -> SelectStatement {
    let caller = request.caller;
    // The snapshot of a round begun earlier, or the statement's own.
    let target = match request.state {
        Some(SyncState::Full { target, .. })
        | Some(SyncState::Since {
            round: Some((target, _)),
            ..
        }) => snapshot(target),
        _ => Func::cust("pg_current_snapshot").into(),
    };
    let items = match request.state {
        None => full_items(caller, None, request.limit),
        Some(SyncState::Full { after, .. }) => full_items(caller, Some(after), request.limit),
        Some(SyncState::Since { seen, round }) => {
            let after = round.as_ref().map(|(_, after)| after);
            changed_items(caller, seen, &target, after, request.limit)
        }
    };
    let horizon = Query::select()
        .expr(Expr::col(ChangeHorizon::Txid).cast_as("text"))
        .from(ChangeHorizon::Table)
        .to_owned();
    let current = Func::cust("pg_current_snapshot");
    let snap = Query::select()
        .expr_as(target.clone().cast_as("text"), Sync::Target)
        .expr_as(
            Expr::from(Func::cust("pg_snapshot_xmax").arg(current)).cast_as("text"),
            Sync::CurrentXmax,
        )
        .expr_as(
            Expr::SubQuery(None, Box::new(horizon.into())),
            Sync::Horizon,
        )
        .to_owned();
    let visible_lists = Query::select()
        .column(Access::ListId)
        .from_subquery(lists::roles_of(caller), Access::Table)
        .to_owned();
    Query::select()
        .columns([Sync::Target, Sync::CurrentXmax, Sync::Horizon].map(|c| (Sync::Snap, c)))
        .expr_as(
            Expr::col((Sync::Items, Changes::Txid)).cast_as("text"),
            Changes::Txid,
        )
        .column((Sync::Items, Changes::Seq))
        .columns(
            [Sync::Sub, Sync::IsList, Sync::ItemList, Sync::ItemTask].map(|c| (Sync::Items, c)),
        )
        .expr_as(
            Expr::cust(r#"(to_jsonb("task_state") - 'search')::text"#),
            Sync::TaskState,
        )
        .expr_as(
            Expr::cust(r#"to_jsonb("list_state")::text"#),
            Sync::ListState,
        )
        .column((Access::Table, Access::Role))
        .from_subquery(snap, Sync::Snap)
        .join_subquery(JoinType::LeftJoin, items, Sync::Items, Expr::val(true))
        .join_as(
            JoinType::LeftJoin,
            Tasks::Table,
            Sync::TaskState,
            Cond::all()
                .add(Expr::col((Sync::Items, Sync::IsList)).not())
                .add(Expr::col((Sync::TaskState, Tasks::Id)).equals((Sync::Items, Sync::ItemTask)))
                .add(Expr::col((Sync::TaskState, Tasks::ListId)).in_subquery(visible_lists)),
        )
        .join_subquery(
            JoinType::LeftJoin,
            lists::roles_of(caller),
            Access::Table,
            Cond::all().add(Expr::col((Sync::Items, Sync::IsList))).add(
                Expr::col((Access::Table, Access::ListId)).equals((Sync::Items, Sync::ItemList)),
            ),
        )
        .join_as(
            JoinType::LeftJoin,
            Lists::Table,
            Sync::ListState,
            Expr::col((Sync::ListState, Lists::Id)).equals((Access::Table, Access::ListId)),
        )
        .order_by((Sync::Items, Changes::Txid), Order::Asc)
        .order_by((Sync::Items, Changes::Seq), Order::Asc)
        .order_by((Sync::Items, Sync::ItemList), Order::Asc)
        .order_by((Sync::Items, Sync::Sub), Order::Asc)
        .to_owned()
}

/// A full sync's items after `after`: each list the caller can see, then its tasks by
/// id; at most `limit`.
fn full_items(caller: UserId, after: Option<&ItemPosition>, limit: u64) -> SelectStatement {
    let after = after.copied().unwrap_or(ItemPosition {
        list: Uuid::nil(),
        sub: Uuid::nil(),
    });
    let list_id = || Expr::col((Access::Table, Access::ListId));
    let mut lists_part = Query::select();
    lists_part
        .expr_as(Expr::cust("NULL::xid8"), Changes::Txid)
        .expr_as(Expr::cust("NULL::bigint"), Changes::Seq)
        .expr_as(list_id(), Sync::ItemList)
        .expr_as(Expr::val(Uuid::nil()), Sync::Sub)
        .expr_as(Expr::cust("NULL::uuid"), Sync::ItemTask)
        .expr_as(Expr::val(true), Sync::IsList)
        .from_subquery(lists::roles_of(caller), Access::Table)
        .and_where(list_id().gt(after.list));
    let in_order = Query::select()
        .columns([Tasks::ListId, Tasks::Id])
        .from(Tasks::Table)
        .and_where(Expr::col(Tasks::ListId).equals((Access::Table, Access::ListId)))
        .and_where(
            Expr::tuple([Expr::col(Tasks::ListId), Expr::col(Tasks::Id)])
                .gt(Expr::tuple([Expr::val(after.list), Expr::val(after.sub)])),
        )
        .order_by(Tasks::Id, Order::Asc)
        .limit(limit)
        .to_owned();
    let tasks_part = Query::select()
        .expr_as(Expr::cust("NULL::xid8"), Changes::Txid)
        .expr_as(Expr::cust("NULL::bigint"), Changes::Seq)
        .expr_as(Expr::col((Sync::Expansion, Tasks::ListId)), Sync::ItemList)
        .expr_as(Expr::col((Sync::Expansion, Tasks::Id)), Sync::Sub)
        .expr_as(Expr::col((Sync::Expansion, Tasks::Id)), Sync::ItemTask)
        .expr_as(Expr::val(false), Sync::IsList)
        .from_subquery(lists::roles_of(caller), Access::Table)
        .join_lateral(
            JoinType::InnerJoin,
            in_order,
            Sync::Expansion,
            Expr::val(true),
        )
        .and_where(list_id().gte(after.list))
        .to_owned();
    lists_part.union(UnionType::All, tasks_part);
    Query::select()
        .column(sea_query::Asterisk)
        .from_subquery(lists_part, Sync::Rows)
        .order_by(Sync::ItemList, Order::Asc)
        .order_by(Sync::Sub, Order::Asc)
        .limit(limit)
        .to_owned()
}

/// The items of the changes visible in `target` and not in `seen`, after `after`; at most
/// `limit`.
fn changed_items(
    caller: UserId,
    seen: &Snapshot,
    target: &Expr,
    after: Option<&ChangePosition>,
    limit: u64,
) -> SelectStatement {
    let fresh = |table: Changes| {
        let txid = || Expr::col((table, Changes::Txid));
        Cond::all()
            .add(txid().gte(xid(seen.xmin)))
            .add(visible(txid(), snapshot(seen)).not())
            .add(visible(txid(), target.clone()))
    };
    let position = |sub: Expr| {
        after.map(|after| {
            Expr::tuple([
                Expr::col((Sync::Rows, Changes::Txid)),
                Expr::col((Sync::Rows, Changes::Seq)),
                sub,
            ])
            .gt(Expr::tuple([
                xid(after.txid),
                Expr::val(after.seq),
                Expr::val(after.sub),
            ]))
        })
    };
    // The lists whose changes concern the caller: those they see now, and those whose
    // access changed for them since `seen` (which they may have lost), up to now rather
    // than to `target`: a list lost after a round began is still read to its end.
    let mut scope = Query::select()
        .column(Access::ListId)
        .from_subquery(lists::roles_of(caller), Access::Table)
        .to_owned();
    let since_seen = Cond::all()
        .add(Expr::col((Changes::Table, Changes::Txid)).gte(xid(seen.xmin)))
        .add(visible(Expr::col((Changes::Table, Changes::Txid)), snapshot(seen)).not());
    scope.union(
        UnionType::Distinct,
        Query::select()
            .expr_as(Expr::col((Changes::Table, Changes::ListId)), Access::ListId)
            .from(Changes::Table)
            .and_where(Expr::col((Changes::Table, Changes::UserId)).eq(caller.0))
            .cond_where(since_seen)
            .to_owned(),
    );
    // Each list's changes in order from its index, the first `limit + 1` of each (each
    // change is at least one item, but the first may be the one the previous page ended
    // in, with nothing left of it); then merged.
    let columns = [
        Changes::Seq,
        Changes::Txid,
        Changes::ListId,
        Changes::TaskId,
        Changes::UserId,
    ];
    let of_list = Query::select()
        .columns(columns)
        .from(Changes::Table)
        .and_where(
            Expr::col((Changes::Table, Changes::ListId)).equals((Sync::Scope, Access::ListId)),
        )
        .cond_where(fresh(Changes::Table))
        // Others' access to a list is not the caller's news.
        .cond_where(
            Cond::any()
                .add(Expr::col((Changes::Table, Changes::TaskId)).is_not_null())
                .add(Expr::col((Changes::Table, Changes::UserId)).is_null())
                .add(Expr::col((Changes::Table, Changes::UserId)).eq(caller.0)),
        )
        .apply_if(after, |query, after| {
            query.and_where(
                Expr::tuple([
                    Expr::col((Changes::Table, Changes::Txid)),
                    Expr::col((Changes::Table, Changes::Seq)),
                ])
                .gte(Expr::tuple([xid(after.txid), Expr::val(after.seq)])),
            );
        })
        .order_by((Changes::Table, Changes::Txid), Order::Asc)
        .order_by((Changes::Table, Changes::Seq), Order::Asc)
        .limit(limit + 1)
        .to_owned();
    let rows = Query::select()
        .columns(columns.map(|c| (Sync::Logged, c)))
        .from_subquery(scope, Sync::Scope)
        .join_lateral(JoinType::InnerJoin, of_list, Sync::Logged, Expr::val(true))
        .order_by((Sync::Logged, Changes::Txid), Order::Asc)
        .order_by((Sync::Logged, Changes::Seq), Order::Asc)
        .limit(limit + 1)
        .to_owned();
    // Each change is one item (the task, or the list), but a change of the caller's
    // access to a list is the list and then each of its tasks.
    let mut expansion = Query::select()
        .expr_as(Expr::val(Uuid::nil()), Sync::Sub)
        .expr_as(Expr::col((Sync::Rows, Changes::TaskId)), Sync::ItemTask)
        .expr_as(
            Expr::col((Sync::Rows, Changes::TaskId)).is_null(),
            Sync::IsList,
        )
        .to_owned();
    let tasks_of_list = Query::select()
        .expr_as(Expr::col(Tasks::Id), Sync::Sub)
        .expr_as(Expr::col(Tasks::Id), Sync::ItemTask)
        .expr_as(Expr::val(false), Sync::IsList)
        .from(Tasks::Table)
        .and_where(Expr::col((Sync::Rows, Changes::TaskId)).is_null())
        .and_where(Expr::col((Sync::Rows, Changes::UserId)).eq(caller.0))
        .and_where(Expr::col((Tasks::Table, Tasks::ListId)).equals((Sync::Rows, Changes::ListId)))
        // Within the change the previous page ended in, after its last task (a bound on
        // the `(list_id, id)` index); after any other, from the first.
        .and_where_option(after.map(|after| {
            let resumed = Expr::tuple([
                Expr::col((Sync::Rows, Changes::Txid)),
                Expr::col((Sync::Rows, Changes::Seq)),
            ])
            .eq(Expr::tuple([xid(after.txid), Expr::val(after.seq)]));
            let from = Expr::case(resumed, Expr::val(after.sub)).finally(Expr::val(Uuid::nil()));
            Expr::col((Tasks::Table, Tasks::Id)).gt(from)
        }))
        .order_by((Tasks::Table, Tasks::Id), Order::Asc)
        .limit(limit)
        .to_owned();
    expansion.union(UnionType::All, tasks_of_list);
    Query::select()
        .columns([Changes::Txid, Changes::Seq].map(|c| (Sync::Rows, c)))
        .expr_as(Expr::col((Sync::Rows, Changes::ListId)), Sync::ItemList)
        .columns([Sync::Sub, Sync::ItemTask, Sync::IsList].map(|c| (Sync::Expansion, c)))
        .from_subquery(rows, Sync::Rows)
        .join_lateral(
            JoinType::InnerJoin,
            expansion,
            Sync::Expansion,
            Expr::val(true),
        )
        .and_where_option(position(Expr::col((Sync::Expansion, Sync::Sub))))
        .order_by((Sync::Rows, Changes::Txid), Order::Asc)
        .order_by((Sync::Rows, Changes::Seq), Order::Asc)
        .order_by((Sync::Expansion, Sync::Sub), Order::Asc)
        .limit(limit)
        .to_owned()
}

/// Deletes the changes older than `ttl` and moves the horizon past them; how many. Found
/// in transaction order (the log's `txid` index): every change before the first one still
/// within its lifetime is older than it, so no index on the changes' time is kept.
pub async fn purge(db: &mut PgConnection, ttl: std::time::Duration) -> Result<u64, Failure> {
    let cutoff = Expr::cust_with_values("now() - make_interval(secs => $1)", [ttl.as_secs_f64()]);
    let first_kept = Query::select()
        .expr(Expr::col(Changes::Txid).cast_as("text"))
        .from(Changes::Table)
        .and_where(Expr::col(Changes::At).gte(cutoff.clone()))
        .order_by(Changes::Txid, Order::Asc)
        .limit(1)
        .to_owned();
    let first_kept: Option<String> = timed(
        "sync.purge_horizon",
        query_scalar(&first_kept).fetch_optional(&mut *db),
    )
    .await?;
    // The newest change older than the lifetime before the first one kept: the horizon.
    // (Older by time too: a change committed since the first read is not taken for one.)
    let old = || Expr::col(Changes::At).lt(cutoff.clone());
    let mut newest = Query::select()
        .expr(Expr::col(Changes::Txid).max().cast_as("text"))
        .from(Changes::Table)
        .and_where(old())
        .to_owned();
    if let Some(first_kept) = &first_kept {
        newest.and_where(Expr::col(Changes::Txid).lt(xid(txid_number(first_kept)?)));
    }
    let newest: Option<String> = timed(
        "sync.purge_horizon",
        query_scalar(&newest).fetch_one(&mut *db),
    )
    .await?;
    let newest = newest.as_deref().map(txid_number).transpose()?;
    let Some(newest) = newest.filter(|newest| *newest > 0) else {
        return Ok(0);
    };
    // First the horizon, then the rows up to it: a change purged is always behind it.
    let horizon = Query::update()
        .table(ChangeHorizon::Table)
        .value(
            ChangeHorizon::Txid,
            Func::greatest([Expr::col(ChangeHorizon::Txid), xid(newest)]),
        )
        .to_owned();
    execute("sync.move_horizon", &mut *db, &horizon).await?;
    let purge = Query::delete()
        .from_table(Changes::Table)
        .and_where(Expr::col(Changes::Txid).lte(xid(newest)))
        .and_where(old())
        .to_owned();
    execute("sync.purge", &mut *db, &purge).await
}

fn txid_number(text: &str) -> Result<u64, Failure> {
    text.parse()
        .map_err(|_| Failure::internal("a transaction id is invalid", text.to_owned()))
}

/// The channel servers announce committed changes on, one notification per list or person
/// they concern (its id); no other program should use it.
pub const CHANNEL: &str = "taskapi_changes";

/// The snapshot a statement run now is in: a position that has seen everything committed.
pub async fn current_snapshot(db: &mut PgConnection) -> Result<Snapshot, Failure> {
    let statement = Query::select()
        .expr(Expr::expr(Func::cust("pg_current_snapshot")).cast_as("text"))
        .to_owned();
    let text: String = timed(
        "sync.current_snapshot",
        query_scalar(&statement).fetch_one(db),
    )
    .await?;
    Snapshot::parse(&text).map_err(|problem| Failure::internal("a snapshot is invalid", problem))
}

/// Announces on [`CHANNEL`], to every server, the lists and people that changes committed
/// since `seen` (not visible in it) concern, in one statement; gives the snapshot it read
/// in, which the next call starts from. Not in the writes themselves: a transaction that
/// notifies holds a lock every other notifying commit waits for (migration
/// `20261205000001_announce_changes`).
pub async fn announce(db: &mut PgConnection, seen: &Snapshot) -> Result<Snapshot, Failure> {
    let fresh = |column: Changes| {
        Query::select()
            .expr_as(Expr::col(column), Sync::Sub)
            .from(Changes::Table)
            .and_where(Expr::col(Changes::Txid).gte(xid(seen.xmin)))
            .and_where(visible(Expr::col(Changes::Txid), snapshot(seen)).not())
            .and_where(Expr::col(column).is_not_null())
            .to_owned()
    };
    let concerned = fresh(Changes::ListId)
        .union(UnionType::Distinct, fresh(Changes::UserId))
        .to_owned();
    let notify = Func::cust("pg_notify")
        .arg(CHANNEL)
        .arg(Expr::col(Sync::Sub).cast_as("text"));
    let notified = Query::select()
        .expr(Expr::expr(notify).count())
        .from_subquery(concerned, Sync::Scope)
        .to_owned();
    let statement = Query::select()
        .expr(Expr::expr(Func::cust("pg_current_snapshot")).cast_as("text"))
        .expr(Expr::SubQuery(
            None,
            Box::new(sea_query::SubQueryStatement::SelectStatement(notified)),
        ))
        .to_owned();
    let (text, _notified): (String, i64) =
        timed("sync.announce", query_as(&statement).fetch_one(db)).await?;
    Snapshot::parse(&text).map_err(|problem| Failure::internal("a snapshot is invalid", problem))
}
