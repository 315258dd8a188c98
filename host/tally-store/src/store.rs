//! The store: opening a backend by URL, the read side, and the hand-over of writes to the writer
//! task ([`crate::writer`]).

use sqlx::{MySql, Postgres, Sqlite};
use tally_core::{Batch, Diagnostic, DiagnosticKind};
use tokio::sync::{mpsc, oneshot};

use crate::db::{Backend, Conn, Pool, Row, query, query_built};
use crate::url::DatabaseUrl;
use crate::writer::{self, Command};
use crate::{
    Checkpoint, FactCounts, FileIdentity, ImportRun, NewImport, RowCounts, RunId, RunStatus,
    ServerId, StoreError,
};

/// Tally's database. Cheap to clone; all clones share the pool and the writer task.
#[derive(Clone, Debug)]
pub struct Store {
    pool: Pool,
    writer: mpsc::Sender<Command>,
}

impl Store {
    /// Opens the database at `url` and brings its schema up to date: `sqlite://PATH` (created
    /// with its directories if missing), `postgres://…` / `postgresql://…`, or `mysql://…` /
    /// `mariadb://…` (the database is created if it does not exist and the account may).
    /// Must be called inside a tokio runtime: it starts the writer task.
    pub async fn open(url: impl Into<DatabaseUrl>) -> Result<Store, StoreError> {
        let url = url.into();
        Store::open_url(&url).await.map_err(|error| match error {
            StoreError::UnsupportedUrl(_) => error,
            // Whatever the driver said, without the password should it have echoed it.
            error => StoreError::Open {
                reason: url.scrub(&error.to_string()),
                url,
            },
        })
    }

    async fn open_url(url: &DatabaseUrl) -> Result<Store, StoreError> {
        let (conn, pool) = match url.scheme().as_str() {
            "sqlite" => {
                let (c, p) = Sqlite::open(url.secret()).await?;
                (Conn::Sqlite(c), Pool::Sqlite(std::sync::Arc::new(p)))
            }
            "postgres" | "postgresql" => {
                let (c, p) = Postgres::open(url.secret()).await?;
                (Conn::Postgres(c), Pool::Postgres(p))
            }
            "mysql" | "mariadb" => {
                let (c, p) = MySql::open(url.secret()).await?;
                (Conn::MySql(c), Pool::MySql(p))
            }
            _ => return Err(StoreError::UnsupportedUrl(url.clone())),
        };
        let store = Store {
            pool,
            writer: writer::spawn(conn, url.clone())?,
        };
        // Before the rollups: classifying old denials may ask for their rebuild.
        store.classify_refusals_if_asked().await?;
        store.rebuild_rollups_if_asked().await?;
        store.rebuild_coarse_if_asked().await?;
        store.rebuild_cells_if_asked().await?;
        store.rebuild_logged_if_asked().await?;
        Ok(store)
    }

    /// Whether a migration left the task `name` for the store to do at open: `store_state`
    /// holds `name` with the value `asked` (`rebuild`, `classify`).
    pub(crate) async fn asked(&self, name: &str, asked: &str) -> Result<bool, StoreError> {
        let state: Option<String> = query("SELECT value FROM store_state WHERE name = ?")
            .bind(name)
            .scalar_optional(self.pool())
            .await?;
        Ok(state.as_deref() == Some(asked))
    }

    /// Stops the writer (after the writes queued before) and closes every connection. Writes
    /// after this fail with [`StoreError::WriterGone`].
    pub async fn close(&self) {
        // The readers first: the last connection to close folds SQLite's write-ahead log back
        // into the database, and only the writer's may write.
        self.pool.close().await;
        let (reply, done) = oneshot::channel();
        if self.writer.send(Command::Close { reply }).await.is_ok() {
            let _ = done.await;
        }
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
                    let result = job(w).await;
                    if result.as_ref().is_err_and(StoreError::is_out_of_reach) {
                        w.lost_connection();
                    }
                    let _ = reply.send(result);
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

    /// The read pool.
    pub(crate) fn pool(&self) -> &Pool {
        &self.pool
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
        let rows = query_built(format!(
            "{RUN_COLUMNS} WHERE server_id = ? ORDER BY id DESC"
        ))
        .bind(server)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(import_run).collect()
    }

    /// The latest `limit` import runs of every server (or of `server`), newest first.
    pub async fn recent_import_runs(
        &self,
        server: Option<ServerId>,
        limit: u32,
    ) -> Result<Vec<ImportRun>, StoreError> {
        let rows = match server {
            Some(id) => query_built(format!(
                "{RUN_COLUMNS} WHERE server_id = ? ORDER BY id DESC LIMIT ?"
            ))
            .bind(id),
            None => query_built(format!("{RUN_COLUMNS} ORDER BY id DESC LIMIT ?")),
        }
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(import_run).collect()
    }

    pub async fn import_run(&self, run: RunId) -> Result<ImportRun, StoreError> {
        let row = query_built(format!("{RUN_COLUMNS} WHERE id = ?"))
            .bind(run)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NoSuchRun(run))?;
        import_run(&row)
    }

