//! Probes: live while the process serves, ready while the database answers with the
//! schema this server expects.

use taskapi_server::store::migrations;
use taskapi_tests::{TestApp, problem};

#[tokio::test]
async fn a_running_server_is_live_and_ready() {
    let app = TestApp::spawn().await;
    let live = app.client.get_liveness().send().await.expect("live");
    assert_eq!(live.into_inner().status, "ok");
    let ready = app.client.get_readiness().send().await.expect("ready");
    assert_eq!(ready.status().as_u16(), 200);
}

#[tokio::test]
async fn a_schema_behind_the_migrations_is_not_ready_but_still_live() {
    let app = TestApp::spawn().await;
    let database = app.database().await;
    migrations::down(&database, 1).await.expect("reverted");

    let not_ready = problem(app.client.get_readiness().send().await);
    assert_eq!(not_ready.status().as_u16(), 503);
    assert!(not_ready.headers().contains_key("retry-after"));
    app.client.get_liveness().send().await.expect("still live");

    migrations::up(&database).await.expect("migrated again");
    app.client
        .get_readiness()
        .send()
        .await
        .expect("ready again");
}
