//! SQL for the `sessions` and `refresh_tokens` tables. A session's owner is part of every
//! statement that a user's request reaches: another user's session is simply not found.

use chrono::{DateTime, Utc};
use sea_query::{DeleteStatement, Expr, ExprTrait, Iden, IntoIden, LockType, Order, Query};
use sqlx::FromRow;
use uuid::Uuid;

use super::{
    Db, delete_expired, execute, fetch_optional, fetch_page, insert_row, query_scalar, timed,
    users::{AccountState, AccountStateRow},
};
use crate::{
    domain::{PageCursor, Session, SessionId, SessionOrigin, UserId},
    failure::Failure,
    security::TokenHash,
};

#[derive(Iden, Clone, Copy)]
enum Sessions {
    Table,
    Id,
    UserId,
    CreatedAt,
    LastUsedAt,
    ExpiresAt,
    MaxExpiresAt,
    UserAgent,
    ClientAddress,
}

#[derive(Iden)]
enum RefreshTokens {
    Table,
    TokenHash,
    SessionId,
    IssuedAt,
    RotatedAt,
}

#[derive(Iden)]
enum Users {
    Table,
    Id,
    Role,
    DisabledAt,
}

const SESSION_COLUMNS: [Sessions; 8] = [
    Sessions::Id,
    Sessions::UserId,
    Sessions::CreatedAt,
    Sessions::LastUsedAt,
    Sessions::ExpiresAt,
    Sessions::MaxExpiresAt,
    Sessions::UserAgent,
    Sessions::ClientAddress,
];

#[derive(FromRow)]
struct SessionRow {
    id: Uuid,
    user_id: Uuid,
    created_at: DateTime<Utc>,
    last_used_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    max_expires_at: DateTime<Utc>,
    user_agent: Option<String>,
    client_address: String,
}

impl From<SessionRow> for Session {
    fn from(row: SessionRow) -> Self {
        Self {
            id: SessionId(row.id),
            user: UserId(row.user_id),
            created_at: row.created_at,
            last_used_at: row.last_used_at,
            expires_at: row.expires_at,
            max_expires_at: row.max_expires_at,
            origin: SessionOrigin {
                user_agent: row.user_agent,
                client_address: row.client_address,
            },
        }
    }
}

/// Starts a session whose first refresh token hashes to `token_hash`. Two statements: run
/// it inside a transaction.
pub async fn insert(
    db: &mut sqlx::PgConnection,
    session: &Session,
    token_hash: &TokenHash,
) -> Result<(), Failure> {
    let statement = insert_row(
        Sessions::Table,
        [
            (Sessions::Id, session.id.0.into()),
            (Sessions::UserId, session.user.0.into()),
            (Sessions::CreatedAt, session.created_at.into()),
            (Sessions::LastUsedAt, session.last_used_at.into()),
            (Sessions::ExpiresAt, session.expires_at.into()),
            (Sessions::MaxExpiresAt, session.max_expires_at.into()),
            (
                Sessions::UserAgent,
                session.origin.user_agent.clone().into(),
            ),
            (
                Sessions::ClientAddress,
                session.origin.client_address.clone().into(),
            ),
        ],
    );
    execute("sessions.insert", &mut *db, &statement).await?;
    insert_token(db, session.id, token_hash, session.created_at).await
}

async fn insert_token(
    db: impl Db<'_>,
    session: SessionId,
    token_hash: &TokenHash,
    at: DateTime<Utc>,
) -> Result<(), Failure> {
    let statement = insert_row(
        RefreshTokens::Table,
        [
            (RefreshTokens::TokenHash, token_hash.0.to_vec().into()),
            (RefreshTokens::SessionId, session.0.into()),
            (RefreshTokens::IssuedAt, at.into()),
        ],
    );
    execute("sessions.insert_token", db, &statement).await?;
    Ok(())
}

