//! SQL for the `users` table.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use sea_query::{
    Expr, ExprTrait, Func, Iden, LikeExpr, LockType, Order, Query, ReturningClause,
    SelectStatement, UpdateStatement,
};
use sqlx::FromRow;
use uuid::Uuid;

use super::{
    Db, execute, fetch_optional, fetch_page, insert_row, query_as, query_scalar, timed,
    violated_unique_constraint,
};
use crate::{
    domain::{Email, PageCursor, Role, User, UserId},
    failure::Failure,
};

#[derive(Iden, Clone, Copy)]
pub(super) enum Users {
    Table,
    Id,
    Email,
    EmailKey,
    PasswordHash,
    Role,
    DisabledAt,
    CreatedAt,
    EmailVerifiedAt,
    PendingEmail,
}

/// The unique index on `email_key` (see the `compare_emails_by_key` migration).
const EMAIL_UNIQUE_INDEX: &str = "users_email_key_idx";

const USER_COLUMNS: [Users; 7] = [
    Users::Id,
    Users::Email,
    Users::EmailVerifiedAt,
    Users::PendingEmail,
    Users::Role,
    Users::DisabledAt,
    Users::CreatedAt,
];

#[derive(FromRow)]
struct UserRow {
    id: Uuid,
    email: String,
    email_verified_at: Option<DateTime<Utc>>,
    pending_email: Option<String>,
    role: String,
    disabled_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

/// An account's role and whether it is disabled, as what authenticates it needs them now.
#[derive(Debug, Clone, Copy)]
pub struct AccountState {
    pub role: Role,
    pub disabled: bool,
}

/// The columns of [`AccountState`], read beside another table's through a join.
#[derive(FromRow)]
pub(super) struct AccountStateRow {
    role: String,
    disabled_at: Option<DateTime<Utc>>,
}

impl TryFrom<AccountStateRow> for AccountState {
    type Error = Failure;

    fn try_from(row: AccountStateRow) -> Result<Self, Failure> {
        Ok(Self {
            role: stored_role(&row.role)?,
            disabled: row.disabled_at.is_some(),
        })
    }
}

/// A role as the table stores it.
fn stored_role(role: &str) -> Result<Role, Failure> {
    Role::from_str(role)
        .map_err(|_| Failure::internal("a stored account is invalid", format!("role {role:?}")))
}

impl TryFrom<UserRow> for User {
    type Error = Failure;

