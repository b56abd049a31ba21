//! Database faults stay local: with its database unreachable the service says so (503
//! `unavailable`), and a row held by someone else makes only the requests that need it wait,
//! and not for long (503 `busy`). Never a 500 or a hang.

use std::time::{Duration, Instant};

use reqwest::Method;
use taskapi_server::{config::DatabaseSettings, store};
use taskapi_tests::{
    CutProxy, ScratchDatabase, TestApp, TestUser, expect_problem, problem_in, task_titled,
    test_settings,
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

/// A user with a task whose row another transaction holds (`FOR UPDATE`) until it ends.
async fn a_held_task(
    app: &TestApp,
) -> (
    TestUser,
    taskapi_client::types::Task,
    sqlx::Transaction<'static, sqlx::Postgres>,
) {
    let alice = app.signed_up_user().await;
    let task = alice.create_task("Held by someone else").await;
    let mut holder = app.database().await.begin().await.expect("a transaction");
    sqlx::query("SELECT id FROM tasks WHERE id = $1 FOR UPDATE")
        .bind(task.id)
        .execute(&mut *holder)
        .await
        .expect("the row is held");
    (alice, task, holder)
}

/// One writer holding a row does not stall the server: a request that needs that row gives
/// up after the lock timeout with a "busy" 503 and `Retry-After`, while every other request
/// is served as usual.
#[tokio::test]
async fn a_locked_row_is_busy_and_everything_else_goes_on() {
    let app = TestApp::configured(|settings| settings.database.db_lock_timeout_ms = 300).await;
    let (alice, task, holder) = a_held_task(&app).await;

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

/// Every database connection the server holds is killed, again and again, under a write
/// load: clients see 201 or a 503 to retry, never a 500, and every write the server
/// acknowledged is there afterwards.
#[tokio::test]
async fn killed_database_connections_under_writes_lose_no_acknowledged_write() {
    let app = TestApp::configured(|settings| settings.rate_limits.requests_per_minute = 0).await;
    let alice = app.signed_up_user().await;
    let admin = app.database().await;
    let database_name = app
        .database_url
        .rsplit('/')
        .next()
        .expect("a database name")
        .to_owned();

    let deadline = Instant::now() + Duration::from_secs(3);
    let writer = |writer: usize| {
        let alice = &alice;
        async move {
            let mut outcomes = Vec::new();
            for n in 0.. {
                if Instant::now() > deadline {
                    break;
                }
                let title = format!("writer {writer} task {n}");
                let response = alice
                    .raw(Method::POST, "/tasks")
                    .json(&task_titled(&title))
                    .send()
                    .await
                    .expect("sent");
                outcomes.push((title, response.status().as_u16()));
            }
            outcomes
        }
    };
    let killer = async {
        let mut killed = 0;
        while Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(250)).await;
            let victims: Vec<(bool,)> = sqlx::query_as(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = $1 AND pid <> pg_backend_pid()",
            )
            .bind(&database_name)
            .fetch_all(&admin)
            .await
            .expect("terminated");
            killed += victims.len();
        }
        killed
    };
    let (outcomes, killed) = tokio::join!(futures::future::join_all((0..6).map(writer)), killer);
    let outcomes: Vec<(String, u16)> = outcomes.into_iter().flatten().collect();
    let acknowledged: Vec<&str> = outcomes
        .iter()
        .filter(|(_, status)| *status == 201)
        .map(|(title, _)| title.as_str())
        .collect();
    let refused = outcomes.iter().filter(|(_, status)| *status == 503).count();
    println!(
        "{} writes, {} acknowledged, {refused} answered 503; {killed} connections killed",
        outcomes.len(),
        acknowledged.len()
    );
    assert!(killed > 0, "no connection was killed");
    assert!(
        outcomes
            .iter()
            .all(|(_, status)| *status == 201 || *status == 503),
        "{:?}",
        outcomes
            .iter()
            .filter(|(_, status)| *status != 201 && *status != 503)
            .collect::<Vec<_>>()
    );
    // A pooled connection killed within the last second is handed out unchecked once
    // (`store::CHECK_IDLE_AFTER`): its request gets 503 `unavailable`, never a 500.
    for _ in 0..10 {
        let status = alice
            .raw(Method::GET, "/tasks")
            .send()
            .await
            .expect("sent")
            .status();
        assert!(matches!(status.as_u16(), 200 | 503), "{status}");
    }
    // After that, every connection handed out has been checked or is new.
    tokio::time::sleep(store::CHECK_IDLE_AFTER).await;
    let stored: std::collections::HashSet<String> = alice
        .all_tasks()
        .await
        .into_iter()
        .map(|task| task.title)
        .collect();
    let lost: Vec<&&str> = acknowledged
        .iter()
        .filter(|title| !stored.contains(**title))
        .collect();
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
}

/// With every pooled connection in use, a request that cannot get one is told the server
/// is busy, not that the database is unavailable.
#[tokio::test]
async fn a_full_pool_is_busy_not_unavailable() {
    let app = TestApp::configured(|settings| {
        settings.database.db_max_connections = 1;
        settings.database.db_acquire_timeout_ms = 300;
        settings.database.db_lock_timeout_ms = 3_000;
    })
    .await;
    let (alice, task, holder) = a_held_task(&app).await;

    // This replace takes the pool's one connection and waits on the row.
    let stuck = alice
        .raw(Method::PUT, &format!("/tasks/{}", task.id))
        .json(&task_titled("Mine now"))
        .send();
    let meanwhile = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        expect_problem(alice.raw(Method::GET, "/users/me"), 503).await
    };
    let (stuck, problem) = tokio::join!(stuck, meanwhile);
    assert_eq!(problem["type"], "urn:taskapi:problem:busy", "{problem}");
    holder.rollback().await.expect("released");
    let stuck = stuck.expect("sent");
    assert!(
        stuck.status() == 200 || stuck.status() == 503,
        "{}",
        stuck.status()
    );
}

#[tokio::test]
async fn a_database_refusing_new_connections_is_unavailable_not_an_error() {
    let (app, alice) = TestApp::with_user().await;
    let postgres = sqlx::PgPool::connect(&format!(
        "{}/postgres",
        taskapi_tests::database_server_url()
    ))
    .await
    .expect("connect");
    let name = crate::revocation::database_name(&app.database_url);
    crate::revocation::allow_connections(&postgres, &name, false).await;
    // More requests at once than the pool has connections open: some need a new one.
    let requests = (0..8).map(|_| alice.client.get_current_user().send());
    let statuses: Vec<u16> = futures::future::join_all(requests)
        .await
        .iter()
        .map(taskapi_tests::status_of)
        .collect();
    crate::revocation::allow_connections(&postgres, &name, true).await;
    assert!(
        statuses.iter().all(|status| matches!(status, 200 | 503)),
        "{statuses:?}"
    );
}
