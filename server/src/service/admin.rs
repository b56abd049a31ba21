//! Managing every account: the `/admin` operations, which only administrators may call,
//! and the command line's `users` commands, which only the server's operator can run. The
//! rule that some enabled administrator always remains lives here.

use sqlx::PgConnection;

use super::{Failure, audit, passwords::Passwords, revocations::Revoker};
use crate::{
    domain::{
        Admin, AuditEvent, AuditKind, Email, ListDraft, ListName, Page, PageCursor, PageSize,
        Password, Role, TokenPurpose, User, UserId,
    },
    store::{
        Database, lists, mail, sessions,
        users::{self, WriteUserError},
    },
};

/// The change would leave no enabled administrator.
#[derive(Debug, thiserror::Error)]
#[error("this is the last enabled administrator")]
pub struct LastAdmin;

super::not_found_error!(
    /// No such account.
    AdminError: "no such account"
);

/// Why an account could not be disabled, deleted or made a user.
#[derive(Debug, thiserror::Error)]
pub enum RemoveError {
    #[error("no account found")]
    NotFound,
    #[error(transparent)]
    LastAdmin(#[from] LastAdmin),
    #[error(transparent)]
    Failed(#[from] Failure),
}

#[derive(Debug, thiserror::Error)]
pub enum CreateAdminError {
    #[error("an account with this email already exists; use `taskapi users set-role`")]
    EmailTaken,
    #[error(transparent)]
    Failed(#[from] Failure),
}

/// The account `id`, locked until the transaction `db` belongs to ends, unless it is the
/// last enabled administrator. Every enabled administrator is locked first, then the
/// account: two changes that could each leave no administrator are made one after the
/// other, and always take their locks in the same order.
pub async fn lock_unless_last_admin(
    db: &mut PgConnection,
    id: UserId,
) -> Result<User, RemoveError> {
    let admins = users::lock_enabled_admins(&mut *db).await?;
    let target = users::find_for_update(&mut *db, id)
        .await?
        .ok_or(RemoveError::NotFound)?;
    if target.is_enabled_admin() && admins == [target.id] {
        return Err(LastAdmin.into());
    }
    Ok(target)
}

/// A new account with `role` and `password` (hashed first), and its Inbox; `None` when
/// the email is taken. Registration and the command line's `create-admin` both create accounts so.
pub async fn create_account(
    db: &Database,
    passwords: &Passwords,
    email: &Email,
    password: &Password,
    role: Role,
) -> Result<Option<User>, Failure> {
    let hash = passwords.hash(password).await?;
    let mut transaction = db.begin().await?;
    let user = match users::insert(&mut *transaction, email, &hash, role).await {
        Ok(user) => user,
        Err(WriteUserError::EmailTaken) => return Ok(None),
        Err(WriteUserError::Failed(failure)) => return Err(failure),
    };
    let inbox = ListDraft {
        name: ListName::inbox(),
        description: None,
    };
    lists::insert(&mut *transaction, user.id, &inbox, true, user.created_at).await?;
    let role_name: &'static str = role.into();
    // Anonymous (a registration) or the command line: no actor.
    let event = audit::event(AuditKind::AccountCreated, None, Some(user.id)).detail(role_name);
    event.record(&mut *transaction).await?;
    mail::enqueue(
        &mut *transaction,
        TokenPurpose::EmailVerification,
        user.email.as_str(),
        Some(user.id),
    )
    .await?;
    transaction.commit().await?;
    Ok(Some(user))
}

/// One page of accounts.
pub type AccountPage = Page<User>;

/// An administrator's action on account `target`.
fn by(admin: Admin, kind: AuditKind, target: UserId) -> AuditEvent {
    audit::event(kind, Some(admin.caller().user), Some(target))
}

#[derive(Clone)]
pub struct AdminService {
    db: Database,
    revoker: Revoker,
}

impl AdminService {
    pub fn new(db: Database, revoker: Revoker) -> Self {
        Self { db, revoker }
    }

    pub async fn list(
        &self,
        _admin: Admin,
        email_prefix: Option<String>,
        size: PageSize,
        after: Option<PageCursor>,
    ) -> Result<AccountPage, Failure> {
        let prefix = email_prefix.as_deref();
        let read = async |db: &mut PgConnection, limit| users::list(db, prefix, after, limit).await;
        super::page(&self.db, size, read).await
    }

    pub async fn get(&self, _admin: Admin, id: UserId) -> Result<User, AdminError> {
        users::find(&mut *self.db.acquire().await?, id)
            .await?
            .ok_or(AdminError::NotFound)
    }

    /// Disables the account, ends its sessions and revokes its tokens everywhere.
    pub async fn disable(&self, admin: Admin, id: UserId) -> Result<User, RemoveError> {
        let mut transaction = self.db.begin().await?;
        by(admin, AuditKind::AccountDisabled, id)
            .record(&mut *transaction)
            .await?;
        let target = lock_unless_last_admin(&mut transaction, id).await?;
        let disabled = users::set_disabled(&mut *transaction, id, true)
            .await?
            .ok_or(RemoveError::NotFound)?;
        let ended = sessions::delete_all(&mut *transaction, id, None).await?;
        let pending = self
            .revoker
            .sessions(&mut transaction, &ended)
            .await?
            .and(self.revoker.user(&mut transaction, target.id).await?);
        self.revoker.commit(transaction, pending).await?;
        Ok(disabled)
    }

    /// Lets the account log in again; the sessions that ended when it was disabled stay
    /// ended.
    pub async fn enable(&self, admin: Admin, id: UserId) -> Result<User, AdminError> {
        let mut transaction = self.db.begin().await?;
        let enabled = users::set_disabled(&mut *transaction, id, false)
            .await?
            .ok_or(AdminError::NotFound)?;
        by(admin, AuditKind::AccountEnabled, id)
            .record(&mut *transaction)
            .await?;
        let pending = self.revoker.lift(&mut transaction, id).await?;
        self.revoker.commit(transaction, pending).await?;
        Ok(enabled)
    }

    /// Deletes the account with its tasks and sessions, and revokes its tokens everywhere.
    pub async fn delete(&self, admin: Admin, id: UserId) -> Result<(), RemoveError> {
        let mut transaction = self.db.begin().await?;
        lock_unless_last_admin(&mut transaction, id).await?;
        users::delete(&mut *transaction, id).await?;
        by(admin, AuditKind::AccountDeleted, id)
            .record(&mut *transaction)
            .await?;
        let pending = self.revoker.user(&mut transaction, id).await?;
        Ok(self.revoker.commit(transaction, pending).await?)
    }

    /// Ends every session of the account, on every server.
    pub async fn end_sessions(&self, admin: Admin, id: UserId) -> Result<(), AdminError> {
        let mut transaction = self.db.begin().await?;
        users::find_for_update(&mut *transaction, id)
            .await?
            .ok_or(AdminError::NotFound)?;
        let ended = sessions::delete_all(&mut *transaction, id, None).await?;
        for session in &ended {
            let event = by(admin, AuditKind::SessionEnded, id).detail(session.0.to_string());
            event.record(&mut *transaction).await?;
        }
        let pending = self.revoker.sessions(&mut transaction, &ended).await?;
        Ok(self.revoker.commit(transaction, pending).await?)
    }
}

/// The server's operator at the command line (`taskapi users ...`): the only way to make
/// an administrator.
#[derive(Clone)]
pub struct Operator {
    db: Database,
    passwords: Passwords,
    revoker: Revoker,
}

impl Operator {
    /// `revoker` ends the sessions of a demoted administrator; the command line does not
    /// know the servers' access-token lifetime, so give it a window longer than any.
    pub fn new(db: Database, passwords: Passwords, revoker: Revoker) -> Self {
        Self {
            db,
            passwords,
            revoker,
        }
    }

    /// `taskapi users create-admin`: a new administrator account.
    pub async fn create_admin(
        &self,
        email: &Email,
        password: &Password,
    ) -> Result<User, CreateAdminError> {
        create_account(&self.db, &self.passwords, email, password, Role::Admin)
            .await?
            .ok_or(CreateAdminError::EmailTaken)
    }

    /// `taskapi users set-role`: the account's new role, which its tokens state from their
    /// next refresh. An administrator made a user loses the rights at once: their sessions
    /// end, on every server. The last enabled administrator cannot be made a user.
    pub async fn set_role(&self, email: &Email, role: Role) -> Result<User, RemoveError> {
        let mut transaction = self.db.begin().await?;
        let id = users::find_by_email(&mut *transaction, email)
            .await?
            .ok_or(RemoveError::NotFound)?
            .id;
        let target = match role {
            Role::Admin => users::find_for_update(&mut *transaction, id)
                .await?
                .ok_or(RemoveError::NotFound)?,
            Role::User => lock_unless_last_admin(&mut transaction, id).await?,
        };
        let updated = users::set_role(&mut *transaction, target.id, role)
            .await?
            .ok_or(RemoveError::NotFound)?;
        let role_name: &'static str = role.into();
        let event = audit::event(AuditKind::RoleChanged, None, Some(target.id)).detail(role_name);
        event.record(&mut *transaction).await?;
        let demoted = target.role == Role::Admin && role != Role::Admin;
        let ended = if demoted {
            sessions::delete_all(&mut *transaction, target.id, None).await?
        } else {
            Vec::new()
        };
        let pending = self.revoker.sessions(&mut transaction, &ended).await?;
        self.revoker.commit(transaction, pending).await?;
        Ok(updated)
    }
}
