//! The outbox: mails are queued in PostgreSQL inside the transaction that makes them
//! necessary, and each server's worker sends what is due, off the request path. A mail's
//! text, and the single-use token it carries, are made when it is sent, so the outbox never
//! holds a secret; a send that fails is retried with a growing wait, and a mail queued
//! before a restart (or by a server that stopped) is sent by whichever server finds it due.

use std::{sync::Arc, time::Duration};

use tokio::sync::Notify;

use super::Failure;
use crate::{
    domain::{AccountToken, Email, TokenPurpose, User},
    mail::{Mailer, Outgoing, SendError},
    security::opaque,
    store::{
        Database,
        account_tokens::{self, NewToken},
        mail::{self, Queued},
        users,
    },
};

/// How mails are sent and retried, and how long their tokens work.
#[derive(Debug, Clone)]
pub struct MailPolicy {
    /// Where the pages that take a token are (`<url>/reset-password?token=…`).
    pub public_url: String,
    pub poll: Duration,
    pub retry_min: Duration,
    pub retry_max: Duration,
    /// Attempts before a mail is given up; 0: never.
    pub max_attempts: u32,
    /// How long one send may take before another server may try the same mail.
    pub lease: Duration,
    pub password_reset_ttl: Duration,
    pub email_verification_ttl: Duration,
}

impl MailPolicy {
    /// The wait before the next attempt, after `attempts` failed ones: `retry_min`, doubled
    /// each time, at most `retry_max`.
    fn retry_delay(&self, attempts: i32) -> Duration {
        let doublings = u32::try_from(attempts.saturating_sub(1))
            .unwrap_or(0)
            .min(30);
        self.retry_min
            .saturating_mul(1 << doublings)
            .min(self.retry_max)
    }
}

/// What requests use to queue mail: they queue inside their transaction, and wake the
/// worker once it has committed.
#[derive(Clone, Default)]
pub struct Outbox(Arc<Notify>);

impl Outbox {
    /// Queues a mail in the transaction (or on the connection) `db`.
    pub async fn queue(
        &self,
        db: impl crate::store::Db<'_>,
        kind: TokenPurpose,
        recipient: &str,
        user: Option<crate::domain::UserId>,
    ) -> Result<(), Failure> {
        mail::enqueue(db, kind, recipient, user).await
    }

    /// Tells this server's worker that a committed mail is due.
    pub fn wake(&self) {
        self.0.notify_one();
    }
}

/// Built by [`super::Services::new`].
#[derive(Clone)]
pub struct MailService {
    db: Database,
    mailer: Mailer,
    policy: Arc<MailPolicy>,
    outbox: Outbox,
}

/// Mails one worker claims at a time.
const BATCH: u64 = 16;

impl MailService {
    pub fn new(db: Database, mailer: Mailer, policy: MailPolicy, outbox: Outbox) -> Self {
        Self {
            db,
            mailer,
            policy: Arc::new(policy),
            outbox,
        }
    }

    /// Sends what is due, whenever a request queues a mail and every poll interval, for as
    /// long as the task runs. A mailer that does not send leaves the outbox alone.
    pub async fn deliver(self) {
        if !self.mailer.sends() {
            tracing::warn!(
                "no SMTP server is configured (TASKAPI_SMTP_URL): mails wait in the outbox"
            );
            return;
        }
        loop {
            if let Err(error) = self.send_due().await {
                tracing::warn!(%error, "cannot send the outbox's mails");
            }
            let _ = tokio::time::timeout(self.policy.poll, self.outbox.0.notified()).await;
        }
    }

    /// Sends every mail due now, a batch at a time.
    async fn send_due(&self) -> Result<(), Failure> {
        loop {
            let mut db = self.db.acquire().await?;
            let due = mail::claim_due(&mut *db, BATCH, self.policy.lease).await?;
            db.release().await?;
            if due.is_empty() {
                return Ok(());
            }
            for queued in due {
                self.send_one(queued).await?;
            }
        }
    }

    /// Makes and sends one mail; then it leaves the outbox, or waits for its next attempt.
    async fn send_one(&self, queued: Queued) -> Result<(), Failure> {
        let outgoing = self.compose(&queued).await?;
        let sent = match outgoing {
            Some(outgoing) => self.mailer.send(outgoing).await,
            // Nothing to send any more (no such account, or superseded).
            None => Ok(()),
        };
        let mut db = self.db.acquire().await?;
        match sent {
            Ok(()) => mail::remove(&mut *db, queued.id).await?,
            Err(SendError::Failed(error)) if !self.gives_up(&queued) => {
                let delay = self.policy.retry_delay(queued.attempts);
                tracing::warn!(mail = %queued.id, attempts = queued.attempts, ?delay, %error, "mail not sent; retrying later");
                mail::retry_later(&mut *db, queued.id, delay, &error).await?;
            }
            Err(error) => {
                tracing::error!(mail = %queued.id, attempts = queued.attempts, %error, "mail given up");
                mail::remove(&mut *db, queued.id).await?;
            }
        }
        db.release().await
    }

