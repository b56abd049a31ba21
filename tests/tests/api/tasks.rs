use std::{
    collections::HashSet,
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use reqwest::Method;
use taskapi_api::tasks::{DESCRIPTION_MAX_CHARS, TITLE_MAX_CHARS};
use taskapi_client::{
    problem::{ApiError, ProblemType},
    types::{self, TaskPriority, TaskStatus},
};
use taskapi_tests::{TestApp, expect_problem, problem, task_titled};

fn full_input(title: &str, status: TaskStatus) -> types::TaskInput {
    types::TaskInput {
        title: title.try_into().expect("fits"),
        description: Some("details\nwith a second line".try_into().expect("fits")),
        status: Some(status),
        priority: Some(TaskPriority::Urgent),
        due_at: Some("2030-05-01T12:00:00+02:00".parse().expect("timestamp")),
        tags: vec!["errands".try_into().expect("fits")],
        list_id: None,
        assignee_id: None,
    }
}

#[tokio::test]
async fn creating_a_task_applies_defaults_and_points_at_it() {
    let (_app, alice) = TestApp::with_user().await;

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

    let fetched = alice.task(task.id).await;
    assert_eq!(fetched.id, task.id);
    assert_eq!(fetched.title, "Buy milk");
}

#[tokio::test]
async fn every_field_round_trips() {
    let (_app, alice) = TestApp::with_user().await;

    let input = full_input("Write report", TaskStatus::InProgress);
    let task = alice.create(input).await;

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
    let (_app, alice) = TestApp::with_user().await;
    let input = full_input("Original", TaskStatus::InProgress);
    let task = alice.create(input).await;

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

    assert_eq!(alice.task(task.id).await.title, "Replaced");
}

#[tokio::test]
async fn completed_at_follows_the_done_status() {
    let (_app, alice) = TestApp::with_user().await;
    let replace =
        |status: TaskStatus, id: uuid::Uuid| alice.replace(id, full_input("Task", status));

    let created_done = alice
        .create(full_input("Done from the start", TaskStatus::Done))
        .await;
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
    let (_app, alice) = TestApp::with_user().await;
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
    let (app, alice) = TestApp::with_user().await;
    let bob = app.signed_up_user().await;

    // The SDK's TaskInput has no such fields, so this request is written by hand.
    for field in ["owner_id", "id", "created_at", "completed_at"] {
        let value = if field.ends_with("_at") {
            serde_json::json!("2020-01-01T00:00:00Z")
        } else {
            serde_json::json!(bob.id)
        };
        let body = expect_problem(
            alice
                .raw(Method::POST, "/tasks")
                .json(&serde_json::json!({"title": "Mine", field: value})),
            422,
        )
        .await;
        assert!(body["errors"][field].is_array(), "{field}: {body}");
    }

    assert!(bob.has_no_tasks().await, "nothing was created for Bob");
    assert!(alice.has_no_tasks().await, "nothing was created at all");
}

#[tokio::test]
async fn invalid_fields_are_reported_one_by_one() {
    let (_app, alice) = TestApp::with_user().await;

    let far_future: DateTime<Utc> = "+10000-01-01T00:00:00Z".parse().expect("chrono accepts it");
    let cases: Vec<(&str, types::TaskInput)> = vec![(
        "due_at",
        types::TaskInput {
            due_at: Some(far_future),
            ..task_titled("ok")
        },
    )];
    for (field, input) in cases {
        let refused = alice.client.create_task().body(input).send().await;
        let Err(ApiError::Problem(invalid)) = refused.map_err(ApiError::from) else {
            panic!("{field}: expected a problem");
        };
        assert_eq!(invalid.status.as_u16(), 422, "{field}");
        assert_eq!(invalid.problem_type, ProblemType::Validation);
        assert!(invalid.errors.contains_key(field), "{field}: {invalid}");
    }

    // Control characters and a blank title: the contract's patterns let the SDK refuse them
    // before sending…
    assert!(types::TaskInputTitle::try_from("nul\u{0}byte").is_err());
    assert!(types::TaskInputTitle::try_from(" \u{a0}\t").is_err());
    assert!(types::TaskInputTitle::try_from(" Milk ").is_ok());
    assert!(types::TaskInputDescription::try_from("bell\u{7}").is_err());
    assert!(types::TaskInputDescription::try_from("tab\tand\r\nlines").is_ok());

    // …and limits the SDK enforces itself are checked by the server too.
    let raw_cases = [
        ("title", serde_json::json!({"title": "   "})),
        ("title", serde_json::json!({"title": "nul\u{0}byte"})),
        (
            "description",
            serde_json::json!({"title": "ok", "description": "bell\u{7}"}),
        ),
        (
            "title",
            serde_json::json!({"title": "t".repeat(TITLE_MAX_CHARS + 1)}),
        ),
        (
            "description",
            serde_json::json!({"title": "ok", "description": "d".repeat(DESCRIPTION_MAX_CHARS + 1)}),
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
        let problem = expect_problem(alice.raw(Method::POST, "/tasks").json(&body), 422).await;
        assert!(problem["errors"][field].is_array(), "{field}: {problem}");
    }

    // Every wrong field is named in one answer, not one per attempt. Written by hand: the
    // SDK cannot send wrong types.
    let problem = expect_problem(
        alice.raw(Method::POST, "/tasks").json(&serde_json::json!({
            "title": "t".repeat(TITLE_MAX_CHARS + 1),
            "description": 42,
            "status": "finished",
            "priority": null,
            "due_at": "tomorrow",
            "owner_id": alice.id,
        })),
        422,
    )
    .await;
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

    assert!(alice.has_no_tasks().await, "no invalid task was stored");
}

#[tokio::test]
async fn titles_at_the_limits_are_accepted() {
    let (_app, alice) = TestApp::with_user().await;
    for title in ["x", &"é".repeat(TITLE_MAX_CHARS), "emoji 🦀 and ümlauts"] {
        let task = alice.create_task(title).await;
        assert_eq!(task.title, title);
    }
}

#[tokio::test]
async fn a_hundred_concurrent_creates_all_land() {
    let (_app, alice) = TestApp::with_user().await;

    let creates = (0..100).map(|n| {
        let alice = &alice;
        async move { alice.create_task(&format!("Task {n}")).await.id }
    });
    let created: HashSet<uuid::Uuid> = futures::future::join_all(creates)
        .await
        .into_iter()
        .collect();
    assert_eq!(created.len(), 100);

    let listed: HashSet<uuid::Uuid> = alice.all_tasks().await.iter().map(|t| t.id).collect();
    assert_eq!(listed, created);
}

/// Replacing reads the task and writes it in one transaction. When the write fails, nothing
/// of it stays: the task is as it was, no connection is left inside the transaction, and
/// the row lock is released for the next writer.
#[tokio::test]
async fn a_replace_that_fails_leaves_the_task_as_it_was() {
    let (app, alice) = TestApp::with_user().await;
    let task = alice.create_task("Original").await;
    let database = app.database().await;
    // A fault only the database knows about: updates to this title fail.
    sqlx::raw_sql(
        "CREATE FUNCTION refuse_marked_titles() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
           IF NEW.title = 'Refused by the database' THEN
             RAISE EXCEPTION 'refused for the test';
           END IF;
           RETURN NEW;
         END $$;
         CREATE TRIGGER refuse_marked_titles BEFORE UPDATE ON tasks
           FOR EACH ROW EXECUTE FUNCTION refuse_marked_titles();",
    )
    .execute(&database)
    .await
    .expect("the trigger is installed");

    let failed = problem(
        alice
            .client
            .replace_task()
            .task_id(task.id)
            .body(types::TaskInput {
                status: Some(TaskStatus::Done),
                ..task_titled("Refused by the database")
            })
            .send()
            .await,
    );
    assert_eq!(failed.status().as_u16(), 500);

    let unchanged = alice.task(task.id).await;
    assert_eq!(unchanged.title, "Original");
    assert_eq!(
        (unchanged.status, unchanged.completed_at),
        (TaskStatus::Todo, None)
    );
    assert_eq!(unchanged.updated_at, task.updated_at);

    let open_transactions = || async {
        let (open,): (i64,) = sqlx::query_as(
            "SELECT count(*) FROM pg_stat_activity
             WHERE datname = current_database() AND state LIKE 'idle in transaction%'",
        )
        .fetch_one(&database)
        .await
        .expect("pg_stat_activity");
        open
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    while open_transactions().await > 0 {
        assert!(Instant::now() < deadline, "a transaction stayed open");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let next = tokio::time::timeout(
        Duration::from_secs(5),
        alice.replace(task.id, task_titled("Replaced after the failure")),
    )
    .await
    .expect("the row lock was released");
    assert_eq!(next.title, "Replaced after the failure");
    assert_eq!(alice.task(task.id).await.title, next.title, "and committed");
}

/// Replacing reads the task under its row lock, so the completion rule sees what another
/// writer committed meanwhile: a task someone else completed keeps their completion time.
#[tokio::test]
async fn a_replace_waits_for_a_concurrent_writer_and_builds_on_what_it_wrote() {
    let (app, alice) = TestApp::with_user().await;
    let task = alice.create_task("Shared").await;
    let database = app.database().await;

    // Another writer completes the task and holds its transaction open.
    let mut other = database.begin().await.expect("a transaction");
    let completed_by_other: DateTime<Utc> = "2026-01-02T03:04:05Z".parse().expect("time");
    sqlx::query("UPDATE tasks SET status = 'done', completed_at = $1 WHERE id = $2")
        .bind(completed_by_other)
        .bind(task.id)
        .execute(&mut *other)
        .await
        .expect("the other writer's update");

    let input = types::TaskInput {
        status: Some(TaskStatus::Done),
        ..task_titled("Shared, done")
    };
    let replace = tokio::spawn({
        let client = alice.client.clone();
        async move {
            client
                .replace_task()
                .task_id(task.id)
                .body(input)
                .send()
                .await
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!replace.is_finished(), "the replace waits for the row lock");
    other.commit().await.expect("the other writer commits");

    let replaced = replace
        .await
        .expect("joined")
        .expect("replaced")
        .into_inner();
    assert_eq!(replaced.completed_at, Some(completed_by_other));
}
