//! Configuration: one typed struct, read once at start-up from CLI flags, the environment
//! and `.env`. Nothing else in the server reads the environment.

use std::{
    net::{IpAddr, SocketAddr},
    path::PathBuf,
    time::Duration,
};

use clap::{Args, Parser, Subcommand};
use ipnet::IpNet;
use secrecy::SecretString;

use crate::domain::Role;

/// taskapi: a task-management API.
#[derive(Debug, Parser)]
#[command(name = "taskapi", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API (creates the database and applies pending migrations first).
    Serve(Box<Settings>),
    /// Manage the database schema.
    Migrate {
        #[command(flatten)]
        database: DatabaseSettings,
        #[command(subcommand)]
        action: MigrateAction,
    },
    /// Manage accounts from the server's side: make administrators (the API never lets
    /// anyone raise their own role).
    Users {
        #[command(flatten)]
        database: DatabaseSettings,
        #[command(subcommand)]
        action: UsersAction,
    },
    /// Print the OpenAPI document (YAML), or write it to a file.
    Openapi {
        /// Write to this file (replaced only once the document is rendered) instead of
        /// standard output.
        #[arg(long)]
        output: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum MigrateAction {
    /// Apply every pending migration (`alembic upgrade head`).
    Up,
    /// Revert the newest N applied migrations (`alembic downgrade -N`).
    Down {
        #[arg(default_value_t = 1)]
        steps: usize,
    },
    /// List migrations and whether each is applied (`alembic history` / `current`).
    Status,
    /// Create an empty reversible migration pair (`alembic revision -m NAME`).
    New {
        name: String,
        /// Where the migrations live.
        #[arg(long, default_value = "migrations")]
        dir: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum UsersAction {
    /// Create an administrator account. The password is read from standard input (asked
    /// for twice, without echo, on a terminal) and follows the registration rules.
    CreateAdmin {
        /// The new account's email address.
        email: String,
    },
    /// Give an existing account a role: `user` or `admin`. Its access tokens state the new
    /// role from their next refresh. The last enabled administrator cannot be made a user.
    SetRole {
        /// The account's email address.
        email: String,
        /// `user` or `admin`.
        #[arg(value_parser = parse_role)]
        role: Role,
    },
}

fn parse_role(raw: &str) -> Result<Role, String> {
    raw.parse()
        .map_err(|_| format!("{raw:?} is not a role: `user` or `admin`"))
}

#[derive(Debug, Clone, Args)]
pub struct DatabaseSettings {
    /// PostgreSQL connection URL. Unset: `postgres://postgres@127.0.0.1:5432/taskapi`,
    /// except that `serve --dev` then runs a private PostgreSQL of its own.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// Most connections the pool opens.
    #[arg(long, env = "TASKAPI_DB_MAX_CONNECTIONS", default_value_t = DatabaseSettings::MAX_CONNECTIONS)]
    pub db_max_connections: u32,

    /// Longest a request waits for a pooled connection, in milliseconds; then it is told the
    /// server is busy (503).
    #[arg(long, env = "TASKAPI_DB_ACQUIRE_TIMEOUT_MS", default_value_t = DatabaseSettings::ACQUIRE_TIMEOUT_MS)]
    pub db_acquire_timeout_ms: u64,

    /// Longest one SQL statement of a request may run, in milliseconds (`statement_timeout`).
    #[arg(long, env = "TASKAPI_DB_STATEMENT_TIMEOUT_MS", default_value_t = DatabaseSettings::STATEMENT_TIMEOUT_MS)]
    pub db_statement_timeout_ms: u64,

    /// Longest a statement of a request waits for a row or table lock, in milliseconds
    /// (`lock_timeout`), so one stuck writer cannot hold up every request.
    #[arg(long, env = "TASKAPI_DB_LOCK_TIMEOUT_MS", default_value_t = DatabaseSettings::LOCK_TIMEOUT_MS)]
    pub db_lock_timeout_ms: u64,

    /// Prepared statements each pooled connection keeps. `0` when `DATABASE_URL` is a
    /// transaction-pooling proxy (PgBouncer's `pool_mode = transaction`): statements are
    /// then unnamed and each runs in a transaction, so that none outlives the server
    /// connection it was prepared on.
    #[arg(long, env = "TASKAPI_DB_STATEMENT_CACHE", default_value_t = DatabaseSettings::STATEMENT_CACHE)]
    pub db_statement_cache: usize,

    /// PostgreSQL itself, when `DATABASE_URL` goes through a transaction-pooling proxy:
    /// migrations (a session lock) and the revocation listener (`LISTEN`) need a session of
    /// their own. Defaults to `DATABASE_URL`.
    #[arg(long, env = "TASKAPI_DIRECT_DATABASE_URL", hide_env_values = true)]
    pub direct_database_url: Option<String>,
}

impl DatabaseSettings {
    pub const MAX_CONNECTIONS: u32 = 10;
    pub const ACQUIRE_TIMEOUT_MS: u64 = 2_000;
    pub const STATEMENT_TIMEOUT_MS: u64 = 5_000;
    pub const LOCK_TIMEOUT_MS: u64 = 2_000;
    /// sqlx's own default.
    pub const STATEMENT_CACHE: usize = 100;

    /// Where PostgreSQL is when `DATABASE_URL` is not set (and `serve --dev` does not run
    /// its own).
    pub const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/taskapi";

    /// The settings for `database_url` with every default, as the flags give them.
    pub fn for_url(database_url: impl Into<String>) -> Self {
        Self {
            database_url: Some(database_url.into()),
            db_max_connections: Self::MAX_CONNECTIONS,
            db_acquire_timeout_ms: Self::ACQUIRE_TIMEOUT_MS,
            db_statement_timeout_ms: Self::STATEMENT_TIMEOUT_MS,
            db_lock_timeout_ms: Self::LOCK_TIMEOUT_MS,
            db_statement_cache: Self::STATEMENT_CACHE,
            direct_database_url: None,
        }
    }

    /// Where requests' connections go.
    pub fn url(&self) -> &str {
        self.database_url.as_deref().unwrap_or(Self::DEFAULT_URL)
    }

    /// Where sessions that need PostgreSQL itself connect: migrations, the listener.
    pub fn direct_url(&self) -> &str {
        self.direct_database_url.as_deref().unwrap_or(self.url())
    }
}

/// Everything `serve` needs.
#[derive(Debug, Clone, Args)]
pub struct Settings {
    #[command(flatten)]
    pub database: DatabaseSettings,

    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "TASKAPI_BIND", default_value = "127.0.0.1:8000")]
    pub bind: SocketAddr,

    /// Address of the Prometheus metrics listener (`GET /metrics`), apart from the API's;
    /// unset, no metrics are kept or served.
    #[arg(long, env = "TASKAPI_METRICS_BIND")]
    pub metrics_bind: Option<SocketAddr>,

    /// Secret that signs access tokens (HS256), at least 32 bytes. Required unless `--dev`.
    /// Parsing it never fails, so that a rejected value is never echoed in an argument
    /// error; its length is checked at start-up.
    #[arg(long, env = "TASKAPI_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<SecretString>,

    /// More signing keys, as a JSON key set (README, *Signing keys*): each with a `kid`,
    /// one of them (`signing_kid`) signing new tokens, all verifying. The secret stays a
    /// key (`default`). Never echoed.
    #[arg(
        long,
        env = "TASKAPI_JWT_KEYS",
        hide_env_values = true,
        conflicts_with = "jwt_keys_file"
    )]
    pub jwt_keys: Option<SecretString>,

    /// The same key set, read from this file at start-up.
    #[arg(long, env = "TASKAPI_JWT_KEYS_FILE")]
    pub jwt_keys_file: Option<std::path::PathBuf>,

    /// Lifetime of an access token, in seconds. Also how long a revoked session or account
    /// is remembered, since no access token outlives it.
    #[arg(long, env = "TASKAPI_TOKEN_TTL_SECONDS", default_value_t = Self::TOKEN_TTL_SECONDS)]
    pub token_ttl_seconds: u64,

    /// Lifetime of a refresh token, in seconds; each refresh issues a new one, so a session
    /// in use stays alive (up to its maximum lifetime).
    #[arg(long, env = "TASKAPI_REFRESH_TTL_SECONDS", default_value_t = Self::REFRESH_TTL_SECONDS)]
    pub refresh_ttl_seconds: u64,

    /// Longest a session lives from its login, however often it is refreshed, in seconds.
    #[arg(long, env = "TASKAPI_SESSION_MAX_LIFETIME_SECONDS", default_value_t = Self::SESSION_MAX_LIFETIME_SECONDS)]
    pub session_max_lifetime_seconds: u64,

    /// Most live sessions one account keeps; a login past it ends the account's oldest
    /// session (0: no cap).
    #[arg(long, env = "TASKAPI_MAX_SESSIONS_PER_USER", default_value_t = Self::MAX_SESSIONS_PER_USER)]
    pub max_sessions_per_user: u32,

    /// Most personal access tokens one account holds; past it, `create_access_token` is
    /// 409 (0: no cap).
    #[arg(long, env = "TASKAPI_MAX_ACCESS_TOKENS_PER_USER", default_value_t = Self::MAX_ACCESS_TOKENS_PER_USER)]
    pub max_access_tokens_per_user: u32,

    /// How long audit events are kept, in days; older ones are deleted (0: for ever).
    #[arg(long, env = "TASKAPI_AUDIT_RETENTION_DAYS", default_value_t = Self::AUDIT_RETENTION_DAYS)]
    pub audit_retention_days: u32,

    /// Development mode: without a JWT secret, generate an ephemeral one (tokens die with
    /// the process).
    #[arg(long, env = "TASKAPI_DEV")]
    pub dev: bool,

    /// Where `--dev` without `DATABASE_URL` keeps its private PostgreSQL. Default:
    /// `$XDG_DATA_HOME/taskapi/dev-postgres`, or `/var/lib/taskapi/dev-postgres` for root.
    #[arg(long, env = "TASKAPI_DEV_POSTGRES_DIR")]
    pub dev_postgres_dir: Option<PathBuf>,

    /// Do not create the database or apply pending migrations at start-up.
    #[arg(long, env = "TASKAPI_NO_MIGRATE")]
    pub no_migrate: bool,

    /// Require `If-Match` on every change of a task or a list (`PUT`, `PATCH`, `DELETE`):
    /// without it, 428.
    #[arg(long, env = "TASKAPI_REQUIRE_IF_MATCH")]
    pub require_if_match: bool,

    /// How long an `Idempotency-Key` of `POST /tasks` is remembered, in seconds: a retry
    /// within it gets the first response again.
    #[arg(long, env = "TASKAPI_IDEMPOTENCY_KEY_TTL_SECONDS", default_value_t = Self::IDEMPOTENCY_KEY_TTL_SECONDS)]
    pub idempotency_key_ttl_seconds: u64,

    /// How long an invitation to a shared list can be accepted, in seconds.
    #[arg(long, env = "TASKAPI_INVITATION_TTL_SECONDS", default_value_t = Self::INVITATION_TTL_SECONDS)]
    pub invitation_ttl_seconds: u64,

    /// How long the change feed keeps changes, tombstones included, in seconds: a sync
    /// token older than this is refused (410) and the client syncs again from scratch.
    #[arg(long, env = "TASKAPI_TOMBSTONE_TTL_SECONDS", default_value_t = Self::TOMBSTONE_TTL_SECONDS)]
    pub tombstone_ttl_seconds: u64,

    /// Event streams (`GET /events`) one account may hold open at once; past it, 429.
    #[arg(long, env = "TASKAPI_MAX_STREAMS_PER_USER", default_value_t = Self::MAX_STREAMS_PER_USER)]
    pub max_streams_per_user: u32,

    /// Event streams this server holds open at once; past it, 503 (another server may).
    #[arg(long, env = "TASKAPI_MAX_STREAMS", default_value_t = Self::MAX_STREAMS)]
    pub max_streams: u32,

    /// How often an idle event stream sends a comment line, so that proxies keep it open,
    /// in milliseconds.
    #[arg(long, env = "TASKAPI_STREAM_HEARTBEAT_MS", default_value_t = Self::STREAM_HEARTBEAT_MS,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub stream_heartbeat_ms: u64,

    /// How long a change may wait for an event stream's client to read it before the
    /// stream is closed (`end` event, reason `too_slow`, with the id to resume from), in
    /// milliseconds: a client that cannot keep up is not buffered for without bound.
    #[arg(long, env = "TASKAPI_STREAM_SEND_TIMEOUT_MS", default_value_t = Self::STREAM_SEND_TIMEOUT_MS)]
    pub stream_send_timeout_ms: u64,

    /// Largest request body accepted, in bytes.
    #[arg(long, env = "TASKAPI_MAX_BODY_BYTES", default_value_t = 64 * 1024)]
    pub max_body_bytes: usize,

    /// Password hashes computed at once (each takes 19 MiB); 0 means one per CPU.
    #[arg(long, env = "TASKAPI_HASH_CONCURRENCY", default_value_t = 0)]
    pub hash_concurrency: usize,

    /// Origins whose pages may call the API from a browser (CORS), comma-separated and
    /// exactly as browsers send them (`https://app.example.com`), or `*` for any. None by
    /// default: only pages served by the API itself.
    #[arg(long, env = "TASKAPI_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<CorsOrigin>,

    /// Log format: `pretty` for people, `json` for collectors.
    #[arg(long, env = "TASKAPI_LOG_FORMAT", default_value = "pretty")]
    pub log_format: LogFormat,

    #[command(flatten)]
    pub transport: TransportSettings,

    #[command(flatten)]
    pub traces: TraceSettings,

    #[command(flatten)]
    pub rate_limits: RateLimitSettings,

    #[command(flatten)]
    pub mail: MailSettings,
}

