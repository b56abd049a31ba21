//! Live changes (`GET /events`): [`Events`], one connection's server-sent events, typed;
//! [`Live`], the changes from a position on, reconnecting by itself.
//!
//! ```no_run
//! # async fn run(client: taskapi_client::Client) -> Result<(), taskapi_client::problem::ApiError> {
//! use taskapi_client::{events::Live, sync::Replica};
//!
//! let mut replica = Replica::new();
//! replica.sync(&client, None).await?;
//! let mut live = Live::from(client.clone(), replica.token.clone());
//! while let Some(change) = live.next().await? {
//!     replica.apply(change);
//!     replica.token = live.position().map(str::to_owned);
//! }
//! # Ok(()) }
//! ```

use std::time::Duration;

use futures::StreamExt;

use crate::{Client, problem::ApiError, types};

/// Longest the response's bytes may stop coming: three heartbeats missed at the server's
/// default of one every 15 s (a server with a longer `TASKAPI_STREAM_HEARTBEAT_MS` is
/// reconnected to after this much silence).
const SILENCE: Duration = Duration::from_secs(45);
/// First wait before reconnecting after a connection failed; doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// One server-sent event, as received.
#[derive(Debug, Clone)]
pub enum Frame {
    /// The stream's position alone (its first frame): where to resume until a change comes.
    Position { id: String },
    /// `event: change`, with the position after it.
    Change {
        id: String,
        change: Box<types::SyncChange>,
    },
    /// `event: end`: the stream ends; `id` is where to resume.
    End {
        id: String,
        reason: types::StreamEndReason,
    },
    /// A comment line: the server's heartbeat.
    Heartbeat,
}

/// The events of one `GET /events` connection, in order; no reconnecting.
pub struct Events {
    bytes: progenitor_client::ByteStream,
    buffer: Vec<u8>,
}

impl Events {
    /// Opens a stream after `position` (a sync token or an event's id; `None`: from now).
    pub async fn connect(client: &Client, position: Option<&str>) -> Result<Self, ApiError> {
        let mut request = client.stream_events();
        if let Some(position) = position {
            request = request.last_event_id(position.to_owned());
        }
        let response = request.send().await.map_err(ApiError::from)?;
        Ok(Self {
            bytes: response.into_inner(),
            buffer: Vec::new(),
        })
    }

    /// The next event; `Ok(None)` when the server closed the stream. An error when the
    /// connection failed, went silent for longer than three heartbeats, or sent what is
    /// not an event of the contract.
    pub async fn next(&mut self) -> Result<Option<Frame>, String> {
        loop {
            if let Some(block) = self.take_block() {
                if let Some(frame) = frame(&block)? {
                    return Ok(Some(frame));
                }
                continue;
            }
            match tokio::time::timeout(SILENCE, self.bytes.next()).await {
                Err(_) => return Err("the event stream went silent".to_owned()),
                Ok(None) => return Ok(None),
                Ok(Some(Err(error))) => return Err(error.to_string()),
                // Lines may end in `\r\n`: kept as `\n` alone.
                Ok(Some(Ok(bytes))) => (self.buffer).extend(bytes.iter().filter(|&&b| b != b'\r')),
            }
        }
    }

    /// The next whole event block (up to a blank line). Split as bytes: a chunk may end
    /// inside a character, a block never does.
    fn take_block(&mut self) -> Option<String> {
        let end = self.buffer.windows(2).position(|pair| pair == b"\n\n")?;
        let block = String::from_utf8_lossy(&self.buffer[..end]).into_owned();
        self.buffer.drain(..end + 2);
        Some(block)
    }
}

/// The frame a block of lines makes (`None` for one that dispatches nothing).
fn frame(block: &str) -> Result<Option<Frame>, String> {
    let (mut id, mut kind, mut data) = (None, String::new(), Vec::new());
    let mut comment = false;
    for line in block.split('\n') {
        if line.starts_with(':') {
            comment = true;
            continue;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "id" => id = Some(value.to_owned()),
            "event" => kind = value.to_owned(),
            "data" => data.push(value),
            _ => {}
        }
    }
    if data.is_empty() {
        return Ok(match id {
            Some(id) => Some(Frame::Position { id }),
            None => comment.then_some(Frame::Heartbeat),
        });
    }
    let data = data.join("\n");
    let id = id.ok_or_else(|| format!("an event without an id: {block:?}"))?;
    let invalid = |error: serde_json::Error| format!("an invalid {kind} event: {error}");
    match kind.as_str() {
        "change" => Ok(Some(Frame::Change {
            id,
            change: Box::new(serde_json::from_str(&data).map_err(invalid)?),
        })),
        "end" => {
            let end: types::StreamEnd = serde_json::from_str(&data).map_err(invalid)?;
            Ok(Some(Frame::End {
                id,
                reason: end.reason,
            }))
        }
        // A kind of event this SDK does not know yet: skipped, as `EventSource` would.
        _ => Ok(None),
    }
}

/// The changes after a position, for as long as it is read: reconnects (with the position
/// of the last change received, so nothing is lost) when a stream ends or its connection
/// fails, waiting longer after each failure in a row. The client's session refreshes an
/// expired access token on the way.
pub struct Live {
    client: Client,
    position: Option<String>,
    events: Option<Events>,
    backoff: Duration,
}

impl Live {
    /// The changes after `position` (a sync token or an event's id; `None`: from now).
    pub fn from(client: Client, position: Option<String>) -> Self {
        Self {
            client,
            position,
            events: None,
            backoff: FIRST_BACKOFF,
        }
    }

    /// The position after the last change returned: a sync token.
    pub fn position(&self) -> Option<&str> {
        self.position.as_deref()
    }

    /// Opens the stream now rather than at the first [`Self::next`]: started without a
    /// position, it follows the changes from this moment on.
    pub async fn open(&mut self) -> Result<(), ApiError> {
        let mut events = Events::connect(&self.client, self.position.as_deref()).await?;
        // The first frame is the stream's position.
        if let Ok(Some(Frame::Position { id })) = events.next().await {
            self.position = Some(id);
        }
        self.events = Some(events);
        Ok(())
    }

    /// The next change. An error only when the server refuses the stream: 410 when the
    /// position is older than the changes kept (sync again from scratch), 401 when the
    /// session has ended, 429 with too many streams open.
    pub async fn next(&mut self) -> Result<Option<types::SyncChange>, ApiError> {
        loop {
            let events = match &mut self.events {
                Some(events) => events,
                None => match Events::connect(&self.client, self.position.as_deref()).await {
                    Ok(events) => self.events.insert(events),
                    Err(error)
                        if error
                            .status()
                            .is_some_and(|status| status.is_client_error()) =>
                    {
                        return Err(error);
                    }
                    Err(_) => {
                        self.wait().await;
                        continue;
                    }
                },
            };
            match events.next().await {
                Ok(Some(Frame::Change { id, change })) => {
                    self.position = Some(id);
                    self.backoff = FIRST_BACKOFF;
                    return Ok(Some(*change));
                }
                Ok(Some(Frame::Position { id })) => self.position = Some(id),
                Ok(Some(Frame::Heartbeat)) => {}
                Ok(Some(Frame::End { id, reason })) => {
                    self.position = Some(id);
                    self.events = None;
                    if reason == types::StreamEndReason::Unavailable {
                        self.wait().await;
                    }
                }
                Ok(None) | Err(_) => {
                    self.events = None;
                    self.wait().await;
                }
            }
        }
    }

    async fn wait(&mut self) {
        tokio::time::sleep(self.backoff).await;
        self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
    }
}
