//! The test harness: [`TestApp`] starts the real server, on a random port, against a
//! PostgreSQL database created for that one test and dropped when the test ends.
//!
//! PostgreSQL is found through `TASKAPI_TEST_DATABASE_URL` (a server URL without a
//! database name; default `postgres://postgres@127.0.0.1:5432`).

use std::{net::SocketAddr, time::Duration};

use sqlx::{PgPool, Postgres, migrate::MigrateDatabase};
use taskapi_client::{Client, session, types};
use taskapi_server::{
    config::{DatabaseSettings, LogFormat, SecretInput, Settings},
    startup::Application,
};
use tokio::sync::oneshot;
use uuid::Uuid;

/// A running server with its own database.
pub struct TestApp {
    pub address: SocketAddr,
    pub base_url: String,
    /// The secret the server signs tokens with, for tests that forge tokens.
    pub jwt_secret: String,
    pub database_url: String,
    /// Whether the server created this test's database (and the test must drop it).
    owns_database: bool,
    /// An SDK client without credentials.
    pub client: Client,
    /// For the few requests the SDK cannot express (malformed bodies, forged headers).
    pub http: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
}

/// A registered, logged-in user.
pub struct TestUser {
    pub id: Uuid,
    pub email: String,
    pub password: String,
    pub token: String,
    /// An SDK client that sends this user's token.
    pub client: Client,
}

pub fn database_server_url() -> String {
    std::env::var("TASKAPI_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned())
}

/// Settings for a test server: port 0, a fresh database name, a random secret.
pub fn test_settings() -> Settings {
    let database_url = format!(
        "{}/taskapi_test_{}",
        database_server_url(),
        Uuid::new_v4().simple()
    );
    let secret = format!("test-secret-{}", Uuid::new_v4().simple());
    Settings {
        database: DatabaseSettings {
            database_url,
            db_max_connections: 10,
        },
        bind: "127.0.0.1:0".parse().expect("valid address"),
        jwt_secret: Some(SecretInput::new(secret)),
        token_ttl_seconds: 1800,
        dev: false,
        no_migrate: false,
        max_body_bytes: 64 * 1024,
        hash_concurrency: 2,
        log_format: LogFormat::Pretty,
    }
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(test_settings()).await
    }

    pub async fn spawn_with(settings: Settings) -> Self {
        if std::env::var_os("TEST_LOG").is_some() {
            taskapi_server::telemetry::init(LogFormat::Pretty);
        }
        let jwt_secret = settings
            .jwt_secret
            .as_ref()
            .map(|secret| secret.expose().to_owned())
            .unwrap_or_default();
        let application = Application::build(&settings)
            .await
            .expect("the server starts");
        let address = application.address();
        let (shutdown, stopped) = oneshot::channel::<()>();
        tokio::spawn(application.run_until(async {
            let _ = stopped.await;
        }));
        let base_url = format!("http://{address}");
        Self {
            address,
            client: Client::new(&base_url),
            base_url,
            jwt_secret,
            database_url: settings.database.database_url,
            owns_database: !settings.no_migrate,
            http: reqwest::Client::new(),
            shutdown: Some(shutdown),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// A direct connection to this test's database, for arranging what no endpoint can.
    pub async fn database(&self) -> PgPool {
        PgPool::connect(&self.database_url)
            .await
            .expect("connect to the test database")
    }

    /// Registers a new user with a unique email and logs them in.
    pub async fn signed_up_user(&self) -> TestUser {
        let email = format!("user-{}@example.com", Uuid::new_v4().simple());
        self.signed_up_user_with(&email, "correct horse battery staple")
            .await
    }

    pub async fn signed_up_user_with(&self, email: &str, password: &str) -> TestUser {
        let user = self
            .client
            .register()
            .body(types::RegisterRequest {
                email: email.try_into().expect("email fits the schema"),
                password: password.try_into().expect("password fits the schema"),
            })
            .send()
            .await
            .expect("registration succeeds")
            .into_inner();
        let (client, token) = session::log_in(&self.base_url, email, password)
            .await
            .expect("login succeeds");
        TestUser {
            id: user.id,
            email: user.email,
            password: password.to_owned(),
            token: token.access_token,
            client,
        }
    }
}

impl TestUser {
    /// Creates a task with just a title, as this user.
    pub async fn create_task(&self, title: &str) -> types::Task {
        self.client
            .create_task()
            .body(task_titled(title))
            .send()
            .await
            .expect("the task is created")
            .into_inner()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if self.owns_database {
            drop_database(&self.database_url);
        }
    }
}

/// Drops a test database from synchronous code (a `Drop`), on a thread with its own
/// runtime, since the test's runtime may be finishing. FORCE ends remaining connections.
pub fn drop_database(url: &str) {
    let target = url.to_owned();
    let dropped = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime for cleanup");
        runtime.block_on(async {
            tokio::time::timeout(
                Duration::from_secs(30),
                Postgres::force_drop_database(&target),
            )
            .await
        })
    })
    .join();
    if !matches!(dropped, Ok(Ok(Ok(())))) {
        eprintln!("warning: could not drop test database {url}: {dropped:?}");
    }
}

/// A task input with just a title, through the SDK's builder.
pub fn task_titled(title: &str) -> types::TaskInput {
    types::TaskInput {
        title: title.try_into().expect("title fits the schema"),
        description: None,
        status: None,
        priority: None,
        due_at: None,
    }
}

/// The problem document of a call that must have failed with a declared error response.
pub fn problem<T: std::fmt::Debug>(
    result: Result<taskapi_client::ResponseValue<T>, taskapi_client::Error<types::Problem>>,
) -> taskapi_client::ResponseValue<types::Problem> {
    match result {
        Err(taskapi_client::Error::ErrorResponse(problem)) => problem,
        other => panic!("expected an error response, got {other:?}"),
    }
}

/// The HTTP status of an SDK call, success or declared error.
pub fn status_of<T: std::fmt::Debug>(
    result: &Result<taskapi_client::ResponseValue<T>, taskapi_client::Error<types::Problem>>,
) -> u16 {
    match result {
        Ok(value) => value.status().as_u16(),
        Err(taskapi_client::Error::ErrorResponse(problem)) => problem.status().as_u16(),
        Err(other) => panic!("expected a response, got {other:?}"),
    }
}
