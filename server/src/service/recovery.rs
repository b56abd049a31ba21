//! Recovering an account and proving an address: password-reset requests and their
//! confirmation, and email verification, by the single-use tokens the outbox mails.

use std::net::IpAddr;

use super::{
    Failure, audit,
    limits::{LimitError, RateLimits},
    mail::Outbox,
    passwords::Passwords,
    revocations::Revoker,
};
use crate::{
    domain::{AccountToken, AuditKind, Email, PasswordReset, TokenPurpose, User},
    security::opaque,
    store::{
        Database, access_tokens, account_tokens, sessions,
        users::{self, WriteUserError},
    },
};

/// Why a mailed token was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum TokenRefused {
    /// Unknown, used, expired, replaced by a newer one, or for an address the account no
    /// longer asks for.
    #[error("the token is not valid")]
    Invalid,
    #[error(transparent)]
    Failed(#[from] Failure),
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    Refused(#[from] TokenRefused),
    /// The address it verifies has been taken by another account meanwhile.
    #[error("an account with this email already exists")]
    EmailTaken,
}

super::converts_through! {
    VerifyError::Refused <- Failure,
}

#[derive(Clone)]
pub struct RecoveryService {
    db: Database,
    passwords: Passwords,
    limits: RateLimits,
    revoker: Revoker,
    outbox: Outbox,
}

impl RecoveryService {
    pub fn new(
        db: Database,
        passwords: Passwords,
        limits: RateLimits,
        revoker: Revoker,
        outbox: Outbox,
    ) -> Self {
        Self {
            db,
            passwords,
            limits,
            revoker,
            outbox,
        }
    }

    /// Asks for a password-reset mail to `email`. The same statements run whether or not
    /// an account has that address (which the worker finds out, off the request path), so
    /// the answer and its timing tell nothing; the account's previous reset token stops
    /// working.
    pub async fn request_password_reset(
        &self,
        client: IpAddr,
        email: Email,
    ) -> Result<(), LimitError> {
        self.limits.password_reset(client, email.key()).await?;
        let mut transaction = self.db.begin().await?;
        account_tokens::void_password_reset(&mut *transaction, &email).await?;
        self.outbox
            .queue(
                &mut *transaction,
                TokenPurpose::PasswordReset,
                email.as_str(),
                None,
            )
            .await?;
        transaction.commit().await.map_err(Failure::from)?;
        self.outbox.wake();
        Ok(())
    }

    /// Sets a new password with a mailed reset token, which then stops working; every
    /// session of the account ends. The token proves the address it was mailed to, so
    /// that address counts as verified.
    pub async fn reset_password(&self, reset: PasswordReset) -> Result<(), TokenRefused> {
        let hash = opaque::hash(reset.token.expose());
        // Checked before hashing, so that a wrong token costs no hashing.
        let mut db = self.db.acquire().await?;
        let live = account_tokens::is_live(&mut *db, TokenPurpose::PasswordReset, &hash).await?;
        db.release().await?;
        if !live {
            return Err(TokenRefused::Invalid);
        }
        let password_hash = self.passwords.hash(&reset.new_password).await?;
        let mut transaction = self.db.begin().await?;
        let (user, email) =
            account_tokens::take(&mut *transaction, TokenPurpose::PasswordReset, &hash)
                .await?
                .ok_or(TokenRefused::Invalid)?;
        if !users::update_password_hash(&mut *transaction, user, &password_hash).await? {
            return Err(TokenRefused::Invalid);
        }
        users::mark_verified(&mut *transaction, user, &email).await?;
        let event = audit::event(AuditKind::PasswordReset, None, Some(user));
        event.record(&mut *transaction).await?;
        // Whoever held the account before the reset loses it: its sessions and its access
        // tokens (which someone else may have made) end.
        let ended = sessions::delete_all(&mut *transaction, user, None).await?;
        let tokens = access_tokens::delete_all(&mut *transaction, user).await?;
        let pending = (self.revoker.sessions(&mut transaction, &ended).await?).and(
            self.revoker
                .access_tokens(&mut transaction, &tokens)
                .await?,
        );
        Ok(self.revoker.commit(transaction, pending).await?)
    }

    /// Verifies the address a mailed verification token was sent to: the account's
    /// address becomes verified, or, for an email change, becomes the account's address.
    pub async fn verify_email(&self, token: AccountToken) -> Result<User, VerifyError> {
        let hash = opaque::hash(token.expose());
        let mut transaction = self.db.begin().await?;
        let (user, email) =
            account_tokens::take(&mut *transaction, TokenPurpose::EmailVerification, &hash)
                .await?
                .ok_or(TokenRefused::Invalid)?;
        let verified = users::apply_verified_email(&mut *transaction, user, &email)
            .await
            .map_err(|error| match error {
                WriteUserError::EmailTaken => VerifyError::EmailTaken,
                WriteUserError::Failed(failure) => failure.into(),
            })?
            .ok_or(TokenRefused::Invalid)?;
        // Whether it was the account's address or the one a change waited on, it is now.
        let event = audit::event(AuditKind::EmailVerified, None, Some(user));
        event
            .detail(email.redacted())
            .record(&mut *transaction)
            .await?;
        transaction.commit().await.map_err(Failure::from)?;
        Ok(verified)
    }
}
