//! The change feed (`GET /sync`) through the SDK's `Replica`: a full sync in pages, then
//! every change since, deletions and lost access included; expired and forged tokens; and
//! concurrent writers against a client syncing in a loop, over many seeds, after which the
//! replica is exactly what the server holds.

use std::{collections::HashMap, num::NonZeroU64, sync::Arc, time::Duration};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::Value;
use taskapi_client::{
    problem::{ApiError, ProblemType},
    sync::Replica,
    types,
};
use taskapi_tests::{TestApp, TestUser, assert_problem, problem, task_titled, without_rate_limits};
use uuid::Uuid;

use types::ListRole::{Editor, Viewer};

fn page(size: u64) -> Option<NonZeroU64> {
    NonZeroU64::new(size)
}

/// Every list and task `user` can see, as the listings return them, as JSON by id.
async fn server_state(user: &TestUser) -> (HashMap<Uuid, Value>, HashMap<Uuid, Value>) {
    let lists = user.lists().await;
    let tasks = user.all_tasks().await;
    (
        by_id(lists.iter().map(|list| (list.id, list))),
        by_id(tasks.iter().map(|task| (task.id, task))),
    )
}

fn by_id<'a, T: serde::Serialize + 'a>(
    items: impl Iterator<Item = (Uuid, &'a T)>,
) -> HashMap<Uuid, Value> {
    items
        .map(|(id, item)| (id, serde_json::to_value(item).expect("JSON")))
        .collect()
}

/// The replica as JSON by id, to compare with [`server_state`].
fn replica_state(replica: &Replica) -> (HashMap<Uuid, Value>, HashMap<Uuid, Value>) {
    (
        by_id(replica.lists.iter().map(|(id, list)| (*id, list))),
        by_id(replica.tasks.iter().map(|(id, task)| (*id, task))),
    )
}

pub(crate) async fn assert_replica_is_current(user: &TestUser, replica: &Replica, what: &str) {
    let (lists, tasks) = server_state(user).await;
    let (replica_lists, replica_tasks) = replica_state(replica);
    assert_eq!(replica_lists, lists, "{what}: the lists");
    let missing: Vec<&Uuid> = tasks
        .keys()
        .filter(|id| !replica_tasks.contains_key(id))
        .collect();
    let extra: Vec<&Uuid> = (replica_tasks.keys())
        .filter(|id| !tasks.contains_key(id))
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{what}: tasks missing from the replica {missing:?}, tasks it should not have {extra:?}"
    );
    assert_eq!(replica_tasks, tasks, "{what}: the tasks");
}

#[tokio::test]
async fn a_full_sync_in_pages_then_every_change_since_with_tombstones() {
    let (_app, alice) = TestApp::with_user().await;
    let groceries = alice.create_list("Groceries").await;
    let mut tasks = Vec::new();
    for n in 0..7 {
        tasks.push(alice.create_task(&format!("Inbox task {n}")).await);
    }
    for n in 0..4 {
        tasks.push(alice.create_in(groceries.id, &format!("Buy {n}")).await);
    }

    let mut replica = Replica::new();
    let synced = replica.sync(&alice.client, page(3)).await.expect("synced");
    assert_eq!(synced.changes, 2 + 11, "two lists and eleven tasks");
    assert_eq!(synced.pages, 5, "thirteen items, three a page");
    assert_replica_is_current(&alice, &replica, "after the full sync").await;

    // Nothing changed: one empty page.
    let synced = replica.sync(&alice.client, page(3)).await.expect("synced");
    assert_eq!((synced.changes, synced.pages), (0, 1));

    // A change, a deletion, a move and a new task; a renamed list.
    alice.replace(tasks[0].id, task_titled("Renamed")).await;
    let deleted = alice.client.delete_task().task_id(tasks[1].id).send().await;
    assert!(deleted.is_ok());
    alice
        .replace(
            tasks[2].id,
            types::TaskInput {
                list_id: Some(groceries.id),
                ..task_titled("Moved")
            },
        )
        .await;
    alice.create_in(groceries.id, "Added").await;
    assert!(alice.try_rename_list(groceries.id, "Food").await.is_ok());

    let synced = replica.sync(&alice.client, page(2)).await.expect("synced");
    assert_eq!(synced.changes, 5, "{synced:?}");
    assert!(!replica.tasks.contains_key(&tasks[1].id), "the tombstone");
    assert_eq!(replica.tasks[&tasks[2].id].list_id, groceries.id);
    assert_eq!(replica.lists[&groceries.id].name, "Food");
    assert_replica_is_current(&alice, &replica, "after the changes").await;

    // Deleting a list deletes its tasks: tombstones for all of them.
    let gone = alice
        .client
        .delete_list()
        .list_id(groceries.id)
        .send()
        .await;
    assert!(gone.is_ok());
    replica.sync(&alice.client, None).await.expect("synced");
    assert!(!replica.lists.contains_key(&groceries.id));
    assert_replica_is_current(&alice, &replica, "after the list went").await;
}

