//! Tags: set on tasks, compared ignoring case per user, listed with counts, renamed,
//! merged and deleted across every task at once.

use futures::TryStreamExt;
use taskapi_client::{pages::Listing, types};
use taskapi_tests::{TestApp, TestUser, etag_of, problem, task_titled};

fn tagged(title: &str, tags: &[&str]) -> types::TaskInput {
    types::TaskInput {
        tags: tags
            .iter()
            .map(|t| (*t).try_into().expect("fits"))
            .collect(),
        ..task_titled(title)
    }
}

/// Every tag of `user`, walking pages of `limit`: `(name, task_count)`.
async fn all_tags(user: &TestUser, limit: u64) -> Vec<(String, i64)> {
    user.client
        .list_tags()
        .limit(limit)
        .items()
        .map_ok(|tag| (tag.name, tag.task_count))
        .try_collect()
        .await
        .expect("listed")
}

#[tokio::test]
async fn tags_are_trimmed_deduplicated_and_keep_their_first_spelling() {
    let (app, alice) = TestApp::with_user().await;
    let first = alice
        .create(tagged("Plan the week", &["  Work ", "focus"]))
        .await;
    assert_eq!(first.tags, ["focus", "Work"]);
    let second = alice
        .create(tagged("Ship it", &["WORK", "work", "Deploy"]))
        .await;
    assert_eq!(second.tags, ["Deploy", "Work"], "one tag, first spelling");

    // PATCH replaces the set; `[]` empties it; PUT without tags empties it too.
    let patched = alice
        .client
        .update_task()
        .task_id(second.id)
        .body(types::TaskPatch::builder().tags(Some(vec!["FOCUS".try_into().expect("fits")])))
        .send()
        .await
        .expect("patched")
        .into_inner();
    assert_eq!(patched.tags, ["focus"]);
    let replaced = alice.replace(first.id, task_titled("Plan the week")).await;
    assert!(replaced.tags.is_empty());
    let untouched = alice
        .client
        .update_task()
        .task_id(second.id)
        .body(types::TaskPatch::builder().title(Some("Ship it now".try_into().expect("fits"))))
        .send()
        .await
        .expect("patched")
        .into_inner();
    assert_eq!(untouched.tags, ["focus"], "a patch without tags keeps them");

    // Another user's spelling is theirs alone.
    let bob = app.signed_up_user().await;
    let theirs = bob.create(tagged("Bob's", &["WORK"])).await;
    assert_eq!(theirs.tags, ["WORK"]);
}

#[tokio::test]
async fn invalid_tags_are_refused_by_name() {
    let (_app, alice) = TestApp::with_user().await;
    let long = "x".repeat(51);
    let many: Vec<String> = (0..21).map(|i| format!("tag {i}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    for (tags, why) in [
        (many, "more than 20"),
        (vec!["two\nlines"], "a line break"),
        (vec!["   "], "blank"),
        (vec![long.as_str()], "too long"),
    ] {
        let body = serde_json::json!({"title": "t", "tags": tags});
        let response = alice
            .raw(reqwest::Method::POST, "/tasks")
            .json(&body)
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status().as_u16(), 422, "{why}");
        let problem: serde_json::Value = response.json().await.expect("a problem");
        let errors = problem["errors"].as_object().expect("errors");
        assert!(
            errors.keys().any(|field| field.starts_with("tags")),
            "{why}: {problem}"
        );
    }
}

#[tokio::test]
async fn tags_are_listed_by_name_with_counts_a_page_at_a_time() {
    let (app, alice) = TestApp::with_user().await;
    alice.create(tagged("a", &["Home", "work"])).await;
    alice.create(tagged("b", &["home", "Errands"])).await;
    alice.create(tagged("c", &["zeta", "Ünïcode"])).await;
    let expected = vec![
        ("Errands".to_owned(), 1),
        ("Home".to_owned(), 2),
        ("work".to_owned(), 1),
        ("zeta".to_owned(), 1),
        ("Ünïcode".to_owned(), 1),
    ];
    for limit in [1, 2, 50] {
        assert_eq!(all_tags(&alice, limit).await, expected, "pages of {limit}");
    }
    let bob = app.signed_up_user().await;
    assert!(all_tags(&bob, 10).await.is_empty(), "Alice's tags are hers");
}

/// Renames `user`'s tag `from` to `to` (merging when `merge`), as the SDK answers.
async fn rename(
    user: &TestUser,
    from: &str,
    to: &str,
    merge: bool,
) -> Result<taskapi_client::ResponseValue<types::Tag>, taskapi_client::Error<types::Problem>> {
    user.client
        .rename_tag()
        .name(from)
        .merge(merge)
        .body(types::TagRename::builder().name(to))
        .send()
        .await
}

