//! Password reset and email verification through a real SMTP server on loopback: the
//! tokens are read from the mails received. Reset requests tell nothing about which
//! addresses have accounts; mail queued while the SMTP server is down arrives once it is
//! back; no token is ever stored in the clear.

use std::time::{Duration, Instant};

use taskapi_client::{problem::ProblemType, types};
use taskapi_tests::{PASSWORD, TestApp, assert_problem, problem, status_of, without_rate_limits};
use tokio::net::TcpListener;

const NEW_PASSWORD: &str = "a brand new passphrase";

async fn request_reset(app: &TestApp, email: &str) -> reqwest::Response {
    app.raw(reqwest::Method::POST, "/auth/password-reset")
        .json(&serde_json::json!({ "email": email }))
        .send()
        .await
        .expect("sent")
}

async fn confirm_reset(
    app: &TestApp,
    token: &str,
    password: &str,
) -> Result<taskapi_client::ResponseValue<()>, taskapi_client::Error<types::Problem>> {
    app.client
        .confirm_password_reset()
        .body(types::PasswordResetConfirmation {
            token: token.try_into().expect("fits"),
            new_password: password.try_into().expect("fits"),
        })
        .send()
        .await
}

async fn verify(
    app: &TestApp,
    token: &str,
) -> Result<taskapi_client::ResponseValue<types::User>, taskapi_client::Error<types::Problem>> {
    app.client
        .verify_email()
        .body(types::EmailVerification {
            token: token.try_into().expect("fits"),
        })
        .send()
        .await
}

#[tokio::test]
async fn a_forgotten_password_is_reset_with_the_mailed_token_once() {
    let (app, mailbox) = TestApp::with_mailbox(|_| {}).await;
    let alice = app.signed_up_user().await;
    // A token made by whoever held the account: the reset ends it too.
    let scopes = [types::AccessTokenScope::AccountRead];
    let (access, _) = alice.access_token("someone's", &scopes).await;

    let accepted = app
        .client
        .request_password_reset()
        .body(types::PasswordResetRequest {
            email: alice.email.to_uppercase().try_into().expect("fits"),
        })
        .send()
        .await
        .expect("accepted");
    assert_eq!(accepted.status().as_u16(), 202);
    // The first mail is the registration's verification; the reset is the second, sent to
    // the account's address as stored, whatever spelling the request used.
    let mail = mailbox.nth_mail_to(&alice.email, 2).await;
    assert!(
        mail.contains("Subject: Reset your taskapi password"),
        "{mail}"
    );
    let token = taskapi_tests::token_in(&mail);
    assert!(
        mail.contains(&format!("reset-password?token={token}")),
        "the link carries the token:\n{mail}"
    );

    let weak = problem(confirm_reset(&app, &token, "password").await);
    assert_problem(&weak, 422, ProblemType::Validation);
    let done = confirm_reset(&app, &token, NEW_PASSWORD)
        .await
        .expect("reset");
    assert_eq!(done.status().as_u16(), 204);

    assert_eq!(
        app.token_status(&alice.token).await,
        401,
        "every session ended"
    );
    assert_eq!(
        app.token_status(&access).await,
        401,
        "and every access token"
    );
    assert_eq!(app.login_status(&alice.email, PASSWORD).await, 401);
    let again = app.logged_in(&alice.email, NEW_PASSWORD).await;
    let me = again.client.get_current_user().send().await.expect("me");
    assert!(me.email_verified, "the reset mail proved the address");

    let reused = problem(confirm_reset(&app, &token, "yet another passphrase").await);
    assert_problem(&reused, 422, ProblemType::Validation);
}

#[tokio::test]
async fn a_newer_reset_request_voids_the_older_token() {
    let (app, mailbox) = TestApp::with_mailbox(|_| {}).await;
    let alice = app.signed_up_user().await;
    assert_eq!(request_reset(&app, &alice.email).await.status(), 202);
    let first = mailbox.token_to(&alice.email, 2).await;
    assert_eq!(request_reset(&app, &alice.email).await.status(), 202);
    let second = mailbox.token_to(&alice.email, 3).await;

    assert_eq!(
        status_of(&confirm_reset(&app, &first, NEW_PASSWORD).await),
        422
    );
    assert_eq!(
        status_of(&confirm_reset(&app, &second, NEW_PASSWORD).await),
        204
    );
}

