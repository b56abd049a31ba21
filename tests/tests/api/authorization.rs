//! The authorization table: every operation in `openapi.yaml` is listed with who may call
//! it, and each entry is exercised anonymously, with bad tokens, as its owner, as another
//! user and as an administrator. A new operation without an entry fails here.

use std::collections::BTreeSet;

use taskapi_client::{Client, types};
use taskapi_tests::{PASSWORD, Spec, TestApp, TestUser, claims, sign, status_of, task_titled};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// Anyone, without a token.
    Public,
    /// Any valid token; acts on the caller's own data.
    Authenticated,
    /// Any valid token, on something the caller owns (a task, a session); anyone else,
    /// administrators included, gets 404.
    Owner,
    /// Administrators only; any other valid token gets 403.
    Admin,
}

const AUTHORIZATION: &[(&str, Access)] = &[
    ("register", Access::Public),
    ("login", Access::Public),
    ("logout", Access::Authenticated),
    ("get_current_user", Access::Authenticated),
    ("update_current_user", Access::Authenticated),
    ("delete_current_user", Access::Authenticated),
    ("change_password", Access::Authenticated),
    ("list_sessions", Access::Authenticated),
    ("end_session", Access::Owner),
    ("create_task", Access::Authenticated),
    ("list_tasks", Access::Authenticated),
    ("get_task", Access::Owner),
    ("replace_task", Access::Owner),
    ("update_task", Access::Owner),
    ("delete_task", Access::Owner),
    ("list_tags", Access::Authenticated),
    ("rename_tag", Access::Owner),
    ("delete_tag", Access::Owner),
    ("get_liveness", Access::Public),
    ("get_readiness", Access::Public),
    ("admin_list_users", Access::Admin),
    ("admin_get_user", Access::Admin),
    ("admin_disable_user", Access::Admin),
    ("admin_enable_user", Access::Admin),
    ("admin_delete_user", Access::Admin),
    ("admin_end_user_sessions", Access::Admin),
];

/// What the calls act on: an account, one of its tasks, that task's tag and its session.
struct Target {
    user_id: Uuid,
    email: String,
    task_id: Uuid,
    tag: String,
    session_id: Uuid,
}

/// The tag every target's task carries.
const TAG: &str = "errands";

/// Calls `operation` through the SDK and returns the HTTP status.
async fn call(operation: &str, client: &Client, target: &Target) -> u16 {
    let task_id = target.task_id;
    let user_id = target.user_id;
    let fresh_email = || format!("new-{}@example.com", Uuid::new_v4().simple());
    match operation {
        "register" => status_of(
            &client
                .register()
                .body(types::RegisterRequest {
                    email: fresh_email().try_into().expect("fits"),
                    password: PASSWORD.try_into().expect("fits"),
                })
                .send()
                .await,
        ),
        "login" => status_of(
            &client
                .login()
                .body(types::LoginForm {
                    username: Some(target.email.clone()),
                    password: Some(PASSWORD.to_owned()),
                    grant_type: None,
                    refresh_token: None,
                    scope: None,
                })
                .send()
                .await,
        ),
        "logout" => status_of(&client.logout().send().await),
        "get_current_user" => status_of(&client.get_current_user().send().await),
        "update_current_user" => status_of(
            &client
                .update_current_user()
                .body(
                    types::EmailChange::builder()
                        .email(fresh_email())
                        .current_password(PASSWORD),
                )
                .send()
                .await,
        ),
        "delete_current_user" => status_of(
            &client
                .delete_current_user()
                .body(types::AccountDeletion::builder().current_password(PASSWORD))
                .send()
                .await,
        ),
        "change_password" => status_of(
            &client
                .change_password()
                .body(
                    types::PasswordChange::builder()
                        .current_password(PASSWORD)
                        .new_password("a different fine passphrase"),
                )
                .send()
                .await,
        ),
        "list_sessions" => status_of(&client.list_sessions().send().await),
        "end_session" => status_of(
            &client
                .end_session()
                .session_id(target.session_id)
                .send()
                .await,
        ),
        "create_task" => status_of(&client.create_task().body(task_titled("x")).send().await),
        "list_tasks" => status_of(&client.list_tasks().send().await),
        "get_task" => status_of(&client.get_task().task_id(task_id).send().await),
        "list_tags" => status_of(&client.list_tags().send().await),
        "rename_tag" => status_of(
            &client
                .rename_tag()
                .name(target.tag.as_str())
                .body(types::TagRename::builder().name("Renamed"))
                .send()
                .await,
        ),
        "delete_tag" => status_of(&client.delete_tag().name(target.tag.as_str()).send().await),
        "replace_task" => status_of(
            &client
                .replace_task()
                .task_id(task_id)
                .body(task_titled("Hijacked"))
                .send()
                .await,
        ),
        "update_task" => status_of(
            &client
                .update_task()
                .task_id(task_id)
                .body(types::TaskPatch::builder().title(Some("Hijacked".try_into().expect("fits"))))
                .send()
                .await,
        ),
        "delete_task" => status_of(&client.delete_task().task_id(task_id).send().await),
        "get_liveness" => status_of(&client.get_liveness().send().await),
        "get_readiness" => status_of(&client.get_readiness().send().await),
        "admin_list_users" => status_of(&client.admin_list_users().send().await),
        "admin_get_user" => status_of(&client.admin_get_user().user_id(user_id).send().await),
        "admin_disable_user" => {
            status_of(&client.admin_disable_user().user_id(user_id).send().await)
        }
        "admin_enable_user" => status_of(&client.admin_enable_user().user_id(user_id).send().await),
        "admin_delete_user" => status_of(&client.admin_delete_user().user_id(user_id).send().await),
        "admin_end_user_sessions" => status_of(
            &client
                .admin_end_user_sessions()
                .user_id(user_id)
                .send()
                .await,
        ),
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
        assert_eq!(
            operation.path.starts_with("/admin"),
            access_of(&operation.id) == Some(Access::Admin),
            "{}: administrator operations, and only they, live under /admin",
            operation.id
        );
    }
}

