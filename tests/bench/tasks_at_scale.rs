//! The task listings at scale: seeds 1,000,000 tasks across 1,000 users (`tasks_at_scale.sql`:
//! one owning 100,000, one owning 1,000, one a member of 50 shared lists holding 100,000),
//! then times each listing through the SDK against the real server, and `EXPLAIN
//! (ANALYZE)`s the exact statements the server runs.
//! Once right after the bulk import, before the statistics are gathered (autovacuum is
//! off for `tasks` until then), and once after `VACUUM ANALYZE`.
//!
//! ```text
//! cargo run --release -p taskapi-tests --bin bench-tasks -- [--tasks N] [--requests N] [--out FILE] [--keep]
//! ```
//!
//! Needs PostgreSQL (`TASKAPI_TEST_DATABASE_URL`, default `postgres://postgres@127.0.0.1:5432`);
//! the database it creates is dropped at the end. Prints markdown tables; exits non-zero
//! when a target is missed.

use std::{
    fmt::Write as _,
    time::{Duration, Instant},
};

use sea_query::SelectStatement;
use serde_json::Value;
use sqlx::{AssertSqlSafe, PgPool};
use taskapi_api::{
    paging::{Cursor, PageLimit},
    tasks::{SearchText, TagName, TaskSort, TaskStatus},
};
use taskapi_client::{sort::TaskSort as SdkSort, types};
use taskapi_server::{
    domain::{ListId, TaskListing, UserId},
    http::{self, TaskQuery},
    service::tasks::spell,
    store::{self, tasks::list_statements},
};
use taskapi_tests::{TestApp, TestUser, test_settings};
use uuid::Uuid;

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
    taskapi_tests::flags(
        |name| name != "--keep",
        |name, value| match (name, value) {
            ("--tasks", Some(value)) => options.tasks = value.parse().expect("--tasks N"),
            ("--requests", Some(value)) => options.requests = value.parse().expect("--requests N"),
            ("--out", value) => options.out = value,
            ("--keep", _) => options.keep = true,
            (other, _) => panic!("unknown argument {other}"),
        },
    );
    options
}

/// The listing page size every scenario uses.
const LIMIT: u64 = 20;
/// The page a cursor walk times.
const WALK_PAGE: usize = 50;
/// The tag `tag` filters by (on ~7 % of tasks) and the words `q` searches for: one on
/// ~1.5 % of tasks, one title of the 100,000 (and none of the small user's 1,000), one
/// no task has.
const TAG: &str = "tag07";
const COMMON: &str = "garden";
const RARE: &str = "t12345";
const ABSENT: &str = "zzz";
/// The shared lists the member is in.
const SHARED_LISTS: u64 = 50;

/// One timed listing.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Scenario {
    Default,
    TodoByDue,
    TagByPriority,
    Search(&'static str),
    Page50,
}

impl Scenario {
    const ALL: [Self; 7] = [
        Self::Default,
        Self::TodoByDue,
        Self::TagByPriority,
        Self::Search(COMMON),
        Self::Search(RARE),
        Self::Search(ABSENT),
        Self::Page50,
    ];
    /// What the member's all-lists and one-list listings are compared on.
    const MEMBER: [Self; 5] = [
        Self::Default,
        Self::TagByPriority,
        Self::Search(COMMON),
        Self::Search(RARE),
        Self::Search(ABSENT),
    ];

    fn label(self) -> String {
        match self {
            Self::Default => "default list".to_owned(),
            Self::TodoByDue => "`status=todo&sort=due_at`".to_owned(),
            Self::TagByPriority => format!("`tag={TAG}&sort=-priority`"),
            Self::Search(word) => format!("`q={word}`"),
            Self::Page50 => "page 50 of a cursor walk".to_owned(),
        }
    }

    /// Whether a page of it may be empty (for a user with the bench's data).
    fn may_be_empty(self) -> bool {
        matches!(self, Self::Search(RARE | ABSENT))
    }

