//! The error responses `openapi.yaml` declares are the ones the server gives: for every
//! operation, each declared 4xx status is provoked and must come back as a problem document.
//! A newly declared status without a way to provoke it here fails the test.

use reqwest::{RequestBuilder, header::CONTENT_TYPE};
use taskapi_tests::{Operation, Spec, TestApp, TestUser, expect_problem, task_titled};

struct Context<'a> {
    app: &'a TestApp,
    alice: &'a TestUser,
    task_id: uuid::Uuid,
}

/// A request to `operation` that must answer `status`, or `None` if none is known.
fn provoke(context: &Context<'_>, operation: &Operation, status: u16) -> Option<RequestBuilder> {
    let Context {
        app,
        alice,
        task_id,
    } = context;
    let id = operation.id.as_str();
    let path_with = |task: &str| operation.path.replace("{task_id}", task);
    let request = |path: String| {
        if status == 401 {
            app.raw(operation.method.clone(), &path)
        } else {
            alice.raw(operation.method.clone(), &path)
        }
    };
    let valid_body = |builder: RequestBuilder| match id {
        "register" => builder.json(&serde_json::json!({
            "email": format!("new-{}@example.com", uuid::Uuid::new_v4().simple()),
            "password": "correct horse battery",
        })),
        "login" => builder.form(&[
            ("username", alice.email.as_str()),
            ("password", "wrong password"),
        ]),
        "create_task" | "replace_task" => builder.json(&task_titled("ok")),
        _ => builder,
    };
    let own = path_with(&task_id.to_string());
    let json = |body: &str| {
        request(own.clone())
            .header(CONTENT_TYPE, "application/json")
            .body(body.to_owned())
    };
    let has_id = operation.path.contains("{task_id}");
    let takes_body = matches!(id, "register" | "login" | "create_task" | "replace_task");
    match status {
        400 if has_id => Some(valid_body(request(path_with("not-a-uuid")))),
        400 if id == "list_tasks" => Some(request(format!("{}?limit=abc", operation.path))),
        400 if takes_body && id != "login" => Some(json("{\"title\": ")),
        401 => Some(valid_body(request(own))),
        404 if has_id => Some(valid_body(request(path_with(
            &uuid::Uuid::now_v7().to_string(),
        )))),
        409 if id == "register" => Some(request(own).json(&serde_json::json!({
            "email": alice.email.to_uppercase(),
            "password": "correct horse battery",
        }))),
        413 if takes_body => Some(json(&format!("{{\"title\": \"{}\"}}", "x".repeat(70_000)))),
        415 if takes_body => Some(
            request(own)
                .header(CONTENT_TYPE, "text/plain")
                .body("title"),
        ),
        422 if id == "list_tasks" => Some(request(format!("{}?cursor=garbage", operation.path))),
        422 if id == "login" => Some(request(own).form(&[("username", "x")])),
        422 if id == "register" => Some(json(
            r#"{"email": "not-an-email", "password": "long enough"}"#,
        )),
        422 if takes_body => Some(json(r#"{"title": "   "}"#)),
        _ => None,
    }
}

/// Declared but not provokable here: failures of the server or its database (exercised in
/// `unavailable.rs` and `tasks.rs`), rate limits, which need a server with small ones
/// (every declared 429 is provoked in `rate_limits.rs`), and a login form, which any bytes
/// are.
fn unprovokable(operation: &Operation, status: u16) -> bool {
    status >= 500 || status == 429 || (operation.id == "login" && status == 400)
}

#[tokio::test]
async fn every_declared_client_error_is_real_and_a_problem_document() {
    let (app, alice) = TestApp::with_user().await;
    let task = alice.create_task("Target").await;
    let context = Context {
        app: &app,
        alice: &alice,
        task_id: task.id,
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
    assert!(checked >= 30, "only {checked} declared errors were checked");
}
