//! Conditional requests (RFC 9110 §13): every task has a version, sent as a strong `ETag`;
//! `If-None-Match` saves a download, and `If-Match` keeps two clients from overwriting each
//! other's changes unseen.

use reqwest::{Method, StatusCode, header::IF_NONE_MATCH};
use taskapi_client::{
    ResponseValue,
    problem::{Conditional, ConditionalExt},
    types,
};
use taskapi_tests::{TestApp, TestUser, etag_of, problem, status_of, task_titled};
use uuid::Uuid;

/// The `ETag` a plain `GET` of the task answers with.
async fn current_etag(user: &TestUser, id: Uuid) -> String {
    etag_of(&user.task_response(id).await)
}

/// A task of `user`'s and its current `ETag`.
async fn tagged_task(user: &TestUser, title: &str) -> (Uuid, String) {
    let created = user
        .client
        .create_task()
        .body(task_titled(title))
        .send()
        .await
        .expect("created");
    (created.id, etag_of(&created))
}

async fn replace(
    user: &TestUser,
    id: Uuid,
    if_match: Option<&str>,
    title: &str,
) -> Result<ResponseValue<types::Task>, taskapi_client::Error<types::Problem>> {
    let mut request = user
        .client
        .replace_task()
        .task_id(id)
        .body(task_titled(title));
    if let Some(tag) = if_match {
        request = request.if_match(tag);
    }
    request.send().await
}

/// Deletes the task, with `If-Match` when given, as the SDK answers.
async fn delete(
    user: &TestUser,
    id: Uuid,
    if_match: Option<&str>,
) -> Result<ResponseValue<()>, taskapi_client::Error<types::Problem>> {
    let mut request = user.client.delete_task().task_id(id);
    if let Some(tag) = if_match {
        request = request.if_match(tag);
    }
    request.send().await
}

/// The status of a `GET` with `If-None-Match: tag`: the SDK gives a 304 as a value.
async fn get_status_with(user: &TestUser, id: Uuid, tag: &str) -> u16 {
    let answer = user
        .client
        .get_task()
        .task_id(id)
        .if_none_match(tag)
        .send()
        .await
        .conditional()
        .expect("an answer");
    match answer {
        Conditional::Modified(response) => response.status().as_u16(),
        Conditional::NotModified { etag, .. } => {
            assert!(etag.is_some(), "a 304 names the version");
            304
        }
    }
}

#[tokio::test]
async fn every_version_of_a_task_has_its_own_strong_etag() {
    let (_app, alice) = TestApp::with_user().await;
    let (id, created) = tagged_task(&alice, "Draft").await;
    assert_eq!(created, "\"1\"");
    assert_eq!(current_etag(&alice, id).await, created);

    let replaced = replace(&alice, id, None, "Final").await.expect("replaced");
    let changed = etag_of(&replaced);
    assert_ne!(changed, created);
    assert!(!changed.starts_with("W/"), "strong");
    assert_eq!(current_etag(&alice, id).await, changed);
}

#[tokio::test]
async fn if_none_match_with_the_current_version_is_304_without_a_body() {
    let (_app, alice) = TestApp::with_user().await;
    let (id, etag) = tagged_task(&alice, "Cached").await;
    assert_eq!(get_status_with(&alice, id, &etag).await, 304);
    let raw = alice
        .raw(Method::GET, &format!("/tasks/{id}"))
        .header(IF_NONE_MATCH, &etag)
        .send()
        .await
        .expect("sent");
    assert_eq!(raw.status(), StatusCode::NOT_MODIFIED);
    assert!(
        raw.bytes().await.expect("read").is_empty(),
        "a 304 has no body"
    );
    assert_eq!(get_status_with(&alice, id, "*").await, 304);
    assert_eq!(
        get_status_with(&alice, id, &format!("W/{etag}")).await,
        304,
        "weak compare"
    );
    assert_eq!(
        get_status_with(&alice, id, "\"1\", \"7\"").await,
        304,
        "a list"
    );
    assert_eq!(get_status_with(&alice, id, "\"2\"").await, 200);
    assert_eq!(get_status_with(&alice, id, "garbage").await, 200);

    replace(&alice, id, None, "Changed")
        .await
        .expect("replaced");
    assert_eq!(
        get_status_with(&alice, id, &etag).await,
        200,
        "the copy is stale"
    );
}