    fn try_from(row: UserRow) -> Result<Self, Failure> {
        let invalid = |problem: String| Failure::internal("a stored account is invalid", problem);
        let email = Email::parse(&row.email).map_err(invalid)?;
        let pending_email = row
            .pending_email
            .as_deref()
            .map(Email::parse)
            .transpose()
            .map_err(invalid)?;
        let role = stored_role(&row.role)?;
        Ok(Self {
            id: UserId(row.id),
            email,
            email_verified: row.email_verified_at.is_some(),
            pending_email,
            role,
            disabled_at: row.disabled_at,
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
pub enum WriteUserError {
    #[error("an account with this email already exists")]
    EmailTaken,
    #[error(transparent)]
    Failed(#[from] Failure),
}

fn email_taken(error: sqlx::Error) -> WriteUserError {
    match violated_unique_constraint(&error) {
        Some(EMAIL_UNIQUE_INDEX) => WriteUserError::EmailTaken,
        _ => Failure::from(error).into(),
    }
}

pub async fn insert(
    db: impl Db<'_>,
    email: &Email,
    password_hash: &str,
    role: Role,
) -> Result<User, WriteUserError> {
    let role: &'static str = role.into();
    let statement = insert_row(
        Users::Table,
        [
            (Users::Id, Uuid::now_v7().into()),
            (Users::Email, email.as_str().into()),
            (Users::EmailKey, email.key().into()),
            (Users::PasswordHash, password_hash.into()),
            (Users::Role, role.into()),
        ],
    )
    .returning(account_columns())
    .to_owned();
    let row: UserRow = timed("users.insert", query_as(&statement).fetch_one(db))
        .await
        .map_err(email_taken)?;
    Ok(row.try_into()?)
}

/// The account with this email (compared by key: letter case and look-alikes ignored) and
/// its password hash.
pub async fn find_credentials(
    db: impl Db<'_>,
    email: &Email,
) -> Result<Option<(User, String)>, Failure> {
    let statement = credentials()
        .and_where(Expr::col(Users::EmailKey).eq(email.key()))
        .to_owned();
    fetch_credentials(db, &statement).await
}

/// The account with this id and its password hash.
pub async fn find_credentials_by_id(
    db: impl Db<'_>,
    id: UserId,
) -> Result<Option<(User, String)>, Failure> {
    fetch_credentials(db, &credentials_by_id(id)).await
}

/// Like [`find_credentials_by_id`], with the row locked against changes until the
/// transaction `db` belongs to ends (`FOR NO KEY UPDATE`: rows that reference it can still
/// be inserted).
pub async fn find_credentials_for_update(
    db: impl Db<'_>,
    id: UserId,
) -> Result<Option<(User, String)>, Failure> {
    fetch_credentials(db, credentials_by_id(id).lock(LockType::NoKeyUpdate)).await
}

/// An account's columns and its password hash.
fn credentials() -> SelectStatement {
    Query::select()
        .columns(USER_COLUMNS)
        .column(Users::PasswordHash)
        .from(Users::Table)
        .to_owned()
}

fn credentials_by_id(id: UserId) -> SelectStatement {
    credentials()
        .and_where(Expr::col(Users::Id).eq(id.0))
        .to_owned()
}

async fn fetch_credentials(
    db: impl Db<'_>,
    statement: &SelectStatement,
) -> Result<Option<(User, String)>, Failure> {
    let row: Option<CredentialsRow> = timed(
        "users.fetch_credentials",
        query_as(statement).fetch_optional(db),
    )
    .await?;
    row.map(|row| Ok((row.user.try_into()?, row.password_hash)))
        .transpose()
}

pub async fn find(db: impl Db<'_>, id: UserId) -> Result<Option<User>, Failure> {
    fetch_optional::<UserRow, _>("users.find", db, &by_id(id)).await
}

/// Like [`find`], and locks the row until the transaction `db` belongs to ends.
pub async fn find_for_update(db: impl Db<'_>, id: UserId) -> Result<Option<User>, Failure> {
    fetch_optional::<UserRow, _>(
        "users.find_for_update",
        db,
        &*by_id(id).lock(LockType::Update),
    )
    .await
}

pub async fn find_by_email(db: impl Db<'_>, email: &Email) -> Result<Option<User>, Failure> {
    let statement = Query::select()
        .columns(USER_COLUMNS)
        .from(Users::Table)
        .and_where(Expr::col(Users::EmailKey).eq(email.key()))
        .to_owned();
    fetch_optional::<UserRow, _>("users.find_by_email", db, &statement).await
}

fn by_id(id: UserId) -> SelectStatement {
    Query::select()
        .columns(USER_COLUMNS)
        .from(Users::Table)
        .and_where(Expr::col(Users::Id).eq(id.0))
        .to_owned()
}

/// Every enabled administrator's id, locked until the transaction `db` belongs to ends:
/// two changes that could each leave no administrator are made one after the other.
pub async fn lock_enabled_admins(db: impl Db<'_>) -> Result<Vec<UserId>, Failure> {
    let admin: &'static str = Role::Admin.into();
    let statement = Query::select()
        .column(Users::Id)
        .from(Users::Table)
        .and_where(Expr::col(Users::Role).eq(admin))
        .and_where(Expr::col(Users::DisabledAt).is_null())
        .order_by(Users::Id, Order::Asc)
        .lock(LockType::Update)
        .to_owned();
    let ids: Vec<Uuid> = timed(
        "users.lock_enabled_admins",
        query_scalar(&statement).fetch_all(db),
    )
    .await?;
    Ok(ids.into_iter().map(UserId).collect())
}

/// One page of every account, newest first (ties by id), after `after`, optionally only
/// those whose email starts with `email_prefix` (letter case ignored).
pub async fn list(
    db: impl Db<'_>,
    email_prefix: Option<&str>,
    after: Option<PageCursor>,
    limit: u64,
) -> Result<Vec<User>, Failure> {
    let statement = Query::select()
        .columns(USER_COLUMNS)
        .from(Users::Table)
        .apply_if(email_prefix, |query, prefix| {
            query.and_where(Expr::expr(Func::lower(Expr::col(Users::Email))).like(
                LikeExpr::new(format!("{}%", escape_like(&prefix.to_lowercase()))).escape('\\'),
            ));
        })
        .to_owned();
    let order = (Users::CreatedAt, Users::Id);
    fetch_page::<UserRow, _, _>("users.list", db, statement, order, (after, limit)).await
}

/// `text` with LIKE's wildcards and escape character escaped, to match only itself.
fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// Changes the account's email; `EmailTaken` if another account has it.
pub async fn update_email(
    db: impl Db<'_>,
    id: UserId,
    email: &Email,
) -> Result<Option<User>, WriteUserError> {
    let statement = update(
        id,
        [
            (Users::Email, email.as_str().into()),
            (Users::EmailKey, email.key().into()),
        ],
    )
    .returning(account_columns())
    .to_owned();
    write_email("users.update_email", db, &statement).await
}

/// Asks for an email change to `email` (or drops the one asked for, with `None`): the
/// account keeps its address until the new one is verified.
pub async fn set_pending_email(
    db: impl Db<'_>,
    id: UserId,
    email: Option<&Email>,
) -> Result<Option<User>, Failure> {
    let mut statement = update(id, [(Users::PendingEmail, email.map(Email::as_str).into())]);
    fetch_optional::<UserRow, _>(
        "users.set_pending_email",
        db,
        statement.returning(account_columns()),
    )
    .await
}

/// Marks the account's address verified, if it is still `email` (a reset token proves the
/// address it was mailed to).
pub async fn mark_verified(db: impl Db<'_>, id: UserId, email: &Email) -> Result<(), Failure> {
    let statement = update(id, [(Users::EmailVerifiedAt, Expr::current_timestamp())])
        .and_where(Expr::col(Users::Email).eq(email.as_str()))
        .and_where(Expr::col(Users::EmailVerifiedAt).is_null())
        .to_owned();
    execute("users.mark_verified", db, &statement).await?;
    Ok(())
}

/// `email` has been verified: if it is the account's address, it is now verified; if it is
/// the address an email change waits on, it becomes the account's address, verified.
/// `None` when it is neither (the account moved on since the token was mailed);
/// `EmailTaken` when another account took the address meanwhile.
pub async fn apply_verified_email(
    db: impl Db<'_>,
    id: UserId,
    email: &Email,
) -> Result<Option<User>, WriteUserError> {
    let pending = Expr::col(Users::PendingEmail).eq(email.as_str());
    let statement = update(
        id,
        [
            (Users::Email, email.as_str().into()),
            (Users::EmailKey, email.key().into()),
            (Users::EmailVerifiedAt, Expr::current_timestamp()),
            (
                Users::PendingEmail,
                Expr::case(pending.clone(), Expr::val(Option::<String>::None))
                    .finally(Expr::col(Users::PendingEmail))
                    .into(),
            ),
        ],
    )
    .cond_where(
        sea_query::Cond::any()
            .add(Expr::col(Users::Email).eq(email.as_str()))
            .add(pending),
    )
    .returning(account_columns())
    .to_owned();
    write_email("users.apply_verified_email", db, &statement).await
}

/// Runs an update of the account's address, returning the account; `EmailTaken` when
/// another account has the address.
async fn write_email(
    operation: &'static str,
    db: impl Db<'_>,
    statement: &UpdateStatement,
) -> Result<Option<User>, WriteUserError> {
    let row: Option<UserRow> = timed(operation, query_as(statement).fetch_optional(db))
        .await
        .map_err(email_taken)?;
    Ok(row.map(User::try_from).transpose()?)
}

/// Replaces the account's password hash; `false` when there is no such account.
pub async fn update_password_hash(
    db: impl Db<'_>,
    id: UserId,
    password_hash: &str,
) -> Result<bool, Failure> {
    let statement = update(id, [(Users::PasswordHash, password_hash.into())]);
    Ok(execute("users.update_password_hash", db, &statement).await? == 1)
}

/// Disables the account now (keeping the first time if it already is), or enables it.
pub async fn set_disabled(
    db: impl Db<'_>,
    id: UserId,
    disabled: bool,
) -> Result<Option<User>, Failure> {
    let disabled_at = if disabled {
        Expr::col(Users::DisabledAt).if_null(Expr::current_timestamp())
    } else {
        Expr::val(Option::<DateTime<Utc>>::None)
    };
    let mut statement = update(id, [(Users::DisabledAt, disabled_at)]);
    fetch_optional::<UserRow, _>(
        "users.set_disabled",
        db,
        statement.returning(account_columns()),
    )
    .await
}

pub async fn set_role(db: impl Db<'_>, id: UserId, role: Role) -> Result<Option<User>, Failure> {
    let role: &'static str = role.into();
    let mut statement = update(id, [(Users::Role, role.into())]);
    fetch_optional::<UserRow, _>("users.set_role", db, statement.returning(account_columns())).await
}

/// `UPDATE users SET values WHERE id = id`.
fn update(id: UserId, values: impl IntoIterator<Item = (Users, Expr)>) -> UpdateStatement {
    Query::update()
        .table(Users::Table)
        .values(values)
        .and_where(Expr::col(Users::Id).eq(id.0))
        .to_owned()
}

/// `RETURNING` the account's columns, as [`UserRow`] reads them.
fn account_columns() -> ReturningClause {
    Query::returning().columns(USER_COLUMNS)
}

/// Deletes the account; its tasks and sessions go with it (foreign keys cascade). `false`
/// when there is no such account.
pub async fn delete(db: impl Db<'_>, id: UserId) -> Result<bool, Failure> {
    let statement = Query::delete()
        .from_table(Users::Table)
        .and_where(Expr::col(Users::Id).eq(id.0))
        .to_owned();
    Ok(execute("users.delete", db, &statement).await? == 1)
}
