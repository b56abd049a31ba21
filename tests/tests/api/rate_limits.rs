//! Rate limits: each answers 429 with `Retry-After`, `RateLimit-Policy` and `RateLimit`,
//! counts what the README says it counts, and resets as documented. Failed-login and
//! registration counters live in PostgreSQL, so a restart does not reset them.

use std::time::Duration;

use reqwest::{Method, RequestBuilder};
use taskapi_tests::{
    PASSWORD, Spec, TestApp, TestUser, expect_problem, problem_in, task_titled, test_settings,
};

/// A login form from `client` (sent as `X-Forwarded-For`, believed only from a trusted
/// proxy) for `email` with `password`.
fn login(app: &TestApp, email: &str, password: &str, client: Option<&str>) -> RequestBuilder {
    let request = app
        .raw(Method::POST, "/auth/login")
        .form(&[("username", email), ("password", password)]);
    match client {
        Some(address) => request.header("x-forwarded-for", address),
        None => request,
    }
}

async fn status_of(request: RequestBuilder) -> u16 {
    request.send().await.expect("sent").status().as_u16()
}

/// The status of a login from the test's own address.
async fn attempt(app: &TestApp, email: &str, password: &str) -> u16 {
    status_of(login(app, email, password, None)).await
}

/// A server that refuses an account's logins once `failures` of them have failed.
async fn locking_after(failures: u32) -> TestApp {
    TestApp::configured(|settings| settings.rate_limits.login_failures_per_account = failures).await
}

/// Fails `times` logins to `email` with a wrong password; each must be a plain 401.
async fn fail_logins(app: &TestApp, email: &str, times: usize) {
    for _ in 0..times {
        assert_eq!(attempt(app, email, "wrong").await, 401);
    }
}

/// Sends `request`, expects a 429 from `policy`, and returns its `Retry-After`.
async fn expect_limited(request: RequestBuilder, policy: &str, quota: u32) -> u64 {
    let response = request.send().await.expect("sent");
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_else(|| panic!("a 429 carries {name}"))
            .to_owned()
    };
    let retry_after: u64 = header("retry-after").parse().expect("whole seconds");
    assert!(retry_after >= 1, "Retry-After: {retry_after}");
    let policy_field = header("ratelimit-policy");
    assert!(
        policy_field.starts_with(&format!("\"{policy}\";q={quota};w=")),
        "RateLimit-Policy: {policy_field}"
    );
    assert_eq!(
        header("ratelimit"),
        format!("\"{policy}\";r=0;t={retry_after}")
    );
    let problem = problem_in(response, 429).await;
    assert_eq!(problem["type"], "urn:taskapi:problem:rate-limited");
    retry_after
}

/// Sends the right password for `email` from `client`, expects the per-account failed-login
/// limit of `quota` to refuse it, and returns its `Retry-After`.
async fn expect_account_locked(
    app: &TestApp,
    email: &str,
    client: Option<&str>,
    quota: u32,
) -> u64 {
    let request = login(app, email, PASSWORD, client);
    expect_limited(request, "failed-logins-per-account", quota).await
}

#[tokio::test]
async fn every_operation_that_declares_429_gives_it_with_its_headers() {
    let app = TestApp::configured(|settings| {
        settings.rate_limits.requests_per_minute = 1;
        settings.rate_limits.registrations_per_address = 2;
        settings.rate_limits.login_failures_per_account = 1;
        settings.rate_limits.password_resets_per_email = 1;
    })
    .await;
    let alice = app.signed_up_user().await;
    let task = alice
        .create_task("Uses alice's one request this minute")
        .await;

    let mut checked = 0;
    for operation in Spec::checked_in().operations {
        if !operation.statuses.contains(&429) {
            continue;
        }
        let path = operation
            .path
            .replace("{task_id}", &task.id.to_string())
            .replace("{session_id}", &uuid::Uuid::now_v7().to_string())
            .replace("{user_id}", &alice.id.to_string())
            .replace("{list_id}", &task.list_id.to_string())
            .replace("{invitation_id}", &uuid::Uuid::now_v7().to_string())
            .replace("{token_id}", &uuid::Uuid::now_v7().to_string())
            .replace("{name}", "errands");
        match operation.id.as_str() {
            "register" => {
                // Alice's registration was the first of two allowed.
                let body = |n: u32| serde_json::json!({"email": format!("n{n}@example.com"), "password": PASSWORD});
                assert_eq!(
                    status_of(app.raw(Method::POST, &path).json(&body(1))).await,
                    201
                );
                let again = app.raw(Method::POST, &path).json(&body(2));
                expect_limited(again, "registrations-per-address", 2).await;
            }
            "login" => {
                fail_logins(&app, &alice.email, 1).await;
                expect_account_locked(&app, &alice.email, None, 1).await;
            }
            "request_password_reset" => {
                // For an address no account has, as for one that has: the same count.
                let body = serde_json::json!({"email": "nobody@example.com"});
                let first = app.raw(Method::POST, &path).json(&body);
                assert_eq!(status_of(first).await, 202);
                let again = app.raw(Method::POST, &path).json(&body);
                expect_limited(again, "password-resets-per-email", 1).await;
            }
            _ => {
                let request = alice.raw(operation.method.clone(), &path);
                // A body of the declared media type, so that nothing is refused before
                // the caller is counted.
                let request = match operation.id.as_str() {
                    "create_task" | "replace_task" => request.json(&task_titled("x")),
                    "update_current_user"
                    | "delete_current_user"
                    | "change_password"
                    | "update_task" => request.json(&serde_json::json!({})),
                    "rename_tag" | "create_list" | "update_list" => {
                        request.json(&serde_json::json!({"name": "x"}))
                    }
                    "update_member" => request.json(&serde_json::json!({"role": "viewer"})),
                    "create_access_token" => request.json(&serde_json::json!({
                        "name": "x", "scopes": ["tasks:read"]
                    })),
                    "create_invitation" => request.json(&serde_json::json!({
                        "email": "x@example.com", "role": "viewer"
                    })),
                    _ => request,
                };
                let retry_after = expect_limited(request, "requests", 1).await;
                assert!(retry_after <= 60, "Retry-After: {retry_after}");
            }
        }
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} operations declare 429");
}

