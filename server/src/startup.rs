//! Building the application from [`Settings`] and running it.

use std::{future::Future, net::SocketAddr, time::Duration};

use anyhow::Context;
use ipnet::IpNet;
use metrics_exporter_prometheus::PrometheusHandle;
use rand_core::{OsRng, RngCore};
use secrecy::ExposeSecret;
use tokio::{net::TcpListener, task::JoinHandle};

use sqlx::PgPool;

use crate::{
    config::{DatabaseSettings, RateLimitSettings, Settings},
    failure::Failure,
    http::{HttpSettings, app},
    mail::Mailer,
    security::{JwtSecret, PasswordHasher, TokenIssuer, keys::SigningKeys},
    service::{
        Policies, Preconditions, Services,
        admin::Operator,
        auth::SessionPolicy,
        events::StreamPolicy,
        limits::{Quotas, RateLimits},
        lists::ListPolicy,
        mail::MailPolicy,
        passwords::Passwords,
        revocations::{RevocationSet, Revoker},
        sync::SyncPolicy,
        tasks::TaskPolicy,
    },
    store::{self, Database, migrations, revocations::Feed as RevocationFeed},
    telemetry::metrics,
    transport::{self, Limits},
};

/// How long in-flight requests get to finish after a shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// A bound, ready-to-run server.
pub struct Application {
    listener: TcpListener,
    address: SocketAddr,
    services: Services,
    revocations: RevocationSet,
    /// What keeps the revocation set current; connected before serving (when the database
    /// allows), so that the set is trusted from the first request.
    revocation_feed: RevocationFeed,
    http: HttpSettings,
    limits: Limits,
    /// Trusted proxies: exempt from the per-address connection cap.
    proxies: Vec<IpNet>,
    /// The request pool, closed once the last request is answered.
    pool: PgPool,
    /// Where the metrics are served, and what they are read from, when they are.
    metrics: Option<((TcpListener, SocketAddr), PrometheusHandle)>,
    db: Database,
}

