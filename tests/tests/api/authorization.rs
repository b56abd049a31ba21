//! The authorization table: every operation in `openapi.yaml`, called as the owner of a
//! shared list, an editor and a viewer of it, an account it is not shared with, an
//! administrator (who is not a member either) and anonymously, with the status each must
//! get. The table is checked against the spec both ways, and every cell is called.
//!
//! What the calls act on: a list owned by the owner and shared with the editor and the
//! viewer, holding a task with a tag; the viewer's membership (`update_member`,
//! `remove_member`); an invitation to the stranger's address (`accept_invitation`,
//! `decline_invitation`); the owner's account and session (`end_session`, the admin
//! operations). Account operations act on the caller's own account.

use std::collections::BTreeSet;

use taskapi_client::{Client, types};
use taskapi_tests::{PASSWORD, Spec, TestApp, TestUser, claims, sign, status_of, task_titled};
use uuid::Uuid;

/// Who calls, in the order of each row's statuses.
const CALLERS: [&str; 6] = [
    "owner",
    "editor",
    "viewer",
    "stranger",
    "admin",
    "anonymous",
];

/// Each operation, with the status each of [`CALLERS`] gets.
#[rustfmt::skip]
const AUTHORIZATION: &[(&str, [u16; 6])] = &[
    //                          owner editor viewer stranger admin anonymous
    ("register",                [201, 201, 201, 201, 201, 201]),
    ("login",                   [200, 200, 200, 200, 200, 200]),
    ("logout",                  [204, 204, 204, 204, 204, 401]),
    ("request_password_reset",  [202, 202, 202, 202, 202, 202]),
    // With a token no mail carried: anyone may try one, and it is refused alike.
    ("confirm_password_reset",  [422, 422, 422, 422, 422, 422]),
    ("verify_email",            [422, 422, 422, 422, 422, 422]),
    ("get_current_user",        [200, 200, 200, 200, 200, 401]),
    ("update_current_user",     [200, 200, 200, 200, 200, 401]),
    ("delete_current_user",     [204, 204, 204, 204, 204, 401]),
    ("change_password",         [204, 204, 204, 204, 204, 401]),
    ("list_sessions",           [200, 200, 200, 200, 200, 401]),
    ("end_session",             [204, 404, 404, 404, 404, 401]),
    ("create_task",             [201, 201, 403, 422, 422, 401]),
    ("list_tasks",              [200, 200, 200, 404, 404, 401]),
    ("get_task",                [200, 200, 200, 404, 404, 401]),
    ("replace_task",            [200, 200, 403, 404, 404, 401]),
    ("update_task",             [200, 200, 403, 404, 404, 401]),
    ("delete_task",             [204, 204, 403, 404, 404, 401]),
    ("create_list",             [201, 201, 201, 201, 201, 401]),
    ("list_lists",              [200, 200, 200, 200, 200, 401]),
    ("get_list",                [200, 200, 200, 404, 404, 401]),
    ("update_list",             [200, 403, 403, 404, 404, 401]),
    ("delete_list",             [204, 403, 403, 404, 404, 401]),
    ("list_members",            [200, 200, 200, 404, 404, 401]),
    ("update_member",           [200, 403, 403, 404, 404, 401]),
    ("remove_member",           [204, 403, 204, 404, 404, 401]),
    ("create_invitation",       [202, 403, 403, 404, 404, 401]),
    ("list_invitations",        [200, 200, 200, 200, 200, 401]),
    ("accept_invitation",       [404, 404, 404, 200, 404, 401]),
    ("decline_invitation",      [404, 404, 404, 204, 404, 401]),
    ("list_tags",               [200, 200, 200, 200, 200, 401]),
    ("rename_tag",              [200, 200, 403, 404, 404, 401]),
    ("delete_tag",              [204, 204, 403, 404, 404, 401]),
    ("sync",                    [200, 200, 200, 200, 200, 401]),
    ("stream_events",           [200, 200, 200, 200, 200, 401]),
    ("get_liveness",            [200, 200, 200, 200, 200, 200]),
    ("get_readiness",           [200, 200, 200, 200, 200, 200]),
    ("get_jwks",                [200, 200, 200, 200, 200, 200]),
    ("admin_list_users",        [403, 403, 403, 403, 200, 401]),
    ("admin_get_user",          [403, 403, 403, 403, 200, 401]),
    ("admin_disable_user",      [403, 403, 403, 403, 200, 401]),
    ("admin_enable_user",       [403, 403, 403, 403, 200, 401]),
    ("admin_delete_user",       [403, 403, 403, 403, 204, 401]),
    ("admin_end_user_sessions", [403, 403, 403, 403, 204, 401]),
    ("admin_list_audit_events", [403, 403, 403, 403, 200, 401]),
    ("create_access_token",     [201, 201, 201, 201, 201, 401]),
    ("list_access_tokens",      [200, 200, 200, 200, 200, 401]),
    ("delete_access_token",     [204, 404, 404, 404, 404, 401]),
];

