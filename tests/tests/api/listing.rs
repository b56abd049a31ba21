//! Listing tasks: filters that combine, prefix search, every sort order, and keyset pages
//! that carry their order and filters, all through the generated SDK.

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use futures::TryStreamExt;
use taskapi_client::{pages::Listing, sort::TaskSort, types};
use taskapi_tests::{TestApp, TestUser, problem, task_titled};
use uuid::Uuid;

/// A task input with every field that listings look at.
fn input(
    title: &str,
    status: types::TaskStatus,
    priority: types::TaskPriority,
    due_at: Option<DateTime<Utc>>,
    tags: &[&str],
) -> types::TaskInput {
    types::TaskInput {
        status: Some(status),
        priority: Some(priority),
        due_at,
        tags: tags
            .iter()
            .map(|t| (*t).try_into().expect("fits"))
            .collect(),
        ..task_titled(title)
    }
}

fn titles(tasks: &[types::Task]) -> Vec<String> {
    tasks.iter().map(|task| task.title.clone()).collect()
}

/// Every task of a listing, page by page (`limit` a page) through the SDK's stream;
/// `build` sets the filters and order.
async fn walk(
    user: &TestUser,
    limit: u64,
    build: impl Fn(taskapi_client::builder::ListTasks<'_>) -> taskapi_client::builder::ListTasks<'_>,
) -> Vec<types::Task> {
    build(user.client.list_tasks())
        .limit(limit)
        .items()
        .try_collect()
        .await
        .expect("listed")
}

/// Alice's tasks for the filter tests, by title.
async fn alice_with_tasks() -> (TestApp, TestUser) {
    use types::{TaskPriority as P, TaskStatus as S};
    let (app, alice) = TestApp::with_user().await;
    let now = Utc::now();
    for task in [
        input(
            "Dentist appointment",
            S::Todo,
            P::High,
            Some(now + Duration::days(2)),
            &["Health"],
        ),
        input(
            "Pay rent",
            S::Todo,
            P::Urgent,
            Some(now - Duration::days(1)),
            &["Home", "money"],
        ),
        input(
            "File taxes",
            S::InProgress,
            P::Urgent,
            Some(now + Duration::days(20)),
            &["money"],
        ),
        input(
            "Old report",
            S::Done,
            P::Normal,
            Some(now - Duration::days(3)),
            &["work"],
        ),
        input("Read a book", S::Todo, P::Low, None, &[]),
        input(
            "Team offsite",
            S::InProgress,
            P::Normal,
            None,
            &["Work", "travel"],
        ),
    ] {
        alice.create(task).await;
    }
    (app, alice)
}

fn sorted(mut titles: Vec<String>) -> Vec<String> {
    titles.sort();
    titles
}

#[tokio::test]
async fn filters_combine_and_every_one_must_hold() {
    use types::{TaskPriority as P, TaskStatus as S};
    let (_app, alice) = alice_with_tasks().await;
    let now = Utc::now();
    let found = |tasks: Vec<types::Task>| sorted(titles(&tasks));
    let expect = |names: &[&str]| sorted(names.iter().map(|n| (*n).to_owned()).collect());

    let open = walk(&alice, 10, |r| r.status(vec![S::Todo, S::InProgress])).await;
    assert_eq!(
        found(open),
        expect(&[
            "Dentist appointment",
            "File taxes",
            "Pay rent",
            "Read a book",
            "Team offsite"
        ])
    );
    let open_urgent = walk(&alice, 10, |r| {
        r.status(vec![S::Todo, S::InProgress])
            .priority(vec![P::Urgent])
    })
    .await;
    assert_eq!(found(open_urgent), expect(&["File taxes", "Pay rent"]));
    // Tags compare ignoring case, and a task must carry every tag asked for.
    let work = walk(&alice, 10, |r| {
        r.tag(vec!["WORK".try_into().expect("fits")])
    })
    .await;
    assert_eq!(found(work), expect(&["Old report", "Team offsite"]));
    let home_money = walk(&alice, 10, |r| {
        r.tag(vec![
            "home".try_into().expect("fits"),
            "Money".try_into().expect("fits"),
        ])
    })
    .await;
    assert_eq!(found(home_money), expect(&["Pay rent"]));
    let unknown_tag = walk(&alice, 10, |r| {
        r.tag(vec![
            "money".try_into().expect("fits"),
            "nope".try_into().expect("fits"),
        ])
    })
    .await;
    assert!(unknown_tag.is_empty());
    // "This week": due at or after now, and before a week from now.
    let this_week = walk(&alice, 10, |r| {
        r.due_after(now).due_before(now + Duration::days(7))
    })
    .await;
    assert_eq!(found(this_week), expect(&["Dentist appointment"]));
    let overdue = walk(&alice, 10, |r| r.overdue(true)).await;
    assert_eq!(found(overdue), expect(&["Pay rent"]));
    let not_overdue = walk(&alice, 10, |r| r.overdue(false)).await;
    assert_eq!(not_overdue.len(), 5);
    let undated = walk(&alice, 10, |r| r.has_due(false)).await;
    assert_eq!(found(undated), expect(&["Read a book", "Team offsite"]));
    let dated_open = walk(&alice, 10, |r| r.has_due(true).status(vec![S::Todo])).await;
    assert_eq!(
        found(dated_open),
        expect(&["Dentist appointment", "Pay rent"])
    );
}

#[tokio::test]
async fn updated_since_finds_what_changed_for_a_syncing_client() {
    let (_app, alice) = alice_with_tasks().await;
    let all = alice.all_tasks().await;
    let since = all.iter().map(|task| task.updated_at).max().expect("tasks");
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let changed = all
        .iter()
        .find(|t| t.title == "Read a book")
        .expect("there");
    alice
        .replace(changed.id, task_titled("Read two books"))
        .await;
    let synced = walk(&alice, 10, |r| {
        r.updated_since(since + Duration::microseconds(1))
    })
    .await;
    assert_eq!(titles(&synced), ["Read two books"]);
}

#[tokio::test]
async fn search_matches_word_prefixes_in_title_description_and_tags() {
    let (app, alice) = alice_with_tasks().await;
    alice
        .create(types::TaskInput {
            description: Some("Call the dentist's office first".try_into().expect("fits")),
            ..task_titled("Errand")
        })
        .await;
    let search = |q: &'static str| walk(&alice, 10, move |r| r.q(q));
    assert_eq!(
        sorted(titles(&search("dent").await)),
        ["Dentist appointment", "Errand"]
    );
    // Every word must match, each at the start of a word, ignoring case.
    assert_eq!(
        titles(&search("DENT appoint").await),
        ["Dentist appointment"]
    );
    assert_eq!(
        titles(&search("trav").await),
        ["Team offsite"],
        "tags are searched"
    );
    assert!(
        search("entist").await.is_empty(),
        "prefixes, not substrings"
    );
    assert!(search("dentist zebra").await.is_empty());
    // The search splits words as it splits the tasks' text: a path-like tag is one word.
    alice
        .create(input(
            "Plant bulbs",
            types::TaskStatus::Todo,
            types::TaskPriority::Low,
            None,
            &["home/garden"],
        ))
        .await;
    assert_eq!(titles(&search("HOME/gard").await), ["Plant bulbs"]);
    // Only Alice's words are searched.
    let bob = app.signed_up_user().await;
    assert!(walk(&bob, 10, |r| r.q("dent")).await.is_empty());
    // Search combines with filters.
    let open = walk(&alice, 10, |r| {
        r.q("money").status(vec![types::TaskStatus::InProgress])
    })
    .await;
    assert_eq!(titles(&open), ["File taxes"]);

    let refused = problem(alice.client.list_tasks().q("?! ...").send().await);
    assert_eq!(refused.status().as_u16(), 422);
    assert!(&refused.errors.contains_key("q"));
}

/// The order `sort` must produce, computed here from the tasks themselves.
fn expected_order(tasks: &[types::Task], sort: TaskSort) -> Vec<Uuid> {
    let rank = |p: types::TaskPriority| match p {
        types::TaskPriority::Low => 0,
        types::TaskPriority::Normal => 1,
        types::TaskPriority::High => 2,
        types::TaskPriority::Urgent => 3,
    };
    let mut tasks: Vec<&types::Task> = tasks.iter().collect();
    // Ids are UUIDv7: in creation order, the tie-breaker in every order.
    tasks.sort_by(|a, b| {
        let natural = match sort {
            TaskSort::CreatedAt | TaskSort::CreatedAtReversed => {
                b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id))
            }
            TaskSort::UpdatedAt | TaskSort::UpdatedAtReversed => {
                b.updated_at.cmp(&a.updated_at).then(b.id.cmp(&a.id))
            }
            TaskSort::DueAt | TaskSort::DueAtReversed => {
                let due = |t: &types::Task| (t.due_at.is_none(), t.due_at);
                due(a).cmp(&due(b)).then(a.id.cmp(&b.id))
            }
            TaskSort::Priority | TaskSort::PriorityReversed => rank(b.priority)
                .cmp(&rank(a.priority))
                .then(b.id.cmp(&a.id)),
            TaskSort::Title | TaskSort::TitleReversed => a
                .title
                .to_lowercase()
                .cmp(&b.title.to_lowercase())
                .then(a.id.cmp(&b.id)),
        };
        if sort.as_str().starts_with('-') {
            natural.reverse()
        } else {
            natural
        }
    });
    tasks.iter().map(|task| task.id).collect()
}