/// A presented refresh token's session, as the refresh grant needs it.
#[derive(Debug)]
pub struct Presented {
    pub session: Session,
    /// Whether the token was already exchanged for a newer one (so this is a replay).
    pub rotated: bool,
    pub account: AccountState,
}

#[derive(FromRow)]
struct PresentedRow {
    #[sqlx(flatten)]
    session: SessionRow,
    rotated_at: Option<DateTime<Utc>>,
    #[sqlx(flatten)]
    account: AccountStateRow,
}

impl TryFrom<PresentedRow> for Presented {
    type Error = Failure;

    fn try_from(row: PresentedRow) -> Result<Self, Failure> {
        Ok(Presented {
            session: row.session.into(),
            rotated: row.rotated_at.is_some(),
            account: row.account.try_into()?,
        })
    }
}

/// The session of the refresh token that hashes to `token_hash`, with the token's and the
/// session's rows locked until the transaction `db` belongs to ends: two refreshes with
/// one token are decided one after the other.
pub async fn find_by_token_for_update(
    db: impl Db<'_>,
    token_hash: &TokenHash,
) -> Result<Option<Presented>, Failure> {
    let statement = Query::select()
        .columns(SESSION_COLUMNS.map(|column| (Sessions::Table, column)))
        .column((RefreshTokens::Table, RefreshTokens::RotatedAt))
        .column((Users::Table, Users::Role))
        .column((Users::Table, Users::DisabledAt))
        .from(Sessions::Table)
        .inner_join(
            RefreshTokens::Table,
            Expr::col((RefreshTokens::Table, RefreshTokens::SessionId))
                .equals((Sessions::Table, Sessions::Id)),
        )
        .inner_join(
            Users::Table,
            Expr::col((Users::Table, Users::Id)).equals((Sessions::Table, Sessions::UserId)),
        )
        .and_where(
            Expr::col((RefreshTokens::Table, RefreshTokens::TokenHash)).eq(token_hash.0.to_vec()),
        )
        // The session's row before the token's: ending a session deletes the session and
        // then, by cascade, its tokens, so both take their locks in the same order.
        .lock_with_tables(
            LockType::Update,
            [
                Sessions::Table.into_iden(),
                RefreshTokens::Table.into_iden(),
            ],
        )
        .to_owned();
    fetch_optional::<PresentedRow, _>("sessions.find_by_token_for_update", db, &statement).await
}

