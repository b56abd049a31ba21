//! [`ScratchDatabase`]: a PostgreSQL database of one test's own, dropped when it ends.

use std::{
    net::{SocketAddr, TcpStream},
    path::{Path, PathBuf},
    sync::OnceLock,
    time::Duration,
};

use sqlx::{PgPool, Postgres, migrate::MigrateDatabase};
use taskapi_server::{
    dev_postgres::DevPostgres,
    store::{self, migrations},
};
use uuid::Uuid;

/// Where the test databases live when `TASKAPI_TEST_DATABASE_URL` is not set.
const DEFAULT_SERVER: &str = "postgres://postgres@127.0.0.1:5432";

/// The PostgreSQL server the test databases live on, as a URL without a database name:
/// `TASKAPI_TEST_DATABASE_URL`; else `postgres://postgres@127.0.0.1:5432` when something
/// listens there; else a private cluster of this test process, made and run as
/// `taskapi serve --dev` makes and runs its own ([`DevPostgres`]) and stopped when the
/// process ends.
pub fn database_server_url() -> String {
    static SERVER: OnceLock<String> = OnceLock::new();
    SERVER
        .get_or_init(|| {
            if let Ok(url) = std::env::var("TASKAPI_TEST_DATABASE_URL") {
                return url;
            }
            let default = SocketAddr::from(([127, 0, 0, 1], 5432));
            if TcpStream::connect_timeout(&default, Duration::from_secs(1)).is_ok() {
                return DEFAULT_SERVER.to_owned();
            }
            private_cluster()
        })
        .clone()
}

/// Starts this process's own cluster, in a new directory named after the process (this
/// user's directories of processes that are gone are removed first). It runs until the
/// process ends.
fn private_cluster() -> String {
    use std::os::unix::fs::MetadataExt as _;
    let parent = std::env::temp_dir();
    let prefix = "taskapi-test-postgres-";
    let mine = |entry: &std::fs::DirEntry| {
        std::fs::symlink_metadata(entry.path()).is_ok_and(|metadata| {
            metadata.is_dir() && metadata.uid() == nix::unistd::Uid::effective().as_raw()
        })
    };
    for entry in std::fs::read_dir(&parent).into_iter().flatten().flatten() {
        let name = entry.file_name();
        let pid = (name.to_str())
            .and_then(|name| name.strip_prefix(prefix))
            .and_then(|rest| rest.split('-').next());
        if pid.is_some_and(|pid| !Path::new("/proc").join(pid).exists()) && mine(&entry) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
    let home: PathBuf = parent.join(format!(
        "{prefix}{}-{}",
        std::process::id(),
        Uuid::new_v4().simple()
    ));
    // A new directory of its own: never one someone else made first.
    std::fs::create_dir(&home).expect("a new directory for PostgreSQL");
    // Started on a runtime of its own: the caller may be inside a test's runtime.
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime to start PostgreSQL on");
        let cluster = runtime
            .block_on(DevPostgres::start(&home))
            .expect("nothing answers at 127.0.0.1:5432 and a private PostgreSQL cannot start");
        eprintln!(
            "tests: a private PostgreSQL in {}",
            cluster.home().display()
        );
        let url = cluster.server_url();
        // Runs until this process ends; the kernel then stops it.
        std::mem::forget(cluster);
        url
    })
    .join()
    .expect("starting PostgreSQL")
}

/// A randomly named database; whoever made it, it is dropped with the guard, even when the
/// test fails.
pub struct ScratchDatabase {
    pub url: String,
}

impl ScratchDatabase {
    /// The URL of a database nobody uses yet, without a guard.
    pub fn fresh_url() -> String {
        format!(
            "{}/taskapi_test_{}",
            database_server_url(),
            Uuid::new_v4().simple()
        )
    }

    /// A fresh name, not created yet (the server or the CLI under test creates it).
    pub fn reserve() -> Self {
        Self {
            url: Self::fresh_url(),
        }
    }

    /// A fresh, empty database.
    pub async fn create() -> Self {
        let database = Self::reserve();
        Postgres::create_database(&database.url)
            .await
            .expect("create a scratch database");
        database
    }

    /// A fresh database with every migration applied.
    pub async fn migrated() -> Self {
        let database = Self::create().await;
        let pool = database.pool();
        migrations::up(&pool).await.expect("migrations apply");
        pool.close().await;
        database
    }

    /// A small pool on this database, as the server opens it.
    pub fn pool(&self) -> PgPool {
        store::connect_for_migrations(&self.url).expect("a valid database URL")
    }
}

impl Drop for ScratchDatabase {
    /// Drops the database from synchronous code, on a thread with its own runtime, since the
    /// test's runtime may be finishing. FORCE ends remaining connections.
    fn drop(&mut self) {
        let url = self.url.clone();
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for cleanup");
            runtime.block_on(async {
                if !Postgres::database_exists(&url).await? {
                    return Ok(());
                }
                tokio::time::timeout(Duration::from_secs(30), Postgres::force_drop_database(&url))
                    .await
                    .unwrap_or(Err(sqlx::Error::PoolTimedOut))
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!(
                "warning: could not drop test database {}: {dropped:?}",
                self.url
            );
        }
    }
}
