use std::time::{Duration, Instant};

use reqwest::Method;
use taskapi_api::users::{PASSWORD_MAX_CHARS, PASSWORD_MIN_CHARS};
use taskapi_client::types;
use taskapi_tests::{PASSWORD, TestApp, expect_problem, problem, problem_in};

#[tokio::test]
async fn registering_returns_the_account_without_password_material() {
    let app = TestApp::spawn().await;

    let response = app
        .register("  Alice@Example.com ", "correct horse battery")
        .await
        .expect("registered");

    assert_eq!(response.status().as_u16(), 201);
    let user = response.into_inner();
    assert_eq!(user.email, "Alice@Example.com", "trimmed, case kept");
    let raw = app
        .raw(Method::POST, "/auth/register")
        .json(&serde_json::json!({"email": "bob@example.com", "password": "correct horse battery"}))
        .send()
        .await
        .expect("sent")
        .text()
        .await
        .expect("body");
    assert!(
        !raw.contains("argon2") && !raw.contains("password"),
        "{raw}"
    );
}

#[tokio::test]
async fn an_email_can_only_be_registered_once_whatever_its_case() {
    let app = TestApp::spawn().await;
    app.signed_up_user_with("a@x.com", "correct horse battery")
        .await;

    for email in ["a@x.com", "A@x.com", " A@X.COM "] {
        let conflict = problem(app.register(email, "another password").await);
        assert_eq!(conflict.status().as_u16(), 409, "{email}");
        assert_eq!(conflict.type_, "urn:taskapi:problem:email-taken");
    }
}

/// Addresses that look alike to a person are one account: fullwidth letters, a decomposed
/// accent, an internationalised domain in either spelling. The account keeps the spelling
/// it was registered with.
#[tokio::test]
async fn look_alike_emails_are_one_account() {
    let app = TestApp::spawn().await;
    for (registered, look_alike) in [
        ("alice@example.com", "ａｌｉｃｅ@example.com"),
        ("jos\u{e9}@example.com", "jose\u{301}@example.com"),
        ("anna@bücher.de", "ANNA@xn--bcher-kva.de"),
    ] {
        let user = app
            .register(registered, PASSWORD)
            .await
            .expect("registered");
        assert_eq!(user.into_inner().email, registered, "kept as typed");
        let conflict = problem(app.register(look_alike, PASSWORD).await);
        assert_eq!(conflict.status().as_u16(), 409, "{look_alike}");
        app.log_in(look_alike, PASSWORD)
            .await
            .expect("the look-alike logs in");
    }
    let invalid = problem(app.register("a@xn--zz-zzzzzzzzzzzz.com", PASSWORD).await);
    assert_eq!(invalid.status().as_u16(), 422);
    assert!(invalid.errors.contains_key("email"));
}

#[tokio::test]
async fn invalid_emails_are_refused_with_field_errors() {
    let app = TestApp::spawn().await;

    // Shorter than the schema's minimum ("") the SDK refuses to send; these it sends.
    for email in [
        "   ",
        "no-at-sign",
        "a@b",
        "a b@example.com",
        "a@exa mple.com",
    ] {
        let invalid = problem(app.register(email, "correct horse battery").await);
        assert_eq!(invalid.status().as_u16(), 422, "{email:?}");
        let errors = invalid.errors.clone();
        assert!(errors.contains_key("email"), "{email:?}: {errors:?}");
    }

    // The contract's pattern lets the SDK refuse control characters before sending; the
    // server's own check is exercised with raw JSON in errors.rs.
    assert!(types::RegisterRequestEmail::try_from("a\u{0}@example.com").is_err());

    // A body missing both fields hears about both. The SDK always sends them; raw JSON.
    let body = expect_problem(
        app.raw(Method::POST, "/auth/register")
            .json(&serde_json::json!({})),
        422,
    )
    .await;
    assert_eq!(body["errors"]["email"][0], "is required", "{body}");
    assert_eq!(body["errors"]["password"][0], "is required", "{body}");
}

#[tokio::test]
async fn passwords_must_have_an_allowed_length() {
    let app = TestApp::spawn().await;
    let register = |password: serde_json::Value| {
        app.raw(Method::POST, "/auth/register")
            .json(&serde_json::json!({
                "email": format!("p{}@example.com", uuid::Uuid::new_v4().simple()),
                "password": password,
            }))
    };
    // The SDK refuses these before sending, so they go as raw JSON.
    let body = expect_problem(register(1234567890.into()), 422).await;
    assert!(
        body["errors"]["password"].is_array(),
        "a number is not a password: {body}"
    );
    for (chars, expected) in [
        (PASSWORD_MIN_CHARS - 1, 422),
        (PASSWORD_MAX_CHARS + 1, 422),
        (PASSWORD_MIN_CHARS, 201),
        (PASSWORD_MAX_CHARS, 201),
    ] {
        let response = register("p".repeat(chars).into())
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status().as_u16(), expected, "{chars} chars");
        if expected == 422 {
            let body = problem_in(response, 422).await;
            assert!(body["errors"]["password"].is_array(), "{body}");
        }
    }
}

