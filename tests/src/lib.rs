//! The test harness: [`TestApp`] starts the real server, on a random port, against a
//! PostgreSQL database created for that one test and dropped when the test ends; a
//! [`TestUser`] is a registered, logged-in account whose helpers read like what a user does.

mod administration;
mod mailbox;
mod proxy;
mod revocation_window;
mod scratch;
mod sharing;
mod spec;
mod topology;
mod transaction_log;

use std::{net::SocketAddr, num::NonZeroU32, str::FromStr};

use futures::TryStreamExt;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::{Method, RequestBuilder, header::CONTENT_TYPE};
use secrecy::ExposeSecret;
use sqlx::{PgPool, postgres::PgConnectOptions};
use taskapi_client::{Client, ResponseValue, pages::Listing, session, types};
use taskapi_server::{
    config::{
        DatabaseSettings, LogFormat, MailSettings, RateLimitSettings, Settings, TraceSettings,
        TransportSettings,
    },
    domain::{Email, Password},
    startup::{self, Application},
};
use tokio::sync::oneshot;
use uuid::Uuid;

pub use mailbox::{Mailbox, token_in};
pub use proxy::CutProxy;
pub use revocation_window::REVOCATION_WINDOW;
pub use scratch::{ScratchDatabase, database_server_url};
pub use sharing::Sent;
pub use spec::{Operation, Spec};
pub use topology::{Nginx, behind_nginx};
pub use transaction_log::{Transaction, TransactionLog};

/// The password every [`TestApp::signed_up_user`] has.
pub const PASSWORD: &str = "correct horse battery staple";

/// A running server with its own database.
pub struct TestApp {
    pub address: SocketAddr,
    /// The first server instance itself (past nginx, when there is one): for what must
    /// reach one server.
    pub first_instance: SocketAddr,
    /// Where the (first) server serves its metrics, when `metrics_bind` asked it to.
    pub metrics_address: Option<SocketAddr>,
    pub base_url: String,
    /// The secret the server signs tokens with, for tests that forge tokens.
    pub jwt_secret: String,
    pub database_url: String,
    /// The database this server created, dropped with the app.
    _database: Option<ScratchDatabase>,
    /// An SDK client without credentials.
    pub client: Client,
    /// For the few requests the SDK cannot express (malformed bodies, forged headers).
    http: reqwest::Client,
    /// One per server instance: two behind nginx (see [`topology`]), else one.
    shutdown: Vec<oneshot::Sender<()>>,
    /// The proxy in front of the instances, when there is one.
    _nginx: Option<Nginx>,
    /// What this app was started with, for [`TestApp::another_instance`].
    settings: Settings,
}

/// A registered, logged-in user.
pub struct TestUser {
    pub id: Uuid,
    pub email: String,
    pub password: String,
    /// The access token of the login (the client refreshes its own copy as needed).
    pub token: String,
    /// The refresh token of the login.
    pub refresh_token: String,
    /// An SDK client that sends this user's token.
    pub client: Client,
    base_url: String,
    http: reqwest::Client,
}