/// The tag the target task carries.
const TAG: &str = "errands";

/// Everyone the table names, and what they act on.
struct Fixture {
    owner: TestUser,
    editor: TestUser,
    viewer: TestUser,
    stranger: TestUser,
    admin: TestUser,
    anonymous: Client,
    target: Target,
}

/// What the calls act on.
struct Target {
    list_id: Uuid,
    task_id: Uuid,
    owner_id: Uuid,
    owner_email: String,
    owner_session: Uuid,
    /// An access token of the owner's, to delete.
    owner_access_token: Uuid,
    viewer_id: Uuid,
    invitation_id: Uuid,
}

impl Fixture {
    /// Fresh accounts, and the shared list with its task, membership and invitation.
    async fn new(app: &TestApp) -> Self {
        let owner = app.signed_up_user().await;
        let (editor, viewer, stranger) = (
            app.signed_up_user().await,
            app.signed_up_user().await,
            app.signed_up_user().await,
        );
        let admin = app.signed_up_admin().await;
        let list = owner.create_list("Shared").await;
        owner.share(list.id, &editor, types::ListRole::Editor).await;
        owner.share(list.id, &viewer, types::ListRole::Viewer).await;
        let task = owner
            .create(types::TaskInput {
                list_id: Some(list.id),
                tags: vec![TAG.try_into().expect("fits")],
                ..task_titled("Theirs")
            })
            .await;
        let invitation = owner
            .invite(list.id, &stranger.email, types::ListRole::Viewer)
            .await;
        let target = Target {
            list_id: list.id,
            task_id: task.id,
            owner_id: owner.id,
            owner_email: owner.email.clone(),
            owner_session: current_session(&owner).await,
            owner_access_token: owner
                .access_token("to delete", &[types::AccessTokenScope::TasksRead])
                .await
                .1,
            viewer_id: viewer.id,
            invitation_id: invitation.id,
        };
        Self {
            owner,
            editor,
            viewer,
            stranger,
            admin,
            anonymous: app.client.clone(),
            target,
        }
    }

    /// The client of the caller at `index` in [`CALLERS`].
    fn client(&self, index: usize) -> &Client {
        match index {
            0 => &self.owner.client,
            1 => &self.editor.client,
            2 => &self.viewer.client,
            3 => &self.stranger.client,
            4 => &self.admin.client,
            _ => &self.anonymous,
        }
    }
}

async fn current_session(user: &TestUser) -> Uuid {
    user.sessions()
        .await
        .items
        .iter()
        .find(|session| session.current)
        .expect("the current session is listed")
        .id
}