#[tokio::test]
async fn logging_in_returns_a_bearer_token() {
    let (app, alice) = TestApp::with_user().await;

    // Email case does not matter, as at registration.
    let email = alice.email.to_uppercase();
    let token = app
        .log_in(&email, &alice.password)
        .await
        .expect("logged in");

    assert_eq!(token.token_type, "bearer");
    assert_eq!(token.expires_in, 1800);
    assert_eq!(token.access_token.split('.').count(), 3, "a JWT");
}

#[tokio::test]
async fn wrong_password_and_unknown_email_are_indistinguishable() {
    let (app, alice) = TestApp::with_user().await;

    let attempt = |username: String| {
        let app = &app;
        async move {
            let started = Instant::now();
            let result = app.log_in(&username, "not the password").await;
            (problem(result), started.elapsed())
        }
    };

    let mut wrong_password = Vec::new();
    let mut unknown_email = Vec::new();
    for _ in 0..5 {
        let (wrong, wrong_took) = attempt(alice.email.clone()).await;
        let (unknown, unknown_took) = attempt("nobody@example.com".to_owned()).await;
        assert_eq!(wrong.status().as_u16(), 401);
        assert_eq!(unknown.status().as_u16(), 401);
        assert_eq!(wrong.type_, unknown.type_);
        assert_eq!(wrong.detail, unknown.detail);
        assert_eq!(
            wrong.headers().get("www-authenticate"),
            unknown.headers().get("www-authenticate")
        );
        wrong_password.push(wrong_took);
        unknown_email.push(unknown_took);
    }
    // Both verify an argon2 hash; answering an unknown email early would be many times
    // faster. The bound is loose because the other tests share the CPU.
    let fastest = |times: &[Duration]| times.iter().min().copied().expect("timed");
    assert!(
        fastest(&unknown_email) * 3 >= fastest(&wrong_password),
        "unknown email {:?} vs wrong password {:?}",
        unknown_email,
        wrong_password
    );
}

#[tokio::test]
async fn login_form_errors_are_reported() {
    let app = TestApp::spawn().await;

    let unsupported = problem(
        app.client
            .login()
            .body(types::LoginForm {
                username: Some("a@example.com".to_owned()),
                password: Some("whatever1".to_owned()),
                grant_type: Some("client_credentials".to_owned()),
                refresh_token: None,
                scope: None,
            })
            .send()
            .await,
    );
    assert_eq!(unsupported.status().as_u16(), 422);
    assert!(unsupported.errors.contains_key("grant_type"));

    // A password grant without a password.
    let body = expect_problem(
        app.raw(Method::POST, "/auth/login")
            .form(&[("username", "a@example.com")]),
        422,
    )
    .await;
    assert!(body["errors"]["password"].is_array(), "{body}");

    // A field given twice is ambiguous, not guessed at.
    let body = expect_problem(
        app.raw(Method::POST, "/auth/login").form(&[
            ("username", "a@example.com"),
            ("username", "b@example.com"),
            ("password", "x"),
        ]),
        422,
    )
    .await;
    assert!(body["errors"]["username"].is_array(), "{body}");

    // JSON is not the OAuth2 form encoding.
    expect_problem(
        app.raw(Method::POST, "/auth/login")
            .json(&serde_json::json!({"username": "a@example.com", "password": "whatever1"})),
        415,
    )
    .await;
}

#[tokio::test]
async fn a_registered_password_logs_in_and_another_does_not() {
    let app = TestApp::spawn().await;
    let alice = app
        .signed_up_user_with("alice@example.com", "pässwörd with ünicode")
        .await;

    let token = app
        .log_in("alice@example.com", "pässwörd with ünicode")
        .await;
    assert_eq!(
        token.expect("the right password logs in").token_type,
        "bearer"
    );

    let wrong = problem(app.log_in(&alice.email, "passwörd with ünicode").await);
    assert_eq!(wrong.status().as_u16(), 401);
}

#[tokio::test]
async fn login_accepts_the_form_swagger_ui_sends() {
    let (app, alice) = TestApp::with_user().await;
    // Swagger UI's Authorize dialog for the password flow posts these fields, empty client
    // credentials included.
    let response = app
        .raw(Method::POST, "/auth/login")
        .form(&[
            ("grant_type", "password"),
            ("username", alice.email.as_str()),
            ("password", alice.password.as_str()),
            ("scope", ""),
            ("client_id", ""),
            ("client_secret", ""),
        ])
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status().as_u16(), 200);
    let token: serde_json::Value = response.json().await.expect("token");
    assert_eq!(token["token_type"], "bearer");
}
