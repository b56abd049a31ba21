//! Bad requests the SDK would never send, written by hand: every one gets a problem
//! document with a 4xx status, never a 500 or a hang.

use reqwest::{Body, Method, RequestBuilder, header::CONTENT_TYPE};
use taskapi_client::problem::ProblemType;
use taskapi_tests::{TestApp, TestUser, behind_nginx, expect_problem, problem_in};

/// `POST /tasks` with `body` sent as JSON, whatever it holds.
fn json_to_tasks(user: &TestUser, body: impl Into<Body>) -> RequestBuilder {
    user.raw(Method::POST, "/tasks")
        .header(CONTENT_TYPE, "application/json")
        .body(body)
}

#[tokio::test]
async fn malformed_json_is_a_bad_request() {
    let (_app, alice) = TestApp::with_user().await;
    for body in ["{\"title\":", "not json", "{\"title\": \"a\",}", "\u{0}"] {
        expect_problem(json_to_tasks(&alice, body), 400).await;
    }
}

#[tokio::test]
async fn the_wrong_content_type_is_unsupported() {
    let (_app, alice) = TestApp::with_user().await;
    expect_problem(
        alice
            .raw(Method::POST, "/tasks")
            .header(CONTENT_TYPE, "text/plain")
            .body(r#"{"title": "x"}"#),
        415,
    )
    .await;
}

#[tokio::test]
async fn unknown_routes_and_methods_are_problems_too() {
    let (app, alice) = TestApp::with_user().await;
    expect_problem(app.raw(Method::GET, "/no/such/route"), 404).await;
    let wrong_method = alice
        .raw(Method::PATCH, "/tasks")
        .send()
        .await
        .expect("sent");
    assert_eq!(
        wrong_method.headers().get("allow").map(|v| v.as_bytes()),
        Some(&b"GET, POST"[..]),
        "RFC 9110: a 405 lists the allowed methods"
    );
    problem_in(wrong_method, 405).await;
}

#[tokio::test]
async fn malformed_task_ids_are_bad_requests() {
    let (_app, alice) = TestApp::with_user().await;
    let ids = [
        "not-a-uuid",
        "1",
        "00000000-0000-0000-0000-00000000000g",
        "%00",
    ];
    // nginx refuses a NUL in a path itself, with a page of its own.
    let reaching_the_server = if behind_nginx() { &ids[..3] } else { &ids[..] };
    for id in reaching_the_server {
        for method in [Method::GET, Method::DELETE] {
            expect_problem(alice.raw(method, &format!("/tasks/{id}")), 400).await;
        }
    }
}

#[tokio::test]
async fn oversized_bodies_are_refused_with_or_without_a_length() {
    let (_app, alice) = TestApp::with_user().await;
    let oversized = format!(r#"{{"title": "{}"}}"#, "x".repeat(70 * 1024));
    expect_problem(json_to_tasks(&alice, oversized.clone()), 413).await;

    // A streamed body goes out chunked, with no Content-Length to check up front.
    let chunks: Vec<Result<String, std::io::Error>> = oversized
        .as_bytes()
        .chunks(8 * 1024)
        .map(|chunk| Ok(String::from_utf8_lossy(chunk).into_owned()))
        .collect();
    let streamed = Body::wrap_stream(futures::stream::iter(chunks));
    expect_problem(json_to_tasks(&alice, streamed), 413).await;

    assert!(alice.has_no_tasks().await);
}

#[tokio::test]
async fn text_postgres_cannot_store_is_refused_before_it_gets_there() {
    let (app, alice) = TestApp::with_user().await;
    for body in [
        r#"{"title": "nul \u0000 inside"}"#,
        r#"{"title": "ok", "description": "nul \u0000 inside"}"#,
    ] {
        expect_problem(json_to_tasks(&alice, body), 422).await;
    }
    let nul_email = serde_json::json!({"email": "nul\u{0}@example.com", "password": "long enough"});
    let register = app.raw(Method::POST, "/auth/register").json(&nul_email);
    expect_problem(register, 422).await;
}

/// JSON leaves a repeated key to each parser (the first wins in some, the last in others),
/// so a proxy in front may have read another value than the server would: refused, by name.
#[tokio::test]
async fn a_key_given_twice_is_refused_not_guessed_at() {
    let (_app, alice) = TestApp::with_user().await;
    let problem = expect_problem(
        json_to_tasks(&alice, r#"{"title": "a", "title": "b"}"#),
        422,
    )
    .await;
    assert_eq!(
        problem["type"], "urn:taskapi:problem:validation",
        "{problem}"
    );
    assert_eq!(
        problem["errors"],
        serde_json::json!({"title": ["must be given once"]})
    );
    // At any depth, even inside a field the schema would refuse anyway.
    let nested = r#"{"title": "a", "extra": [{"k": 1, "k": 2}]}"#;
    let problem = expect_problem(json_to_tasks(&alice, nested), 422).await;
    assert_eq!(
        problem["errors"],
        serde_json::json!({"extra[0].k": ["must be given once"]})
    );
    assert!(alice.has_no_tasks().await);
}

/// The order of checks: route, then media type and path and query syntax, then credentials,
/// then the body and the fields. A malformed id answers 400 whatever the token; a missing
/// token is noticed before the id is read.
#[tokio::test]
async fn malformed_paths_are_refused_before_credentials_are_checked() {
    let app = TestApp::spawn().await;
    let path = "/tasks/not-a-uuid";
    expect_problem(app.raw(Method::GET, path).bearer_auth("not-a-jwt"), 400).await;
    expect_problem(app.raw(Method::GET, path), 401).await;
    expect_problem(
        app.raw(Method::GET, "/tasks/0194b2a4-0000-7000-8000-000000000000")
            .bearer_auth("not-a-jwt"),
        401,
    )
    .await;
}

/// Only requests that carry a body in this API have it read (and capped).
#[tokio::test]
async fn a_body_on_a_get_is_ignored_not_refused() {
    let (_app, alice) = TestApp::with_user().await;
    let response = alice
        .raw(Method::GET, "/users/me")
        .body("x".repeat(70 * 1024))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status().as_u16(), 200);
}

/// The SDK names every problem type the server can send: the URIs in the contract crate's
/// `problem_type` module are exactly the SDK's known types.
#[test]
fn the_sdk_knows_every_problem_type() {
    let source = include_str!("../../../api/src/problem.rs");
    let start = source.find("pub mod problem_type {").expect("the module");
    let module = &source[start..start + source[start..].find("\n}").expect("its end")];
    let uri = regex::Regex::new(r#"pub const [A-Z_]+: &str = "([^"]+)";"#).expect("a regex");
    let mut served: Vec<&str> = uri
        .captures_iter(module)
        .map(|captures| captures.get(1).expect("a URI").as_str())
        .collect();
    served.sort_unstable();
    let mut known: Vec<&str> = ProblemType::KNOWN.iter().map(ProblemType::as_str).collect();
    known.sort_unstable();
    assert_eq!(known, served);
}
