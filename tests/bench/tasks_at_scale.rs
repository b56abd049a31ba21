//! The task listings at scale: seeds 1,000,000 tasks across 1,000 users (one owning
//! 100,000, one owning 1,000), then times each listing through the SDK against the real
//! server for both users, and `EXPLAIN (ANALYZE)`s the exact statement the server runs.
//!
//! ```text
//! cargo run --release -p taskapi-tests --bin bench-tasks -- [--tasks N] [--requests N] [--out FILE] [--keep]
//! ```
//!
//! Needs PostgreSQL (`TASKAPI_TEST_DATABASE_URL`, default `postgres://postgres@127.0.0.1:5432`);
//! the database it creates is dropped at the end. Prints a markdown table.

use std::{
    fmt::Write as _,
    time::{Duration, Instant},
};

use sea_query::PostgresQueryBuilder;
use sea_query_sqlx::SqlxBinder;
use serde_json::Value;
use sqlx::{AssertSqlSafe, PgPool};
use taskapi_api::{
    paging::{Cursor, PageLimit},
    tasks::{TagName, TaskSort, TaskStatus},
};
use taskapi_client::{sort::TaskSort as SdkSort, types};
use taskapi_server::{
    domain::{TaskListing, UserId},
    http::{self, TaskQuery},
    service::tasks::spell,
    store::tasks::list_statement,
};
use taskapi_tests::{TestApp, TestUser, test_settings};

/// What the command line asks for.
struct Options {
    tasks: u64,
    requests: usize,
    out: Option<String>,
    /// Keep the seeded database (its URL is printed) for a closer look.
    keep: bool,
}

fn options() -> Options {
    let mut options = Options {
        tasks: 1_000_000,
        requests: 200,
        out: None,
        keep: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| panic!("{arg} needs a value"));
        match arg.as_str() {
            "--tasks" => options.tasks = value().parse().expect("--tasks N"),
            "--requests" => options.requests = value().parse().expect("--requests N"),
            "--out" => options.out = Some(value()),
            "--keep" => options.keep = true,
            other => panic!("unknown argument {other}"),
        }
    }
    options
}

/// The listing page size every scenario uses.
const LIMIT: u64 = 20;
/// The page a cursor walk times.
const WALK_PAGE: usize = 50;
/// The word `q` searches for, and the tag `tag` filters by: each on a few percent of tasks.
const WORD: &str = "garden";
const TAG: &str = "tag07";

/// One timed listing.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Scenario {
    Default,
    TodoByDue,
    TagByPriority,
    Search,
    Page50,
}

impl Scenario {
    const ALL: [Self; 5] = [
        Self::Default,
        Self::TodoByDue,
        Self::TagByPriority,
        Self::Search,
        Self::Page50,
    ];

    fn label(self) -> &'static str {
        match self {
            Self::Default => "default list",
            Self::TodoByDue => "`status=todo&sort=due_at`",
            Self::TagByPriority => "`tag=tag07&sort=-priority`",
            Self::Search => "`q=garden`",
            Self::Page50 => "page 50 of a cursor walk",
        }
    }

    /// The query as the contract sees it (for `EXPLAIN`).
    fn query(self, cursor: Option<&str>) -> TaskQuery {
        let mut query = TaskQuery {
            limit: PageLimit(i64::try_from(LIMIT).expect("small")),
            ..TaskQuery::default()
        };
        match self {
            Self::Default => {}
            Self::TodoByDue => {
                query.status = vec![TaskStatus::Todo];
                query.sort = TaskSort::DueAt;
            }
            Self::TagByPriority => {
                query.tag = vec![TagName::new(TAG)];
                query.sort = TaskSort::PriorityReversed;
            }
            Self::Search => query.q = Some(taskapi_api::tasks::SearchText::new(WORD)),
            Self::Page50 => query.cursor = cursor.map(Cursor::new),
        }
        query
    }

    /// The same request through the SDK.
    async fn send(self, user: &TestUser, cursor: Option<&str>) -> types::TaskPage {
        let mut request = user.client.list_tasks().limit(LIMIT);
        request = match self {
            Self::Default => request,
            Self::TodoByDue => request
                .status(vec![types::TaskStatus::Todo])
                .sort(SdkSort::DueAt),
            Self::TagByPriority => request
                .tag(vec![TAG.try_into().expect("fits")])
                .sort(SdkSort::PriorityReversed),
            Self::Search => request.q(WORD),
            Self::Page50 => request.cursor(cursor.expect("a cursor").to_owned()),
        };
        request.send().await.expect("listed").into_inner()
    }
}

