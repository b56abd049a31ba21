//! Administrators: listing, disabling, enabling and deleting accounts, ending their
//! sessions, and the rule that an enabled administrator always remains.

use std::num::NonZeroU32;

use taskapi_client::types;
use taskapi_server::{
    config::DatabaseSettings,
    domain::{Email, Role},
    startup,
};
use taskapi_tests::{PASSWORD, REVOCATION_WINDOW, TestApp, expect_problem, problem, status_of};

#[tokio::test]
async fn admins_list_accounts_newest_first_filtered_by_email_prefix() {
    let app = TestApp::spawn().await;
    let admin = app.signed_up_admin().await;
    for name in ["carol", "caroline", "dave", "Carla"] {
        app.signed_up_user_with(&format!("{name}@example.com"), PASSWORD)
            .await;
    }
    let all = admin.accounts().await;
    assert_eq!(all.items.len(), 5);
    assert!(
        all.items
            .windows(2)
            .all(|pair| pair[0].created_at >= pair[1].created_at)
    );
    assert_eq!(
        all.items.last().map(|account| account.role),
        Some(types::Role::Admin)
    );

    let car = |limit: u32, cursor: Option<String>| {
        let mut request = admin
            .client
            .admin_list_users()
            .email_prefix("CAR")
            .limit(NonZeroU32::new(limit).expect("positive"));
        if let Some(cursor) = cursor {
            request = request.cursor(cursor);
        }
        request.send()
    };
    let first = car(2, None).await.expect("listed").into_inner();
    let rest = car(2, first.next_cursor.clone())
        .await
        .expect("listed")
        .into_inner();
    let emails: Vec<&str> = first
        .items
        .iter()
        .chain(&rest.items)
        .map(|account| account.email.as_str())
        .collect();
    assert_eq!(
        emails,
        [
            "Carla@example.com",
            "caroline@example.com",
            "carol@example.com"
        ]
    );
    assert!(rest.next_cursor.is_none());

    // Wildcards are only themselves.
    let none = admin
        .client
        .admin_list_users()
        .email_prefix("%")
        .send()
        .await
        .expect("listed");
    assert!(none.items.is_empty());

    // The prefix is held to its schema: control characters (here U+009B) and an empty
    // prefix are refused, as the SDK would refuse them before sending; so raw requests.
    for query in ["email_prefix=%C2%9B", "email_prefix="] {
        let request = admin.raw(reqwest::Method::GET, &format!("/admin/users?{query}"));
        let body = expect_problem(request, 422).await;
        assert!(body["errors"]["email_prefix"].is_array(), "{query}: {body}");
    }
    // A string given twice is not a string.
    let request = admin.raw(
        reqwest::Method::GET,
        "/admin/users?email_prefix=a&email_prefix=a",
    );
    expect_problem(request, 400).await;
}

#[tokio::test]
async fn a_disabled_account_cannot_log_in_or_refresh_and_its_tokens_stop_at_once() {
    let app = TestApp::spawn().await;
    let admin = app.signed_up_admin().await;
    let alice = app.signed_up_user().await;
    let task = alice.create_task("Mine").await;

    let disabled = admin.disable_account(alice.id).await;
    assert!(disabled.disabled_at.is_some());

    let original = app.client_with_token(&alice.token);
    let read = || async { status_of(&original.get_task().task_id(task.id).send().await) };
    app.eventually_within(app.revocation_window(), 401, read)
        .await;
    assert_eq!(status_of(&app.refresh(&alice.refresh_token).await), 401);
    let login = problem(app.log_in(&alice.email, PASSWORD).await);
    assert_eq!(login.status().as_u16(), 403);
    assert_eq!(login.type_, "urn:taskapi:problem:account-disabled");
    // A wrong password is still just wrong: the answer does not reveal the state.
    let wrong = problem(app.log_in(&alice.email, "not the password").await);
    assert_eq!(wrong.status().as_u16(), 401);

    // Enabled again, Alice logs in anew (accepted everywhere once the lift, which travels
    // as a revocation does, has arrived); the old session stays ended.
    let enabled = admin.enable_account(alice.id).await;
    assert!(enabled.disabled_at.is_none());
    let fresh = app.log_in(&alice.email, PASSWORD).await.expect("logged in");
    app.eventually_token_status(&fresh.access_token, 200).await;
    let again = app.logged_in(&alice.email, PASSWORD).await;
    assert_eq!(again.task(task.id).await.title, "Mine");
    assert_eq!(app.token_status_everywhere(&alice.token).await, 401);
}

#[tokio::test]
async fn admins_end_every_session_of_an_account_and_delete_accounts() {
    let app = TestApp::spawn().await;
    let admin = app.signed_up_admin().await;
    let alice = app.signed_up_user().await;
    let second = app.logged_in(&alice.email, PASSWORD).await;

    admin.end_sessions_of(alice.id).await;
    for user in [&alice, &second] {
        app.eventually_token_status(&user.token, 401).await;
        assert_eq!(status_of(&app.refresh(&user.refresh_token).await), 401);
    }
    // The account itself is fine.
    let back = app.logged_in(&alice.email, PASSWORD).await;
    back.create_task("Still here").await;

    admin.delete_account(alice.id).await;
    let me = || async { status_of(&back.client.get_current_user().send().await) };
    app.eventually_within(app.revocation_window(), 401, me)
        .await;
    let gone = admin.client.admin_get_user().user_id(alice.id).send().await;
    assert_eq!(status_of(&gone), 404);
}

