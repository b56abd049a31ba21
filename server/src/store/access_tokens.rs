//! SQL for the `access_tokens` table. A token's owner is part of every statement a request
//! about tokens reaches: another account's token is simply not found. A token is found by
//! the hash of what a client presents; the table never holds a token itself.

use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};
use sea_query::{Expr, ExprTrait, Iden, Query};
use sqlx::FromRow;
use uuid::Uuid;

use super::{
    Db, execute, fetch_optional, fetch_page, insert_row, query_as, query_scalar, timed,
    users::{AccountState, AccountStateRow, Users},
};
use crate::{
    domain::{
        AccessToken, AccessTokenDraft, AccessTokenId, PageCursor, Scope, Scopes, TokenName, UserId,
    },
    failure::Failure,
    security::TokenHash,
};

#[derive(Iden, Clone, Copy)]
enum AccessTokens {
    Table,
    Id,
    UserId,
    TokenHash,
    Name,
    Scopes,
    CreatedAt,
    LastUsedAt,
    ExpiresAt,
}

const COLUMNS: [AccessTokens; 7] = [
    AccessTokens::Id,
    AccessTokens::UserId,
    AccessTokens::Name,
    AccessTokens::Scopes,
    AccessTokens::CreatedAt,
    AccessTokens::LastUsedAt,
    AccessTokens::ExpiresAt,
];

/// How stale `last_used_at` may grow before a use writes it again: a busy token costs one
/// write a minute, not one a request.
const LAST_USED_PRECISION: Duration = Duration::minutes(1);

#[derive(FromRow)]
struct TokenRow {
    id: Uuid,
    user_id: Uuid,
    name: String,
    scopes: Vec<String>,
    created_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
    expires_at: Option<DateTime<Utc>>,
}

impl TryFrom<TokenRow> for AccessToken {
    type Error = Failure;

    fn try_from(row: TokenRow) -> Result<Self, Failure> {
        let invalid = |what: &str| Failure::internal("a stored access token is invalid", what);
        let scopes = (row.scopes.iter())
            .map(|name| Scope::from_str(name).map_err(|_| invalid(name)))
            .collect::<Result<Scopes, Failure>>()?;
        Ok(Self {
            id: AccessTokenId(row.id),
            user: UserId(row.user_id),
            name: TokenName::parse(&row.name).map_err(|problem| invalid(&problem))?,
            scopes,
            created_at: row.created_at,
            last_used_at: row.last_used_at,
            expires_at: row.expires_at,
        })
    }
}

/// A presented token's row with its account's role and state.
#[derive(FromRow)]
struct PresentedRow {
    #[sqlx(flatten)]
    token: TokenRow,
    #[sqlx(flatten)]
    account: AccountStateRow,
}

/// An access token a client presented, with what its account is now.
#[derive(Debug)]
pub struct Presented {
    pub token: AccessToken,
    pub account: AccountState,
}

impl TryFrom<PresentedRow> for Presented {
    type Error = Failure;

    fn try_from(row: PresentedRow) -> Result<Self, Failure> {
        Ok(Self {
            token: row.token.try_into()?,
            account: row.account.try_into()?,
        })
    }
}

