//! The SDK retries a 429 or 503 after `Retry-After`, only what is safe to send twice, and
//! sends a create with one `Idempotency-Key` for all its attempts.

use reqwest::Method;
use taskapi_client::{
    session,
    transport::{KEYED_OPERATIONS, Retry, USER_AGENT},
    types,
};
use taskapi_tests::{Spec, TestApp, TestUser, task_titled};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
    sync::mpsc,
};

/// What a stand-in server saw of one request: its request line and headers, lower-cased.
struct Seen {
    head: String,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            (key == name).then(|| value.trim())
        })
    }
}

/// A server that answers every request with `503` and `Retry-After: 0` and reports what it
/// saw; one connection per request.
async fn always_unavailable() -> (String, mpsc::UnboundedReceiver<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("an address"));
    let (seen, reports) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && socket.read(&mut byte).await.unwrap_or(0) == 1 {
                head.push(byte[0]);
            }
            let head = String::from_utf8_lossy(&head).to_lowercase();
            let _ = seen.send(Seen { head });
            let body = r#"{"type":"urn:taskapi:problem:unavailable","title":"Service Unavailable","status":503}"#;
            let answer = format!(
                "HTTP/1.1 503 Service Unavailable\r\nretry-after: 0\r\nconnection: close\r\n\
                 content-type: application/problem+json\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(answer.as_bytes()).await;
        }
    });
    (url, reports)
}

fn drain(reports: &mut mpsc::UnboundedReceiver<Seen>) -> Vec<Seen> {
    let mut all = Vec::new();
    while let Ok(seen) = reports.try_recv() {
        all.push(seen);
    }
    all
}

#[tokio::test]
async fn a_503_is_retried_up_to_the_limit_and_a_create_keeps_one_key() {
    let (url, mut reports) = always_unavailable().await;
    let client = session::with_token(&url, "token")
        .expect("a client")
        .with_retry(Retry {
            max_attempts: 3,
            ..Retry::default()
        });

    let read = client.get_current_user().send().await;
    assert_eq!(
        read.expect_err("unavailable").status().map(|s| s.as_u16()),
        Some(503)
    );
    let reads = drain(&mut reports);
    assert_eq!(reads.len(), 3, "a GET is retried");
    assert_eq!(
        reads[0].header("user-agent"),
        Some(USER_AGENT.to_lowercase().as_str())
    );

    let created = client.create_task().body(task_titled("Once")).send().await;
    assert!(created.is_err());
    let creates = drain(&mut reports);
    assert_eq!(creates.len(), 3, "a create with a key is retried");
    let key = creates[0]
        .header("idempotency-key")
        .expect("the SDK sends a key");
    assert!(
        creates
            .iter()
            .all(|seen| seen.header("idempotency-key") == Some(key))
    );

    let changed = client
        .update_current_user()
        .body(
            types::EmailChange::builder()
                .email("new@example.com")
                .current_password("a password"),
        )
        .send()
        .await;
    assert!(changed.is_err());
    assert_eq!(drain(&mut reports).len(), 1, "a PATCH is not retried");

    let once = client.with_retry(Retry::off());
    assert!(once.get_current_user().send().await.is_err());
    let reads = drain(&mut reports);
    assert_eq!(reads.len(), 1, "retries turned off");
    let created = once.create_task().body(task_titled("Plain")).send().await;
    assert!(created.is_err());
    let creates = drain(&mut reports);
    assert_eq!(creates[0].header("idempotency-key"), None);
}

/// Spends `user`'s request quota until the server answers 429.
async fn exhaust_quota(user: &TestUser) {
    for _ in 0..500 {
        let response = user
            .raw(Method::GET, "/users/me")
            .send()
            .await
            .expect("sent");
        if response.status().as_u16() == 429 {
            return;
        }
    }
    panic!("the quota never ran out");
}

#[tokio::test]
async fn a_rate_limited_create_waits_for_retry_after_and_makes_one_task() {
    // 60 a minute: one more request a second once the burst is spent.
    let app = TestApp::configured(|settings| settings.rate_limits.requests_per_minute = 60).await;
    let alice = app.signed_up_user().await;
    exhaust_quota(&alice).await;

    let impatient = alice.client.clone().with_retry(Retry::off());
    let refused = impatient.get_current_user().send().await;
    assert_eq!(
        refused.expect_err("limited").status().map(|s| s.as_u16()),
        Some(429)
    );

    exhaust_quota(&alice).await;
    // Rate limited at first: created once the SDK has waited and retried.
    alice.create_task("Exactly once").await;
    let titles: Vec<String> = alice
        .all_tasks()
        .await
        .into_iter()
        .map(|task| task.title)
        .collect();
    assert_eq!(titles, ["Exactly once"]);
}

#[test]
fn the_sdk_keys_exactly_the_operations_that_take_an_idempotency_key() {
    let keyed: Vec<String> = Spec::checked_in()
        .operations
        .into_iter()
        .filter(|operation| {
            operation
                .header_parameters
                .iter()
                .any(|name| name.eq_ignore_ascii_case("idempotency-key"))
        })
        .map(|operation| operation.id)
        .collect();
    assert_eq!(keyed, KEYED_OPERATIONS);
}
