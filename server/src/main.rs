//! The `taskapi` binary: `serve`, `migrate`, `users` and `openapi`.

use std::{
    io::{BufRead, IsTerminal},
    path::Path,
};

use anyhow::Context;
use taskapi_server::{
    config::{Cli, Command, DatabaseSettings, LogFormat, MigrateAction, Settings, UsersAction},
    dev_postgres::DevPostgres,
    domain::{Email, Registration},
    http,
    startup::{self, Application},
    store::{self, migrations},
    telemetry,
};

// Allocation is a large share of a request's CPU time (BENCHMARKS.md); mimalloc's
// thread-local free lists make it cheaper than glibc's arenas.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

unsafe extern "C" {
    /// Sets mimalloc's `mi_option_purge_delay` to 0, by that name (`src/allocator.c`):
    /// freed memory held for mimalloc's default second kept RSS at 68 MiB under 256
    /// connections (the start-up's 19 MiB dummy hash, the buffers of a burst of requests),
    /// against 48 MiB when returned at once, for the same CPU time per request
    /// (BENCHMARKS.md). `MIMALLOC_PURGE_DELAY` would say the same, but mimalloc reads its
    /// environment before `main`. Returns the delay it replaced, in milliseconds.
    fn taskapi_purge_freed_memory_at_once() -> std::ffi::c_long;
}

fn main() -> anyhow::Result<()> {
    // SAFETY: sets one of mimalloc's options (a plain integer it reads when it purges),
    // before any other thread of this process exists.
    unsafe { taskapi_purge_freed_memory_at_once() };
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(run())
}

async fn run() -> anyhow::Result<()> {
    let cli = Cli::load();
    match cli.command {
        Command::Serve(mut settings) => {
            let logging = telemetry::init(settings.log_format, Some(&settings.traces))?;
            let cluster = if settings.dev && settings.database.database_url.is_none() {
                let cluster = start_dev_postgres(settings.dev_postgres_dir.as_deref()).await?;
                settings.database.database_url = Some(cluster.url("taskapi"));
                Some(cluster)
            } else {
                None
            };
            let served = serve(&settings).await;
            if let Some(cluster) = cluster {
                cluster.stop().await;
                tracing::info!("the dev PostgreSQL stopped");
            }
            logging.close().await;
            served?;
        }
        Command::Migrate { database, action } => {
            let _logging = telemetry::init(LogFormat::Pretty, None)?;
            migrate(&database, action).await?;
        }
        Command::Users { database, action } => {
            let _logging = telemetry::init(LogFormat::Pretty, None)?;
            users(&database, action).await?;
        }
        Command::Openapi { output: None } => print!("{}", taskapi_server::http::spec_yaml()),
        Command::Openapi { output: Some(path) } => write_spec(&path)?,
    }
    Ok(())
}

async fn serve(settings: &Settings) -> anyhow::Result<()> {
    let application = Application::build(settings).await?;
    application.run_until(shutdown_signal()).await;
    Ok(())
}

/// `serve --dev` without `DATABASE_URL`: a PostgreSQL of the server's own.
async fn start_dev_postgres(home: Option<&Path>) -> anyhow::Result<DevPostgres> {
    let home = match home {
        Some(home) => home.to_owned(),
        None => DevPostgres::default_home()?,
    };
    let cluster = DevPostgres::start(&home)
        .await
        .context("cannot run the dev PostgreSQL (set DATABASE_URL to use your own)")?;
    tracing::info!(
        "--dev without DATABASE_URL: running a private PostgreSQL in {}",
        cluster.home().display()
    );
    Ok(cluster)
}

async fn migrate(database: &DatabaseSettings, action: MigrateAction) -> anyhow::Result<()> {
    if let MigrateAction::New { name, dir } = &action {
        for path in migrations::new(dir, name)? {
            println!("created {}", path.display());
        }
        return Ok(());
    }
    if migrations::ensure_database(database.direct_url())
        .await
        .context("cannot reach PostgreSQL at DATABASE_URL")?
    {
        println!("created the database");
    }
    let pool =
        store::connect_for_migrations(database.direct_url()).context("invalid DATABASE_URL")?;
    match action {
        MigrateAction::Up => {
            migrations::up(&pool).await?;
            println!("database is up to date");
        }
        MigrateAction::Down { steps } => {
            let reverted = migrations::down(&pool, steps).await?;
            println!("reverted {reverted} migration(s)");
        }
        MigrateAction::Status => {
            for migration in migrations::status(&pool).await? {
                let state = if migration.applied {
                    "applied"
                } else {
                    "pending"
                };
                println!(
                    "{:<8} {} {}",
                    state, migration.version, migration.description
                );
            }
        }
        MigrateAction::New { .. } => unreachable!("handled above"),
    }
    Ok(())
}

async fn users(database: &DatabaseSettings, action: UsersAction) -> anyhow::Result<()> {
    let operator = startup::operator(database).await?;
    match action {
        UsersAction::CreateAdmin { email } => {
            let Registration { email, password } =
                http::registration(&email, &read_new_password()?).map_err(|errors| {
                    let reasons: Vec<String> = errors
                        .into_inner()
                        .into_iter()
                        .flat_map(|(field, why)| {
                            why.into_iter().map(move |why| format!("the {field} {why}"))
                        })
                        .collect();
                    anyhow::anyhow!(reasons.join("; "))
                })?;
            let admin = operator.create_admin(&email, &password).await?;
            println!(
                "created administrator {} ({})",
                admin.email.as_str(),
                admin.id.0
            );
        }
        UsersAction::SetRole { email, role } => {
            let email =
                Email::parse(&email).map_err(|reason| anyhow::anyhow!("the email {reason}"))?;
            let user = operator.set_role(&email, role).await?;
            let role: &'static str = user.role.into();
            println!(
                "{} is now {role}; their tokens say so from their next refresh",
                user.email.as_str()
            );
        }
    }
    Ok(())
}

/// The new password: asked for twice without echo on a terminal, otherwise the first line
/// of standard input (without its line ending).
fn read_new_password() -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        let password = rpassword::prompt_password("Password: ")?;
        let again = rpassword::prompt_password("Password again: ")?;
        anyhow::ensure!(password == again, "the passwords do not match");
        return Ok(password);
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    let password = line.strip_suffix('\n').unwrap_or(&line);
    Ok(password.strip_suffix('\r').unwrap_or(password).to_owned())
}

/// Writes the document beside `path` first and renames it into place, so a failure never
/// leaves a truncated contract behind.
fn write_spec(path: &std::path::Path) -> anyhow::Result<()> {
    let staging = path.with_extension("yaml.tmp");
    std::fs::write(&staging, taskapi_server::http::spec_yaml())
        .with_context(|| format!("cannot write {}", staging.display()))?;
    std::fs::rename(&staging, path)
        .with_context(|| format!("cannot replace {}", path.display()))?;
    println!("wrote {}", path.display());
    Ok(())
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down");
}

#[cfg(test)]
mod tests {
    use super::taskapi_purge_freed_memory_at_once;

    #[test]
    fn freed_memory_is_purged_at_once_instead_of_after_a_second() {
        // SAFETY: the only test of this binary that touches mimalloc's options.
        let (default, set) = unsafe {
            (
                taskapi_purge_freed_memory_at_once(),
                taskapi_purge_freed_memory_at_once(),
            )
        };
        assert_eq!((default, set), (1000, 0));
    }
}
