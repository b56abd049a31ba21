//! Migrations are reversible: down then up again leaves exactly the schema up left.

use sea_query::{Alias, Expr, ExprTrait, Func, PostgresQueryBuilder, Query};
use sea_query_sqlx::SqlxBinder;
use sqlx::PgPool;
use taskapi_server::store::migrations;
use taskapi_tests::ScratchDatabase;

/// Columns, constraints and indexes of the public schema, as text, in a stable order.
async fn schema(pool: &PgPool) -> Vec<String> {
    let columns = Query::select()
        .expr(Func::cust("concat_ws").args([
            Expr::val(" "),
            Expr::col(Alias::new("table_name")),
            Expr::col(Alias::new("column_name")),
            Expr::col(Alias::new("data_type")),
            Expr::col(Alias::new("is_nullable")),
            Expr::col(Alias::new("column_default")),
        ]))
        .from((Alias::new("information_schema"), Alias::new("columns")))
        .and_where(Expr::col(Alias::new("table_schema")).eq("public"))
        .and_where(Expr::col(Alias::new("table_name")).ne("_sqlx_migrations"))
        .to_owned();
    let constraints = Query::select()
        .expr(
            Func::cust("concat_ws").args([
                Expr::val(" "),
                Expr::col(Alias::new("conname")),
                Func::cust("pg_get_constraintdef")
                    .arg(Expr::col(Alias::new("oid")))
                    .into(),
            ]),
        )
        .from(Alias::new("pg_constraint"))
        .and_where(Expr::col(Alias::new("connamespace")).eq(Expr::cust("'public'::regnamespace")))
        // sqlx's own bookkeeping table stays when every migration is reverted.
        .and_where(Expr::col(Alias::new("conrelid")).ne(Expr::cust("'_sqlx_migrations'::regclass")))
        .to_owned();
    let indexes = Query::select()
        .column(Alias::new("indexdef"))
        .from(Alias::new("pg_indexes"))
        .and_where(Expr::col(Alias::new("schemaname")).eq("public"))
        .and_where(Expr::col(Alias::new("tablename")).ne("_sqlx_migrations"))
        .to_owned();
    let mut lines = Vec::new();
    for statement in [columns, constraints, indexes] {
        let (sql, values) = statement.build_sqlx(PostgresQueryBuilder);
        let rows: Vec<(String,)> = sqlx::query_as_with(sqlx::AssertSqlSafe(sql), values)
            .fetch_all(pool)
            .await
            .expect("catalog query");
        lines.extend(rows.into_iter().map(|(line,)| line));
    }
    lines.sort();
    lines
}

async fn applied(pool: &PgPool) -> Vec<bool> {
    migrations::status(pool)
        .await
        .expect("status")
        .into_iter()
        .map(|migration| migration.applied)
        .collect()
}

#[tokio::test]
async fn up_down_up_leaves_the_same_schema() {
    let database = ScratchDatabase::create().await;
    let pool = database.pool();

    migrations::up(&pool).await.expect("up");
    let first = schema(&pool).await;
    assert!(
        first
            .iter()
            .any(|line| line.starts_with("tasks list_id uuid NO")),
        "{first:#?}"
    );
    assert!(
        first
            .iter()
            .any(|line| line.contains("users_email_key_idx")),
        "{first:#?}"
    );
    assert!(applied(&pool).await.iter().all(|applied| *applied));

    let total = applied(&pool).await.len();
    assert_eq!(migrations::down(&pool, 1).await.expect("down 1"), 1);
    let after_one = applied(&pool).await;
    assert_eq!(
        after_one.iter().filter(|applied| **applied).count(),
        total - 1
    );
    assert!(
        !after_one[total - 1],
        "the newest migration is the one reverted"
    );

    assert_eq!(
        migrations::down(&pool, 100).await.expect("down all"),
        total - 1
    );
    let emptied = schema(&pool).await;
    assert!(
        emptied.is_empty(),
        "down reverts everything up created: {emptied:#?}"
    );

    migrations::up(&pool).await.expect("up again");
    assert_eq!(schema(&pool).await, first);
    pool.close().await;
}

/// Runs `sql` (written by the test, no user input) on `pool`.
async fn run(pool: &PgPool, sql: &str) {
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(pool)
        .await
        .unwrap_or_else(|error| panic!("{sql}: {error}"));
}

