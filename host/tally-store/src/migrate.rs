//! Bringing a database's schema up to date, and what a failed step leaves behind.
//!
//! SQLite and PostgreSQL have transactional DDL: all pending migrations run in **one**
//! transaction (sqlx's own per-step transactions become savepoints inside it), so an upgrade
//! from several releases back that fails at any step leaves the database exactly as it was,
//! and the error names the step. MariaDB/MySQL commit implicitly before and after every DDL
//! statement: nothing can roll a step back. There sqlx records a step as started before running
//! it, so a step that failed is seen at the next start ([`StoreError::MigrationDirty`]) and the
//! error says to restore the backup taken before the upgrade; the steps before it stay applied
//! (each is complete, and a fixed binary continues from there).

use std::fmt;

use sqlx::migrate::{MigrateError, Migrator};

use crate::StoreError;

/// What a failed migration step left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterFailure {
    /// Every step of this upgrade was rolled back (SQLite, PostgreSQL).
    Untouched,
    /// The steps before the failed one stay applied, and the failed one may be half applied
    /// (MariaDB/MySQL).
    PartlyApplied,
}

impl fmt::Display for AfterFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AfterFailure::Untouched => {
                "the database was left untouched (every step of this upgrade rolled back)"
            }
            AfterFailure::PartlyApplied => {
                "MariaDB/MySQL cannot roll schema changes back: the steps before it stay applied \
                 and this one may be half done; restore the backup taken before the upgrade \
                 (docs/operations.md, \"Upgrade\")"
            }
        })
    }
}

/// Runs `migrator` on `conn`, all pending steps in one transaction.
pub(crate) async fn run_atomic<DB>(
    migrator: &Migrator,
    conn: &mut DB::Connection,
) -> Result<(), StoreError>
where
    DB: sqlx::Database,
    DB::Connection: sqlx::migrate::Migrate,
{
    use sqlx::Connection;
    let mut tx = conn.begin().await?;
    migrator
        .run_direct(None, &mut *tx, false)
        .await
        .map_err(|e| step_error(migrator, e, AfterFailure::Untouched))?;
    tx.commit().await?;
    Ok(())
}

/// Runs `migrator` on `conn` step by step (MariaDB/MySQL: DDL commits by itself).
pub(crate) async fn run_steps<DB>(
    migrator: &Migrator,
    conn: &mut DB::Connection,
) -> Result<(), StoreError>
where
    DB: sqlx::Database,
    DB::Connection: sqlx::migrate::Migrate,
{
    migrator
        .run_direct(None, conn, false)
        .await
        .map_err(|e| step_error(migrator, e, AfterFailure::PartlyApplied))
}

/// sqlx's error, with the failed step's description and what the failure left.
pub(crate) fn step_error(migrator: &Migrator, e: MigrateError, after: AfterFailure) -> StoreError {
    let description = |version: i64| {
        migrator
            .iter()
            .find(|m| m.version == version)
            .map_or_else(|| "unknown step".to_string(), |m| m.description.to_string())
    };
    match e {
        MigrateError::ExecuteMigration(source, version) => StoreError::MigrationStep {
            version,
            description: description(version),
            source: Box::new(source),
            after,
        },
        MigrateError::Dirty(version) => StoreError::MigrationDirty {
            version,
            description: description(version),
        },
        e => StoreError::Migrate(e),
    }
}

/// Runs the migrations of directory `dir` on the database at `url`, exactly as opening the store
/// runs its own: for tests of what a failed step leaves (`tally_store::testing`).
#[cfg(feature = "testing")]
pub(crate) async fn run_dir(url: &str, dir: &std::path::Path) -> Result<(), StoreError> {
    use sqlx::{ConnectOptions, Connection, Executor};
    let migrator = Migrator::new(dir).await?;
    let scheme = url.split_once(':').map(|(s, _)| s).unwrap_or_default();
    match scheme {
        "sqlite" => {
            let mut c = url
                .parse::<sqlx::sqlite::SqliteConnectOptions>()?
                .connect()
                .await?;
            let outcome = run_atomic::<sqlx::Sqlite>(&migrator, &mut c).await;
            c.close().await?;
            outcome
        }
        "postgres" | "postgresql" => {
            let mut c = url
                .parse::<sqlx::postgres::PgConnectOptions>()?
                .connect()
                .await?;
            let outcome = run_atomic::<sqlx::Postgres>(&migrator, &mut c).await;
            c.close().await?;
            outcome
        }
        _ => {
            let mut c = url
                .parse::<sqlx::mysql::MySqlConnectOptions>()?
                .connect()
                .await?;
            c.execute("SET SESSION sql_mode = CONCAT(@@sql_mode, ',ANSI_QUOTES')")
                .await?;
            let outcome = run_steps::<sqlx::MySql>(&migrator, &mut c).await;
            c.close().await?;
            outcome
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_name_the_step_and_what_it_left() {
        static M: Migrator = sqlx::migrate!("./migrations/sqlite");
        let e = step_error(
            &M,
            MigrateError::ExecuteMigration(sqlx::Error::Protocol("boom".into()), 3),
            AfterFailure::Untouched,
        );
        let text = e.to_string();
        assert!(text.contains("migration 3 (rollups) failed"), "{text}");
        assert!(
            text.contains("boom") && text.contains("untouched"),
            "{text}"
        );

        let dirty = step_error(&M, MigrateError::Dirty(2), AfterFailure::PartlyApplied);
        assert!(
            dirty
                .to_string()
                .contains("migration 2 (servers and polls)"),
            "{dirty}"
        );
        let other = step_error(
            &M,
            MigrateError::VersionMissing(99),
            AfterFailure::Untouched,
        );
        assert!(matches!(other, StoreError::Migrate(_)), "{other}");
    }
}
