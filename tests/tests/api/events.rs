//! Live events (`GET /events`) through the SDK: each change as an event whose id is the
//! position after it; a change written through another server arriving within a second;
//! a resumed stream losing nothing; access gained while streaming; heartbeats; the end at
//! the access token's expiry and for a client too slow to keep up; the caps.
//!
//! Windows: a change reaches a stream within [`ARRIVAL`] (1 s, the bound, across
//! servers); a frame that must come at all comes within [`PATIENCE`].

use std::time::{Duration, Instant};

use taskapi_client::{
    Client,
    events::{Events, Frame, Live},
    problem::{ApiError, ProblemType},
    sync::Replica,
    types,
};
use taskapi_tests::{TestApp, TestUser, task_titled, without_rate_limits};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};
use uuid::Uuid;

use crate::sync::assert_replica_is_current;

/// How soon a committed change must reach a stream, on any server.
const ARRIVAL: Duration = Duration::from_secs(1);
/// How long to wait for what must come eventually (an end, a heartbeat).
const PATIENCE: Duration = Duration::from_secs(10);

/// The next frame within `window`, heartbeats and positions skipped.
async fn next_frame(events: &mut Events, window: Duration) -> Frame {
    let deadline = tokio::time::Instant::now() + window;
    loop {
        let frame = tokio::time::timeout_at(deadline, events.next())
            .await
            .unwrap_or_else(|_| panic!("no event within {window:?}"))
            .expect("the stream reads")
            .expect("the stream stays open");
        if !matches!(frame, Frame::Heartbeat | Frame::Position { .. }) {
            return frame;
        }
    }
}

/// The next change within `window`, with the position after it.
async fn next_change(events: &mut Events, window: Duration) -> (String, types::SyncChange) {
    match next_frame(events, window).await {
        Frame::Change { id, change } => (id, *change),
        other => panic!("a change was expected, not {other:?}"),
    }
}

/// Asserts that a stream was refused with `status` and a problem of type `kind`.
fn assert_refused<T>(opened: Result<T, ApiError>, status: u16, kind: ProblemType) {
    let Err(error) = opened else {
        panic!("the stream was expected to be refused with {status}");
    };
    assert_eq!(
        error.status().map(|status| status.as_u16()),
        Some(status),
        "{error}"
    );
    let problem = error.problem().expect("a problem document");
    assert_eq!(problem.problem_type, kind, "{error}");
}

async fn synced(user: &TestUser) -> Replica {
    let mut replica = Replica::new();
    replica.sync(&user.client, None).await.expect("synced");
    replica
}

/// Alice, her replica synced, and a stream from its position.
async fn following() -> (TestApp, TestUser, Replica, Events) {
    let (app, alice) = TestApp::with_user().await;
    let replica = synced(&alice).await;
    let events = open(&alice, replica.token.as_deref()).await;
    (app, alice, replica, events)
}

async fn open(user: &TestUser, position: Option<&str>) -> Events {
    Events::connect(&user.client, position)
        .await
        .expect("the stream opens")
}

#[tokio::test]
async fn each_change_arrives_as_an_event_whose_id_is_the_position_after_it() {
    let (_app, alice, mut replica, mut events) = following().await;

    let task = alice.create_task("Live").await;
    let (id, change) = next_change(&mut events, ARRIVAL).await;
    assert_eq!(
        (change.kind, change.id, change.deleted),
        (types::ChangeKind::Task, task.id, false)
    );
    assert_eq!(
        change.task.as_ref().map(|task| task.title.to_string()),
        Some("Live".to_owned())
    );
    replica.apply(change);

    let gone = alice.client.delete_task().task_id(task.id).send().await;
    assert!(gone.is_ok());
    let (id_after, tombstone) = next_change(&mut events, ARRIVAL).await;
    assert!(tombstone.deleted && tombstone.task.is_none());
    assert_ne!(id, id_after);
    replica.apply(tombstone);

    // The last id is a sync token: nothing follows it, and the replica is current.
    replica.token = Some(id_after);
    let after = replica.sync(&alice.client, None).await.expect("synced");
    assert_eq!(after.changes, 0, "the events held every change");
    assert_replica_is_current(&alice, &replica, "after the events").await;
}

