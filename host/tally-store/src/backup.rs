//! Backups of a SQLite database in use, and their restore.
//!
//! **Backup** ([`Store::backup`]) runs SQLite's online backup API on a connection of its own, so
//! `tally serve` keeps writing meanwhile. The whole copy is one backup step: one read
//! transaction, so the copy is the database as of one commit (in WAL mode readers do not block
//! the writer, and the writer does not restart the copy as it would a page-by-page backup). The
//! copy goes to a temporary file beside the destination, is checked (`PRAGMA integrity_check`),
//! switched to a rollback journal (one self-contained file) and synced, and only then renamed to
//! its name: a crash leaves no half-written backup under that name.
//!
//! **Restore** ([`Store::restore`]) first checks the file ([`check_backup`]): SQLite's integrity
//! check, and a schema this binary knows — every migration the backup records must be one of
//! ours with the same checksum, none failed halfway; a backup made by a newer Tally is refused.
//! The copy into the target is again the backup API, one transaction on the target: it lands
//! whole or not at all. The restored database is then opened once, which migrates it forward.
//!
//! PostgreSQL and MariaDB have native tools that do this better than Tally could (`pg_dump`,
//! `mariadb-dump --single-transaction`): both backup and restore name them.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::{OpenFlags, backup::StepResult};
use serde::Serialize;

use crate::db::Pool;
use crate::{DatabaseUrl, Store, StoreError};

/// How long a backup or restore waits for a lock another connection holds.
const BUSY_WAIT: Duration = Duration::from_secs(30);

/// Problems `PRAGMA integrity_check` reports at most (it stops there).
const INTEGRITY_PROBLEMS: u32 = 10;

/// A backup made by [`Store::backup`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackupReport {
    pub path: PathBuf,
    pub bytes: u64,
    pub took_ms: u64,
    pub check: BackupCheck,
}

/// What [`check_backup`] found in a backup file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackupCheck {
    /// The last migration applied to the backup.
    pub schema_version: i64,
    /// Migrations of this binary the backup has not had yet: applied when it is restored.
    pub pending_migrations: u32,
    pub servers: u64,
    pub sessions: u64,
}

impl Store {
    /// Writes a consistent copy of the database to `dest`, which must not exist, while the
    /// store keeps working. SQLite only: PostgreSQL and MariaDB answer with their native tool.
    pub async fn backup(&self, dest: &Path) -> Result<BackupReport, StoreError> {
        let source = match self.pool() {
            Pool::Sqlite(readers) => readers.path().to_path_buf(),
            Pool::Postgres(_) => return Err(native_tool(POSTGRES)),
            Pool::MySql(_) => return Err(native_tool(MARIADB)),
        };
        let dest = dest.to_path_buf();
        tokio::task::spawn_blocking(move || backup_file(&source, &dest))
            .await
            .map_err(|e| StoreError::Backup(format!("the backup task failed: {e}")))?
    }

    /// Checks the backup `file` ([`check_backup`]), copies it over the SQLite database of `url`
    /// (created if missing), and opens that once to migrate it forward. Stop `tally serve`
    /// first: a restore replaces the database under every connection.
    pub async fn restore(url: &str, file: &Path) -> Result<BackupCheck, StoreError> {
        let target = sqlite_path(url)?;
        let file = file.to_path_buf();
        let check = tokio::task::spawn_blocking(move || -> Result<BackupCheck, StoreError> {
            let check = check_backup(&file)?;
            restore_file(&file, &target)?;
            Ok(check)
        })
        .await
        .map_err(|e| StoreError::Backup(format!("the restore task failed: {e}")))??;
        let store = Store::open(url).await?;
        store.close().await;
        Ok(check)
    }
}

fn native_tool(backend: &'static str) -> StoreError {
    let tool = if backend == POSTGRES {
        "pg_dump --format=custom, restored with pg_restore"
    } else {
        "mariadb-dump --single-transaction, restored with the mariadb client"
    };
    StoreError::BackupUnsupported { backend, tool }
}

const POSTGRES: &str = "PostgreSQL";
const MARIADB: &str = "MariaDB/MySQL";

/// The database file of a `sqlite://` URL: what `tally backup` copies and `tally restore`
/// replaces. PostgreSQL and MariaDB URLs are answered with their native tool, unknown ones
/// refused.
pub fn sqlite_path(url: &str) -> Result<PathBuf, StoreError> {
    let url = DatabaseUrl::new(url);
    match url.scheme().as_str() {
        "sqlite" => {
            let options: sqlx::sqlite::SqliteConnectOptions = url.secret().parse()?;
            Ok(options.get_filename().to_path_buf())
        }
        "postgres" | "postgresql" => Err(native_tool(POSTGRES)),
        "mysql" | "mariadb" => Err(native_tool(MARIADB)),
        _ => Err(StoreError::UnsupportedUrl(url)),
    }
}