#[tokio::test]
async fn every_sort_order_pages_through_every_task_once_in_order() {
    use types::{TaskPriority as P, TaskStatus as S};
    let (_app, alice) = alice_with_tasks().await;
    let now = Utc::now();
    // Ties on every sort field, so the tie-breaker is exercised across page boundaries.
    for (title, priority, due) in [
        ("apple", P::Urgent, Some(now + Duration::days(2))),
        ("Apple", P::Urgent, None),
        ("banana", P::Low, Some(now + Duration::days(2))),
    ] {
        alice
            .create(input(title, S::Todo, priority, due, &[]))
            .await;
    }
    let all = alice.all_tasks().await;
    assert_eq!(all.len(), 9);
    for sort in TaskSort::ALL {
        for limit in [1, 2, 4] {
            let walked = walk(&alice, limit, |r| r.sort(sort)).await;
            let ids: Vec<Uuid> = walked.iter().map(|task| task.id).collect();
            assert_eq!(ids, expected_order(&all, sort), "{sort} by {limit}");
        }
    }
    // Sorting combines with filters.
    let urgent_by_title = walk(&alice, 1, |r| {
        r.priority(vec![P::Urgent]).sort(TaskSort::TitleReversed)
    })
    .await;
    assert_eq!(
        titles(&urgent_by_title),
        ["Pay rent", "File taxes", "Apple", "apple"]
    );
}