async fn rows(pool: &PgPool, sql: &str) -> Vec<(String, String)> {
    sqlx::query_as(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_all(pool)
        .await
        .unwrap_or_else(|error| panic!("{sql}: {error}"))
}

/// The migration that made lists.
const LISTS: i64 = 20261203000001;

/// Reverts the migration `version` and every one after it.
async fn down_to_before(pool: &PgPool, version: i64) {
    let steps = (migrations::status(pool).await.expect("status"))
        .iter()
        .filter(|migration| migration.applied && migration.version >= version)
        .count();
    assert_eq!(migrations::down(pool, steps).await.expect("down"), steps);
}

#[tokio::test]
async fn lists_come_and_go_with_every_task_kept_under_its_owner() {
    let database = ScratchDatabase::create().await;
    let pool = database.pool();
    migrations::up(&pool).await.expect("up");
    down_to_before(&pool, LISTS).await;

    // Before lists: two accounts with tasks and tags, as the server wrote them.
    run(
        &pool,
        "INSERT INTO users (id, email, email_key, password_hash) VALUES
           ('00000000-0000-7000-8000-00000000000a', 'alice@example.com', 'alice@example.com', 'x'),
           ('00000000-0000-7000-8000-00000000000b', 'bob@example.com', 'bob@example.com', 'x');
         INSERT INTO tags (owner_id, key, name) VALUES
           ('00000000-0000-7000-8000-00000000000a', 'home', 'Home');
         INSERT INTO tasks (id, owner_id, title, tags) VALUES
           ('00000000-0000-7000-8000-0000000000a1', '00000000-0000-7000-8000-00000000000a', 'Alice 1', '{Home}'),
           ('00000000-0000-7000-8000-0000000000a2', '00000000-0000-7000-8000-00000000000a', 'Alice 2', '{}'),
           ('00000000-0000-7000-8000-0000000000b1', '00000000-0000-7000-8000-00000000000b', 'Bob 1', '{}');",
    )
    .await;

    migrations::up(&pool).await.expect("up again");
    let placed = rows(
        &pool,
        "SELECT tasks.title, users.email || ' ' || lists.name || ' ' || lists.is_inbox
         FROM tasks JOIN lists ON lists.id = tasks.list_id JOIN users ON users.id = lists.owner_id
         ORDER BY tasks.title",
    )
    .await;
    let in_inbox = |title: &str, owner: &str| (title.to_owned(), format!("{owner} Inbox true"));
    assert_eq!(
        placed,
        [
            in_inbox("Alice 1", "alice@example.com"),
            in_inbox("Alice 2", "alice@example.com"),
            in_inbox("Bob 1", "bob@example.com"),
        ],
        "every task in its owner's Inbox"
    );
    let vocabulary = rows(
        &pool,
        "SELECT tags.name, lists.name FROM tags JOIN lists ON lists.id = tags.list_id",
    )
    .await;
    assert_eq!(vocabulary, [("Home".to_owned(), "Inbox".to_owned())]);

    // With lists: Alice shares one with Bob, who adds a task to it.
    run(
        &pool,
        "INSERT INTO lists (id, owner_id, name) VALUES
           ('00000000-0000-7000-8000-0000000000c1', '00000000-0000-7000-8000-00000000000a', 'Shared');
         INSERT INTO list_members (list_id, user_id, role) VALUES
           ('00000000-0000-7000-8000-0000000000c1', '00000000-0000-7000-8000-00000000000b', 'editor');
         INSERT INTO tags (list_id, key, name) VALUES
           ('00000000-0000-7000-8000-0000000000c1', 'home', 'HOME');
         INSERT INTO tasks (id, list_id, title, tags, assignee_id) VALUES
           ('00000000-0000-7000-8000-0000000000b2', '00000000-0000-7000-8000-0000000000c1',
            'Bob in Alice''s list', '{HOME}', '00000000-0000-7000-8000-00000000000b');",
    )
    .await;

    down_to_before(&pool, LISTS).await;
    let owned = rows(
        &pool,
        "SELECT tasks.title, users.email || ' ' || array_to_string(tasks.tags, ',')
         FROM tasks JOIN users ON users.id = tasks.owner_id ORDER BY tasks.title",
    )
    .await;
    let owned_by =
        |title: &str, owner: &str, tags: &str| (title.to_owned(), format!("{owner} {tags}"));
    assert_eq!(
        owned,
        [
            owned_by("Alice 1", "alice@example.com", "Home"),
            owned_by("Alice 2", "alice@example.com", ""),
            owned_by("Bob 1", "bob@example.com", ""),
            // Back under the list's owner, in her spelling of the tag.
            owned_by("Bob in Alice's list", "alice@example.com", "Home"),
        ],
        "every task kept, under its list's owner"
    );
    let lists_left = rows(
        &pool,
        "SELECT table_name::text, '' FROM information_schema.tables
         WHERE table_schema = 'public' AND table_name IN ('lists', 'list_members', 'invitations')",
    )
    .await;
    assert!(lists_left.is_empty(), "{lists_left:?}");
    migrations::up(&pool).await.expect("and up once more");
    pool.close().await;
}
