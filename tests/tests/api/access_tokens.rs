//! Personal access tokens: made with scopes, shown once, prefixed `tka_`; a call outside
//! their scopes is 403 with the RFC 6750 challenge; deleting one, expiring or disabling
//! its account ends it. (That every operation enforces the scopes the spec names is the
//! authorization table's `access_tokens_reach_just_what_their_scopes_name`.)

use reqwest::{Method, header::WWW_AUTHENTICATE};
use taskapi_client::{problem::ProblemType, types};
use taskapi_tests::{TestApp, assert_problem, problem, problem_in, status_of};

const READ_ACCOUNT: types::AccessTokenScope = types::AccessTokenScope::AccountRead;
const READ_TASKS: types::AccessTokenScope = types::AccessTokenScope::TasksRead;

/// `GET path` with `token` as its bearer, which must be refused for its scope: the
/// challenge and the problem document.
async fn out_of_scope(app: &TestApp, path: &str, token: &str) -> (String, serde_json::Value) {
    let refused = app.raw(Method::GET, path).bearer_auth(token).send().await;
    let refused = refused.expect("sent");
    let challenge = refused.headers()[WWW_AUTHENTICATE].to_str().expect("text");
    (challenge.to_owned(), problem_in(refused, 403).await)
}

#[tokio::test]
async fn a_token_is_shown_once_and_listed_without_itself() {
    let (app, alice) = TestApp::with_user().await;
    let made = alice
        .try_access_token("  CI deploys ", &[READ_TASKS, READ_ACCOUNT])
        .await
        .expect("made");
    assert_eq!(made.status().as_u16(), 201);
    let made = made.into_inner();
    assert!(made.token.starts_with("tka_"), "{}", made.token);
    assert_eq!(made.token.len(), 4 + 43, "the prefix and 256 random bits");
    assert_eq!(made.access_token.name, "CI deploys");
    assert_eq!(made.access_token.scopes, vec![READ_TASKS, READ_ACCOUNT]);
    assert_eq!(made.access_token.last_used_at, None);

    let me = app
        .client_with_token(&made.token)
        .get_current_user()
        .send()
        .await
        .expect("the token reads the account");
    assert_eq!(me.email, alice.email);

    let listed = alice
        .raw(Method::GET, "/users/me/tokens")
        .send()
        .await
        .expect("listed");
    assert_eq!(listed.status().as_u16(), 200);
    let body = listed.text().await.expect("a body");
    assert!(!body.contains(&made.token), "the token is never listed");
    let page: types::AccessTokenPage = serde_json::from_str(&body).expect("a page");
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].id, made.access_token.id);
    assert!(page.items[0].last_used_at.is_some(), "its use is recorded");
}

