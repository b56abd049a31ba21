//! The audit log: security events recorded with actor, target, client address and request
//! id, listed by administrators with filters and cursor pages, never changed, and purged
//! past the retention.

use std::time::{Duration, Instant};

use reqwest::Method;
use taskapi_client::types::{self, AuditKind};
use taskapi_tests::{PASSWORD, TestApp, TestUser, status_of};
use uuid::Uuid;

/// Every event on `target`, newest first, as an administrator lists them (page by page).
async fn events_on(admin: &TestUser, target: Uuid) -> Vec<types::AuditEvent> {
    let mut events = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut request = admin
            .client
            .admin_list_audit_events()
            .target_id(target)
            .limit(2);
        if let Some(cursor) = &cursor {
            request = request.cursor(cursor.as_str());
        }
        let page = page(request).await;
        events.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return events,
        }
    }
}

/// The page `request` lists.
async fn page(request: taskapi_client::builder::AdminListAuditEvents<'_>) -> types::AuditEventPage {
    request.send().await.expect("listed").into_inner()
}

fn kinds(events: &[types::AuditEvent]) -> Vec<AuditKind> {
    events.iter().map(|event| event.kind).collect()
}

#[tokio::test]
async fn security_events_are_recorded_with_who_what_and_where() {
    let app = TestApp::spawn().await;
    let admin = app.signed_up_admin().await;
    let alice = app.signed_up_user().await;
    assert_eq!(
        app.login_status(&alice.email, "not the password").await,
        401
    );
    let change = alice
        .client
        .change_password()
        .body(
            types::PasswordChange::builder()
                .current_password(PASSWORD)
                .new_password("a brand new passphrase"),
        )
        .send()
        .await;
    assert_eq!(status_of(&change), 204);
    let (_, token) = alice
        .access_token("ci", &[types::AccessTokenScope::TasksRead])
        .await;
    let deleted = alice
        .client
        .delete_access_token()
        .token_id(token)
        .send()
        .await;
    assert_eq!(status_of(&deleted), 204);
    let disabled = admin
        .raw(Method::POST, &format!("/admin/users/{}/disable", alice.id))
        .header("x-request-id", "audit-test-disable")
        .send()
        .await
        .expect("sent");
    assert_eq!(disabled.status().as_u16(), 200);
    let enabled = admin
        .client
        .admin_enable_user()
        .user_id(alice.id)
        .send()
        .await;
    assert_eq!(status_of(&enabled), 200);

    let events = events_on(&admin, alice.id).await;
    assert_eq!(
        kinds(&events),
        [
            AuditKind::AccountEnabled,
            AuditKind::AccountDisabled,
            AuditKind::AccessTokenDeleted,
            AuditKind::AccessTokenCreated,
            AuditKind::PasswordChanged,
            AuditKind::LoginFailed,
            AuditKind::LoginSucceeded,
            AuditKind::AccountCreated,
        ],
        "newest first, across pages of two"
    );
    let disable = &events[1];
    assert_eq!(disable.actor_id, Some(admin.id));
    assert_eq!(disable.target_id, Some(alice.id));
    assert_eq!(disable.client_address.as_deref(), Some("127.0.0.1"));
    assert_eq!(disable.request_id.as_deref(), Some("audit-test-disable"));
    let failed = &events[5];
    assert_eq!(failed.actor_id, None, "an anonymous request");
    assert_eq!(failed.detail.as_deref(), Some("wrong password"));
    assert!(
        events[3]
            .detail
            .as_deref()
            .unwrap_or("")
            .contains("tasks:read"),
        "the token's scopes: {:?}",
        events[3].detail
    );
    assert!(events.iter().all(|event| event.request_id.is_some()));

    // Filters: by actor and kind, and by time.
    let listed = || admin.client.admin_list_audit_events();
    let by_admin = page(
        listed()
            .actor_id(admin.id)
            .kind(vec![AuditKind::AccountDisabled]),
    )
    .await;
    assert_eq!(by_admin.items.len(), 1);
    assert_eq!(by_admin.items[0].id, disable.id);
    let later = page(listed().target_id(alice.id).since(disable.at)).await;
    assert_eq!(kinds(&later.items), kinds(&events[..2]));
    let earlier = page(listed().target_id(alice.id).until(events[6].at)).await;
    assert!(
        kinds(&earlier.items).ends_with(&[AuditKind::AccountCreated]),
        "{:?}",
        kinds(&earlier.items)
    );
    assert!(!kinds(&earlier.items).contains(&AuditKind::AccountEnabled));

    // A time no timestamp holds is an invalid field, not a failure of the database.
    let ancient = admin
        .raw(
            Method::GET,
            "/admin/audit-events?since=-5000-01-01T00:00:00Z",
        )
        .send()
        .await
        .expect("sent");
    assert_eq!(ancient.status().as_u16(), 422);

    // Only administrators read it.
    assert_eq!(
        status_of(&alice.client.admin_list_audit_events().send().await),
        401,
        "alice's sessions ended when she was disabled"
    );
}

#[tokio::test]
async fn events_are_never_changed_and_old_ones_are_purged() {
    let app = TestApp::configured(|settings| settings.audit_retention_days = 30).await;
    let alice = app.signed_up_user().await;
    let db = app.database().await;
    let updated = sqlx::query("UPDATE audit_events SET detail = 'forged' WHERE target_id = $1")
        .bind(alice.id)
        .execute(&db)
        .await;
    let refused = updated.expect_err("the table refuses updates");
    assert!(refused.to_string().contains("never changed"), "{refused}");

    // An event past the retention, and one within it: the purge (at a server's start, then
    // every minute) deletes the first only.
    for days in [31, 29] {
        sqlx::query(
            "INSERT INTO audit_events (id, at, kind, target_id) \
             VALUES ($1, now() - make_interval(days => $2), 'login_failed', $3)",
        )
        .bind(Uuid::now_v7())
        .bind(days)
        .bind(alice.id)
        .execute(&db)
        .await
        .expect("inserted");
    }
    let _purging = app.another_instance().await;
    let old = |days: i32| {
        let db = db.clone();
        async move {
            sqlx::query_scalar::<_, i64>(
                "SELECT count(*) FROM audit_events WHERE at < now() - make_interval(days => $1)",
            )
            .bind(days)
            .fetch_one(&db)
            .await
            .expect("counted")
        }
    };
    // The new instance's first purge runs as it starts; 10 s is the documented window.
    let started = Instant::now();
    while old(30).await > 0 {
        assert!(started.elapsed() < Duration::from_secs(10), "not purged");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(old(28).await, 1, "the event within the retention stays");
}
