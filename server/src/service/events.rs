//! Live events (`GET /events`): the change feed, pushed as it happens.
//!
//! A stream holds a position (a sync token) and reads the feed from it, as `/sync` reads
//! it, whenever an announcement concerns its caller: a list they can see, or their own
//! access. So a stream sends exactly what `/sync` would, in the same order; a wake-up that
//! comes late or twice costs a read, never a change; and a stream resumed from the id of
//! the last event it delivered loses nothing.
//!
//! Announcements: after a commit, a server reads which lists and people the changes
//! committed since it last looked concern and notifies every server of them
//! ([`EventService::announce`], `store::sync::announce`); each server's listening
//! connection hears them and wakes its streams ([`Streams::wake`]).

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use futures::{Stream, StreamExt};
use tokio::{
    sync::{Notify, mpsc, oneshot, watch},
    time::{Instant, sleep, sleep_until, timeout},
};
use uuid::Uuid;

use super::{
    Failure,
    revocations::{RevocationSet, Verdict},
    sync::{Read, SyncError, SyncService},
};
use crate::{
    domain::{Caller, Change, PageSize, SyncState, SyncToken, UserId},
    store::{Database, lists, sync},
    telemetry::metrics,
};

/// Changes read at a time, and so held in memory at most, per stream (besides those
/// waiting in its queue).
const READ_SIZE: u16 = 100;
/// Changes a stream's queue holds for its client.
const QUEUE: usize = 64;
/// Least time between two announcements by one server: bursts of writes share one.
const ANNOUNCE_INTERVAL: Duration = Duration::from_millis(50);
/// Wait after a failed announcement before the next try.
const ANNOUNCE_RETRY: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy)]
pub struct StreamPolicy {
    /// Streams one account may hold open at once.
    pub max_per_user: u32,
    /// Streams this server holds open at once.
    pub max_per_server: u32,
    /// How long a change may wait for a client that does not read before its stream is
    /// closed (with `too_slow`).
    pub send_timeout: Duration,
    /// How often an idle stream sends a comment, so that proxies keep it open.
    pub heartbeat: Duration,
}

/// Why a stream ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// The access token it was opened with expired.
    TokenExpired,
    /// Its client did not take a change within [`StreamPolicy::send_timeout`].
    TooSlow,
    /// The server is shutting down, or could not read the feed.
    Unavailable,
    /// Its position became older than the changes kept.
    SyncTokenExpired,
    /// Its session or account was ended (a logout, a disabled account).
    TokenRevoked,
}

/// What a stream sends: first its position, then changes and at last its end, each with
/// the (sealed) position after it.
#[derive(Debug)]
pub enum StreamItem {
    /// Where the stream starts: for a client that opened it without one, the position to
    /// resume from should it be cut before the first change.
    Position(String),
    Change(Change, String),
    End(EndReason, String),
}

#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// The caller holds as many streams as they may (`open`, the cap).
    #[error("{open} event streams open, the most one account may hold")]
    TooMany { open: u32 },
    #[error(transparent)]
    Sync(#[from] SyncError),
}

impl From<Failure> for StreamError {
    fn from(failure: Failure) -> Self {
        Self::Sync(failure.into())
    }
}

/// The streams open on this server, and what wakes them.
#[derive(Clone)]
pub struct Streams {
    inner: Arc<Registry>,
}

struct Registry {
    policy: StreamPolicy,
    open: Mutex<Open>,
    /// Becomes true when the server shuts down: every stream ends.
    closing: watch::Sender<bool>,
}

#[derive(Default)]
struct Open {
    next_id: u64,
    subscribers: HashMap<u64, Arc<Subscriber>>,
    per_user: HashMap<UserId, u32>,
}

/// One open stream, as announcements see it.
struct Subscriber {
    user: UserId,
    /// The id whose revocation ends the caller's access: its session's or access token's.
    credential: Uuid,
    /// The lists its caller can see, as far as it has read.
    lists: Mutex<HashSet<Uuid>>,
    wake: Notify,
}

impl Subscriber {
    /// Whether an announcement of `id` concerns it: a change to its caller's access or to
    /// a list they see, or the revocation of their account, session or access token.
    fn concerns(&self, id: Uuid) -> bool {
        self.user.0 == id || self.credential == id || lock(&self.lists).contains(&id)
    }

    /// Follows the lists `changes` gain or lose; whether any was gained.
    fn learn(&self, changes: &[(Change, SyncToken)]) -> bool {
        let mut lists = lock(&self.lists);
        let mut gained = false;
        for (change, _) in changes {
            if let Change::List(id, seen) = change {
                match seen {
                    Some(_) => gained |= lists.insert(id.0),
                    None => {
                        lists.remove(&id.0);
                    }
                }
            }
        }
        gained
    }
}

