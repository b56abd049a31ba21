//! The authorization table: every operation in `openapi.yaml` is listed with who may call
//! it, and each entry is exercised anonymously, with bad tokens, as its owner and as
//! another user. A new operation without an entry fails here.

use std::collections::BTreeSet;

use taskapi_client::{Client, types};
use taskapi_tests::{PASSWORD, Spec, TestApp, TestUser, claims, sign, status_of, task_titled};

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
    ("get_liveness", Access::Public),
    ("get_readiness", Access::Public),
];

/// What the calls act on: an existing account and one of its tasks.
struct Target {
    email: String,
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
                    password: PASSWORD.try_into().expect("fits"),
                })
                .send()
                .await,
        ),
        "login" => status_of(
            &client
                .login()
                .body(types::LoginForm {
                    username: target.email.clone(),
                    password: PASSWORD.to_owned(),
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
        "get_liveness" => status_of(&client.get_liveness().send().await),
        "get_readiness" => status_of(&client.get_readiness().send().await),
        other => panic!("no call for operation {other}: add it here and to AUTHORIZATION"),
    }
}

fn access_of(operation: &str) -> Option<Access> {
    AUTHORIZATION
        .iter()
        .find(|(id, _)| *id == operation)
        .map(|(_, access)| *access)
}

#[test]
fn every_operation_has_an_authorization_entry_and_the_spec_agrees() {
    let spec = Spec::checked_in();
    let in_spec: BTreeSet<&str> = spec.operations.iter().map(|op| op.id.as_str()).collect();
    let in_table: BTreeSet<&str> = AUTHORIZATION.iter().map(|(id, _)| *id).collect();
    assert_eq!(
        in_spec, in_table,
        "operations in openapi.yaml vs the AUTHORIZATION table"
    );
    for operation in &spec.operations {
        assert_eq!(
            operation.secured,
            access_of(&operation.id) != Some(Access::Public),
            "{}: security in the spec",
            operation.id
        );
    }
}

async fn alice_with_a_task(app: &TestApp) -> (TestUser, Target) {
    let alice = app.signed_up_user().await;
    let task = alice.create_task("Alice's").await;
    let target = Target {
        email: alice.email.clone(),
        task_id: task.id,
    };
    (alice, target)
}

#[tokio::test]
async fn protected_operations_refuse_anonymous_callers_and_bad_tokens() {
    let app = TestApp::spawn().await;
    let (alice, target) = alice_with_a_task(&app).await;
    let callers = [
        ("anonymous", app.client.clone()),
        ("malformed", app.client_with_token("not-a-jwt")),
        (
            "expired",
            app.client_with_token(&app.forge(&claims(alice.id, -60))),
        ),
        (
            "wrongly signed",
            app.client_with_token(&sign(
                &claims(alice.id, 600),
                "some-other-secret-that-is-long-enough",
            )),
        ),
    ];
    for (operation, access) in AUTHORIZATION {
        for (caller, client) in &callers {
            let status = call(operation, client, &target).await;
            match access {
                Access::Public => {
                    assert!(
                        (200..300).contains(&status),
                        "{operation} {caller}: {status}"
                    );
                }
                Access::Authenticated | Access::Owner => {
                    assert_eq!(status, 401, "{operation} {caller}");
                }
            }
        }
    }
    assert_eq!(alice.task(target.task_id).await.title, "Alice's");
}

#[tokio::test]
async fn another_users_task_looks_exactly_like_a_missing_one() {
    let app = TestApp::spawn().await;
    let (alice, target) = alice_with_a_task(&app).await;
    let mallory = app.signed_up_user().await;
    let missing = Target {
        email: target.email.clone(),
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
    assert_eq!(alice.task(target.task_id).await.title, "Alice's");
    assert!(
        mallory.has_no_tasks().await,
        "Alice's task is not in Mallory's list"
    );
}

#[tokio::test]
async fn owners_may_call_every_operation() {
    let app = TestApp::spawn().await;
    let (alice, target) = alice_with_a_task(&app).await;
    for (operation, _) in AUTHORIZATION {
        let status = call(operation, &alice.client, &target).await;
        assert!((200..300).contains(&status), "{operation}: {status}");
    }
}