#[tokio::test]
async fn a_shared_list_arrives_with_its_tasks_and_a_lost_one_leaves_with_them() {
    let (_app, [alice, bob]) = TestApp::with_users::<2>().await;
    let project = alice.create_list("Project").await;
    let mut plans = Vec::new();
    for n in 0..5 {
        plans.push(alice.create_in(project.id, &format!("Plan {n}")).await);
    }
    let mut replica = Replica::new();
    replica.sync(&bob.client, page(4)).await.expect("synced");
    assert_eq!(replica.lists.len(), 1, "Bob's Inbox only");

    alice.share(project.id, &bob, Viewer).await;
    let synced = replica.sync(&bob.client, page(4)).await.expect("synced");
    assert_eq!(synced.changes, 6, "the list and its five tasks");
    assert!(
        plans
            .iter()
            .all(|plan| replica.tasks.contains_key(&plan.id))
    );
    assert_replica_is_current(&bob, &replica, "shared").await;

    // A role change: the list as Bob now sees it.
    let promoted = alice.try_set_role(project.id, bob.id, Editor).await;
    assert!(promoted.is_ok());
    replica.sync(&bob.client, page(4)).await.expect("synced");
    assert_eq!(replica.lists[&project.id].role, Editor);

    // A task moved out of Bob's sight is a tombstone for him.
    let private = alice.create_list("Private").await;
    alice
        .replace(
            plans[0].id,
            types::TaskInput {
                list_id: Some(private.id),
                ..task_titled("Hidden")
            },
        )
        .await;
    replica.sync(&bob.client, page(4)).await.expect("synced");
    assert!(!replica.tasks.contains_key(&plans[0].id));
    assert_replica_is_current(&bob, &replica, "moved away").await;

    // Removed: the list and every task in it are tombstones.
    assert!(alice.try_remove(project.id, bob.id).await.is_ok());
    let synced = replica.sync(&bob.client, page(4)).await.expect("synced");
    assert!(synced.changes >= 5, "{synced:?}");
    assert!(!replica.lists.contains_key(&project.id));
    assert!(
        replica
            .tasks
            .values()
            .all(|task| task.list_id != project.id)
    );
    assert_replica_is_current(&bob, &replica, "removed").await;
}

/// Applies one page after `replica`'s token, of at most `limit` changes; whether more
/// follow.
async fn one_page(user: &TestUser, replica: &mut Replica, limit: u64) -> bool {
    let mut request = user
        .client
        .sync()
        .limit(NonZeroU64::new(limit).expect("positive"));
    if let Some(token) = replica.token.clone() {
        request = request.token(token);
    }
    let page = request.send().await.expect("a page").into_inner();
    for change in page.changes {
        replica.apply(change);
    }
    replica.token = Some(page.next_token);
    page.has_more
}

#[tokio::test]
async fn a_list_lost_during_a_round_and_regained_after_it_leaves_nothing_stale() {
    let (_app, [alice, bob]) = TestApp::with_users::<2>().await;
    let list = alice.shared_list("Shared", &bob, Editor).await;
    let gone = alice.create_in(list.id, "Deleted while Bob is away").await;
    let mut replica = Replica::new();
    replica.sync(&bob.client, None).await.expect("synced");
    assert!(replica.tasks.contains_key(&gone.id));

    alice.create_in(list.id, "Kept").await;
    let deleted = alice.client.delete_task().task_id(gone.id).send().await;
    assert!(deleted.is_ok());
    // The round's first page; then Bob loses the list, reads the rest of the round, and
    // gets the list back before the next round.
    assert!(one_page(&bob, &mut replica, 1).await, "more follows");
    assert!(alice.try_remove(list.id, bob.id).await.is_ok());
    while one_page(&bob, &mut replica, 1).await {}
    alice.share(list.id, &bob, Editor).await;
    replica
        .sync(&bob.client, Some(NonZeroU64::MIN))
        .await
        .expect("synced");
    assert!(
        !replica.tasks.contains_key(&gone.id),
        "the deletion arrived"
    );
    assert_replica_is_current(&bob, &replica, "regained").await;
}