#[tokio::test]
async fn a_stream_opened_without_a_position_starts_with_one() {
    let (_app, alice) = TestApp::with_user().await;
    let mut replica = synced(&alice).await;
    let mut events = open(&alice, None).await;
    let first = tokio::time::timeout(PATIENCE, events.next()).await;
    let Ok(Ok(Some(Frame::Position { id }))) = first else {
        panic!("the first frame is the stream's position, not {first:?}");
    };
    drop(events);
    // Cut before any change: what was written since is read from that position.
    let task = alice.create_task("While cut off").await;
    let mut resumed = open(&alice, Some(&id)).await;
    let (_, change) = next_change(&mut resumed, PATIENCE).await;
    assert_eq!(change.id, task.id);
    // The position is a sync token too.
    replica.token = Some(id);
    let synced = replica.sync(&alice.client, None).await.expect("synced");
    assert_eq!(synced.changes, 1);
    assert!(replica.tasks.contains_key(&task.id));
}

#[tokio::test]
async fn a_stream_from_the_middle_of_a_round_reads_on_to_what_committed_since() {
    let (_app, alice) = TestApp::with_user().await;
    let replica = synced(&alice).await;
    for n in 0..3 {
        alice.create_task(&format!("Before {n}")).await;
    }
    // The first page of the changes since: the round goes on in the snapshot it was read in.
    let page = alice
        .client
        .sync()
        .token(replica.token.clone().expect("a token"))
        .limit(std::num::NonZeroU64::new(1).expect("one"))
        .send()
        .await
        .expect("a page")
        .into_inner();
    assert!(page.has_more);
    // `later` is announced (a stream open now sees it) before the stream from the page's
    // token opens: nothing announces it to that one.
    let mut witness = open(&alice, None).await;
    let later = alice.create_task("Committed after the page").await;
    let (_, seen) = next_change(&mut witness, PATIENCE).await;
    assert_eq!(seen.id, later.id);
    let mut events = open(&alice, Some(&page.next_token)).await;
    let mut seen = Vec::new();
    while !seen.contains(&later.id) {
        let (_, change) = next_change(&mut events, PATIENCE).await;
        seen.push(change.id);
    }
}

#[tokio::test]
async fn a_list_made_while_streaming_arrives() {
    let (_app, alice, _replica, mut events) = following().await;
    let list = alice.create_list("New").await;
    let (_, change) = next_change(&mut events, ARRIVAL).await;
    assert_eq!((change.kind, change.id), (types::ChangeKind::List, list.id));
}

#[tokio::test]
async fn a_change_written_through_another_server_arrives_within_a_second() {
    let (app, alice) = TestApp::with_user().await;
    // Another server on the same database (behind nginx: two more instances and their own
    // nginx), so the write and the stream are on different servers whatever the topology.
    let other = app.another_instance().await;
    let there = other.logged_in(&alice.email, &alice.password).await;
    let mut events = open(&alice, None).await;
    for n in 0..5 {
        let written = Instant::now();
        let task = there.create_task(&format!("From elsewhere {n}")).await;
        let (_, change) = next_change(&mut events, ARRIVAL).await;
        assert_eq!(change.id, task.id);
        assert!(
            written.elapsed() < ARRIVAL,
            "arrived after {:?}",
            written.elapsed()
        );
    }
}

#[tokio::test]
async fn a_resumed_stream_loses_nothing() {
    let (_app, alice, mut replica, mut events) = following().await;
    let first = alice.create_task("Before the drop").await;
    let (id, change) = next_change(&mut events, ARRIVAL).await;
    assert_eq!(change.id, first.id);
    replica.apply(change);
    drop(events);

    // Changes while no stream is open: the resumed one sends each, in order, once.
    let mut written = Vec::new();
    for n in 0..12 {
        written.push(alice.create_task(&format!("While away {n}")).await.id);
    }
    alice
        .replace(first.id, task_titled("Changed while away"))
        .await;
    written.push(first.id);

    // As a browser's EventSource resumes: the old URL's token, and Last-Event-ID.
    let response = alice
        .raw(
            reqwest::Method::GET,
            &format!(
                "/events?token={}",
                replica.token.clone().unwrap_or_default()
            ),
        )
        .header("Last-Event-ID", &id)
        .send()
        .await
        .expect("the stream opens");
    assert_eq!(response.status(), 200);
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap_or("")),
        Some("text/event-stream")
    );
    drop(response);

    let mut events = open(&alice, Some(&id)).await;
    let mut received = Vec::new();
    let mut last = id;
    while received.len() < written.len() {
        let (id, change) = next_change(&mut events, PATIENCE).await;
        received.push(change.id);
        replica.apply(change);
        last = id;
    }
    assert_eq!(received, written, "each change once, in the order written");
    replica.token = Some(last);
    let after = replica.sync(&alice.client, None).await.expect("synced");
    assert_eq!(after.changes, 0);
    assert_replica_is_current(&alice, &replica, "after resuming").await;
}