fn backup_file(source: &Path, dest: &Path) -> Result<BackupReport, StoreError> {
    let started = Instant::now();
    if dest.exists() {
        return Err(StoreError::BackupExists(dest.display().to_string()));
    }
    let dir = match dest.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = dest
        .file_name()
        .ok_or_else(|| StoreError::Backup(format!("{} names no file", dest.display())))?;
    // Beside the destination, so the rename is atomic; removed when anything fails.
    let partial = tempfile::Builder::new()
        .prefix(&format!(".{}.", name.to_string_lossy()))
        .suffix(".partial")
        .tempfile_in(&dir)
        .map_err(|source| StoreError::File {
            path: dir.display().to_string(),
            source,
        })?;

    let src = rusqlite::Connection::open_with_flags(
        source,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    src.busy_timeout(BUSY_WAIT)?;
    let mut copy = rusqlite::Connection::open(partial.path())?;
    copy_all(&src, &mut copy)?;
    drop(src);
    // One self-contained file: the source's WAL mode would make the copy want a -wal beside it.
    copy.pragma_update(None, "journal_mode", "DELETE")?;
    integrity(&copy, &dest.display().to_string())?;
    copy.close().map_err(|(_, e)| e)?;

    partial
        .as_file()
        .sync_all()
        .map_err(|source| StoreError::File {
            path: partial.path().display().to_string(),
            source,
        })?;
    // persist_noclobber: a file that appeared meanwhile is not overwritten.
    partial
        .persist_noclobber(dest)
        .map_err(|e| match e.error.kind() {
            std::io::ErrorKind::AlreadyExists => {
                StoreError::BackupExists(dest.display().to_string())
            }
            _ => StoreError::File {
                path: dest.display().to_string(),
                source: e.error,
            },
        })?;
    let check = check_backup(dest)?;
    let bytes = std::fs::metadata(dest)
        .map_err(|source| StoreError::File {
            path: dest.display().to_string(),
            source,
        })?
        .len();
    Ok(BackupReport {
        path: dest.to_path_buf(),
        bytes,
        took_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        check,
    })
}

/// Copies every page of `src` into `dst` in one step (one read transaction on `src`, one write
/// transaction on `dst`), waiting while another connection holds a conflicting lock.
fn copy_all(src: &rusqlite::Connection, dst: &mut rusqlite::Connection) -> Result<(), StoreError> {
    let backup = rusqlite::backup::Backup::new(src, dst)?;
    let deadline = Instant::now() + BUSY_WAIT;
    loop {
        match backup.step(-1)? {
            StepResult::Done => return Ok(()),
            // -1 copies everything at once; More only follows a lock given up: try again.
            StepResult::More | StepResult::Busy | StepResult::Locked
                if Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(50));
            }
            StepResult::More | StepResult::Busy | StepResult::Locked => {
                return Err(StoreError::Backup(format!(
                    "the database stayed locked for {} s: is another process restoring or \
                     vacuuming it?",
                    BUSY_WAIT.as_secs()
                )));
            }
            other => {
                return Err(StoreError::Backup(format!(
                    "SQLite's backup stopped with {other:?}"
                )));
            }
        }
    }
}

