//! SQL for the `users` table.

use chrono::{DateTime, Utc};
use sea_query::{Expr, ExprTrait, Iden, Query};
use sqlx::{FromRow, PgExecutor};
use uuid::Uuid;

use super::{build, violated_unique_constraint};
use crate::{
    domain::{Email, User, UserId},
    failure::Failure,
};

#[derive(Iden)]
enum Users {
    Table,
    Id,
    Email,
    EmailKey,
    PasswordHash,
    CreatedAt,
}

/// The unique index on `email_key` (see the `compare_emails_by_key` migration).
const EMAIL_UNIQUE_INDEX: &str = "users_email_key_idx";

const USER_COLUMNS: [Users; 3] = [Users::Id, Users::Email, Users::CreatedAt];

#[derive(FromRow)]
struct UserRow {
    id: Uuid,
    email: String,
    created_at: DateTime<Utc>,
}

impl TryFrom<UserRow> for User {
    type Error = Failure;

    fn try_from(row: UserRow) -> Result<Self, Failure> {
        let email = Email::parse(&row.email)
            .map_err(|problem| Failure::internal("a stored account is invalid", problem))?;
        Ok(Self {
            id: UserId(row.id),
            email,
            created_at: row.created_at,
        })
    }
}

#[derive(FromRow)]
struct CredentialsRow {
    #[sqlx(flatten)]
    user: UserRow,
    password_hash: String,
}

#[derive(Debug, thiserror::Error)]
pub enum InsertUserError {
    #[error("an account with this email already exists")]
    EmailTaken,
    #[error(transparent)]
    Failed(#[from] Failure),
}

pub async fn insert(
    db: impl PgExecutor<'_>,
    email: &Email,
    password_hash: &str,
) -> Result<User, InsertUserError> {
    let statement = Query::insert()
        .into_table(Users::Table)
        .columns([
            Users::Id,
            Users::Email,
            Users::EmailKey,
            Users::PasswordHash,
        ])
        // Four columns, four values: cannot panic.
        .values_panic([
            Uuid::now_v7().into(),
            email.as_str().into(),
            email.key().into(),
            password_hash.into(),
        ])
        .returning(Query::returning().columns(USER_COLUMNS))
        .to_owned();
    let (sql, values) = build(&statement);
    let row: UserRow = sqlx::query_as_with(sql, values)
        .fetch_one(db)
        .await
        .map_err(|error| match violated_unique_constraint(&error) {
            Some(EMAIL_UNIQUE_INDEX) => InsertUserError::EmailTaken,
            _ => Failure::from(error).into(),
        })?;
    Ok(row.try_into()?)
}

/// The account with this email (compared by key: letter case and look-alikes ignored) and
/// its password hash.
pub async fn find_credentials(
    db: impl PgExecutor<'_>,
    email: &Email,
) -> Result<Option<(User, String)>, Failure> {
    let statement = Query::select()
        .columns(USER_COLUMNS)
        .column(Users::PasswordHash)
        .from(Users::Table)
        .and_where(Expr::col(Users::EmailKey).eq(email.key()))
        .to_owned();
    let (sql, values) = build(&statement);
    let row: Option<CredentialsRow> = sqlx::query_as_with(sql, values).fetch_optional(db).await?;
    row.map(|row| Ok((row.user.try_into()?, row.password_hash)))
        .transpose()
}

pub async fn find(db: impl PgExecutor<'_>, id: UserId) -> Result<Option<User>, Failure> {
    let statement = Query::select()
        .columns(USER_COLUMNS)
        .from(Users::Table)
        .and_where(Expr::col(Users::Id).eq(id.0))
        .to_owned();
    let (sql, values) = build(&statement);
    let row: Option<UserRow> = sqlx::query_as_with(sql, values).fetch_optional(db).await?;
    row.map(User::try_from).transpose()
}

/// Whether an account with this id exists. Reads nothing back, so the hot path of every
/// authenticated request does not rebuild (and re-normalise) the account's email.
pub async fn exists(db: impl PgExecutor<'_>, id: UserId) -> Result<bool, Failure> {
    let account = Query::select()
        .expr(Expr::val(1))
        .from(Users::Table)
        .and_where(Expr::col(Users::Id).eq(id.0))
        .to_owned();
    let statement = Query::select().expr(Expr::exists(account)).to_owned();
    let (sql, values) = build(&statement);
    Ok(sqlx::query_scalar_with(sql, values).fetch_one(db).await?)
}
