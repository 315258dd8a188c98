//! The one task that writes. It owns the write connection and the caches that turn names
//! (users, hosts, features) into ids, so each distinct name costs one lookup per process.

use std::collections::HashMap;
use std::sync::Arc;

use sqlx::sqlite::{SqliteArguments, SqliteConnection};
use sqlx::{Acquire, Arguments, AssertSqlSafe, Connection};
use tally_core::{Batch, DiagnosticKind, Sym};
use tokio::sync::{mpsc, oneshot};

use crate::{
    Checkpoint, DIAGNOSTICS_KEPT, FactCounts, NewImport, RunId, RunStatus, ServerId, StoreError,
};

type Reply<T> = oneshot::Sender<Result<T, StoreError>>;

pub(crate) enum Command {
    EnsureServer {
        name: String,
        manager: String,
        reply: Reply<ServerId>,
    },
    StartImport {
        new: NewImport,
        reply: Reply<RunId>,
    },
    Commit {
        run: RunId,
        server: ServerId,
        batch: Batch,
        checkpoint: Checkpoint,
        reply: Reply<FactCounts>,
    },
    Finish {
        run: RunId,
        status: RunStatus,
        error: Option<String>,
        reply: Reply<()>,
    },
    Reopen {
        run: RunId,
        reply: Reply<()>,
    },
    /// Any other write: a closure run on the writer (server configuration, polls), so rare
    /// writes need no variant of their own.
    Job(Job),
}

pub(crate) type Job = Box<
    dyn for<'w> FnOnce(&'w mut Writer) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send + 'w>>
        + Send,
>;

/// Bound parameters per statement. Measured (benches/import.rs): 4 000 beats 1 500 and 12 000;
/// 32 000 is 40% slower than 4 000.
const MAX_PARAMS: usize = 4_000;

pub(crate) fn spawn(conn: SqliteConnection) -> mpsc::Sender<Command> {
    // Two batches in flight: the importer parses one while the writer commits the other.
    let (tx, mut rx) = mpsc::channel::<Command>(2);
    tokio::spawn(async move {
        let mut writer = Writer {
            conn,
            users: HashMap::new(),
            hosts: HashMap::new(),
            features: HashMap::new(),
            sql: HashMap::new(),
        };
        while let Some(command) = rx.recv().await {
            writer.handle(command).await;
        }
    });
    tx
}

pub(crate) struct Writer {
    pub(crate) conn: SqliteConnection,
    pub(crate) users: HashMap<String, i64>,
    pub(crate) hosts: HashMap<String, i64>,
    pub(crate) features: HashMap<(ServerId, String, String), i64>,
    /// Multi-row INSERT texts by (table, rows).
    sql: HashMap<(&'static str, usize), Arc<str>>,
}

pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl Writer {
    async fn handle(&mut self, command: Command) {
        match command {
            Command::EnsureServer {
                name,
                manager,
                reply,
            } => {
                let _ = reply.send(self.ensure_server(&name, &manager).await);
            }
            Command::StartImport { new, reply } => {
                let _ = reply.send(self.start_import(new).await);
            }
            Command::Commit {
                run,
                server,
                batch,
                checkpoint,
                reply,
            } => {
                let result = self.commit(run, server, &batch, &checkpoint).await;
                if result.is_err() {
                    self.forget_ids();
                }
                let _ = reply.send(result);
            }
            Command::Finish {
                run,
                status,
                error,
                reply,
            } => {
                let _ = reply.send(self.finish(run, status, error).await);
            }
            Command::Reopen { run, reply } => {
                let _ = reply.send(self.reopen(run).await);
            }
            Command::Job(job) => job(self).await,
        }
    }

    /// A failed transaction may have cached ids of rows it never committed.
    pub(crate) fn forget_ids(&mut self) {
        self.users.clear();
        self.hosts.clear();
        self.features.clear();
    }

    async fn ensure_server(&mut self, name: &str, manager: &str) -> Result<ServerId, StoreError> {
        sqlx::query("INSERT INTO license_server (name, manager, created_at) VALUES (?, ?, ?) ON CONFLICT(name) DO NOTHING")
            .bind(name)
            .bind(manager)
            .bind(now())
            .execute(&mut self.conn)
            .await?;
        let id: i64 = sqlx::query_scalar("SELECT id FROM license_server WHERE name = ?")
            .bind(name)
            .fetch_one(&mut self.conn)
            .await?;
        Ok(id)
    }

    async fn start_import(&mut self, n: NewImport) -> Result<RunId, StoreError> {
        let t = now();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO import_run (server_id, format, plugin, plugin_version, path, head_len, head_hash, status, started_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, 'running', ?, ?) RETURNING id",
        )
        .bind(n.server_id)
        .bind(&n.format)
        .bind(&n.plugin)
        .bind(&n.plugin_version)
        .bind(&n.path)
        .bind(n.identity.head_len)
        .bind(&n.identity.head_hash)
        .bind(t)
        .bind(t)
        .fetch_one(&mut self.conn)
        .await?;
        Ok(id)
    }

