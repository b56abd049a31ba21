//! Lists and sharing: every account's Inbox, lists shared by invitation, what each role
//! may do, moving and assigning tasks, and what a member loses when they go.

use taskapi_client::{problem::ProblemType, types};
use taskapi_tests::{TestApp, etag_of, problem, status_of, task_titled};
use uuid::Uuid;

use types::ListRole::{Editor, Owner, Viewer};

#[tokio::test]
async fn every_account_starts_with_an_inbox_where_tasks_go_by_default() {
    let (_app, alice) = TestApp::with_user().await;
    let lists = alice.lists().await;
    assert_eq!(lists.len(), 1);
    let inbox = &lists[0];
    assert!(inbox.inbox);
    assert_eq!(inbox.name, "Inbox");
    assert_eq!(inbox.role, Owner);
    assert_eq!(inbox.owner_id, alice.id);

    let task = alice.create_task("No list named").await;
    assert_eq!(task.list_id, inbox.id);
    assert_eq!(task.assignee_id, None);

    let inbox_gone = alice.client.delete_list().list_id(inbox.id).send().await;
    let refused = problem(inbox_gone);
    assert_eq!(refused.status().as_u16(), 409);
    assert_eq!(
        ProblemType::from(refused.type_.as_str()),
        ProblemType::Inbox
    );
    assert_eq!(alice.all_tasks().await.len(), 1);
}

#[tokio::test]
async fn lists_are_created_renamed_with_etags_and_deleted_with_their_tasks() {
    let (_app, alice) = TestApp::with_user().await;
    let created = alice
        .try_create_list("  Groceries  ")
        .await
        .expect("created");
    assert_eq!(created.status().as_u16(), 201);
    let etag = etag_of(&created);
    let list = created.into_inner();
    assert_eq!(list.name, "Groceries", "trimmed");
    assert!(!list.inbox);

    let stale = alice
        .client
        .update_list()
        .list_id(list.id)
        .if_match("\"41\"")
        .body(types::ListPatch::builder().name(Some("Weekly".try_into().expect("fits"))))
        .send()
        .await;
    assert_eq!(problem(stale).status().as_u16(), 412);
    let renamed = alice
        .client
        .update_list()
        .list_id(list.id)
        .if_match(etag.as_str())
        .body(types::ListPatch::builder().name(Some("Weekly".try_into().expect("fits"))))
        .send()
        .await
        .expect("renamed");
    assert_ne!(etag_of(&renamed), etag);
    assert_eq!(renamed.into_inner().name, "Weekly");

    let kept = alice.create_task("Stays in the Inbox").await;
    let milk = alice.create_in(list.id, "Milk").await;
    assert_eq!(milk.list_id, list.id);
    let in_list = alice.tasks_in(list.id).await.expect("listed").into_inner();
    assert_eq!(in_list.items.len(), 1);
    assert_eq!(alice.all_tasks().await.len(), 2, "every list's tasks");

    alice
        .client
        .delete_list()
        .list_id(list.id)
        .send()
        .await
        .expect("deleted");
    let gone = alice.client.get_task().task_id(milk.id).send().await;
    assert_eq!(status_of(&gone), 404, "its tasks went with it");
    assert_eq!(alice.task(kept.id).await.title, "Stays in the Inbox");
    assert_eq!(status_of(&alice.tasks_in(list.id).await), 404);
}