    /// The query as the contract sees it (for `EXPLAIN`), in `list` when given.
    fn query(self, list: Option<Uuid>, cursor: Option<&str>) -> TaskQuery {
        let mut query = TaskQuery {
            limit: PageLimit(i64::try_from(LIMIT).expect("small")),
            list_id: list,
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
            Self::Search(word) => query.q = Some(SearchText::new(word)),
            Self::Page50 => query.cursor = cursor.map(Cursor::new),
        }
        query
    }

    /// The same request through the SDK.
    async fn send(
        self,
        user: &TestUser,
        list: Option<Uuid>,
        cursor: Option<&str>,
    ) -> types::TaskPage {
        let mut request = user.client.list_tasks().limit(LIMIT);
        if let Some(list) = list {
            request = request.list_id(list);
        }
        request = match self {
            Self::Default => request,
            Self::TodoByDue => request
                .status(vec![types::TaskStatus::Todo])
                .sort(SdkSort::DueAt),
            Self::TagByPriority => request
                .tag(vec![TAG.try_into().expect("fits")])
                .sort(SdkSort::PriorityReversed),
            Self::Search(word) => request.q(word),
            Self::Page50 => request.cursor(cursor.expect("a cursor").to_owned()),
        };
        request.send().await.expect("listed").into_inner()
    }
}

/// One user's listing, timed and explained.
struct Measured {
    p50: Duration,
    p99: Duration,
    plan: String,
}

/// What a run found missing.
#[derive(Default)]
struct Verdict {
    failures: Vec<String>,
}

