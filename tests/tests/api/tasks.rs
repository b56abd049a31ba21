use std::collections::HashSet;

use chrono::{DateTime, Utc};
use taskapi_client::types::{self, TaskPriority, TaskStatus};
use taskapi_tests::{TestApp, problem, task_titled};

fn full_input(title: &str, status: TaskStatus) -> types::TaskInput {
    types::TaskInput {
        title: title.try_into().expect("fits"),
        description: Some("details\nwith a second line".try_into().expect("fits")),
        status: Some(status),
        priority: Some(TaskPriority::Urgent),
        due_at: Some("2030-05-01T12:00:00+02:00".parse().expect("timestamp")),
    }
}

#[tokio::test]
async fn creating_a_task_applies_defaults_and_points_at_it() {
    let app = TestApp::spawn().await;
    let alice = app.signed_up_user().await;

    let created = alice
        .client
        .create_task()
        .body(task_titled("  Buy milk  "))
        .send()
        .await
        .expect("created");

    assert_eq!(created.status().as_u16(), 201);
    let location = created
        .headers()
        .get("location")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let task = created.into_inner();
    assert_eq!(location, Some(format!("/tasks/{}", task.id)));
    assert_eq!(task.title, "Buy milk");
    assert_eq!(task.status, TaskStatus::Todo);
    assert_eq!(task.priority, TaskPriority::Normal);
    assert_eq!(task.description, None);
    assert_eq!(task.due_at, None);
    assert_eq!(task.completed_at, None);
    assert_eq!(task.created_at, task.updated_at);

    let fetched = alice
        .client
        .get_task()
        .task_id(task.id)
        .send()
        .await
        .expect("fetched")
        .into_inner();
    assert_eq!(fetched.id, task.id);
    assert_eq!(fetched.title, "Buy milk");
}

#[tokio::test]
async fn every_field_round_trips() {
    let app = TestApp::spawn().await;
    let alice = app.signed_up_user().await;

    let task = alice
        .client
        .create_task()
        .body(full_input("Write report", TaskStatus::InProgress))
        .send()
        .await
        .expect("created")
        .into_inner();

    assert_eq!(
        task.description.as_deref(),
        Some("details\nwith a second line")
    );
    assert_eq!(task.status, TaskStatus::InProgress);
    assert_eq!(task.priority, TaskPriority::Urgent);
    let due: DateTime<Utc> = "2030-05-01T10:00:00Z".parse().expect("timestamp");
    assert_eq!(task.due_at, Some(due));
}

#[tokio::test]
async fn replacing_a_task_replaces_every_writable_field() {
    let app = TestApp::spawn().await;
    let alice = app.signed_up_user().await;
    let task = alice
        .client
        .create_task()
        .body(full_input("Original", TaskStatus::InProgress))
        .send()
        .await
        .expect("created")
        .into_inner();

    // Omitted optional fields go back to their defaults: PUT is a full replace.
    let replaced = alice
        .client
        .replace_task()
        .task_id(task.id)
        .body(task_titled("Replaced"))
        .send()
        .await
        .expect("replaced");
    assert_eq!(replaced.status().as_u16(), 200);
    let replaced = replaced.into_inner();
    assert_eq!(replaced.id, task.id);
    assert_eq!(replaced.title, "Replaced");
    assert_eq!(replaced.description, None);
    assert_eq!(replaced.status, TaskStatus::Todo);
    assert_eq!(replaced.priority, TaskPriority::Normal);
    assert_eq!(replaced.due_at, None);
    assert_eq!(replaced.created_at, task.created_at);
    assert!(replaced.updated_at > task.updated_at);

    let fetched = alice
        .client
        .get_task()
        .task_id(task.id)
        .send()
        .await
        .expect("fetched");
    assert_eq!(fetched.into_inner().title, "Replaced");
}

