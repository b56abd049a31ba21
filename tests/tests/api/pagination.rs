use std::{collections::HashSet, num::NonZeroU32};

use taskapi_client::{Client, types};
use taskapi_tests::{TestApp, problem, task_titled};

async fn create_tasks(client: &Client, count: usize) -> Vec<uuid::Uuid> {
    let mut ids = Vec::with_capacity(count);
    for n in 0..count {
        let task = client
            .create_task()
            .body(task_titled(&format!("Task {n}")))
            .send()
            .await
            .expect("created")
            .into_inner();
        ids.push(task.id);
    }
    ids
}

async fn all_pages(client: &Client, limit: u32) -> Vec<Vec<types::Task>> {
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut request = client
            .list_tasks()
            .limit(NonZeroU32::new(limit).expect("non-zero"));
        if let Some(cursor) = cursor.take() {
            request = request.cursor(cursor);
        }
        let page = request.send().await.expect("listed").into_inner();
        pages.push(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return pages,
        }
        assert!(pages.len() < 100, "pagination does not end");
    }
}

#[tokio::test]
async fn paging_through_130_tasks_sees_each_once_newest_first() {
    let app = TestApp::spawn().await;
    let alice = app.signed_up_user().await;
    let created = create_tasks(&alice.client, 135).await;

    let pages = all_pages(&alice.client, 20).await;

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
async fn the_default_page_is_fifty_and_the_last_page_has_no_cursor() {
    let app = TestApp::spawn().await;
    let alice = app.signed_up_user().await;
    create_tasks(&alice.client, 51).await;

    let first = alice
        .client
        .list_tasks()
        .send()
        .await
        .expect("listed")
        .into_inner();
    assert_eq!(first.items.len(), 50);
    let cursor = first.next_cursor.expect("a second page");
    let second = alice
        .client
        .list_tasks()
        .cursor(cursor)
        .send()
        .await
        .expect("listed")
        .into_inner();
    assert_eq!(second.items.len(), 1);
    assert_eq!(second.next_cursor, None);

    // Exactly a full page: no cursor to an empty page.
    let exact = alice
        .client
        .list_tasks()
        .limit(NonZeroU32::new(51).expect("non-zero"))
        .send()
        .await
        .expect("listed")
        .into_inner();
    assert_eq!(exact.items.len(), 51);
    assert_eq!(exact.next_cursor, None);
}

#[tokio::test]
async fn a_new_user_has_an_empty_list() {
    let app = TestApp::spawn().await;
    let alice = app.signed_up_user().await;
    let page = alice
        .client
        .list_tasks()
        .send()
        .await
        .expect("listed")
        .into_inner();
    assert!(page.items.is_empty());
    assert_eq!(page.next_cursor, None);
}

#[tokio::test]
async fn page_sizes_outside_1_to_100_and_foreign_cursors_are_refused() {
    let app = TestApp::spawn().await;
    let alice = app.signed_up_user().await;

    let too_big = problem(
        alice
            .client
            .list_tasks()
            .limit(NonZeroU32::new(101).expect("non-zero"))
            .send()
            .await,
    );
    assert_eq!(too_big.status().as_u16(), 400);

    // The SDK cannot send 0 or a non-number; the server must still refuse them cleanly.
    for query in ["limit=0", "limit=-1", "limit=abc", "limit=99999999999"] {
        let response = app
            .http
            .get(app.url(&format!("/tasks?{query}")))
            .bearer_auth(&alice.token)
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status().as_u16(), 400, "{query}");
        assert_eq!(
            response.headers().get("content-type").map(|v| v.as_bytes()),
            Some(&b"application/problem+json"[..])
        );
    }

    // An empty cursor is malformed (the schema says at least one character), not "start
    // over": a client that loops on `next_cursor.unwrap_or_default()` must not restart.
    // The SDK refuses to send it at all; the server must still answer it.
    let empty = app
        .http
        .get(app.url("/tasks?cursor="))
        .bearer_auth(&alice.token)
        .send()
        .await
        .expect("sent");
    assert_eq!(empty.status().as_u16(), 400);

    for cursor in ["garbage", "MTIzNDU2Nzg5MC5ub3QtYS11dWlk", "%00"] {
        let refused = problem(alice.client.list_tasks().cursor(cursor).send().await);
        assert_eq!(refused.status().as_u16(), 422, "{cursor:?}");
        assert!(refused.errors.contains_key("cursor"));
    }
}