impl Verdict {
    /// A table row comparing `a` with `b` (p50s and p99s, their ratio, then `plans`); a
    /// p50 ratio over 2 is a failure, named `what`.
    fn compare(
        &mut self,
        what: &str,
        scenario: Scenario,
        a: &Measured,
        b: &Measured,
        plans: &[&str],
    ) -> String {
        let ratio = a.p50.as_secs_f64() / b.p50.as_secs_f64();
        if ratio > 2.0 {
            self.failures.push(format!("{what}: p50 ratio {ratio:.2}"));
        }
        let times = [a.p50, a.p99, b.p50, b.p99].map(ms).join(" | ");
        format!(
            "| {} | {times} | {ratio:.2} | {} |\n",
            scenario.label(),
            plans.join(" | ")
        )
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
    let member = app.signed_up_user().await;
    let db = app.database().await;

    let started = Instant::now();
    let sizes = Sizes::of(options.tasks);
    seed(&db, [&big, &small, &member], &sizes).await;
    let seeded = started.elapsed();
    eprintln!("seeded {} tasks in {seeded:.1?}", options.tasks);
    let (one_list,): (Uuid,) = sqlx::query_as(
        "SELECT list_id FROM list_members WHERE user_id = $1 ORDER BY list_id LIMIT 1",
    )
    .bind(member.id)
    .fetch_one(&db)
    .await
    .expect("a shared list");

    let mut report = String::new();
    let _ = writeln!(
        report,
        "Seeded {} tasks across 1,000 users in {seeded:.0?} (big user: {}, small user: {}, \
         member: {} in their Inbox and {} in {SHARED_LISTS} shared lists). {} sequential \
         requests per listing and user after 20 to warm up, page size {LIMIT}, one client \
         on loopback. Plans: the statements the server ran, `EXPLAIN (ANALYZE)`d after \
         the timing.\n",
        options.tasks, sizes.big, sizes.small, sizes.small, sizes.shared, options.requests
    );
    let mut verdict = Verdict::default();
    // Page 50 at full scale; fewer when a small seeding has fewer pages.
    let walk_page = usize::try_from(sizes.small / LIMIT)
        .expect("small")
        .clamp(2, WALK_PAGE);
    let bench = Bench {
        db: &db,
        requests: options.requests,
        walk_page,
    };
    for (title, analyzed) in [
        ("Right after the bulk import, before `ANALYZE`", false),
        ("After `VACUUM ANALYZE`", true),
    ] {
        if analyzed {
            run(&db, "ALTER TABLE tasks RESET (autovacuum_enabled)").await;
            run(&db, "VACUUM ANALYZE").await;
        }
        let _ = writeln!(report, "### {title}\n");
        report.push_str(&table_head(
            ["big", "small", "big/small"],
            &["plan (big user)", "plan (small user)"],
        ));
        for scenario in Scenario::ALL {
            let big = bench.measure(scenario, &big, None, &mut verdict).await;
            let small = bench.measure(scenario, &small, None, &mut verdict).await;
            let what = format!("{title}, {} big/small", scenario.label());
            let row = verdict.compare(&what, scenario, &big, &small, &[&big.plan, &small.plan]);
            report.push_str(&row);
        }
        let _ = writeln!(
            report,
            "\nThe member, across their {} lists and in one shared list:\n",
            SHARED_LISTS + 1
        );
        report.push_str(&table_head(
            ["all lists", "one list", "all/one"],
            &["plan (all lists)"],
        ));
        for scenario in Scenario::MEMBER {
            let all = bench.measure(scenario, &member, None, &mut verdict).await;
            let one = bench
                .measure(scenario, &member, Some(one_list), &mut verdict)
                .await;
            let what = format!("{title}, member's {} all/one", scenario.label());
            report.push_str(&verdict.compare(&what, scenario, &all, &one, &[&all.plan]));
        }
        let _ = writeln!(report);
    }
    let verdict = if verdict.failures.is_empty() {
        "Every big-user p50 is within 2× the small user's, every member's all-lists p50 \
         within 2× their one-list p50, and no plan scans `tasks` sequentially."
            .to_owned()
    } else {
        format!("NOT MET: {}", verdict.failures.join("; "))
    };
    let failed = verdict.starts_with("NOT MET");
    let _ = writeln!(report, "{verdict}");
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
    if failed {
        std::process::exit(1);
    }
}

/// The first two lines of a table of [`Verdict::compare`]'s rows: what is compared
/// (`[a, b, a/b]`) and the plans shown.
fn table_head([a, b, ratio]: [&str; 3], plans: &[&str]) -> String {
    format!(
        "| Listing | {a} p50 | {a} p99 | {b} p50 | {b} p99 | {ratio} p50 | {} |\n\
         |---|---:|---:|---:|---:|---:|{}\n",
        plans.join(" | "),
        "---|".repeat(plans.len())
    )
}

fn ms(duration: Duration) -> String {
    format!("{:.2} ms", duration.as_secs_f64() * 1000.0)
}

async fn run(db: &PgPool, sql: &str) {
    sqlx::raw_sql(AssertSqlSafe(sql.to_owned()))
        .execute(db)
        .await
        .expect("a bench statement");
}

/// How many tasks go where (see `tasks_at_scale.sql`).
struct Sizes {
    total: u64,
    big: u64,
    small: u64,
    shared: u64,
}

impl Sizes {
    fn of(total: u64) -> Self {
        Self {
            total,
            big: total / 10,
            small: total / 1000,
            shared: total / 10,
        }
    }
}

/// Seeds the data of `tasks_at_scale.sql` for the three measured users (registered
/// through the API), with autovacuum off for `tasks` until the run after `ANALYZE`.
async fn seed(db: &PgPool, [big, small, member]: [&TestUser; 3], sizes: &Sizes) {
    run(db, "ALTER TABLE tasks SET (autovacuum_enabled = false)").await;
    let script = include_str!("tasks_at_scale.sql")
        .replace("{big}", &big.id.to_string())
        .replace("{small}", &small.id.to_string())
        .replace("{member}", &member.id.to_string())
        .replace("{total}", &sizes.total.to_string())
        .replace("{big_n}", &sizes.big.to_string())
        .replace("{small_n}", &sizes.small.to_string())
        .replace("{shared_n}", &sizes.shared.to_string())
        .replace("{shared}", &SHARED_LISTS.to_string());
    run(db, &script).await;
    // The other tables are small, and analyzed as autovacuum soon would.
    run(db, "ANALYZE users, lists, list_members, tags").await;
}

/// What every measurement shares.
struct Bench<'a> {
    db: &'a PgPool,
    requests: usize,
    walk_page: usize,
}

