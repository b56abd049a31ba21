//! `taskctl`, the SDK's example app, used as a person would against the real server: every
//! command, the session kept between runs in a private file, and a failure as the problem's
//! title and detail.

use std::{
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
    sync::OnceLock,
};

use taskapi_client::types;
use taskapi_tests::{PASSWORD, TestApp, TestUser, output_with_stdin, task_titled};

/// The `taskctl` example, built once per test run with the cargo that runs the tests, with
/// the workspace's features as `cargo test --workspace` built it: found built, not built
/// again (a build of the SDK's package alone would compile many dependencies anew).
fn taskctl_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let built = Command::new(cargo)
            .args([
                "build",
                "--quiet",
                "--workspace",
                "--example",
                "taskctl",
                "--message-format=json",
            ])
            .stderr(Stdio::inherit())
            .output()
            .expect("cargo runs");
        assert!(built.status.success(), "taskctl builds");
        String::from_utf8_lossy(&built.stdout)
            .lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .filter(|message| message["target"]["name"] == "taskctl")
            .find_map(|message| message["executable"].as_str().map(PathBuf::from))
            .expect("cargo names the taskctl executable")
    })
}

/// One person's `taskctl`, with a configuration directory of its own.
struct Taskctl {
    config: PathBuf,
}

impl Taskctl {
    fn new() -> Self {
        let config = std::env::temp_dir().join(format!("taskctl-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&config).expect("a config directory");
        Self { config }
    }

    /// Runs `taskctl args…`, which must succeed, and returns what it printed.
    async fn ok(&self, args: &[&str]) -> String {
        self.ok_input(args, "").await
    }

    /// Runs `taskctl args…`, which must fail, and returns what it said.
    async fn fails(&self, args: &[&str]) -> String {
        let output = self.run(args).await;
        assert!(!output.status.success(), "taskctl {args:?} should fail");
        String::from_utf8(output.stderr).expect("UTF-8")
    }

    /// Runs `taskctl args…` with `stdin` as its standard input, which must succeed.
    async fn ok_input(&self, args: &[&str], stdin: &str) -> String {
        let output = self.run_input(args, stdin).await;
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "taskctl {args:?}: {stderr}");
        String::from_utf8(output.stdout).expect("UTF-8")
    }

    /// Logs `user` in to `app`, as they would: the password on standard input.
    async fn log_in(&self, app: &TestApp, user: &TestUser) {
        let args = ["--url", &app.base_url, "login", &user.email];
        self.ok_input(&args, &format!("{}\n", user.password)).await;
    }

    async fn run(&self, args: &[&str]) -> Output {
        self.run_input(args, "").await
    }

    /// Runs `taskctl args…` with `stdin` as its standard input, off the runtime that
    /// serves the app.
    async fn run_input(&self, args: &[&str], stdin: &str) -> Output {
        let config = self.config.clone();
        let args: Vec<String> = args.iter().map(|arg| (*arg).to_owned()).collect();
        let stdin = stdin.to_owned();
        tokio::task::spawn_blocking(move || run_taskctl(&config, &args, &stdin))
            .await
            .expect("taskctl ran")
    }
}

fn run_taskctl(config: &Path, args: &[String], stdin: &str) -> Output {
    output_with_stdin(
        Command::new(taskctl_binary())
            .args(args)
            .env("XDG_CONFIG_HOME", config),
        stdin,
    )
}

impl Drop for Taskctl {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.config);
    }
}

