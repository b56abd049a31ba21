//! [`ScratchDatabase`]: a PostgreSQL database of one test's own, dropped when it ends.

use std::time::Duration;

use sqlx::{PgPool, Postgres, migrate::MigrateDatabase};
use taskapi_server::store::{self, migrations};
use uuid::Uuid;

/// The PostgreSQL server the test databases live on: `TASKAPI_TEST_DATABASE_URL`, a URL
/// without a database name (default `postgres://postgres@127.0.0.1:5432`).
pub fn database_server_url() -> String {
    std::env::var("TASKAPI_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned())
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