/// A stream's place in the registry, given up when dropped.
struct Slot {
    streams: Streams,
    id: u64,
    subscriber: Arc<Subscriber>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.streams.open();
        open.subscribers.remove(&self.id);
        if let Some(count) = open.per_user.get_mut(&self.subscriber.user) {
            *count -= 1;
            if *count == 0 {
                open.per_user.remove(&self.subscriber.user);
            }
        }
        metrics::event_streams(open.subscribers.len());
    }
}

/// A poisoned lock still guards whole data: every critical section here is one insert,
/// removal or lookup.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Streams {
    pub fn new(policy: StreamPolicy) -> Self {
        metrics::event_streams(0);
        Self {
            inner: Arc::new(Registry {
                policy,
                open: Mutex::default(),
                closing: watch::Sender::new(false),
            }),
        }
    }

    /// Wakes the streams an announcement of `id` (a list's, a person's or a session's)
    /// concerns.
    pub fn wake(&self, id: Uuid) {
        for subscriber in self.open().subscribers.values() {
            if subscriber.concerns(id) {
                subscriber.wake.notify_one();
            }
        }
    }

    /// Wakes every stream: announcements may have been missed.
    pub fn wake_all(&self) {
        for subscriber in self.open().subscribers.values() {
            subscriber.wake.notify_one();
        }
    }

    /// Ends every stream (with [`EndReason::Unavailable`]) and refuses new ones: the
    /// server is shutting down.
    pub fn close(&self) {
        self.inner.closing.send_replace(true);
    }

    fn open(&self) -> MutexGuard<'_, Open> {
        lock(&self.inner.open)
    }

    /// A place for a stream of `user`'s, within the caps.
    fn join(&self, caller: Caller) -> Result<Slot, StreamError> {
        let user = caller.user;
        let policy = self.inner.policy;
        let mut open = self.open();
        if *self.inner.closing.borrow() {
            return Err(Failure::Busy("the server is shutting down").into());
        }
        if open.subscribers.len() >= policy.max_per_server as usize {
            return Err(Failure::Busy("this server holds as many event streams as it may").into());
        }
        let count = open.per_user.entry(user).or_default();
        if *count >= policy.max_per_user {
            return Err(StreamError::TooMany { open: *count });
        }
        *count += 1;
        open.next_id += 1;
        let id = open.next_id;
        let subscriber = Arc::new(Subscriber {
            user,
            credential: caller.credential.id(),
            lists: Mutex::default(),
            wake: Notify::new(),
        });
        open.subscribers.insert(id, Arc::clone(&subscriber));
        metrics::event_streams(open.subscribers.len());
        Ok(Slot {
            streams: self.clone(),
            id,
            subscriber,
        })
    }
}

#[derive(Clone)]
pub struct EventService {
    db: Database,
    sync: SyncService,
    streams: Streams,
    revocations: RevocationSet,
}

impl EventService {
    pub fn new(
        db: Database,
        sync: SyncService,
        streams: Streams,
        revocations: RevocationSet,
    ) -> Self {
        Self {
            db,
            sync,
            streams,
            revocations,
        }
    }

    pub fn streams(&self) -> &Streams {
        &self.streams
    }

    /// How often an idle stream sends a heartbeat.
    pub fn heartbeat(&self) -> Duration {
        self.streams.inner.policy.heartbeat
    }

    /// Opens a stream of what changes for `caller` after `token` (from now, without one),
    /// until `until` (when their access token expires). The first read is made before
    /// this returns, so that a token that cannot be continued is an error, not a stream.
    pub async fn open(
        &self,
        caller: Caller,
        token: Option<SyncToken>,
        until: std::time::SystemTime,
    ) -> Result<impl Stream<Item = StreamItem> + Send + 'static, StreamError> {
        let slot = self.streams.join(caller)?;
        let user = caller.user;
        let token = match token {
            Some(token) => token,
            None => self.sync.now().await?,
        };
        // Registered first, then the lists, then the read: a change announced before the
        // lists were known is in the read.
        let mut db = self.db.acquire().await?;
        let visible = lists::roles(&mut *db, user).await?;
        db.release().await?;
        lock(&slot.subscriber.lists).extend(visible.into_iter().map(|(list, _)| list.0));
        let first = self.sync.read(user, Some(token.clone()), read_size());
        let first = first.await?;
        let (queue, received) = mpsc::channel(QUEUE);
        let (ended, end) = oneshot::channel();
        let start = self.sync.seal(user, &token);
        let stream = Follower {
            service: self.clone(),
            caller,
            stale: !matches!(token.state, SyncState::Since { round: None, .. }),
            until: Instant::now()
                + until
                    .duration_since(std::time::SystemTime::now())
                    .unwrap_or_default(),
            queue,
            slot,
        };
        tokio::spawn(async move {
            if let Some(reason) = stream.follow(first).await {
                // The client may be gone already; then nobody needs the reason.
                let _ = ended.send(reason);
            }
        });
        Ok(delivered(received, end, start))
    }

    /// Announces this server's commits to every server's streams, for as long as it runs:
    /// after each commit (at most every [`ANNOUNCE_INTERVAL`]), the lists and people the
    /// changes committed since the last announcement concern.
    pub async fn announce(self) {
        let commits = self.db.commits();
        let mut seen = None;
        loop {
            if seen.is_some() {
                commits.notified().await;
            }
            let announced = async {
                let mut db = self.db.acquire().await?;
                let next = match &seen {
                    Some(seen) => sync::announce(&mut db, seen).await?,
                    None => sync::current_snapshot(&mut db).await?,
                };
                db.release().await?;
                Ok::<_, Failure>(next)
            };
            match announced.await {
                Ok(next) => {
                    seen = Some(next);
                    sleep(ANNOUNCE_INTERVAL).await;
                }
                Err(error) => {
                    tracing::warn!(%error, "cannot announce changes to the event streams");
                    // Try again without waiting for another commit.
                    commits.notify_one();
                    sleep(ANNOUNCE_RETRY).await;
                }
            }
        }
    }
}