#[tokio::test]
async fn taskctl_does_everything_against_the_real_server() {
    let app = TestApp::spawn().await;
    let alice = app.signed_up_user().await;
    let taskctl = Taskctl::new();

    // Logging in reads the password from standard input, and remembers the server.
    let wrong = taskctl
        .run_input(&["--url", &app.base_url, "login", &alice.email], "not it\n")
        .await;
    assert!(!wrong.status.success());
    let said = String::from_utf8_lossy(&wrong.stderr);
    assert!(said.contains("Unauthorized"), "the problem's title: {said}");
    let login = taskctl
        .run_input(
            &["--url", &app.base_url, "login", &alice.email],
            &format!("{PASSWORD}\n"),
        )
        .await;
    assert!(
        login.status.success(),
        "{}",
        String::from_utf8_lossy(&login.stderr)
    );
    let session = taskctl.config.join("taskctl/session.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&session)
            .expect("saved")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the session is private");
    }

    let milk = taskctl
        .ok(&[
            "add",
            "Buy milk",
            "--due",
            "2030-05-01",
            "--priority",
            "high",
            "--tag",
            "errands",
        ])
        .await;
    let milk = milk.trim().to_owned();
    uuid::Uuid::parse_str(&milk).expect("add prints the new task's id");
    let report = taskctl.ok(&["add", "Write report", "--tag", "work"]).await;
    let report = report.trim().to_owned();

    let table = taskctl.ok(&["ls"]).await;
    assert!(
        table.contains("Buy milk") && table.contains("Write report"),
        "{table}"
    );
    assert!(
        table.contains("2030-05-01") && table.contains("[errands]"),
        "{table}"
    );

    let json = taskctl.ok(&["ls", "--tag", "errands", "--json"]).await;
    let listed: Vec<serde_json::Value> = serde_json::from_str(&json).expect("a JSON array");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["title"], "Buy milk");
    assert_eq!(listed[0]["priority"], "high");

    taskctl.ok(&["done", &milk]).await;
    let done = taskctl.ok(&["ls", "--status", "done", "--json"]).await;
    let done: Vec<serde_json::Value> = serde_json::from_str(&done).expect("JSON");
    assert_eq!(done.len(), 1);
    assert_eq!(done[0]["id"], milk.as_str());

    taskctl
        .ok(&[
            "edit",
            &report,
            "--title",
            "Write the report",
            "--due",
            "2031-01-02",
            "--priority",
            "low",
        ])
        .await;
    let found = taskctl.ok(&["ls", "--q", "report", "--json"]).await;
    let found: Vec<serde_json::Value> = serde_json::from_str(&found).expect("JSON");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["title"], "Write the report");
    assert_eq!(found[0]["priority"], "low");
    assert!(
        found[0]["due_at"]
            .as_str()
            .is_some_and(|due| due.starts_with("2031-01-02"))
    );
    taskctl.ok(&["edit", &report, "--due", "none"]).await;
    let cleared = alice.task(report.parse().expect("an id")).await;
    assert_eq!(cleared.due_at, None);

    let tags = taskctl.ok(&["tags"]).await;
    assert!(tags.contains("errands") && tags.contains("work"), "{tags}");

    // A failure prints the problem's title and detail. (A blank title never leaves: the
    // contract's pattern lets the SDK refuse it before sending.)
    let missing = taskctl
        .fails(&["done", "0194b2a4-0000-7000-8000-00000000dead"])
        .await;
    assert!(
        missing.contains("Not Found") && missing.contains("No such task."),
        "{missing}"
    );

    taskctl.ok(&["rm", &milk]).await;
    let missing = taskctl.fails(&["rm", &milk]).await;
    assert!(missing.contains("Not Found"), "{missing}");
    let left = taskctl.ok(&["ls", "--json"]).await;
    let left: Vec<serde_json::Value> = serde_json::from_str(&left).expect("JSON");
    assert_eq!(left.len(), 1);

    taskctl.ok(&["logout"]).await;
    assert!(!session.exists(), "the session is forgotten");
    let after = taskctl.fails(&["ls"]).await;
    assert!(after.contains("not logged in"), "{after}");
}

#[tokio::test]
async fn taskctl_makes_lists_adds_to_them_and_shares_them() {
    let app = TestApp::spawn().await;
    let alice = app.signed_up_user().await;
    let bob = app.signed_up_user().await;
    let taskctl = Taskctl::new();
    taskctl.log_in(&app, &alice).await;

    let lists = taskctl.ok(&["lists", "--new", "Groceries"]).await;
    assert!(
        lists.contains("Inbox") && lists.contains("Groceries"),
        "{lists}"
    );
    assert!(lists.contains("owner"), "{lists}");
    taskctl
        .ok(&["add", "Buy bread", "--list", "groceries"])
        .await;
    taskctl.ok(&["add", "Write report"]).await;
    let bread = taskctl.ok(&["ls", "--list", "Groceries", "--json"]).await;
    let bread: Vec<serde_json::Value> = serde_json::from_str(&bread).expect("JSON");
    assert_eq!(bread.len(), 1, "only the list's task");
    assert_eq!(bread[0]["title"], "Buy bread");
    let everything = taskctl.ok(&["ls", "--json"]).await;
    let everything: Vec<serde_json::Value> = serde_json::from_str(&everything).expect("JSON");
    assert_eq!(everything.len(), 2, "every list's tasks");

    let shared = taskctl
        .ok(&[
            "share",
            &bob.email,
            "--list",
            "Groceries",
            "--role",
            "editor",
        ])
        .await;
    assert!(shared.contains("as editor"), "{shared}");
    let invitations = bob
        .client
        .list_invitations()
        .send()
        .await
        .expect("listed")
        .into_inner();
    let [invitation] = invitations.items.as_slice() else {
        panic!("one invitation: {invitations:?}");
    };
    assert_eq!(invitation.list_name, "Groceries");
    assert_eq!(invitation.role, taskapi_client::types::ListRole::Editor);
    bob.client
        .accept_invitation()
        .invitation_id(invitation.id)
        .send()
        .await
        .expect("accepted");
    let seen = bob
        .client
        .list_tasks()
        .list_id(invitation.list_id)
        .send()
        .await
        .expect("listed")
        .into_inner();
    let titles: Vec<&str> = seen.items.iter().map(|task| task.title.as_str()).collect();
    assert_eq!(titles, ["Buy bread"]);

    let unknown = taskctl
        .fails(&["share", &bob.email, "--list", "Garden"])
        .await;
    assert!(unknown.contains("no list \"Garden\""), "{unknown}");
}

