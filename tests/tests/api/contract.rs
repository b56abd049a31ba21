//! The error responses `openapi.yaml` declares are the ones the server gives: for every
//! operation, each declared 4xx status is provoked and must come back as a problem document.
//! A newly declared status without a way to provoke it here fails the test.

use reqwest::{RequestBuilder, header::CONTENT_TYPE};
use taskapi_client::types::AccessTokenScope;
use taskapi_tests::{Operation, PASSWORD, Spec, TestApp, TestUser, expect_problem, task_titled};

struct Context<'a> {
    app: &'a TestApp,
    /// An ordinary user with a task, and a list of her own besides her Inbox.
    alice: &'a TestUser,
    task_id: uuid::Uuid,
    list_id: uuid::Uuid,
    inbox_id: uuid::Uuid,
    /// A list Bob owns and shares with Alice as a viewer, with a task carrying [`BOBS_TAG`].
    shared: Shared,
    /// The only administrator, so removing themselves is refused.
    admin: &'a TestUser,
    /// An account an administrator has disabled.
    disabled_email: &'a str,
    /// Alice's access tokens holding only `account:read`, and only `tasks:read`.
    narrow_tokens: [String; 2],
}

/// What Alice may see but not change.
struct Shared {
    owner_id: uuid::Uuid,
    list_id: uuid::Uuid,
    task_id: uuid::Uuid,
}

/// Who sends the request that should provoke `status` from `operation`.
enum Sender {
    Anonymous,
    Alice,
    Admin,
    /// Alice, with an access token lacking what the operation needs.
    OutOfScope,
}

/// Operations whose only 403 is an access token's missing scope.
fn forbidden_only_by_scope(id: &str) -> bool {
    matches!(
        id,
        "logout"
            | "get_current_user"
            | "list_sessions"
            | "end_session"
            | "create_list"
            | "list_lists"
            | "get_list"
            | "list_members"
            | "list_invitations"
            | "accept_invitation"
            | "decline_invitation"
            | "list_tags"
            | "list_tasks"
            | "get_task"
            | "sync"
            | "stream_events"
            | "create_access_token"
            | "list_access_tokens"
            | "delete_access_token"
    )
}

fn sender(id: &str, status: u16) -> Sender {
    match (id, status) {
        (_, 401) | ("login", 403) => Sender::Anonymous,
        (id, 403) if forbidden_only_by_scope(id) => Sender::OutOfScope,
        // A user calling an administrator operation, or confirming with a wrong password.
        (_, 403) => Sender::Alice,
        // The last administrator removing themselves.
        ("delete_current_user", 409) => Sender::Admin,
        (id, _) if id.starts_with("admin_") => Sender::Admin,
        _ => Sender::Alice,
    }
}

/// Operations whose request has a JSON body (the login form is a form).
fn takes_json(id: &str) -> bool {
    matches!(
        id,
        "register"
            | "create_task"
            | "replace_task"
            | "update_task"
            | "update_current_user"
            | "delete_current_user"
            | "change_password"
            | "rename_tag"
            | "create_list"
            | "update_list"
            | "update_member"
            | "create_invitation"
            | "request_password_reset"
            | "confirm_password_reset"
            | "verify_email"
            | "create_access_token"
    )
}