impl Application {
    /// Prepares the database (unless `no_migrate`), the services and the listening socket.
    pub async fn build(settings: &Settings) -> anyhow::Result<Self> {
        let secret = jwt_secret(settings)?;
        // Before anything records: what starts at zero is recorded as it is built.
        let recorder = settings
            .metrics_bind
            .map(|_| metrics::install())
            .transpose()?;
        if !settings.no_migrate {
            prepare_database(&settings.database).await?;
        }
        let pool = connect(&settings.database).await?;
        let concurrency = match settings.hash_concurrency {
            0 => std::thread::available_parallelism().map_or(1, usize::from),
            n => n,
        };
        let hasher = PasswordHasher::new(concurrency).await?;
        let tokens = TokenIssuer::with_keys(
            &secret,
            signing_keys(settings, &secret)?,
            settings.token_ttl(),
        );
        let db = Database::new(pool.clone(), &pool_settings(&settings.database));
        let limits = RateLimits::new(db.clone(), &quotas(&settings.rate_limits));

        let revocations = RevocationSet::default();
        let listener_pool = store::connect_for_listening(
            settings.database.direct_url(),
            Duration::from_millis(settings.database.db_acquire_timeout_ms),
        )
        .context("invalid DATABASE_URL")?;
        let mut revocation_feed = RevocationFeed::new(listener_pool);
        // Not fatal: until the listener connects, tokens are checked against the database.
        if let Err(error) = revocations.connect(&mut revocation_feed).await {
            tracing::warn!(?error, "cannot start the revocation listener");
        }
        let sessions = SessionPolicy {
            refresh_ttl: settings.refresh_ttl(),
            max_lifetime: settings.session_max_lifetime(),
            max_per_user: settings.max_sessions_per_user,
            require_verified_email: settings.mail.require_verified_email,
            max_access_tokens_per_user: settings.max_access_tokens_per_user,
        };
        let preconditions = Preconditions {
            required: settings.require_if_match,
        };
        let mailer = Mailer::new(&settings.mail, settings.dev).map_err(anyhow::Error::msg)?;
        let mail = &settings.mail;
        let smtp_timeout = Duration::from_millis(mail.smtp_timeout_ms);
        let services = Services::new(
            db.clone(),
            hasher,
            tokens,
            limits,
            revocations.clone(),
            mailer,
            Policies {
                mail: MailPolicy {
                    public_url: mail.public_url.clone(),
                    poll: Duration::from_millis(mail.mail_poll_ms),
                    retry_min: Duration::from_millis(mail.mail_retry_min_ms),
                    retry_max: Duration::from_millis(mail.mail_retry_max_ms),
                    max_attempts: mail.mail_max_attempts,
                    // Connecting, greeting, TLS, authentication and the mail's commands
                    // are each bounded by the timeout; a send takes a handful of them.
                    lease: smtp_timeout.saturating_mul(8),
                    password_reset_ttl: Duration::from_secs(mail.password_reset_ttl_seconds),
                    email_verification_ttl: Duration::from_secs(
                        mail.email_verification_ttl_seconds,
                    ),
                },
                sessions,
                tasks: TaskPolicy {
                    preconditions,
                    idempotency_ttl: settings.idempotency_key_ttl(),
                },
                lists: ListPolicy {
                    preconditions,
                    invitation_ttl: settings.invitation_ttl(),
                },
                sync: SyncPolicy {
                    tombstone_ttl: settings.tombstone_ttl(),
                },
                streams: StreamPolicy {
                    max_per_user: settings.max_streams_per_user,
                    max_per_server: settings.max_streams,
                    send_timeout: Duration::from_millis(settings.stream_send_timeout_ms),
                    heartbeat: Duration::from_millis(settings.stream_heartbeat_ms),
                },
                audit_retention: match settings.audit_retention_days {
                    0 => None,
                    days => Some(Duration::from_secs(u64::from(days) * 24 * 60 * 60)),
                },
            },
        );
        let (listener, address) = listen(settings.bind).await?;
        let metrics = match settings.metrics_bind {
            Some(bind) if bind == address => {
                anyhow::bail!("TASKAPI_METRICS_BIND must differ from the API's address {address}")
            }
            Some(bind) => Some(listen(bind).await?),
            None => None,
        };
        let metrics = metrics.zip(recorder);
        let transport = &settings.transport;
        Ok(Self {
            listener,
            address,
            services,
            revocations,
            revocation_feed,
            http: HttpSettings {
                max_body_bytes: settings.max_body_bytes,
                body_read_timeout: Duration::from_millis(transport.body_read_timeout_ms),
                max_header_bytes: transport.max_header_bytes,
                max_headers: transport.max_headers,
                cors_origins: settings.cors_origins.clone(),
                trusted_proxies: settings.rate_limits.trusted_proxies.clone(),
                forwarded_header: settings.rate_limits.forwarded_header,
            },
            proxies: settings.rate_limits.trusted_proxies.clone(),
            pool,
            metrics,
            db,
            limits: Limits {
                header_read_timeout: Duration::from_millis(transport.header_read_timeout_ms),
                keep_alive_timeout: Duration::from_millis(transport.keep_alive_timeout_ms),
                max_connections: transport.max_connections,
                max_connections_per_address: transport.max_connections_per_address,
                max_header_bytes: transport.max_header_bytes,
                max_headers: transport.max_headers,
                http2_max_streams: transport.http2_max_streams,
                shutdown_grace: SHUTDOWN_GRACE,
            },
        })
    }

    /// The address actually bound (useful with port 0).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The metrics listener's address, when metrics are served.
    pub fn metrics_address(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(|((_, address), _)| *address)
    }

