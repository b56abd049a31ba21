//! SQL for `lists` and `list_members`. Who can see a list is part of every statement that
//! reads one: [`roles_of`] is the one definition of it, which the task statements use too.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use sea_query::{
    Expr, ExprTrait, Iden, LockType, OnConflict, Order, Query, SelectStatement, UnionType,
};
use sqlx::FromRow;
use uuid::Uuid;

use super::{
    Db, Found, delete_where, execute, fetch_optional, insert_row, page_in_creation_order, query_as,
    timed, users::Users,
};
use crate::{
    domain::{
        Email, List, ListDescription, ListDraft, ListId, ListName, ListRole, Member, PageCursor,
        UserId, Version,
    },
    failure::Failure,
};

#[derive(Iden, Clone, Copy)]
pub(super) enum Lists {
    Table,
    Id,
    OwnerId,
    Name,
    Description,
    IsInbox,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(Iden, Clone, Copy)]
pub(super) enum ListMembers {
    Table,
    ListId,
    UserId,
    Role,
    CreatedAt,
}

/// The columns of [`roles_of`]'s rows, as other statements join them.
#[derive(Iden, Clone, Copy)]
pub(super) enum Access {
    /// The alias the roles are joined under.
    Table,
    ListId,
    Role,
}

const LIST_COLUMNS: [Lists; 8] = [
    Lists::Id,
    Lists::OwnerId,
    Lists::Name,
    Lists::Description,
    Lists::IsInbox,
    Lists::Version,
    Lists::CreatedAt,
    Lists::UpdatedAt,
];

/// `(list_id, role)` of every list `user` can see: the lists they own, and those shared
/// with them. Every statement that reads a list or a task for a user joins this, so what
/// they cannot see is simply not found.
pub(super) fn roles_of(user: UserId) -> SelectStatement {
    let owner: &'static str = ListRole::Owner.into();
    let shared = Query::select()
        .expr_as(Expr::col(ListMembers::ListId), Access::ListId)
        .expr_as(Expr::col(ListMembers::Role), Access::Role)
        .from(ListMembers::Table)
        .and_where(Expr::col(ListMembers::UserId).eq(user.0))
        .to_owned();
    Query::select()
        .expr_as(Expr::col(Lists::Id), Access::ListId)
        .expr_as(Expr::val(owner), Access::Role)
        .from(Lists::Table)
        .and_where(Expr::col(Lists::OwnerId).eq(user.0))
        .union(UnionType::All, shared)
        .to_owned()
}

/// A role as stored, or what is wrong with it.
pub(super) fn stored_role(role: &str) -> Result<ListRole, Failure> {
    ListRole::from_str(role)
        .map_err(|_| Failure::internal("a stored role is invalid", format!("{role:?}")))
}

/// A list row, as `RETURNING` gives it (with no role to join), or as JSON (`to_jsonb`).
#[derive(FromRow, serde::Deserialize)]
pub(super) struct ListColumns {
    id: Uuid,
    owner_id: Uuid,
    name: String,
    description: Option<String>,
    is_inbox: bool,
    version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// A list row with the role of the member who reads it.
#[derive(FromRow)]
struct ListRow {
    #[sqlx(flatten)]
    list: ListColumns,
    role: String,
}

impl TryFrom<ListRow> for List {
    type Error = Failure;