fn read_size() -> PageSize {
    // READ_SIZE is not 0.
    PageSize::new(READ_SIZE).expect("a read holds changes")
}

/// The task behind one stream: reads the feed and queues what it reads for the client.
struct Follower {
    service: EventService,
    caller: Caller,
    /// Whether the round being read was begun before the stream was registered.
    stale: bool,
    until: Instant,
    /// Changes boxed: a queue's block of slots is allocated whole, idle or not.
    queue: mpsc::Sender<(Box<Change>, String)>,
    slot: Slot,
}

impl Follower {
    /// Follows the feed from `read` on; why it stopped, unless the client left.
    async fn follow(mut self, mut read: Read) -> Option<EndReason> {
        let mut closing = self.service.streams.inner.closing.subscribe();
        loop {
            let gained = self.slot.subscriber.learn(&read.changes);
            for (change, after) in read.changes {
                let item = (
                    Box::new(change),
                    self.service.sync.seal(self.caller.user, &after),
                );
                let send_timeout = self.service.streams.inner.policy.send_timeout;
                match timeout(send_timeout, self.queue.send(item)).await {
                    Ok(Ok(())) => {}
                    Ok(Err(_)) => return None,
                    Err(_) => return Some(EndReason::TooSlow),
                }
            }
            // A list gained: announcements of it may have come before it was known. A round
            // begun before the stream was registered (a mid-round position) was read in an
            // older snapshot: what committed since may have been announced before, so the
            // next read (in a fresh snapshot) comes at once.
            let stale = self.stale;
            self.stale = read.has_more && stale;
            if !read.has_more && !gained && !stale {
                tokio::select! {
                    () = self.slot.subscriber.wake.notified() => {}
                    () = sleep_until(self.until) => return Some(EndReason::TokenExpired),
                    () = self.queue.closed() => return None,
                    _ = closing.wait_for(|closing| *closing) => return Some(EndReason::Unavailable),
                }
            }
            if Instant::now() >= self.until {
                return Some(EndReason::TokenExpired);
            }
            // An untrusted set (`Unknown`) cannot tell: the token's expiry ends the stream.
            if self.service.revocations.check(&self.caller) == Verdict::Revoked {
                return Some(EndReason::TokenRevoked);
            }
            let position = Some(read.next);
            // Boxed: the read's state is held only while it runs, not by every idle stream.
            let next = Box::pin(
                self.service
                    .sync
                    .read(self.caller.user, position, read_size()),
            );
            read = match next.await {
                Ok(read) => read,
                Err(SyncError::Expired) => return Some(EndReason::SyncTokenExpired),
                Err(error) => {
                    tracing::warn!(%error, "an event stream cannot read the change feed");
                    return Some(EndReason::Unavailable);
                }
            };
        }
    }
}

/// What the client receives: the stream's position, the queued changes, then the end (when
/// the stream ended other than by the client leaving), whose id is that of the last change
/// delivered (or the stream's start): where to resume.
fn delivered(
    received: mpsc::Receiver<(Box<Change>, String)>,
    end: oneshot::Receiver<EndReason>,
    start: String,
) -> impl Stream<Item = StreamItem> + Send + 'static {
    let position = futures::stream::once(std::future::ready(StreamItem::Position(start.clone())));
    position.chain(futures::stream::unfold(
        (received, Some(end), start),
        |(mut received, end, last)| async move {
            match received.recv().await {
                Some((change, id)) => {
                    let item = StreamItem::Change(*change, id.clone());
                    Some((item, (received, end, id)))
                }
                None => {
                    let reason = end?.await.ok()?;
                    Some((
                        StreamItem::End(reason, last.clone()),
                        (received, None, last),
                    ))
                }
            }
        },
    ))
}
