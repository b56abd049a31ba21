//! `taskapi serve --dev` without `DATABASE_URL`: a private PostgreSQL that starts with the
//! server, is reused by the next run, and never outlives the server, however it ends.

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// How long a first start (initdb, then PostgreSQL, then the migrations) may take, and how
/// long the cluster may take to go once the server has: the "within a minute" and
/// "within seconds".
const READY_WITHIN: Duration = Duration::from_secs(60);
const GONE_WITHIN: Duration = Duration::from_secs(10);

struct DevServer {
    child: Child,
    port: u16,
}

impl DevServer {
    /// `serve --dev` with no `DATABASE_URL`, its cluster in `home`, `HOME` a fresh
    /// directory, answering `/health/ready`.
    async fn start(home: &Path, user_home: &Path) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(env!("CARGO_BIN_EXE_taskapi"))
            .args(["serve", "--dev", "--bind", &format!("127.0.0.1:{port}")])
            .env_remove("DATABASE_URL")
            .env_remove("TASKAPI_JWT_SECRET")
            .env("HOME", user_home)
            .env("TASKAPI_DEV_POSTGRES_DIR", home)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("taskapi starts");
        let mut server = Self { child, port };
        server.wait_until_ready().await;
        server
    }

    async fn wait_until_ready(&mut self) {
        let deadline = Instant::now() + READY_WITHIN;
        let url = format!("http://127.0.0.1:{}/health/ready", self.port);
        let client = reqwest::Client::new();
        loop {
            if client
                .get(&url)
                .send()
                .await
                .is_ok_and(|response| response.status() == 200)
            {
                return;
            }
            assert!(
                self.child.try_wait().expect("a status").is_none(),
                "taskapi exited before it was ready"
            );
            assert!(
                Instant::now() < deadline,
                "not ready within {READY_WITHIN:?}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    fn signal(&mut self, signal: &str) {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
        self.child.wait().expect("taskapi ends");
    }
}

/// The processes whose command line names `home`'s data directory: the cluster's.
fn cluster_processes(home: &Path) -> Vec<String> {
    let data = home.join("data");
    let needle = data.to_str().expect("utf-8");
    std::fs::read_dir("/proc")
        .expect("/proc")
        .flatten()
        .filter_map(|entry| std::fs::read(entry.path().join("cmdline")).ok())
        .map(|cmdline| String::from_utf8_lossy(&cmdline).replace('\0', " "))
        .filter(|cmdline| cmdline.contains(needle))
        .collect()
}

fn wait_until_gone(home: &Path) {
    let deadline = Instant::now() + GONE_WITHIN;
    while !cluster_processes(home).is_empty() {
        assert!(
            Instant::now() < deadline,
            "still running {GONE_WITHIN:?} after taskapi ended: {:?}",
            cluster_processes(home)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A fresh directory the cluster's user can reach (when this runs as root, the cluster runs
/// as `postgres`).
fn fresh_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("taskapi-{name}-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir(&dir).expect("a fresh directory");
    dir
}

#[tokio::test]
async fn serve_dev_runs_its_own_postgres_and_takes_it_down_however_it_ends() {
    let user_home = fresh_dir("home");
    let home = user_home.join("dev-postgres");

    // First run: made, started, and stopped with the server on SIGTERM.
    let mut server = DevServer::start(&home, &user_home).await;
    let postmaster = cluster_processes(&home);
    assert!(
        postmaster
            .iter()
            .any(|process| process.contains("postgres")),
        "a postmaster of its own: {postmaster:?}"
    );
    assert!(home.join("data/PG_VERSION").is_file());
    server.signal("TERM");
    wait_until_gone(&home);

    // Second run: the same cluster again; a server killed outright takes it down too.
    let mut server = DevServer::start(&home, &user_home).await;
    server.signal("KILL");
    wait_until_gone(&home);

    // Ctrl-C (SIGINT) reaches only taskapi, which stops the cluster after draining.
    let mut server = DevServer::start(&home, &user_home).await;
    server.signal("INT");
    wait_until_gone(&home);

    std::fs::remove_dir_all(&user_home).expect("cleaned up");
}