/// Stores a new token of `user`'s, made at `at`, under its hash.
pub async fn insert(
    db: impl Db<'_>,
    user: UserId,
    draft: AccessTokenDraft,
    hash: &TokenHash,
    at: DateTime<Utc>,
) -> Result<AccessToken, Failure> {
    let scopes: Vec<String> = (draft.scopes.iter())
        .map(|scope| <&'static str>::from(scope).to_owned())
        .collect();
    let statement = insert_row(
        AccessTokens::Table,
        [
            (AccessTokens::Id, Expr::val(Uuid::now_v7())),
            (AccessTokens::UserId, Expr::val(user.0)),
            (AccessTokens::TokenHash, Expr::val(hash.0.to_vec())),
            (AccessTokens::Name, Expr::val(draft.name.as_str())),
            (AccessTokens::Scopes, Expr::val(scopes)),
            (AccessTokens::CreatedAt, Expr::val(at)),
            (AccessTokens::ExpiresAt, Expr::val(draft.expires_at)),
        ],
    )
    .returning(Query::returning().columns(COLUMNS))
    .to_owned();
    let row: TokenRow = timed("access_tokens.insert", query_as(&statement).fetch_one(db)).await?;
    row.try_into()
}

/// How many tokens `user` holds, expired ones included (they are listed until deleted).
pub async fn count(db: impl Db<'_>, user: UserId) -> Result<i64, Failure> {
    let statement = Query::select()
        .expr(Expr::col(AccessTokens::Id).count())
        .from(AccessTokens::Table)
        .and_where(Expr::col(AccessTokens::UserId).eq(user.0))
        .to_owned();
    Ok(timed(
        "access_tokens.count",
        query_scalar(&statement).fetch_one(db),
    )
    .await?)
}

/// One page of `user`'s tokens, newest first (ties by id), after `after`.
pub async fn list(
    db: impl Db<'_>,
    user: UserId,
    after: Option<PageCursor>,
    limit: u64,
) -> Result<Vec<AccessToken>, Failure> {
    let statement = Query::select()
        .columns(COLUMNS)
        .from(AccessTokens::Table)
        .and_where(Expr::col(AccessTokens::UserId).eq(user.0))
        .to_owned();
    let order = (AccessTokens::CreatedAt, AccessTokens::Id);
    fetch_page::<TokenRow, _, _>("access_tokens.list", db, statement, order, (after, limit)).await
}

/// Deletes `user`'s token `id`; `false` when the user has no such token.
pub async fn delete(db: impl Db<'_>, user: UserId, id: AccessTokenId) -> Result<bool, Failure> {
    let statement = Query::delete()
        .from_table(AccessTokens::Table)
        .and_where(Expr::col(AccessTokens::Id).eq(id.0))
        .and_where(Expr::col(AccessTokens::UserId).eq(user.0))
        .to_owned();
    Ok(execute("access_tokens.delete", db, &statement).await? == 1)
}

/// Deletes every token of `user`'s; their ids.
pub async fn delete_all(db: impl Db<'_>, user: UserId) -> Result<Vec<AccessTokenId>, Failure> {
    let statement = Query::delete()
        .from_table(AccessTokens::Table)
        .and_where(Expr::col(AccessTokens::UserId).eq(user.0))
        .returning(Query::returning().column(AccessTokens::Id))
        .to_owned();
    let ids: Vec<Uuid> = timed(
        "access_tokens.delete_all",
        query_scalar(&statement).fetch_all(db),
    )
    .await?;
    Ok(ids.into_iter().map(AccessTokenId).collect())
}

/// The token stored under `hash`, expired or not, with its account's role and state.
pub async fn find_by_hash(db: impl Db<'_>, hash: &TokenHash) -> Result<Option<Presented>, Failure> {
    let statement = Query::select()
        .columns(COLUMNS.map(|column| (AccessTokens::Table, column)))
        .column((Users::Table, Users::Role))
        .column((Users::Table, Users::DisabledAt))
        .from(AccessTokens::Table)
        .inner_join(
            Users::Table,
            Expr::col((Users::Table, Users::Id))
                .equals((AccessTokens::Table, AccessTokens::UserId)),
        )
        .and_where(Expr::col((AccessTokens::Table, AccessTokens::TokenHash)).eq(hash.0.to_vec()))
        .to_owned();
    fetch_optional::<PresentedRow, _>("access_tokens.find_by_hash", db, &statement).await
}

/// Records that token `id` was used at `at`, unless a use was recorded less than a
/// minute before.
pub async fn touch(db: impl Db<'_>, id: AccessTokenId, at: DateTime<Utc>) -> Result<(), Failure> {
    let statement = Query::update()
        .table(AccessTokens::Table)
        .value(AccessTokens::LastUsedAt, at)
        .and_where(Expr::col(AccessTokens::Id).eq(id.0))
        .and_where(
            Expr::col(AccessTokens::LastUsedAt)
                .is_null()
                .or(Expr::col(AccessTokens::LastUsedAt).lt(at - LAST_USED_PRECISION)),
        )
        .to_owned();
    execute("access_tokens.touch", db, &statement).await?;
    Ok(())
}

/// Whether `at` is recent enough a use of a token last used at `last_used_at` that
/// [`touch`] would not record it.
pub fn is_fresh(last_used_at: Option<DateTime<Utc>>, at: DateTime<Utc>) -> bool {
    last_used_at.is_some_and(|last| last >= at - LAST_USED_PRECISION)
}
