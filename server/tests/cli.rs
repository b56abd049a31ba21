//! The `taskapi` binary as an operator uses it.

use std::process::{Command, Output};

use taskapi_tests::{ScratchDatabase, database_server_url, output_with_stdin};

/// `taskapi` with `args`, against `database_url`, with no secret from the environment.
fn taskapi_command(args: &[&str], database_url: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_taskapi"));
    command
        .args(args)
        .env("DATABASE_URL", database_url)
        .env_remove("TASKAPI_JWT_SECRET");
    command
}

fn taskapi(args: &[&str], database_url: &str) -> Output {
    taskapi_command(args, database_url)
        .output()
        .expect("taskapi runs")
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "taskapi failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).expect("utf-8")
}

#[test]
fn openapi_prints_the_checked_in_contract() {
    let output = taskapi(&["openapi"], "postgres://unused");
    let checked_in =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.yaml"))
            .expect("openapi.yaml");
    assert_eq!(stdout(&output), checked_in);
}

#[test]
fn openapi_output_writes_the_same_document_to_a_file() {
    let path = std::env::temp_dir().join(format!("taskapi-openapi-{}.yaml", uuid::Uuid::new_v4()));
    let output = taskapi(
        &["openapi", "--output", path.to_str().expect("utf-8")],
        "postgres://unused",
    );
    assert!(stdout(&output).contains("wrote"));
    let written = std::fs::read_to_string(&path).expect("written");
    assert_eq!(written, taskapi_server::http::spec_yaml());
    std::fs::remove_file(&path).expect("cleaned up");
}

#[test]
fn serve_refuses_to_start_without_a_secret_outside_dev_mode() {
    let output = taskapi(
        &["serve", "--no-migrate", "--bind", "127.0.0.1:0"],
        "postgres://unused",
    );
    failed_with(&output, "TASKAPI_JWT_SECRET is not set");

    let short = taskapi_command(&["serve", "--no-migrate"], "postgres://unused")
        .env("TASKAPI_JWT_SECRET", "too-short")
        .output()
        .expect("taskapi runs");
    let stderr = failed_with(&short, "at least 32 bytes");
    assert!(!stderr.contains("too-short"), "secret echoed: {stderr}");
}

#[test]
fn migrate_up_status_and_down() {
    let database = ScratchDatabase::reserve();
    let url = database.url.as_str();

    let up = stdout(&taskapi(&["migrate", "up"], url));
    assert!(up.contains("created the database"), "{up}");
    let status = stdout(&taskapi(&["migrate", "status"], url));
    let lines: Vec<&str> = status.lines().collect();
    assert!(lines.len() >= 2, "{status}");
    assert!(
        lines.iter().all(|line| line.starts_with("applied")),
        "{status}"
    );

    let down = stdout(&taskapi(&["migrate", "down"], url));
    assert!(down.contains("reverted 1 migration"), "{down}");
    let status = stdout(&taskapi(&["migrate", "status"], url));
    let last = status.lines().last().expect("a migration");
    assert!(last.starts_with("pending"), "{status}");

    let again = stdout(&taskapi(&["migrate", "up"], url));
    assert!(again.contains("up to date"), "{again}");
    let status = stdout(&taskapi(&["migrate", "status"], url));
    assert!(
        status.lines().all(|line| line.starts_with("applied")),
        "{status}"
    );
}

#[test]
fn migrate_new_writes_an_empty_reversible_pair() {
    let dir = std::env::temp_dir().join(format!("taskapi-migrations-{}", uuid::Uuid::new_v4()));
    let dir_arg = dir.to_str().expect("utf-8 path");
    let output = stdout(&taskapi(
        &["migrate", "new", "Add task tags", "--dir", dir_arg],
        "postgres://unused",
    ));
    let mut created: Vec<String> = std::fs::read_dir(&dir)
        .expect("dir")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    created.sort();
    assert_eq!(created.len(), 2, "{output}");
    assert!(
        created[0].ends_with("_add_task_tags.down.sql"),
        "{created:?}"
    );
    assert!(created[1].ends_with("_add_task_tags.up.sql"), "{created:?}");
    std::fs::remove_dir_all(&dir).expect("cleaned up");
}