/// Mail: where it is sent, what it links to, how sending is retried, and the tokens it
/// carries (README, *Mail*).
#[derive(Debug, Clone, Args)]
pub struct MailSettings {
    /// The SMTP server mail is sent through: `smtp://host:587?tls=required` (STARTTLS),
    /// `smtps://host:465` (TLS from the start) or `smtp://host:25` (no TLS, for a relay on
    /// the same host), with `user:password@` before the host when it needs them. Unset:
    /// with `--dev`, mails are written to the log; otherwise they wait in the outbox until
    /// a server with an SMTP server configured sends them.
    #[arg(long, env = "TASKAPI_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<SecretString>,

    /// The SMTP user name, when it is not in the URL.
    #[arg(long, env = "TASKAPI_SMTP_USERNAME")]
    pub smtp_username: Option<String>,

    /// The SMTP password, when it is not in the URL.
    #[arg(long, env = "TASKAPI_SMTP_PASSWORD", hide_env_values = true)]
    pub smtp_password: Option<SecretString>,

    /// How long one SMTP exchange (connecting, a command) may take, in milliseconds.
    #[arg(long, env = "TASKAPI_SMTP_TIMEOUT_MS", default_value_t = Self::SMTP_TIMEOUT_MS,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub smtp_timeout_ms: u64,