/// Settings for a test server: port 0, a fresh database name, a random secret.
pub fn test_settings() -> Settings {
    let secret = format!("test-secret-{}", Uuid::new_v4().simple());
    Settings {
        database: DatabaseSettings::for_url(ScratchDatabase::fresh_url()),
        bind: "127.0.0.1:0".parse().expect("valid address"),
        metrics_bind: None,
        jwt_secret: Some(secret.into()),
        jwt_keys: None,
        jwt_keys_file: None,
        token_ttl_seconds: 1800,
        refresh_ttl_seconds: Settings::REFRESH_TTL_SECONDS,
        session_max_lifetime_seconds: Settings::SESSION_MAX_LIFETIME_SECONDS,
        max_sessions_per_user: Settings::MAX_SESSIONS_PER_USER,
        max_access_tokens_per_user: Settings::MAX_ACCESS_TOKENS_PER_USER,
        audit_retention_days: Settings::AUDIT_RETENTION_DAYS,
        dev: false,
        dev_postgres_dir: None,
        no_migrate: false,
        require_if_match: false,
        idempotency_key_ttl_seconds: Settings::IDEMPOTENCY_KEY_TTL_SECONDS,
        invitation_ttl_seconds: Settings::INVITATION_TTL_SECONDS,
        tombstone_ttl_seconds: Settings::TOMBSTONE_TTL_SECONDS,
        max_streams_per_user: Settings::MAX_STREAMS_PER_USER,
        max_streams: Settings::MAX_STREAMS,
        stream_heartbeat_ms: Settings::STREAM_HEARTBEAT_MS,
        stream_send_timeout_ms: Settings::STREAM_SEND_TIMEOUT_MS,
        max_body_bytes: 64 * 1024,
        hash_concurrency: 2,
        cors_origins: Vec::new(),
        log_format: LogFormat::Pretty,
        transport: TransportSettings::default(),
        traces: TraceSettings::default(),
        rate_limits: RateLimitSettings::default(),
        mail: MailSettings::default(),
    }
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(test_settings()).await
    }

    /// A server with the [`test_settings`] as `configure` changes them.
    pub async fn configured(configure: impl FnOnce(&mut Settings)) -> Self {
        let mut settings = test_settings();
        configure(&mut settings);
        Self::spawn_with(settings).await
    }

    /// A fresh app with `N` signed-up users: Alice, Bob, … in most stories.
    pub async fn with_users<const N: usize>() -> (Self, [TestUser; N]) {
        let app = Self::spawn().await;
        let mut users = Vec::with_capacity(N);
        for _ in 0..N {
            users.push(app.signed_up_user().await);
        }
        let Ok(users) = users.try_into() else {
            unreachable!("{N} users were signed up")
        };
        (app, users)
    }

    /// A server that sends mail to a [`Mailbox`] of its own (retrying within a second),
    /// with its settings as `configure` changes them.
    pub async fn with_mailbox(configure: impl FnOnce(&mut Settings)) -> (Self, Mailbox) {
        let mailbox = Mailbox::start().await;
        let app = Self::configured(|settings| {
            settings.mail.smtp_url = Some(mailbox.url().into());
            settings.mail.mail_poll_ms = 100;
            settings.mail.mail_retry_min_ms = 100;
            settings.mail.mail_retry_max_ms = 500;
            settings.mail.smtp_timeout_ms = 2_000;
            configure(settings);
        })
        .await;
        (app, mailbox)
    }

    /// A fresh app with one signed-up user, Alice in most stories.
    pub async fn with_user() -> (Self, TestUser) {
        let app = Self::spawn().await;
        let user = app.signed_up_user().await;
        (app, user)
    }

    /// A fresh app whose request pool reaches PostgreSQL (through PgBouncer, when the
    /// topology asks for it) through a [`TransactionLog`]; migrations and the revocation
    /// listener connect directly, unlogged.
    pub async fn with_transaction_log() -> (Self, TransactionLog) {
        let mut settings = test_settings();
        let direct = settings.database.url().to_owned();
        topology::route_database(&mut settings.database);
        let routed = settings.database.url().to_owned();
        let options = PgConnectOptions::from_str(&routed).expect("a database URL");
        let authority = format!("{}:{}", options.get_host(), options.get_port());
        assert!(
            routed.contains(&authority),
            "{routed} names its host and port"
        );
        let target = tokio::net::lookup_host(&authority)
            .await
            .ok()
            .and_then(|mut addresses| addresses.next())
            .expect("the database's address");
        let log = TransactionLog::start(target).await;
        let through = routed.replacen(&authority, &log.address.to_string(), 1);
        let separator = if through.contains('?') { '&' } else { '?' };
        settings.database.database_url = Some(format!("{through}{separator}sslmode=disable"));
        settings.database.direct_database_url.get_or_insert(direct);
        (Self::spawn_with(settings).await, log)
    }

    /// A server with `settings`, reached and reaching PostgreSQL as the environment asks
    /// (see [`topology`]).
    pub async fn spawn_with(mut settings: Settings) -> Self {
        let started_with = settings.clone();
        if std::env::var_os("TEST_LOG").is_some() {
            // One writer for the whole test process.
            static LOGGING: std::sync::OnceLock<taskapi_server::telemetry::Logging> =
                std::sync::OnceLock::new();
            LOGGING.get_or_init(|| {
                taskapi_server::telemetry::init(LogFormat::Pretty, None).expect("logging")
            });
        }
        let jwt_secret = settings
            .jwt_secret
            .as_ref()
            .map(|secret| secret.expose_secret().to_owned())
            .unwrap_or_default();
        // Where the test reaches the database itself: PostgreSQL, not a pooler or a proxy
        // in front of the server.
        let database_url = settings.database.direct_url().to_owned();
        // A server that migrates creates its database; the guard drops it.
        let database = (!settings.no_migrate).then(|| ScratchDatabase {
            url: database_url.clone(),
        });
        topology::route_database(&mut settings.database);
        let nginx = behind_nginx();
        if nginx {
            // Clients are told apart by the address nginx forwards.
            settings.rate_limits.trusted_proxies = vec!["127.0.0.1/32".parse().expect("a net")];
        }
        let mut addresses = Vec::new();
        let mut metrics_addresses = Vec::new();
        let mut shutdown = Vec::new();
        for instance in 0..if nginx { 2 } else { 1 } {
            let mut settings = settings.clone();
            settings.no_migrate |= instance > 0;
            let application = Application::build(&settings)
                .await
                .expect("the server starts");
            addresses.push(application.address());
            metrics_addresses.extend(application.metrics_address());
            let (stop, stopped) = oneshot::channel::<()>();
            tokio::spawn(application.run_until(async {
                let _ = stopped.await;
            }));
            shutdown.push(stop);
        }
        let proxy = match nginx {
            true => Some(Nginx::start(&addresses).await),
            false => None,
        };
        let address = proxy.as_ref().map_or(addresses[0], |proxy| proxy.address);
        let base_url = format!("http://{address}");
        Self {
            address,
            first_instance: addresses[0],
            metrics_address: metrics_addresses.first().copied(),
            client: session::anonymous(&base_url),
            base_url,
            jwt_secret,
            database_url,
            _database: database,
            http: reqwest::Client::new(),
            shutdown,
            _nginx: proxy,
            settings: started_with,
        }
    }

    /// Another server on this app's database, started as this one was but without
    /// migrating, as a second instance behind a load balancer is.
    pub async fn another_instance(&self) -> Self {
        let mut settings = self.settings.clone();
        settings.no_migrate = true;
        Self::spawn_with(settings).await
    }

    /// [`Self::another_instance`], with its settings as `configure` changes them (a new
    /// release of the configuration, rolled out one server at a time).
    pub async fn another_instance_with(&self, configure: impl FnOnce(&mut Settings)) -> Self {
        let mut settings = self.settings.clone();
        settings.no_migrate = true;
        configure(&mut settings);
        Self::spawn_with(settings).await
    }

    /// How many server instances answer this app's requests (two behind nginx).
    pub fn instances(&self) -> u64 {
        self.shutdown.len() as u64
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// A request without credentials, for what the SDK cannot send.
    pub fn raw(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, self.url(path))
    }

    /// A direct connection to this test's database, for arranging what no endpoint can.
    pub async fn database(&self) -> PgPool {
        PgPool::connect(&self.database_url)
            .await
            .expect("connect to the test database")
    }

    /// The body the server serves at `path`, with its status.
    pub async fn page_at(&self, path: &str) -> (u16, String) {
        let response = self.raw(Method::GET, path).send().await.expect("sent");
        let status = response.status().as_u16();
        (status, response.text().await.expect("a text body"))
    }

    /// The document the server serves at `/openapi.json`.
    pub async fn spec(&self) -> Spec {
        Spec::parse(&self.page_at("/openapi.json").await.1)
    }

    /// Registers an account through the SDK.
    pub async fn register(
        &self,
        email: &str,
        password: &str,
    ) -> Result<ResponseValue<types::User>, taskapi_client::Error<types::Problem>> {
        self.client
            .register()
            .body(types::RegisterRequest {
                email: email.try_into().expect("email fits the schema"),
                password: password.try_into().expect("password fits the schema"),
            })
            .send()
            .await
    }

    /// Logs in with the OAuth2 password form, as the SDK's session does.
    pub async fn log_in(
        &self,
        username: &str,
        password: &str,
    ) -> Result<types::Token, taskapi_client::Error<types::Problem>> {
        let (_, token) = session::log_in(&self.base_url, username, password).await?;
        Ok(token)
    }

    /// The status of a password login, success or declared error.
    pub async fn login_status(&self, email: &str, password: &str) -> u16 {
        match self.log_in(email, password).await {
            Ok(_) => 200,
            Err(taskapi_client::Error::ErrorResponse(problem)) => problem.status().as_u16(),
            Err(other) => panic!("expected a response, got {other:?}"),
        }
    }

    /// Registers a new user with a unique email and logs them in.
    pub async fn signed_up_user(&self) -> TestUser {
        let email = format!("user-{}@example.com", Uuid::new_v4().simple());
        self.signed_up_user_with(&email, PASSWORD).await
    }

    pub async fn signed_up_user_with(&self, email: &str, password: &str) -> TestUser {
        let user = self
            .register(email, password)
            .await
            .expect("registration succeeds")
            .into_inner();
        let (client, token) = session::log_in(&self.base_url, email, password)
            .await
            .expect("login succeeds");
        self.user(user, password, token, client)
    }

    /// An administrator, made as an operator would (`taskapi users create-admin`), and
    /// logged in.
    pub async fn signed_up_admin(&self) -> TestUser {
        let email = format!("admin-{}@example.com", Uuid::new_v4().simple());
        let operator = startup::operator(&DatabaseSettings::for_url(&self.database_url))
            .await
            .expect("the operator's tools start");
        operator
            .create_admin(
                &Email::parse(&email).expect("a valid email"),
                &Password::parse(PASSWORD.to_owned()).expect("a valid password"),
            )
            .await
            .expect("the administrator is created");
        self.logged_in(&email, PASSWORD).await
    }

    /// Logs an existing account in.
    pub async fn logged_in(&self, email: &str, password: &str) -> TestUser {
        let (client, token) = session::log_in(&self.base_url, email, password)
            .await
            .expect("login succeeds");
        let user = client
            .get_current_user()
            .send()
            .await
            .expect("the account is there")
            .into_inner();
        self.user(user, password, token, client)
    }

    /// The test's handle on `user`, logged in with `token` through `client`.
    fn user(
        &self,
        user: types::User,
        password: &str,
        token: types::Token,
        client: Client,
    ) -> TestUser {
        TestUser {
            id: user.id,
            email: user.email,
            password: password.to_owned(),
            token: token.access_token,
            refresh_token: token.refresh_token,
            client,
            base_url: self.base_url.clone(),
            http: self.http.clone(),
        }
    }

    /// The token endpoint's refresh grant, sent as a client would.
    pub async fn refresh(
        &self,
        refresh_token: &str,
    ) -> Result<ResponseValue<types::Token>, taskapi_client::Error<types::Problem>> {
        self.client
            .login()
            .body(types::LoginForm {
                grant_type: Some("refresh_token".to_owned()),
                refresh_token: Some(refresh_token.to_owned()),
                username: None,
                password: None,
                scope: None,
            })
            .send()
            .await
    }

    /// The tokens a refresh with `refresh_token` returns; the refresh must succeed.
    pub async fn refreshed(&self, refresh_token: &str) -> types::Token {
        self.refresh(refresh_token)
            .await
            .expect("refreshed")
            .into_inner()
    }

    /// The status `GET /users/me` answers to `token`, sent as it is (never refreshed).
    pub async fn token_status(&self, token: &str) -> u16 {
        let client = self.client_with_token(token);
        status_of(&client.get_current_user().send().await)
    }

    /// A token with `claims`, signed with this server's secret.
    pub fn forge(&self, claims: &serde_json::Value) -> String {
        sign(claims, &self.jwt_secret)
    }

    /// A sync token saying `raw` (base64 of the token's text), sealed for `holder` as the
    /// server seals the ones it issues: for tests of what a token says, past its seal.
    pub fn forge_sync_token(&self, holder: Uuid, raw: &str) -> String {
        use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
        let secret = taskapi_server::security::JwtSecret::new(self.jwt_secret.as_bytes().to_vec())
            .expect("the test secret is long enough");
        let seal =
            taskapi_server::security::TokenIssuer::new(&secret, std::time::Duration::ZERO).seal();
        let text = URL_SAFE_NO_PAD.encode(raw);
        seal.seal(taskapi_server::service::sync::PURPOSE, holder, &text)
    }

    /// An SDK client that sends `token`.
    pub fn client_with_token(&self, token: &str) -> Client {
        session::with_token(&self.base_url, token).expect("a client")
    }

    /// An SDK client that sends `token` to the [`TestApp::first_instance`].
    pub fn first_instance_client(&self, token: &str) -> Client {
        session::with_token(&format!("http://{}", self.first_instance), token).expect("a client")
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        for shutdown in self.shutdown.drain(..) {
            let _ = shutdown.send(());
        }
    }
}