#[tokio::test]
async fn an_invitation_shares_a_list_and_each_role_gets_what_it_may_do() {
    let (_app, [alice, bob, carol]) = TestApp::with_users().await;
    let list = alice.create_list("Household").await;
    let chore = alice.create_in(list.id, "Take out the bins").await;

    let invitation = alice.invite(list.id, &bob.email, Editor).await;
    assert_eq!(invitation.email, bob.email);
    let waiting = bob.invitations().await;
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0].list_id, list.id);
    assert_eq!(waiting[0].list_name, "Household");
    assert_eq!(waiting[0].role, Editor);
    assert_eq!(waiting[0].inviter_id, alice.id);
    assert_eq!(waiting[0].inviter_email, alice.email);
    assert!(
        carol.invitations().await.is_empty(),
        "only the invitee sees it"
    );
    let taken = carol.try_accept(invitation.id).await;
    assert_eq!(status_of(&taken), 404, "nor can anyone else accept it");

    let joined = bob.accept(invitation.id).await;
    assert_eq!(joined.role, Editor);
    assert!(bob.invitations().await.is_empty());
    alice.share(list.id, &carol, Viewer).await;
    let members = alice.members(list.id).await;
    let roles: Vec<(Uuid, types::ListRole)> = members.iter().map(|m| (m.user_id, m.role)).collect();
    assert_eq!(
        roles,
        [(alice.id, Owner), (bob.id, Editor), (carol.id, Viewer)]
    );

    // The editor works on the list's tasks; the owner sees what they did.
    let bobs = bob.create_in(list.id, "Buy bin bags").await;
    assert!(
        alice
            .all_tasks()
            .await
            .iter()
            .any(|task| task.id == bobs.id)
    );
    let done = bob
        .try_patch(
            chore.id,
            types::TaskPatch::builder().status(Some(types::TaskStatus::Done)),
        )
        .await
        .expect("an editor changes a task");
    assert_eq!(done.into_inner().status, types::TaskStatus::Done);

    // The viewer reads, and is told which role a change needs.
    assert_eq!(carol.task(chore.id).await.status, types::TaskStatus::Done);
    let refused = problem(carol.client.delete_task().task_id(chore.id).send().await);
    assert_eq!(refused.status().as_u16(), 403);
    let detail = refused.detail.clone().unwrap_or_default();
    assert!(
        detail.contains("editor") && detail.contains("viewer"),
        "{detail}"
    );
    let create = carol
        .client
        .create_task()
        .body(types::TaskInput {
            list_id: Some(list.id),
            ..task_titled("Not allowed")
        })
        .send()
        .await;
    assert_eq!(status_of(&create), 403);
    let rename = carol.try_rename_list(list.id, "Mine").await;
    assert_eq!(status_of(&rename), 403, "only the owner renames");
    let invite = bob.try_invite(list.id, "dave@example.com", Viewer).await;
    assert_eq!(status_of(&invite), 403, "only the owner shares");
}

#[tokio::test]
async fn an_invitation_reveals_nothing_and_waits_for_the_address_to_register() {
    let (app, [alice, bob]) = TestApp::with_users().await;
    let list = alice.create_list("Trip").await;
    let unregistered = format!("later-{}@example.com", Uuid::new_v4().simple());

    let to_account = alice
        .try_invite(list.id, &bob.email, Viewer)
        .await
        .expect("invited");
    let to_nobody = alice
        .try_invite(list.id, &unregistered, Viewer)
        .await
        .expect("invited");
    assert_eq!(to_account.status(), to_nobody.status());
    let (one, other) = (to_account.into_inner(), to_nobody.into_inner());
    assert_eq!(
        (one.list_id, one.role, one.inviter_id),
        (other.list_id, other.role, other.inviter_id),
        "the same answer whether or not an account has the address"
    );

    let later = app
        .signed_up_user_with(&unregistered, taskapi_tests::PASSWORD)
        .await;
    let waiting = later.invitations().await;
    assert_eq!(waiting.len(), 1);
    assert_eq!(later.accept(waiting[0].id).await.role, Viewer);

    // Declining: the invitation is gone, the list not joined.
    let again = bob.invitations().await;
    bob.client
        .decline_invitation()
        .invitation_id(again[0].id)
        .send()
        .await
        .expect("declined");
    assert!(bob.invitations().await.is_empty());
    assert_eq!(bob.lists().await.len(), 1, "only the Inbox");
}

#[tokio::test]
async fn expired_invitations_cannot_be_accepted() {
    let app = TestApp::configured(|settings| settings.invitation_ttl_seconds = 0).await;
    let alice = app.signed_up_user().await;
    let bob = app.signed_up_user().await;
    let list = alice.create_list("Brief").await;
    let invitation = alice.invite(list.id, &bob.email, Viewer).await;
    assert!(invitation.expires_at <= invitation.created_at);
    assert!(bob.invitations().await.is_empty());
    let late = bob.try_accept(invitation.id).await;
    assert_eq!(status_of(&late), 404);
}