    /// The sender of every mail: `taskapi <noreply@example.com>` or a bare address.
    #[arg(long, env = "TASKAPI_MAIL_FROM", default_value = Self::MAIL_FROM)]
    pub mail_from: String,

    /// The address of the page that takes a mailed token (your front end): a password
    /// reset mail links to `<url>/reset-password?token=…`, a verification mail to
    /// `<url>/verify-email?token=…`.
    #[arg(long, env = "TASKAPI_PUBLIC_URL", default_value = Self::PUBLIC_URL)]
    pub public_url: String,

    /// How often each server looks for mails due (a retry, or one queued by a server that
    /// stopped), in milliseconds; mails queued by its own requests are sent at once.
    #[arg(long, env = "TASKAPI_MAIL_POLL_MS", default_value_t = Self::MAIL_POLL_MS,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub mail_poll_ms: u64,

    /// The wait before the first retry of a mail that could not be sent, in milliseconds;
    /// each further retry waits twice as long, up to `TASKAPI_MAIL_RETRY_MAX_MS`.
    #[arg(long, env = "TASKAPI_MAIL_RETRY_MIN_MS", default_value_t = Self::MAIL_RETRY_MIN_MS)]
    pub mail_retry_min_ms: u64,

    /// The longest wait between two attempts to send a mail, in milliseconds.
    #[arg(long, env = "TASKAPI_MAIL_RETRY_MAX_MS", default_value_t = Self::MAIL_RETRY_MAX_MS)]
    pub mail_retry_max_ms: u64,

