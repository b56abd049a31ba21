//! Database faults stay local: with its database unreachable the service says so (503
//! `unavailable`), and a row held by someone else makes only the requests that need it wait,
//! and not for long (503 `busy`). Never a 500 or a hang.

use std::time::{Duration, Instant};

use reqwest::Method;
use taskapi_server::config::DatabaseSettings;
use taskapi_tests::{
    CutProxy, ScratchDatabase, TestApp, expect_problem, problem_in, task_titled, test_settings,
};

#[tokio::test]
async fn a_database_lost_after_start_up_is_a_503_with_retry_after() {
    let database = ScratchDatabase::fresh_url();
    let mut settings = test_settings();
    settings.database = DatabaseSettings::for_url(&database);
    // Migrate through a direct connection, then serve through a proxy that is cut below.
    let _migrated = TestApp::spawn_with(settings.clone()).await;
    let mut url = reqwest::Url::parse(&database).expect("a URL");
    let server = format!(
        "{}:{}",
        url.host_str().expect("a host"),
        url.port().unwrap_or(5432)
    );
    let server = tokio::net::lookup_host(server)
        .await
        .ok()
        .and_then(|mut found| found.next())
        .expect("PostgreSQL's address");
    let proxy = CutProxy::start(server).await;
    url.set_host(Some("127.0.0.1")).expect("a host");
    url.set_port(Some(proxy.address.port())).expect("a port");
    settings.database = DatabaseSettings::for_url(url.as_str());
    settings.database.db_acquire_timeout_ms = 500;
    settings.no_migrate = true;
    let app = TestApp::spawn_with(settings).await;
    proxy.cut().await;

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
        assert_eq!(problem["type"], "urn:taskapi:problem:unavailable");
        assert!(
            !problem.to_string().contains("127.0.0.1"),
            "no internals leak: {problem}"
        );
    }
}

/// One writer holding a row does not stall the server: a request that needs that row gives
/// up after the lock timeout with a "busy" 503 and `Retry-After`, while every other request
/// is served as usual.
#[tokio::test]
async fn a_locked_row_is_busy_and_everything_else_goes_on() {
    let mut settings = test_settings();
    settings.database.db_lock_timeout_ms = 300;
    let app = TestApp::spawn_with(settings).await;
    let alice = app.signed_up_user().await;
    let task = alice.create_task("Held by someone else").await;

    let database = app.database().await;
    let mut holder = database.begin().await.expect("a transaction");
    sqlx::query("SELECT id FROM tasks WHERE id = $1 FOR UPDATE")
        .bind(task.id)
        .execute(&mut *holder)
        .await
        .expect("the row is held");

    let started = Instant::now();
    let replace = alice
        .raw(Method::PUT, &format!("/tasks/{}", task.id))
        .json(&serde_json::json!({"title": "Mine now"}));
    let problem = expect_problem(replace, 503).await;
    assert_eq!(problem["type"], "urn:taskapi:problem:busy");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );

    alice
        .client
        .get_current_user()
        .send()
        .await
        .expect("others are served");
    assert_eq!(alice.task(task.id).await.title, "Held by someone else");

    holder.rollback().await.expect("released");
    assert_eq!(
        alice.replace(task.id, task_titled("Mine now")).await.title,
        "Mine now"
    );
}