#[tokio::test]
async fn a_list_shared_while_streaming_arrives_and_so_do_its_later_changes() {
    let (_app, [alice, bob]) = TestApp::with_users::<2>().await;
    let project = alice.create_list("Project").await;
    let plan = alice.create_in(project.id, "Plan").await;
    let mut replica = synced(&bob).await;
    let mut events = open(&bob, replica.token.as_deref()).await;

    alice.share(project.id, &bob, types::ListRole::Editor).await;
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let (_, change) = next_change(&mut events, PATIENCE).await;
        seen.push(change.id);
        replica.apply(change);
    }
    assert!(
        seen.contains(&project.id) && seen.contains(&plan.id),
        "{seen:?}"
    );

    // The stream now follows the new list too.
    let later = alice.create_in(project.id, "Later").await;
    let (id, change) = next_change(&mut events, ARRIVAL).await;
    assert_eq!(change.id, later.id);
    replica.apply(change);

    // Removed: tombstones for the list and its tasks.
    assert!(alice.try_remove(project.id, bob.id).await.is_ok());
    let (id, _) = {
        let mut last = (id, Uuid::nil());
        while replica.lists.contains_key(&project.id) {
            let (id, change) = next_change(&mut events, PATIENCE).await;
            last = (id, change.id);
            replica.apply(change);
        }
        last
    };
    replica.token = Some(id);
    replica.sync(&bob.client, None).await.expect("synced");
    assert_replica_is_current(&bob, &replica, "after losing the list").await;
}

#[tokio::test]
async fn an_idle_stream_sends_heartbeats() {
    let app = TestApp::configured(|settings| settings.stream_heartbeat_ms = 200).await;
    let alice = app.signed_up_user().await;
    let mut events = open(&alice, None).await;
    let first = tokio::time::timeout(PATIENCE, events.next()).await;
    assert!(
        matches!(first, Ok(Ok(Some(Frame::Position { .. })))),
        "{first:?}"
    );
    for _ in 0..2 {
        let frame = tokio::time::timeout(PATIENCE, events.next()).await;
        assert!(
            matches!(frame, Ok(Ok(Some(Frame::Heartbeat)))),
            "a heartbeat, not {frame:?}"
        );
    }
}

#[tokio::test]
async fn a_stream_ends_when_its_session_is_ended() {
    let (_app, alice) = TestApp::with_user().await;
    let mut events = open(&alice, None).await;
    alice.log_out().await;
    let Frame::End { reason, .. } = next_frame(&mut events, PATIENCE).await else {
        panic!("the stream ends");
    };
    assert_eq!(reason, types::StreamEndReason::TokenRevoked);
}

#[tokio::test]
async fn an_open_stream_is_not_an_idle_connection() {
    // Connections idle for 300 ms are closed; the stream sends nothing for 1.5 s.
    let app = TestApp::configured(|settings| {
        settings.transport.keep_alive_timeout_ms = 300;
        settings.stream_heartbeat_ms = 60_000;
    })
    .await;
    let alice = app.signed_up_user().await;
    let mut events = open(&alice, None).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let task = alice.create_task("Still listening").await;
    let (_, change) = next_change(&mut events, ARRIVAL).await;
    assert_eq!(change.id, task.id);
}