    /// Attempts to send a mail before it is given up (logged as an error); 0: never.
    #[arg(long, env = "TASKAPI_MAIL_MAX_ATTEMPTS", default_value_t = Self::MAIL_MAX_ATTEMPTS)]
    pub mail_max_attempts: u32,

    /// How long a mailed password-reset token works, in seconds.
    #[arg(long, env = "TASKAPI_PASSWORD_RESET_TTL_SECONDS", default_value_t = Self::PASSWORD_RESET_TTL_SECONDS)]
    pub password_reset_ttl_seconds: u64,

    /// How long a mailed email-verification token works, in seconds.
    #[arg(long, env = "TASKAPI_EMAIL_VERIFICATION_TTL_SECONDS", default_value_t = Self::EMAIL_VERIFICATION_TTL_SECONDS)]
    pub email_verification_ttl_seconds: u64,

    /// Refuse logins to accounts whose email address is not verified (403).
    #[arg(long, env = "TASKAPI_REQUIRE_VERIFIED_EMAIL")]
    pub require_verified_email: bool,
}

impl MailSettings {
    pub const SMTP_TIMEOUT_MS: u64 = 10_000;
    pub const MAIL_FROM: &str = "taskapi <noreply@localhost>";
    pub const PUBLIC_URL: &str = "http://127.0.0.1:8000";
    pub const MAIL_POLL_MS: u64 = 5_000;
    pub const MAIL_RETRY_MIN_MS: u64 = 2_000;
    pub const MAIL_RETRY_MAX_MS: u64 = 15 * 60 * 1000;
    pub const MAIL_MAX_ATTEMPTS: u32 = 40;
    pub const PASSWORD_RESET_TTL_SECONDS: u64 = 30 * 60;
    pub const EMAIL_VERIFICATION_TTL_SECONDS: u64 = 3 * 24 * 60 * 60;
}

