//! The SQLite backend, the embedded default: WAL, one write connection (the writer's) and a
//! small read-only pool ([`Readers`]).
//!
//! **Reads and writes talk to SQLite directly** (rusqlite), not through sqlx: sqlx runs each
//! SQLite statement on a thread of its own, a hand-off there and back per statement, and hands
//! every row back over a channel, a wake-up per row. Measured on 1,000 simulated servers, the
//! writer's hand-offs were a large part of `tally serve`'s CPU; on a
//! 10 M-session history, the per-row hand-offs were about half of a large report's CPU. The
//! migrations stay on sqlx, like the other backends. Both libraries link the same SQLite.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use rusqlite::OpenFlags;
use rusqlite::types::{ToSqlOutput, Value, ValueRef};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection, Sqlite};

use crate::StoreError;
use crate::db::{Backend, Param, Row};

static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// This binary's migrations: what a backup may have had applied.
pub(crate) fn migrations() -> &'static [sqlx::migrate::Migration] {
    &MIGRATIONS.migrations
}

/// Prepared statements the writer keeps: the poll and import statements, and the multi-row
/// INSERTs by row count.
const STATEMENT_CACHE: usize = 256;

/// Prepared statements each read connection keeps (reports build their statements per window
/// shape; pages repeat theirs).
const READ_STATEMENT_CACHE: usize = 64;

/// Read connections at once: more would only queue on the cores.
const READERS: usize = 4;

/// How long a connection waits for another process's write (a CLI edit while `tally serve`
/// runs) before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

impl Backend for Sqlite {
    type Writer = rusqlite::Connection;
    type Reads = Readers;

    async fn open(url: &str) -> Result<(rusqlite::Connection, Readers), StoreError> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT)
            .disable_statement_logging();
        let path = options.get_filename().to_path_buf();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                path: dir.display().to_string(),
                source,
            })?;
        }
        let mut migrate = options.connect().await?;
        crate::migrate::run_atomic::<Sqlite>(&MIGRATIONS, &mut migrate).await?;
        migrate.close().await?;
        // The journal mode is the file's (WAL since the connection above); the rest is the
        // connection's own, as sqlx sets it.
        let write = rusqlite::Connection::open(&path)?;
        write.busy_timeout(BUSY_TIMEOUT)?;
        // Checkpoints (copying the log into the database, with two fsyncs) every 16 MiB of log
        // rather than SQLite's 4 MiB: an import rewrites the same rollup pages batch after batch,
        // and each checkpoint copies them once however often they were committed.
        write.execute_batch(
            "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA wal_autocheckpoint = 4096;",
        )?;
        write.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok((write, Readers::new(path)))
    }
}

/// SQLite virtual-machine steps between two looks at a read's deadline: microseconds.
const STEPS_PER_LOOK: i32 = 10_000;

tokio::task_local! {
    /// When the answer a read serves is due (the server's read budget).
    static READ_DEADLINE: Instant;
}

/// Runs `reads` with their SQLite statements interrupted (an error) once `deadline` passes: a
/// statement runs on its task's thread ([`Readers`]), where a timeout around the task cannot
/// stop it. Other backends' reads stop when the task is dropped.
pub async fn with_read_deadline<F: Future>(deadline: Instant, reads: F) -> F::Output {
    READ_DEADLINE.scope(deadline, reads).await
}

/// The read pool: read-only connections to the database file, at most [`READERS`] in use,
/// opened when first needed and kept. A read runs its statement on the calling task's thread,
/// which the async runtime stops scheduling other tasks on meanwhile (`block_in_place`): one
/// hand-off per statement, none per row.
#[derive(Debug)]
pub(crate) struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<rusqlite::Connection>>,
    permits: tokio::sync::Semaphore,
}

impl Readers {
    pub(crate) fn new(path: PathBuf) -> Readers {
        Readers {
            path,
            idle: Mutex::new(Vec::new()),
            permits: tokio::sync::Semaphore::new(READERS),
        }
    }

    /// The database file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    fn connect(&self) -> Result<rusqlite::Connection, StoreError> {
        let conn = rusqlite::Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
                | OpenFlags::SQLITE_OPEN_URI,
        )?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.set_prepared_statement_cache_capacity(READ_STATEMENT_CACHE);
        Ok(conn)
    }

    /// Runs `read` on a read connection.
    pub(crate) async fn run<T>(
        &self,
        read: impl FnOnce(&rusqlite::Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        // Closed with the store: no read after it, as with the other backends' pools.
        let Ok(_permit) = self.permits.acquire().await else {
            return Err(StoreError::Database(sqlx::Error::PoolClosed));
        };
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let conn = match idle {
            Some(c) => c,
            None => self.connect()?,
        };
        let deadline = READ_DEADLINE.try_with(|d| *d).ok();
        let out = blocking(|| {
            if let Some(due) = deadline {
                conn.progress_handler(STEPS_PER_LOOK, Some(move || Instant::now() >= due))?;
            }
            let out = read(&conn);
            if deadline.is_some() {
                conn.progress_handler(0, None::<fn() -> bool>)?;
            }
            out
        });
        if !self.permits.is_closed() {
            self.idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(conn);
        }
        out
    }

    /// Refuses reads from now on and closes the idle connections (those in use close when
    /// their read ends).
    pub(crate) fn close(&self) {
        self.permits.close();
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

/// Runs `f`, which blocks, off the async runtime's worker when there is a multi-threaded one
/// (its other tasks move to another thread meanwhile); inline otherwise (a current-thread
/// runtime, or none), where nothing else could have run anyway.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}

impl rusqlite::ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self {
            Param::Int(Some(v)) => ValueRef::Integer(*v),
            Param::Bool(v) => ValueRef::Integer(i64::from(*v)),
            Param::Text(Some(v)) => ValueRef::Text(v.as_bytes()),
            Param::Bytes(Some(v)) => ValueRef::Blob(v),
            Param::Int(None) | Param::Text(None) | Param::Bytes(None) => ValueRef::Null,
        }))
    }
}