/// Calls `operation` through the SDK on `target` and returns the HTTP status.
async fn call(operation: &str, client: &Client, target: &Target) -> u16 {
    let (task_id, list_id) = (target.task_id, target.list_id);
    let fresh_email = || format!("new-{}@example.com", Uuid::new_v4().simple());
    match operation {
        "register" => status_of(
            &client
                .register()
                .body(types::RegisterRequest {
                    email: fresh_email().try_into().expect("fits"),
                    password: PASSWORD.try_into().expect("fits"),
                })
                .send()
                .await,
        ),
        "login" => status_of(
            &client
                .login()
                .body(types::LoginForm {
                    username: Some(target.owner_email.clone()),
                    password: Some(PASSWORD.to_owned()),
                    grant_type: None,
                    refresh_token: None,
                    scope: None,
                })
                .send()
                .await,
        ),
        "logout" => status_of(&client.logout().send().await),
        "request_password_reset" => status_of(
            &client
                .request_password_reset()
                .body(types::PasswordResetRequest {
                    email: target.owner_email.clone().try_into().expect("fits"),
                })
                .send()
                .await,
        ),
        "confirm_password_reset" => status_of(
            &client
                .confirm_password_reset()
                .body(types::PasswordResetConfirmation {
                    token: "not-a-mailed-token".try_into().expect("fits"),
                    new_password: "a brand new passphrase".try_into().expect("fits"),
                })
                .send()
                .await,
        ),
        "verify_email" => status_of(
            &client
                .verify_email()
                .body(types::EmailVerification {
                    token: "not-a-mailed-token".try_into().expect("fits"),
                })
                .send()
                .await,
        ),
        "get_current_user" => status_of(&client.get_current_user().send().await),
        "update_current_user" => status_of(
            &client
                .update_current_user()
                .body(
                    types::EmailChange::builder()
                        .email(fresh_email())
                        .current_password(PASSWORD),
                )
                .send()
                .await,
        ),
        "delete_current_user" => status_of(
            &client
                .delete_current_user()
                .body(types::AccountDeletion::builder().current_password(PASSWORD))
                .send()
                .await,
        ),
        "change_password" => status_of(
            &client
                .change_password()
                .body(
                    types::PasswordChange::builder()
                        .current_password(PASSWORD)
                        .new_password("a different fine passphrase"),
                )
                .send()
                .await,
        ),
        "list_sessions" => status_of(&client.list_sessions().send().await),
        "end_session" => status_of(
            &client
                .end_session()
                .session_id(target.owner_session)
                .send()
                .await,
        ),
        "create_task" => status_of(
            &client
                .create_task()
                .body(types::TaskInput {
                    list_id: Some(list_id),
                    ..task_titled("x")
                })
                .send()
                .await,
        ),
        "list_tasks" => status_of(&client.list_tasks().list_id(list_id).send().await),
        "get_task" => status_of(&client.get_task().task_id(task_id).send().await),
        "replace_task" => status_of(
            &client
                .replace_task()
                .task_id(task_id)
                .body(task_titled("Replaced"))
                .send()
                .await,
        ),
        "update_task" => status_of(
            &client
                .update_task()
                .task_id(task_id)
                .body(types::TaskPatch::builder().title(Some("Patched".try_into().expect("fits"))))
                .send()
                .await,
        ),
        "delete_task" => status_of(&client.delete_task().task_id(task_id).send().await),
        "create_list" => status_of(
            &client
                .create_list()
                .body(types::ListInput::builder().name("Another"))
                .send()
                .await,
        ),
        "list_lists" => status_of(&client.list_lists().send().await),
        "get_list" => status_of(&client.get_list().list_id(list_id).send().await),
        "update_list" => status_of(
            &client
                .update_list()
                .list_id(list_id)
                .body(types::ListPatch::builder().name(Some("Renamed".try_into().expect("fits"))))
                .send()
                .await,
        ),
        "delete_list" => status_of(&client.delete_list().list_id(list_id).send().await),
        "list_members" => status_of(&client.list_members().list_id(list_id).send().await),
        "update_member" => status_of(
            &client
                .update_member()
                .list_id(list_id)
                .user_id(target.viewer_id)
                .body(types::MemberUpdate::builder().role(types::ListRole::Editor))
                .send()
                .await,
        ),
        "remove_member" => status_of(
            &client
                .remove_member()
                .list_id(list_id)
                .user_id(target.viewer_id)
                .send()
                .await,
        ),
        "create_invitation" => status_of(
            &client
                .create_invitation()
                .list_id(list_id)
                .body(
                    types::InvitationInput::builder()
                        .email(fresh_email())
                        .role(types::ListRole::Viewer),
                )
                .send()
                .await,
        ),
        "list_invitations" => status_of(&client.list_invitations().send().await),
        "sync" => status_of(&client.sync().send().await),
        "stream_events" => status_of(&client.stream_events().send().await),
        "accept_invitation" => status_of(
            &client
                .accept_invitation()
                .invitation_id(target.invitation_id)
                .send()
                .await,
        ),
        "decline_invitation" => status_of(
            &client
                .decline_invitation()
                .invitation_id(target.invitation_id)
                .send()
                .await,
        ),
        "list_tags" => status_of(&client.list_tags().send().await),
        "rename_tag" => status_of(
            &client
                .rename_tag()
                .name(TAG)
                .body(types::TagRename::builder().name("Renamed"))
                .send()
                .await,
        ),
        "delete_tag" => status_of(&client.delete_tag().name(TAG).send().await),
        "get_liveness" => status_of(&client.get_liveness().send().await),
        "get_readiness" => status_of(&client.get_readiness().send().await),
        "admin_list_users" => status_of(&client.admin_list_users().send().await),
        "admin_get_user" => status_of(
            &client
                .admin_get_user()
                .user_id(target.owner_id)
                .send()
                .await,
        ),
        "admin_disable_user" => status_of(
            &client
                .admin_disable_user()
                .user_id(target.owner_id)
                .send()
                .await,
        ),
        "admin_enable_user" => status_of(
            &client
                .admin_enable_user()
                .user_id(target.owner_id)
                .send()
                .await,
        ),
        "admin_delete_user" => status_of(
            &client
                .admin_delete_user()
                .user_id(target.owner_id)
                .send()
                .await,
        ),
        "admin_end_user_sessions" => status_of(
            &client
                .admin_end_user_sessions()
                .user_id(target.owner_id)
                .send()
                .await,
        ),
        "create_access_token" => status_of(
            &client
                .create_access_token()
                .body(
                    types::AccessTokenInput::builder()
                        .name("script")
                        .scopes(vec![types::AccessTokenScope::TasksRead]),
                )
                .send()
                .await,
        ),
        "list_access_tokens" => status_of(&client.list_access_tokens().send().await),
        "get_jwks" => status_of(&client.get_jwks().send().await),
        "admin_list_audit_events" => status_of(&client.admin_list_audit_events().send().await),
        "delete_access_token" => status_of(
            &client
                .delete_access_token()
                .token_id(target.owner_access_token)
                .send()
                .await,
        ),
        other => panic!("no call for operation {other}: add it here and to AUTHORIZATION"),
    }
}