/// Status, body and header names equal; and, over 200 requests each (interleaved, so that
/// load on the machine falls on both alike), median times within a factor of 1.5: both
/// run the same statements, and the mail worker finds out later whether there is an
/// account.
#[tokio::test]
async fn reset_requests_for_an_existing_and_a_missing_account_are_indistinguishable() {
    let (app, mailbox) = TestApp::with_mailbox(without_rate_limits).await;
    let alice = app.signed_up_user().await;
    let missing = "nobody-here@example.com";

    let mut times = (Vec::new(), Vec::new());
    for round in 0..200 {
        let started = Instant::now();
        let existing = request_reset(&app, &alice.email).await;
        let existing_took = started.elapsed();
        let started = Instant::now();
        let absent = request_reset(&app, missing).await;
        let absent_took = started.elapsed();
        times.0.push(existing_took);
        times.1.push(absent_took);
        if round == 0 {
            assert_eq!(existing.status().as_u16(), 202);
            assert_eq!(absent.status(), existing.status());
            let names = |response: &reqwest::Response| {
                let mut names: Vec<String> = response
                    .headers()
                    .keys()
                    .map(|name| name.as_str().to_owned())
                    .filter(|name| name != "x-request-id" && name != "date")
                    .collect();
                names.sort();
                names
            };
            assert_eq!(names(&existing), names(&absent));
            let existing = existing.bytes().await.expect("a body");
            let absent = absent.bytes().await.expect("a body");
            assert_eq!(existing, absent);
        }
    }
    let median = |times: &mut Vec<Duration>| {
        times.sort();
        times[times.len() / 2]
    };
    let (existing, absent) = (median(&mut times.0), median(&mut times.1));
    let (slower, faster) = (existing.max(absent), existing.min(absent));
    assert!(
        slower.as_secs_f64() <= faster.as_secs_f64() * 1.5,
        "medians: existing account {existing:?}, missing account {absent:?}"
    );
    // Mail went to the account, and none to the address without one.
    mailbox.nth_mail_to(&alice.email, 2).await;
    assert!(mailbox.mails_to(missing).is_empty());
}

#[tokio::test]
async fn registration_mails_a_verification_and_an_email_change_waits_for_its_own() {
    let (app, mailbox) = TestApp::with_mailbox(|_| {}).await;
    let alice = app.signed_up_user().await;
    let me = alice.client.get_current_user().send().await.expect("me");
    assert!(!me.email_verified);

    let token = mailbox.token_to(&alice.email, 1).await;
    let verified = verify(&app, &token).await.expect("verified");
    assert!(verified.email_verified);
    assert_eq!(status_of(&verify(&app, &token).await), 422, "used once");

    let new_address = format!("new-{}", alice.email);
    let changed = alice
        .client
        .update_current_user()
        .body(
            types::EmailChange::builder()
                .email(new_address.clone())
                .current_password(PASSWORD.to_owned()),
        )
        .send()
        .await
        .expect("asked");
    assert_eq!(
        changed.email, alice.email,
        "the old address stays until verified"
    );
    assert_eq!(changed.pending_email.as_deref(), Some(new_address.as_str()));

    let token = mailbox.token_to(&new_address, 1).await;
    let moved = verify(&app, &token).await.expect("verified");
    assert_eq!(moved.email, new_address);
    assert!(moved.email_verified);
    assert_eq!(moved.pending_email, None);
    assert_eq!(app.login_status(&new_address, PASSWORD).await, 200);
    assert_eq!(app.login_status(&alice.email, PASSWORD).await, 401);
}

#[tokio::test]
async fn a_server_requiring_verified_addresses_refuses_logins_until_verified() {
    let (app, mailbox) =
        TestApp::with_mailbox(|settings| settings.mail.require_verified_email = true).await;
    let email = format!("unverified-{}@example.com", uuid::Uuid::new_v4().simple());
    app.register(&email, PASSWORD).await.expect("registered");

    let refused = problem(app.log_in(&email, PASSWORD).await);
    assert_problem(&refused, 403, ProblemType::EmailNotVerified);
    let token = mailbox.token_to(&email, 1).await;
    verify(&app, &token).await.expect("verified");
    assert_eq!(app.login_status(&email, PASSWORD).await, 200);
}