/// Runs a statement on the writer's connection; returns the rows it changed.
pub(crate) fn execute(
    conn: &rusqlite::Connection,
    sql: &str,
    params: &[Param<'_>],
) -> Result<u64, StoreError> {
    let mut statement = conn.prepare_cached(sql)?;
    let mut rows = statement.query(rusqlite::params_from_iter(params))?;
    while rows.next()?.is_some() {}
    Ok(conn.changes())
}

/// Runs a statement; returns its rows.
pub(crate) fn fetch_all(
    conn: &rusqlite::Connection,
    sql: &str,
    params: &[Param<'_>],
) -> Result<Vec<Row>, StoreError> {
    let mut out = Vec::new();
    for_each(conn, sql, params, |r| {
        out.push(r);
        Ok(())
    })?;
    Ok(out)
}

/// Runs a statement and hands each row to `each` as SQLite steps to it.
pub(crate) fn for_each(
    conn: &rusqlite::Connection,
    sql: &str,
    params: &[Param<'_>],
    mut each: impl FnMut(Row) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let mut statement = conn.prepare_cached(sql)?;
    let columns = statement.column_count();
    let mut rows = statement.query(rusqlite::params_from_iter(params))?;
    while let Some(row) = rows.next()? {
        let values = (0..columns)
            .map(|i| row.get::<_, Value>(i))
            .collect::<Result<_, _>>()?;
        each(Row::Values(values))?;
    }
    Ok(())
}

/// Column `i` of a row from [`fetch_all`].
pub(crate) fn get<T: rusqlite::types::FromSql>(
    values: &[Value],
    i: usize,
) -> Result<T, StoreError> {
    let value = values
        .get(i)
        .ok_or(rusqlite::Error::InvalidColumnIndex(i))?;
    T::column_result(ValueRef::from(value)).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(i, value.data_type(), Box::new(e)).into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_writer_binds_and_reads_back_every_kind_of_value() {
        let conn = rusqlite::Connection::open_in_memory().expect("db");
        conn.execute_batch("CREATE TABLE t (i INTEGER, b INTEGER, s TEXT, x BLOB)")
            .expect("table");
        let sql = "INSERT INTO t VALUES (?, ?, ?, ?)";
        let bytes = [0u8, 255];
        let full = [
            Param::from(7),
            Param::from(true),
            "é".into(),
            bytes[..].into(),
        ];
        let empty = [
            Param::Int(None),
            Param::from(false),
            Param::Text(None),
            Param::Bytes(None),
        ];
        assert_eq!(execute(&conn, sql, &full).expect("insert"), 1);
        assert_eq!(execute(&conn, sql, &empty).expect("insert"), 1);

        let rows =
            fetch_all(&conn, "SELECT i, b, s, x FROM t ORDER BY i NULLS LAST", &[]).expect("rows");
        let [Row::Values(a), Row::Values(b)] = &rows[..] else {
            panic!("not the writer's two rows")
        };
        assert_eq!(get::<i64>(a, 0).expect("decodes"), 7);
        assert!(get::<bool>(a, 1).expect("decodes"));
        assert_eq!(get::<String>(a, 2).expect("decodes"), "é");
        assert_eq!(get::<Vec<u8>>(a, 3).expect("decodes"), bytes);
        assert_eq!(get::<Option<i64>>(b, 0).expect("decodes"), None);
        assert!(!get::<bool>(b, 1).expect("decodes"));
        assert_eq!(get::<Option<String>>(b, 2).expect("decodes"), None);
        // A type that does not match, or a column that is not there, is an error.
        assert!(get::<i64>(a, 2).is_err());
        assert!(get::<i64>(b, 0).is_err());
        assert!(get::<i64>(a, 4).is_err());
    }

    #[test]
    fn a_unique_constraint_is_recognised() {
        let conn = rusqlite::Connection::open_in_memory().expect("db");
        conn.execute_batch("CREATE TABLE t (name TEXT UNIQUE)")
            .expect("table");
        let sql = "INSERT INTO t VALUES (?)";
        execute(&conn, sql, &["a".into()]).expect("first");
        let again = execute(&conn, sql, &["a".into()]).expect_err("refused");
        assert!(again.is_unique_violation(), "{again}");
        let other = execute(&conn, "INSERT INTO nowhere VALUES (1)", &[]).expect_err("refused");
        assert!(!other.is_unique_violation(), "{other}");
    }
}
