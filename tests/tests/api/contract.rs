//! The error responses `openapi.yaml` declares are the ones the server gives: for every
//! operation, each declared 4xx status is provoked and must come back as a problem document.
//! A newly declared status without a way to provoke it here fails the test.

use reqwest::{RequestBuilder, header::CONTENT_TYPE};
use taskapi_tests::{Operation, PASSWORD, Spec, TestApp, TestUser, expect_problem, task_titled};

struct Context<'a> {
    app: &'a TestApp,
    /// An ordinary user with a task.
    alice: &'a TestUser,
    task_id: uuid::Uuid,
    /// The only administrator, so removing themselves is refused.
    admin: &'a TestUser,
    /// An account an administrator has disabled.
    disabled_email: &'a str,
}

/// Who sends the request that should provoke `status` from `operation`.
enum Sender {
    Anonymous,
    Alice,
    Admin,
}

fn sender(id: &str, status: u16) -> Sender {
    match (id, status) {
        (_, 401) | ("login", 403) => Sender::Anonymous,
        // A user calling an administrator operation, or confirming with a wrong password.
        (_, 403) => Sender::Alice,
        // The last administrator removing themselves.
        ("delete_current_user", 409) => Sender::Admin,
        (id, _) if id.starts_with("admin_") => Sender::Admin,
        _ => Sender::Alice,
    }
}

/// Operations whose request has a JSON body (the login form is a form).
fn takes_json(id: &str) -> bool {
    matches!(
        id,
        "register"
            | "create_task"
            | "replace_task"
            | "update_task"
            | "update_current_user"
            | "delete_current_user"
            | "change_password"
            | "rename_tag"
    )
}

