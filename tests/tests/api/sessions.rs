//! Sessions: a login starts one, a refresh rotates its refresh token, a used refresh token
//! ends it, and its owner can list and end it.

use sqlx::Row;
use taskapi_client::{ClientInfo, session};
use taskapi_tests::{PASSWORD, TestApp, problem, status_of};

#[tokio::test]
async fn a_login_returns_a_short_lived_access_token_and_a_refresh_token() {
    let (app, alice) = TestApp::with_user().await;
    let token = app.log_in(&alice.email, PASSWORD).await.expect("logged in");
    assert_eq!(token.token_type, "bearer");
    assert_eq!(
        token.expires_in, 1800,
        "the test server's access-token lifetime"
    );
    assert_eq!(token.refresh_expires_in, 30 * 24 * 60 * 60);
    // 256 bits, base64url without padding.
    assert_eq!(token.refresh_token.len(), 43);
    assert_ne!(token.refresh_token, alice.refresh_token);
}

#[tokio::test]
async fn a_refresh_rotates_the_refresh_token_and_keeps_the_session() {
    let (app, alice) = TestApp::with_user().await;
    let first = app.refreshed(&alice.refresh_token).await;
    assert_ne!(first.refresh_token, alice.refresh_token);
    let refreshed = app.client_with_token(&first.access_token);
    let me = refreshed.get_current_user().send().await.expect("accepted");
    assert_eq!(me.id, alice.id);

    // The new refresh token works once more; the session is still one session.
    let second = app.refreshed(&first.refresh_token).await;
    let latest = app.client_with_token(&second.access_token);
    let sessions = latest.list_sessions().send().await.expect("listed");
    assert_eq!(sessions.items.len(), 1);
    assert!(sessions.items[0].current);
    assert!(sessions.items[0].last_used_at > sessions.items[0].created_at);
}

#[tokio::test]
async fn presenting_a_used_refresh_token_ends_the_whole_session() {
    let (app, alice) = TestApp::with_user().await;
    let rotated = app.refreshed(&alice.refresh_token).await;

    // Someone replays the first refresh token: taken as theft.
    let replay = problem(app.refresh(&alice.refresh_token).await);
    assert_eq!(replay.status().as_u16(), 401);
    assert_eq!(replay.type_, "urn:taskapi:problem:invalid-grant");

    // The whole family is gone: the latest refresh token and every access token of it.
    let latest = problem(app.refresh(&rotated.refresh_token).await);
    assert_eq!(latest.status().as_u16(), 401);
    app.eventually_token_status(&alice.token, 401).await;
    app.eventually_token_status(&rotated.access_token, 401)
        .await;

    // Alice can still log in again.
    assert_eq!(app.login_status(&alice.email, PASSWORD).await, 200);
}

#[tokio::test]
async fn of_two_concurrent_refreshes_with_one_token_exactly_one_succeeds() {
    let (app, alice) = TestApp::with_user().await;
    for round in 0..5 {
        let token = app.log_in(&alice.email, PASSWORD).await.expect("logged in");
        let (first, second) = tokio::join!(
            app.refresh(&token.refresh_token),
            app.refresh(&token.refresh_token)
        );
        let statuses = [status_of(&first), status_of(&second)];
        let mut sorted = statuses;
        sorted.sort_unstable();
        assert_eq!(sorted, [200, 401], "round {round}: {statuses:?}");
    }
}

#[tokio::test]
async fn unknown_and_malformed_refresh_tokens_are_invalid_grants() {
    let app = TestApp::spawn().await;
    for token in ["", "x", &"A".repeat(43), &"é".repeat(500)] {
        let result = app.refresh(token).await;
        let status = status_of(&result);
        if token.is_empty() {
            // A missing refresh_token is a form error.
            assert_eq!(status, 422);
        } else {
            assert_eq!(status, 401, "{token:?}");
            assert_eq!(problem(result).type_, "urn:taskapi:problem:invalid-grant");
        }
    }
}

#[tokio::test]
async fn logout_ends_the_session_at_once() {
    let (app, alice) = TestApp::with_user().await;
    let other = app
        .log_in(&alice.email, PASSWORD)
        .await
        .expect("a second session");
    alice.log_out().await;

    // At once where the logout was made; on another instance, within the revocation window.
    app.eventually_token_status(&alice.token, 401).await;
    assert_eq!(status_of(&app.refresh(&alice.refresh_token).await), 401);
    // The other session is untouched, on every instance now that the logout reached them all.
    assert_eq!(app.token_status_everywhere(&other.access_token).await, 200);
}

