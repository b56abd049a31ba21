//! Browsers may call the API only from the origins `TASKAPI_CORS_ORIGINS` lists.

use std::collections::BTreeSet;

use reqwest::{Method, Response};
use taskapi_server::config::CorsOrigin;
use taskapi_tests::{Spec, TestApp, problem_in, test_settings};

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

/// The concrete path of a template, each parameter filled with an id.
fn concrete(template: &str) -> String {
    template
        .split('/')
        .map(|segment| match segment.starts_with('{') {
            true => "0194b2a4-0000-7000-8000-000000000000",
            false => segment,
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The comma-separated names in a response header, lower case.
fn names_in(response: &Response, name: &str) -> BTreeSet<String> {
    header(response, name)
        .split(',')
        .map(|name| name.trim().to_ascii_lowercase())
        .filter(|name| !name.is_empty())
        .collect()
}

/// Read from `openapi.yaml`: a header parameter added to an operation and left out of the
/// CORS configuration fails here. (poem answers a preflight 200 when any one of the asked
/// headers is allowed; the browser then refuses the request unless every one is listed, so
/// the list itself is checked.)
#[tokio::test]
async fn a_listed_origin_may_send_every_header_parameter_with_every_method_of_the_contract() {
    let app = spawn_allowing(&[ALLOWED]).await;
    let operations = Spec::checked_in().operations;
    let mut asked: BTreeSet<String> = operations
        .iter()
        .flat_map(|operation| &operation.header_parameters)
        .map(|name| name.to_ascii_lowercase())
        .collect();
    assert!(asked.contains("if-none-match"), "{asked:?}");
    asked.extend(["authorization".to_owned(), "content-type".to_owned()]);
    let asked_header = asked.iter().cloned().collect::<Vec<_>>().join(", ");

    for operation in &operations {
        let response = app
            .raw(Method::OPTIONS, &concrete(&operation.path))
            .header("origin", ALLOWED)
            .header("access-control-request-method", operation.method.as_str())
            .header("access-control-request-headers", &asked_header)
            .send()
            .await
            .expect("sent");
        let what = format!("preflight for {} {}", operation.method, operation.path);
        assert_eq!(response.status().as_u16(), 200, "{what}");
        assert_eq!(header(&response, "access-control-allow-origin"), ALLOWED);
        let methods = names_in(&response, "access-control-allow-methods");
        assert!(
            methods.contains(&operation.method.as_str().to_ascii_lowercase()),
            "{what}: {methods:?}"
        );
        let allowed = names_in(&response, "access-control-allow-headers");
        let missing: Vec<_> = asked.difference(&allowed).collect();
        assert!(
            missing.is_empty(),
            "{what}: {missing:?} left out of Access-Control-Allow-Headers {allowed:?}"
        );
    }
}

#[tokio::test]
async fn a_listed_origin_can_read_the_headers_a_client_needs() {
    let app = spawn_allowing(&[ALLOWED]).await;
    let answer = probe_from(&app, ALLOWED).await;
    assert_eq!(header(&answer, "access-control-allow-origin"), ALLOWED);
    let exposed = names_in(&answer, "access-control-expose-headers");
    for name in [
        "location",
        "etag",
        "ratelimit",
        "ratelimit-policy",
        "retry-after",
        "x-request-id",
    ] {
        assert!(exposed.contains(name), "{name} not in {exposed:?}");
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