    fn gives_up(&self, queued: &Queued) -> bool {
        let max = self.policy.max_attempts;
        max > 0 && i64::from(queued.attempts) >= i64::from(max)
    }

    /// The mail a queued one is now, with a fresh token stored as its hash; `None` when
    /// there is nothing to send (a reset for an address no account has, or a verification
    /// of an address the account no longer asks for).
    async fn compose(&self, queued: &Queued) -> Result<Option<Outgoing>, Failure> {
        let mut transaction = self.db.begin().await?;
        let Some((user, to)) = self.addressee(&mut transaction, queued).await? else {
            return Ok(None);
        };
        let (token, hash) = opaque::generate::<AccountToken>();
        let lifetime = match queued.kind {
            TokenPurpose::PasswordReset => self.policy.password_reset_ttl,
            TokenPurpose::EmailVerification => self.policy.email_verification_ttl,
        };
        let new = NewToken {
            user: user.id,
            purpose: queued.kind,
            email: &to,
            hash: &hash,
            lifetime,
        };
        account_tokens::replace(&mut *transaction, new).await?;
        transaction.commit().await?;
        Ok(Some(self.text(queued.kind, &to, &token, lifetime)))
    }

    /// The account a queued mail is for, and the address it goes to, if it is still to
    /// be sent.
    async fn addressee(
        &self,
        db: &mut sqlx::PgConnection,
        queued: &Queued,
    ) -> Result<Option<(User, Email)>, Failure> {
        let Ok(recipient) = Email::parse(&queued.recipient) else {
            return Ok(None);
        };
        match queued.kind {
            // To the account's own address as it is stored, not the spelling asked with.
            TokenPurpose::PasswordReset => Ok(users::find_by_email(&mut *db, &recipient)
                .await?
                .filter(|user| user.disabled_at.is_none())
                .map(|user| {
                    let to = user.email.clone();
                    (user, to)
                })),
            TokenPurpose::EmailVerification => {
                let Some(id) = queued.user else {
                    return Ok(None);
                };
                let user = users::find(&mut *db, id).await?;
                Ok(user
                    .filter(|user| asks_to_verify(user, &recipient))
                    .map(|user| (user, recipient)))
            }
        }
    }

    fn text(
        &self,
        purpose: TokenPurpose,
        to: &Email,
        token: &AccountToken,
        lifetime: Duration,
    ) -> Outgoing {
        let base = self.policy.public_url.trim_end_matches('/');
        let minutes = lifetime.as_secs() / 60;
        let token = token.expose();
        let to_text = to.as_str();
        let (subject, body) = match purpose {
            TokenPurpose::PasswordReset => (
                "Reset your taskapi password",
                format!(
                    "Someone asked to reset the password of the taskapi account {to_text}.\n\n\
                     To choose a new password, open\n\n  {base}/reset-password?token={token}\n\n\
                     or give this token to your app:\n\n  {token}\n\n\
                     It works once, for {minutes} minutes, and a newer request replaces it. \
                     Every session of the account ends when the password is reset.\n\n\
                     If you did not ask for this, ignore this mail: your password stays as it is.\n"
                ),
            ),
            TokenPurpose::EmailVerification => (
                "Verify your email address for taskapi",
                format!(
                    "To confirm that {to_text} is the address of your taskapi account, open\n\n  \
                     {base}/verify-email?token={token}\n\n\
                     or give this token to your app:\n\n  {token}\n\n\
                     It works once, for {minutes} minutes.\n\n\
                     If you did not register or change an address at taskapi, ignore this mail.\n"
                ),
            ),
        };
        Outgoing {
            to: to.as_str().to_owned(),
            subject: subject.to_owned(),
            body,
        }
    }

    /// Deletes expired tokens (a periodic job); how many.
    pub async fn purge_expired(&self) -> Result<u64, Failure> {
        let mut db = self.db.acquire().await?;
        let purged = account_tokens::purge_expired(&mut *db).await?;
        db.release().await?;
        Ok(purged)
    }
}

/// Whether `user` still asks for `address` to be verified: its current address, not yet
/// verified, or the one an email change is waiting on.
fn asks_to_verify(user: &User, address: &Email) -> bool {
    let current = user.email.as_str() == address.as_str() && !user.email_verified;
    let pending = user
        .pending_email
        .as_ref()
        .is_some_and(|pending| pending.as_str() == address.as_str());
    current || pending
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_wait_twice_as_long_each_time_up_to_the_most() {
        let policy = MailPolicy {
            public_url: String::new(),
            poll: Duration::from_secs(5),
            retry_min: Duration::from_secs(2),
            retry_max: Duration::from_secs(60),
            max_attempts: 0,
            lease: Duration::from_secs(40),
            password_reset_ttl: Duration::from_secs(1800),
            email_verification_ttl: Duration::from_secs(1800),
        };
        let delays: Vec<_> = [1, 2, 3, 5, 6, 40, i32::MAX]
            .map(|attempts| policy.retry_delay(attempts).as_secs())
            .into();
        assert_eq!(delays, [2, 4, 8, 32, 60, 60, 60]);
    }
}