impl Default for MailSettings {
    /// Every default, as the flags give them.
    fn default() -> Self {
        Self {
            smtp_url: None,
            smtp_username: None,
            smtp_password: None,
            smtp_timeout_ms: Self::SMTP_TIMEOUT_MS,
            mail_from: Self::MAIL_FROM.to_owned(),
            public_url: Self::PUBLIC_URL.to_owned(),
            mail_poll_ms: Self::MAIL_POLL_MS,
            mail_retry_min_ms: Self::MAIL_RETRY_MIN_MS,
            mail_retry_max_ms: Self::MAIL_RETRY_MAX_MS,
            mail_max_attempts: Self::MAIL_MAX_ATTEMPTS,
            password_reset_ttl_seconds: Self::PASSWORD_RESET_TTL_SECONDS,
            email_verification_ttl_seconds: Self::EMAIL_VERIFICATION_TTL_SECONDS,
            require_verified_email: false,
        }
    }
}

/// How often a client may fail to log in, register, or call the API. A limit of 0 turns
/// that limit off.
#[derive(Debug, Clone, Args)]
pub struct RateLimitSettings {
    /// Failed logins per account and client address in a login window; then 429 until the
    /// window ends. A successful login clears the count.
    #[arg(long, env = "TASKAPI_LOGIN_FAILURES_PER_ACCOUNT", default_value_t = Self::LOGIN_FAILURES_PER_ACCOUNT)]
    pub login_failures_per_account: u32,

    /// Failed logins per client address, whatever the account, in a login window.
    #[arg(long, env = "TASKAPI_LOGIN_FAILURES_PER_ADDRESS", default_value_t = Self::LOGIN_FAILURES_PER_ADDRESS)]
    pub login_failures_per_address: u32,

    /// The login window, in seconds; it starts with the first failure.
    #[arg(long, env = "TASKAPI_LOGIN_WINDOW_SECONDS", default_value_t = Self::LOGIN_WINDOW_SECONDS)]
    pub login_window_seconds: u64,

    /// Registrations per client address in a registration window.
    #[arg(long, env = "TASKAPI_REGISTRATIONS_PER_ADDRESS", default_value_t = Self::REGISTRATIONS_PER_ADDRESS)]
    pub registrations_per_address: u32,

    /// The registration window, in seconds.
    #[arg(long, env = "TASKAPI_REGISTRATION_WINDOW_SECONDS", default_value_t = Self::REGISTRATION_WINDOW_SECONDS)]
    pub registration_window_seconds: u64,

    /// Invitations to shared lists one user may send in an invitation window.
    #[arg(long, env = "TASKAPI_INVITATIONS_PER_USER", default_value_t = Self::INVITATIONS_PER_USER)]
    pub invitations_per_user: u32,

    /// The invitation window, in seconds.
    #[arg(long, env = "TASKAPI_INVITATION_WINDOW_SECONDS", default_value_t = Self::INVITATION_WINDOW_SECONDS)]
    pub invitation_window_seconds: u64,

    /// Password-reset requests per client address in a password-reset window.
    #[arg(long, env = "TASKAPI_PASSWORD_RESETS_PER_ADDRESS", default_value_t = Self::PASSWORD_RESETS_PER_ADDRESS)]
    pub password_resets_per_address: u32,

    /// Password-reset requests per email address (whether or not an account has it) in a
    /// password-reset window.
    #[arg(long, env = "TASKAPI_PASSWORD_RESETS_PER_EMAIL", default_value_t = Self::PASSWORD_RESETS_PER_EMAIL)]
    pub password_resets_per_email: u32,

    /// The password-reset window, in seconds.
    #[arg(long, env = "TASKAPI_PASSWORD_RESET_WINDOW_SECONDS", default_value_t = Self::PASSWORD_RESET_WINDOW_SECONDS)]
    pub password_reset_window_seconds: u64,

    /// Authenticated requests per user and minute, per instance (a GCRA bucket that refills
    /// continuously, so a full minute's quota may come in one burst).
    #[arg(long, env = "TASKAPI_REQUESTS_PER_MINUTE", default_value_t = Self::REQUESTS_PER_MINUTE)]
    pub requests_per_minute: u32,

    /// Proxies whose forwarding header names the client, as addresses or CIDR ranges,
    /// comma-separated (`10.0.0.0/8,192.0.2.1`). None by default: the client is the TCP
    /// peer.
    #[arg(long, env = "TASKAPI_TRUSTED_PROXIES", value_delimiter = ',', value_parser = parse_proxy)]
    pub trusted_proxies: Vec<IpNet>,

    /// The header the trusted proxies write (the other is ignored, since a proxy passes a
    /// client's own copy of it through).
    #[arg(
        long,
        env = "TASKAPI_FORWARDED_HEADER",
        default_value = "x-forwarded-for"
    )]
    pub forwarded_header: ForwardedHeader,
}

