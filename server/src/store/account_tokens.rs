//! SQL for `account_tokens`: the single-use tokens mailed for a password reset or an email
//! verification, kept only as hashes; one live token per account and purpose.

use sea_query::{Expr, ExprTrait, Iden, OnConflict, Query};
use sqlx::FromRow;
use uuid::Uuid;

use super::{
    Db, delete_expired, execute, fetch_optional, from_now, insert_row, timed, users::Users,
};
use crate::{
    domain::{Email, TokenPurpose, UserId},
    failure::Failure,
    security::TokenHash,
};

#[derive(Iden, Clone, Copy)]
enum AccountTokens {
    Table,
    TokenHash,
    UserId,
    Purpose,
    Email,
    CreatedAt,
    ExpiresAt,
}

/// A token, stored as its hash, for `user` and `purpose`, mailed to `email`.
pub struct NewToken<'a> {
    pub user: UserId,
    pub purpose: TokenPurpose,
    pub email: &'a Email,
    pub hash: &'a TokenHash,
    pub lifetime: std::time::Duration,
}

/// Stores a token, replacing the account's previous one of the same purpose (which stops
/// working).
pub async fn replace(db: impl Db<'_>, token: NewToken<'_>) -> Result<(), Failure> {
    let purpose: &'static str = token.purpose.into();
    let statement = insert_row(
        AccountTokens::Table,
        [
            (AccountTokens::TokenHash, token.hash.0.to_vec().into()),
            (AccountTokens::UserId, token.user.0.into()),
            (AccountTokens::Purpose, purpose.into()),
            (AccountTokens::Email, token.email.as_str().into()),
            (AccountTokens::CreatedAt, Expr::current_timestamp()),
            (AccountTokens::ExpiresAt, from_now(token.lifetime)),
        ],
    )
    .on_conflict(
        OnConflict::columns([AccountTokens::UserId, AccountTokens::Purpose])
            .update_columns([
                AccountTokens::TokenHash,
                AccountTokens::Email,
                AccountTokens::CreatedAt,
                AccountTokens::ExpiresAt,
            ])
            .to_owned(),
    )
    .to_owned();
    execute("account_tokens.replace", db, &statement).await?;
    Ok(())
}

/// Voids the password-reset token of the account with this email, if there is one (a
/// newer request replaces it). One statement whether or not such an account exists.
pub async fn void_password_reset(db: impl Db<'_>, email: &Email) -> Result<(), Failure> {
    let purpose: &'static str = TokenPurpose::PasswordReset.into();
    let account = Query::select()
        .column(Users::Id)
        .from(Users::Table)
        .and_where(Expr::col(Users::EmailKey).eq(email.key()))
        .to_owned();
    let statement = Query::delete()
        .from_table(AccountTokens::Table)
        .and_where(Expr::col(AccountTokens::Purpose).eq(purpose))
        .and_where(Expr::col(AccountTokens::UserId).in_subquery(account))
        .to_owned();
    execute("account_tokens.void_password_reset", db, &statement).await?;
    Ok(())
}

/// Who a token was for: the account, and the address it was mailed to.
#[derive(Debug, FromRow)]
struct UsedRow {
    user_id: Uuid,
    email: String,
}

impl TryFrom<UsedRow> for (UserId, Email) {
    type Error = Failure;

    fn try_from(row: UsedRow) -> Result<Self, Failure> {
        let email = Email::parse(&row.email)
            .map_err(|problem| Failure::internal("a stored token's email is invalid", problem))?;
        Ok((UserId(row.user_id), email))
    }
}

/// Uses a token: deletes it and returns its account and address, if it is a live token for
/// `purpose`. Of two uses at once, one gets it.
pub async fn take(
    db: impl Db<'_>,
    purpose: TokenPurpose,
    hash: &TokenHash,
) -> Result<Option<(UserId, Email)>, Failure> {
    let purpose: &'static str = purpose.into();
    let statement = Query::delete()
        .from_table(AccountTokens::Table)
        .and_where(Expr::col(AccountTokens::TokenHash).eq(hash.0.to_vec()))
        .and_where(Expr::col(AccountTokens::Purpose).eq(purpose))
        .and_where(Expr::col(AccountTokens::ExpiresAt).gt(Expr::current_timestamp()))
        .returning(Query::returning().columns([AccountTokens::UserId, AccountTokens::Email]))
        .to_owned();
    fetch_optional::<UsedRow, _>("account_tokens.take", db, &statement).await
}

/// Whether a live token for `purpose` has this hash (without using it).
pub async fn is_live(
    db: impl Db<'_>,
    purpose: TokenPurpose,
    hash: &TokenHash,
) -> Result<bool, Failure> {
    let purpose: &'static str = purpose.into();
    let statement = Query::select()
        .expr(Expr::val(1))
        .from(AccountTokens::Table)
        .and_where(Expr::col(AccountTokens::TokenHash).eq(hash.0.to_vec()))
        .and_where(Expr::col(AccountTokens::Purpose).eq(purpose))
        .and_where(Expr::col(AccountTokens::ExpiresAt).gt(Expr::current_timestamp()))
        .to_owned();
    let found: Option<i32> = timed(
        "account_tokens.is_live",
        super::query_scalar(&statement).fetch_optional(db),
    )
    .await?;
    Ok(found.is_some())
}

/// Deletes expired tokens; how many.
pub async fn purge_expired(db: impl Db<'_>) -> Result<u64, Failure> {
    delete_expired(
        "account_tokens.purge_expired",
        db,
        (AccountTokens::Table, AccountTokens::ExpiresAt),
    )
    .await
}