#[tokio::test]
async fn renaming_a_tag_changes_every_task_that_carries_it_as_a_new_version() {
    let (app, alice) = TestApp::with_user().await;
    let a = alice.create(tagged("a", &["Work", "home"])).await;
    let b = alice.create(tagged("b", &["work"])).await;
    let c = alice.create(tagged("c", &["home"])).await;
    let before = etag_of(&alice.task_response(a.id).await);

    let renamed = rename(&alice, "WORK", " Job ", false)
        .await
        .expect("renamed")
        .into_inner();
    assert_eq!((renamed.name.as_str(), renamed.task_count), ("Job", 2));
    let after = alice.task_response(a.id).await;
    assert_ne!(
        etag_of(&after),
        before,
        "a changed representation is a new version"
    );
    let a_now = after.into_inner();
    assert_eq!(a_now.tags, ["home", "Job"]);
    assert!(a_now.updated_at > a.updated_at);
    assert_eq!(alice.task(b.id).await.tags, ["Job"]);
    assert_eq!(alice.task(c.id).await.tags, ["home"], "untouched");

    // A respelling is a rename to the same tag.
    let respelled = rename(&alice, "job", "JOB", false)
        .await
        .expect("respelled")
        .into_inner();
    assert_eq!(respelled.name, "JOB");
    assert_eq!(alice.task(b.id).await.tags, ["JOB"]);

    // Tag names with slashes and spaces travel in the path.
    alice.create(tagged("d", &["home/garden x"])).await;
    let slashed = rename(&alice, "Home/Garden X", "garden", false)
        .await
        .expect("renamed")
        .into_inner();
    assert_eq!(slashed.name, "garden");

    // Another user's tag of that name is not Alice's to rename.
    let bob = app.signed_up_user().await;
    let refused = problem(rename(&bob, "home", "mine", false).await);
    assert_eq!(refused.status().as_u16(), 404);
    assert_eq!(alice.task(c.id).await.tags, ["home"]);
}

#[tokio::test]
async fn renaming_onto_an_existing_tag_merges_only_when_asked() {
    let (_app, alice) = TestApp::with_user().await;
    let both = alice.create(tagged("both", &["chores", "Home"])).await;
    let chores = alice.create(tagged("chores only", &["chores"])).await;
    let home = alice.create(tagged("home only", &["home"])).await;

    let refused = problem(rename(&alice, "chores", "HOME", false).await);
    assert_eq!(refused.status().as_u16(), 409);
    assert_eq!(refused.type_, "urn:taskapi:problem:tag-exists");
    assert_eq!(
        alice.task(chores.id).await.tags,
        ["chores"],
        "nothing changed"
    );

    let merged = rename(&alice, "chores", "HOME", true)
        .await
        .expect("merged")
        .into_inner();
    assert_eq!((merged.name.as_str(), merged.task_count), ("Home", 3));
    for id in [both.id, chores.id, home.id] {
        assert_eq!(alice.task(id).await.tags, ["Home"]);
    }
    assert_eq!(all_tags(&alice, 10).await, [("Home".to_owned(), 3)]);
}

#[tokio::test]
async fn deleting_a_tag_takes_it_off_every_task_and_forgets_it() {
    let (app, alice) = TestApp::with_user().await;
    let a = alice.create(tagged("a", &["temp", "keep"])).await;
    let b = alice.create(tagged("b", &["Temp"])).await;
    let bob = app.signed_up_user().await;
    let bobs = bob.create(tagged("bob's", &["temp"])).await;

    let missing = problem(alice.client.delete_tag().name("never").send().await);
    assert_eq!(missing.status().as_u16(), 404);
    alice
        .client
        .delete_tag()
        .name("TEMP")
        .send()
        .await
        .expect("deleted");
    assert_eq!(alice.task(a.id).await.tags, ["keep"]);
    assert!(alice.task(b.id).await.tags.is_empty());
    assert_eq!(all_tags(&alice, 10).await, [("keep".to_owned(), 1)]);
    let again = problem(alice.client.delete_tag().name("temp").send().await);
    assert_eq!(again.status().as_u16(), 404);
    // A new spelling is a new tag now.
    let fresh = alice.create(tagged("c", &["TEMP"])).await;
    assert_eq!(fresh.tags, ["TEMP"]);
    assert_eq!(bob.task(bobs.id).await.tags, ["temp"], "Bob's tag is his");
}
