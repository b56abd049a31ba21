//! `/sync`: the change feed. What the caller can see, then every change since, deletions
//! and lost access included.

use poem_openapi::{Enum, Object, payload::Json};
use uuid::Uuid;

use crate::{lists::List, problem::error_sets, tasks::Task};

/// What a change is to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum ChangeKind {
    Task,
    List,
}

/// A page of the change feed.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct SyncPage {
    pub changes: Vec<SyncChange>,
    /// Pass as `token` to get what follows: the next page when `has_more`, else the
    /// changes made from now on. Keep it: it is the replica's position.
    pub next_token: String,
    /// Whether another page follows at once; when not, the replica is current.
    pub has_more: bool,
}

/// One change: a task or a list as it is now, or a tombstone (`deleted`) for one the caller
/// no longer sees (deleted, moved to a list they cannot see, or in a list they lost).
/// `task` holds the task when `kind` is `task` and it is not deleted, `list` the list as
/// the caller sees it (with their `role`) when `kind` is `list` and it is not deleted;
/// each is absent otherwise.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct SyncChange {
    pub kind: ChangeKind,
    /// The task's or the list's id.
    pub id: Uuid,
    /// Whether it is gone from the caller's sight: forget it (and, for a list, every task
    /// held in it).
    pub deleted: bool,
    // No doc comments on fields of a schema's type: they become an `allOf` some
    // generators refuse (the struct's says what these hold).
    #[oai(skip_serializing_if_is_none)]
    pub task: Option<Task>,
    #[oai(skip_serializing_if_is_none)]
    pub list: Option<List>,
}

examples! {
    SyncChange => SyncChange {
        kind: ChangeKind::Task,
        id: <Task as poem_openapi::types::Example>::example().id,
        deleted: false,
        task: Some(<Task as poem_openapi::types::Example>::example()),
        list: None,
    };
    SyncPage => SyncPage {
        changes: vec![
            <SyncChange as poem_openapi::types::Example>::example(),
            SyncChange {
                kind: ChangeKind::Task,
                id: Uuid::from_u128(0x0195_4a8e_4c00_7000_8000_0000_0000_0002),
                deleted: true,
                task: None,
                list: None,
            },
        ],
        next_token: "MS8xNzcyMzg0NDAwMDAwMDAwL1MvNzUwOjc1MDo".to_owned(),
        has_more: false,
    };
}

responses! {
    /// A page of changes.
    SyncResponse: 200 Ok(Json<SyncPage>);
}

error_sets! {
    /// Errors of `sync`.
    SyncErrors: 400, 401, 403, 410, 422, 429;
}

/// Why an event stream ended. Reconnecting with the `end` event's `id` (as `Last-Event-ID`
/// or `token`) loses nothing, once what the reason asks is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum StreamEndReason {
    /// The access token the stream was opened with expired: reconnect with a fresh one.
    TokenExpired,
    /// The client read too slowly to keep up; it is closed rather than buffered.
    TooSlow,
    /// The server is shutting down, or cannot read the changes now: reconnect (elsewhere).
    Unavailable,
    /// The position is older than the changes kept: start over with `GET /sync`.
    SyncTokenExpired,
    /// The session or the account was ended (a logout, a disabled account): log in again.
    TokenRevoked,
}

/// The last event of a stream (`event: end`).
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct StreamEnd {
    pub reason: StreamEndReason,
}

/// The data of a server-sent event: a change (`event: change`, the same object as in a
/// sync page), or the stream's end (`event: end`).
// It describes the stream's data in the contract; events are written from their parts.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, poem_openapi::Union)]
pub enum StreamEvent {
    Change(SyncChange),
    End(StreamEnd),
}

examples! {
    StreamEnd => StreamEnd { reason: StreamEndReason::TokenExpired };
}

/// A `text/event-stream` of [`StreamEvent`]s: `id:` the position after the event, `event:`
/// `change` or `end`, `data:` its JSON; a comment line (`:`) as a heartbeat while idle. The
/// body is the events' text as written, chunk by chunk (no buffer between).
pub struct ChangeEvents(pub poem::Body);

impl poem_openapi::payload::Payload for ChangeEvents {
    const CONTENT_TYPE: &'static str = "text/event-stream";

    fn schema_ref() -> poem_openapi::registry::MetaSchemaRef {
        use poem_openapi::{registry::MetaSchema, types::Type};
        poem_openapi::registry::MetaSchemaRef::Inline(Box::new(MetaSchema {
            items: Some(Box::new(StreamEvent::schema_ref())),
            ..MetaSchema::new_with_format("array", "event-stream")
        }))
    }

    fn register(registry: &mut poem_openapi::registry::Registry) {
        <StreamEvent as poem_openapi::types::Type>::register(registry);
    }
}

impl poem::IntoResponse for ChangeEvents {
    fn into_response(self) -> poem::Response {
        poem::Response::builder()
            .content_type(<Self as poem_openapi::payload::Payload>::CONTENT_TYPE)
            .header("Cache-Control", "no-cache")
            // nginx passes each event on at once instead of filling a buffer first.
            .header("X-Accel-Buffering", "no")
            .body(self.0)
    }
}

responses! {
    /// The changes, as they happen, as server-sent events.
    EventsResponse: 200 Ok(ChangeEvents);
}

error_sets! {
    /// Errors of `stream_events`.
    StreamEventsErrors: 401, 403, 410, 422, 429;
}
