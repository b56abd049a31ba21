//! `/events`: the change feed pushed live, as server-sent events. A thin entry point: the
//! position is decoded here, and following it is the events service's.

use std::{task::Poll, time::Duration};

use bytes::Bytes;
use futures::{Stream, StreamExt};
use poem::{Body, web::sse::Event};
use poem_openapi::types::ToJSON;
use taskapi_api::sync::{
    ChangeEvents, EventsResponse, StreamEnd, StreamEndReason, StreamEventsErrors, SyncChange,
};

use super::{position, prelude::*, same_variants};
use crate::service::events::{EndReason, StreamItem};

/// The operations on `/events`.
pub enum Events {}

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
    /// token expires (reconnect with a fresh one) or its session is ended, when the client
    /// reads too slowly to keep up, or when the server stops. An account holds a few streams at once (429
    /// past `TASKAPI_MAX_STREAMS_PER_USER`).
    #[oai(path = "/", method = "get", operation_id = "stream_events")]
    async fn stream_events(
        &self,
        #[oai(scope = "Scope::TasksRead", scope = "Scope::ListsRead")] auth: BearerAuth,
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
        let stream = self.events.open(caller, token, until).await?;
        let text = with_heartbeats(stream.map(event).boxed(), self.events.heartbeat());
        let body = Body::from_bytes_stream(text.map(Ok::<_, std::io::Error>));
        Ok(EventsResponse::Ok(ChangeEvents(body)))
    }
}

same_variants!(StreamEndReason, EndReason:
    TokenExpired, TooSlow, Unavailable, SyncTokenExpired, TokenRevoked);

/// The events' text, with a comment line whenever `heartbeat` passes without one.
fn with_heartbeats(
    events: impl Stream<Item = Event> + Send + Unpin + 'static,
    heartbeat: Duration,
) -> impl Stream<Item = Bytes> + Send + 'static {
    let mut events = events.map(|event| Bytes::from(event.to_string()));
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + heartbeat, heartbeat);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    futures::stream::poll_fn(move |cx| {
        if let Poll::Ready(event) = events.poll_next_unpin(cx) {
            ticks.reset();
            return Poll::Ready(event);
        }
        ticks
            .poll_tick(cx)
            .map(|_| Some(Bytes::from_static(b":\n\n")))
    })
}

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
