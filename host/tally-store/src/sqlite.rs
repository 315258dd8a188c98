//! The SQLite backend: opening, migrations, and the read side. Writes go through [`crate::writer`].

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, ConnectOptions, Row};
use tally_core::{Batch, Diagnostic, DiagnosticKind};
use tokio::sync::{mpsc, oneshot};

use crate::writer::{self, Command};
use crate::{
    Checkpoint, FactCounts, FileIdentity, ImportRun, NewImport, RunId, RunStatus, ServerId,
    StoreError, Totals,
};

static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// Tally's database. Cheap to clone; all clones share the pool and the writer task.
#[derive(Clone, Debug)]
pub struct Store {
    pool: SqlitePool,
    writer: mpsc::Sender<Command>,
}

impl Store {
    /// Opens (creating if needed) the database at `url` and brings its schema up to date.
    /// Must be called inside a tokio runtime: it starts the writer task.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        if !url.starts_with("sqlite:") {
            return Err(StoreError::UnsupportedUrl(url.to_string()));
        }
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(30))
            .disable_statement_logging();
        if let Some(dir) = options
            .get_filename()
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                path: dir.display().to_string(),
                source,
            })?;
        }
        let mut write = options.connect().await?;
        MIGRATIONS.run(&mut write).await?;
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.read_only(true))
            .await?;
        Ok(Store {
            pool,
            writer: writer::spawn(write),
        })
    }

    /// Runs `job` on the writer task and returns its result.
    pub(crate) async fn write<T: Send + 'static>(
        &self,
        job: impl for<'w> FnOnce(
            &'w mut writer::Writer,
        ) -> std::pin::Pin<
            Box<dyn Future<Output = Result<T, StoreError>> + Send + 'w>,
        > + Send
        + 'static,
    ) -> Result<T, StoreError> {
        self.send(|reply| {
            Command::Job(Box::new(move |w| {
                Box::pin(async move {
                    let _ = reply.send(job(w).await);
                })
            }))
        })
        .await
    }

    async fn send<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T, StoreError>>) -> Command,
    ) -> Result<T, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.writer
            .send(make(reply))
            .await
            .map_err(|_| StoreError::WriterGone)?;
        answer.await.map_err(|_| StoreError::WriterGone)?
    }

    /// The id of the license server called `name`, created (fed by `manager`) if new.
    pub async fn ensure_server(&self, name: &str, manager: &str) -> Result<ServerId, StoreError> {
        self.send(|reply| Command::EnsureServer {
            name: name.into(),
            manager: manager.into(),
            reply,
        })
        .await
    }

    pub async fn start_import(&self, new: NewImport) -> Result<RunId, StoreError> {
        self.send(|reply| Command::StartImport { new, reply }).await
    }

    /// Writes a batch and the checkpoint after it in one transaction. Returns once queued, so the
    /// caller can parse on while it commits; await the returned handle for the outcome.
    pub async fn commit_batch(
        &self,
        run: RunId,
        server: ServerId,
        batch: Batch,
        checkpoint: Checkpoint,
    ) -> Result<oneshot::Receiver<Result<FactCounts, StoreError>>, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.writer
            .send(Command::Commit {
                run,
                server,
                batch,
                checkpoint,
                reply,
            })
            .await
            .map_err(|_| StoreError::WriterGone)?;
        Ok(answer)
    }

    pub async fn finish_import(
        &self,
        run: RunId,
        status: RunStatus,
        error: Option<String>,
    ) -> Result<(), StoreError> {
        self.send(|reply| Command::Finish {
            run,
            status,
            error,
            reply,
        })
        .await
    }

    /// Reopens a completed run whose file has grown (see the writer for what that undoes).
    pub async fn reopen_import(&self, run: RunId) -> Result<(), StoreError> {
        self.send(|reply| Command::Reopen { run, reply }).await
    }

    /// Import runs of a server, newest first.
    pub async fn import_runs(&self, server: ServerId) -> Result<Vec<ImportRun>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "{RUN_COLUMNS} WHERE server_id = ? ORDER BY id DESC"
        )))
        .bind(server)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(import_run).collect())
    }

    pub async fn import_run(&self, run: RunId) -> Result<ImportRun, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!("{RUN_COLUMNS} WHERE id = ?")))
            .bind(run)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NoSuchRun(run))?;
        Ok(import_run(&row))
    }

    /// The kept diagnostics of a run, by line.
    pub async fn diagnostics(
        &self,
        run: RunId,
        kind: Option<DiagnosticKind>,
        limit: i64,
    ) -> Result<Vec<Diagnostic>, StoreError> {
        let rows = sqlx::query(
            "SELECT line, kind, text FROM import_diagnostic WHERE import_run_id = ? AND (? IS NULL OR kind = ?) ORDER BY line LIMIT ?",
        )
        .bind(run)
        .bind(kind.map(DiagnosticKind::as_str))
        .bind(kind.map(DiagnosticKind::as_str))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| Diagnostic {
                line: r.get::<i64, _>(0) as u64,
                kind: DiagnosticKind::parse(r.get::<&str, _>(1))
                    .unwrap_or(DiagnosticKind::Unrecognised),
                text: r.get(2),
            })
            .collect())
    }

    pub async fn totals(&self) -> Result<Totals, StoreError> {
        let row = sqlx::query(
            "SELECT (SELECT count(*) FROM license_server), (SELECT count(*) FROM feature), (SELECT count(*) FROM user),
                    (SELECT count(*) FROM host), (SELECT count(*) FROM session), (SELECT count(*) FROM denial),
                    (SELECT count(*) FROM queued_request), (SELECT count(*) FROM server_event), (SELECT count(*) FROM import_run)",
        )
        .fetch_one(&self.pool)
        .await?;
        let n = |i: usize| row.get::<i64, _>(i) as u64;
        Ok(Totals {
            servers: n(0),
            features: n(1),
            users: n(2),
            hosts: n(3),
            sessions: n(4),
            denials: n(5),
            queued: n(6),
            server_events: n(7),
            import_runs: n(8),
        })
    }

    /// The read pool, for reports and tests.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

const RUN_COLUMNS: &str = "SELECT id, server_id, format, plugin, path, head_len, head_hash, offset, last_line_hash, state, lines,
    sessions, denials, queued, server_events, malformed, diagnostics, status, error FROM import_run";

fn import_run(r: &SqliteRow) -> ImportRun {
    let n = |i: usize| r.get::<i64, _>(i) as u64;
    ImportRun {
        id: r.get(0),
        server_id: r.get(1),
        format: r.get(2),
        plugin: r.get(3),
        path: r.get(4),
        identity: FileIdentity {
            head_len: r.get(5),
            head_hash: r.get(6),
        },
        checkpoint: Checkpoint {
            offset: n(7),
            last_line_hash: r.get(8),
            state: r.get::<Option<Vec<u8>>, _>(9).unwrap_or_default(),
            lines: n(10),
        },
        counts: FactCounts {
            sessions: n(11),
            denials: n(12),
            queued: n(13),
            server_events: n(14),
            malformed: n(15),
            diagnostics: n(16),
        },
        status: RunStatus::parse(r.get(17)),
        error: r.get(18),
    }
}