impl TestUser {
    /// Creates a task with just a title.
    pub async fn create_task(&self, title: &str) -> types::Task {
        self.create(task_titled(title)).await
    }

    pub async fn create(&self, input: types::TaskInput) -> types::Task {
        self.client
            .create_task()
            .body(input)
            .send()
            .await
            .expect("the task is created")
            .into_inner()
    }

    pub async fn task(&self, id: Uuid) -> types::Task {
        self.task_response(id).await.into_inner()
    }

    /// The task as the server answers it, headers (its `ETag`) included.
    pub async fn task_response(&self, id: Uuid) -> ResponseValue<types::Task> {
        self.client
            .get_task()
            .task_id(id)
            .send()
            .await
            .expect("the task is there")
    }

    pub async fn replace(&self, id: Uuid, input: types::TaskInput) -> types::Task {
        self.client
            .replace_task()
            .task_id(id)
            .body(input)
            .send()
            .await
            .expect("the task is replaced")
            .into_inner()
    }

    /// The first page of tasks, default size.
    pub async fn tasks(&self) -> types::TaskPage {
        self.page(None, None).await
    }

    pub async fn page(&self, limit: Option<u32>, cursor: Option<String>) -> types::TaskPage {
        let mut request = self.client.list_tasks();
        if let Some(limit) = limit {
            request = request.limit(NonZeroU32::new(limit).expect("a positive limit"));
        }
        if let Some(cursor) = cursor {
            request = request.cursor(cursor);
        }
        request.send().await.expect("listed").into_inner()
    }

