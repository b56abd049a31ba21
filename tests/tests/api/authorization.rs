//! The authorization table: every operation in `openapi.yaml` is listed with who may call
//! it, and each entry is exercised. A new operation without an entry fails here.

use std::collections::BTreeSet;

use taskapi_client::{Client, types};
use taskapi_tests::{TestApp, TestUser, status_of, task_titled};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// Anyone, without a token.
    Public,
    /// Any valid token; acts on the caller's own data.
    Authenticated,
    /// Any valid token, on a task the caller owns; anyone else gets 404.
    Owner,
}

const AUTHORIZATION: &[(&str, Access)] = &[
    ("register", Access::Public),
    ("login", Access::Public),
    ("get_current_user", Access::Authenticated),
    ("create_task", Access::Authenticated),
    ("list_tasks", Access::Authenticated),
    ("get_task", Access::Owner),
    ("replace_task", Access::Owner),
    ("delete_task", Access::Owner),
];

/// What the calls act on: an existing account and one of its tasks.
struct Target {
    email: String,
    password: String,
    task_id: uuid::Uuid,
}

/// Calls `operation` through the SDK and returns the HTTP status.
async fn call(operation: &str, client: &Client, target: &Target) -> u16 {
    let task_id = target.task_id;
    match operation {
        "register" => status_of(
            &client
                .register()
                .body(types::RegisterRequest {
                    email: format!("new-{}@example.com", uuid::Uuid::new_v4().simple())
                        .try_into()
                        .expect("fits"),
                    password: "correct horse battery".try_into().expect("fits"),
                })
                .send()
                .await,
        ),
        "login" => status_of(
            &client
                .login()
                .body(types::LoginForm {
                    username: target.email.clone(),
                    password: target.password.clone(),
                    grant_type: None,
                    scope: None,
                })
                .send()
                .await,
        ),
        "get_current_user" => status_of(&client.get_current_user().send().await),
        "create_task" => status_of(&client.create_task().body(task_titled("x")).send().await),
        "list_tasks" => status_of(&client.list_tasks().send().await),
        "get_task" => status_of(&client.get_task().task_id(task_id).send().await),
        "replace_task" => status_of(
            &client
                .replace_task()
                .task_id(task_id)
                .body(task_titled("Hijacked"))
                .send()
                .await,
        ),
        "delete_task" => status_of(&client.delete_task().task_id(task_id).send().await),
        other => panic!("no call for operation {other}: add it here and to AUTHORIZATION"),
    }
}

fn spec_operations() -> Vec<(String, bool)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.yaml");
    let spec: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(path).expect("openapi.yaml")).expect("yaml");
    let paths = spec["paths"].as_mapping().expect("paths");
    paths
        .values()
        .flat_map(|item| item.as_mapping().expect("path item").values())
        .map(|operation| {
            let id = operation["operationId"]
                .as_str()
                .expect("operationId")
                .to_owned();
            let secured = operation.get("security").is_some();
            (id, secured)
        })
        .collect()
}

#[test]
fn every_operation_has_an_authorization_entry_and_the_spec_agrees() {
    let in_spec: BTreeSet<String> = spec_operations().into_iter().map(|(id, _)| id).collect();
    let in_table: BTreeSet<String> = AUTHORIZATION
        .iter()
        .map(|(id, _)| (*id).to_owned())
        .collect();
    assert_eq!(
        in_spec, in_table,
        "operations in openapi.yaml vs the AUTHORIZATION table"
    );
    for (id, secured) in spec_operations() {
        let access = AUTHORIZATION
            .iter()
            .find(|(op, _)| *op == id)
            .map(|(_, a)| *a);
        assert_eq!(
            secured,
            access != Some(Access::Public),
            "{id}: security in the spec"
        );
    }
}

async fn alice_with_a_task(app: &TestApp) -> (TestUser, Target) {
    let alice = app.signed_up_user().await;
    let task = alice.create_task("Alice's").await;
    let target = Target {
        email: alice.email.clone(),
        password: alice.password.clone(),
        task_id: task.id,
    };
    (alice, target)
}

#[tokio::test]
async fn protected_operations_refuse_anonymous_callers() {
    let app = TestApp::spawn().await;
    let (_alice, target) = alice_with_a_task(&app).await;
    for (operation, access) in AUTHORIZATION {
        let status = call(operation, &app.client, &target).await;
        match access {
            Access::Public => assert!((200..300).contains(&status), "{operation}: {status}"),
            Access::Authenticated | Access::Owner => assert_eq!(status, 401, "{operation}"),
        }
    }
}

#[tokio::test]
async fn another_users_task_looks_exactly_like_a_missing_one() {
    let app = TestApp::spawn().await;
    let (alice, target) = alice_with_a_task(&app).await;
    let mallory = app.signed_up_user().await;
    let missing = Target {
        email: target.email.clone(),
        password: target.password.clone(),
        task_id: uuid::Uuid::now_v7(),
    };

    for (operation, access) in AUTHORIZATION {
        if *access != Access::Owner {
            continue;
        }
        let foreign = call(operation, &mallory.client, &target).await;
        let absent = call(operation, &mallory.client, &missing).await;
        assert_eq!((foreign, absent), (404, 404), "{operation}");
    }

    // Nothing Mallory did reached Alice's task.
    let intact = alice
        .client
        .get_task()
        .task_id(target.task_id)
        .send()
        .await
        .expect("still there");
    assert_eq!(intact.into_inner().title, "Alice's");
    let mallorys = mallory
        .client
        .list_tasks()
        .send()
        .await
        .expect("listed")
        .into_inner();
    assert!(
        mallorys.items.is_empty(),
        "Alice's task is not in Mallory's list"
    );
}