/// `PRAGMA integrity_check` must answer `ok`; otherwise its first problems are the error.
fn integrity(conn: &rusqlite::Connection, what: &str) -> Result<(), StoreError> {
    let mut statement = conn.prepare(&format!("PRAGMA integrity_check({INTEGRITY_PROBLEMS})"))?;
    let problems = statement
        .query_map([], |row| row.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    if problems == ["ok"] {
        Ok(())
    } else {
        Err(StoreError::BadBackup {
            path: what.to_string(),
            reason: format!("PRAGMA integrity_check: {}", problems.join("; ")),
        })
    }
}

/// Checks that `file` is a sound Tally database this binary can restore and migrate: SQLite's
/// integrity check passes, and every migration it records is one of this binary's, unchanged and
/// complete.
pub fn check_backup(file: &Path) -> Result<BackupCheck, StoreError> {
    let what = file.display().to_string();
    let bad = |reason: String| StoreError::BadBackup {
        path: what.clone(),
        reason,
    };
    if !file.is_file() {
        return Err(bad("no such file".into()));
    }
    let conn = rusqlite::Connection::open_with_flags(
        file,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(BUSY_WAIT)?;
    // A file that is not SQLite fails here ("file is not a database").
    integrity(&conn, &what).map_err(|e| match e {
        StoreError::Sqlite(e) => bad(format!("not a readable SQLite database ({e})")),
        e => e,
    })?;
    let has_table = |name: &str| -> Result<bool, StoreError> {
        Ok(conn.query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
            [name],
            |r| r.get::<_, i64>(0),
        )? > 0)
    };
    if !has_table("_sqlx_migrations")? || !has_table("license_server")? {
        return Err(bad("not a Tally database (no Tally schema in it)".into()));
    }

    let known = crate::sqlite::migrations();
    let mut statement = conn.prepare(
        "SELECT version, description, success, checksum FROM _sqlx_migrations ORDER BY version",
    )?;
    let applied = statement
        .query_map([], |r| {
            Ok(Applied {
                version: r.get(0)?,
                description: r.get(1)?,
                success: r.get(2)?,
                checksum: r.get(3)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    for a in &applied {
        if !a.success {
            return Err(bad(format!(
                "migration {} ({}) failed partway in it",
                a.version, a.description
            )));
        }
        match known.iter().find(|m| m.version == a.version) {
            None => {
                return Err(bad(format!(
                    "it was written by a newer Tally (migration {} `{}` is unknown to this \
                     one): restore it with that version or later",
                    a.version, a.description
                )));
            }
            Some(m) if *m.checksum != *a.checksum => {
                return Err(bad(format!(
                    "migration {} ({}) differs from this Tally's",
                    a.version, a.description
                )));
            }
            Some(_) => {}
        }
    }
    let schema_version = applied.last().map_or(0, |a| a.version);
    let pending = known
        .iter()
        .filter(|m| !applied.iter().any(|a| a.version == m.version))
        .count();
    let count = |table: &str| -> Result<u64, StoreError> {
        let n: i64 = conn.query_row(&format!("SELECT count(*) FROM \"{table}\""), [], |r| {
            r.get(0)
        })?;
        Ok(u64::try_from(n).unwrap_or(0))
    };
    Ok(BackupCheck {
        schema_version,
        pending_migrations: u32::try_from(pending).unwrap_or(u32::MAX),
        servers: count("license_server")?,
        sessions: count("session")?,
    })
}

/// A row of `_sqlx_migrations`.
struct Applied {
    version: i64,
    description: String,
    success: bool,
    checksum: Vec<u8>,
}

fn restore_file(file: &Path, target: &Path) -> Result<(), StoreError> {
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
            path: dir.display().to_string(),
            source,
        })?;
    }
    let src = rusqlite::Connection::open_with_flags(
        file,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    let mut dst = rusqlite::Connection::open(target)?;
    dst.busy_timeout(BUSY_WAIT)?;
    copy_all(&src, &mut dst)?;
    integrity(&dst, &target.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_backends_are_pointed_at_their_own_tools() {
        let pg = sqlite_path("postgres://u:secret@h/db").expect_err("refused");
        assert!(pg.to_string().contains("pg_dump"), "{pg}");
        assert!(!pg.to_string().contains("secret"), "{pg}");
        let my = sqlite_path("mariadb://u:p@h/db").expect_err("refused");
        assert!(my.to_string().contains("mariadb-dump"), "{my}");
        assert_eq!(
            sqlite_path("sqlite:///var/lib/tally/tally.db").expect("a file"),
            Path::new("/var/lib/tally/tally.db")
        );
    }

    #[test]
    fn files_that_are_not_tally_databases_are_refused_with_the_reason() {
        let dir = tempfile::tempdir().expect("dir");
        let missing = check_backup(&dir.path().join("none.db")).expect_err("refused");
        assert!(missing.to_string().contains("no such file"), "{missing}");

        let text = dir.path().join("notes.txt");
        std::fs::write(
            &text,
            "not a database at all, but long enough to be read as one ".repeat(20),
        )
        .expect("write");
        let e = check_backup(&text).expect_err("refused");
        assert!(
            e.to_string().contains("not a readable SQLite database"),
            "{e}"
        );

        let other = dir.path().join("other.db");
        rusqlite::Connection::open(&other)
            .expect("db")
            .execute_batch("CREATE TABLE t (x)")
            .expect("table");
        let e = check_backup(&other).expect_err("refused");
        assert!(e.to_string().contains("not a Tally database"), "{e}");
    }
}
