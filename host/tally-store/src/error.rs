use thiserror::Error;

use crate::url::DatabaseUrl;

#[derive(Debug, Error)]
pub enum StoreError {
    // Neither driver error is a `source`: the message already holds its text, and a chain
    // printed whole would repeat it.
    #[error("database error: {}", sqlx_reason(.0))]
    Database(sqlx::Error),
    /// From SQLite's writer connection.
    #[error("database error: {}", sqlite_reason(.0))]
    Sqlite(rusqlite::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// One step of the schema upgrade failed; `after` says what state that left.
    #[error("database migration {version} ({description}) failed: {source}; {after}")]
    MigrationStep {
        version: i64,
        description: String,
        source: Box<sqlx::Error>,
        after: crate::migrate::AfterFailure,
    },
    /// An earlier upgrade stopped inside a step that could not be rolled back (MariaDB/MySQL).
    #[error(
        "database migration {version} ({description}) failed partway in an earlier run and \
         MariaDB/MySQL cannot roll schema changes back: restore the backup taken before the \
         upgrade (docs/operations.md, \"Upgrade\"), or complete that step by hand and delete its \
         row from _sqlx_migrations"
    )]
    MigrationDirty { version: i64, description: String },
    #[error(
        "unsupported database URL `{0}`: use sqlite://PATH, postgres://USER:PASSWORD@HOST/DATABASE or mysql://USER:PASSWORD@HOST/DATABASE"
    )]
    UnsupportedUrl(DatabaseUrl),
    /// Opening or migrating failed; `reason` is the driver's message with the password
    /// scrubbed.
    #[error("cannot open the database {url}: {reason}")]
    Open { url: DatabaseUrl, reason: String },
    #[error("cannot create the database directory {path}: {source}")]
    CreateDir {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot start the store's writer thread: {0}")]
    WriterThread(std::io::Error),
    #[error("the store's writer task has stopped")]
    WriterGone,
    #[error(
        "backups of a {backend} database are made with its own tool, not `tally backup`: {tool} \
         (docs/operations.md, \"Back up\")"
    )]
    BackupUnsupported {
        backend: &'static str,
        tool: &'static str,
    },
    #[error("the backup file {0} exists already: name a new file or remove that one")]
    BackupExists(String),
    #[error("{path} cannot be restored: {reason}")]
    BadBackup { path: String, reason: String },
    #[error("backup failed: {0}")]
    Backup(String),
    #[error("{path}: {source}")]
    File {
        path: String,
        source: std::io::Error,
    },
    #[error("import run {0} does not exist")]
    NoSuchRun(i64),
    #[error("no license server is called `{0}`")]
    NoSuchServer(String),
    #[error("license server {0} does not exist")]
    NoSuchServerId(i64),
    #[error("a license server called `{0}` exists already")]
    ServerExists(String),
    /// Input the store refuses, with what is wrong with it.
    #[error("{0}")]
    Invalid(String),
    /// A read would return more rows than one answer may hold ([`crate::MAX_READ_ROWS`]).
    #[error(
        "{what} over this window come to more than {limit} rows: ask for a shorter window or a coarser period"
    )]
    TooManyRows { what: &'static str, limit: usize },
    /// Another live process imports this file onto this server.
    #[error(
        "file {path} is being imported by another process ({}, reading {}) since {}; try again when it is done",
        held.holder,
        held.path,
        tally_core::time::rfc3339(held.since)
    )]
    FileClaimed {
        path: String,
        held: crate::claims::ClaimHolder,
    },
    /// This process's claim on a file ran out unrenewed and may be another's now.
    #[error(
        "stopped importing {path}: its claim expired (this process stalled for longer than the lease) and another process may be importing it"
    )]
    ClaimLost { path: String },
    #[error("no account is called `{0}`")]
    NoSuchAccount(String),
    #[error("an account called `{0}` exists already")]
    AccountExists(String),
    /// The database holds something the store never writes (a bug or a hand edit).
    #[error("inconsistent database: {0}")]
    Inconsistent(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> StoreError {
        StoreError::Database(e)
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> StoreError {
        StoreError::Sqlite(e)
    }
}

impl StoreError {
    /// Whether the database server could not be reached (the connection that failed is of no
    /// further use).
    pub fn is_out_of_reach(&self) -> bool {
        matches!(self, StoreError::Database(e) if out_of_reach(e))
    }

    /// Whether a unique constraint refused the write.
    pub(crate) fn is_unique_violation(&self) -> bool {
        use rusqlite::ffi;
        match self {
            StoreError::Database(sqlx::Error::Database(e)) => e.is_unique_violation(),
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => matches!(
                e.extended_code,
                ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY
            ),
            _ => false,
        }
    }
}

/// Whether the driver lost the database server (a restart, a network cut), as opposed to the
/// server refusing a statement.
fn out_of_reach(e: &sqlx::Error) -> bool {
    matches!(
        e,
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed
    )
}

/// The driver's words, with what the operator can do about a database server out of reach.
fn sqlx_reason(e: &sqlx::Error) -> String {
    match out_of_reach(e) {
        true => format!(
            "the database server cannot be reached ({e}): check that it runs and answers at the host and port of the database URL (a running `tally serve` reconnects on its own; an interrupted import resumes when run again)"
        ),
        false => e.to_string(),
    }
}

/// SQLite's words for a failed write, with what the operator can do about it.
fn sqlite_reason(e: &rusqlite::Error) -> String {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DiskFull) => {
            "the disk holding the database is full: make room (an interrupted import resumes when run again)".into()
        }
        Some(rusqlite::ErrorCode::SystemIoFailure) => {
            "the database file could not be written: the disk may be full, a file-size limit reached, or the disk failing (an interrupted import resumes when run again)".into()
        }
        _ => e.to_string(),
    }
}