/// Whether a call that got `status` may have changed what the fixture holds.
fn changed_something(operation: &str, status: u16) -> bool {
    let reads = operation.starts_with("list_") || operation.starts_with("get_");
    (200..300).contains(&status) && !reads
}

#[test]
fn every_operation_has_a_row_and_the_spec_agrees() {
    let spec = Spec::checked_in();
    let in_spec: BTreeSet<&str> = spec.operations.iter().map(|op| op.id.as_str()).collect();
    let in_table: BTreeSet<&str> = AUTHORIZATION.iter().map(|(id, _)| *id).collect();
    assert_eq!(
        in_spec, in_table,
        "operations in openapi.yaml vs the AUTHORIZATION table"
    );
    assert_eq!(in_table.len(), AUTHORIZATION.len(), "one row per operation");
    for operation in &spec.operations {
        let statuses = row(&operation.id);
        let public = statuses[5] != 401;
        assert_eq!(operation.secured, !public, "{}: security", operation.id);
        let admin_only = statuses[..4].iter().all(|status| *status == 403);
        assert_eq!(
            operation.path.starts_with("/admin"),
            admin_only,
            "{}: administrator operations, and only they, live under /admin",
            operation.id
        );
    }
}

fn row(operation: &str) -> [u16; 6] {
    AUTHORIZATION
        .iter()
        .find(|(id, _)| *id == operation)
        .map(|(_, statuses)| *statuses)
        .expect("a row")
}