    /// Every page of `limit` tasks, following `next_cursor` to the end.
    pub async fn all_pages(&self, limit: u32) -> Vec<Vec<types::Task>> {
        let mut pages = Vec::new();
        let mut cursor = None;
        loop {
            let page = self.page(Some(limit), cursor).await;
            pages.push(page.items);
            cursor = page.next_cursor;
            if cursor.is_none() {
                return pages;
            }
            assert!(pages.len() < 1000, "pagination does not end");
        }
    }

    /// Whether the user owns no task at all.
    pub async fn has_no_tasks(&self) -> bool {
        self.tasks().await.items.is_empty()
    }

    /// Every task, newest first.
    pub async fn all_tasks(&self) -> Vec<types::Task> {
        let listing = self
            .client
            .list_tasks()
            .limit(NonZeroU32::new(100).expect("positive"));
        listing.items().try_collect().await.expect("listed")
    }

    /// The first page of this user's sessions, default size.
    pub async fn sessions(&self) -> types::SessionPage {
        self.client
            .list_sessions()
            .send()
            .await
            .expect("listed")
            .into_inner()
    }

    /// A new personal access token of this user's with `scopes`, named `name`: the token
    /// and its id.
    pub async fn access_token(
        &self,
        name: &str,
        scopes: &[types::AccessTokenScope],
    ) -> (String, Uuid) {
        let made = self
            .try_access_token(name, scopes)
            .await
            .expect("an access token")
            .into_inner();
        (made.token, made.access_token.id)
    }