/// While the SMTP server hangs (it accepts connections and never answers), requests are
/// answered without waiting for it: sending is the worker's, not theirs. The window: a
/// send waits up to the SMTP timeout, 10 s here, and the requests must end within half of
/// it (a registration hashes a password, which under load takes well under a second).
/// The mails they queued arrive once a real SMTP server is back on that port.
#[tokio::test]
async fn mail_queued_while_the_smtp_server_is_down_arrives_after_it_returns() {
    let (app, mut mailbox) =
        TestApp::with_mailbox(|settings| settings.mail.smtp_timeout_ms = 10_000).await;
    let alice = app.signed_up_user().await;
    mailbox.nth_mail_to(&alice.email, 1).await;
    mailbox.stop();
    let hanging = TcpListener::bind(("127.0.0.1", mailbox.port))
        .await
        .expect("the port is free again");
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((connection, _)) = hanging.accept().await {
            open.push(connection);
        }
    });

    let bob_email = format!("bob-{}@example.com", uuid::Uuid::new_v4().simple());
    let started = Instant::now();
    app.register(&bob_email, PASSWORD)
        .await
        .expect("registered");
    assert_eq!(request_reset(&app, &alice.email).await.status(), 202);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "requests waited for the mail server: {:?}",
        started.elapsed()
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(mailbox.mails_to(&bob_email).is_empty());

    held.abort();
    let _ = held.await;
    mailbox.resume().await;
    mailbox.nth_mail_to(&bob_email, 1).await;
    let token = mailbox.token_to(&alice.email, 2).await;
    assert_eq!(
        status_of(&confirm_reset(&app, &token, NEW_PASSWORD).await),
        204
    );
}

/// Every token handed out (refresh, reset, verification, access) is looked for in every table, as
/// text: none is there in the clear.
#[tokio::test]
async fn no_token_is_stored_in_the_clear() {
    let (app, mailbox) = TestApp::with_mailbox(|_| {}).await;
    let alice = app.signed_up_user().await;
    let verification = mailbox.token_to(&alice.email, 1).await;
    assert_eq!(request_reset(&app, &alice.email).await.status(), 202);
    let reset = mailbox.token_to(&alice.email, 2).await;
    let bob = app.signed_up_user().await;
    let pending_verification = mailbox.token_to(&bob.email, 1).await;
    let scopes = [types::AccessTokenScope::TasksRead];
    let (access, _) = alice.access_token("ci", &scopes).await;
    let used = app.client_with_token(&access).list_tasks().send().await;
    assert_eq!(status_of(&used), 200, "the access token works");

    let db = app.database().await;
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT quote_ident(table_name) FROM information_schema.tables \
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
    )
    .fetch_all(&db)
    .await
    .expect("tables");
    assert!(tables.iter().any(|table| table == "account_tokens"));
    let secrets = [
        ("refresh", alice.refresh_token.clone()),
        ("verification", verification),
        ("reset", reset),
        ("pending verification", pending_verification),
        ("access", access),
    ];
    for table in &tables {
        let rows: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT t::text FROM {table} t"
        )))
        .fetch_all(&db)
        .await
        .expect("rows as text");
        for (what, secret) in &secrets {
            assert!(
                rows.iter().all(|row| !row.contains(secret.as_str())),
                "the {what} token is in {table}"
            );
        }
    }
    // The hashes are there: the search would have found the tokens had they been stored.
    let hashes: i64 = sqlx::query_scalar("SELECT count(*) FROM account_tokens")
        .fetch_one(&db)
        .await
        .expect("count");
    assert_eq!(
        hashes, 3,
        "alice's verification and reset, bob's verification"
    );
    let access_hashes: i64 = sqlx::query_scalar("SELECT count(*) FROM access_tokens")
        .fetch_one(&db)
        .await
        .expect("count");
    assert_eq!(access_hashes, 1, "alice's access token");
}