/// Which forwarding header trusted proxies write.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ForwardedHeader {
    /// `X-Forwarded-For` (nginx, HAProxy, most load balancers).
    #[default]
    #[value(name = "x-forwarded-for")]
    XForwardedFor,
    /// `Forwarded` (RFC 7239).
    Forwarded,
}

impl RateLimitSettings {
    pub const LOGIN_FAILURES_PER_ACCOUNT: u32 = 10;
    pub const LOGIN_FAILURES_PER_ADDRESS: u32 = 100;
    pub const LOGIN_WINDOW_SECONDS: u64 = 15 * 60;
    pub const REGISTRATIONS_PER_ADDRESS: u32 = 20;
    pub const REGISTRATION_WINDOW_SECONDS: u64 = 60 * 60;
    pub const REQUESTS_PER_MINUTE: u32 = 600;
    pub const INVITATIONS_PER_USER: u32 = 100;
    pub const INVITATION_WINDOW_SECONDS: u64 = 60 * 60;
    pub const PASSWORD_RESETS_PER_ADDRESS: u32 = 20;
    pub const PASSWORD_RESETS_PER_EMAIL: u32 = 5;
    pub const PASSWORD_RESET_WINDOW_SECONDS: u64 = 60 * 60;
}

impl Default for RateLimitSettings {
    /// Every default, as the flags give them.
    fn default() -> Self {
        Self {
            login_failures_per_account: Self::LOGIN_FAILURES_PER_ACCOUNT,
            login_failures_per_address: Self::LOGIN_FAILURES_PER_ADDRESS,
            login_window_seconds: Self::LOGIN_WINDOW_SECONDS,
            registrations_per_address: Self::REGISTRATIONS_PER_ADDRESS,
            registration_window_seconds: Self::REGISTRATION_WINDOW_SECONDS,
            requests_per_minute: Self::REQUESTS_PER_MINUTE,
            invitations_per_user: Self::INVITATIONS_PER_USER,
            invitation_window_seconds: Self::INVITATION_WINDOW_SECONDS,
            password_resets_per_address: Self::PASSWORD_RESETS_PER_ADDRESS,
            password_resets_per_email: Self::PASSWORD_RESETS_PER_EMAIL,
            password_reset_window_seconds: Self::PASSWORD_RESET_WINDOW_SECONDS,
            trusted_proxies: Vec::new(),
            forwarded_header: ForwardedHeader::default(),
        }
    }
}

/// A proxy: an address (a network of one) or a CIDR range.
fn parse_proxy(raw: &str) -> Result<IpNet, String> {
    let raw = raw.trim();
    raw.parse::<IpNet>()
        .or_else(|_| raw.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| format!("{raw:?} is not an IP address or CIDR range"))
}

/// Limits on connections and request heads, so that no client can hold the server's
/// sockets or memory.
#[derive(Debug, Clone, Args)]
pub struct TransportSettings {
    /// Longest a client may take to send a complete request head, in milliseconds, counted
    /// from the connection's opening or from its first byte after an idle spell.
    #[arg(long, env = "TASKAPI_HEADER_READ_TIMEOUT_MS", default_value_t = Self::HEADER_READ_TIMEOUT_MS)]
    pub header_read_timeout_ms: u64,

    /// Longest a request body may take to arrive, in milliseconds; then 408.
    #[arg(long, env = "TASKAPI_BODY_READ_TIMEOUT_MS", default_value_t = Self::BODY_READ_TIMEOUT_MS)]
    pub body_read_timeout_ms: u64,

    /// Longest a connection may sit idle between requests, in milliseconds.
    #[arg(long, env = "TASKAPI_KEEP_ALIVE_TIMEOUT_MS", default_value_t = Self::KEEP_ALIVE_TIMEOUT_MS)]
    pub keep_alive_timeout_ms: u64,

    /// Most connections open at once. At the cap, the longest-idle connection is closed to
    /// make room; when none is idle, new connections are closed at once.
    #[arg(long, env = "TASKAPI_MAX_CONNECTIONS", default_value_t = Self::MAX_CONNECTIONS)]
    pub max_connections: usize,

    /// Most connections from one client address (0: no cap); trusted proxies are exempt.
    /// At the cap, that address's longest-idle connection is closed to admit a new one;
    /// when none is idle, its new connections are closed at once.
    #[arg(long, env = "TASKAPI_MAX_CONNECTIONS_PER_ADDRESS", default_value_t = Self::MAX_CONNECTIONS_PER_ADDRESS)]
    pub max_connections_per_address: usize,

    /// Largest request head (request line and header fields), in bytes; then 431 (414 when
    /// the target alone is over).
    #[arg(long, env = "TASKAPI_MAX_HEADER_BYTES", default_value_t = Self::MAX_HEADER_BYTES)]
    pub max_header_bytes: usize,