/// A request to `operation` that must answer `status`, or `None` if none is known.
fn provoke(context: &Context<'_>, operation: &Operation, status: u16) -> Option<RequestBuilder> {
    let Context {
        app,
        alice,
        task_id,
        list_id,
        inbox_id,
        shared,
        admin,
        disabled_email,
        narrow_tokens,
    } = context;
    let id = operation.id.as_str();
    // Every path parameter is an id or a tag's name; for 400 and 404 all take one value.
    let path_with = |value: &str| {
        operation
            .path
            .replace("{task_id}", value)
            .replace("{session_id}", value)
            .replace("{user_id}", value)
            .replace("{list_id}", value)
            .replace("{invitation_id}", value)
            .replace("{token_id}", value)
            .replace("{name}", value)
    };
    // Alice's own things: her task, her list, herself as its member; the admin's own
    // account for the admin operations.
    let own_path = |user: String| {
        operation
            .path
            .replace("{task_id}", &task_id.to_string())
            .replace("{list_id}", &list_id.to_string())
            .replace("{user_id}", &user)
            .replace("{name}", TAG)
    };
    // What Alice only views: Bob's list, his task there, Bob as its member, his tag.
    let shared_path = operation
        .path
        .replace("{task_id}", &shared.task_id.to_string())
        .replace("{list_id}", &shared.list_id.to_string())
        .replace("{user_id}", &shared.owner_id.to_string())
        .replace("{name}", BOBS_TAG);
    let request = |path: String| match sender(id, status) {
        Sender::Anonymous => app.raw(operation.method.clone(), &path),
        Sender::Alice => alice.raw(operation.method.clone(), &path),
        Sender::Admin => admin.raw(operation.method.clone(), &path),
        Sender::OutOfScope => {
            let reads_account = operation.scopes.iter().any(|scope| scope == "account:read");
            let token = &narrow_tokens[usize::from(reads_account)];
            app.raw(operation.method.clone(), &path).bearer_auth(token)
        }
    };
    let own = match id.starts_with("admin_") {
        true => own_path(admin.id.to_string()),
        false => own_path(alice.id.to_string()),
    };
    let json = |body: &str| {
        request(own.clone())
            .header(CONTENT_TYPE, "application/json")
            .body(body.to_owned())
    };
    // The operations with both a path id and a body: the body must be valid for the id
    // (or the precondition) to be what is wrong.
    let with_body = |builder: RequestBuilder| match id {
        "replace_task" => builder.json(&task_titled("ok")),
        "update_task" => builder.json(&serde_json::json!({"title": "ok"})),
        "rename_tag" => builder.json(&serde_json::json!({"name": "ok"})),
        "update_list" | "create_list" => builder.json(&serde_json::json!({"name": "ok"})),
        "create_access_token" => builder.json(&serde_json::json!({
            "name": "ok", "scopes": ["tasks:read"]
        })),
        "update_member" => builder.json(&serde_json::json!({"role": "editor"})),
        "create_invitation" => builder.json(&serde_json::json!({
            "email": "invited@example.com", "role": "viewer"
        })),
        _ => builder,
    };
    let has_id = operation.path.contains('{');
    let is_listing = matches!(
        id,
        "list_tasks"
            | "list_sessions"
            | "admin_list_users"
            | "list_tags"
            | "list_lists"
            | "list_invitations"
            | "list_access_tokens"
            | "admin_list_audit_events"
            | "sync"
    );
    let takes_body = takes_json(id) || id == "login";
    match status {
        // Any text is a tag name: what is malformed is the encoding of the path.
        400 if id == "delete_tag" => Some(request(path_with("%FF"))),
        400 if id == "rename_tag" => Some(json("{\"name\": ")),
        400 if has_id => Some(with_body(request(path_with("not-a-uuid")))),
        400 if is_listing => Some(request(format!("{}?limit=abc", operation.path))),
        400 if takes_json(id) => Some(json("{\"title\": ")),
        401 if id == "login" => Some(request(own).form(&[
            ("username", alice.email.as_str()),
            ("password", "wrong password"),
        ])),
        401 => Some(request(own)),
        403 if id == "login" => {
            Some(request(own).form(&[("username", *disabled_email), ("password", PASSWORD)]))
        }
        403 if forbidden_only_by_scope(id) => Some(with_body(request(path_with(
            &uuid::Uuid::now_v7().to_string(),
        )))),
        403 if id == "update_current_user" => Some(request(own).json(&serde_json::json!({
            "email": "someone.else@example.com",
            "current_password": "not the password",
        }))),
        403 if id == "delete_current_user" => Some(request(own).json(&serde_json::json!({
            "current_password": "not the password",
        }))),
        403 if id == "change_password" => Some(request(own).json(&serde_json::json!({
            "current_password": "not the password",
            "new_password": "a fine new passphrase",
        }))),
        // A change to what Alice only views.
        403 if id == "create_task" => Some(request(own).json(&serde_json::json!({
            "title": "x", "list_id": shared.list_id,
        }))),
        403 if id == "rename_tag" => {
            Some(request(shared_path).json(&serde_json::json!({"name": "ok"})))
        }
        403 if has_id && !id.starts_with("admin_") => Some(with_body(request(shared_path))),
        403 => Some(request(own)),
        404 if id == "list_tasks" => Some(request(format!(
            "{}?list_id={}",
            operation.path,
            uuid::Uuid::now_v7()
        ))),
        404 if id == "list_members" => Some(request(path_with(&uuid::Uuid::now_v7().to_string()))),
        404 => Some(with_body(request(path_with(
            &uuid::Uuid::now_v7().to_string(),
        )))),
        409 if id == "register" => Some(request(own).json(&serde_json::json!({
            "email": alice.email.to_uppercase(),
            "password": "correct horse battery",
        }))),
        409 if id == "update_current_user" => Some(request(own).json(&serde_json::json!({
            "email": admin.email,
            "current_password": PASSWORD,
        }))),
        409 if id == "delete_current_user" => Some(request(own).json(&serde_json::json!({
            "current_password": PASSWORD,
        }))),
        409 if matches!(id, "admin_disable_user" | "admin_delete_user") => Some(request(own)),
        // Alice's Inbox cannot go; the owner of a list cannot step down or leave.
        409 if id == "delete_list" => Some(request(
            operation.path.replace("{list_id}", &inbox_id.to_string()),
        )),
        409 if id == "update_member" => Some(request(own).json(&serde_json::json!({
            "role": "viewer",
        }))),
        409 if id == "remove_member" => Some(request(own)),
        409 if id == "rename_tag" => Some(json(&format!(
            r#"{{"name": "{}"}}"#,
            OTHER_TAG.to_uppercase()
        ))),
        412 => Some(with_body(request(own)).header("if-match", "\"999\"")),
        413 if takes_body => Some(json(&format!("{{\"title\": \"{}\"}}", "x".repeat(70_000)))),
        415 if takes_body => Some(
            request(own)
                .header(CONTENT_TYPE, "text/plain")
                .body("title"),
        ),
        // A token issued long before the changes kept: in 1970.
        410 if matches!(id, "sync" | "stream_events") => Some(request(format!(
            "{}?token={}",
            operation.path,
            app.forge_sync_token(alice.id, "1/1000000/S/3:3:")
        ))),
        422 if matches!(id, "sync" | "stream_events") => {
            Some(request(format!("{}?token=garbage", operation.path)))
        }
        422 if is_listing => Some(request(format!("{}?cursor=garbage", operation.path))),
        422 if id == "list_members" => Some(request(format!("{own}?cursor=garbage"))),
        422 if id == "login" => Some(request(own).form(&[("username", "x")])),
        422 if id == "register" => Some(json(
            r#"{"email": "not-an-email", "password": "long enough"}"#,
        )),
        422 if takes_json(id) => Some(json(r#"{"title": "   "}"#)),
        _ => None,
    }
}

/// The tags of Alice's task.
const TAG: &str = "errands";
const OTHER_TAG: &str = "home";
/// The tag of Bob's task in the list he shares with Alice as a viewer.
const BOBS_TAG: &str = "bobs";

/// Declared but not provokable here: failures of the server or its database (exercised in
/// `unavailable.rs` and `tasks.rs`), rate limits, which need a server with small ones
/// (every declared 429 is provoked in `rate_limits.rs`), a required `If-Match` (428, in
/// `conditional.rs`), a create whose `Idempotency-Key` is in use by a request still
/// running (409, in `idempotency.rs`), a malformed login form, which any bytes are, and
/// an address verified after another account took it (409, which needs a mailed token),
/// and an access token past the account's cap (409, in `access_tokens.rs`).
fn unprovokable(operation: &Operation, status: u16) -> bool {
    // 428 needs a server that requires `If-Match` (conditional.rs starts one).
    status >= 500
        || status == 429
        || status == 428
        || (operation.id == "create_task" && status == 409)
        || (operation.id == "login" && status == 400)
        || (operation.id == "verify_email" && status == 409)
        || (operation.id == "create_access_token" && status == 409)
}

#[tokio::test]
async fn every_declared_client_error_is_real_and_a_problem_document() {
    let (app, alice) = TestApp::with_user().await;
    let task = alice
        .create(taskapi_client::types::TaskInput {
            tags: vec![
                TAG.try_into().expect("fits"),
                OTHER_TAG.try_into().expect("fits"),
            ],
            ..task_titled("Target")
        })
        .await;
    let list = alice.create_list("Alice's").await;
    let inbox_id = alice.inbox().await.id;
    let bob = app.signed_up_user().await;
    let bobs_list = bob.create_list("Bob's").await;
    bob.share(
        bobs_list.id,
        &alice,
        taskapi_client::types::ListRole::Viewer,
    )
    .await;
    let bobs_task = bob
        .create(taskapi_client::types::TaskInput {
            list_id: Some(bobs_list.id),
            tags: vec![BOBS_TAG.try_into().expect("fits")],
            ..task_titled("Bob's")
        })
        .await;
    let admin = app.signed_up_admin().await;
    let disabled = app.signed_up_user().await;
    admin
        .client
        .admin_disable_user()
        .user_id(disabled.id)
        .send()
        .await
        .expect("disabled");
    let narrow_tokens = [
        alice
            .access_token("account", &[AccessTokenScope::AccountRead])
            .await
            .0,
        alice
            .access_token("tasks", &[AccessTokenScope::TasksRead])
            .await
            .0,
    ];
    let context = Context {
        app: &app,
        alice: &alice,
        task_id: task.id,
        list_id: list.id,
        inbox_id,
        shared: Shared {
            owner_id: bob.id,
            list_id: bobs_list.id,
            task_id: bobs_task.id,
        },
        admin: &admin,
        disabled_email: &disabled.email,
        narrow_tokens,
    };

    let mut checked = 0;
    for operation in Spec::checked_in().operations {
        for &status in operation.statuses.iter().filter(|status| **status >= 400) {
            if unprovokable(&operation, status) {
                continue;
            }
            let request = provoke(&context, &operation, status).unwrap_or_else(|| {
                panic!(
                    "{} declares {status}: add a way to provoke it to contract.rs",
                    operation.id
                )
            });
            expect_problem(request, status).await;
            checked += 1;
        }
    }
    assert!(checked >= 95, "only {checked} declared errors were checked");
}

/// The SDK builds from its own copy of the contract (so that it packages on its own); the
/// copy is the contract.
#[test]
fn the_sdk_copy_of_the_contract_is_the_contract() {
    let contract = include_bytes!("../../../openapi.yaml");
    let copy = include_bytes!("../../../client-sdk/openapi.yaml");
    assert!(
        contract == copy,
        "client-sdk/openapi.yaml differs from openapi.yaml: run `cp openapi.yaml client-sdk/openapi.yaml`"
    );
}
