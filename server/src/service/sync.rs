//! The change feed: what changed for a caller since a sync token, deletions and lost
//! access included, one page per statement.

use std::time::Duration;

use super::{Failure, after, now};
use crate::{
    domain::{Change, FOREIGN_TOKEN, PageSize, SyncPage, SyncState, SyncToken, TaskId, UserId},
    security::Seal,
    store::{
        Database,
        sync::{self, PageRead, PageRequest, Position},
    },
};

#[derive(Debug, Clone, Copy)]
pub struct SyncPolicy {
    /// How long changes (and so tombstones) are kept: a token older than this is expired.
    pub tombstone_ttl: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The token is older than the changes kept: the client starts over, without one.
    #[error("the sync token has expired")]
    Expired,
    /// The token names a snapshot this database never took.
    #[error("the sync token names a snapshot never taken")]
    Forged,
    #[error(transparent)]
    Failed(#[from] Failure),
}

#[derive(Clone)]
pub struct SyncService {
    db: Database,
    policy: SyncPolicy,
    seal: Seal,
}

/// What a sealed token is for (see [`Seal`]).
pub const PURPOSE: &str = "sync";

impl SyncService {
    pub fn new(db: Database, policy: SyncPolicy, seal: Seal) -> Self {
        Self { db, policy, seal }
    }

    /// The token in `sealed`, if this server issued it to `caller`: a token is sealed for
    /// its holder, so that one forged or taken from someone else is refused, and what it
    /// says (a snapshot, a time) can be trusted.
    pub fn open(&self, caller: UserId, sealed: &str) -> Result<SyncToken, String> {
        let text = self.seal.open(PURPOSE, caller.0, sealed);
        text.ok_or_else(|| FOREIGN_TOKEN.to_owned())
            .and_then(SyncToken::decode)
    }

    /// A page of what the caller can see (no token), or of what changed since `token`.
    pub async fn page(
        &self,
        caller: UserId,
        token: Option<SyncToken>,
        size: PageSize,
    ) -> Result<SyncPage, SyncError> {
        let read = self.read(caller, token, size).await?;
        Ok(SyncPage {
            changes: read.changes.into_iter().map(|(change, _)| change).collect(),
            next: self.seal(caller, &read.next),
            has_more: read.has_more,
        })
    }

    /// `token` sealed for `caller` (see [`Self::open`]).
    pub fn seal(&self, caller: UserId, token: &SyncToken) -> String {
        self.seal.seal(PURPOSE, caller.0, &token.encode())
    }

    /// A position that has seen every change committed so far, and nothing else: where a
    /// stream opened without a token starts.
    pub async fn now(&self) -> Result<SyncToken, Failure> {
        let mut db = self.db.acquire().await?;
        let seen = sync::current_snapshot(&mut db).await?;
        db.release().await?;
        Ok(SyncToken {
            issued_at: now(),
            state: SyncState::Since { seen, round: None },
        })
    }

    /// Like [`Self::page`], unsealed, with the position after each change.
    pub async fn read(
        &self,
        caller: UserId,
        token: Option<SyncToken>,
        size: PageSize,
    ) -> Result<Read, SyncError> {
        let at = now();
        if let Some(token) = &token
            && after(token.issued_at, self.policy.tombstone_ttl) < at
        {
            return Err(SyncError::Expired);
        }
        let state = token.map(|token| token.state);
        let request = PageRequest {
            caller,
            state: state.as_ref(),
            limit: u64::from(size.get()) + 1,
        };
        let mut db = self.db.acquire().await?;
        let read = sync::page(&mut db, &request).await?;
        db.release().await?;
        if let Some(state) = &state {
            let token = SyncToken {
                issued_at: at,
                state: state.clone(),
            };
            // A snapshot from the future was never taken here; one whose changes may
            // have been purged cannot be continued.
            if token.snapshots().iter().any(|s| s.xmax > read.current_xmax) {
                return Err(SyncError::Forged);
            }
            let seen = match state {
                SyncState::Since { seen, .. } => seen,
                SyncState::Full { target, .. } => target,
            };
            if read.horizon >= seen.xmin {
                return Err(SyncError::Expired);
            }
        }
        Ok(paged(read, state, size, at))
    }

    /// Deletes changes older than the tombstones are kept (a periodic job); how many.
    pub async fn purge_expired(&self) -> Result<u64, Failure> {
        let mut transaction = self.db.begin().await?;
        let purged = sync::purge(&mut transaction, self.policy.tombstone_ttl).await?;
        transaction.commit().await?;
        Ok(purged)
    }
}

/// What a read of the feed gives: its changes, each with the position after it, the
/// position after them all, and whether more follow at once.
pub struct Read {
    pub changes: Vec<(Change, SyncToken)>,
    pub next: SyncToken,
    pub has_more: bool,
}

/// The changes `read` holds, each item once and with the position after it, the position
/// that continues after them all, and whether more follow at once.
fn paged(
    read: PageRead,
    state: Option<SyncState>,
    size: PageSize,
    at: chrono::DateTime<chrono::Utc>,
) -> Read {
    let PageRead {
        mut items, target, ..
    } = read;
    let has_more = items.len() > usize::from(size.get());
    items.truncate(usize::from(size.get()));
    let seen = match state {
        Some(SyncState::Since { seen, .. }) => Some(seen),
        _ => None,
    };
    // `target` is the snapshot the page was read in: a round's first page takes it, and
    // the rest of the round reads in it again (the token carries it).
    let done = SyncState::Since {
        seen: target.clone(),
        round: None,
    };
    let after = |position: &Position| match (position, &seen) {
        (Position::Full(after), _) => SyncState::Full {
            target: target.clone(),
            after: *after,
        },
        (Position::Since(after), Some(seen)) => SyncState::Since {
            seen: seen.clone(),
            round: Some((target.clone(), *after)),
        },
        // A change is read only after a position that has seen something.
        (Position::Since(_), None) => done.clone(),
    };
    let next = match items.last() {
        Some((position, _)) if has_more => after(position),
        // The round is over: the client has everything visible in its snapshot.
        _ => done.clone(),
    };
    let token = |state| SyncToken {
        issued_at: at,
        state,
    };
    let mut seen_tasks = std::collections::HashSet::<TaskId>::new();
    let mut seen_lists = std::collections::HashSet::new();
    let mut changes: Vec<(Change, SyncToken)> = items
        .into_iter()
        .filter(|(_, change)| match change {
            Change::Task(id, _) => seen_tasks.insert(*id),
            Change::List(id, _) => seen_lists.insert(*id),
        })
        .map(|(position, change)| (change, token(after(&position))))
        .collect();
    // The last change holds the page's own position (past any repeat after it).
    if let Some((_, last)) = changes.last_mut() {
        *last = token(next.clone());
    }
    Read {
        changes,
        next: token(next),
        has_more,
    }
}