#[tokio::main]
async fn main() {
    let options = options();
    let mut settings = test_settings();
    settings.rate_limits.requests_per_minute = 0;
    settings.rate_limits.registrations_per_address = 0;
    let app = TestApp::spawn_with(settings).await;
    let big = app.signed_up_user().await;
    let small = app.signed_up_user().await;
    let db = app.database().await;

    let started = Instant::now();
    let big_tasks = options.tasks / 10;
    let small_tasks = options.tasks / 1000;
    seed(&db, &big, &small, options.tasks, big_tasks, small_tasks).await;
    let seeded = started.elapsed();
    eprintln!("seeded {} tasks in {seeded:.1?}", options.tasks);

    let mut report = String::new();
    let _ = writeln!(
        report,
        "Seeded {} tasks across 1,000 users in {:.0?} (big user: {big_tasks}, small user: \
         {small_tasks}). {} sequential requests per listing and user after 20 to warm up, \
         page size {LIMIT}, one client on loopback.\n",
        options.tasks, seeded, options.requests
    );
    let _ = writeln!(
        report,
        "| Listing | big p50 | big p99 | small p50 | small p99 | big/small p50 | plan (big user) | plan (small user) |"
    );
    let _ = writeln!(report, "|---|---:|---:|---:|---:|---:|---|---|");
    let mut failures = Vec::new();
    // Page 50 at full scale; fewer when a small seeding has fewer pages.
    let walk_page = usize::try_from(small_tasks / LIMIT)
        .expect("small")
        .clamp(2, WALK_PAGE);
    for scenario in Scenario::ALL {
        let mut row = Vec::new();
        let mut plans = Vec::new();
        for user in [&big, &small] {
            let cursor = match scenario {
                Scenario::Page50 => Some(cursor_to_page(user, walk_page).await),
                _ => None,
            };
            let (p50, p99) = time(scenario, user, cursor.as_deref(), options.requests).await;
            row.push((p50, p99));
            let listing = http::task_listing(scenario.query(cursor.as_deref()))
                .expect("the scenario is a valid listing");
            let plan = explain(&db, UserId(user.id), &listing).await;
            let scans = sequential_scans_of_tasks(&plan);
            if scans > 0 {
                failures.push(format!(
                    "{}: {scans} sequential scan(s) of tasks",
                    scenario.label()
                ));
            }
            plans.push(summarize(&plan));
        }
        let ratio = row[0].0.as_secs_f64() / row[1].0.as_secs_f64();
        if ratio > 2.0 {
            failures.push(format!("{}: big/small p50 is {ratio:.2}", scenario.label()));
        }
        let _ = writeln!(
            report,
            "| {} | {} | {} | {} | {} | {ratio:.2} | {} | {} |",
            scenario.label(),
            ms(row[0].0),
            ms(row[0].1),
            ms(row[1].0),
            ms(row[1].1),
            plans[0],
            plans[1],
        );
    }
    let verdict = if failures.is_empty() {
        "Every big-user p50 is within 2× the small user's, and no plan scans `tasks` sequentially."
            .to_owned()
    } else {
        format!("NOT MET: {}", failures.join("; "))
    };
    let _ = writeln!(report, "\n{verdict}");
    print!("{report}");
    if let Some(out) = options.out {
        std::fs::write(&out, &report).expect("write the report");
    }
    if options.keep {
        eprintln!("kept the database: {}", app.database_url);
        // Not dropped: dropping the app drops its database.
        std::mem::forget(app);
    } else {
        drop(app);
    }
    if !failures.is_empty() {
        std::process::exit(1);
    }
}

fn ms(duration: Duration) -> String {
    format!("{:.2} ms", duration.as_secs_f64() * 1000.0)
}