#[tokio::test]
async fn pages_neither_repeat_nor_skip_tasks_while_others_change() {
    let (_app, alice) = TestApp::with_user().await;
    let mut originals = Vec::new();
    for i in 0..12 {
        originals.push(alice.create_task(&format!("task {i:02}")).await.id);
    }
    for sort in [
        TaskSort::CreatedAt,
        TaskSort::Title,
        TaskSort::DueAt,
        TaskSort::Priority,
    ] {
        let mut seen: Vec<Uuid> = Vec::new();
        let mut cursor: Option<String> = None;
        let mut deleted: HashSet<Uuid> = HashSet::new();
        loop {
            let mut request = alice.client.list_tasks().sort(sort).limit(3_u64);
            if let Some(cursor) = cursor.take() {
                request = request.cursor(cursor);
            }
            let page = request.send().await.expect("listed").into_inner();
            seen.extend(page.items.iter().map(|task| task.id));
            let Some(next) = page.next_cursor else {
                break;
            };
            cursor = Some(next);
            // Between pages: a new task, a change that keeps every sort value, and a
            // deletion of a task not yet seen.
            alice.create_task(&format!("new during {sort}")).await;
            let unseen: Vec<Uuid> = originals
                .iter()
                .copied()
                .filter(|id| !seen.contains(id) && !deleted.contains(id))
                .collect();
            if let Some(last) = unseen.last() {
                alice
                    .client
                    .update_task()
                    .task_id(*last)
                    .body(
                        types::TaskPatch::builder()
                            .description(Some(Some("changed".try_into().expect("fits")))),
                    )
                    .send()
                    .await
                    .expect("changed");
            }
            if let Some(first) = unseen.first() {
                alice
                    .client
                    .delete_task()
                    .task_id(*first)
                    .send()
                    .await
                    .expect("deleted");
                deleted.insert(*first);
            }
        }
        let unique: HashSet<Uuid> = seen.iter().copied().collect();
        assert_eq!(unique.len(), seen.len(), "{sort}: a task was repeated");
        for id in &originals {
            if !deleted.contains(id) {
                assert!(seen.contains(id), "{sort}: a task that stayed was skipped");
            }
        }
        // Start the next order from the same tasks.
        for id in deleted {
            originals.retain(|kept| *kept != id);
        }
    }
}

