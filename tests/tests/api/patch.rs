//! `PATCH /tasks/{task_id}`: a JSON Merge Patch, where a field left out keeps its value, a
//! value sets it and `null` clears it; every state of every field through the SDK.

use chrono::{DateTime, Utc};
use reqwest::{Method, header::CONTENT_TYPE};
use taskapi_client::{Error, ResponseValue, patch::Patch, types};
use taskapi_tests::{TestApp, TestUser, etag_of, expect_problem, status_of};
use uuid::Uuid;

fn due() -> DateTime<Utc> {
    "2030-05-01T12:00:00Z".parse().expect("a timestamp")
}

/// A task with every field filled in.
async fn full_task(alice: &TestUser) -> types::Task {
    alice
        .create(
            types::TaskInput::builder()
                .title("Dentist")
                .description(Some("Bring the card".try_into().expect("fits")))
                .priority(types::TaskPriority::High)
                .due_at(Some(due()))
                .try_into()
                .expect("valid"),
        )
        .await
}

async fn patch(
    alice: &TestUser,
    id: Uuid,
    body: types::builder::TaskPatch,
) -> Result<ResponseValue<types::Task>, Error<types::Problem>> {
    alice
        .client
        .update_task()
        .task_id(id)
        .body(body)
        .send()
        .await
}

#[tokio::test]
async fn a_field_left_out_keeps_its_value() {
    let (_app, alice) = TestApp::with_user().await;
    let task = full_task(&alice).await;
    let patched = patch(&alice, task.id, types::TaskPatch::builder())
        .await
        .expect("patched")
        .into_inner();
    assert_eq!(patched.title, task.title);
    assert_eq!(patched.description, task.description);
    assert_eq!(patched.priority, task.priority);
    assert_eq!(patched.due_at, task.due_at);
    assert_eq!(patched.status, task.status);
}

#[tokio::test]
async fn clearable_fields_can_be_kept_set_or_cleared() {
    let (_app, alice) = TestApp::with_user().await;
    let task = full_task(&alice).await;

    // Keep the description, set the due date.
    let later = due() + chrono::Duration::days(1);
    let patched = patch(
        &alice,
        task.id,
        types::TaskPatch::builder()
            .description(Patch::<&str>::Keep)
            .due_at(Patch::Set(later)),
    )
    .await
    .expect("patched")
    .into_inner();
    assert_eq!(patched.description.as_deref(), Some("Bring the card"));
    assert_eq!(patched.due_at, Some(later));

    // Clear the description, keep the due date.
    let patched = patch(
        &alice,
        task.id,
        types::TaskPatch::builder()
            .description(Patch::<&str>::Clear)
            .due_at(Patch::<DateTime<Utc>>::Keep),
    )
    .await
    .expect("patched")
    .into_inner();
    assert_eq!(patched.description, None);
    assert_eq!(patched.due_at, Some(later));

    // Set the description, clear the due date.
    let patched = patch(
        &alice,
        task.id,
        types::TaskPatch::builder()
            .description(Patch::Set("Ask about the bill"))
            .due_at(Patch::<DateTime<Utc>>::Clear),
    )
    .await
    .expect("patched")
    .into_inner();
    assert_eq!(patched.description.as_deref(), Some("Ask about the bill"));
    assert_eq!(patched.due_at, None);
    assert_eq!(patched.title, "Dentist", "untouched");
}

#[tokio::test]
async fn the_other_fields_can_be_kept_or_set_and_completion_follows_status() {
    let (_app, alice) = TestApp::with_user().await;
    let task = full_task(&alice).await;
    let done = patch(
        &alice,
        task.id,
        types::TaskPatch::builder()
            .title(Some("  Dentist, done ".try_into().expect("fits")))
            .status(Some(types::TaskStatus::Done)),
    )
    .await
    .expect("patched")
    .into_inner();
    assert_eq!(done.title, "Dentist, done", "trimmed");
    assert_eq!(done.status, types::TaskStatus::Done);
    assert!(done.completed_at.is_some());
    assert_eq!(done.priority, types::TaskPriority::High, "kept");

    let reopened = patch(
        &alice,
        task.id,
        types::TaskPatch::builder()
            .status(Some(types::TaskStatus::Todo))
            .priority(Some(types::TaskPriority::Low)),
    )
    .await
    .expect("patched")
    .into_inner();
    assert_eq!(reopened.completed_at, None);
    assert_eq!(reopened.priority, types::TaskPriority::Low);
    assert_eq!(reopened.title, "Dentist, done", "kept");
}

#[tokio::test]
async fn null_is_refused_for_fields_that_cannot_be_empty() {
    let (_app, alice) = TestApp::with_user().await;
    let task = full_task(&alice).await;
    let path = format!("/tasks/{}", task.id);
    for field in ["title", "status", "priority"] {
        let body = serde_json::json!({ field: null });
        let problem = expect_problem(alice.raw(Method::PATCH, &path).json(&body), 422).await;
        assert!(problem["errors"][field].is_array(), "{field}: {problem}");
    }
    // The same rules as `PUT`: a blank title, a field the task does not have.
    for (field, body) in [
        ("title", serde_json::json!({"title": "   "})),
        ("owner", serde_json::json!({"owner": "me"})),
    ] {
        let problem = expect_problem(alice.raw(Method::PATCH, &path).json(&body), 422).await;
        assert!(problem["errors"][field].is_array(), "{field}: {problem}");
    }
    assert_eq!(
        alice.task(task.id).await.title,
        "Dentist",
        "nothing changed"
    );
}

#[tokio::test]
async fn a_merge_patch_document_is_accepted_as_such() {
    let (_app, alice) = TestApp::with_user().await;
    let task = full_task(&alice).await;
    let response = alice
        .raw(Method::PATCH, &format!("/tasks/{}", task.id))
        .header(CONTENT_TYPE, "application/merge-patch+json")
        .body(r#"{"due_at": null}"#)
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200);
    assert_eq!(alice.task(task.id).await.due_at, None);
}

#[tokio::test]
async fn a_patch_honours_if_match() {
    let (_app, alice) = TestApp::with_user().await;
    let task = full_task(&alice).await;
    let retitle = |version: &'static str, title: &'static str| {
        let body = types::TaskPatch::builder().title(Some(title.try_into().expect("fits")));
        let request = alice.client.update_task().task_id(task.id);
        request.if_match(version).body(body).send()
    };
    assert_eq!(status_of(&retitle("\"7\"", "x").await), 412);
    let current = retitle("\"1\"", "y").await.expect("patched");
    assert_eq!(etag_of(&current), "\"2\"");
}