#[tokio::test]
async fn the_stream_ends_when_the_access_token_expires_and_live_carries_on() {
    let app = TestApp::configured(|settings| settings.token_ttl_seconds = 2).await;
    let alice = app.signed_up_user().await;
    let opened = Instant::now();
    let mut events = open(&alice, None).await;
    let Frame::End { id, reason } = next_frame(&mut events, PATIENCE).await else {
        panic!("the stream ends");
    };
    assert_eq!(reason, types::StreamEndReason::TokenExpired);
    assert!(
        opened.elapsed() >= Duration::from_secs(1),
        "not before the token expired"
    );
    assert!(
        matches!(events.next().await, Ok(None)),
        "nothing after the end"
    );

    // From the end's id, with a fresh token (the SDK refreshes it), nothing is lost.
    let task = alice.create_task("After the end").await;
    let mut live = Live::from(alice.client.clone(), Some(id));
    let change = tokio::time::timeout(PATIENCE, live.next())
        .await
        .expect("in time")
        .expect("the stream reopens")
        .expect("a change");
    assert_eq!(change.id, task.id);
}

#[tokio::test]
async fn streams_past_the_cap_are_refused_and_a_closed_one_frees_its_place() {
    let app = TestApp::configured(|settings| {
        settings.max_streams_per_user = 2;
        without_rate_limits(settings);
    })
    .await;
    let alice = app.signed_up_user().await;
    let bob = app.signed_up_user().await;
    // The cap is a server's: every stream here is on the first one.
    let (there, bobs) = (
        app.first_instance_client(&alice.token),
        app.first_instance_client(&bob.token),
    );
    let first = reopened(&there, None).await;
    let _second = reopened(&there, None).await;
    assert_refused(
        Events::connect(&there, None).await,
        429,
        ProblemType::TooManyStreams,
    );
    // Another account is not affected.
    let _bobs = reopened(&bobs, None).await;
    // A closed stream's place is free once the server notices (within `PATIENCE`).
    drop(first);
    let _third = reopened(&there, None).await;
}

#[tokio::test]
async fn forged_and_expired_positions_are_refused_before_streaming() {
    let (app, [alice, bob]) = TestApp::with_users::<2>().await;
    let replica = synced(&alice).await;
    let token = replica.token.clone().expect("a token");
    // Bob cannot stream from Alice's position.
    let taken = Events::connect(&bob.client, Some(&token)).await;
    assert_refused(taken, 422, ProblemType::Validation);
    let forged = Events::connect(&alice.client, Some("bm90LWEtdG9rZW4")).await;
    assert_refused(forged, 422, ProblemType::Validation);
    // A token issued long before the changes kept: in 1970.
    let old = app.forge_sync_token(alice.id, "1/1000000/S/3:3:");
    let expired = Events::connect(&alice.client, Some(&old)).await;
    assert_refused(expired, 410, ProblemType::SyncTokenExpired);
}

/// Tasks written straight into the database, each with a long description: 32 MB of
/// events, more than the sockets' buffers hold.
const FLOOD: i64 = 4_000;

#[tokio::test]
async fn a_client_too_slow_to_keep_up_is_closed_with_its_resume_id() {
    let app = TestApp::configured(|settings| {
        settings.max_streams_per_user = 1;
        settings.stream_send_timeout_ms = 300;
    })
    .await;
    let alice = app.signed_up_user().await;
    let inbox = alice.inbox().await;
    let replica = synced(&alice).await;

    let there = app.first_instance_client(&alice.token);
    let mut stalled = stalled_stream(&app, &alice, replica.token.as_deref()).await;
    flood(&app, inbox.id).await;
    // A write through the server announces the flood.
    let last = alice.create_task("After the flood").await;

    // The stalled stream is closed: its place is free again (within the send timeout,
    // 0.3 s, after its queue filled).
    let freed = reopened(&there, None).await;
    drop(freed);

    // What it had been sent ends with `end` (`too_slow`), whose id is that of the last
    // change before it.
    let mut received = Vec::new();
    let read = tokio::time::timeout(PATIENCE, stalled.read_to_end(&mut received)).await;
    read.expect("the stalled stream closes").expect("read");
    let text = String::from_utf8_lossy(&received).replace("\r\n", "\n");
    let blocks: Vec<&str> = text.split("\n\n").filter(|b| b.contains("data:")).collect();
    let end = blocks.last().expect("events were sent");
    assert!(
        end.contains("event: end") && end.contains("too_slow"),
        "{end}"
    );
    let field = |block: &str, name: &str| {
        block
            .lines()
            .find_map(|line| line.strip_prefix(&format!("{name}: ")))
            .map(str::to_owned)
    };
    let changes = blocks.len() - 1;
    assert!(
        changes > 0 && changes < FLOOD as usize,
        "{changes} changes before the end"
    );
    let resume = field(end, "id").expect("the end has an id");
    assert_eq!(Some(resume.clone()), field(blocks[changes - 1], "id"));

    // Resumed from there, the rest arrives: every task, the last write included.
    let mut resumed = reopened(&there, Some(&resume)).await;
    let mut rest = 0;
    loop {
        let (_, change) = next_change(&mut resumed, PATIENCE).await;
        rest += 1;
        if change.id == last.id {
            break;
        }
    }
    assert_eq!(changes + rest, FLOOD as usize + 1, "each change once");
}

