//! Bad requests the SDK would never send, written by hand: every one gets a problem
//! document with a 4xx status, never a 500 or a hang.

use reqwest::{Body, Method, header::CONTENT_TYPE};
use taskapi_tests::TestApp;

async fn assert_problem(response: reqwest::Response, status: u16) -> serde_json::Value {
    assert_eq!(response.status().as_u16(), status, "{}", response.url());
    assert_eq!(
        response.headers().get(CONTENT_TYPE).map(|v| v.as_bytes()),
        Some(&b"application/problem+json"[..])
    );
    let problem: serde_json::Value = response.json().await.expect("a JSON problem");
    assert_eq!(problem["status"], status);
    assert!(
        problem["type"].is_string() && problem["title"].is_string(),
        "{problem}"
    );
    problem
}

#[tokio::test]
async fn malformed_json_is_a_bad_request() {
    let app = TestApp::spawn().await;
    let alice = app.signed_up_user().await;
    for body in ["{\"title\":", "not json", "{\"title\": \"a\",}", "\u{0}"] {
        let response = app
            .http
            .post(app.url("/tasks"))
            .bearer_auth(&alice.token)
            .header(CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .expect("sent");
        assert_problem(response, 400).await;
    }
}

#[tokio::test]
async fn the_wrong_content_type_is_unsupported() {
    let app = TestApp::spawn().await;
    let alice = app.signed_up_user().await;
    let response = app
        .http
        .post(app.url("/tasks"))
        .bearer_auth(&alice.token)
        .header(CONTENT_TYPE, "text/plain")
        .body(r#"{"title": "x"}"#)
        .send()
        .await
        .expect("sent");
    assert_problem(response, 415).await;
}

#[tokio::test]
async fn unknown_routes_and_methods_are_problems_too() {
    let app = TestApp::spawn().await;
    let alice = app.signed_up_user().await;
    let unknown = app
        .http
        .get(app.url("/no/such/route"))
        .send()
        .await
        .expect("sent");
    assert_problem(unknown, 404).await;
    let wrong_method = app
        .http
        .request(Method::PATCH, app.url("/tasks"))
        .bearer_auth(&alice.token)
        .send()
        .await
        .expect("sent");
    assert_eq!(
        wrong_method.headers().get("allow").map(|v| v.as_bytes()),
        Some(&b"GET, POST"[..]),
        "RFC 9110: a 405 lists the allowed methods"
    );
    assert_problem(wrong_method, 405).await;
}

#[tokio::test]
async fn malformed_task_ids_are_bad_requests() {
    let app = TestApp::spawn().await;
    let alice = app.signed_up_user().await;
    for id in [
        "not-a-uuid",
        "1",
        "00000000-0000-0000-0000-00000000000g",
        "%00",
    ] {
        for method in [Method::GET, Method::DELETE] {
            let response = app
                .http
                .request(method.clone(), app.url(&format!("/tasks/{id}")))
                .bearer_auth(&alice.token)
                .send()
                .await
                .expect("sent");
            assert_problem(response, 400).await;
        }
    }
}

#[tokio::test]
async fn oversized_bodies_are_refused_with_or_without_a_length() {
    let app = TestApp::spawn().await;
    let alice = app.signed_up_user().await;
    let oversized = format!(r#"{{"title": "{}"}}"#, "x".repeat(70 * 1024));

    let declared = app
        .http
        .post(app.url("/tasks"))
        .bearer_auth(&alice.token)
        .header(CONTENT_TYPE, "application/json")
        .body(oversized.clone())
        .send()
        .await
        .expect("sent");
    assert_problem(declared, 413).await;

    // A streamed body goes out chunked, with no Content-Length to check up front.
    let chunks: Vec<Result<String, std::io::Error>> = oversized
        .as_bytes()
        .chunks(8 * 1024)
        .map(|chunk| Ok(String::from_utf8_lossy(chunk).into_owned()))
        .collect();
    let chunked = app
        .http
        .post(app.url("/tasks"))
        .bearer_auth(&alice.token)
        .header(CONTENT_TYPE, "application/json")
        .body(Body::wrap_stream(futures::stream::iter(chunks)))
        .send()
        .await
        .expect("sent");
    assert_problem(chunked, 413).await;

    let page = alice
        .client
        .list_tasks()
        .send()
        .await
        .expect("listed")
        .into_inner();
    assert!(page.items.is_empty());
}

#[tokio::test]
async fn text_postgres_cannot_store_is_refused_before_it_gets_there() {
    let app = TestApp::spawn().await;
    let alice = app.signed_up_user().await;
    for body in [
        r#"{"title": "nul \u0000 inside"}"#,
        r#"{"title": "ok", "description": "nul \u0000 inside"}"#,
    ] {
        let response = app
            .http
            .post(app.url("/tasks"))
            .bearer_auth(&alice.token)
            .header(CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .expect("sent");
        assert_problem(response, 422).await;
    }
    let register = app
        .http
        .post(app.url("/auth/register"))
        .json(&serde_json::json!({"email": "nul\u{0}@example.com", "password": "long enough"}))
        .send()
        .await
        .expect("sent");
    assert_problem(register, 422).await;
}