/// Seeds users and tasks with SQL: the two measured users were registered through the
/// API; the other 998 are inserted directly (they never log in).
async fn seed(db: &PgPool, big: &TestUser, small: &TestUser, total: u64, big_n: u64, small_n: u64) {
    let run = |sql: String| async move {
        sqlx::query(AssertSqlSafe(sql))
            .execute(db)
            .await
            .expect("seed statement");
    };
    run("INSERT INTO users (id, email, email_key, password_hash)
         SELECT gen_random_uuid(), 'seed' || n || '@example.com', 'seed' || n || '@example.com', 'x'
         FROM generate_series(1, 998) AS n"
        .to_owned())
    .await;
    // Owners: the big user, the small user, then the others round-robin for the rest.
    let rest = total - big_n - small_n;
    run(format!(
        "CREATE UNLOGGED TABLE bench_owners AS
         SELECT row_number() OVER (ORDER BY id) - 1 AS slot, id FROM users
         WHERE id NOT IN ('{big}', '{small}')",
        big = big.id,
        small = small.id
    ))
    .await;
    // A vocabulary of 200 words; each title takes three, so a word is on ~1.5 % of tasks.
    run("CREATE UNLOGGED TABLE bench_words AS
         SELECT n, (ARRAY['garden','dentist','invoice','report','groceries','call','email',
           'plan','review','meeting','book','clean','fix','order','pay','renew','send',
           'update','write','read'])[1 + n % 20] || CASE WHEN n < 20 THEN '' ELSE n::text END AS word
         FROM generate_series(0, 199) AS n"
        .to_owned())
    .await;
    // Tags: each task has 0 to 3 of 20 names; tag07 is on ~7 % of tasks.
    let insert = |owner_sql: String, count: u64| {
        format!(
            "INSERT INTO tasks (id, owner_id, title, description, status, priority, due_at,
                                completed_at, created_at, updated_at, tags)
             SELECT gen_random_uuid(), owner, title, description, status, priority, due_at,
                    CASE WHEN status = 'done' THEN created END, created, created, tags
             FROM (
               SELECT ({owner_sql}) AS owner,
                      (SELECT string_agg(word, ' ') FROM bench_words
                        WHERE n IN ((g * 7) % 200, (g * 13 + 1) % 200, (g * 31 + 2) % 200)) AS title,
                      CASE WHEN g % 3 = 0 THEN 'Notes for task ' || g END AS description,
                      (ARRAY['todo','in_progress','done'])[1 + g % 3] AS status,
                      (ARRAY['low','normal','high','urgent'])[1 + (g / 3) % 4] AS priority,
                      CASE WHEN g % 5 < 3 THEN now() + ((g % 120) - 60) * interval '1 day' END AS due_at,
                      now() - (g % 525600) * interval '1 minute' AS created,
                      ARRAY(SELECT 'tag' || lpad((1 + (g * k * 7) % 20)::text, 2, '0')
                            FROM generate_series(1, g % 4) AS k) AS tags
               FROM generate_series(1, {count}) AS g
             ) AS seeded"
        )
    };
    run(insert(format!("'{}'::uuid", big.id), big_n)).await;
    run(insert(format!("'{}'::uuid", small.id), small_n)).await;
    run(insert(
        "SELECT id FROM bench_owners WHERE slot = g % 998".to_owned(),
        rest,
    ))
    .await;
    // Every owner's tag vocabulary, as the API would have built it.
    run("INSERT INTO tags (owner_id, key, name)
         SELECT DISTINCT owner_id, tag, tag FROM tasks, unnest(tags) AS tag
         ON CONFLICT DO NOTHING"
        .to_owned())
    .await;
    run("DROP TABLE bench_owners, bench_words".to_owned()).await;
    run("VACUUM ANALYZE tasks".to_owned()).await;
    run("ANALYZE tags".to_owned()).await;
}

/// The `next_cursor` that leads to page `page` of the default listing.
async fn cursor_to_page(user: &TestUser, page: usize) -> String {
    let mut cursor: Option<String> = None;
    for _ in 1..page {
        let mut request = user.client.list_tasks().limit(LIMIT);
        if let Some(cursor) = cursor.take() {
            request = request.cursor(cursor);
        }
        let listed = request.send().await.expect("listed").into_inner();
        cursor = Some(listed.next_cursor.expect("enough pages"));
    }
    cursor.expect("page > 1")
}

/// p50 and p99 of `requests` sequential requests of `scenario`, after a warm-up.
async fn time(
    scenario: Scenario,
    user: &TestUser,
    cursor: Option<&str>,
    requests: usize,
) -> (Duration, Duration) {
    for _ in 0..20 {
        scenario.send(user, cursor).await;
    }
    let mut samples = Vec::with_capacity(requests);
    for _ in 0..requests {
        let started = Instant::now();
        let page = scenario.send(user, cursor).await;
        samples.push(started.elapsed());
        assert!(!page.items.is_empty(), "{} found nothing", scenario.label());
    }
    samples.sort();
    let at = |quantile: f64| {
        let index = ((samples.len() as f64 - 1.0) * quantile).round() as usize;
        samples[index]
    };
    (at(0.50), at(0.99))
}

/// `EXPLAIN (ANALYZE, FORMAT JSON)` of the statement the server runs for `listing`.
async fn explain(db: &PgPool, owner: UserId, listing: &TaskListing) -> Value {
    let mut connection = db.acquire().await.expect("a connection");
    let spelled = spell(&mut connection, owner, &listing.filter)
        .await
        .expect("spelled")
        .expect("the filter can match");
    let statement = list_statement(owner, listing, &spelled, LIMIT + 1);
    let (sql, values) = statement.build_sqlx(PostgresQueryBuilder);
    let explain = format!("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}");
    let (plan,): (Value,) = sqlx::query_as_with(AssertSqlSafe(explain), values)
        .fetch_one(&mut *connection)
        .await
        .expect("explained");
    plan[0]["Plan"].clone()
}

fn sequential_scans_of_tasks(plan: &Value) -> usize {
    let here = usize::from(plan["Node Type"] == "Seq Scan" && plan["Relation Name"] == "tasks");
    here + plan["Plans"]
        .as_array()
        .into_iter()
        .flatten()
        .map(sequential_scans_of_tasks)
        .sum::<usize>()
}

/// The plan's scans of `tasks`, with their indexes, and its execution time.
fn summarize(plan: &Value) -> String {
    let mut scans = Vec::new();
    collect_scans(plan, &mut scans);
    scans.join(", ")
}

fn collect_scans(plan: &Value, scans: &mut Vec<String>) {
    if plan["Relation Name"] == "tasks" {
        let index = plan["Index Name"].as_str().unwrap_or("");
        scans.push(
            format!("{} {index}", plan["Node Type"].as_str().unwrap_or("?"))
                .trim()
                .to_owned(),
        );
    }
    for child in plan["Plans"].as_array().into_iter().flatten() {
        collect_scans(child, scans);
    }
}