#[tokio::test]
async fn taskctl_watch_prints_changes_as_they_happen() {
    let app = TestApp::spawn().await;
    let alice = app.signed_up_user().await;
    let taskctl = Taskctl::new();
    taskctl.log_in(&app, &alice).await;
    let mut watch = Command::new(taskctl_binary())
        .args(["watch", "--count", "2"])
        .env("XDG_CONFIG_HOME", &taskctl.config)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("taskctl watch starts");
    // It says so once its stream is open (within 10 s, a documented window).
    let stderr = watch.stderr.take().expect("piped");
    let ready = tokio::task::spawn_blocking(move || {
        use std::io::BufRead;
        std::io::BufReader::new(stderr).lines().next()
    });
    let pid = watch.id().to_string();
    // Not left running when a wait runs out: the test's runtime would wait for it.
    let stop = || {
        let _ = Command::new("kill").arg(&pid).status();
    };
    let Ok(ready) = tokio::time::timeout(std::time::Duration::from_secs(10), ready).await else {
        stop();
        panic!("taskctl watch did not say it was watching");
    };
    let said = ready.expect("read").expect("a line").expect("UTF-8");
    assert!(said.contains("watching"), "{said}");

    // Two tasks (a task made and deleted before the stream reads it is one change: its
    // tombstone).
    let first = alice.create_task("Seen live").await;
    let second = alice.create_task("Seen too").await;
    let output = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        tokio::task::spawn_blocking(move || watch.wait_with_output()),
    )
    .await;
    let Ok(output) = output else {
        stop();
        panic!("taskctl watch did not stop after two changes");
    };
    let output = output.expect("joined").expect("its output");
    assert!(output.status.success());
    let printed = String::from_utf8(output.stdout).expect("UTF-8");
    let lines: Vec<&str> = printed.lines().collect();
    assert_eq!(
        lines,
        [
            format!("task {} todo Seen live", first.id),
            format!("task {} todo Seen too", second.id),
        ],
        "{printed}"
    );
}

#[tokio::test]
async fn taskctl_logs_in_with_an_access_token_and_does_what_its_scopes_allow() {
    let app = TestApp::spawn().await;
    let alice = app.signed_up_user().await;
    alice.create(task_titled("Read me")).await;
    let (reader, _) = alice
        .access_token(
            "taskctl",
            &[
                types::AccessTokenScope::TasksRead,
                types::AccessTokenScope::AccountRead,
            ],
        )
        .await;
    let taskctl = Taskctl::new();
    let said = taskctl
        .ok_input(
            &["--url", &app.base_url, "login", "--token"],
            &format!("{reader}\n"),
        )
        .await;
    assert!(said.contains(&alice.email), "{said}");
    let saved = taskctl.config.join("taskctl/access_token");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&saved)
            .expect("saved")
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o777,
            0o600,
            "the token is readable by its user alone"
        );
    }
    assert!(taskctl.ok(&["ls"]).await.contains("Read me"));
    // A read-only token cannot add; the server's refusal is what taskctl says.
    let refused = taskctl.fails(&["add", "Write me"]).await;
    assert!(refused.contains("tasks:write"), "{refused}");
    // Logging out forgets the token here; it stays valid on the server until deleted.
    taskctl.ok(&["logout"]).await;
    assert!(!saved.exists());
    let still = app.client_with_token(&reader).list_tasks().send().await;
    assert_eq!(taskapi_tests::status_of(&still), 200);
}
