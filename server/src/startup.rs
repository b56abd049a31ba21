//! Building the application from [`Settings`] and running it.

use std::{future::Future, net::SocketAddr, time::Duration};

use anyhow::Context;
use poem::{
    Server,
    listener::{Acceptor, Listener, TcpAcceptor, TcpListener},
};
use rand_core::{OsRng, RngCore};

use crate::{
    config::{CorsOrigin, JwtSecret, Settings},
    http::app,
    security::{PasswordHasher, TokenIssuer},
    service::Services,
    store::{self, migrations},
};

/// How long in-flight requests get to finish after a shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// A bound, ready-to-run server.
pub struct Application {
    acceptor: TcpAcceptor,
    address: SocketAddr,
    services: Services,
    max_body_bytes: usize,
    cors_origins: Vec<CorsOrigin>,
}

impl Application {
    /// Prepares the database (unless `no_migrate`), the services and the listening socket.
    pub async fn build(settings: &Settings) -> anyhow::Result<Self> {
        let secret = jwt_secret(settings)?;
        if !settings.no_migrate
            && migrations::ensure_database(&settings.database.database_url)
                .await
                .context("cannot create the database; is PostgreSQL running at DATABASE_URL?")?
        {
            tracing::info!("created the database");
        }
        if !settings.no_migrate {
            let migrator = store::connect_for_migrations(&settings.database)
                .context("invalid DATABASE_URL")?;
            migrations::up(&migrator)
                .await
                .context("cannot apply migrations")?;
            migrator.close().await;
        }
        let pool = store::connect(&settings.database).context("invalid DATABASE_URL")?;
        let concurrency = match settings.hash_concurrency {
            0 => std::thread::available_parallelism().map_or(1, usize::from),
            n => n,
        };
        let hasher = PasswordHasher::new(concurrency).await?;
        let tokens = TokenIssuer::new(&secret, settings.token_ttl());
        let services = Services::new(pool, hasher, tokens);
        let acceptor = TcpListener::bind(settings.bind)
            .into_acceptor()
            .await
            .with_context(|| format!("cannot listen on {}", settings.bind))?;
        let address = acceptor
            .local_addr()
            .first()
            .and_then(|address| address.as_socket_addr().copied())
            .context("the listener has no TCP address")?;
        Ok(Self {
            acceptor,
            address,
            services,
            max_body_bytes: settings.max_body_bytes,
            cors_origins: settings.cors_origins.clone(),
        })
    }

    /// The address actually bound (useful with port 0).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Serves until `shutdown` completes, then lets in-flight requests finish.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send) -> std::io::Result<()> {
        tracing::info!(address = %self.address, "listening");
        Server::new_with_acceptor(self.acceptor)
            .run_with_graceful_shutdown(
                app(self.services, self.max_body_bytes, &self.cors_origins),
                shutdown,
                Some(SHUTDOWN_GRACE),
            )
            .await
    }
}

fn jwt_secret(settings: &Settings) -> anyhow::Result<JwtSecret> {
    if let Some(input) = &settings.jwt_secret {
        return JwtSecret::try_from(input)
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