#[tokio::test]
async fn a_cursor_only_continues_the_listing_it_came_from() {
    let (_app, alice) = alice_with_tasks().await;
    let first = alice
        .client
        .list_tasks()
        .sort(TaskSort::Title)
        .status(vec![types::TaskStatus::Todo])
        .limit(1_u64)
        .send()
        .await
        .expect("listed")
        .into_inner();
    let cursor = first.next_cursor.expect("more pages");
    for other in [
        alice
            .client
            .list_tasks()
            .sort(TaskSort::DueAt)
            .status(vec![types::TaskStatus::Todo]),
        alice.client.list_tasks().sort(TaskSort::Title),
        alice
            .client
            .list_tasks()
            .sort(TaskSort::Title)
            .status(vec![types::TaskStatus::Todo])
            .q("dent"),
    ] {
        let refused = problem(other.cursor(cursor.clone()).send().await);
        assert_eq!(refused.status().as_u16(), 422);
        let errors = &refused.errors;
        assert!(errors["cursor"][0].contains("other filters"), "{errors:?}");
    }
    // The same listing, its filters written in another order, goes on.
    let raw = alice
        .raw(
            reqwest::Method::GET,
            &format!("/tasks?status=todo&status=todo&sort=title&limit=1&cursor={cursor}"),
        )
        .send()
        .await
        .expect("sent");
    assert_eq!(raw.status().as_u16(), 200);
}

#[tokio::test]
async fn bad_filters_are_named() {
    let (_app, alice) = TestApp::with_user().await;
    let too_many: Vec<types::ListTasksTagItem> = (0..21)
        .map(|i| format!("tag {i}").try_into().expect("fits"))
        .collect();
    let refused = problem(alice.client.list_tasks().tag(too_many).send().await);
    assert_eq!(refused.status().as_u16(), 422);
    assert!(&refused.errors.contains_key("tag"));
    for query in [
        "status=someday",
        "sort=sideways",
        "overdue=maybe",
        "due_before=tomorrow",
    ] {
        let response = alice
            .raw(reqwest::Method::GET, &format!("/tasks?{query}"))
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status().as_u16(), 400, "{query}");
    }
    let far = alice
        .raw(
            reqwest::Method::GET,
            "/tasks?due_after=10000-01-01T00:00:00Z",
        )
        .send()
        .await
        .expect("sent");
    assert!(
        matches!(far.status().as_u16(), 400 | 422),
        "{}",
        far.status()
    );
}

/// Whether a task's words (title and tags, as the search document has them) include one
/// that starts with `prefix`, ignoring case.
fn has_word_starting(task: &types::Task, prefix: &str) -> bool {
    let tags = task.tags.iter().map(String::as_str);
    (task.title.split_whitespace().chain(tags)).any(|word| word.to_lowercase().starts_with(prefix))
}

