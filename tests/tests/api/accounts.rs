//! Managing one's own account: password and email changes, deletion, and the password
//! rules.

use reqwest::Method;
use taskapi_client::{ResponseValue, types};
use taskapi_tests::{PASSWORD, TestApp, TestUser, expect_problem, problem, status_of};

const NEW_PASSWORD: &str = "a brand new passphrase";

/// Changes `user`'s password from `current` to `new`, as the SDK answers.
async fn change_password(
    user: &TestUser,
    current: &str,
    new: &str,
) -> Result<ResponseValue<()>, taskapi_client::Error<types::Problem>> {
    let change = types::PasswordChange::builder()
        .current_password(current)
        .new_password(new);
    user.client.change_password().body(change).send().await
}

#[tokio::test]
async fn a_password_change_ends_every_other_session_and_keeps_this_one() {
    let (app, alice) = TestApp::with_user().await;
    let laptop = app.logged_in(&alice.email, PASSWORD).await;
    let phone = app.logged_in(&alice.email, PASSWORD).await;

    let changed = change_password(&alice, PASSWORD, NEW_PASSWORD).await;
    assert_eq!(status_of(&changed), 204);

    // The other sessions are over, access and refresh tokens alike; this one goes on, on
    // every instance now that the change reached them all.
    for other in [&laptop, &phone] {
        app.eventually_token_status(&other.token, 401).await;
        assert_eq!(status_of(&app.refresh(&other.refresh_token).await), 401);
    }
    assert_eq!(app.token_status_everywhere(&alice.token).await, 200);
    assert_eq!(alice.sessions().await.items.len(), 1);

    // Only the new password logs in.
    assert_eq!(app.login_status(&alice.email, PASSWORD).await, 401);
    assert_eq!(app.login_status(&alice.email, NEW_PASSWORD).await, 200);
}

#[tokio::test]
async fn a_wrong_current_password_is_refused_and_changes_nothing() {
    let (app, alice) = TestApp::with_user().await;
    let refused = problem(change_password(&alice, "not my password", NEW_PASSWORD).await);
    assert_eq!(refused.status().as_u16(), 403);
    assert_eq!(refused.type_, "urn:taskapi:problem:wrong-password");
    let old = app.login_status(&alice.email, PASSWORD).await;
    assert_eq!(old, 200, "the old password still works");
}

#[tokio::test]
async fn new_passwords_follow_the_registration_rules() {
    let (app, alice) = TestApp::with_user().await;
    for weak in ["password1", "Qwertyuiop", "iloveyou"] {
        let refused = problem(change_password(&alice, PASSWORD, weak).await);
        assert_eq!(refused.status().as_u16(), 422, "{weak}");
        let why = &refused.errors["new_password"][0];
        assert!(why.contains("commonly used"), "{weak}: {why}");
    }
    // Registration refuses them the same way.
    let refused = expect_problem(
        app.raw(Method::POST, "/auth/register")
            .json(&serde_json::json!({
                "email": "weak@example.com",
                "password": "baseball",
            })),
        422,
    )
    .await;
    assert!(
        refused["errors"]["password"][0]
            .as_str()
            .is_some_and(|why| why.contains("commonly used"))
    );
}

#[tokio::test]
async fn passwords_are_compared_in_one_unicode_form() {
    let app = TestApp::spawn().await;
    // "café crème brûlée" typed with precomposed letters…
    let composed = "caf\u{e9} cr\u{e8}me br\u{fb}l\u{e9}e";
    let user = app
        .signed_up_user_with("unicode@example.com", composed)
        .await;
    // …logs in typed with combining accents, as some keyboards send it.
    let decomposed = "cafe\u{301} cre\u{300}me bru\u{302}le\u{301}e";
    let nfd = app.login_status(&user.email, decomposed).await;
    assert_eq!(nfd, 200, "the same password in NFD");
}

#[tokio::test]
async fn an_email_change_needs_the_current_password_and_a_free_address() {
    let (app, alice) = TestApp::with_user().await;
    let bob = app.signed_up_user().await;
    let change = |email: &str, password: &str| {
        alice
            .client
            .update_current_user()
            .body(
                types::EmailChange::builder()
                    .email(email)
                    .current_password(password),
            )
            .send()
    };
    assert_eq!(
        status_of(&change("alice@example.org", "wrong password").await),
        403
    );
    let taken = problem(change(&bob.email.to_uppercase(), PASSWORD).await);
    assert_eq!(taken.status().as_u16(), 409);
    assert_eq!(taken.type_, "urn:taskapi:problem:email-taken");
    assert_eq!(status_of(&change("not an email", PASSWORD).await), 422);

    // A new address waits for its verification mail (recovery.rs follows it through); the
    // account keeps its address until then.
    let asked = change("  Alice@Example.org ", PASSWORD)
        .await
        .expect("asked");
    assert_eq!(asked.email, alice.email);
    assert_eq!(asked.pending_email.as_deref(), Some("Alice@Example.org"));
    assert_eq!(asked.id, alice.id);
    assert_eq!(app.login_status("alice@example.org", PASSWORD).await, 401);
    assert_eq!(app.login_status(&alice.email, PASSWORD).await, 200);

    // Another spelling of the same address is the same mailbox: it takes effect at once.
    let respelled = change(&alice.email.to_uppercase(), PASSWORD)
        .await
        .expect("changed");
    assert_eq!(respelled.email, alice.email.to_uppercase());
    assert_eq!(app.login_status(&alice.email, PASSWORD).await, 200);
}

#[tokio::test]
async fn deleting_the_account_takes_its_tasks_and_sessions_and_its_tokens_stop_at_once() {
    let (app, alice) = TestApp::with_user().await;
    let other = app.logged_in(&alice.email, PASSWORD).await;
    let task = alice.create_task("Soon gone").await;
    let wrong = alice
        .client
        .delete_current_user()
        .body(types::AccountDeletion::builder().current_password("nope nope"))
        .send()
        .await;
    assert_eq!(status_of(&wrong), 403);

    alice
        .client
        .delete_current_user()
        .body(types::AccountDeletion::builder().current_password(PASSWORD))
        .send()
        .await
        .expect("deleted");

    for token in [&alice.token, &other.token] {
        app.eventually_token_status(token, 401).await;
        let client = app.client_with_token(token);
        let read = status_of(&client.get_task().task_id(task.id).send().await);
        assert_eq!(read, 401);
    }
    assert_eq!(status_of(&app.refresh(&other.refresh_token).await), 401);
    assert_eq!(app.login_status(&alice.email, PASSWORD).await, 401);
    let pool = app.database().await;
    let (tasks, sessions): (i64, i64) =
        sqlx::query_as("SELECT (SELECT count(*) FROM tasks), (SELECT count(*) FROM sessions)")
            .fetch_one(&pool)
            .await
            .expect("counted");
    assert_eq!((tasks, sessions), (0, 0));

    // The email is free again.
    app.signed_up_user_with(&alice.email, PASSWORD).await;
}