#[tokio::test]
async fn an_expired_token_is_410_and_the_replica_starts_over() {
    // Tokens expire after a second here; the test waits two.
    let app = TestApp::configured(|settings| settings.tombstone_ttl_seconds = 1).await;
    let alice = app.signed_up_user().await;
    alice.create_task("Kept").await;
    let mut replica = Replica::new();
    replica.sync(&alice.client, None).await.expect("synced");
    let token = replica.token.clone().expect("a token");
    tokio::time::sleep(Duration::from_secs(2)).await;

    let expired = problem(alice.client.sync().token(token).send().await);
    assert_problem(&expired, 410, ProblemType::SyncTokenExpired);

    alice.create_task("New").await;
    let synced = replica.sync(&alice.client, None).await.expect("synced");
    assert!(synced.restarted);
    assert_replica_is_current(&alice, &replica, "after starting over").await;
}

#[tokio::test]
async fn a_token_behind_the_purge_is_410() {
    let (app, alice) = TestApp::with_user().await;
    let mut replica = Replica::new();
    replica.sync(&alice.client, None).await.expect("synced");
    let token = replica.token.clone().expect("a token");
    alice.create_task("After the token").await;
    // The purge job, as it runs once the changes are older than the lifetime.
    let db = app.database().await;
    sqlx::query("UPDATE changes SET at = now() - interval '31 days'")
        .execute(&db)
        .await
        .expect("aged");
    // A change within the lifetime stays; only the older ones go.
    let kept = alice.create_task("Within the lifetime").await;
    let count = |task: Uuid| {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM changes WHERE task_id = $1")
            .bind(task)
            .fetch_one(&db)
    };
    let mut connection = db.acquire().await.expect("a connection");
    let ttl = Duration::from_secs(taskapi_server::config::Settings::TOMBSTONE_TTL_SECONDS);
    let purged = taskapi_server::store::sync::purge(&mut connection, ttl)
        .await
        .expect("purged");
    assert_eq!(purged, 2, "the Inbox's making and the first task's");
    assert_eq!(count(kept.id).await.expect("counted"), 1);
    let behind = problem(alice.client.sync().token(token).send().await);
    assert_problem(&behind, 410, ProblemType::SyncTokenExpired);
}

#[tokio::test]
async fn a_forged_or_malformed_token_is_refused() {
    let (app, [alice, bob]) = TestApp::with_users::<2>().await;
    let mut replica = Replica::new();
    replica.sync(&alice.client, None).await.expect("synced");
    let alices = replica.token.clone().expect("a token");
    let now = chrono::Utc::now().timestamp_micros();
    let sealed = |raw: String| app.forge_sync_token(alice.id, &raw);
    for forged in [
        // Not sealed by the server: made up, altered, or issued to someone else.
        URL_SAFE_NO_PAD.encode(format!("1/{now}/S/100:105:")),
        alices.replacen('M', "N", 1),
        format!("{alices}A"),
        // Sealed, but saying what the server never says.
        sealed(format!("1/{now}/S/5:3:")),
        sealed(format!("1/{now}/S/4294967296:4294967296:")),
        // Well formed, but a snapshot this database has not taken yet.
        sealed(format!("1/{now}/S/900000000:900000000:")),
    ] {
        let refused = problem(alice.client.sync().token(forged.clone()).send().await);
        assert_eq!(refused.status().as_u16(), 422, "{forged}");
        assert!(refused.errors.contains_key("token"), "{forged}");
    }
    let taken = problem(bob.client.sync().token(alices).send().await);
    assert_eq!(taken.status().as_u16(), 422, "a token is its holder's");
    // Not even the characters of one: refused the same way, naming the parameter.
    // (The SDK would not send it: the contract's pattern refuses it before.)
    let malformed = alice
        .raw(reqwest::Method::GET, "/sync?token=not%20a%20token")
        .send()
        .await
        .expect("answered");
    assert_eq!(malformed.status().as_u16(), 422);
    let body: Value = malformed.json().await.expect("a problem document");
    assert!(body["errors"]["token"].is_array(), "{body}");
}

/// A small deterministic generator of choices, from a seed.
struct Choices(u64);