/// `serve` in development mode, on any free port, without migrating.
const DEV_SERVE: [&str; 5] = ["serve", "--dev", "--no-migrate", "--bind", "127.0.0.1:0"];

#[test]
fn logs_are_plain_text_when_stderr_is_not_a_terminal() {
    // An unreachable database makes `serve` stop right after its first log lines.
    let unreachable = "postgres://postgres@127.0.0.1:1/unused";
    let output = taskapi_command(&DEV_SERVE, unreachable)
        .env("TASKAPI_DB_ACQUIRE_TIMEOUT_MS", "200")
        .env_remove("RUST_LOG")
        .output()
        .expect("taskapi runs");
    let stderr = failed_with(&output, "ephemeral secret");
    assert!(
        !stderr.contains('\u{1b}'),
        "no ANSI escape codes: {stderr:?}"
    );
}

#[test]
fn serve_refuses_to_start_against_a_wrong_database_or_role() {
    let server = database_server_url();
    let (scheme, rest) = server.split_once("://").expect("a URL");
    let host = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    for (database_url, reason) in [
        (
            format!("{server}/taskapi_no_such_database"),
            r#"database "taskapi_no_such_database" does not exist"#,
        ),
        (
            format!("{scheme}://taskapi_no_such_role@{host}/postgres"),
            r#"role "taskapi_no_such_role" does not exist"#,
        ),
    ] {
        let output = taskapi(&DEV_SERVE, &database_url);
        let stderr = failed_with(&output, "cannot connect to the database at");
        assert!(stderr.contains(reason), "{database_url}: {stderr}");
    }
}

/// Runs `taskapi users …` with `stdin` as its standard input.
fn users(args: &[&str], stdin: &str, database_url: &str) -> Output {
    output_with_stdin(
        Command::new(env!("CARGO_BIN_EXE_taskapi"))
            .arg("users")
            .args(args)
            .env("DATABASE_URL", database_url),
        stdin,
    )
}

/// Checks that a run failed saying `words`; returns all it said on standard error.
fn failed_with(output: &Output, words: &str) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!output.status.success(), "should have failed: {stderr}");
    assert!(stderr.contains(words), "{stderr}");
    stderr
}

async fn role_of(database_url: &str, email: &str) -> Option<String> {
    let pool = sqlx::PgPool::connect(database_url).await.expect("connect");
    let role = sqlx::query_scalar("SELECT role FROM users WHERE email = $1")
        .bind(email)
        .fetch_optional(&pool)
        .await
        .expect("read");
    pool.close().await;
    role
}

#[tokio::test]
async fn users_create_admin_and_set_role_manage_administrators() {
    let database = ScratchDatabase::reserve();
    let url = database.url.as_str();
    let password = "correct horse battery staple\n";

    let created = stdout(&users(&["create-admin", "root@example.com"], password, url));
    assert!(
        created.contains("created administrator root@example.com"),
        "{created}"
    );
    assert_eq!(
        role_of(url, "root@example.com").await.as_deref(),
        Some("admin")
    );

    failed_with(
        &users(&["create-admin", "ROOT@example.com"], password, url),
        "set-role",
    );
    failed_with(
        &users(&["create-admin", "weak@example.com"], "password1\n", url),
        "commonly used",
    );
    failed_with(&users(&["create-admin", "nobody"], password, url), "email");
    // The last administrator stays one.
    failed_with(
        &users(&["set-role", "root@example.com", "user"], "", url),
        "last enabled administrator",
    );
    failed_with(
        &users(&["set-role", "ghost@example.com", "admin"], "", url),
        "no account",
    );
    failed_with(
        &users(&["set-role", "root@example.com", "superuser"], "", url),
        "not a role",
    );

    stdout(&users(
        &["create-admin", "second@example.com"],
        password,
        url,
    ));
    let demoted = stdout(&users(&["set-role", "root@example.com", "user"], "", url));
    assert!(demoted.contains("is now user"), "{demoted}");
    assert_eq!(
        role_of(url, "root@example.com").await.as_deref(),
        Some("user")
    );
}