#[tokio::test]
async fn the_last_enabled_admin_cannot_be_disabled_deleted_or_demoted() {
    let app = TestApp::spawn().await;
    let root = app.signed_up_admin().await;
    let disable_root = || root.client.admin_disable_user().user_id(root.id).send();
    let delete_root = || root.client.admin_delete_user().user_id(root.id).send();
    let leave = types::AccountDeletion::builder().current_password(PASSWORD);
    let left = root.client.delete_current_user().body(leave).send().await;
    for refused in [
        status_of(&disable_root().await),
        status_of(&delete_root().await),
        status_of(&left),
    ] {
        assert_eq!(refused, 409);
    }
    let operator = startup::operator(&DatabaseSettings::for_url(&app.database_url))
        .await
        .expect("the operator's tools");
    let email = Email::parse(&root.email).expect("valid");
    let demoted = operator.set_role(&email, Role::User).await;
    assert!(demoted.is_err(), "the last admin stays an admin");

    // With a second admin, the first may go.
    let second = app.signed_up_admin().await;
    root.disable_account(second.id).await;
    // Now root is the only enabled one again.
    assert_eq!(status_of(&delete_root().await), 409);
    root.enable_account(second.id).await;
    delete_root().await.expect("deleted, another admin remains");
}

#[tokio::test]
async fn two_admins_disabling_each_other_at_once_leave_one_enabled() {
    let app = TestApp::spawn().await;
    for _ in 0..5 {
        let first = app.signed_up_admin().await;
        let second = app.signed_up_admin().await;
        // Every other admin of earlier rounds is disabled first, so these two are the last.
        disable_all_but(&first, &[first.id, second.id]).await;
        let (a, b) = tokio::join!(
            first.client.admin_disable_user().user_id(second.id).send(),
            second.client.admin_disable_user().user_id(first.id).send()
        );
        let mut statuses = [status_of(&a), status_of(&b)];
        statuses.sort_unstable();
        // The loser's own token is revoked by the winner: 401, or 409 if it got in first.
        assert!(
            statuses == [200, 401] || statuses == [200, 409],
            "{statuses:?}"
        );
        let pool = app.database().await;
        let enabled: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM users WHERE id = ANY($1) AND disabled_at IS NULL",
        )
        .bind([first.id, second.id])
        .fetch_one(&pool)
        .await
        .expect("counted");
        assert_eq!(enabled, 1, "exactly one of the two is still enabled");
    }
}

async fn disable_all_but(admin: &taskapi_tests::TestUser, keep: &[uuid::Uuid]) {
    let accounts = admin
        .client
        .admin_list_users()
        .limit(NonZeroU32::new(100).expect("positive"))
        .send()
        .await
        .expect("listed")
        .into_inner();
    for account in accounts.items {
        if account.role == types::Role::Admin
            && account.disabled_at.is_none()
            && !keep.contains(&account.id)
        {
            admin.disable_account(account.id).await;
        }
    }
}

#[tokio::test]
async fn a_role_change_reaches_the_token_at_its_next_refresh() {
    let app = TestApp::spawn().await;
    let _root = app.signed_up_admin().await;
    let alice = app.signed_up_user().await;
    assert_eq!(
        status_of(&alice.client.admin_list_users().send().await),
        403
    );
    let operator = startup::operator(&DatabaseSettings::for_url(&app.database_url))
        .await
        .expect("the operator's tools");
    let promoted = operator
        .set_role(&Email::parse(&alice.email).expect("valid"), Role::Admin)
        .await
        .expect("promoted");
    assert_eq!(promoted.role, Role::Admin);

    // The current access token still says `user`...
    let unrefreshed = app.client_with_token(&alice.token);
    assert_eq!(status_of(&unrefreshed.admin_list_users().send().await), 403);
    // ...the next one says `admin`.
    let refreshed = app.refresh(&alice.refresh_token).await.expect("refreshed");
    let client = app.client_with_token(&refreshed.access_token);
    assert_eq!(status_of(&client.admin_list_users().send().await), 200);
    let me = client.get_current_user().send().await.expect("me");
    assert_eq!(me.role, types::Role::Admin);

    // Made a user again, the rights go at once: the admin's sessions end everywhere. The
    // command line is another process; the server hears of it by notification.
    operator
        .set_role(&Email::parse(&alice.email).expect("valid"), Role::User)
        .await
        .expect("demoted");
    assert_eq!(status_of(&app.refresh(&refreshed.refresh_token).await), 401);
    let listed = || async { status_of(&client.admin_list_users().send().await) };
    app.eventually_within(REVOCATION_WINDOW, 401, listed).await;
}
