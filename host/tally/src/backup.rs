//! `tally backup FILE` and `tally restore FILE`: a consistent copy of the SQLite database while
//! `tally serve` runs, and its checked restore. PostgreSQL and MariaDB are backed up with their
//! own tools; both commands say which.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use tally_store::{BackupCheck, Store};

/// `tally backup FILE`
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The backup file to write; it must not exist.
    pub file: PathBuf,
    /// Print the outcome as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// `tally restore FILE`
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// A file `tally backup` wrote.
    pub file: PathBuf,
    /// Only check the file (integrity, a schema this Tally knows); change nothing.
    #[arg(long)]
    pub check: bool,
    /// Replace the database even if it holds data. Stop `tally serve` first.
    #[arg(long)]
    pub replace: bool,
    /// Print the outcome as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Runs `tally backup` on the database at `db_url`.
pub async fn backup(db_url: &str, args: &BackupArgs) -> anyhow::Result<ExitCode> {
    // PostgreSQL and MariaDB: their own tools, said before connecting.
    tally_store::sqlite_path(db_url)?;
    // The store's error names the database already (password hidden).
    let store = Store::open(db_url).await?;
    let outcome = store.backup(&args.file).await;
    store.close().await;
    let report = outcome?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!(
            "backed up to {} ({} bytes, {} ms): {}",
            report.path.display(),
            report.bytes,
            report.took_ms,
            summary(&report.check)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `tally restore` into the database at `db_url`.
pub async fn restore(db_url: &str, args: &RestoreArgs) -> anyhow::Result<ExitCode> {
    let check = if args.check {
        tally_store::check_backup(&args.file)?
    } else {
        if !args.replace {
            refuse_to_overwrite(db_url).await?;
        }
        Store::restore(db_url, &args.file).await?
    };
    if args.json {
        println!("{}", serde_json::to_string(&check)?);
    } else if args.check {
        println!(
            "{} can be restored: {}",
            args.file.display(),
            summary(&check)
        );
    } else {
        println!(
            "restored {} into {}: {}",
            args.file.display(),
            redacted(db_url),
            summary(&check)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Refuses a restore over a database that holds license servers (without `--replace`).
async fn refuse_to_overwrite(db_url: &str) -> anyhow::Result<()> {
    // PostgreSQL/MariaDB: Store::restore answers with their own tools.
    let path = tally_store::sqlite_path(db_url)?;
    if !path.exists() {
        return Ok(());
    }
    // Read-only: the database is neither migrated nor changed by looking.
    let totals = tally_store::check_backup(&path).with_context(|| {
        format!(
            "the database {} is not one Tally can read: restore over it with `--replace`",
            path.display()
        )
    })?;
    if totals.servers > 0 || totals.sessions > 0 {
        anyhow::bail!(
            "the database {} holds {} license servers and {} sessions: a restore replaces \
             them. Stop `tally serve`, back it up (`tally backup FILE`), then run `tally restore \
             --replace`",
            path.display(),
            totals.servers,
            totals.sessions
        );
    }
    Ok(())
}

fn summary(check: &BackupCheck) -> String {
    let pending = match check.pending_migrations {
        0 => String::new(),
        n => format!(", {n} schema upgrades to apply"),
    };
    format!(
        "schema {}, {} license servers, {} sessions{pending}",
        check.schema_version, check.servers, check.sessions
    )
}

/// `url` without its password.
fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => match url[scheme + 3..at].split_once(':') {
            Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
            None => url.to_string(),
        },
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_names_what_the_backup_holds() {
        let check = BackupCheck {
            schema_version: 8,
            pending_migrations: 2,
            servers: 3,
            sessions: 1200,
        };
        assert_eq!(
            summary(&check),
            "schema 8, 3 license servers, 1200 sessions, 2 schema upgrades to apply"
        );
        assert_eq!(redacted("postgres://t:pw@h/db"), "postgres://t:***@h/db");
    }
}