impl Bench<'_> {
    /// Times `scenario` for `user` (in `list` when given), and explains what the server
    /// ran for it; a sequential scan of `tasks` is a failure.
    async fn measure(
        &self,
        scenario: Scenario,
        user: &TestUser,
        list: Option<Uuid>,
        verdict: &mut Verdict,
    ) -> Measured {
        let cursor = match scenario {
            Scenario::Page50 => Some(cursor_to_page(user, self.walk_page).await),
            _ => None,
        };
        let (p50, p99) = time(scenario, user, list, cursor.as_deref(), self.requests).await;
        let listing = http::task_listing(scenario.query(list, cursor.as_deref()))
            .expect("the scenario is a valid listing");
        let plans = explain(self.db, UserId(user.id), &listing).await;
        let scans: usize = plans.iter().map(sequential_scans_of_tasks).sum();
        if scans > 0 {
            verdict.failures.push(format!(
                "{}: {scans} sequential scan(s) of tasks",
                scenario.label()
            ));
        }
        let plan = (plans.iter())
            .map(summarize)
            .collect::<Vec<_>>()
            .join("; then ");
        Measured { p50, p99, plan }
    }
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
    list: Option<Uuid>,
    cursor: Option<&str>,
    requests: usize,
) -> (Duration, Duration) {
    for _ in 0..20 {
        scenario.send(user, list, cursor).await;
    }
    let mut samples = Vec::with_capacity(requests);
    for _ in 0..requests {
        let started = Instant::now();
        let page = scenario.send(user, list, cursor).await;
        samples.push(started.elapsed());
        assert!(
            scenario.may_be_empty() || !page.items.is_empty(),
            "{} found nothing",
            scenario.label()
        );
    }
    samples.sort();
    let at = |quantile: f64| {
        let index = ((samples.len() as f64 - 1.0) * quantile).round() as usize;
        samples[index]
    };
    (at(0.50), at(0.99))
}

/// `EXPLAIN (ANALYZE, FORMAT JSON)` of the statements the server runs for `listing`,
/// planned with their values: the first, and the second when the first does not fill the
/// page (as the server decides).
async fn explain(db: &PgPool, user: UserId, listing: &TaskListing) -> Vec<Value> {
    let mut connection = db.acquire().await.expect("a connection");
    let lists: Vec<ListId> = store::lists::roles(&mut *connection, user)
        .await
        .expect("the user's lists")
        .into_iter()
        .map(|(list, _)| list)
        .filter(|list| listing.filter.list.is_none_or(|only| only == *list))
        .collect();
    let spelled = spell(&mut connection, &lists, &listing.filter)
        .await
        .expect("spelled")
        .expect("the filter can match");
    let statements = list_statements(user, &lists, listing, &spelled, LIMIT + 1);
    let explained = async |statement: &SelectStatement| {
        let (sql, values) = store::build(statement);
        let explain = format!("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {}", sql.0);
        let (plan,): (Value,) = sqlx::query_as_with(AssertSqlSafe(explain), values)
            .fetch_one(db)
            .await
            .expect("explained");
        plan[0]["Plan"].clone()
    };
    let first = explained(&statements.first).await;
    let found = first["Actual Rows"].as_u64().unwrap_or(0);
    let mut plans = vec![first];
    if let Some(then) = statements.then.as_ref().filter(|_| found < LIMIT + 1) {
        plans.push(explained(then).await);
    }
    plans
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

/// The plan's scans of `tasks`, with their indexes (a merge of many lists' scans of one
/// index as one entry with a count).
fn summarize(plan: &Value) -> String {
    let mut scans = Vec::new();
    collect_scans(plan, &mut scans);
    let mut counted: Vec<(String, usize)> = Vec::new();
    for scan in scans {
        match counted.iter_mut().find(|(seen, _)| *seen == scan) {
            Some((_, count)) => *count += 1,
            None => counted.push((scan, 1)),
        }
    }
    counted
        .into_iter()
        .map(|(scan, count)| match count {
            1 => scan,
            n => format!("{n}× {scan}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
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