#[tokio::test]
async fn completed_at_follows_the_done_status() {
    let app = TestApp::spawn().await;
    let alice = app.signed_up_user().await;
    let replace = |status: TaskStatus, id: uuid::Uuid| {
        let client = &alice.client;
        async move {
            client
                .replace_task()
                .task_id(id)
                .body(full_input("Task", status))
                .send()
                .await
                .expect("replaced")
                .into_inner()
        }
    };

    let created_done = alice
        .client
        .create_task()
        .body(full_input("Done from the start", TaskStatus::Done))
        .send()
        .await
        .expect("created")
        .into_inner();
    assert_eq!(created_done.completed_at, Some(created_done.created_at));

    let task = alice.create_task("Task").await;
    let done = replace(TaskStatus::Done, task.id).await;
    let completed_at = done.completed_at.expect("stamped when done");
    assert!(completed_at >= task.created_at);

    let still_done = replace(TaskStatus::Done, task.id).await;
    assert_eq!(
        still_done.completed_at,
        Some(completed_at),
        "first completion kept"
    );

    let reopened = replace(TaskStatus::InProgress, task.id).await;
    assert_eq!(reopened.completed_at, None, "cleared when it leaves done");
}

#[tokio::test]
async fn deleting_a_task_removes_it() {
    let app = TestApp::spawn().await;
    let alice = app.signed_up_user().await;
    let task = alice.create_task("Short-lived").await;

    let deleted = alice
        .client
        .delete_task()
        .task_id(task.id)
        .send()
        .await
        .expect("deleted");
    assert_eq!(deleted.status().as_u16(), 204);

    let gone = problem(alice.client.get_task().task_id(task.id).send().await);
    assert_eq!(gone.status().as_u16(), 404);
    let again = problem(alice.client.delete_task().task_id(task.id).send().await);
    assert_eq!(again.status().as_u16(), 404);
    let replaced = problem(
        alice
            .client
            .replace_task()
            .task_id(task.id)
            .body(task_titled("Back?"))
            .send()
            .await,
    );
    assert_eq!(replaced.status().as_u16(), 404);
}

#[tokio::test]
async fn the_body_cannot_choose_the_owner_or_server_fields() {
    let app = TestApp::spawn().await;
    let alice = app.signed_up_user().await;
    let bob = app.signed_up_user().await;

    // The SDK's TaskInput has no such fields, so this request is written by hand.
    for field in ["owner_id", "id", "created_at", "completed_at"] {
        let value = if field.ends_with("_at") {
            serde_json::json!("2020-01-01T00:00:00Z")
        } else {
            serde_json::json!(bob.id)
        };
        let response = app
            .http
            .post(app.url("/tasks"))
            .bearer_auth(&alice.token)
            .json(&serde_json::json!({"title": "Mine", field: value}))
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status().as_u16(), 422, "{field}");
        let body: serde_json::Value = response.json().await.expect("problem");
        assert!(body["errors"][field].is_array(), "{body}");
    }

    let page = bob
        .client
        .list_tasks()
        .send()
        .await
        .expect("listed")
        .into_inner();
    assert!(page.items.is_empty(), "nothing was created for Bob");
    let page = alice
        .client
        .list_tasks()
        .send()
        .await
        .expect("listed")
        .into_inner();
    assert!(page.items.is_empty(), "nothing was created at all");
}

