use std::{collections::HashSet, num::NonZeroU32};

use reqwest::Method;
use taskapi_api::paging::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
use taskapi_client::types;
use taskapi_tests::{TestApp, TestUser, expect_problem, problem};

async fn create_tasks(user: &TestUser, count: usize) -> Vec<uuid::Uuid> {
    let mut ids = Vec::with_capacity(count);
    for n in 0..count {
        ids.push(user.create_task(&format!("Task {n}")).await.id);
    }
    ids
}

#[tokio::test]
async fn paging_through_135_tasks_sees_each_once_newest_first() {
    let (_app, alice) = TestApp::with_user().await;
    let created = create_tasks(&alice, 135).await;

    let pages = alice.all_pages(20).await;

    let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
    assert_eq!(sizes, [20, 20, 20, 20, 20, 20, 15]);
    let listed: Vec<&types::Task> = pages.iter().flatten().collect();
    let ids: Vec<uuid::Uuid> = listed.iter().map(|task| task.id).collect();
    let unique: HashSet<uuid::Uuid> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "no task repeats");
    assert_eq!(
        unique,
        created.iter().copied().collect(),
        "no task is missing"
    );
    for pair in listed.windows(2) {
        let (newer, older) = (pair[0], pair[1]);
        assert!(
            (newer.created_at, newer.id) > (older.created_at, older.id),
            "newest first, ties broken by id"
        );
    }
    let mut newest_first = created.clone();
    newest_first.reverse();
    assert_eq!(
        ids, newest_first,
        "created one after another, so listed in reverse"
    );
}

#[tokio::test]
async fn the_default_page_size_applies_and_the_last_page_has_no_cursor() {
    let (_app, alice) = TestApp::with_user().await;
    let default = usize::from(DEFAULT_PAGE_SIZE);
    create_tasks(&alice, default + 1).await;

    let first = alice.tasks().await;
    assert_eq!(first.items.len(), default);
    let cursor = first.next_cursor.expect("a second page");
    let second = alice.page(None, Some(cursor)).await;
    assert_eq!(second.items.len(), 1);
    assert_eq!(second.next_cursor, None);

    // Exactly a full page: no cursor to an empty page.
    let exact = alice
        .page(Some(u32::from(DEFAULT_PAGE_SIZE) + 1), None)
        .await;
    assert_eq!(exact.items.len(), default + 1);
    assert_eq!(exact.next_cursor, None);
}

#[tokio::test]
async fn a_new_user_has_an_empty_list() {
    let (_app, alice) = TestApp::with_user().await;
    let page = alice.tasks().await;
    assert!(page.items.is_empty());
    assert_eq!(page.next_cursor, None);
}

/// A query value that is not even of the parameter's type is malformed (400); one of the
/// right type that the contract does not admit is an invalid field (422), named in `errors`.
#[tokio::test]
async fn page_sizes_out_of_range_and_foreign_cursors_are_refused() {
    let (_app, alice) = TestApp::with_user().await;

    let too_big = problem(
        alice
            .client
            .list_tasks()
            .limit(NonZeroU32::new(u32::from(MAX_PAGE_SIZE) + 1).expect("non-zero"))
            .send()
            .await,
    );
    assert_eq!(too_big.status().as_u16(), 422);
    assert!(too_big.errors.contains_key("limit"));

    // The SDK cannot send these; the server must still refuse them cleanly.
    for query in ["limit=0", "limit=-1", "limit=99999999999999999999999"] {
        let problem = expect_problem(alice.raw(Method::GET, &format!("/tasks?{query}")), 422).await;
        assert!(problem["errors"]["limit"].is_array(), "{query}: {problem}");
    }
    for query in ["limit=abc", "limit=1.5", "limit="] {
        let problem = expect_problem(alice.raw(Method::GET, &format!("/tasks?{query}")), 400).await;
        let detail = problem["detail"].as_str().unwrap_or_default();
        assert!(detail.contains("`limit`"), "{query}: {problem}");
    }

    // An empty cursor is not "start over": a client that loops on
    // `next_cursor.unwrap_or_default()` must not restart. The SDK refuses to send it.
    for cursor in [
        "",
        "garbage",
        "MTIzNDU2Nzg5MC5ub3QtYS11dWlk",
        "%00",
        &"A".repeat(600),
    ] {
        let path = format!("/tasks?cursor={cursor}");
        let problem = expect_problem(alice.raw(Method::GET, &path), 422).await;
        assert!(
            problem["errors"]["cursor"].is_array(),
            "{cursor:?}: {problem}"
        );
    }
    let refused = problem(alice.client.list_tasks().cursor("garbage").send().await);
    assert_eq!(refused.status().as_u16(), 422);
    assert!(refused.errors.contains_key("cursor"));
}

/// Whatever a client passes as a cursor, the server never fails: a forged time far outside
/// what the database can compare, a wrong alphabet, garbage of any length is a client error;
/// a well-formed position (the accepted exception) is simply a page.
#[tokio::test]
async fn any_string_as_a_cursor_is_a_client_error() {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

    let (_app, alice) = TestApp::with_user().await;
    // A small deterministic generator (xorshift): the same cases on every run.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let alphabet = b"AZaz09_-.%+/=~ \x7f";
    for case in 0..200 {
        let cursor = match case % 3 {
            // A well-formed cursor around any time at all.
            0 => URL_SAFE_NO_PAD.encode(format!(
                "{}.{}",
                next() as i64,
                uuid::Uuid::from_u64_pair(next(), next()).simple()
            )),
            // Characters of the cursor's alphabet and others.
            1 => (0..next() % 80)
                .map(|_| char::from(alphabet[(next() % alphabet.len() as u64) as usize]))
                .collect(),
            // Any bytes, encoded.
            _ => {
                URL_SAFE_NO_PAD.encode((0..next() % 120).map(|_| next() as u8).collect::<Vec<_>>())
            }
        };
        let response = alice
            .raw(Method::GET, "/tasks")
            .query(&[("cursor", cursor.as_str())])
            .send()
            .await
            .expect("sent");
        let status = response.status().as_u16();
        assert!(
            status == 200 || (400..500).contains(&status),
            "cursor {cursor:?}: {status}"
        );
    }
}