/// A task input with a title and [`TAG`].
fn tagged(title: &str) -> types::TaskInput {
    types::TaskInput {
        tags: vec![TAG.try_into().expect("fits")],
        ..task_titled(title)
    }
}

/// A new user with a task, and the target that names them, their task and their session.
async fn user_with_a_task(app: &TestApp) -> (TestUser, Target) {
    let user = app.signed_up_user().await;
    let task = user.create(tagged("Theirs")).await;
    let session_id = current_session(&user).await;
    let target = Target {
        user_id: user.id,
        email: user.email.clone(),
        task_id: task.id,
        tag: TAG.to_owned(),
        session_id,
    };
    (user, target)
}

async fn current_session(user: &TestUser) -> Uuid {
    user.sessions()
        .await
        .items
        .iter()
        .find(|session| session.current)
        .expect("the current session is listed")
        .id
}

#[tokio::test]
async fn protected_operations_refuse_anonymous_callers_and_bad_tokens() {
    let app = TestApp::spawn().await;
    let (alice, target) = user_with_a_task(&app).await;
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
                Access::Authenticated | Access::Owner | Access::Admin => {
                    assert_eq!(status, 401, "{operation} {caller}");
                }
            }
        }
    }
    assert_eq!(alice.task(target.task_id).await.title, "Theirs");
}

#[tokio::test]
async fn another_users_things_look_exactly_like_missing_ones_even_to_an_admin() {
    let app = TestApp::spawn().await;
    let (alice, target) = user_with_a_task(&app).await;
    let mallory = app.signed_up_user().await;
    let admin = app.signed_up_admin().await;
    let missing = Target {
        user_id: Uuid::now_v7(),
        email: target.email.clone(),
        task_id: Uuid::now_v7(),
        tag: "no such tag".to_owned(),
        session_id: Uuid::now_v7(),
    };

    for (operation, access) in AUTHORIZATION {
        if *access != Access::Owner {
            continue;
        }
        for (who, other) in [("another user", &mallory), ("an admin", &admin)] {
            let foreign = call(operation, &other.client, &target).await;
            let absent = call(operation, &other.client, &missing).await;
            assert_eq!((foreign, absent), (404, 404), "{operation} as {who}");
        }
    }

    // Nothing they did reached Alice's task or session.
    assert_eq!(alice.task(target.task_id).await.title, "Theirs");
    assert_eq!(current_session(&alice).await, target.session_id);
    assert!(
        mallory.has_no_tasks().await,
        "Alice's task is not in Mallory's list"
    );
}

/// A server that lets these tests register a user per operation.
async fn roomy_app() -> TestApp {
    TestApp::configured(|settings| settings.rate_limits.registrations_per_address = 0).await
}

#[tokio::test]
async fn owners_may_call_every_operation_but_the_admin_ones() {
    let app = roomy_app().await;
    for (operation, access) in AUTHORIZATION {
        // A fresh owner each time: some operations end the session or the account.
        let (owner, target) = user_with_a_task(&app).await;
        let status = call(operation, &owner.client, &target).await;
        match access {
            Access::Admin => assert_eq!(status, 403, "{operation}"),
            _ => assert!((200..300).contains(&status), "{operation}: {status}"),
        }
    }
}

#[tokio::test]
async fn admin_operations_are_for_admins_only() {
    let app = roomy_app().await;
    let admin = app.signed_up_admin().await;
    for (operation, access) in AUTHORIZATION {
        if *access != Access::Admin {
            continue;
        }
        // A fresh target each time: some operations disable or delete it.
        let (alice, target) = user_with_a_task(&app).await;
        let mallory = app.signed_up_user().await;
        for (who, user) in [("the target", &alice), ("another user", &mallory)] {
            let status = call(operation, &user.client, &target).await;
            assert_eq!(status, 403, "{operation} as {who}");
        }
        let status = call(operation, &admin.client, &target).await;
        assert!(
            (200..300).contains(&status),
            "{operation} as admin: {status}"
        );
        let missing = Target {
            user_id: Uuid::now_v7(),
            ..target
        };
        if operation != &"admin_list_users" {
            let status = call(operation, &admin.client, &missing).await;
            assert_eq!(status, 404, "{operation} on a missing account");
        }
    }
}

#[tokio::test]
async fn admins_use_the_other_operations_as_themselves() {
    let app = TestApp::spawn().await;
    for (operation, access) in AUTHORIZATION {
        if matches!(access, Access::Admin | Access::Public) {
            continue;
        }
        let admin = app.signed_up_admin().await;
        let task = admin.create(tagged("The admin's own")).await;
        let target = Target {
            user_id: admin.id,
            email: admin.email.clone(),
            task_id: task.id,
            tag: TAG.to_owned(),
            session_id: current_session(&admin).await,
        };
        // Earlier rounds made other admins, so even deleting this one leaves an admin.
        let status = call(operation, &admin.client, &target).await;
        assert!((200..300).contains(&status), "{operation}: {status}");
    }
}