/// Exchanges the session's refresh token `old` for `new` at `at`, and moves the session's
/// expiry to `expires_at`. Three statements: run it inside a transaction.
pub async fn rotate(
    db: &mut sqlx::PgConnection,
    session: SessionId,
    old: &TokenHash,
    new: &TokenHash,
    at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<(), Failure> {
    let retire = Query::update()
        .table(RefreshTokens::Table)
        .value(RefreshTokens::RotatedAt, at)
        .and_where(Expr::col(RefreshTokens::TokenHash).eq(old.0.to_vec()))
        .to_owned();
    execute("sessions.rotate", &mut *db, &retire).await?;
    insert_token(&mut *db, session, new, at).await?;
    let extend = Query::update()
        .table(Sessions::Table)
        .values([
            (Sessions::LastUsedAt, at.into()),
            (Sessions::ExpiresAt, expires_at.into()),
        ])
        .and_where(Expr::col(Sessions::Id).eq(session.0))
        .to_owned();
    execute("sessions.rotate", &mut *db, &extend).await?;
    Ok(())
}

/// One page of the user's live (unexpired) sessions, newest first (ties by id), after
/// `after`.
pub async fn list(
    db: impl Db<'_>,
    user: UserId,
    after: Option<PageCursor>,
    limit: u64,
) -> Result<Vec<Session>, Failure> {
    let statement = Query::select()
        .columns(SESSION_COLUMNS)
        .from(Sessions::Table)
        .and_where(Expr::col(Sessions::UserId).eq(user.0))
        .and_where(Expr::col(Sessions::ExpiresAt).gt(Expr::current_timestamp()))
        .to_owned();
    let order = (Sessions::CreatedAt, Sessions::Id);
    fetch_page::<SessionRow, _, _>("sessions.list", db, statement, order, (after, limit)).await
}

/// Ends the user's session `id` (its refresh tokens go with it); `false` when the user has
/// no such session.
pub async fn delete(db: impl Db<'_>, user: UserId, id: SessionId) -> Result<bool, Failure> {
    let statement = Query::delete()
        .from_table(Sessions::Table)
        .and_where(Expr::col(Sessions::Id).eq(id.0))
        .and_where(Expr::col(Sessions::UserId).eq(user.0))
        .to_owned();
    Ok(execute("sessions.delete", db, &statement).await? == 1)
}

/// Ends every session of the user except `keep`; returns the ids of those it ended.
pub async fn delete_all(
    db: impl Db<'_>,
    user: UserId,
    keep: Option<SessionId>,
) -> Result<Vec<SessionId>, Failure> {
    let statement = Query::delete()
        .from_table(Sessions::Table)
        .and_where(Expr::col(Sessions::UserId).eq(user.0))
        .and_where_option(keep.map(|keep| Expr::col(Sessions::Id).ne(keep.0)))
        .to_owned();
    delete_returning_ids(db, statement).await
}

/// Ends every session of the user but the `keep` newest; returns the ids of those it ended.
pub async fn delete_all_but_newest(
    db: impl Db<'_>,
    user: UserId,
    keep: u32,
) -> Result<Vec<SessionId>, Failure> {
    let older = Query::select()
        .column(Sessions::Id)
        .from(Sessions::Table)
        .and_where(Expr::col(Sessions::UserId).eq(user.0))
        .order_by(Sessions::CreatedAt, Order::Desc)
        .order_by(Sessions::Id, Order::Desc)
        .offset(u64::from(keep))
        .to_owned();
    let statement = Query::delete()
        .from_table(Sessions::Table)
        .and_where(Expr::col(Sessions::Id).in_subquery(older))
        .and_where(Expr::col(Sessions::UserId).eq(user.0))
        .to_owned();
    delete_returning_ids(db, statement).await
}

/// Runs a delete of sessions; the ids of those it deleted.
async fn delete_returning_ids(
    db: impl Db<'_>,
    mut statement: DeleteStatement,
) -> Result<Vec<SessionId>, Failure> {
    statement.returning(Query::returning().column(Sessions::Id));
    let ids: Vec<Uuid> = timed(
        "sessions.delete_returning_ids",
        query_scalar(&statement).fetch_all(db),
    )
    .await?;
    Ok(ids.into_iter().map(SessionId).collect())
}

/// Whether the user's session is live and the account enabled: the check an access token
/// needs when the revocation set cannot be trusted.
pub async fn is_live(db: impl Db<'_>, user: UserId, id: SessionId) -> Result<bool, Failure> {
    let live = Query::select()
        .expr(Expr::val(1))
        .from(Sessions::Table)
        .inner_join(
            Users::Table,
            Expr::col((Users::Table, Users::Id)).equals((Sessions::Table, Sessions::UserId)),
        )
        .and_where(Expr::col((Sessions::Table, Sessions::Id)).eq(id.0))
        .and_where(Expr::col((Sessions::Table, Sessions::UserId)).eq(user.0))
        .and_where(Expr::col((Sessions::Table, Sessions::ExpiresAt)).gt(Expr::current_timestamp()))
        .and_where(Expr::col((Users::Table, Users::DisabledAt)).is_null())
        .to_owned();
    let statement = Query::select().expr(Expr::exists(live)).to_owned();
    Ok(timed("sessions.is_live", query_scalar(&statement).fetch_one(db)).await?)
}

/// Deletes sessions whose refresh token has expired (their access tokens expired with it).
pub async fn purge_expired(db: impl Db<'_>) -> Result<u64, Failure> {
    let expiry = (Sessions::Table, Sessions::ExpiresAt);
    delete_expired("sessions.purge_expired", db, expiry).await
}