    /// The kept diagnostics of a run, by line.
    pub async fn diagnostics(
        &self,
        run: RunId,
        kind: Option<DiagnosticKind>,
        limit: i64,
    ) -> Result<Vec<Diagnostic>, StoreError> {
        let rows = query(
            "SELECT line, kind, text FROM import_diagnostic WHERE import_run_id = ? AND (? IS NULL OR kind = ?)
             ORDER BY line LIMIT ?",
        )
        .bind(run)
        .bind(kind.map(DiagnosticKind::as_str))
        .bind(kind.map(DiagnosticKind::as_str))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Diagnostic {
                    line: r.get_u64(0)?,
                    kind: DiagnosticKind::parse(&r.get::<String>(1)?)
                        .unwrap_or(DiagnosticKind::Unrecognised),
                    text: r.get(2)?,
                })
            })
            .collect()
    }

    pub async fn row_counts(&self) -> Result<RowCounts, StoreError> {
        let row = query(
            "SELECT (SELECT count(*) FROM license_server), (SELECT count(*) FROM feature), (SELECT count(*) FROM \"user\"),
                    (SELECT count(*) FROM host), (SELECT count(*) FROM session), (SELECT count(*) FROM denial),
                    (SELECT count(*) FROM queued_request), (SELECT count(*) FROM server_event), (SELECT count(*) FROM import_run)",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(RowCounts {
            servers: row.get_u64(0)?,
            features: row.get_u64(1)?,
            users: row.get_u64(2)?,
            hosts: row.get_u64(3)?,
            sessions: row.get_u64(4)?,
            denials: row.get_u64(5)?,
            queued: row.get_u64(6)?,
            server_events: row.get_u64(7)?,
            import_runs: row.get_u64(8)?,
        })
    }
}

/// `url` with its password replaced by `***`, for messages and logs.
pub fn redact(url: &str) -> String {
    DatabaseUrl::new(url).to_string()
}

const RUN_COLUMNS: &str = "SELECT id, server_id, format, plugin, path, head_len, head_hash, \"offset\", last_line_hash, state,
    \"lines\", sessions, denials, queued, server_events, malformed, diagnostics, status, error, started_at, finished_at FROM import_run";

fn import_run(r: &Row) -> Result<ImportRun, StoreError> {
    Ok(ImportRun {
        id: r.get(0)?,
        server_id: r.get(1)?,
        format: r.get(2)?,
        plugin: r.get(3)?,
        path: r.get(4)?,
        identity: FileIdentity {
            head_len: r.get(5)?,
            head_hash: r.get(6)?,
        },
        checkpoint: Checkpoint {
            offset: r.get_u64(7)?,
            last_line_hash: r.get(8)?,
            state: r.get::<Option<Vec<u8>>>(9)?.unwrap_or_default(),
            lines: r.get_u64(10)?,
        },
        counts: FactCounts {
            sessions: r.get_u64(11)?,
            denials: r.get_u64(12)?,
            queued: r.get_u64(13)?,
            server_events: r.get_u64(14)?,
            malformed: r.get_u64(15)?,
            diagnostics: r.get_u64(16)?,
        },
        status: RunStatus::parse(&r.get::<String>(17)?),
        error: r.get(18)?,
        started: r.get(19)?,
        finished: r.get(20)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn errors_opening_a_database_never_show_its_password() {
        // Nothing listens on port 1: the connection is refused, and the error names the URL.
        let url = "postgres://tally:s3cr3t-pw@127.0.0.1:1/tally";
        let error = Store::open(url).await.expect_err("nothing listens");
        let shown = format!("{error} {error:?}");
        assert!(!shown.contains("s3cr3t-pw"), "{shown}");
        assert!(
            error
                .to_string()
                .starts_with("cannot open the database postgres://tally:***@127.0.0.1:1/tally"),
            "{error}"
        );
        let error = Store::open("redis://tally:s3cr3t-pw@db:6379/0")
            .await
            .expect_err("unsupported");
        assert!(matches!(error, StoreError::UnsupportedUrl(_)), "{error:?}");
        let shown = format!("{error} {error:?}");
        assert!(!shown.contains("s3cr3t-pw"), "{shown}");
        assert!(
            error
                .to_string()
                .starts_with("unsupported database URL `redis://tally:***@db:6379/0`"),
            "{error}"
        );
    }
}
