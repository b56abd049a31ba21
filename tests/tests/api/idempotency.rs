//! `Idempotency-Key` on `POST /tasks`: a retried create returns the first response and
//! creates nothing; a key reused for another request, or still in use, is refused.

use std::time::Duration;

use futures::future::join_all;
use reqwest::header::{ETAG, LOCATION};
use taskapi_client::{ResponseValue, types};
use taskapi_server::{domain::IdempotencyKey, store::idempotency::lock_id};
use taskapi_tests::{TestApp, TestUser, problem, status_of, task_titled};

async fn create_with_key(
    user: &TestUser,
    key: &str,
    input: types::TaskInput,
) -> Result<ResponseValue<types::Task>, taskapi_client::Error<types::Problem>> {
    user.client
        .create_task()
        .idempotency_key(key)
        .body(input)
        .send()
        .await
}

fn header(response: &ResponseValue<types::Task>, name: reqwest::header::HeaderName) -> String {
    response.headers()[name].to_str().expect("ascii").to_owned()
}

#[tokio::test]
async fn a_retry_with_the_same_key_gets_the_first_response_and_creates_nothing() {
    let (_app, alice) = TestApp::with_user().await;
    let first = create_with_key(&alice, "\"order-1\"", task_titled("Buy milk"))
        .await
        .expect("created");
    let task = first.clone_task();
    // The task changes afterwards; a retry still gets the response the key first gave.
    alice.replace(task.id, task_titled("Buy oat milk")).await;

    // The bare spelling of the key is the same key.
    let retry = create_with_key(&alice, "order-1", task_titled("Buy milk"))
        .await
        .expect("replayed");
    assert_eq!(retry.status().as_u16(), 201);
    assert_eq!(header(&retry, LOCATION), header(&first, LOCATION));
    assert_eq!(header(&retry, ETAG), header(&first, ETAG));
    let replayed = retry.into_inner();
    assert_eq!(replayed.id, task.id);
    assert_eq!(replayed.title, "Buy milk");
    assert_eq!(replayed.updated_at, task.updated_at);
    assert_eq!(alice.all_tasks().await.len(), 1, "nothing new was created");

    // Another key is another task.
    create_with_key(&alice, "order-2", task_titled("Buy milk"))
        .await
        .expect("created");
    assert_eq!(alice.all_tasks().await.len(), 2);
}

/// `ResponseValue` derefs to its body; a copy of it.
trait CloneTask {
    fn clone_task(&self) -> types::Task;
}

impl CloneTask for ResponseValue<types::Task> {
    fn clone_task(&self) -> types::Task {
        (**self).clone()
    }
}

#[tokio::test]
async fn a_key_reused_for_another_request_is_refused() {
    let (app, alice) = TestApp::with_user().await;
    create_with_key(&alice, "k", task_titled("One thing"))
        .await
        .expect("created");
    let refused = problem(create_with_key(&alice, "k", task_titled("Another thing")).await);
    assert_eq!(refused.status().as_u16(), 422);
    assert_eq!(refused.type_, "urn:taskapi:problem:idempotency-key-reused");
    assert_eq!(alice.all_tasks().await.len(), 1);

    // Keys belong to their user: Bob's "k" is his own.
    let bob = app.signed_up_user().await;
    create_with_key(&bob, "k", task_titled("Another thing"))
        .await
        .expect("created");
    assert_eq!(bob.all_tasks().await.len(), 1);

    for bad in ["naïve", "\"unclosed", &"k".repeat(256)] {
        let refused = problem(create_with_key(&alice, bad, task_titled("x")).await);
        assert_eq!(refused.status().as_u16(), 422, "{bad:?}");
        let errors = &refused.errors;
        assert!(errors.contains_key("Idempotency-Key"), "{errors:?}");
    }
}

#[tokio::test]
async fn a_twin_still_in_flight_is_told_to_retry_and_twins_create_one_task() {
    let (app, alice) = TestApp::with_user().await;
    // Hold the key's lock, as a request with the key that is still running does.
    let key = IdempotencyKey::parse("twin").expect("a key");
    let database = app.database().await;
    let mut holder = database.begin().await.expect("a transaction");
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(lock_id(taskapi_server::domain::UserId(alice.id), &key))
        .execute(&mut *holder)
        .await
        .expect("locked");
    let refused = problem(create_with_key(&alice, "twin", task_titled("Twin")).await);
    assert_eq!(refused.status().as_u16(), 409);
    assert_eq!(refused.type_, "urn:taskapi:problem:idempotency-key-in-use");
    holder.rollback().await.expect("released");
    assert!(alice.has_no_tasks().await);

    // Eight at once: one creates the task; each other one replays it or is told to retry.
    let results =
        join_all((0..8).map(|_| create_with_key(&alice, "twin", task_titled("Twin")))).await;
    let mut created = std::collections::HashSet::new();
    for result in &results {
        match status_of(result) {
            201 => {
                created.insert(result.as_ref().expect("201").id);
            }
            409 => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(created.len(), 1, "{results:?}");
    assert_eq!(alice.all_tasks().await.len(), 1);
}

#[tokio::test]
async fn a_key_expires_and_the_server_forgets_it() {
    let app = TestApp::configured(|settings| settings.idempotency_key_ttl_seconds = 1).await;
    let alice = app.signed_up_user().await;
    create_with_key(&alice, "short-lived", task_titled("First"))
        .await
        .expect("created");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    // Expired: the key answers a new request as if it were new.
    let second = create_with_key(&alice, "short-lived", task_titled("Second"))
        .await
        .expect("created")
        .into_inner();
    assert_eq!(second.title, "Second");
    assert_eq!(alice.all_tasks().await.len(), 2);
    // Once expired, the server's purge deletes it (here: the store's purge, directly).
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let database = app.database().await;
    let purged = taskapi_server::store::idempotency::purge_expired(&database)
        .await
        .expect("purged");
    assert_eq!(purged, 1);
}
