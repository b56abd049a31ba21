//! The caller's own account: reading it, changing its email or password, deleting it, and
//! its sessions.

use std::net::IpAddr;

use sqlx::PgConnection;

use super::{
    Failure,
    admin::{LastAdmin, RemoveError, lock_unless_last_admin},
    audit,
    mail::Outbox,
    passwords::{CheckError, Passwords},
    revocations::Revoker,
};
use crate::{
    domain::{
        AuditKind, Caller, DeletionConfirmation, NewEmail, NewPassword, PageCursor, PageSize,
        SessionId, SessionPage, TokenPurpose, User, UserId,
    },
    store::{
        Database, sessions,
        users::{self, WriteUserError},
    },
};

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    /// The account was deleted after its token was checked.
    #[error("the account no longer exists")]
    Gone,
    #[error(transparent)]
    Failed(#[from] Failure),
}

/// Why the current password a change asks for was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum PasswordDenied {
    /// The account was deleted after its token was checked.
    #[error("the account no longer exists")]
    Gone,
    /// The check a login makes refused it: the password is wrong, or too many were.
    #[error(transparent)]
    Check(#[from] CheckError),
}

#[derive(Debug, thiserror::Error)]
pub enum ChangeEmailError {
    #[error(transparent)]
    Denied(#[from] PasswordDenied),
    #[error("an account with this email already exists")]
    EmailTaken,
}

#[derive(Debug, thiserror::Error)]
pub enum DeleteAccountError {
    #[error(transparent)]
    Denied(#[from] PasswordDenied),
    #[error(transparent)]
    LastAdmin(#[from] LastAdmin),
}

super::converts_through! {
    PasswordDenied::Check <- Failure,
    ChangeEmailError::Denied <- Failure,
    DeleteAccountError::Denied <- Failure,
}

impl From<RemoveError> for DeleteAccountError {
    fn from(error: RemoveError) -> Self {
        match error {
            // Deleted since its token was checked.
            RemoveError::NotFound => PasswordDenied::Gone.into(),
            RemoveError::LastAdmin(last) => Self::LastAdmin(last),
            RemoveError::Failed(failure) => failure.into(),
        }
    }
}

super::not_found_error!(
    /// No such session, or it belongs to someone else.
    SessionError: "session not found"
);

#[derive(Clone)]
pub struct UserService {
    db: Database,
    passwords: Passwords,
    revoker: Revoker,
    outbox: Outbox,
}

impl UserService {
    pub fn new(db: Database, passwords: Passwords, revoker: Revoker, outbox: Outbox) -> Self {
        Self {
            db,
            passwords,
            revoker,
            outbox,
        }
    }

    /// The account behind a token; one deleted since the token was checked is gone.
    pub async fn get(&self, id: UserId) -> Result<User, UserError> {
        users::find(&mut *self.db.acquire().await?, id)
            .await?
            .ok_or(UserError::Gone)
    }

    /// The caller's account, if `typed` is its password; a wrong password counts as a
    /// failed login.
    async fn confirmed(
        &self,
        client: IpAddr,
        id: UserId,
        typed: &str,
    ) -> Result<User, PasswordDenied> {
        let account = users::find_credentials_by_id(&mut *self.db.acquire().await?, id)
            .await?
            .ok_or(PasswordDenied::Gone)?;
        let email = account.0.email.clone();
        let checked = self
            .passwords
            .check(client, Some(&email), typed, async { Ok(Some(account)) })
            .await;
        if let Err(CheckError::Wrong { .. }) = &checked {
            // It counts as a failed login, and is recorded as one.
            let event = audit::own(AuditKind::LoginFailed, id).detail("wrong current password");
            let mut db = self.db.acquire().await?;
            event.record(&mut *db).await?;
            db.release().await?;
        }
        Ok(checked?.user)
    }

    /// Asks for the caller's address to change to `change.email`: a verification mail goes
    /// to the new address, and the account keeps its address until that mail is answered
    /// (`verify_email`). A new spelling of the same address (letter case, look-alikes)
    /// takes effect at once.
    pub async fn change_email(
        &self,
        client: IpAddr,
        caller: Caller,
        change: NewEmail,
    ) -> Result<User, ChangeEmailError> {
        let current = self
            .confirmed(client, caller.user, &change.current_password)
            .await?;
        let mut transaction = self.db.begin().await?;
        if current.email.key() == change.email.key() {
            let user = users::update_email(&mut *transaction, caller.user, &change.email)
                .await
                .map_err(|error| match error {
                    WriteUserError::EmailTaken => ChangeEmailError::EmailTaken,
                    WriteUserError::Failed(failure) => failure.into(),
                })?
                .ok_or(PasswordDenied::Gone)?;
            let event = audit::own(AuditKind::EmailChanged, caller.user);
            event
                .detail(change.email.redacted())
                .record(&mut *transaction)
                .await?;
            transaction.commit().await.map_err(Failure::from)?;
            return Ok(user);
        }
        if users::find_by_email(&mut *transaction, &change.email)
            .await?
            .is_some()
        {
            return Err(ChangeEmailError::EmailTaken);
        }
        let user = users::set_pending_email(&mut *transaction, caller.user, Some(&change.email))
            .await?
            .ok_or(PasswordDenied::Gone)?;
        let event = audit::own(AuditKind::EmailChangeRequested, caller.user);
        event
            .detail(change.email.redacted())
            .record(&mut *transaction)
            .await?;
        self.outbox
            .queue(
                &mut *transaction,
                TokenPurpose::EmailVerification,
                change.email.as_str(),
                Some(caller.user),
            )
            .await?;
        transaction.commit().await.map_err(Failure::from)?;
        self.outbox.wake();
        Ok(user)
    }

    /// Replaces the password and ends every other session of the account.
    pub async fn change_password(
        &self,
        client: IpAddr,
        caller: Caller,
        change: NewPassword,
    ) -> Result<(), PasswordDenied> {
        self.confirmed(client, caller.user, &change.current).await?;
        let hash = self.passwords.hash(&change.new).await?;
        let mut transaction = self.db.begin().await?;
        if !users::update_password_hash(&mut *transaction, caller.user, &hash).await? {
            return Err(PasswordDenied::Gone);
        }
        let event = audit::own(AuditKind::PasswordChanged, caller.user);
        event.record(&mut *transaction).await?;
        let ended = sessions::delete_all(&mut *transaction, caller.user, caller.session()).await?;
        let pending = self.revoker.sessions(&mut transaction, &ended).await?;
        Ok(self.revoker.commit(transaction, pending).await?)
    }

    /// Deletes the account with its tasks and sessions; its tokens stop working everywhere.
    pub async fn delete(
        &self,
        client: IpAddr,
        caller: Caller,
        confirmation: DeletionConfirmation,
    ) -> Result<(), DeleteAccountError> {
        self.confirmed(client, caller.user, &confirmation.0).await?;
        let mut transaction = self.db.begin().await?;
        let user = lock_unless_last_admin(&mut transaction, caller.user).await?;
        users::delete(&mut *transaction, user.id).await?;
        let event = audit::own(AuditKind::AccountDeleted, user.id);
        event.record(&mut *transaction).await?;
        let pending = self.revoker.user(&mut transaction, user.id).await?;
        Ok(self.revoker.commit(transaction, pending).await?)
    }

    /// One page of the caller's live sessions.
    pub async fn sessions(
        &self,
        caller: Caller,
        size: PageSize,
        after: Option<PageCursor>,
    ) -> Result<SessionPage, Failure> {
        let read = async |db: &mut PgConnection, limit| {
            sessions::list(db, caller.user, after, limit).await
        };
        super::page(&self.db, size, read).await
    }

    /// Ends one of the caller's sessions, on every server.
    pub async fn end_session(&self, caller: Caller, id: SessionId) -> Result<(), SessionError> {
        let mut transaction = self.db.begin().await?;
        if !sessions::delete(&mut *transaction, caller.user, id).await? {
            return Err(SessionError::NotFound);
        }
        let event = audit::own(AuditKind::SessionEnded, caller.user).detail(id.0.to_string());
        event.record(&mut *transaction).await?;
        let pending = self.revoker.sessions(&mut transaction, &[id]).await?;
        Ok(self.revoker.commit(transaction, pending).await?)
    }
}