#[tokio::test]
async fn a_change_based_on_a_stale_version_is_refused_with_the_current_etag() {
    let (_app, alice) = TestApp::with_user().await;
    let (id, first) = tagged_task(&alice, "Shared").await;
    // Another device changes the task.
    let second = etag_of(
        &replace(&alice, id, Some(&first), "Phone's")
            .await
            .expect("ok"),
    );

    // This device still holds the first version.
    let refused = problem(replace(&alice, id, Some(&first), "Laptop's").await);
    assert_eq!(refused.status().as_u16(), 412);
    assert_eq!(refused.type_, "urn:taskapi:problem:precondition-failed");
    assert_eq!(
        etag_of(&refused),
        second,
        "the 412 names the current version"
    );
    assert_eq!(
        alice.task(id).await.title,
        "Phone's",
        "nothing was overwritten"
    );

    // A weak tag never passes If-Match, and neither does garbage.
    for tag in [format!("W/{second}"), "garbage".to_owned()] {
        assert_eq!(
            status_of(&replace(&alice, id, Some(&tag), "x").await),
            412,
            "{tag}"
        );
    }
    // With the current version (or `*`) it goes through.
    replace(&alice, id, Some(&second), "Merged")
        .await
        .expect("replaced");
    replace(&alice, id, Some("*"), "Any version")
        .await
        .expect("replaced");

    let stale_delete = delete(&alice, id, Some(&second)).await;
    assert_eq!(status_of(&stale_delete), 412);
    let current = current_etag(&alice, id).await;
    delete(&alice, id, Some(&current)).await.expect("deleted");
}

#[tokio::test]
async fn of_two_writers_with_the_same_version_exactly_one_wins() {
    let (_app, alice) = TestApp::with_user().await;
    for round in 0..5 {
        let (id, etag) = tagged_task(&alice, "Contended").await;
        let (first, second) = tokio::join!(
            replace(&alice, id, Some(&etag), "First"),
            replace(&alice, id, Some(&etag), "Second")
        );
        let mut statuses = [status_of(&first), status_of(&second)];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 412], "round {round}");
        let winner = if status_of(&first) == 200 {
            "First"
        } else {
            "Second"
        };
        assert_eq!(alice.task(id).await.title, winner);
    }
}

#[tokio::test]
async fn a_server_may_require_if_match_on_every_change() {
    let app = TestApp::configured(|settings| settings.require_if_match = true).await;
    let alice = app.signed_up_user().await;
    let (id, etag) = tagged_task(&alice, "Guarded").await;

    let unconditional = problem(replace(&alice, id, None, "Blind").await);
    assert_eq!(unconditional.status().as_u16(), 428);
    assert_eq!(
        unconditional.type_,
        "urn:taskapi:problem:precondition-required"
    );
    let blind_delete = delete(&alice, id, None).await;
    assert_eq!(status_of(&blind_delete), 428);
    assert_eq!(alice.task(id).await.title, "Guarded");

    // Reads and creates need no condition; conditional changes go through.
    let etag = etag_of(
        &replace(&alice, id, Some(&etag), "Careful")
            .await
            .expect("ok"),
    );
    delete(&alice, id, Some(&etag)).await.expect("deleted");
}

#[tokio::test]
async fn an_if_match_that_is_not_ascii_fails_safe_rather_than_being_ignored() {
    let (_app, alice) = TestApp::with_user().await;
    let (id, etag) = tagged_task(&alice, "Kept").await;
    let garbled = reqwest::header::HeaderValue::from_bytes(b"\"1\xff\"").expect("obs-text");
    let path = format!("/tasks/{id}");
    let replaced = alice
        .raw(reqwest::Method::PUT, &path)
        .header("if-match", garbled.clone())
        .json(&task_titled("Overwritten"))
        .send()
        .await
        .expect("sent");
    assert_eq!(replaced.status(), StatusCode::PRECONDITION_FAILED);
    let deleted = alice
        .raw(reqwest::Method::DELETE, &path)
        .header("if-match", garbled.clone())
        .send()
        .await
        .expect("sent");
    assert_eq!(deleted.status(), StatusCode::PRECONDITION_FAILED);
    assert_eq!(alice.task(id).await.title, "Kept");
    assert_eq!(current_etag(&alice, id).await, etag, "nothing changed");
    // A garbled If-None-Match names no version the client holds: the task comes back.
    let read = alice
        .raw(reqwest::Method::GET, &path)
        .header("if-none-match", garbled)
        .send()
        .await
        .expect("sent");
    assert_eq!(read.status(), StatusCode::OK);
}