#[tokio::test]
async fn sessions_are_listed_newest_first_and_can_be_ended_one_by_one() {
    let app = TestApp::spawn().await;
    let alice = app.signed_up_user().await;
    let mut others = Vec::new();
    for _ in 0..3 {
        others.push(app.log_in(&alice.email, PASSWORD).await.expect("logged in"));
    }
    let page = alice
        .client
        .list_sessions()
        .limit(std::num::NonZeroU32::new(2).expect("positive"))
        .send()
        .await
        .expect("listed")
        .into_inner();
    assert_eq!(page.items.len(), 2);
    let cursor = page.next_cursor.clone().expect("a second page");
    let rest = alice
        .client
        .list_sessions()
        .cursor(cursor)
        .send()
        .await
        .expect("listed")
        .into_inner();
    assert_eq!(rest.items.len(), 2);
    assert!(rest.next_cursor.is_none());
    let all: Vec<_> = page.items.iter().chain(&rest.items).collect();
    assert!(
        all.windows(2)
            .all(|pair| pair[0].created_at >= pair[1].created_at)
    );
    let current: Vec<_> = all.iter().filter(|session| session.current).collect();
    assert_eq!(current.len(), 1, "exactly one is the caller's");
    assert_eq!(current[0].id, all[3].id, "Alice's own login is the oldest");
    assert!(
        all.iter()
            .all(|session| session.client_address == "127.0.0.1")
    );

    // Ending the newest session logs that client out, and only it.
    let newest = all[0].id;
    alice
        .client
        .end_session()
        .session_id(newest)
        .send()
        .await
        .expect("ended");
    app.eventually_token_status(&others[2].access_token, 401)
        .await;
    assert_eq!(
        app.token_status_everywhere(&others[1].access_token).await,
        200
    );
    assert_eq!(status_of(&app.refresh(&others[2].refresh_token).await), 401);

    // Twice is not found; so is someone else's.
    let again = alice.client.end_session().session_id(newest).send().await;
    assert_eq!(status_of(&again), 404);
    let bob = app.signed_up_user().await;
    let foreign = bob.client.end_session().session_id(all[1].id).send().await;
    assert_eq!(status_of(&foreign), 404);
    assert_eq!(
        app.token_status_everywhere(&others[1].access_token).await,
        200
    );
}

#[tokio::test]
async fn the_session_records_the_user_agent_of_its_login() {
    let (app, alice) = TestApp::with_user().await;
    let response = app
        .raw(reqwest::Method::POST, "/auth/login")
        .header("user-agent", format!("TaskApp/2.0 {}", "x".repeat(500)))
        .form(&[("username", alice.email.as_str()), ("password", PASSWORD)])
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200);
    let sessions = alice.sessions().await;
    let agents: Vec<_> = sessions
        .items
        .iter()
        .filter_map(|session| session.user_agent.as_deref())
        .filter(|agent| agent.starts_with("TaskApp/2.0"))
        .collect();
    assert_eq!(agents.len(), 1);
    assert_eq!(agents[0].chars().count(), 200, "cut to 200 characters");
}

#[tokio::test]
async fn refresh_tokens_are_stored_only_as_hashes() {
    let (app, alice) = TestApp::with_user().await;
    let rotated = app.refreshed(&alice.refresh_token).await;
    let pool = app.database().await;
    let dump: String =
        sqlx::query("SELECT string_agg(t::text, ' ') FROM (SELECT * FROM refresh_tokens) t")
            .fetch_one(&pool)
            .await
            .expect("read")
            .get(0);
    let sessions: String = sqlx::query("SELECT string_agg(s::text, ' ') FROM sessions s")
        .fetch_one(&pool)
        .await
        .expect("read")
        .get(0);
    for token in [&alice.refresh_token, &rotated.refresh_token] {
        assert!(!dump.contains(token.as_str()) && !sessions.contains(token.as_str()));
        let raw = base64_decode(token);
        assert!(!dump.contains(&hex(&raw)), "nor its bytes");
    }
    let hashes: Vec<Vec<u8>> = sqlx::query_scalar("SELECT token_hash FROM refresh_tokens")
        .fetch_all(&pool)
        .await
        .expect("read");
    assert_eq!(hashes.len(), 2);
    assert!(hashes.iter().all(|hash| hash.len() == 32));
}

