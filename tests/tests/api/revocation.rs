//! Revocation reaches every server at once, and accepting a token costs no database query:
//! each server holds the revoked sessions and accounts in memory, kept current through
//! PostgreSQL `LISTEN/NOTIFY`.

use std::time::{Duration, Instant};

use sqlx::PgPool;
use taskapi_client::events::{Events, Frame};
use taskapi_tests::{REVOCATION_WINDOW, TestApp, TestUser, Transaction, database_server_url};

/// Two servers on one database, as behind a load balancer.
async fn two_servers() -> (TestApp, TestApp) {
    let first = TestApp::spawn().await;
    let second = first.another_instance().await;
    (first, second)
}

/// Waits until `app` refuses `user`'s original access token on every instance, within the
/// [`REVOCATION_WINDOW`] (the revocation was made on another app).
async fn refused_everywhere(app: &TestApp, user: &TestUser) {
    app.eventually_within(REVOCATION_WINDOW, 401, || app.token_status(&user.token))
        .await;
}

#[tokio::test]
async fn a_logout_on_one_server_is_seen_by_another_within_the_revocation_window() {
    let (first, second) = two_servers().await;
    let alice = first.signed_up_user().await;
    let bob = first.signed_up_user().await;
    assert_eq!(second.token_status(&alice.token).await, 200);

    // Logged out on the first.
    alice.log_out().await;
    refused_everywhere(&second, &alice).await;
    // Only Alice: the second server heard of the logout, and of nothing more.
    assert_eq!(second.token_status_everywhere(&bob.token).await, 200);
}

#[tokio::test]
async fn disabling_and_deleting_on_one_server_reach_the_other_within_the_revocation_window() {
    let (first, second) = two_servers().await;
    let admin = first.signed_up_admin().await;
    let alice = first.signed_up_user().await;
    let bob = first.signed_up_user().await;
    for user in [&alice, &bob] {
        assert_eq!(second.token_status(&user.token).await, 200);
    }
    admin.disable_account(alice.id).await;
    admin.delete_account(bob.id).await;
    for user in [&alice, &bob] {
        refused_everywhere(&second, user).await;
    }
}

/// The backend that listens for revocations on `database`.
async fn kill_listeners(admin: &PgPool, database: &str) -> u64 {
    sqlx::query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = $1 AND application_name = 'taskapi-revocations'",
    )
    .bind(database)
    .execute(admin)
    .await
    .expect("terminated")
    .rows_affected()
}

pub(crate) fn database_name(url: &str) -> String {
    url.rsplit('/').next().unwrap_or_default().to_owned()
}

async fn listeners(postgres: &PgPool, database: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity \
         WHERE datname = $1 AND application_name = 'taskapi-revocations'",
    )
    .bind(database)
    .fetch_one(postgres)
    .await
    .expect("counted")
}

/// Allows or refuses new connections to `database` (the open ones go on).
pub(crate) async fn allow_connections(postgres: &PgPool, database: &str, allow: bool) {
    // A database name cannot be bound; this one is the test's own, `[a-z0-9_]` only.
    assert!(
        database
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    );
    let sql = format!("ALTER DATABASE \"{database}\" ALLOW_CONNECTIONS {allow}");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(postgres)
        .await
        .expect("altered");
}

#[tokio::test]
async fn a_server_without_its_listener_checks_tokens_in_the_database_until_it_is_back() {
    // One pooled connection each: while new connections are refused below, every request
    // waits for that one instead of trying to open another.
    let first = TestApp::configured(|settings| settings.database.db_max_connections = 1).await;
    let second = first.another_instance().await;
    let alice = first.signed_up_user().await;
    let bob = first.signed_up_user().await;
    // Both servers have a pooled connection open, which outlives what follows.
    for user in [&alice, &bob] {
        assert_eq!(second.token_status(&user.token).await, 200);
    }
    let postgres = PgPool::connect(&format!("{}/postgres", database_server_url()))
        .await
        .expect("connect");
    let name = database_name(&first.database_url);

    // The listeners are cut and cannot come back: no notification reaches anyone.
    allow_connections(&postgres, &name, false).await;
    assert_eq!(
        kill_listeners(&postgres, &name).await,
        2 * first.instances(),
        "one listener per server instance"
    );
    // Over an open connection.
    alice.log_out().await;
    assert_eq!(listeners(&postgres, &name).await, 0, "still no listener");
    // The second server learns it from the database, on the request itself.
    assert_eq!(second.token_status(&alice.token).await, 401);
    assert_eq!(second.token_status(&bob.token).await, 200);

    // Connections allowed again, the listeners return and reload; a later revocation
    // arrives by notification.
    allow_connections(&postgres, &name, true).await;
    let started = Instant::now();
    while listeners(&postgres, &name).await < 2 {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "listeners did not return"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bob.log_out().await;
    refused_everywhere(&second, &bob).await;
    // Alice's logout is in the set the listeners reloaded.
    assert_eq!(second.token_status_everywhere(&alice.token).await, 401);
}

/// The commands of a transaction, without the frame around them (`BEGIN` and the
/// `SET LOCAL`s a transaction pooler needs, the `COMMIT` or `ROLLBACK` that ends it).
fn statements(transaction: &Transaction) -> Vec<&str> {
    transaction
        .iter()
        .map(String::as_str)
        .filter(|tag| !matches!(*tag, "BEGIN" | "SET" | "COMMIT" | "ROLLBACK"))
        .collect()
}

/// The server's periodic purges (expired sessions, counters, keys) only delete; no read
/// does.
fn is_purge(transaction: &Transaction) -> bool {
    statements(transaction)
        .iter()
        .all(|statement| statement.starts_with("DELETE"))
}

#[tokio::test]
async fn reading_a_task_costs_one_transaction_and_authentication_none() {
    let (app, log) = TestApp::with_transaction_log().await;
    let alice = app.signed_up_user().await;
    // After a commit the server announces the change to event streams, in a statement of
    // its own: done once a stream has heard of the task (and none follows without another
    // commit; reads commit nothing).
    let mut events = Events::connect(&alice.client, None)
        .await
        .expect("a stream");
    let task = alice.create_task("Counted").await;
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), events.next()).await;
        match frame
            .expect("the task's event in time")
            .expect("the stream reads")
        {
            Some(Frame::Change { change, .. }) if change.id == task.id => break,
            Some(_) => {}
            None => panic!("the stream ended"),
        }
    }
    drop(events);
    let client = app.client_with_token(&alice.token);
    let read = || client.get_task().task_id(task.id).send();
    // Warm: every instance's pool has a connection with the read's statement prepared.
    for _ in 0..app.instances() {
        read().await.expect("read");
    }

    const READS: usize = 100;
    let before = log.ended().len();
    for _ in 0..READS {
        read().await.expect("read");
    }
    let is_read = |transaction: &Transaction| !is_purge(transaction);
    let ended = log
        .ended_after(before, READS, is_read, Duration::from_secs(10))
        .await;
    println!(
        "{} transactions ended while {READS} reads were served",
        ended.len()
    );
    let reads: Vec<Vec<&str>> = ended
        .iter()
        .filter(|transaction| is_read(transaction))
        .map(statements)
        .collect();
    assert_eq!(
        reads.len(),
        READS,
        "one transaction per read, none for authentication: {ended:?}"
    );
    assert!(
        reads.iter().all(|statements| statements == &["SELECT 1"]),
        "a read's transaction is the one SELECT of the task: {ended:?}"
    );
}