    /// Most header fields in one request; then 431.
    #[arg(long, env = "TASKAPI_MAX_HEADERS", default_value_t = Self::MAX_HEADERS)]
    pub max_headers: usize,

    /// Most concurrent streams on one HTTP/2 connection.
    #[arg(long, env = "TASKAPI_HTTP2_MAX_STREAMS", default_value_t = Self::HTTP2_MAX_STREAMS)]
    pub http2_max_streams: u32,
}

impl TransportSettings {
    pub const HEADER_READ_TIMEOUT_MS: u64 = 10_000;
    pub const BODY_READ_TIMEOUT_MS: u64 = 15_000;
    pub const KEEP_ALIVE_TIMEOUT_MS: u64 = 60_000;
    pub const MAX_CONNECTIONS: usize = 1_000;
    pub const MAX_CONNECTIONS_PER_ADDRESS: usize = 100;
    pub const MAX_HEADER_BYTES: usize = 16 * 1024;
    pub const MAX_HEADERS: usize = 64;
    pub const HTTP2_MAX_STREAMS: u32 = 100;
}

impl Default for TransportSettings {
    /// Every default, as the flags give them.
    fn default() -> Self {
        Self {
            header_read_timeout_ms: Self::HEADER_READ_TIMEOUT_MS,
            body_read_timeout_ms: Self::BODY_READ_TIMEOUT_MS,
            keep_alive_timeout_ms: Self::KEEP_ALIVE_TIMEOUT_MS,
            max_connections: Self::MAX_CONNECTIONS,
            max_connections_per_address: Self::MAX_CONNECTIONS_PER_ADDRESS,
            max_header_bytes: Self::MAX_HEADER_BYTES,
            max_headers: Self::MAX_HEADERS,
            http2_max_streams: Self::HTTP2_MAX_STREAMS,
        }
    }
}

impl Settings {
    pub const TOKEN_TTL_SECONDS: u64 = 15 * 60;
    pub const REFRESH_TTL_SECONDS: u64 = 30 * 24 * 60 * 60;
    pub const SESSION_MAX_LIFETIME_SECONDS: u64 = 90 * 24 * 60 * 60;
    pub const MAX_SESSIONS_PER_USER: u32 = 100;
    pub const MAX_ACCESS_TOKENS_PER_USER: u32 = 100;
    pub const AUDIT_RETENTION_DAYS: u32 = 365;
    pub const IDEMPOTENCY_KEY_TTL_SECONDS: u64 = 24 * 60 * 60;
    pub const INVITATION_TTL_SECONDS: u64 = 14 * 24 * 60 * 60;
    pub const TOMBSTONE_TTL_SECONDS: u64 = 30 * 24 * 60 * 60;
    pub const MAX_STREAMS_PER_USER: u32 = 5;
    pub const MAX_STREAMS: u32 = 10_000;
    pub const STREAM_HEARTBEAT_MS: u64 = 15_000;
    pub const STREAM_SEND_TIMEOUT_MS: u64 = 30_000;

    pub fn token_ttl(&self) -> Duration {
        Duration::from_secs(self.token_ttl_seconds)
    }

    pub fn refresh_ttl(&self) -> Duration {
        Duration::from_secs(self.refresh_ttl_seconds)
    }

    pub fn session_max_lifetime(&self) -> Duration {
        Duration::from_secs(self.session_max_lifetime_seconds)
    }

    pub fn idempotency_key_ttl(&self) -> Duration {
        Duration::from_secs(self.idempotency_key_ttl_seconds)
    }

    pub fn invitation_ttl(&self) -> Duration {
        Duration::from_secs(self.invitation_ttl_seconds)
    }

    pub fn tombstone_ttl(&self) -> Duration {
        Duration::from_secs(self.tombstone_ttl_seconds)
    }
}

/// An origin allowed to call the API from a browser: `scheme://host[:port]`, or `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorsOrigin {
    Any,
    Exactly(String),
}

impl std::str::FromStr for CorsOrigin {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, String> {
        let origin = raw.trim();
        if origin == "*" {
            return Ok(Self::Any);
        }
        let uri: poem::http::Uri = origin
            .parse()
            .map_err(|_| format!("{origin:?} is not an origin such as https://app.example.com"))?;
        let is_origin = matches!(uri.scheme_str(), Some("http" | "https"))
            && uri.authority().is_some()
            && uri.path_and_query().is_none_or(|path| path.as_str() == "/")
            && !origin.ends_with('/');
        if !is_origin {
            return Err(format!(
                "{origin:?} is not an origin: scheme, host and port only, such as https://app.example.com"
            ));
        }
        Ok(Self::Exactly(origin.to_owned()))
    }
}