/// A stream opened by a client with a small receive window that reads nothing after the
/// response head; on one server (behind nginx, its buffers would take what the server's
/// socket cannot).
async fn stalled_stream(app: &TestApp, user: &TestUser, position: Option<&str>) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
    socket.set_recv_buffer_size(4096).expect("a small window");
    let address = app.first_instance;
    let mut stalled = socket.connect(address).await.expect("connected");
    let query = position
        .map(|token| format!("?token={token}"))
        .unwrap_or_default();
    let request = format!(
        // HTTP/1.0: the body comes as it is, not in chunks, until the connection closes.
        "GET /events{query} HTTP/1.0\r\nHost: {address}\r\nAuthorization: Bearer {}\r\n\r\n",
        user.token
    );
    stalled.write_all(request.as_bytes()).await.expect("sent");
    // The stream is open once its head has come.
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let byte = tokio::time::timeout(PATIENCE, stalled.read_u8()).await;
        head.push(byte.expect("the head in time").expect("read"));
    }
    let head = String::from_utf8_lossy(&head);
    assert!(
        head.starts_with("HTTP/1.") && head.contains(" 200 "),
        "{head}"
    );
    stalled
}

/// [`FLOOD`] tasks written straight into `list`: nothing announces them until a write
/// through a server does.
async fn flood(app: &TestApp, list: Uuid) {
    let database = app.database().await;
    let flooded = sqlx::query(
        "INSERT INTO tasks (id, list_id, title, description) \
         SELECT gen_random_uuid(), $1, 'Flood ' || n, repeat('words ', 1300) \
         FROM generate_series(1, $2) AS n",
    )
    .bind(list)
    .bind(FLOOD)
    .execute(&database)
    .await
    .expect("flooded");
    assert_eq!(flooded.rows_affected(), FLOOD as u64);
}

#[tokio::test]
async fn a_connection_whose_client_stopped_reading_is_closed() {
    // The stream would wait 30 s for its client; the connection, 0.5 s.
    let app = TestApp::configured(|settings| {
        settings.max_streams_per_user = 1;
        settings.transport.keep_alive_timeout_ms = 500;
    })
    .await;
    let alice = app.signed_up_user().await;
    let inbox = alice.inbox().await;
    let there = app.first_instance_client(&alice.token);
    let mut stalled = stalled_stream(&app, &alice, None).await;
    flood(&app, inbox.id).await;
    alice.create_task("After the flood").await;
    // Cut: the account's place is free (its stream was dropped with the connection), and
    // the socket ends without an `end` event.
    drop(reopened(&there, None).await);
    let mut received = Vec::new();
    let read = tokio::time::timeout(PATIENCE, stalled.read_to_end(&mut received)).await;
    let _ = read.expect("the stalled connection is closed");
    let text = String::from_utf8_lossy(&received);
    assert!(text.contains("event: change") && !text.contains("event: end"));
}

/// A stream opened as soon as the account's one place is free (a closed stream's place is
/// freed once the server notices, within [`PATIENCE`]).
async fn reopened(client: &Client, position: Option<&str>) -> Events {
    let deadline = Instant::now() + PATIENCE;
    loop {
        match Events::connect(client, position).await {
            Ok(events) => return events,
            Err(error) if Instant::now() < deadline && error.status().is_some_and(|s| s == 429) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(error) => panic!("the stream did not open: {error}"),
        }
    }
}