#[tokio::test]
async fn failed_logins_are_limited_per_account_and_address_and_a_success_clears_the_count() {
    let app = locking_after(3).await;
    let alice = app.signed_up_user().await;

    fail_logins(&app, &alice.email, 2).await;
    // A success clears the count: three more failures are allowed.
    assert_eq!(attempt(&app, &alice.email, PASSWORD).await, 200);
    fail_logins(&app, &alice.email, 3).await;
    // Past the limit even the right password is refused: no guessing continues.
    let retry_after = expect_account_locked(&app, &alice.email, None, 3).await;
    assert!(retry_after <= 15 * 60, "Retry-After: {retry_after}");
    // Another account from the same address is not affected.
    let bob = app.signed_up_user().await;
    assert_eq!(attempt(&app, &bob.email, PASSWORD).await, 200);
    // Unknown and malformed accounts are counted too.
    fail_logins(&app, "nobody@example.com", 3).await;
    expect_account_locked(&app, "NOBODY@example.com", None, 3).await;
}

#[tokio::test]
async fn failed_logins_per_address_cover_every_account() {
    let app =
        TestApp::configured(|settings| settings.rate_limits.login_failures_per_address = 4).await;
    let alice = app.signed_up_user().await;
    for n in 0..4 {
        let email = format!("guess{n}@example.com");
        assert_eq!(attempt(&app, &email, "wrong").await, 401);
    }
    expect_limited(
        login(&app, &alice.email, PASSWORD, None),
        "failed-logins-per-address",
        4,
    )
    .await;
}

#[tokio::test]
async fn a_window_ends_and_the_limit_lifts() {
    let app = TestApp::configured(|settings| {
        settings.rate_limits.login_failures_per_account = 1;
        settings.rate_limits.login_window_seconds = 2;
    })
    .await;
    let alice = app.signed_up_user().await;
    fail_logins(&app, &alice.email, 1).await;
    let retry_after = expect_account_locked(&app, &alice.email, None, 1).await;
    assert!((1..=2).contains(&retry_after), "Retry-After: {retry_after}");
    tokio::time::sleep(Duration::from_secs(retry_after) + Duration::from_millis(100)).await;
    assert_eq!(attempt(&app, &alice.email, PASSWORD).await, 200);
}

#[tokio::test]
async fn login_counters_survive_a_restart_and_are_shared_by_instances() {
    let first = locking_after(1).await;
    let alice = first.signed_up_user().await;
    fail_logins(&first, &alice.email, 1).await;

    // A second instance on the same database: started after the failure, it still knows.
    let second = first.another_instance().await;
    expect_account_locked(&second, &alice.email, None, 1).await;
}

#[tokio::test]
async fn forwarded_addresses_count_only_from_trusted_proxies() {
    let mut settings = test_settings();
    settings.rate_limits.login_failures_per_account = 1;
    let untrusting = TestApp::spawn_with(settings.clone()).await;
    let alice = untrusting.signed_up_user().await;
    // Not behind a trusted proxy: a claimed address changes nothing.
    assert_eq!(
        status_of(login(
            &untrusting,
            &alice.email,
            "wrong",
            Some("203.0.113.1")
        ))
        .await,
        401
    );
    expect_account_locked(&untrusting, &alice.email, Some("203.0.113.2"), 1).await;

    settings.rate_limits.trusted_proxies = vec!["127.0.0.1/32".parse().expect("a range")];
    let proxied = TestApp::spawn_with(settings).await;
    let bob: TestUser = proxied.signed_up_user().await;
    assert_eq!(
        status_of(login(&proxied, &bob.email, "wrong", Some("203.0.113.1"))).await,
        401
    );
    expect_account_locked(&proxied, &bob.email, Some("203.0.113.1"), 1).await;
    // Behind the trusted proxy, another client is another address.
    assert_eq!(
        status_of(login(&proxied, &bob.email, PASSWORD, Some("203.0.113.2"))).await,
        200
    );
}

#[tokio::test]
async fn the_request_quota_is_per_user() {
    let app = TestApp::configured(|settings| settings.rate_limits.requests_per_minute = 3).await;
    let alice = app.signed_up_user().await;
    let bob = app.signed_up_user().await;
    for _ in 0..3 {
        assert_eq!(status_of(alice.raw(Method::GET, "/users/me")).await, 200);
    }
    expect_limited(alice.raw(Method::GET, "/users/me"), "requests", 3).await;
    assert_eq!(status_of(bob.raw(Method::GET, "/users/me")).await, 200);
    // Every authenticated operation draws on the same quota.
    let problem = expect_problem(alice.raw(Method::GET, "/tasks"), 429).await;
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("requests"))
    );
}