fn base64_decode(token: &str) -> Vec<u8> {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    URL_SAFE_NO_PAD.decode(token).expect("base64url")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[tokio::test]
async fn the_sdk_refreshes_an_expired_access_token_by_itself() {
    // Access tokens live 1 s (the SDK refreshes 10 s early, so every request refreshes).
    let app = TestApp::configured(|settings| settings.token_ttl_seconds = 1).await;
    let alice = app.signed_up_user().await;
    let first = alice.client.inner().tokens().await.expect("a session");
    for _ in 0..3 {
        alice
            .client
            .get_current_user()
            .send()
            .await
            .expect("accepted after a refresh");
    }
    let after = alice.client.inner().tokens().await.expect("a session");
    assert_ne!(after.refresh_token, first.refresh_token, "it refreshed");
    // Still one session.
    assert_eq!(alice.sessions().await.items.len(), 1);
}

#[tokio::test]
async fn the_sdk_refreshes_and_retries_once_when_a_token_is_refused() {
    let (app, alice) = TestApp::with_user().await;
    let saved = alice.client.inner().tokens().await.expect("a session");
    // Resumed from storage with an access token the server refuses, though the client
    // believes it fresh: only the 401 tells it to refresh.
    let resumed = session::resume(
        &app.base_url,
        taskapi_client::types::Token {
            access_token: app.forge(&taskapi_tests::claims(alice.id, -60)),
            ..saved.clone()
        },
    )
    .expect("a client");

    let me = resumed
        .get_current_user()
        .send()
        .await
        .expect("refreshed and retried");
    assert_eq!(me.id, alice.id);
    let refreshed = resumed.inner().tokens().await.expect("a session");
    assert_ne!(
        refreshed.refresh_token, saved.refresh_token,
        "it refreshed once"
    );
    // The refreshed token keeps working without another refresh.
    resumed.list_sessions().send().await.expect("accepted");
    let after = resumed.inner().tokens().await.expect("a session");
    assert_eq!(after.refresh_token, refreshed.refresh_token);
}

#[tokio::test]
async fn the_sdk_gives_up_with_the_401_when_the_session_has_ended() {
    let (app, alice) = TestApp::with_user().await;
    let second = session::resume(
        &app.base_url,
        alice.client.inner().tokens().await.expect("a session"),
    )
    .expect("a client");
    alice.log_out().await;
    // Refused, and the refresh refused too: the 401 stands.
    let me = || async { status_of(&second.get_current_user().send().await) };
    app.eventually_within(app.revocation_window(), 401, me)
        .await;
}

#[tokio::test]
async fn a_login_past_the_session_cap_ends_the_oldest_session() {
    let app = TestApp::configured(|settings| settings.max_sessions_per_user = 2).await;
    let alice = app.signed_up_user().await;
    let second = app.logged_in(&alice.email, PASSWORD).await;
    assert_eq!(app.token_status(&alice.token).await, 200);

    let third = app.logged_in(&alice.email, PASSWORD).await;
    // The first session is over: access and refresh token alike.
    app.eventually_token_status(&alice.token, 401).await;
    assert_eq!(status_of(&app.refresh(&alice.refresh_token).await), 401);
    for user in [&second, &third] {
        assert_eq!(app.token_status_everywhere(&user.token).await, 200);
    }
    assert_eq!(third.sessions().await.items.len(), 2);
}

#[tokio::test]
async fn concurrent_logins_at_the_session_cap_all_succeed_and_keep_the_cap() {
    let app = TestApp::configured(|settings| settings.max_sessions_per_user = 2).await;
    let alice = app.signed_up_user().await;
    let logins = (0..6).map(|_| app.log_in(&alice.email, PASSWORD));
    for login in futures::future::join_all(logins).await {
        login.expect("every login succeeds");
    }
    let pool = app.database().await;
    let sessions: i64 = sqlx::query_scalar("SELECT count(*) FROM sessions WHERE user_id = $1")
        .bind(alice.id)
        .fetch_one(&pool)
        .await
        .expect("counted");
    assert_eq!(sessions, 2);
}
