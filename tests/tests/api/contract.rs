//! The error responses `openapi.yaml` declares are the ones the server gives: for every
//! operation, each declared 4xx status is provoked and must come back as a problem document.
//! A newly declared status without a way to provoke it here fails the test.

use reqwest::{Method, RequestBuilder, header::CONTENT_TYPE};
use taskapi_tests::{TestApp, TestUser, task_titled};

struct Operation {
    id: String,
    method: Method,
    path: String,
    statuses: Vec<u16>,
}

fn operations() -> Vec<Operation> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.yaml");
    let spec: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(path).expect("openapi.yaml")).expect("yaml");
    let mut operations = Vec::new();
    for (path, item) in spec["paths"].as_mapping().expect("paths") {
        for (method, operation) in item.as_mapping().expect("path item") {
            let statuses = operation["responses"]
                .as_mapping()
                .expect("responses")
                .keys()
                .map(|status| status.as_str().expect("status").parse().expect("numeric"))
                .collect();
            operations.push(Operation {
                id: operation["operationId"]
                    .as_str()
                    .expect("operationId")
                    .to_owned(),
                method: method
                    .as_str()
                    .expect("method")
                    .to_uppercase()
                    .parse()
                    .expect("method"),
                path: path.as_str().expect("path").to_owned(),
                statuses,
            });
        }
    }
    operations
}

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
    let has_id = operation.path.contains("{task_id}");
    let path_with = |id: &str| operation.path.replace("{task_id}", id);
    let request = |path: String| {
        let builder = app.http.request(operation.method.clone(), app.url(&path));
        if status == 401 {
            builder
        } else {
            builder.bearer_auth(&alice.token)
        }
    };
    let valid_body = |builder: RequestBuilder| match operation.id.as_str() {
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
    let takes_body = matches!(
        operation.id.as_str(),
        "register" | "login" | "create_task" | "replace_task"
    );
    match status {
        400 if has_id => Some(valid_body(request(path_with("not-a-uuid")))),
        400 if operation.id == "list_tasks" => {
            Some(request(format!("{}?limit=abc", operation.path)))
        }
        400 if takes_body && operation.id != "login" => Some(json("{\"title\": ")),
        401 => Some(valid_body(request(own))),
        404 if has_id => Some(valid_body(request(path_with(
            &uuid::Uuid::now_v7().to_string(),
        )))),
        409 if operation.id == "register" => Some(request(own).json(&serde_json::json!({
            "email": alice.email.to_uppercase(),
            "password": "correct horse battery",
        }))),
        413 if takes_body => Some(json(&format!("{{\"title\": \"{}\"}}", "x".repeat(70_000)))),
        415 if takes_body => Some(
            request(own)
                .header(CONTENT_TYPE, "text/plain")
                .body("title"),
        ),
        422 if operation.id == "list_tasks" => {
            Some(request(format!("{}?cursor=garbage", operation.path)))
        }
        422 if operation.id == "login" => Some(request(own).form(&[("username", "x")])),
        422 if operation.id == "register" => Some(json(
            r#"{"email": "not-an-email", "password": "long enough"}"#,
        )),
        422 if takes_body => Some(json(r#"{"title": "   "}"#)),
        _ => None,
    }
}

/// Declared but not provokable from a client: failures of the server or its database
/// (exercised in `unavailable.rs`), and a login body that cannot be read at all.
fn unprovokable(operation: &Operation, status: u16) -> bool {
    status >= 500 || (operation.id == "login" && status == 400)
}

#[tokio::test]
async fn every_declared_client_error_is_real_and_a_problem_document() {
    let app = TestApp::spawn().await;
    let alice = app.signed_up_user().await;
    let task = alice.create_task("Target").await;
    let context = Context {
        app: &app,
        alice: &alice,
        task_id: task.id,
    };

    let mut checked = 0;
    for operation in operations() {
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
            let response = request.send().await.expect("sent");
            assert_eq!(
                response.status().as_u16(),
                status,
                "{} {}",
                operation.id,
                status
            );
            assert_eq!(
                response.headers().get(CONTENT_TYPE).map(|v| v.as_bytes()),
                Some(&b"application/problem+json"[..]),
                "{} {status}",
                operation.id
            );
            let problem: serde_json::Value = response.json().await.expect("problem");
            assert_eq!(
                problem["status"], status,
                "{} {status}: {problem}",
                operation.id
            );
            checked += 1;
        }
    }
    assert!(checked >= 30, "only {checked} declared errors were checked");
}