#[tokio::test]
async fn a_call_outside_the_scopes_is_403_with_the_challenge_naming_them() {
    let (app, alice) = TestApp::with_user().await;
    let (token, _) = alice.access_token("reader", &[READ_ACCOUNT]).await;

    let (challenge, body) = out_of_scope(&app, "/tasks", &token).await;
    assert_eq!(
        challenge,
        r#"Bearer error="insufficient_scope", scope="tasks:read""#
    );
    assert_eq!(body["type"], "urn:taskapi:problem:insufficient-scope");
    // Both scopes a sync needs are named.
    let (challenge, _) = out_of_scope(&app, "/sync", &token).await;
    assert_eq!(
        challenge,
        r#"Bearer error="insufficient_scope", scope="tasks:read lists:read""#
    );

    // Whatever its scopes, a token never manages tokens, sessions, the password or email.
    let (everything, _) = alice
        .access_token(
            "everything",
            &[
                READ_TASKS,
                types::AccessTokenScope::TasksWrite,
                types::AccessTokenScope::ListsRead,
                types::AccessTokenScope::ListsWrite,
                READ_ACCOUNT,
            ],
        )
        .await;
    let client = app.client_with_token(&everything);
    let made = client
        .create_access_token()
        .body(
            types::AccessTokenInput::builder()
                .name("another")
                .scopes(vec![READ_TASKS]),
        )
        .send()
        .await;
    let made = problem(made);
    assert_problem(&made, 403, ProblemType::InsufficientScope);
    assert_eq!(
        made.headers()[WWW_AUTHENTICATE],
        r#"Bearer error="insufficient_scope", scope="session""#
    );
    let changed = client
        .change_password()
        .body(
            types::PasswordChange::builder()
                .current_password(taskapi_tests::PASSWORD)
                .new_password("a token must not do this"),
        )
        .send()
        .await;
    assert_problem(&problem(changed), 403, ProblemType::InsufficientScope);
    assert_eq!(status_of(&client.list_sessions().send().await), 403);
    // The session is untouched, and its password too.
    assert_eq!(status_of(&alice.client.list_sessions().send().await), 200);
    let status = app
        .login_status(&alice.email, taskapi_tests::PASSWORD)
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_deleted_token_stops_working_at_once_on_every_server() {
    let (app, alice) = TestApp::with_user().await;
    let (token, id) = alice.access_token("script", &[READ_ACCOUNT]).await;
    let here = app.client_with_token(&token);
    let there = app.first_instance_client(&token);
    assert_eq!(status_of(&here.get_current_user().send().await), 200);
    assert_eq!(status_of(&there.get_current_user().send().await), 200);

    let deleted = alice.client.delete_access_token().token_id(id).send().await;
    assert_eq!(status_of(&deleted), 204);
    for client in [&here, &there] {
        let refused = problem(client.get_current_user().send().await);
        assert_problem(&refused, 401, ProblemType::InvalidToken);
    }
    let again = alice.client.delete_access_token().token_id(id).send().await;
    assert_problem(&problem(again), 404, ProblemType::AboutBlank);
    let listed = alice
        .client
        .list_access_tokens()
        .send()
        .await
        .expect("listed");
    assert!(listed.items.is_empty());
}

#[tokio::test]
async fn an_expired_token_or_one_of_a_disabled_account_is_refused() {
    let (app, alice) = TestApp::with_user().await;
    let (token, id) = alice.access_token("short-lived", &[READ_ACCOUNT]).await;
    let client = app.client_with_token(&token);
    assert_eq!(status_of(&client.get_current_user().send().await), 200);
    // Past its expiry (set in the database: no test waits for a clock).
    let db = app.database().await;
    sqlx::query("UPDATE access_tokens SET expires_at = now() - interval '1 second' WHERE id = $1")
        .bind(id)
        .execute(&db)
        .await
        .expect("expired");
    let refused = problem(client.get_current_user().send().await);
    assert_problem(&refused, 401, ProblemType::InvalidToken);
    assert!(refused.detail.as_deref().unwrap_or("").contains("expired"));

    let (token, _) = alice.access_token("long-lived", &[READ_ACCOUNT]).await;
    let client = app.client_with_token(&token);
    let admin = app.signed_up_admin().await;
    let disabled = admin.client.admin_disable_user().user_id(alice.id);
    assert_eq!(status_of(&disabled.send().await), 200);
    let refused = problem(client.get_current_user().send().await);
    assert_problem(&refused, 401, ProblemType::InvalidToken);
}

#[tokio::test]
async fn a_token_is_made_only_with_a_name_scopes_and_a_future_expiry() {
    let (_app, alice) = TestApp::with_user().await;
    // Each body as JSON, straight to the server: the SDK's types would refuse them first.
    let refused = |body: serde_json::Value| {
        let request = alice.raw(Method::POST, "/users/me/tokens").json(&body);
        async move { problem_in(request.send().await.expect("sent"), 422).await }
    };
    let body = refused(serde_json::json!({"name": "ok", "scopes": []})).await;
    assert!(body["errors"]["scopes"].is_array(), "{body}");
    let body =
        refused(serde_json::json!({"name": "ok", "scopes": ["tasks:read", "session"]})).await;
    let scopes = &body["errors"];
    assert!(
        scopes["scopes[1]"].is_array() || scopes["scopes"].is_array(),
        "{body}"
    );
    let body = refused(serde_json::json!({
        "name": "   ",
        "scopes": ["tasks:read"],
        "expires_at": "2020-01-01T00:00:00Z",
    }))
    .await;
    assert_eq!(body["errors"]["name"][0], "must not be empty", "{body}");
    let far = refused(serde_json::json!({
        "name": "ok", "scopes": ["tasks:read"], "expires_at": "+10000-01-01T00:00:00Z",
    }))
    .await;
    assert!(far.to_string().contains("expires_at"), "{far}");
    assert_eq!(
        body["errors"]["expires_at"][0], "must be in the future",
        "{body}"
    );
    assert!(
        alice
            .client
            .list_access_tokens()
            .send()
            .await
            .expect("listed")
            .items
            .is_empty()
    );
}

#[tokio::test]
async fn an_account_holds_at_most_the_configured_number_of_tokens() {
    let app = TestApp::configured(|settings| settings.max_access_tokens_per_user = 2).await;
    let alice = app.signed_up_user().await;
    let (_, first) = alice.access_token("one", &[READ_TASKS]).await;
    alice.access_token("two", &[READ_TASKS]).await;
    let third = alice.try_access_token("three", &[READ_TASKS]).await;
    assert_problem(&problem(third), 409, ProblemType::TooManyAccessTokens);
    let deleted = alice
        .client
        .delete_access_token()
        .token_id(first)
        .send()
        .await;
    assert_eq!(status_of(&deleted), 204);
    alice.access_token("three", &[READ_TASKS]).await;
}
