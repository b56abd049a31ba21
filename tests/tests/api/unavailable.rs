//! With its database unreachable the service says so, 503 with `Retry-After`, instead of
//! failing with a 500 or hanging.

use reqwest::Method;
use taskapi_server::config::DatabaseSettings;
use taskapi_tests::{TestApp, problem_in, test_settings};

#[tokio::test]
async fn an_unreachable_database_is_a_503_with_retry_after() {
    let mut settings = test_settings();
    // Nothing listens on port 1; the pool connects lazily, so the server still starts.
    settings.database = DatabaseSettings {
        database_url: "postgres://postgres@127.0.0.1:1/taskapi".to_owned(),
        db_max_connections: 2,
    };
    settings.no_migrate = true;
    let app = TestApp::spawn_with(settings).await;

    let register = app
        .raw(Method::POST, "/auth/register")
        .json(&serde_json::json!({"email": "a@example.com", "password": "correct horse"}))
        .send();
    let login = app
        .raw(Method::POST, "/auth/login")
        .form(&[("username", "a@example.com"), ("password", "correct horse")])
        .send();
    let (register, login) = tokio::join!(register, login);
    for response in [register.expect("sent"), login.expect("sent")] {
        assert_eq!(
            response.headers().get("retry-after").map(|v| v.as_bytes()),
            Some(&b"2"[..])
        );
        let problem = problem_in(response, 503).await;
        assert!(
            !problem.to_string().contains("127.0.0.1"),
            "no internals leak: {problem}"
        );
    }
}