/// A request to `operation` that must answer `status`, or `None` if none is known.
fn provoke(context: &Context<'_>, operation: &Operation, status: u16) -> Option<RequestBuilder> {
    let Context {
        app,
        alice,
        task_id,
        admin,
        disabled_email,
    } = context;
    let id = operation.id.as_str();
    // Every path parameter is an id: of Alice's task, or (where it names an account or
    // a session) the admin's own.
    let path_with = |value: &str| {
        operation
            .path
            .replace("{task_id}", value)
            .replace("{session_id}", value)
            .replace("{user_id}", value)
            .replace("{name}", value)
    };
    let request = |path: String| match sender(id, status) {
        Sender::Anonymous => app.raw(operation.method.clone(), &path),
        Sender::Alice => alice.raw(operation.method.clone(), &path),
        Sender::Admin => admin.raw(operation.method.clone(), &path),
    };
    let own = if id.starts_with("admin_") {
        path_with(&admin.id.to_string())
    } else if operation.path.contains("{name}") {
        path_with(TAG)
    } else {
        path_with(&task_id.to_string())
    };
    let json = |body: &str| {
        request(own.clone())
            .header(CONTENT_TYPE, "application/json")
            .body(body.to_owned())
    };
    // The operations with both a path id and a body: the body must be valid for the id
    // (or the precondition) to be what is wrong.
    let with_body = |builder: RequestBuilder| match id {
        "replace_task" => builder.json(&task_titled("ok")),
        "update_task" => builder.json(&serde_json::json!({"title": "ok"})),
        "rename_tag" => builder.json(&serde_json::json!({"name": "ok"})),
        _ => builder,
    };
    let has_id = operation.path.contains('{');
    let is_listing = matches!(
        id,
        "list_tasks" | "list_sessions" | "admin_list_users" | "list_tags"
    );
    let takes_body = takes_json(id) || id == "login";
    match status {
        // Any text is a tag name: what is malformed is the encoding of the path.
        400 if id == "delete_tag" => Some(request(path_with("%FF"))),
        400 if id == "rename_tag" => Some(json("{\"name\": ")),
        400 if has_id => Some(with_body(request(path_with("not-a-uuid")))),
        400 if is_listing => Some(request(format!("{}?limit=abc", operation.path))),
        400 if takes_json(id) => Some(json("{\"title\": ")),
        401 if id == "login" => Some(request(own).form(&[
            ("username", alice.email.as_str()),
            ("password", "wrong password"),
        ])),
        401 => Some(request(own)),
        403 if id == "login" => {
            Some(request(own).form(&[("username", *disabled_email), ("password", PASSWORD)]))
        }
        403 if id == "update_current_user" => Some(request(own).json(&serde_json::json!({
            "email": "someone.else@example.com",
            "current_password": "not the password",
        }))),
        403 if id == "delete_current_user" => Some(request(own).json(&serde_json::json!({
            "current_password": "not the password",
        }))),
        403 if id == "change_password" => Some(request(own).json(&serde_json::json!({
            "current_password": "not the password",
            "new_password": "a fine new passphrase",
        }))),
        403 => Some(request(own)),
        404 => Some(with_body(request(path_with(
            &uuid::Uuid::now_v7().to_string(),
        )))),
        409 if id == "register" => Some(request(own).json(&serde_json::json!({
            "email": alice.email.to_uppercase(),
            "password": "correct horse battery",
        }))),
        409 if id == "update_current_user" => Some(request(own).json(&serde_json::json!({
            "email": admin.email,
            "current_password": PASSWORD,
        }))),
        409 if id == "delete_current_user" => Some(request(own).json(&serde_json::json!({
            "current_password": PASSWORD,
        }))),
        409 if matches!(id, "admin_disable_user" | "admin_delete_user") => Some(request(own)),
        409 if id == "rename_tag" => Some(json(&format!(
            r#"{{"name": "{}"}}"#,
            OTHER_TAG.to_uppercase()
        ))),
        412 => Some(with_body(request(own)).header("if-match", "\"999\"")),
        413 if takes_body => Some(json(&format!("{{\"title\": \"{}\"}}", "x".repeat(70_000)))),
        415 if takes_body => Some(
            request(own)
                .header(CONTENT_TYPE, "text/plain")
                .body("title"),
        ),
        422 if is_listing => Some(request(format!("{}?cursor=garbage", operation.path))),
        422 if id == "login" => Some(request(own).form(&[("username", "x")])),
        422 if id == "register" => Some(json(
            r#"{"email": "not-an-email", "password": "long enough"}"#,
        )),
        422 if takes_json(id) => Some(json(r#"{"title": "   "}"#)),
        _ => None,
    }
}

/// The tags of Alice's task.
const TAG: &str = "errands";
const OTHER_TAG: &str = "home";

/// Declared but not provokable here: failures of the server or its database (exercised in
/// `unavailable.rs` and `tasks.rs`), rate limits, which need a server with small ones
/// (every declared 429 is provoked in `rate_limits.rs`), a required `If-Match` (428, in
/// `conditional.rs`), a create whose `Idempotency-Key` is in use by a request still
/// running (409, in `idempotency.rs`), and a malformed login form, which any bytes are.
fn unprovokable(operation: &Operation, status: u16) -> bool {
    // 428 needs a server that requires `If-Match` (conditional.rs starts one).
    status >= 500
        || status == 429
        || status == 428
        || (operation.id == "create_task" && status == 409)
        || (operation.id == "login" && status == 400)
}

#[tokio::test]
async fn every_declared_client_error_is_real_and_a_problem_document() {
    let (app, alice) = TestApp::with_user().await;
    let task = alice
        .create(taskapi_client::types::TaskInput {
            tags: vec![
                TAG.try_into().expect("fits"),
                OTHER_TAG.try_into().expect("fits"),
            ],
            ..task_titled("Target")
        })
        .await;
    let admin = app.signed_up_admin().await;
    let disabled = app.signed_up_user().await;
    admin
        .client
        .admin_disable_user()
        .user_id(disabled.id)
        .send()
        .await
        .expect("disabled");
    let context = Context {
        app: &app,
        alice: &alice,
        task_id: task.id,
        admin: &admin,
        disabled_email: &disabled.email,
    };

    let mut checked = 0;
    for operation in Spec::checked_in().operations {
        for &status in operation.statuses.iter().filter(|status| **status >= 400) {
            if unprovokable(&operation, status) {
                continue;
            }
            let request = provoke(&context, &operation, status).unwrap_or_else(|| {
                panic!(
                    "{} declares {status}: add a way to provoke it to contract.rs",
                    operation.id
                )
            });
            expect_problem(request, status).await;
            checked += 1;
        }
    }
    assert!(checked >= 95, "only {checked} declared errors were checked");
}

/// The SDK builds from its own copy of the contract (so that it packages on its own); the
/// copy is the contract.
#[test]
fn the_sdk_copy_of_the_contract_is_the_contract() {
    let contract = include_bytes!("../../../openapi.yaml");
    let copy = include_bytes!("../../../client-sdk/openapi.yaml");
    assert!(
        contract == copy,
        "client-sdk/openapi.yaml differs from openapi.yaml: run `cp openapi.yaml client-sdk/openapi.yaml`"
    );
}
