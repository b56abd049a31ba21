//! SQL for `invitations`: offers of a role on a list to whoever has an email address.
//! They are found by the address's comparison key, so an invitation waits for an account
//! that registers with it; an expired one is as good as gone.

use chrono::{DateTime, Utc};
use sea_query::{Expr, ExprTrait, Iden, OnConflict, Query, SelectStatement};
use sqlx::FromRow;
use uuid::Uuid;

use super::{
    Db, delete_expired, fetch_optional, insert_row, lists::Lists, lists::stored_role,
    page_newest_first, query_as, timed, users::Users,
};
use crate::{
    domain::{Email, Invitation, InvitationId, ListId, ListName, PageCursor, SharedRole, UserId},
    failure::Failure,
};

#[derive(Iden, Clone, Copy)]
enum Invitations {
    Table,
    Id,
    ListId,
    Email,
    EmailKey,
    Role,
    InvitedBy,
    CreatedAt,
    ExpiresAt,
}

#[derive(FromRow)]
struct InvitationRow {
    id: Uuid,
    list_id: Uuid,
    list_name: String,
    email: String,
    role: String,
    invited_by: Uuid,
    inviter_email: String,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
}

impl TryFrom<InvitationRow> for Invitation {
    type Error = Failure;

    fn try_from(row: InvitationRow) -> Result<Self, Failure> {
        let invalid =
            |problem: String| Failure::internal("a stored invitation is invalid", problem);
        Ok(Self {
            id: InvitationId(row.id),
            list: (
                ListId(row.list_id),
                ListName::parse(&row.list_name).map_err(invalid)?,
            ),
            email: Email::parse(&row.email).map_err(invalid)?,
            role: SharedRole::parse(stored_role(&row.role)?).map_err(invalid)?,
            inviter: (
                UserId(row.invited_by),
                Email::parse(&row.inviter_email).map_err(invalid)?,
            ),
            created_at: row.created_at,
            expires_at: row.expires_at,
        })
    }
}

/// Invitations that have not expired, with their list's name and their inviter's email.
fn current() -> SelectStatement {
    Query::select()
        .columns(
            [
                Invitations::Id,
                Invitations::ListId,
                Invitations::Email,
                Invitations::Role,
                Invitations::InvitedBy,
                Invitations::CreatedAt,
                Invitations::ExpiresAt,
            ]
            .map(|column| (Invitations::Table, column)),
        )
        .expr_as(Expr::col((Lists::Table, Lists::Name)), "list_name")
        .expr_as(Expr::col((Users::Table, Users::Email)), "inviter_email")
        .from(Invitations::Table)
        .inner_join(
            Lists::Table,
            Expr::col((Lists::Table, Lists::Id)).equals((Invitations::Table, Invitations::ListId)),
        )
        .inner_join(
            Users::Table,
            Expr::col((Users::Table, Users::Id))
                .equals((Invitations::Table, Invitations::InvitedBy)),
        )
        .and_where(
            Expr::col((Invitations::Table, Invitations::ExpiresAt)).gt(Expr::current_timestamp()),
        )
        .to_owned()
}

/// Invites `email` to the list with `role`, from `inviter`, until `expires_at`; an
/// earlier invitation of that address to that list is replaced. Its id.
pub async fn put(
    db: impl Db<'_>,
    list: ListId,
    email: &Email,
    role: SharedRole,
    inviter: UserId,
    at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<InvitationId, Failure> {
    let role: &'static str = role.get().into();
    let statement = insert_row(
        Invitations::Table,
        [
            (Invitations::Id, Expr::val(Uuid::now_v7())),
            (Invitations::ListId, Expr::val(list.0)),
            (Invitations::Email, Expr::val(email.as_str())),
            (Invitations::EmailKey, Expr::val(email.key())),
            (Invitations::Role, Expr::val(role)),
            (Invitations::InvitedBy, Expr::val(inviter.0)),
            (Invitations::CreatedAt, Expr::val(at)),
            (Invitations::ExpiresAt, Expr::val(expires_at)),
        ],
    )
    .on_conflict(
        OnConflict::columns([Invitations::ListId, Invitations::EmailKey])
            .update_columns([
                Invitations::Id,
                Invitations::Email,
                Invitations::Role,
                Invitations::InvitedBy,
                Invitations::CreatedAt,
                Invitations::ExpiresAt,
            ])
            .to_owned(),
    )
    .returning(Query::returning().column(Invitations::Id))
    .to_owned();
    let (id,): (Uuid,) = timed("invitations.put", query_as(&statement).fetch_one(db)).await?;
    Ok(InvitationId(id))
}

/// The current invitation with this id.
pub async fn find(db: impl Db<'_>, id: InvitationId) -> Result<Option<Invitation>, Failure> {
    let statement = current()
        .and_where(Expr::col((Invitations::Table, Invitations::Id)).eq(id.0))
        .to_owned();
    fetch_optional::<InvitationRow, _>("invitations.find", db, &statement).await
}

/// One page of the current invitations to `email`, newest first, after `after`.
pub async fn for_email(
    db: impl Db<'_>,
    email: &Email,
    after: Option<PageCursor>,
    limit: u64,
) -> Result<Vec<Invitation>, Failure> {
    let mut statement = current()
        .and_where(Expr::col((Invitations::Table, Invitations::EmailKey)).eq(email.key()))
        .to_owned();
    page_newest_first(
        &mut statement,
        (
            (Invitations::Table, Invitations::CreatedAt),
            (Invitations::Table, Invitations::Id),
        ),
        after,
        limit,
    );
    let rows: Vec<InvitationRow> =
        timed("invitations.for_email", query_as(&statement).fetch_all(db)).await?;
    rows.into_iter().map(Invitation::try_from).collect()
}

/// Takes the current invitation with this id to `email` away (it is being accepted or
/// declined): its list and role, or `None` when there is no such invitation to them.
pub async fn take(
    db: impl Db<'_>,
    id: InvitationId,
    email: &Email,
) -> Result<Option<(ListId, SharedRole)>, Failure> {
    let statement = Query::delete()
        .from_table(Invitations::Table)
        .and_where(Expr::col(Invitations::Id).eq(id.0))
        .and_where(Expr::col(Invitations::EmailKey).eq(email.key()))
        .and_where(Expr::col(Invitations::ExpiresAt).gt(Expr::current_timestamp()))
        .returning(Query::returning().columns([Invitations::ListId, Invitations::Role]))
        .to_owned();
    let taken: Option<(Uuid, String)> =
        timed("invitations.take", query_as(&statement).fetch_optional(db)).await?;
    taken
        .map(|(list, role)| {
            let role = SharedRole::parse(stored_role(&role)?)
                .map_err(|problem| Failure::internal("a stored invitation is invalid", problem))?;
            Ok((ListId(list), role))
        })
        .transpose()
}

/// Deletes expired invitations (a periodic job); how many.
pub async fn purge_expired(db: impl Db<'_>) -> Result<u64, Failure> {
    let expiry = (Invitations::Table, Invitations::ExpiresAt);
    delete_expired("invitations.purge_expired", db, expiry).await
}