/// Every cell of the table: each operation called as each caller, on a fresh fixture
/// whenever an earlier call may have changed it. Split in four, run side by side.
async fn check_rows(part: usize) {
    let app = TestApp::configured(|settings| {
        settings.rate_limits.registrations_per_address = 0;
        settings.rate_limits.requests_per_minute = 0;
    })
    .await;
    let mut failures = Vec::new();
    for (operation, statuses) in AUTHORIZATION.iter().skip(part).step_by(4) {
        let mut fixture = Fixture::new(&app).await;
        for (index, expected) in statuses.iter().enumerate() {
            let status = call(operation, fixture.client(index), &fixture.target).await;
            if status != *expected {
                failures.push(format!(
                    "{operation} as {}: {status}, expected {expected}",
                    CALLERS[index]
                ));
            }
            if changed_something(operation, status) {
                fixture = Fixture::new(&app).await;
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn the_table_holds_for_every_caller_part_one() {
    check_rows(0).await;
}

#[tokio::test]
async fn the_table_holds_for_every_caller_part_two() {
    check_rows(1).await;
}

#[tokio::test]
async fn the_table_holds_for_every_caller_part_three() {
    check_rows(2).await;
}

#[tokio::test]
async fn the_table_holds_for_every_caller_part_four() {
    check_rows(3).await;
}

/// The scopes an access token needs for each secured operation, as the README's table
/// tells users (`session`: a login session only). Held against the spec, which the server
/// enforces, both ways.
#[rustfmt::skip]
const SCOPES_NEEDED: &[(&str, &[&str])] = &[
    ("logout",                   &["session"]),
    ("get_current_user",         &["account:read"]),
    ("update_current_user",      &["session"]),
    ("delete_current_user",      &["session"]),
    ("change_password",          &["session"]),
    ("list_sessions",            &["session"]),
    ("end_session",              &["session"]),
    ("create_task",              &["tasks:write"]),
    ("list_tasks",               &["tasks:read"]),
    ("get_task",                 &["tasks:read"]),
    ("replace_task",             &["tasks:write"]),
    ("update_task",              &["tasks:write"]),
    ("delete_task",              &["tasks:write"]),
    ("create_list",              &["lists:write"]),
    ("list_lists",               &["lists:read"]),
    ("get_list",                 &["lists:read"]),
    ("update_list",              &["lists:write"]),
    ("delete_list",              &["lists:write"]),
    ("list_members",             &["lists:read"]),
    ("update_member",            &["lists:write"]),
    ("remove_member",            &["lists:write"]),
    ("create_invitation",        &["lists:write"]),
    ("list_invitations",         &["lists:read"]),
    ("accept_invitation",        &["lists:write"]),
    ("decline_invitation",       &["lists:write"]),
    ("list_tags",                &["tasks:read"]),
    ("rename_tag",               &["tasks:write"]),
    ("delete_tag",               &["tasks:write"]),
    ("sync",                     &["tasks:read", "lists:read"]),
    ("stream_events",            &["tasks:read", "lists:read"]),
    ("admin_list_users",         &["session"]),
    ("admin_get_user",           &["session"]),
    ("admin_delete_user",        &["session"]),
    ("admin_disable_user",       &["session"]),
    ("admin_enable_user",        &["session"]),
    ("admin_end_user_sessions",  &["session"]),
    ("admin_list_audit_events",  &["session"]),
    ("create_access_token",      &["session"]),
    ("list_access_tokens",       &["session"]),
    ("delete_access_token",      &["session"]),
];

#[test]
fn the_scopes_in_the_spec_are_the_ones_users_are_told() {
    let spec = Spec::checked_in();
    let secured: Vec<(&str, Vec<&str>)> = (spec.operations.iter())
        .filter(|operation| operation.secured)
        .map(|operation| {
            let scopes = operation.scopes.iter().map(String::as_str).collect();
            (operation.id.as_str(), scopes)
        })
        .collect();
    let mut told: Vec<(&str, Vec<&str>)> = SCOPES_NEEDED
        .iter()
        .map(|(id, scopes)| (*id, scopes.to_vec()))
        .collect();
    let mut secured = secured;
    secured.sort();
    told.sort();
    assert_eq!(secured, told);
}

/// Every scope an access token can hold.
const SCOPES: [types::AccessTokenScope; 5] = [
    types::AccessTokenScope::TasksRead,
    types::AccessTokenScope::TasksWrite,
    types::AccessTokenScope::ListsRead,
    types::AccessTokenScope::ListsWrite,
    types::AccessTokenScope::AccountRead,
];

/// Every secured operation, called with access tokens by the caller whose cell is a
/// success (the owner; the administrator under `/admin`): a token holding just the scopes
/// the operation names in the spec gets what the caller's session gets; a token holding
/// every other scope is refused with 403. An operation that names `session` refuses a
/// token holding every scope. So the scopes the spec shows are the scopes enforced.
async fn check_scopes(part: usize) {
    let app = TestApp::configured(|settings| {
        settings.rate_limits.registrations_per_address = 0;
        settings.rate_limits.requests_per_minute = 0;
        settings.max_access_tokens_per_user = 0;
    })
    .await;
    let spec = Spec::checked_in();
    let secured = spec.operations.iter().filter(|operation| operation.secured);
    let mut failures = Vec::new();
    let mut fixture = Fixture::new(&app).await;
    for operation in secured.skip(part).step_by(2) {
        let id = operation.id.as_str();
        let caller = if operation.path.starts_with("/admin") {
            4
        } else {
            0
        };
        let user = if caller == 4 {
            &fixture.admin
        } else {
            &fixture.owner
        };
        let needed: Vec<types::AccessTokenScope> = match operation.scopes.as_slice() {
            [only] if only == "session" => Vec::new(),
            names => (names.iter())
                .map(|name| name.parse().expect("a scope the SDK knows"))
                .collect(),
        };
        let others: Vec<_> = SCOPES.into_iter().filter(|s| !needed.contains(s)).collect();
        if !others.is_empty() {
            let (token, _) = user.access_token("others", &others).await;
            let status = call(id, &app.client_with_token(&token), &fixture.target).await;
            if status != 403 {
                failures.push(format!("{id} with {others:?}: {status}, expected 403"));
            }
        }
        if needed.is_empty() {
            continue;
        }
        let (token, _) = user.access_token("needed", &needed).await;
        let status = call(id, &app.client_with_token(&token), &fixture.target).await;
        let expected = row(id)[caller];
        if status != expected {
            failures.push(format!(
                "{id} with {needed:?}: {status}, expected {expected}"
            ));
        }
        if changed_something(id, status) {
            fixture = Fixture::new(&app).await;
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn access_tokens_reach_just_what_their_scopes_name_part_one() {
    check_scopes(0).await;
}

#[tokio::test]
async fn access_tokens_reach_just_what_their_scopes_name_part_two() {
    check_scopes(1).await;
}

#[tokio::test]
async fn bad_tokens_are_refused_like_no_token() {
    let app = TestApp::spawn().await;
    let fixture = Fixture::new(&app).await;
    let owner = fixture.owner.id;
    let callers = [
        ("malformed", app.client_with_token("not-a-jwt")),
        (
            "expired",
            app.client_with_token(&app.forge(&claims(owner, -60))),
        ),
        (
            "wrongly signed",
            app.client_with_token(&sign(
                &claims(owner, 600),
                "some-other-secret-that-is-long-enough",
            )),
        ),
    ];
    for (operation, statuses) in AUTHORIZATION {
        if statuses[5] != 401 {
            continue;
        }
        for (caller, client) in &callers {
            let status = call(operation, client, &fixture.target).await;
            assert_eq!(status, 401, "{operation} {caller}");
        }
    }
    assert_eq!(
        fixture.owner.task(fixture.target.task_id).await.title,
        "Theirs"
    );
}

#[tokio::test]
async fn what_a_caller_cannot_see_looks_exactly_like_what_does_not_exist() {
    let app = TestApp::spawn().await;
    let fixture = Fixture::new(&app).await;
    let missing = Target {
        list_id: Uuid::now_v7(),
        task_id: Uuid::now_v7(),
        owner_id: Uuid::now_v7(),
        owner_email: fixture.target.owner_email.clone(),
        owner_session: Uuid::now_v7(),
        owner_access_token: Uuid::now_v7(),
        viewer_id: Uuid::now_v7(),
        invitation_id: Uuid::now_v7(),
    };
    for (operation, statuses) in AUTHORIZATION {
        for index in [3, 4] {
            if statuses[index] != 404 {
                continue;
            }
            let client = fixture.client(index);
            let foreign = call(operation, client, &fixture.target).await;
            let absent = call(operation, client, &missing).await;
            assert_eq!(
                (foreign, absent),
                (404, 404),
                "{operation} as {}",
                CALLERS[index]
            );
        }
    }
    // Nothing they did reached the list or its task.
    assert_eq!(
        fixture.owner.task(fixture.target.task_id).await.title,
        "Theirs"
    );
    assert_eq!(fixture.owner.members(fixture.target.list_id).await.len(), 3);
}
