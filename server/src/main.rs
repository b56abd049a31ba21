//! The `taskapi` binary: `serve`, `migrate` and `openapi`.

use anyhow::Context;
use taskapi_server::{
    config::{Cli, Command, DatabaseSettings, LogFormat, MigrateAction},
    startup::Application,
    store::{self, migrations},
    telemetry,
};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::load();
    match cli.command {
        Command::Serve(settings) => {
            telemetry::init(settings.log_format);
            let application = Application::build(&settings).await?;
            application.run_until(shutdown_signal()).await;
        }
        Command::Migrate { database, action } => {
            telemetry::init(LogFormat::Pretty);
            migrate(&database, action).await?;
        }
        Command::Openapi { output: None } => print!("{}", taskapi_api::spec_yaml()),
        Command::Openapi { output: Some(path) } => write_spec(&path)?,
    }
    Ok(())
}

async fn migrate(database: &DatabaseSettings, action: MigrateAction) -> anyhow::Result<()> {
    if let MigrateAction::New { name, dir } = &action {
        for path in migrations::new(dir, name)? {
            println!("created {}", path.display());
        }
        return Ok(());
    }
    if migrations::ensure_database(&database.database_url)
        .await
        .context("cannot reach PostgreSQL at DATABASE_URL")?
    {
        println!("created the database");
    }
    let pool = store::connect_for_migrations(database).context("invalid DATABASE_URL")?;
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

/// Writes the document beside `path` first and renames it into place, so a failure never
/// leaves a truncated contract behind.
fn write_spec(path: &std::path::Path) -> anyhow::Result<()> {
    let staging = path.with_extension("yaml.tmp");
    std::fs::write(&staging, taskapi_api::spec_yaml())
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