#[tokio::test]
async fn invitations_are_rate_limited_per_inviter() {
    let app = TestApp::configured(|settings| settings.rate_limits.invitations_per_user = 2).await;
    let alice = app.signed_up_user().await;
    let list = alice.create_list("Party").await;
    for guest in ["a@example.com", "b@example.com"] {
        alice.invite(list.id, guest, Viewer).await;
    }
    let refused = problem(alice.try_invite(list.id, "c@example.com", Viewer).await);
    assert_eq!(refused.status().as_u16(), 429);
    assert!(refused.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn a_removed_member_loses_the_list_at_once_and_its_assignments() {
    let (app, [alice, bob]) = TestApp::with_users().await;
    let list = alice.shared_list("Project", &bob, Editor).await;
    let task = alice
        .create(types::TaskInput {
            list_id: Some(list.id),
            assignee_id: Some(bob.id),
            ..task_titled("Bob's job")
        })
        .await;
    assert_eq!(task.assignee_id, Some(bob.id));
    let assigned = bob.assigned_to("me").await.expect("listed").into_inner();
    assert_eq!(assigned.items.len(), 1);

    alice.try_remove(list.id, bob.id).await.expect("removed");
    let read = bob.client.get_task().task_id(task.id).send().await;
    assert_eq!(status_of(&read), 404, "gone with the next request");
    assert_eq!(bob.lists().await.len(), 1);
    assert_eq!(alice.task(task.id).await.assignee_id, None, "unassigned");

    // A member may leave; the owner may not.
    let carol = app.signed_up_user().await;
    alice.share(list.id, &carol, Viewer).await;
    carol.try_remove(list.id, carol.id).await.expect("left");
    assert_eq!(alice.members(list.id).await.len(), 1);
    let refused = problem(alice.try_remove(list.id, alice.id).await);
    assert_eq!(refused.status().as_u16(), 409);
    assert_eq!(
        ProblemType::from(refused.type_.as_str()),
        ProblemType::OwnerRequired
    );
}

#[tokio::test]
async fn ownership_passes_to_a_member_but_an_inbox_stays() {
    let (_app, [alice, bob]) = TestApp::with_users().await;
    let list = alice.shared_list("Handover", &bob, Viewer).await;
    let new_owner = alice
        .try_set_role(list.id, bob.id, Owner)
        .await
        .expect("passed on")
        .into_inner();
    assert_eq!(new_owner.role, Owner);
    let members = bob.members(list.id).await;
    let roles: Vec<(Uuid, types::ListRole)> = members.iter().map(|m| (m.user_id, m.role)).collect();
    assert!(roles.contains(&(bob.id, Owner)) && roles.contains(&(alice.id, Editor)));
    assert_eq!(roles.len(), 2);
    let rename = alice.try_rename_list(list.id, "Mine again").await;
    assert_eq!(status_of(&rename), 403, "the old owner is an editor now");

    let inbox = alice.inbox().await;
    alice.share(inbox.id, &bob, Editor).await;
    let give_away = alice.try_set_role(inbox.id, bob.id, Owner).await;
    assert_eq!(status_of(&give_away), 409);
}

#[tokio::test]
async fn moving_a_task_needs_edit_rights_on_both_lists() {
    let (_app, [alice, bob]) = TestApp::with_users().await;
    let shared = alice.create_list("Shared").await;
    let watched = alice.create_list("Watched").await;
    alice.share(shared.id, &bob, Editor).await;
    alice.share(watched.id, &bob, Viewer).await;
    let travels = types::TaskInput {
        list_id: Some(shared.id),
        assignee_id: Some(bob.id),
        ..task_titled("Travels")
    };
    let task = alice.create(travels).await;
    let bobs_inbox = bob.inbox().await;

    let move_to =
        |list_id: Uuid| bob.try_patch(task.id, types::TaskPatch::builder().list_id(Some(list_id)));
    assert_eq!(
        status_of(&move_to(watched.id).await),
        403,
        "a viewer's list"
    );
    let invisible = move_to(Uuid::now_v7()).await;
    let refused = problem(invisible);
    assert_eq!(refused.status().as_u16(), 422);
    assert!(refused.errors.contains_key("list_id"));

    let moved = move_to(bobs_inbox.id).await.expect("moved").into_inner();
    assert_eq!(moved.list_id, bobs_inbox.id);
    assert_eq!(
        moved.assignee_id,
        Some(bob.id),
        "Bob is a member of his Inbox"
    );
    let read = alice.client.get_task().task_id(task.id).send().await;
    assert_eq!(status_of(&read), 404, "out of Alice's sight now");
}

#[tokio::test]
async fn assignees_are_members_and_can_be_filtered_on() {
    let (_app, [alice, bob, stranger]) = TestApp::with_users().await;
    let list = alice.shared_list("Team", &bob, Viewer).await;
    let task = alice.create_in(list.id, "Review").await;

    let assign = |user: Option<Uuid>| {
        alice.try_patch(task.id, types::TaskPatch::builder().assignee_id(user))
    };
    let refused = problem(assign(Some(stranger.id)).await);
    assert_eq!(refused.status().as_u16(), 422);
    assert!(refused.errors.contains_key("assignee_id"));
    let assigned = assign(Some(bob.id)).await.expect("assigned").into_inner();
    assert_eq!(assigned.assignee_id, Some(bob.id));
    let _mine = alice.create_in(list.id, "Unassigned").await;

    let by_id = alice
        .assigned_to(&bob.id.to_string())
        .await
        .expect("listed");
    assert_eq!(by_id.into_inner().items.len(), 1);
    let bobs = bob.assigned_to("me").await.expect("listed").into_inner();
    let ids: Vec<Uuid> = bobs.items.iter().map(|t| t.id).collect();
    assert_eq!(ids, [task.id]);
    assert_eq!(status_of(&alice.assigned_to("someone").await), 422);
}

#[tokio::test]
async fn renaming_a_tag_never_touches_a_list_the_caller_only_views() {
    let (_app, [alice, bob]) = TestApp::with_users().await;
    let alices = alice.shared_list("Alice's", &bob, Viewer).await;
    let tagged = |list_id: Uuid, title: &str| types::TaskInput {
        list_id: Some(list_id),
        tags: vec!["home".try_into().expect("fits")],
        ..task_titled(title)
    };
    let hers = alice.create(tagged(alices.id, "Hers")).await;
    let bobs_inbox = bob.inbox().await;
    let his = bob.create(tagged(bobs_inbox.id, "His")).await;

    let renamed = bob.try_rename_tag("home", "House").await;
    let renamed = renamed.expect("renamed where Bob edits").into_inner();
    assert_eq!(renamed.task_count, 1);
    assert_eq!(bob.task(his.id).await.tags, ["House"]);
    assert_eq!(
        alice.task(hers.id).await.tags,
        ["home"],
        "Alice's list kept it"
    );

    // In Alice's list alone, Bob may not rename it.
    assert_eq!(status_of(&bob.try_rename_tag("home", "Other").await), 403);
    assert_eq!(alice.task(hers.id).await.tags, ["home"]);
}

#[tokio::test]
async fn a_client_that_knows_nothing_of_lists_sees_the_api_it_knew() {
    let (app, alice) = TestApp::with_user().await;
    // A task created and replaced without `list_id` stays in the Inbox; its listing is
    // the account's tasks, as before lists.
    let task = alice.create_task("Old client").await;
    let replaced = alice.replace(task.id, task_titled("Still old")).await;
    assert_eq!(replaced.list_id, alice.inbox().await.id);
    let raw = app
        .raw(reqwest::Method::GET, "/tasks")
        .bearer_auth(&alice.token)
        .send()
        .await
        .expect("sent");
    assert_eq!(raw.status().as_u16(), 200);
    let body: serde_json::Value = raw.json().await.expect("json");
    assert_eq!(body["items"].as_array().map(Vec::len), Some(1));
}