    /// Asks for an access token as [`Self::access_token`] does, and returns the answer.
    pub async fn try_access_token(
        &self,
        name: &str,
        scopes: &[types::AccessTokenScope],
    ) -> Result<ResponseValue<types::NewAccessToken>, taskapi_client::Error<types::Problem>> {
        let input = types::AccessTokenInput::builder()
            .name(name)
            .scopes(scopes.to_vec());
        self.client.create_access_token().body(input).send().await
    }

    /// Ends this login's session.
    pub async fn log_out(&self) {
        self.client.logout().send().await.expect("logged out");
    }

    /// A request with this user's token, for what the SDK cannot send.
    pub fn raw(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base_url))
            .bearer_auth(&self.token)
    }
}

/// A benchmark's command line: each `--name` with the value that follows it, if `takes`
/// says it has one, handed to `set` (which refuses a name it does not know).
pub fn flags(takes: impl Fn(&str) -> bool, mut set: impl FnMut(&str, Option<String>)) {
    let mut args = std::env::args().skip(1);
    while let Some(name) = args.next() {
        let value = takes(&name).then(|| {
            args.next()
                .unwrap_or_else(|| panic!("{name} needs a value"))
        });
        set(&name, value);
    }
}

/// Claims like the server's, for `sub`, expiring `offset_from_now` seconds from now.
pub fn claims(sub: Uuid, offset_from_now: i64) -> serde_json::Value {
    let now = jsonwebtoken::get_current_timestamp() as i64;
    serde_json::json!({
        "sub": sub,
        "sid": Uuid::now_v7(),
        "role": "user",
        "iat": now + offset_from_now - 1800,
        "nbf": now + offset_from_now - 1800,
        "exp": now + offset_from_now,
        "iss": "taskapi",
        "aud": "taskapi",
    })
}