    /// Serves until `shutdown` completes, then lets in-flight requests finish.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send) {
        tracing::info!(address = %self.address, "listening");
        let mut jobs = start_jobs(&self.services);
        if let Some(((listener, address), recorder)) = self.metrics {
            tracing::info!(%address, "serving metrics");
            let db = self.db.clone();
            let scraped = move || db.observe_pool();
            jobs.push(tokio::spawn(async move {
                let served =
                    metrics::serve(listener, recorder, scraped, std::future::pending()).await;
                if let Err(error) = served {
                    tracing::error!(%error, "the metrics listener failed");
                }
            }));
        }
        let streams = self.services.events.streams().clone();
        let listening = tokio::spawn(
            self.revocations
                .listen(self.revocation_feed, streams.clone()),
        );
        jobs.push(tokio::spawn(self.services.events.clone().announce()));
        jobs.push(tokio::spawn(self.services.mail.clone().deliver()));
        let app = app(self.services, &self.http);
        // Event streams end at once (each with its resume id) rather than hold the
        // shutdown up for its whole grace.
        let shutdown = async move {
            shutdown.await;
            streams.close();
        };
        transport::serve(self.listener, app, self.limits, self.proxies, shutdown).await;
        for job in jobs {
            job.abort();
        }
        listening.abort();
        self.pool.close().await;
        tracing::info!("stopped");
    }
}

/// A listener on `bind`, and the address it got (its port, when `bind` asks for any).
async fn listen(bind: SocketAddr) -> anyhow::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(bind)
        .await
        .with_context(|| format!("cannot listen on {bind}"))?;
    let address = listener
        .local_addr()
        .context("the listener has no TCP address")?;
    Ok((listener, address))
}

/// How often expired rate-limit counters, sessions, revocations, idempotency keys and
/// invitations are deleted.
const PURGE_INTERVAL: Duration = Duration::from_secs(60);

/// Starts every periodic job of the server, each a service method; they run until their
/// handles are aborted. A new job is one more entry here: `what it does: service.method`.
fn start_jobs(services: &Services) -> Vec<JoinHandle<()>> {
    macro_rules! jobs {
        ($($name:literal: $service:expr => $method:ident;)*) => {
            vec![$(spawn_periodic($name, PURGE_INTERVAL, $service.clone(), |service| async move {
                service.$method().await
            }),)*]
        };
    }
    jobs! {
        "purge expired rate-limit counters": services.auth.limits() => purge_expired;
        "purge expired sessions and revocations": services.auth => purge_expired;
        "purge expired idempotency keys": services.tasks => purge_expired_keys;
        "purge expired invitations": services.lists => purge_expired_invitations;
        "purge changes older than the tombstone lifetime": services.sync => purge_expired;
        "purge expired password-reset and verification tokens": services.mail => purge_expired;
        "purge audit events older than the retention": services.audit => purge_expired;
    }
}

/// Runs `job` on (a clone of) `service` every `period`, the first time at once, for as long
/// as the task runs. A failure is logged, and the next period tries again.
fn spawn_periodic<Service, Job, Run>(
    name: &'static str,
    period: Duration,
    service: Service,
    job: Job,
) -> JoinHandle<()>
where
    Service: Clone + Send + 'static,
    Job: Fn(Service) -> Run + Send + 'static,
    Run: Future<Output = Result<u64, Failure>> + Send,
{
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match job(service.clone()).await {
                Ok(done) => tracing::debug!(job = name, done, "periodic job ran"),
                Err(error) => tracing::warn!(job = name, %error, "periodic job failed"),
            }
        }
    })
}

/// Creates the database if it is missing and applies pending migrations.
async fn prepare_database(database: &DatabaseSettings) -> anyhow::Result<()> {
    if migrations::ensure_database(database.direct_url())
        .await
        .context("cannot create the database; is PostgreSQL running at DATABASE_URL?")?
    {
        tracing::info!("created the database");
    }
    let migrator =
        store::connect_for_migrations(database.direct_url()).context("invalid DATABASE_URL")?;
    migrations::up(&migrator)
        .await
        .context("cannot apply migrations")?;
    migrator.close().await;
    Ok(())
}

/// The request pool, checked once: a wrong host, database or role stops the process here
/// rather than failing every request.
async fn connect(database: &DatabaseSettings) -> anyhow::Result<PgPool> {
    let pool = store::connect(&pool_settings(database)).context("invalid DATABASE_URL")?;
    // A request waits `db_acquire_timeout_ms` for a connection; start-up waits longer for
    // its first, which a database under load may be slow to accept.
    let deadline = tokio::time::Instant::now() + START_UP_CONNECT;
    loop {
        match pool.acquire().await {
            Ok(_) => return Ok(pool),
            Err(sqlx::Error::PoolTimedOut) if tokio::time::Instant::now() < deadline => {}
            Err(error) => {
                return Err(error).with_context(|| {
                    format!(
                        "cannot connect to the database at {}",
                        store::describe_url(database.url())
                    )
                });
            }
        }
    }
}