/// Listings across many lists, with more tasks than a tag or a search walks in order
/// (`store::tasks::WALK`, 1,000) before it collects the matches from the GIN indexes
/// instead, and more lists than are merged one by one (64): every listing pages through
/// exactly the visible tasks that match, in its order, whichever way the server reads
/// them, and never a task of a list the caller cannot see.
#[tokio::test]
async fn listings_across_many_lists_are_every_visible_match_in_order() {
    let (app, [alice, bob]) = TestApp::with_users::<2>().await;
    let mut visible = vec![alice.inbox().await.id];
    for n in 1..70 {
        visible.push(alice.create_list(&format!("List {n}")).await.id);
    }
    let shared = bob.create_list("Bob's, shared").await.id;
    bob.share(shared, &alice, types::ListRole::Viewer).await;
    visible.push(shared);
    let hidden = bob.create_list("Bob's own").await.id;
    // In SQL: the API would take minutes. 1,200 tasks in the Inbox and 200 round the
    // other lists; every other one says "common", three old ones of the Inbox "rarest"
    // (past the first 1,000 newest), every seventh is Alice's, and ties on every sort
    // key. Bob's own list has the same words and assignee, which Alice must never see.
    let db = app.database().await;
    sqlx::query(
        "INSERT INTO tasks (id, list_id, title, status, priority, due_at, created_at,
                            updated_at, tags, assignee_id)
         SELECT gen_random_uuid(), list, title, 'todo',
                (ARRAY['low','normal','high','urgent'])[1 + g % 4],
                CASE WHEN g % 3 > 0 THEN now() + (g % 50) * interval '1 hour' END,
                now() - (g / 3) * interval '1 minute', now(), tags,
                CASE WHEN g % 7 = 0 THEN $3::uuid END
         FROM (
           SELECT g,
                  CASE WHEN g > 1400 THEN $2
                       WHEN g <= 1200 THEN $1[1]
                       ELSE $1[1 + g % array_length($1, 1)] END AS list,
                  'Task ' || g || CASE WHEN g % 2 = 0 THEN ' common' ELSE '' END
                    || CASE WHEN g IN (1100, 1150, 1190) OR g > 1400 THEN ' rarest' ELSE '' END
                    AS title,
                  CASE WHEN g % 2 = 0 THEN ARRAY['common'] ELSE '{}' END
                    || CASE WHEN g IN (1100, 1150, 1190) OR g > 1400 THEN ARRAY['Rare'] ELSE '{}' END
                    AS tags
           FROM generate_series(1, 1450) AS g
         ) AS seeded",
    )
    .bind(&visible)
    .bind(hidden)
    .bind(alice.id)
    .execute(&db)
    .await
    .expect("seeded");
    sqlx::query(
        "INSERT INTO tags (list_id, key, name)
         SELECT DISTINCT list_id, lower(tag), tag FROM tasks, unnest(tags) AS tag
         ON CONFLICT DO NOTHING",
    )
    .execute(&db)
    .await
    .expect("tag vocabularies");

    let every = walk(&alice, 100, |r| r).await;
    assert_eq!(every.len(), 1400, "every visible task, once");
    assert!(every.iter().all(|task| visible.contains(&task.list_id)));
    let inbox = visible[0];
    let prefixed = |prefix: &'static str| move |task: &types::Task| has_word_starting(task, prefix);
    let tagged = |tag: &'static str| {
        move |task: &types::Task| task.tags.iter().any(|t| t.eq_ignore_ascii_case(tag))
    };
    type Build =
        fn(taskapi_client::builder::ListTasks<'_>) -> taskapi_client::builder::ListTasks<'_>;
    type Matches<'a> = Box<dyn Fn(&types::Task) -> bool + 'a>;
    let me = alice.id;
    let overdue = |task: &types::Task| task.due_at.is_some_and(|due| due < Utc::now());
    let cases: [(&str, Build, Matches<'_>); 8] = [
        ("q=common", |r| r.q("common"), Box::new(prefixed("common"))),
        ("q=rarest", |r| r.q("rarest"), Box::new(prefixed("rarest"))),
        ("q=zzz", |r| r.q("zzz"), Box::new(|_: &types::Task| false)),
        (
            "tag=RARE",
            |r| r.tag(vec!["RARE".try_into().expect("fits")]),
            Box::new(tagged("rare")),
        ),
        (
            "tag=common&q=comm",
            |r| r.tag(vec!["common".try_into().expect("fits")]).q("comm"),
            Box::new(|task: &types::Task| tagged("common")(task) && prefixed("comm")(task)),
        ),
        (
            "status=todo",
            |r| r.status(vec![types::TaskStatus::Todo]),
            Box::new(|_: &types::Task| true),
        ),
        (
            "tag=RARE&overdue=false",
            |r| r.tag(vec!["RARE".try_into().expect("fits")]).overdue(false),
            Box::new(move |task: &types::Task| tagged("rare")(task) && !overdue(task)),
        ),
        (
            "assignee=me",
            |r| r.assignee("me"),
            Box::new(move |task: &types::Task| task.assignee_id == Some(me)),
        ),
    ];
    for sort in TaskSort::ALL {
        for (name, build, matches) in &cases {
            let expected: Vec<types::Task> =
                every.iter().filter(|task| matches(task)).cloned().collect();
            let walked = walk(&alice, 100, |r| build(r).sort(sort)).await;
            let ids: Vec<Uuid> = walked.iter().map(|task| task.id).collect();
            assert_eq!(ids, expected_order(&expected, sort), "{name} by {sort}");
        }
        // One list of more than 1,000 tasks: a rare word past its first 1,000.
        let in_inbox: Vec<types::Task> = (every.iter())
            .filter(|task| task.list_id == inbox && has_word_starting(task, "rarest"))
            .cloned()
            .collect();
        assert_eq!(in_inbox.len(), 3);
        let walked = walk(&alice, 2, |r| r.list_id(inbox).q("rarest").sort(sort)).await;
        let ids: Vec<Uuid> = walked.iter().map(|task| task.id).collect();
        assert_eq!(
            ids,
            expected_order(&in_inbox, sort),
            "the Inbox's rarest by {sort}"
        );
    }
}