/// `claims` signed with HS256 and `secret`.
pub fn sign(claims: &serde_json::Value, secret: &str) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("signed")
}

/// A task input with just a title; the server applies the defaults the contract declares.
pub fn task_titled(title: &str) -> types::TaskInput {
    types::TaskInput::builder()
        .title(title)
        .try_into()
        .expect("title fits the schema")
}

/// The strong `ETag` a response names its task's version with.
pub fn etag_of<T>(response: &ResponseValue<T>) -> String {
    response
        .headers()
        .get(reqwest::header::ETAG)
        .and_then(|value| value.to_str().ok())
        .expect("an ETag")
        .to_owned()
}

/// Sends a raw request that must fail with a problem document of `status`; returns it.
pub async fn expect_problem(request: RequestBuilder, status: u16) -> serde_json::Value {
    problem_in(request.send().await.expect("sent"), status).await
}

/// Checks that a raw response is a problem document with `status`, and returns it.
pub async fn problem_in(response: reqwest::Response, status: u16) -> serde_json::Value {
    let url = response.url().clone();
    assert_eq!(response.status().as_u16(), status, "{url}");
    assert_eq!(
        response.headers().get(CONTENT_TYPE).map(|v| v.as_bytes()),
        Some(&b"application/problem+json"[..]),
        "{url}"
    );
    let problem: serde_json::Value = response.json().await.expect("a JSON problem");
    assert_eq!(problem["status"], status, "{url}: {problem}");
    assert!(
        problem["type"].is_string() && problem["title"].is_string(),
        "{problem}"
    );
    problem
}

/// The problem document of a call that must have failed with a declared error response.
/// Asserts that `problem` has this status and type.
pub fn assert_problem(
    problem: &ResponseValue<types::Problem>,
    status: u16,
    kind: taskapi_client::problem::ProblemType,
) {
    assert_eq!(problem.status().as_u16(), status, "{problem:?}");
    let sent = taskapi_client::problem::ProblemType::from(problem.type_.as_str());
    assert_eq!(sent, kind, "{problem:?}");
}

/// Turns off every rate limit that a test's many requests from one address would reach.
pub fn without_rate_limits(settings: &mut Settings) {
    settings.rate_limits.requests_per_minute = 0;
    settings.rate_limits.registrations_per_address = 0;
    settings.rate_limits.invitations_per_user = 0;
}

pub fn problem<T: std::fmt::Debug>(
    result: Result<T, taskapi_client::Error<types::Problem>>,
) -> ResponseValue<types::Problem> {
    match result {
        Err(taskapi_client::Error::ErrorResponse(problem)) => problem,
        other => panic!("expected an error response, got {other:?}"),
    }
}

/// The HTTP status of an SDK call, success or declared error.
pub fn status_of<T>(
    result: &Result<ResponseValue<T>, taskapi_client::Error<types::Problem>>,
) -> u16 {
    match result {
        Ok(value) => value.status().as_u16(),
        Err(taskapi_client::Error::ErrorResponse(problem)) => problem.status().as_u16(),
        Err(other) => panic!("expected a response, got {other:?}"),
    }
}

/// Runs `command` with `stdin` as its standard input, and collects what it wrote.
pub fn output_with_stdin(command: &mut std::process::Command, stdin: &str) -> std::process::Output {
    use std::{io::Write, process::Stdio};
    let mut child = (command.stdin(Stdio::piped()))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the command starts");
    (child.stdin.take().expect("a pipe"))
        .write_all(stdin.as_bytes())
        .expect("its input is written");
    child.wait_with_output().expect("the command ends")
}
