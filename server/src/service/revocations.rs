//! The revocation set: sessions and accounts whose access tokens must be refused before
//! they expire, held in memory by every server so that accepting a token costs no database
//! query.
//!
//! It is loaded at start-up and kept current by the store's [`Feed`]: a revocation is
//! written and announced in the transaction that makes it, and every server (this one
//! included) applies the change when it arrives. While the feed is disconnected the set may
//! have missed something, so it is not trusted: callers check the database instead, until
//! the feed is back and the set has been reloaded.

use std::{
    collections::HashMap,
    sync::{
        Arc, RwLock,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::{Failure, events::Streams};
use crate::{
    domain::{AccessTokenId, Caller, SessionId, UserId},
    store::{
        self,
        revocations::{self, Change, Event, Feed, Loaded, Revoked},
    },
};

/// The in-memory revocation set, shared by every request of this server.
#[derive(Clone, Default)]
pub struct RevocationSet {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    revoked: RwLock<HashMap<Revoked, DateTime<Utc>>>,
    /// Whether the set is known to be complete: loaded, and listened for since.
    trusted: AtomicBool,
}

/// What the set says about a caller's token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Accepted,
    Revoked,
    /// The set may be missing something: ask the database.
    Unknown,
}

impl RevocationSet {
    /// Whether `caller`'s session or account has been revoked, without a database query.
    pub fn check(&self, caller: &Caller) -> Verdict {
        if !self.inner.trusted.load(Ordering::Acquire) {
            return Verdict::Unknown;
        }
        let revoked = self.read();
        let now = Utc::now();
        let in_force = |key: Revoked| revoked.get(&key).is_some_and(|until| *until > now);
        if in_force(Revoked::Session(caller.credential.id()))
            || in_force(Revoked::User(caller.user.0))
        {
            Verdict::Revoked
        } else {
            Verdict::Accepted
        }
    }

    /// Applies changes this server just committed, without waiting for their notification.
    pub fn apply(&self, changes: &[Change]) {
        let mut revoked = self.write();
        for change in changes {
            match *change {
                Change::Revoke(key, until) => {
                    let entry = revoked.entry(key).or_insert(until);
                    *entry = (*entry).max(until);
                }
                Change::Lift(user) => {
                    revoked.remove(&Revoked::User(user));
                }
            }
        }
    }

    /// Whether the set is trusted now: loaded, and listened for since.
    pub fn is_trusted(&self) -> bool {
        self.inner.trusted.load(Ordering::Acquire)
    }

    /// Connects `feed` and loads the set; once this returns `Ok`, the set is trusted.
    pub async fn connect(&self, feed: &mut Feed) -> Result<(), Failure> {
        let loaded = feed.connect().await?;
        self.reload(loaded);
        Ok(())
    }

    /// Keeps the set current for as long as it runs: applies every change `feed` reports,
    /// distrusts the set while the feed is lost, and reloads it when the feed is back.
    /// Passes the change feed's announcements on to `streams` (all of them woken when the
    /// feed is back after a loss, since some may have been missed).
    pub async fn listen(self, mut feed: Feed, streams: Streams) {
        // Whether announcements may have been missed: until the feed is (back) connected.
        let mut lost = !self.is_trusted();
        loop {
            match feed.next().await {
                Event::Loaded(loaded) => {
                    self.reload(loaded);
                    // Not at every periodic reload: only after a gap.
                    if std::mem::take(&mut lost) {
                        streams.wake_all();
                    }
                }
                Event::Changed(changes) => {
                    self.apply(&changes);
                    // Their streams end, on every server.
                    for change in changes {
                        if let Change::Revoke(Revoked::Session(id) | Revoked::User(id), _) = change
                        {
                            streams.wake(id);
                        }
                    }
                }
                Event::Announced(id) => streams.wake(id),
                Event::Lost => {
                    lost = true;
                    self.inner.trusted.store(false, Ordering::Release);
                    tracing::warn!(
                        "revocation listener lost its connection; checking tokens against the \
                         database until it is back"
                    );
                }
            }
        }
    }

    /// Brings the set in line with what the database holds, and trusts it. Ended sessions
    /// this server already knows of stay, even if the read came before their commit (a
    /// session is never revived); an account stays revoked only if the database still says
    /// so, since enabling an account lifts its revocation.
    fn reload(&self, loaded: Loaded) {
        let mut loaded: HashMap<Revoked, DateTime<Utc>> = loaded.into_iter().collect();
        let mut revoked = self.write();
        let now = Utc::now();
        for (key, until) in revoked.drain() {
            if matches!(key, Revoked::Session(_)) && until > now {
                let entry = loaded.entry(key).or_insert(until);
                *entry = (*entry).max(until);
            }
        }
        *revoked = loaded;
        self.inner.trusted.store(true, Ordering::Release);
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<Revoked, DateTime<Utc>>> {
        // A panic while holding the lock leaves a map that is still whole.
        self.inner
            .revoked
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<Revoked, DateTime<Utc>>> {
        self.inner
            .revoked
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Ends the access tokens of sessions and accounts: records each revocation in the
/// transaction that makes it, and once that commits, applies it to this server's set at
/// once (the notification reaches the other servers).
#[derive(Clone, Debug)]
pub struct Revoker {
    set: RevocationSet,
    /// How long a revocation must be remembered: as long as an access token is accepted.
    window: Duration,
}

/// Revocations written in a transaction, to apply once it commits.
#[must_use = "revocations take effect here only through Revoker::commit"]
#[derive(Debug, Default)]
pub struct Pending(Vec<Change>);

impl Revoker {
    pub fn new(set: RevocationSet, window: Duration) -> Self {
        Self { set, window }
    }

    /// Revokes the access tokens of `sessions`.
    pub async fn sessions(
        &self,
        db: &mut PgConnection,
        sessions: &[SessionId],
    ) -> Result<Pending, Failure> {
        let revoked: Vec<Revoked> = sessions.iter().map(|id| Revoked::Session(id.0)).collect();
        Ok(Pending(
            revocations::record(db, &revoked, self.window).await?,
        ))
    }

    /// Revokes personal access tokens. (Their ids are recorded as sessions' are: both are
    /// the credential a caller's access hangs on, and ids never repeat.)
    pub async fn access_tokens(
        &self,
        db: &mut PgConnection,
        tokens: &[AccessTokenId],
    ) -> Result<Pending, Failure> {
        let revoked: Vec<Revoked> = tokens.iter().map(|id| Revoked::Session(id.0)).collect();
        Ok(Pending(
            revocations::record(db, &revoked, self.window).await?,
        ))
    }

    /// Revokes every access token of `user`'s account.
    pub async fn user(&self, db: &mut PgConnection, user: UserId) -> Result<Pending, Failure> {
        let revoked = [Revoked::User(user.0)];
        Ok(Pending(
            revocations::record(db, &revoked, self.window).await?,
        ))
    }

    /// Stops revoking `user`'s account as such (its ended sessions stay ended).
    pub async fn lift(&self, db: &mut PgConnection, user: UserId) -> Result<Pending, Failure> {
        Ok(Pending(vec![revocations::lift_user(db, user.0).await?]))
    }

    /// Commits `transaction`, then applies what it revoked to this server's set.
    pub async fn commit(
        &self,
        transaction: store::Transaction,
        pending: Pending,
    ) -> Result<(), Failure> {
        transaction.commit().await?;
        self.set.apply(&pending.0);
        Ok(())
    }
}

impl Pending {
    /// Both sets of revocations.
    pub fn and(mut self, other: Self) -> Self {
        self.0.extend(other.0);
        self
    }
}

impl std::fmt::Debug for RevocationSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RevocationSet")
            .field("trusted", &self.is_trusted())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;
    use crate::domain::{Credential, Role};

    fn caller() -> Caller {
        Caller {
            user: UserId(Uuid::now_v7()),
            credential: Credential::Session(SessionId(Uuid::now_v7())),
            role: Role::User,
        }
    }

    #[test]
    fn an_untrusted_set_decides_nothing() {
        let set = RevocationSet::default();
        assert_eq!(set.check(&caller()), Verdict::Unknown);
    }

    #[test]
    fn revoked_sessions_and_accounts_are_refused_until_lifted_or_expired() {
        let set = RevocationSet::default();
        set.inner.trusted.store(true, Ordering::Release);
        let (alice, bob, carol) = (caller(), caller(), caller());
        let later = Utc::now() + chrono::Duration::minutes(15);
        let earlier = Utc::now() - chrono::Duration::seconds(1);
        set.apply(&[
            Change::Revoke(Revoked::Session(alice.credential.id()), later),
            Change::Revoke(Revoked::User(bob.user.0), later),
            Change::Revoke(Revoked::Session(carol.credential.id()), earlier),
        ]);
        assert_eq!(set.check(&alice), Verdict::Revoked);
        assert_eq!(set.check(&bob), Verdict::Revoked);
        assert_eq!(set.check(&carol), Verdict::Accepted, "expired revocation");
        set.apply(&[Change::Lift(bob.user.0)]);
        assert_eq!(set.check(&bob), Verdict::Accepted);
    }
}
