//! The database states some of the contract's facts again, in `CHECK` constraints and
//! column defaults that cannot import a Rust constant. This reads them from the live schema
//! and fails when a migration drifts from the constant it restates.

use std::collections::BTreeSet;

use regex::Regex;
use sea_query::{Alias, Expr, ExprTrait, Func, PostgresQueryBuilder, Query, SelectStatement};
use sea_query_sqlx::SqlxBinder;
use sqlx::PgPool;
use strum::VariantArray;
use taskapi_api::{
    admin::AuditKind,
    lists::{LIST_NAME_MAX_CHARS, ListRole},
    tasks::{
        DESCRIPTION_MAX_CHARS, MAX_TAGS_PER_TASK, TAG_MAX_CHARS, TITLE_MAX_CHARS, TaskPriority,
        TaskStatus,
    },
    tokens::{ACCESS_TOKEN_NAME_MAX_CHARS, AccessTokenScope},
    users::{EMAIL_MAX_CHARS, EMAIL_MIN_CHARS, Role},
};
use taskapi_server::{
    domain::{TokenPurpose, Version},
    http::client::UserAgent,
    security::opaque::HASH_BYTES,
    service::audit,
    store::{mail, revocations},
};
use taskapi_tests::ScratchDatabase;

/// What a constraint or default must say: its numbers, or its quoted names.
#[derive(Debug, PartialEq, Eq)]
enum States {
    Numbers(BTreeSet<String>),
    Names(BTreeSet<String>),
}

fn numbers(values: &[usize]) -> States {
    States::Numbers(values.iter().map(usize::to_string).collect())
}

fn names<T: Copy + Into<&'static str>>(values: &[T]) -> States {
    States::Names(
        values
            .iter()
            .map(|value| (*value).into().to_owned())
            .collect(),
    )
}

/// Every `CHECK` constraint and column default of the schema, with what it must state.
fn expected() -> Vec<(&'static str, States)> {
    vec![
        ("tasks_title_check", numbers(&[1, TITLE_MAX_CHARS])),
        ("tasks_description_check", numbers(&[DESCRIPTION_MAX_CHARS])),
        ("tasks_status_check", names(TaskStatus::VARIANTS)),
        ("tasks_priority_check", names(TaskPriority::VARIANTS)),
        ("tasks_completed_iff_done", names(&[TaskStatus::Done])),
        ("tasks.status default", names(&[TaskStatus::default()])),
        ("tasks_tags_check", numbers(&[MAX_TAGS_PER_TASK])),
        ("tasks.tags default", numbers(&[])),
        ("tags_name_check", numbers(&[1, TAG_MAX_CHARS])),
        ("tasks.priority default", names(&[TaskPriority::default()])),
        (
            "users_email_check",
            numbers(&[EMAIL_MIN_CHARS, EMAIL_MAX_CHARS]),
        ),
        ("rate_limit_counters_hits_check", numbers(&[0])),
        ("users_role_check", names(Role::VARIANTS)),
        ("users.role default", names(&[Role::User])),
        (
            "sessions_user_agent_check",
            numbers(&[UserAgent::MAX_CHARS]),
        ),
        ("sessions_expiry_check", numbers(&[])),
        ("refresh_tokens_token_hash_check", numbers(&[HASH_BYTES])),
        ("revocations_kind_check", names(&revocations::KINDS)),
        (
            "tasks.version default",
            numbers(&[usize::try_from(Version::FIRST.0).expect("positive")]),
        ),
        ("lists_name_check", numbers(&[1, LIST_NAME_MAX_CHARS])),
        ("lists_description_check", numbers(&[DESCRIPTION_MAX_CHARS])),
        ("lists.is_inbox default", numbers(&[])),
        // The change feed's log: stamped with the writing transaction; one horizon row.
        ("changes.txid default", numbers(&[])),
        ("change_horizon.only_row default", numbers(&[])),
        ("change_horizon_only_row_check", numbers(&[])),
        (
            "lists.version default",
            numbers(&[usize::try_from(Version::FIRST.0).expect("positive")]),
        ),
        // The owner is the list's `owner_id`; members and invitations hold the other roles.
        (
            "list_members_role_check",
            names(&[ListRole::Editor, ListRole::Viewer]),
        ),
        (
            "invitations_role_check",
            names(&[ListRole::Editor, ListRole::Viewer]),
        ),
        (
            "invitations_email_check",
            numbers(&[EMAIL_MIN_CHARS, EMAIL_MAX_CHARS]),
        ),
        // Mail: the outbox, and the mailed tokens (as hashes).
        (
            "users_pending_email_check",
            numbers(&[EMAIL_MIN_CHARS, EMAIL_MAX_CHARS]),
        ),
        ("mail_outbox_kind_check", names(TokenPurpose::VARIANTS)),
        (
            "mail_outbox_recipient_check",
            numbers(&[EMAIL_MIN_CHARS, EMAIL_MAX_CHARS]),
        ),
        ("mail_outbox.attempts default", numbers(&[0])),
        (
            "mail_outbox_last_error_check",
            numbers(&[mail::MAX_ERROR_CHARS]),
        ),
        (
            "account_tokens_purpose_check",
            names(TokenPurpose::VARIANTS),
        ),
        ("account_tokens_token_hash_check", numbers(&[HASH_BYTES])),
        // Personal access tokens, as hashes.
        ("access_tokens_token_hash_check", numbers(&[HASH_BYTES])),
        (
            "access_tokens_name_check",
            numbers(&[1, ACCESS_TOKEN_NAME_MAX_CHARS]),
        ),
        (
            "access_tokens_scopes_check",
            names(AccessTokenScope::VARIANTS),
        ),
        // The audit log.
        ("audit_events_kind_check", names(AuditKind::VARIANTS)),
        (
            "audit_events_client_address_check",
            numbers(&[audit::MAX_CLIENT_ADDRESS_CHARS]),
        ),
        (
            "audit_events_request_id_check",
            numbers(&[audit::MAX_REQUEST_ID_CHARS]),
        ),
        (
            "audit_events_detail_check",
            numbers(&[audit::MAX_DETAIL_CHARS]),
        ),
    ]
}