    async fn finish(
        &mut self,
        run: RunId,
        status: RunStatus,
        error: Option<String>,
    ) -> Result<(), StoreError> {
        let t = now();
        let done = sqlx::query("UPDATE import_run SET status = ?, error = ?, updated_at = ?, finished_at = ? WHERE id = ?")
            .bind(status.as_str())
            .bind(error)
            .bind(t)
            .bind((status != RunStatus::Running).then_some(t))
            .bind(run)
            .execute(&mut self.conn)
            .await?;
        if done.rows_affected() == 0 {
            Err(StoreError::NoSuchRun(run))
        } else {
            Ok(())
        }
    }

    /// A completed file grew: take back what `finish` closed at the old end of the file (sessions
    /// ended there) so the import continues from its last checkpoint as if never finished.
    async fn reopen(&mut self, run: RunId) -> Result<(), StoreError> {
        let mut tx = Connection::begin(&mut self.conn).await?;
        let removed = sqlx::query(
            "DELETE FROM session WHERE import_run_id = ? AND end_reason = 'end-of-log'",
        )
        .bind(run)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        sqlx::query("UPDATE import_run SET status = 'running', sessions = sessions - ?, finished_at = NULL WHERE id = ?")
            .bind(removed as i64)
            .bind(run)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn commit(
        &mut self,
        run: RunId,
        server: ServerId,
        batch: &Batch,
        cp: &Checkpoint,
    ) -> Result<FactCounts, StoreError> {
        let Writer {
            conn,
            users,
            hosts,
            features,
            sql,
        } = self;
        let mut tx = Connection::begin(conn).await?;
        let conn = tx.acquire().await?;

        let ids = resolve(conn, batch, server, users, hosts, features).await?;

        let str_opt = |s: Option<Sym>| s.map(|s| batch.str(s).to_string());
        let cols = [
            "server_id",
            "feature_id",
            "user_id",
            "host_id",
            "count",
            "start",
            "\"end\"",
            "end_reason",
            "project",
            "import_run_id",
        ];
        insert(conn, sql, "session", &cols, &batch.sessions, |a, s| {
            add(a, server);
            add(a, ids.feature(s.vendor, s.feature));
            add(a, ids.user(s.user));
            add(a, ids.host(s.host));
            add(a, i64::from(s.count));
            add(a, s.start);
            add(a, s.end);
            add(a, s.end_reason.as_str());
            add(a, str_opt(s.project));
            add(a, run);
        })
        .await?;

        let cols = [
            "server_id",
            "feature_id",
            "user_id",
            "host_id",
            "count",
            "time",
            "kind",
            "code",
            "reason",
            "requested_version",
            "import_run_id",
        ];
        insert(conn, sql, "denial", &cols, &batch.denials, |a, d| {
            add(a, server);
            add(a, ids.feature(d.vendor, d.feature));
            add(a, ids.user(d.user));
            add(a, ids.host(d.host));
            add(a, i64::from(d.count));
            add(a, d.time);
            add(a, d.kind.as_str());
            add(a, d.code.map(|c| c.to_string()));
            add(a, str_opt(d.reason));
            add(a, str_opt(d.requested_version));
            add(a, run);
        })
        .await?;

        let cols = [
            "server_id",
            "feature_id",
            "user_id",
            "host_id",
            "count",
            "time",
            "import_run_id",
        ];
        insert(conn, sql, "queued_request", &cols, &batch.queued, |a, q| {
            add(a, server);
            add(a, ids.feature(q.vendor, q.feature));
            add(a, ids.user(q.user));
            add(a, ids.host(q.host));
            add(a, i64::from(q.count));
            add(a, q.time);
            add(a, run);
        })
        .await?;

        let cols = [
            "server_id",
            "time",
            "kind",
            "daemon",
            "text",
            "import_run_id",
        ];
        insert(
            conn,
            sql,
            "server_event",
            &cols,
            &batch.server_events,
            |a, e| {
                add(a, server);
                add(a, e.time);
                add(a, e.kind.as_str());
                add(a, batch.str(e.daemon));
                add(a, batch.str(e.text));
                add(a, run);
            },
        )
        .await?;

        // Diagnostics: all counted, the first DIAGNOSTICS_KEPT per run kept.
        let kept: i64 = sqlx::query_scalar("SELECT diagnostics FROM import_run WHERE id = ?")
            .bind(run)
            .fetch_one(&mut *conn)
            .await?;
        let room = usize::try_from((DIAGNOSTICS_KEPT - kept).max(0)).unwrap_or(0);
        let keep = &batch.diagnostics[..batch.diagnostics.len().min(room)];
        insert(
            conn,
            sql,
            "import_diagnostic",
            &["import_run_id", "line", "kind", "text"],
            keep,
            |a, d| {
                add(a, run);
                add(a, i64::try_from(d.line).unwrap_or(i64::MAX));
                add(a, d.kind.as_str());
                add(a, d.text.as_str());
            },
        )
        .await?;

        let counts = FactCounts {
            sessions: batch.sessions.len() as u64,
            denials: batch.denials.len() as u64,
            queued: batch.queued.len() as u64,
            server_events: batch.server_events.len() as u64,
            malformed: batch
                .diagnostics
                .iter()
                .filter(|d| d.kind == DiagnosticKind::Malformed)
                .count() as u64,
            diagnostics: batch.diagnostics.len() as u64,
        };
        sqlx::query(
            "UPDATE import_run SET offset = ?, last_line_hash = ?, state = ?, lines = ?,
                sessions = sessions + ?, denials = denials + ?, queued = queued + ?, server_events = server_events + ?,
                malformed = malformed + ?, diagnostics = diagnostics + ?, updated_at = ?
             WHERE id = ?",
        )
        .bind(i64::try_from(cp.offset).unwrap_or(i64::MAX))
        .bind(&cp.last_line_hash)
        .bind(&cp.state)
        .bind(i64::try_from(cp.lines).unwrap_or(i64::MAX))
        .bind(counts.sessions as i64)
        .bind(counts.denials as i64)
        .bind(counts.queued as i64)
        .bind(counts.server_events as i64)
        .bind(counts.malformed as i64)
        .bind(counts.diagnostics as i64)
        .bind(now())
        .bind(run)
        .execute(&mut *conn)
        .await?;
        tx.commit().await?;
        Ok(counts)
    }
}

/// Inserts `rows` with multi-row statements of at most [`MAX_PARAMS`] parameters.
pub(crate) async fn insert<T>(
    conn: &mut SqliteConnection,
    cache: &mut HashMap<(&'static str, usize), Arc<str>>,
    table: &'static str,
    cols: &[&str],
    rows: &[T],
    mut bind: impl FnMut(&mut SqliteArguments, &T),
) -> Result<(), StoreError> {
    for chunk in rows.chunks(MAX_PARAMS / cols.len()) {
        let text = insert_sql(cache, table, cols, chunk.len());
        let mut args = SqliteArguments::default();
        chunk.iter().for_each(|row| bind(&mut args, row));
        sqlx::query_with(AssertSqlSafe(text), args)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// The multi-row INSERT for `rows` rows, built once per shape.
fn insert_sql(
    cache: &mut HashMap<(&'static str, usize), Arc<str>>,
    table: &'static str,
    cols: &[&str],
    rows: usize,
) -> Arc<str> {
    cache
        .entry((table, rows))
        .or_insert_with(|| {
            let one = format!("({})", vec!["?"; cols.len()].join(","));
            format!(
                "INSERT INTO {table} ({}) VALUES {}",
                cols.join(","),
                vec![one.as_str(); rows].join(",")
            )
            .into()
        })
        .clone()
}

pub(crate) fn add<'t, T>(args: &mut SqliteArguments, value: T)
where
    T: sqlx::Encode<'t, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>,
{
    // Encoding integers and strings into SQLite arguments cannot fail.
    let _ = args.add(value);
}

/// Database ids for the names a batch uses, indexed by `Sym`.
struct BatchIds {
    users: Vec<i64>,
    hosts: Vec<i64>,
    features: HashMap<(Sym, Sym), i64>,
}

impl BatchIds {
    fn user(&self, s: Sym) -> i64 {
        self.users[s as usize]
    }
    fn host(&self, s: Sym) -> i64 {
        self.hosts[s as usize]
    }
    fn feature(&self, vendor: Sym, name: Sym) -> i64 {
        self.features[&(vendor, name)]
    }
}

/// Resolves every user, host and feature the batch names, creating the missing ones.
async fn resolve(
    conn: &mut SqliteConnection,
    batch: &Batch,
    server: ServerId,
    user_cache: &mut HashMap<String, i64>,
    host_cache: &mut HashMap<String, i64>,
    feature_cache: &mut HashMap<(ServerId, String, String), i64>,
) -> Result<BatchIds, StoreError> {
    let n = batch.strings.len();
    let mut user_syms = vec![false; n];
    let mut host_syms = vec![false; n];
    let mut feature_syms: Vec<(Sym, Sym)> = Vec::new();
    let mut mark = |vendor: Sym, feature: Sym, user: Sym, host: Sym| {
        user_syms[user as usize] = true;
        host_syms[host as usize] = true;
        feature_syms.push((vendor, feature));
    };
    batch
        .sessions
        .iter()
        .for_each(|s| mark(s.vendor, s.feature, s.user, s.host));
    batch
        .denials
        .iter()
        .for_each(|d| mark(d.vendor, d.feature, d.user, d.host));
    batch
        .queued
        .iter()
        .for_each(|q| mark(q.vendor, q.feature, q.user, q.host));
    feature_syms.sort_unstable();
    feature_syms.dedup();

    const UPSERT_USER: &str = "INSERT INTO user (name) VALUES (?) ON CONFLICT(name) DO UPDATE SET name = excluded.name RETURNING id";
    const UPSERT_HOST: &str = "INSERT INTO host (name) VALUES (?) ON CONFLICT(name) DO UPDATE SET name = excluded.name RETURNING id";
    let users = resolve_names(conn, UPSERT_USER, batch, &user_syms, user_cache).await?;
    let hosts = resolve_names(conn, UPSERT_HOST, batch, &host_syms, host_cache).await?;

    let mut features = HashMap::with_capacity(feature_syms.len());
    for (vendor, name) in feature_syms {
        let key = (
            server,
            batch.str(vendor).to_string(),
            batch.str(name).to_string(),
        );
        let id = match feature_cache.get(&key) {
            Some(&id) => id,
            None => {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO feature (server_id, vendor, name) VALUES (?, ?, ?)
                     ON CONFLICT(server_id, vendor, name) DO UPDATE SET name = excluded.name RETURNING id",
                )
                .bind(server)
                .bind(&key.1)
                .bind(&key.2)
                .fetch_one(&mut *conn)
                .await?;
                feature_cache.insert(key, id);
                id
            }
        };
        features.insert((vendor, name), id);
    }
    Ok(BatchIds {
        users,
        hosts,
        features,
    })
}

/// Ids (indexed by `Sym`, 0 where unused) of the marked strings in the `user` or `host` table.
async fn resolve_names(
    conn: &mut SqliteConnection,
    upsert: &'static str,
    batch: &Batch,
    used: &[bool],
    cache: &mut HashMap<String, i64>,
) -> Result<Vec<i64>, StoreError> {
    let mut ids = vec![0; used.len()];
    let mut missing: Vec<usize> = Vec::new();
    for (sym, _) in used.iter().enumerate().filter(|(_, u)| **u) {
        match cache.get(&batch.strings[sym]) {
            Some(&id) => ids[sym] = id,
            None => missing.push(sym),
        }
    }
    for sym in missing {
        let name = &batch.strings[sym];
        // One statement per name new to this process: names repeat, so this is rare.
        let id: i64 = sqlx::query_scalar(upsert)
            .bind(name)
            .fetch_one(&mut *conn)
            .await?;
        cache.insert(name.clone(), id);
        ids[sym] = id;
    }
    Ok(ids)
}
