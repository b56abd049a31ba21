//! Browsers may call the API only from the origins `TASKAPI_CORS_ORIGINS` lists.

use reqwest::{Method, Response};
use taskapi_server::config::CorsOrigin;
use taskapi_tests::{TestApp, problem_in, test_settings};

const ALLOWED: &str = "https://app.example.com";

async fn spawn_allowing(origins: &[&str]) -> TestApp {
    let mut settings = test_settings();
    settings.cors_origins = origins
        .iter()
        .map(|origin| origin.parse::<CorsOrigin>().expect("an origin"))
        .collect();
    TestApp::spawn_with(settings).await
}

async fn preflight(app: &TestApp, origin: &str) -> Response {
    app.raw(Method::OPTIONS, "/tasks")
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type",
        )
        .send()
        .await
        .expect("sent")
}

/// A simple cross-origin request, as a page at `origin` makes it.
async fn probe_from(app: &TestApp, origin: &str) -> Response {
    app.raw(Method::GET, "/health/live")
        .header("origin", origin)
        .send()
        .await
        .expect("sent")
}

fn header<'a>(response: &'a Response, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
}

#[tokio::test]
async fn a_listed_origin_is_allowed_the_methods_and_headers_the_api_uses() {
    let app = spawn_allowing(&[ALLOWED]).await;
    let response = preflight(&app, ALLOWED).await;
    assert!(response.status().is_success(), "{}", response.status());
    assert_eq!(header(&response, "access-control-allow-origin"), ALLOWED);
    let methods = header(&response, "access-control-allow-methods").to_lowercase();
    for method in ["get", "post", "put", "patch", "delete"] {
        assert!(methods.contains(method), "{methods}");
    }
    let headers = header(&response, "access-control-allow-headers").to_lowercase();
    for name in [
        "authorization",
        "content-type",
        "if-match",
        "idempotency-key",
    ] {
        assert!(headers.contains(name), "{headers}");
    }

    // A real request from that origin can read the headers a client needs.
    let answer = probe_from(&app, ALLOWED).await;
    assert_eq!(header(&answer, "access-control-allow-origin"), ALLOWED);
    let exposed = header(&answer, "access-control-expose-headers").to_lowercase();
    for name in ["location", "etag", "ratelimit", "retry-after"] {
        assert!(exposed.contains(name), "{exposed}");
    }
}

#[tokio::test]
async fn other_origins_are_refused() {
    let app = spawn_allowing(&[ALLOWED]).await;
    let response = preflight(&app, "https://evil.example").await;
    assert!(response.status().is_client_error(), "{}", response.status());
    assert_eq!(header(&response, "access-control-allow-origin"), "");
}

#[tokio::test]
async fn without_a_setting_no_page_of_another_origin_may_call() {
    let app = TestApp::spawn().await;
    let answer = probe_from(&app, ALLOWED).await;
    assert_eq!(header(&answer, "access-control-allow-origin"), "");
}

#[tokio::test]
async fn any_origin_may_be_allowed() {
    let app = spawn_allowing(&["*"]).await;
    let response = preflight(&app, "https://anywhere.example").await;
    assert!(response.status().is_success(), "{}", response.status());
    assert_eq!(
        header(&response, "access-control-allow-origin"),
        "https://anywhere.example"
    );
    assert_eq!(header(&response, "access-control-allow-credentials"), "");
}

/// Swagger UI at /docs posts with an `Origin` of the server's own: that is not cross-origin.
#[tokio::test]
async fn the_servers_own_pages_are_not_cross_origin() {
    let app = spawn_allowing(&[ALLOWED]).await;
    let own_origin = app.base_url.clone();
    let login = app
        .raw(Method::POST, "/auth/login")
        .header("origin", own_origin.as_str())
        .form(&[
            ("username", "nobody@example.com"),
            ("password", "not a password"),
        ])
        .send()
        .await
        .expect("sent");
    assert_eq!(
        login.status().as_u16(),
        401,
        "judged on its credentials, not its origin"
    );

    let foreign = probe_from(&app, "https://evil.example").await;
    assert_eq!(foreign.status().as_u16(), 403);
    problem_in(foreign, 403).await;
}