    fn try_from(row: ListRow) -> Result<Self, Failure> {
        row.list.seen_as(stored_role(&row.role)?)
    }
}

impl ListColumns {
    /// The list as a member with `role` sees it.
    pub(super) fn seen_as(self, role: ListRole) -> Result<List, Failure> {
        Ok(List {
            id: ListId(self.id),
            owner: UserId(self.owner_id),
            name: ListName::parse(&self.name)
                .map_err(|problem| Failure::internal("a stored list is invalid", problem))?,
            description: self.description.map(ListDescription::new),
            created_at: self.created_at,
            updated_at: self.updated_at,
            inbox: self.is_inbox,
            role,
            version: Version(self.version),
        })
    }
}

/// A new list owned by `owner` (its Inbox, when `inbox`), made `at`.
pub async fn insert(
    db: impl Db<'_>,
    owner: UserId,
    draft: &ListDraft,
    inbox: bool,
    at: DateTime<Utc>,
) -> Result<List, Failure> {
    let statement = insert_row(
        Lists::Table,
        [
            (Lists::Id, Expr::val(Uuid::now_v7())),
            (Lists::OwnerId, Expr::val(owner.0)),
            (Lists::IsInbox, Expr::val(inbox)),
            (Lists::CreatedAt, Expr::val(at)),
        ]
        .into_iter()
        .chain(written(draft, at)),
    )
    .returning(Query::returning().columns(LIST_COLUMNS))
    .to_owned();
    let row: ListColumns = timed("lists.insert", query_as(&statement).fetch_one(db)).await?;
    row.seen_as(ListRole::Owner)
}

/// The columns a draft writes, with the time of the change.
fn written(draft: &ListDraft, at: DateTime<Utc>) -> [(Lists, Expr); 3] {
    [
        (Lists::Name, Expr::val(draft.name.as_str())),
        (
            Lists::Description,
            Expr::val(draft.description.as_ref().map(|d| d.as_str().to_owned())),
        ),
        (Lists::UpdatedAt, Expr::val(at)),
    ]
}

/// The id of `user`'s Inbox.
pub async fn inbox(db: impl Db<'_>, user: UserId) -> Result<Option<ListId>, Failure> {
    let statement = Query::select()
        .column(Lists::Id)
        .from(Lists::Table)
        .and_where(Expr::col(Lists::OwnerId).eq(user.0))
        .and_where(Expr::col(Lists::IsInbox))
        .to_owned();
    let id: Option<(Uuid,)> = timed("lists.inbox", query_as(&statement).fetch_optional(db)).await?;
    Ok(id.map(|(id,)| ListId(id)))
}

/// The lists `user` can see, each with their role, as rows of `lists` and `access`.
fn visible(user: UserId) -> SelectStatement {
    Query::select()
        .columns(LIST_COLUMNS.map(|column| (Lists::Table, column)))
        .column((Access::Table, Access::Role))
        .from(Lists::Table)
        .join_subquery(
            sea_query::JoinType::InnerJoin,
            roles_of(user),
            Access::Table,
            Expr::col((Access::Table, Access::ListId)).equals((Lists::Table, Lists::Id)),
        )
        .to_owned()
}

/// The list, with `user`'s role, if they can see it; locked until the transaction `db`
/// belongs to ends when `lock`, so that changes to the list, its members and its
/// ownership are made one after another.
pub async fn find(db: impl Db<'_>, user: UserId, id: ListId, lock: bool) -> Found<List> {
    let mut statement = visible(user)
        .and_where(Expr::col((Lists::Table, Lists::Id)).eq(id.0))
        .to_owned();
    if lock {
        statement.lock_with_tables(LockType::Update, [Lists::Table]);
    }
    fetch_optional::<ListRow, _>("lists.find", db, &statement).await
}

/// Locks the list's row until the transaction `db` belongs to ends (whoever the caller
/// is: for a change of membership, which changes of ownership also lock it for).
pub async fn lock(db: impl Db<'_>, id: ListId) -> Result<(), Failure> {
    let statement = Query::select()
        .column(Lists::Id)
        .from(Lists::Table)
        .and_where(Expr::col(Lists::Id).eq(id.0))
        .lock(LockType::Update)
        .to_owned();
    timed(
        "lists.lock",
        query_as::<(Uuid,)>(&statement).fetch_optional(db),
    )
    .await?;
    Ok(())
}

/// Every list `user` can see, with their role; few enough to hold (one per membership).
pub async fn roles(db: impl Db<'_>, user: UserId) -> Result<Vec<(ListId, ListRole)>, Failure> {
    let statement = Query::select()
        .columns([Access::ListId, Access::Role])
        .from_subquery(roles_of(user), Access::Table)
        .order_by(Access::ListId, Order::Asc)
        .to_owned();
    let rows: Vec<(Uuid, String)> =
        timed("lists.roles", query_as(&statement).fetch_all(db)).await?;
    rows.into_iter()
        .map(|(id, role)| Ok((ListId(id), stored_role(&role)?)))
        .collect()
}

/// One page of the lists `user` can see, oldest first (so their Inbox leads), after
/// `after`.
pub async fn list(db: impl Db<'_>, user: UserId, window: Window) -> Result<Vec<List>, Failure> {
    let order = ((Lists::Table, Lists::CreatedAt), (Lists::Table, Lists::Id));
    oldest_first::<ListRow, _, _>("lists.list", db, visible(user), order, window).await
}

/// Writes `draft` over `list` as its next version, seen as `list`'s reader sees it.
pub async fn update(
    db: impl Db<'_>,
    list: &List,
    draft: &ListDraft,
    at: DateTime<Utc>,
) -> Result<List, Failure> {
    let statement = Query::update()
        .table(Lists::Table)
        .values(written(draft, at))
        .value(Lists::Version, Expr::col(Lists::Version).add(1))
        .and_where(Expr::col(Lists::Id).eq(list.id.0))
        .returning(Query::returning().columns(LIST_COLUMNS))
        .to_owned();
    let row: ListColumns = timed("lists.update", query_as(&statement).fetch_one(db)).await?;
    row.seen_as(list.role)
}

/// Makes `user` the list's owner, as its next version, changed `at`.
pub async fn set_owner(
    db: impl Db<'_>,
    id: ListId,
    user: UserId,
    at: DateTime<Utc>,
) -> Result<(), Failure> {
    let statement = Query::update()
        .table(Lists::Table)
        .value(Lists::OwnerId, user.0)
        .value(Lists::UpdatedAt, at)
        .value(Lists::Version, Expr::col(Lists::Version).add(1))
        .and_where(Expr::col(Lists::Id).eq(id.0))
        .to_owned();
    execute("lists.set_owner", db, &statement).await?;
    Ok(())
}

#[derive(FromRow)]
struct MemberRow {
    user_id: Uuid,
    email: String,
    role: String,
    since: DateTime<Utc>,
}

impl TryFrom<MemberRow> for Member {
    type Error = Failure;

