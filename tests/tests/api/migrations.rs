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
            .any(|line| line.starts_with("tasks owner_id uuid NO")),
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