/// OpenTelemetry traces, by the standard `OTEL_*` variables (README, *Tracing*).
#[derive(Debug, Clone, Args)]
pub struct TraceSettings {
    /// Base URL of an OTLP/HTTP collector (`http://127.0.0.1:4318`); spans go to its
    /// `/v1/traces`. Unset or empty: no traces.
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,

    /// How spans are sent: only `http/protobuf`.
    #[arg(
        long,
        env = "OTEL_EXPORTER_OTLP_PROTOCOL",
        default_value = "http/protobuf"
    )]
    pub otlp_protocol: OtlpProtocol,

    /// The `service.name` of every span.
    #[arg(long, env = "OTEL_SERVICE_NAME", default_value = "taskapi")]
    pub service_name: String,

    /// Which requests are traced: a W3C `traceparent` decides for `parentbased_*`.
    #[arg(
        long,
        env = "OTEL_TRACES_SAMPLER",
        default_value = "parentbased_always_on"
    )]
    pub traces_sampler: TraceSampler,

    /// The ratio of `traceidratio` and `parentbased_traceidratio`, from 0 to 1.
    #[arg(long, env = "OTEL_TRACES_SAMPLER_ARG", default_value_t = 1.0, value_parser = ratio)]
    pub traces_sampler_arg: f64,
}

impl TraceSettings {
    /// The collector's base URL, when traces are on.
    pub fn endpoint(&self) -> Option<&str> {
        self.otlp_endpoint
            .as_deref()
            .filter(|url| !url.trim().is_empty())
    }
}

impl Default for TraceSettings {
    fn default() -> Self {
        Self {
            otlp_endpoint: None,
            otlp_protocol: OtlpProtocol::HttpProtobuf,
            service_name: "taskapi".to_owned(),
            traces_sampler: TraceSampler::ParentbasedAlwaysOn,
            traces_sampler_arg: 1.0,
        }
    }
}

fn ratio(text: &str) -> Result<f64, String> {
    text.parse::<f64>()
        .ok()
        .filter(|ratio| (0.0..=1.0).contains(ratio))
        .ok_or_else(|| "must be a number from 0 to 1".to_owned())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OtlpProtocol {
    #[value(name = "http/protobuf")]
    HttpProtobuf,
}

/// `OTEL_TRACES_SAMPLER`'s values, as the OpenTelemetry specification names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum TraceSampler {
    AlwaysOn,
    AlwaysOff,
    Traceidratio,
    ParentbasedAlwaysOn,
    ParentbasedAlwaysOff,
    ParentbasedTraceidratio,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Pretty,
    Json,
}

impl Cli {
    /// Reads `.env` (when present) into the environment, then parses flags and variables.
    pub fn load() -> Self {
        // A missing `.env` is normal; a malformed one is worth a warning on stderr, since
        // logging is not set up yet.
        if let Err(error) = dotenvy::dotenv()
            && !error.not_found()
        {
            eprintln!("warning: ignoring .env: {error}");
        }
        Self::parse()
    }
}

#[cfg(test)]
mod settings_table;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_do_not_print() {
        let cli =
            Cli::try_parse_from(["taskapi", "serve", "--jwt-secret", "s3cr3t"]).expect("parses");
        assert!(!format!("{cli:?}").contains("s3cr3t"), "{cli:?}");
    }

    #[test]
    fn cors_origins_are_exact_origins_or_any() {
        assert_eq!("*".parse(), Ok(CorsOrigin::Any));
        assert_eq!(
            "https://app.example.com:8443".parse(),
            Ok(CorsOrigin::Exactly(
                "https://app.example.com:8443".to_owned()
            ))
        );
        for refused in [
            "app.example.com",
            "https://app.example.com/",
            "https://a.com/x",
            "ftp://a.com",
        ] {
            assert!(refused.parse::<CorsOrigin>().is_err(), "{refused}");
        }
        let cli = Cli::try_parse_from([
            "taskapi",
            "serve",
            "--cors-origins",
            "https://a.example,http://localhost:3000",
        ])
        .expect("parses");
        let Command::Serve(settings) = cli.command else {
            panic!("expected serve");
        };
        assert_eq!(settings.cors_origins.len(), 2);
    }

    #[test]
    fn cli_parses_serve_defaults() {
        let cli = Cli::try_parse_from(["taskapi", "serve", "--dev"]).expect("parses");
        let Command::Serve(settings) = cli.command else {
            panic!("expected serve");
        };
        assert!(settings.dev);
        assert_eq!(settings.max_body_bytes, 65536);
        assert!(
            settings.cors_origins.is_empty(),
            "same-origin only by default"
        );
    }
}