    fn try_from(row: MemberRow) -> Result<Self, Failure> {
        Ok(Self {
            user: UserId(row.user_id),
            email: Email::parse(&row.email)
                .map_err(|problem| Failure::internal("a stored account is invalid", problem))?,
            role: stored_role(&row.role)?,
            since: row.since,
        })
    }
}

/// The columns of [`MemberRow`] as the members' subquery names them.
#[derive(Iden, Clone, Copy)]
enum Membership {
    Table,
    UserId,
    Role,
    Since,
}

/// The list's members, its owner included, with their emails, as rows of `membership`
/// and `users`.
fn membership(id: ListId) -> SelectStatement {
    let owner: &'static str = ListRole::Owner.into();
    let others = Query::select()
        .expr_as(Expr::col(ListMembers::UserId), Membership::UserId)
        .expr_as(Expr::col(ListMembers::Role), Membership::Role)
        .expr_as(Expr::col(ListMembers::CreatedAt), Membership::Since)
        .from(ListMembers::Table)
        .and_where(Expr::col(ListMembers::ListId).eq(id.0))
        .to_owned();
    let everyone = Query::select()
        .expr_as(Expr::col(Lists::OwnerId), Membership::UserId)
        .expr_as(Expr::val(owner), Membership::Role)
        .expr_as(Expr::col(Lists::CreatedAt), Membership::Since)
        .from(Lists::Table)
        .and_where(Expr::col(Lists::Id).eq(id.0))
        .union(UnionType::All, others)
        .to_owned();
    Query::select()
        .columns(
            [Membership::UserId, Membership::Role, Membership::Since]
                .map(|column| (Membership::Table, column)),
        )
        .column((Users::Table, Users::Email))
        .from_subquery(everyone, Membership::Table)
        .inner_join(
            Users::Table,
            Expr::col((Users::Table, Users::Id)).equals((Membership::Table, Membership::UserId)),
        )
        .to_owned()
}

/// One page of the list's members, its owner included, longest-standing first (the
/// owner, from when the list was made, leads), after `after`.
pub async fn members(db: impl Db<'_>, id: ListId, window: Window) -> Result<Vec<Member>, Failure> {
    let order = (Membership::Since, Membership::UserId);
    oldest_first::<MemberRow, _, _>("lists.members", db, membership(id), order, window).await
}

/// A page of `statement`'s rows, oldest first (by the creation time and id of `order`),
/// `window` after, each checked into a `T`.
async fn oldest_first<Row, T, C>(
    operation: &'static str,
    db: impl Db<'_>,
    mut statement: SelectStatement,
    order: (C, C),
    (limit, after): Window,
) -> Result<Vec<T>, Failure>
where
    Row: for<'r> FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin,
    T: TryFrom<Row, Error = Failure>,
    C: sea_query::IntoColumnRef + Copy,
{
    page_in_creation_order(&mut statement, order, after, limit, Order::Asc);
    let rows: Vec<Row> = timed(operation, query_as(&statement).fetch_all(db)).await?;
    rows.into_iter().map(T::try_from).collect()
}

/// How many rows a page holds (with its lookahead), and the position it starts after.
pub type Window = (u64, Option<PageCursor>);

/// One member of the list (its owner, too), if `user` is one.
pub async fn member(db: impl Db<'_>, id: ListId, user: UserId) -> Found<Member> {
    let statement = membership(id)
        .and_where(Expr::col(Membership::UserId).eq(user.0))
        .to_owned();
    fetch_optional::<MemberRow, _>("lists.member", db, &statement).await
}

/// Makes `user` a member with `role` (an editor or viewer), or gives an existing member
/// that role.
pub async fn put_member(
    db: impl Db<'_>,
    id: ListId,
    user: UserId,
    role: ListRole,
    at: DateTime<Utc>,
) -> Result<(), Failure> {
    let role: &'static str = role.into();
    let statement = insert_row(
        ListMembers::Table,
        [
            (ListMembers::ListId, Expr::val(id.0)),
            (ListMembers::UserId, Expr::val(user.0)),
            (ListMembers::Role, Expr::val(role)),
            (ListMembers::CreatedAt, Expr::val(at)),
        ],
    )
    .on_conflict(
        OnConflict::columns([ListMembers::ListId, ListMembers::UserId])
            .update_column(ListMembers::Role)
            .to_owned(),
    )
    .to_owned();
    execute("lists.put_member", db, &statement).await?;
    Ok(())
}

/// Ends `user`'s membership of the list (not its ownership); whether they were a member.
pub async fn remove_member(db: impl Db<'_>, id: ListId, user: UserId) -> Result<bool, Failure> {
    let membership = Expr::col(ListMembers::ListId)
        .eq(id.0)
        .and(Expr::col(ListMembers::UserId).eq(user.0));
    Ok(delete_where("lists.remove_member", db, ListMembers::Table, membership).await? == 1)
}

/// Deletes the list, and with it its tasks, tags, members and invitations.
pub async fn delete(db: impl Db<'_>, id: ListId) -> Result<u64, Failure> {
    let list = Expr::col(Lists::Id).eq(id.0);
    delete_where("lists.delete", db, Lists::Table, list).await
}