impl Choices {
    fn below(&mut self, n: usize) -> usize {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let value = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d);
        (value >> 33) as usize % n.max(1)
    }
}

/// How many random runs [`concurrent_writers_never_make_the_replica_miss_a_change`] does.
const SEEDS: u64 = 200;

/// One seed: three people write at once (creates, edits, moves, deletes; the owner shares
/// and unshares a list) while the syncing client reads the feed in small pages in a loop;
/// then one last sync must leave the replica equal to what the server holds.
async fn one_seed(app: &TestApp, seed: u64) {
    let (alice, bob, carol) = (
        app.signed_up_user().await,
        app.signed_up_user().await,
        app.signed_up_user().await,
    );
    let team = alice.create_list("Team").await;
    alice.share(team.id, &bob, Editor).await;
    alice.share(team.id, &carol, Editor).await;
    let side = alice.create_list("Side").await;
    alice.share(side.id, &carol, Editor).await;
    let bob_inbox = bob.inbox().await.id;
    let writers = Arc::new([alice, bob, carol]);
    let lists = [team.id, side.id, bob_inbox];

    let write = |who: usize| {
        let writers = Arc::clone(&writers);
        async move {
            let me = &writers[who];
            let mut choices = Choices(seed.wrapping_mul(31).wrapping_add(who as u64 + 1) | 1);
            let mut mine: Vec<Uuid> = Vec::new();
            for step in 0..10 {
                let list = lists[choices.below(lists.len())];
                match choices.below(6) {
                    0 | 1 => {
                        let title = format!("s{seed} w{who} #{step}");
                        let created = me
                            .client
                            .create_task()
                            .body(types::TaskInput {
                                list_id: Some(list),
                                ..task_titled(&title)
                            })
                            .send()
                            .await;
                        if let Ok(task) = created {
                            mine.push(task.into_inner().id);
                        }
                    }
                    2 if !mine.is_empty() => {
                        let id = mine[choices.below(mine.len())];
                        let title = format!("edited {step}").try_into().expect("fits");
                        let _ = me
                            .try_patch(id, types::TaskPatch::builder().title(Some(title)))
                            .await;
                    }
                    3 if !mine.is_empty() => {
                        let id = mine[choices.below(mine.len())];
                        let _ = me
                            .try_patch(id, types::TaskPatch::builder().list_id(Some(list)))
                            .await;
                    }
                    4 if !mine.is_empty() => {
                        let id = mine.swap_remove(choices.below(mine.len()));
                        let _ = me.client.delete_task().task_id(id).send().await;
                    }
                    // The owner shares the side list with Bob, or takes it back.
                    5 if who == 0 => {
                        let bob = &writers[1];
                        if me.try_remove(side.id, bob.id).await.is_err() {
                            let invited = me.try_invite(side.id, &bob.email, Viewer).await;
                            if let Ok(invitation) = invited {
                                let _ = bob.try_accept(invitation.into_inner().id).await;
                            }
                        }
                    }
                    _ => {
                        let _ = me.client.get_task().task_id(Uuid::now_v7()).send().await;
                    }
                }
            }
        }
    };
    let syncer = async {
        let mut replica = Replica::new();
        let mut choices = Choices(seed | 1);
        let started = tokio::time::Instant::now();
        while started.elapsed() < Duration::from_millis(150) {
            let limit = page(1 + choices.below(4) as u64);
            replica
                .sync(&writers[1].client, limit)
                .await
                .expect("synced");
        }
        replica
    };
    let (_, _, _, mut replica) = tokio::join!(write(0), write(1), write(2), syncer);
    replica
        .sync(&writers[1].client, page(3))
        .await
        .expect("the last sync");
    assert_replica_is_current(&writers[1], &replica, &format!("seed {seed}")).await;
}

#[tokio::test]
async fn concurrent_writers_never_make_the_replica_miss_a_change() {
    let app = TestApp::configured(without_rate_limits).await;
    for seed in 1..=SEEDS {
        one_seed(&app, seed).await;
    }
}

#[tokio::test]
async fn the_sdk_reports_an_expired_token_as_its_problem_type() {
    let (app, alice) = TestApp::with_user().await;
    // Issued in 1970.
    let old = app.forge_sync_token(alice.id, "1/1000000/S/3:3:");
    let error = ApiError::from(alice.client.sync().token(old).send().await.unwrap_err());
    let problem = error.problem().expect("a problem");
    assert_eq!(problem.problem_type, ProblemType::SyncTokenExpired);
}