/// How long start-up tries to connect to the database before giving up.
const START_UP_CONNECT: Duration = Duration::from_secs(10);

/// How long the servers remember a session the command line ended: longer than any
/// access-token lifetime they may be configured with.
const OPERATOR_REVOCATION_WINDOW: Duration = Duration::from_secs(24 * 60 * 60);

/// What `taskapi users` works through: the database prepared as `serve` would, and the
/// registration rules' password hashing.
pub async fn operator(database: &DatabaseSettings) -> anyhow::Result<Operator> {
    prepare_database(database).await?;
    let db = Database::new(connect(database).await?, &pool_settings(database));
    let hasher = PasswordHasher::new(1).await?;
    // The operator's commands count no failed logins; the limits are never consulted.
    let limits = RateLimits::new(db.clone(), &quotas(&RateLimitSettings::default()));
    let revoker = Revoker::new(RevocationSet::default(), OPERATOR_REVOCATION_WINDOW);
    Ok(Operator::new(db, Passwords::new(hasher, limits), revoker))
}

fn jwt_secret(settings: &Settings) -> anyhow::Result<JwtSecret> {
    if let Some(input) = &settings.jwt_secret {
        return JwtSecret::new(input.expose_secret().as_bytes().to_vec())
            .map_err(|reason| anyhow::anyhow!("TASKAPI_JWT_SECRET {reason}"));
    }
    if !settings.dev {
        anyhow::bail!(
            "TASKAPI_JWT_SECRET is not set. Set it to at least {} random bytes \
             (e.g. `openssl rand -base64 48`), or pass --dev to use an ephemeral secret.",
            JwtSecret::MIN_BYTES
        );
    }
    tracing::warn!("--dev: signing tokens with an ephemeral secret; they die with this process");
    let mut bytes = vec![0; 48];
    OsRng.fill_bytes(&mut bytes);
    JwtSecret::new(bytes).map_err(anyhow::Error::msg)
}

/// The secret's key and the key set's, if one is configured.
fn signing_keys(settings: &Settings, secret: &JwtSecret) -> anyhow::Result<SigningKeys> {
    let set = match (&settings.jwt_keys, &settings.jwt_keys_file) {
        (Some(inline), _) => inline.expose_secret().to_owned(),
        (None, Some(path)) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read TASKAPI_JWT_KEYS_FILE {}", path.display()))?,
        (None, None) => return Ok(SigningKeys::from_secret(secret)),
    };
    SigningKeys::new(secret, &set).map_err(|reason| anyhow::anyhow!("TASKAPI_JWT_KEYS: {reason}"))
}

/// The request pool's settings, as the flags give them.
fn pool_settings(database: &DatabaseSettings) -> store::PoolSettings {
    store::PoolSettings {
        url: database.url().to_owned(),
        max_connections: database.db_max_connections,
        acquire_timeout: Duration::from_millis(database.db_acquire_timeout_ms),
        statement_timeout: Duration::from_millis(database.db_statement_timeout_ms),
        lock_timeout: Duration::from_millis(database.db_lock_timeout_ms),
        statement_cache: database.db_statement_cache,
    }
}

/// The rate limits, as the flags give them.
fn quotas(limits: &RateLimitSettings) -> Quotas {
    Quotas {
        login_failures_per_account: limits.login_failures_per_account,
        login_failures_per_address: limits.login_failures_per_address,
        login_window: Duration::from_secs(limits.login_window_seconds),
        registrations_per_address: limits.registrations_per_address,
        registration_window: Duration::from_secs(limits.registration_window_seconds),
        invitations_per_user: limits.invitations_per_user,
        invitation_window: Duration::from_secs(limits.invitation_window_seconds),
        password_resets_per_address: limits.password_resets_per_address,
        password_resets_per_email: limits.password_resets_per_email,
        password_reset_window: Duration::from_secs(limits.password_reset_window_seconds),
        requests_per_minute: limits.requests_per_minute,
    }
}
