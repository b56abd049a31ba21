//! Versioned, reversible schema migrations (`migrations/*.up.sql` / `*.down.sql`), embedded
//! in the binary.

use std::{
    collections::HashSet,
    path::{Path, PathBuf},
};

use chrono::Utc;
use sea_query::{Alias, Expr, ExprTrait, Query};
use sqlx::{
    Acquire, PgPool, Postgres,
    migrate::{Migrate, MigrateDatabase, MigrateError, Migrator},
};

use crate::{failure::Failure, store::Db};

pub static MIGRATOR: Migrator = sqlx::migrate!("../migrations");

/// One migration and whether this database has it.
pub struct MigrationStatus {
    pub version: i64,
    pub description: String,
    pub applied: bool,
}

/// Creates the database named in `url` unless it exists. Returns whether it created it.
pub async fn ensure_database(url: &str) -> Result<bool, sqlx::Error> {
    if Postgres::database_exists(url).await? {
        return Ok(false);
    }
    match Postgres::create_database(url).await {
        Ok(()) => Ok(true),
        // Another instance created it between our check and our create.
        Err(error) if is_duplicate_database(&error) => Ok(false),
        Err(error) => Err(error),
    }
}

fn is_duplicate_database(error: &sqlx::Error) -> bool {
    // 42P04: duplicate_database.
    error
        .as_database_error()
        .and_then(|database_error| database_error.code())
        .is_some_and(|code| code == "42P04")
}

/// Applies every pending migration.
pub async fn up(pool: &PgPool) -> Result<(), MigrateError> {
    MIGRATOR.run(pool).await
}

/// Reverts the newest `steps` applied migrations; returns how many it reverted.
pub async fn down(pool: &PgPool, steps: usize) -> Result<usize, MigrateError> {
    let mut applied: Vec<i64> = status(pool)
        .await?
        .into_iter()
        .filter(|migration| migration.applied)
        .map(|migration| migration.version)
        .collect();
    applied.sort_unstable();
    let steps = steps.min(applied.len());
    if steps == 0 {
        return Ok(0);
    }
    // `undo` reverts everything newer than the target version.
    let target = applied
        .len()
        .checked_sub(steps + 1)
        .map_or(0, |index| applied[index]);
    MIGRATOR.undo(pool, target).await?;
    Ok(steps)
}

/// Every known migration, oldest first, with whether it is applied.
pub async fn status(pool: &PgPool) -> Result<Vec<MigrationStatus>, MigrateError> {
    let mut connection = pool.acquire().await?;
    let connection = connection.acquire().await?;
    connection
        .ensure_migrations_table("_sqlx_migrations")
        .await?;
    let applied: HashSet<i64> = connection
        .list_applied_migrations("_sqlx_migrations")
        .await?
        .into_iter()
        .map(|migration| migration.version)
        .collect();
    Ok(MIGRATOR
        .iter()
        .filter(|migration| migration.migration_type.is_up_migration())
        .map(|migration| MigrationStatus {
            version: migration.version,
            description: migration.description.to_string(),
            applied: applied.contains(&migration.version),
        })
        .collect())
}

/// Whether every migration this binary carries is applied, read without writing anything
/// (the bookkeeping table is not created if it is missing). For readiness probes.
pub async fn up_to_date(db: impl Db<'_>) -> Result<bool, Failure> {
    let statement = Query::select()
        .column(Alias::new("version"))
        .from(Alias::new("_sqlx_migrations"))
        .and_where(Expr::col(Alias::new("success")).eq(true))
        .to_owned();
    let applied: HashSet<i64> = super::query_scalar(&statement)
        .fetch_all(db)
        .await?
        .into_iter()
        .collect();
    Ok(MIGRATOR
        .iter()
        .filter(|migration| migration.migration_type.is_up_migration())
        .all(|migration| applied.contains(&migration.version)))
}

/// Writes an empty `<timestamp>_<name>.up.sql` / `.down.sql` pair into `dir`.
pub fn new(dir: &Path, name: &str) -> std::io::Result<[PathBuf; 2]> {
    let slug: String = name
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if slug.trim_matches('_').is_empty() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "a migration name needs at least one letter or digit",
        ));
    }
    let stem = format!(
        "{}_{}",
        Utc::now().format("%Y%m%d%H%M%S"),
        slug.trim_matches('_')
    );
    let up = dir.join(format!("{stem}.up.sql"));
    let down = dir.join(format!("{stem}.down.sql"));
    std::fs::create_dir_all(dir)?;
    std::fs::write(&up, format!("-- {name}: apply\n"))?;
    std::fs::write(
        &down,
        format!("-- {name}: revert exactly what the .up.sql did\n"),
    )?;
    Ok([up, down])
}