/// What a definition states, read the way `expected` words it.
fn stated(definition: &str, like: &States) -> States {
    let pattern = match like {
        States::Numbers(_) => r"\b(\d+)\b",
        States::Names(_) => r"'([^']*)'",
    };
    let found = Regex::new(pattern)
        .expect("a valid pattern")
        .captures_iter(definition)
        .map(|captures| captures[1].to_owned())
        .collect();
    match like {
        States::Numbers(_) => States::Numbers(found),
        States::Names(_) => States::Names(found),
    }
}

/// `(name, definition)` of every `CHECK` constraint and non-null column default in the
/// public schema; defaults are named `table.column default`.
async fn definitions(pool: &PgPool) -> Vec<(String, String)> {
    let checks = Query::select()
        .column(Alias::new("conname"))
        .expr(Func::cust("pg_get_constraintdef").arg(Expr::col(Alias::new("oid"))))
        .from(Alias::new("pg_constraint"))
        .and_where(Expr::col(Alias::new("contype")).eq("c"))
        .and_where(Expr::col(Alias::new("connamespace")).eq(Expr::cust("'public'::regnamespace")))
        .to_owned();
    let defaults = Query::select()
        .expr(Func::cust("concat").args([
            Expr::col(Alias::new("table_name")),
            Expr::val("."),
            Expr::col(Alias::new("column_name")),
            Expr::val(" default"),
        ]))
        .column(Alias::new("column_default"))
        .from((Alias::new("information_schema"), Alias::new("columns")))
        .and_where(Expr::col(Alias::new("table_schema")).eq("public"))
        .and_where(Expr::col(Alias::new("table_name")).ne("_sqlx_migrations"))
        .and_where(Expr::col(Alias::new("column_default")).is_not_null())
        // `now()` defaults state no fact of the contract.
        .and_where(Expr::col(Alias::new("column_default")).ne("now()"))
        .to_owned();
    let mut found = Vec::new();
    for statement in [checks, defaults] {
        found.extend(fetch_pairs(pool, &statement).await);
    }
    found
}

async fn fetch_pairs(pool: &PgPool, statement: &SelectStatement) -> Vec<(String, String)> {
    let (sql, values) = statement.build_sqlx(PostgresQueryBuilder);
    sqlx::query_as_with(sqlx::AssertSqlSafe(sql), values)
        .fetch_all(pool)
        .await
        .expect("catalog query")
}

#[tokio::test]
async fn every_check_and_default_states_the_constants_of_the_contract() {
    let database = ScratchDatabase::migrated().await;
    let pool = database.pool();

    let found = definitions(&pool).await;
    let expected = expected();
    let found_names: BTreeSet<&str> = found.iter().map(|(name, _)| name.as_str()).collect();
    let expected_names: BTreeSet<&str> = expected.iter().map(|(name, _)| *name).collect();
    assert_eq!(
        found_names, expected_names,
        "every CHECK and default in the schema has an entry here, and every entry exists"
    );
    for (name, definition) in &found {
        let (_, states) = expected
            .iter()
            .find(|(expected, _)| expected == name)
            .expect("checked above");
        assert_eq!(&stated(definition, states), states, "{name}: {definition}");
    }
    pool.close().await;
}
