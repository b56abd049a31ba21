//! `/sync` and `/events`: the change feed, read page by page or pushed live. Thin entry
//! points: the token is decoded here, and what it means is the sync service's.

use futures::StreamExt;
use poem::web::sse::{Event, SSE};
use poem_openapi::{
    OpenApi,
    param::{Header, Query},
    payload::Json,
    types::ToJSON,
};
use taskapi_api::{
    ApiTag,
    paging::{Cursor, PageLimit},
    problem::Errors,
    security::BearerAuth,
    sync::{
        ChangeEvents, ChangeKind, EventsResponse, StreamEnd, StreamEndReason, StreamEventsErrors,
        SyncChange, SyncErrors, SyncPage as WirePage, SyncResponse,
    },
};

use super::{Api, position, positioned_request, same_variants};
use crate::{
    domain::{Change, SyncPage},
    service::events::{EndReason, StreamItem},
};

/// The operations on `/sync`.
pub enum Sync {}

/// The operations on `/events`.
pub enum Events {}

#[OpenApi(prefix_path = "/sync", tag = "ApiTag::Sync")]
impl Api<Sync> {
    /// Sync a replica
    ///
    /// Without `token`: everything the caller can see, lists and tasks, in pages. With the
    /// `next_token` of the previous page: what follows, which after the last page is every
    /// change made since, in the order the changes committed, each item as it is now.
    /// Deletions, moves out of the caller's sight and lost access arrive as tombstones
    /// (`deleted`); a list shared with the caller arrives with its tasks. Follow
    /// `next_token` while `has_more`; then keep it for the next sync. A token older than
    /// the changes kept is 410 (`urn:taskapi:problem:sync-token-expired`): start over
    /// without one.
    #[oai(path = "/", method = "get", operation_id = "sync")]
    async fn sync(
        &self,
        auth: BearerAuth,
        /// The previous page's `next_token` (only tokens this API issued); omit to start.
        token: Query<Option<Cursor>>,
        /// How many changes the page holds at most.
        #[oai(default)]
        limit: Query<PageLimit>,
    ) -> Result<SyncResponse, Errors<SyncErrors>> {
        let caller = self.authenticate(auth).await?;
        let open = |sealed: &str| self.sync.open(caller.user, sealed);
        let (size, token) = positioned_request(limit.0, ("token", token.0), open)?;
        let page = self.sync.page(caller.user, token, size).await?;
        Ok(SyncResponse::Ok(Json(page.into())))
    }
}

#[OpenApi(prefix_path = "/events", tag = "ApiTag::Sync")]
impl Api<Events> {
    /// Stream changes live
    ///
    /// The changes `/sync` would return, pushed as they are committed (on any server), as
    /// server-sent events: each `event: change` has `data:` the change (as in a sync page)
    /// and `id:` the position after it. Pass the last `id` received as `Last-Event-ID` (as
    /// `EventSource` does on reconnecting) or `token` to resume with nothing lost; start
    /// from a sync page's `next_token` to follow a replica; without either, the stream
    /// starts now. Its first frame is its position alone (`id:`, no data: it dispatches no
    /// event, but is the id to resume from until a change comes). A comment line (`:`) is sent while idle (every 15 s by default). The stream ends
    /// with `event: end` (`data:` its `reason`, `id:` where to resume): when the access
    /// token expires (reconnect with a fresh one), when the client reads too slowly to
    /// keep up, or when the server stops. An account holds a few streams at once (429
    /// past `TASKAPI_MAX_STREAMS_PER_USER`).
    #[oai(path = "/", method = "get", operation_id = "stream_events")]
    async fn stream_events(
        &self,
        auth: BearerAuth,
        /// Where to resume: the `id` of the last event received. Wins over `token`.
        #[oai(name = "Last-Event-ID")]
        last_event_id: Header<Option<Cursor>>,
        /// Where to start: a sync page's `next_token`, or an event's `id`.
        token: Query<Option<Cursor>>,
    ) -> Result<EventsResponse, Errors<StreamEventsErrors>> {
        let (caller, until) = self.authenticate_until(auth).await?;
        let resume = match last_event_id.0 {
            Some(id) => ("Last-Event-ID", Some(id)),
            None => ("token", token.0),
        };
        let token = position(resume, |sealed| self.sync.open(caller.user, sealed))?;
        let stream = self.events.open(caller.user, token, until).await?;
        let events = SSE::new(stream.map(event)).keep_alive(self.events.heartbeat());
        Ok(EventsResponse::Ok(ChangeEvents(events)))
    }
}

same_variants!(StreamEndReason, EndReason: TokenExpired, TooSlow, Unavailable, SyncTokenExpired);

/// A stream's item as a server-sent event.
fn event(item: StreamItem) -> Event {
    let (kind, data, id) = match item {
        // `id:` alone: it sets the client's last event id, and dispatches nothing.
        StreamItem::Position(id) => return Event::message("").id(id),
        StreamItem::Change(change, id) => ("change", SyncChange::from(change).to_json_string(), id),
        StreamItem::End(reason, id) => {
            let end = StreamEnd {
                reason: reason.into(),
            };
            ("end", end.to_json_string(), id)
        }
    };
    Event::message(data).event_type(kind).id(id)
}

impl From<SyncPage> for WirePage {
    fn from(page: SyncPage) -> Self {
        Self {
            changes: page.changes.into_iter().map(Into::into).collect(),
            next_token: page.next,
            has_more: page.has_more,
        }
    }
}

impl From<Change> for SyncChange {
    fn from(change: Change) -> Self {
        let (kind, id, task, list) = match change {
            Change::Task(id, task) => (ChangeKind::Task, id.0, task.map(Into::into), None),
            Change::List(id, list) => (ChangeKind::List, id.0, None, list.map(Into::into)),
        };
        Self {
            kind,
            id,
            deleted: task.is_none() && list.is_none(),
            task,
            list,
        }
    }
}