#[tokio::test]
async fn invalid_fields_are_reported_one_by_one() {
    let app = TestApp::spawn().await;
    let alice = app.signed_up_user().await;

    let far_future: DateTime<Utc> = "+10000-01-01T00:00:00Z".parse().expect("chrono accepts it");
    let cases: Vec<(&str, types::TaskInput)> = vec![
        ("title", task_titled("   ")),
        (
            "due_at",
            types::TaskInput {
                due_at: Some(far_future),
                ..task_titled("ok")
            },
        ),
    ];
    for (field, input) in cases {
        let invalid = problem(alice.client.create_task().body(input.clone()).send().await);
        assert_eq!(invalid.status().as_u16(), 422, "{field}");
        assert_eq!(invalid.type_, "urn:taskapi:problem:validation");
        let errors = invalid.errors.clone();
        assert!(errors.contains_key(field), "{field}: {errors:?}");
    }

    // Control characters: the contract's pattern lets the SDK refuse them before sending…
    assert!(types::TaskInputTitle::try_from("nul\u{0}byte").is_err());
    assert!(types::TaskInputDescription::try_from("bell\u{7}").is_err());
    assert!(types::TaskInputDescription::try_from("tab\tand\r\nlines").is_ok());

    // …and limits the SDK enforces itself are checked by the server too.
    let raw_cases = [
        ("title", serde_json::json!({"title": "nul\u{0}byte"})),
        (
            "description",
            serde_json::json!({"title": "ok", "description": "bell\u{7}"}),
        ),
        ("title", serde_json::json!({"title": "t".repeat(501)})),
        (
            "description",
            serde_json::json!({"title": "ok", "description": "d".repeat(10_001)}),
        ),
        (
            "status",
            serde_json::json!({"title": "ok", "status": "finished"}),
        ),
        (
            "priority",
            serde_json::json!({"title": "ok", "priority": 3}),
        ),
        (
            "due_at",
            serde_json::json!({"title": "ok", "due_at": "tomorrow"}),
        ),
        ("title", serde_json::json!({"description": "no title"})),
        ("title", serde_json::json!({"title": 5})),
        ("status", serde_json::json!({"title": "ok", "status": null})),
        (
            "priority",
            serde_json::json!({"title": "ok", "priority": null}),
        ),
        ("title", serde_json::json!({"title": true})),
        (
            "description",
            serde_json::json!({"title": "ok", "description": 42}),
        ),
    ];
    for (field, body) in raw_cases {
        let response = app
            .http
            .post(app.url("/tasks"))
            .bearer_auth(&alice.token)
            .json(&body)
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status().as_u16(), 422, "{field}: {body}");
        let problem: serde_json::Value = response.json().await.expect("problem");
        assert!(problem["errors"][field].is_array(), "{field}: {problem}");
    }

    // Every wrong field is named in one answer, not one per attempt. Written by hand: the
    // SDK cannot send wrong types.
    let response = app
        .http
        .post(app.url("/tasks"))
        .bearer_auth(&alice.token)
        .json(&serde_json::json!({
            "title": "t".repeat(501),
            "description": 42,
            "status": "finished",
            "priority": null,
            "due_at": "tomorrow",
            "owner_id": alice.id,
        }))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status().as_u16(), 422);
    let problem: serde_json::Value = response.json().await.expect("problem");
    let named: Vec<&str> = problem["errors"]
        .as_object()
        .expect("field errors")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        named,
        [
            "description",
            "due_at",
            "owner_id",
            "priority",
            "status",
            "title"
        ],
        "{problem}"
    );
    assert_eq!(
        problem["errors"]["status"][0],
        r#"must be one of "todo", "in_progress", "done", got the string "finished""#
    );

    let page = alice
        .client
        .list_tasks()
        .send()
        .await
        .expect("listed")
        .into_inner();
    assert!(page.items.is_empty(), "no invalid task was stored");
}

#[tokio::test]
async fn titles_at_the_limits_are_accepted() {
    let app = TestApp::spawn().await;
    let alice = app.signed_up_user().await;
    for title in ["x", &"é".repeat(500), "emoji 🦀 and ümlauts"] {
        let task = alice.create_task(title).await;
        assert_eq!(task.title, title);
    }
}

#[tokio::test]
async fn a_hundred_concurrent_creates_all_land() {
    let app = TestApp::spawn().await;
    let alice = app.signed_up_user().await;

    let creates = (0..100).map(|n| {
        let client = &alice.client;
        async move {
            client
                .create_task()
                .body(task_titled(&format!("Task {n}")))
                .send()
                .await
                .expect("created")
                .into_inner()
                .id
        }
    });
    let created: HashSet<uuid::Uuid> = futures::future::join_all(creates)
        .await
        .into_iter()
        .collect();
    assert_eq!(created.len(), 100);

    let mut listed = HashSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut request = alice
            .client
            .list_tasks()
            .limit(std::num::NonZeroU32::new(100).expect("non-zero"));
        if let Some(cursor) = &cursor {
            request = request.cursor(cursor.clone());
        }
        let page = request.send().await.expect("listed").into_inner();
        listed.extend(page.items.iter().map(|task| task.id));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(listed, created);
}
