//! The one task that writes (on SQLite, a thread of its own: see `sqlite.rs`). It owns the write
//! connection and the caches that turn names (users, hosts, features) into ids, so each distinct
//! name costs one lookup per process.

use std::collections::{BTreeSet, HashMap};

use tally_core::refusal::RefusalCause;
use tally_core::rollup::{DenialFact, SessionFact};
use tally_core::{Batch, DiagnosticKind, Sym};
use tokio::sync::{mpsc, oneshot};

use crate::db::{Conn, Kind, SqlCache, Table, insert, insert_returning, query, query_built};
use crate::logged;
use crate::rollups::{self, Written};
use crate::url::DatabaseUrl;
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
    /// Stop after the commands queued before this one.
    Close {
        reply: oneshot::Sender<()>,
    },
}

pub(crate) type Job = Box<
    dyn for<'w> FnOnce(&'w mut Writer) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send + 'w>>
        + Send,
>;

/// Starts the writer: a tokio task, or for SQLite a thread of its own (its statements run on
/// it and block it).
pub(crate) fn spawn(conn: Conn, url: DatabaseUrl) -> Result<mpsc::Sender<Command>, StoreError> {
    // Two batches in flight: the importer parses one while the writer commits the other.
    let (tx, mut rx) = mpsc::channel::<Command>(2);
    let direct = matches!(conn, Conn::Sqlite(_));
    let run = async move {
        let mut writer = Writer {
            conn,
            users: HashMap::new(),
            hosts: HashMap::new(),
            features: HashMap::new(),
            open: HashMap::new(),
            features_said: HashMap::new(),
            daemons_said: HashMap::new(),
            rolled: HashMap::new(),
            sql: HashMap::new(),
            url,
            broken: false,
        };
        while let Some(command) = rx.recv().await {
            if let Command::Close { reply } = command {
                writer.conn.close().await;
                let _ = reply.send(());
                return;
            }
            writer.handle(command).await;
        }
    };
    if direct {
        // Channels and the commands' futures need no runtime driver: the runtime's handle
        // runs them on this thread.
        let runtime = tokio::runtime::Handle::current();
        std::thread::Builder::new()
            .name("tally-sqlite-writer".into())
            .spawn(move || runtime.block_on(run))
            .map_err(StoreError::WriterThread)?;
    } else {
        tokio::spawn(run);
    }
    Ok(tx)
}

pub(crate) struct Writer {
    pub(crate) conn: Conn,
    pub(crate) users: HashMap<String, i64>,
    pub(crate) hosts: HashMap<String, i64>,
    pub(crate) features: HashMap<(ServerId, String, String), i64>,
    /// Each polled server's open checkouts as its last poll (the key's time) left them.
    pub(crate) open: HashMap<ServerId, (i64, Vec<crate::servers::StoredOpen>)>,
    /// What each polled server's last answered poll (the key's time) said of its features, with
    /// their ids: a poll saying the same writes no `feature` row.
    pub(crate) features_said: HashMap<ServerId, (i64, Vec<(crate::servers::FeatureSaid, i64)>)>,
    /// What each polled server's last answered poll (the key's time) said of its vendor
    /// daemons: a poll saying the same writes no `vendor_daemon` row.
    pub(crate) daemons_said: HashMap<ServerId, (i64, Vec<crate::servers::DaemonSaid>)>,
    /// Where each polled server's rollups stand after its last poll (`poll_rollups.rs`).
    pub(crate) rolled: HashMap<ServerId, crate::poll_rollups::Rolled>,
    /// Multi-row INSERT texts.
    pub(crate) sql: SqlCache,
    /// Where to connect again when a database server's connection breaks (a restart, a
    /// network cut): the next write reconnects instead of failing until Tally restarts.
    url: DatabaseUrl,
    broken: bool,
}

pub(crate) use tally_core::time::now;

const SESSION: Table = Table {
    name: "session",
    cols: &[
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
    ],
    copy: true,
};

const DENIAL: Table = Table {
    name: "denial",
    cols: &[
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
        "until_time",
        "import_run_id",
        "cause",
    ],
    copy: true,
};

const QUEUED: Table = Table {
    name: "queued_request",
    cols: &[
        "server_id",
        "feature_id",
        "user_id",
        "host_id",
        "count",
        "time",
        "import_run_id",
    ],
    copy: false,
};

const SERVER_EVENT: Table = Table {
    name: "server_event",
    cols: &[
        "server_id",
        "time",
        "kind",
        "daemon",
        "text",
        "import_run_id",
    ],
    copy: false,
};

const USER_NAMES: Table = Table {
    name: "\"user\"",
    cols: &["name"],
    copy: false,
};

const HOST_NAMES: Table = Table {
    name: "host",
    cols: &["name"],
    copy: false,
};

const DIAGNOSTIC: Table = Table {
    name: "import_diagnostic",
    cols: &["import_run_id", "line", "kind", "text"],
    copy: false,
};

impl Writer {
    async fn handle(&mut self, command: Command) {
        // One attempt per command: while the database is away each write fails with the
        // connection error, and the first after it is back succeeds.
        if self.broken
            && let Err(error) = self.reconnect().await
        {
            tracing::warn!("the database is still unreachable: {error}");
        }
        match command {
            Command::EnsureServer {
                name,
                manager,
                reply,
            } => {
                let _ = reply.send(self.ensure_server(&name, &manager).await);
            }
            Command::StartImport { new, reply } => {
                let _ = reply.send(self.start_import(&new).await);
            }
            Command::Commit {
                run,
                server,
                batch,
                checkpoint,
                reply,
            } => {
                // SQLite checks every fact row's foreign keys (a quarter of a session insert's
                // CPU) and keeps a statement journal for tables with them. The ids a batch
                // writes are the ones this transaction resolved: checked once per batch
                // instead (`check_ids`).
                let unchecked = self.conn.kind() == Kind::Sqlite
                    && self.conn.raw("PRAGMA foreign_keys = OFF").await.is_ok();
                let result = self
                    .transaction(async |w| {
                        w.commit(run, server, &batch, &checkpoint, unchecked).await
                    })
                    .await;
                if unchecked && let Err(e) = self.conn.raw("PRAGMA foreign_keys = ON").await {
                    tracing::error!("foreign keys could not be turned back on: {e}");
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
                let _ = reply.send(self.transaction(async |w| w.reopen(run).await).await);
            }
            Command::Job(job) => job(self).await,
            Command::Close { .. } => {}
        }
    }

    /// Runs `body` in a transaction: committed if it succeeds, rolled back otherwise.
    pub(crate) async fn transaction<T>(
        &mut self,
        body: impl AsyncFnOnce(&mut Writer) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let result = match self.conn.begin().await {
            Ok(()) => body(self).await,
            Err(e) => Err(e),
        };
        let result = self.conn.end(result).await;
        if result.is_err() {
            // The transaction may have cached ids of rows it never committed.
            self.forget_ids();
            self.broken =
                self.conn.kind() != Kind::Sqlite && self.conn.raw("SELECT 1").await.is_err();
        }
        result
    }

    /// Marks the connection as lost: the next command reconnects first.
    pub(crate) fn lost_connection(&mut self) {
        self.broken = self.conn.kind() != Kind::Sqlite;
    }

    /// Replaces a broken connection to a database server with a new one.
    async fn reconnect(&mut self) -> Result<(), StoreError> {
        let url = self.url.secret();
        self.conn = match self.conn.kind() {
            Kind::Postgres => Conn::Postgres(crate::postgres::connect_writer(url).await?),
            Kind::MySql => Conn::MySql(crate::mysql::connect_writer(url).await?),
            Kind::Sqlite => return Ok(()),
        };
        self.forget_ids();
        self.sql.clear();
        self.broken = false;
        tracing::info!("the database answers again: writes resume");
        Ok(())
    }

    /// Forgets the cached ids (after a rollback).
    pub(crate) fn forget_ids(&mut self) {
        self.users.clear();
        self.hosts.clear();
        self.features.clear();
        self.open.clear();
        self.features_said.clear();
        self.daemons_said.clear();
        self.rolled.clear();
    }

    async fn ensure_server(&mut self, name: &str, manager: &str) -> Result<ServerId, StoreError> {
        let upsert = self.conn.kind().upsert("name", &["name"]);
        query_built(format!(
            "INSERT INTO license_server (name, manager, created_at) VALUES (?, ?, ?) {upsert} RETURNING id"
        ))
        .bind(name)
        .bind(manager)
        .bind(now())
        .scalar(&mut self.conn)
        .await
    }

    pub(crate) async fn start_import(&mut self, n: &NewImport) -> Result<RunId, StoreError> {
        let t = now();
        query(
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
        .scalar(&mut self.conn)
        .await
    }

    async fn finish(
        &mut self,
        run: RunId,
        status: RunStatus,
        error: Option<String>,
    ) -> Result<(), StoreError> {
        let t = now();
        let done = query(
            "UPDATE import_run SET status = ?, error = ?, updated_at = ?, finished_at = ? WHERE id = ?",
        )
        .bind(status.as_str())
        .bind(error)
        .bind(t)
        .bind((status != RunStatus::Running).then_some(t))
        .bind(run)
        .execute(&mut self.conn)
        .await?;
        if done == 0 {
            Err(StoreError::NoSuchRun(run))
        } else {
            Ok(())
        }
    }

    /// A completed file grew: take back what `finish` closed at the old end of the file (sessions
    /// ended there) so the import continues from its last checkpoint as if never finished.
    /// Runs inside a transaction.
    async fn reopen(&mut self, run: RunId) -> Result<(), StoreError> {
        let ended = query(
            "SELECT server_id, feature_id, user_id, host_id, count, start, \"end\" FROM session
             WHERE import_run_id = ? AND end_reason = 'end-of-log'",
        )
        .bind(run)
        .fetch_all(&mut self.conn)
        .await?
        .iter()
        .map(|r| {
            Ok(SessionFact {
                server: r.get(0)?,
                feature: r.get(1)?,
                user: r.get(2)?,
                host: r.get(3)?,
                count: u32::try_from(r.get::<i64>(4)?).unwrap_or(0),
                start: r.get(5)?,
                end: r.get(6)?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
        query("DELETE FROM long_session WHERE import_run_id = ? AND end_reason = 'end-of-log'")
            .bind(run)
            .execute(&mut self.conn)
            .await?;
        let removed =
            query("DELETE FROM session WHERE import_run_id = ? AND end_reason = 'end-of-log'")
                .bind(run)
                .execute(&mut self.conn)
                .await?;
        query("UPDATE import_run SET status = 'running', sessions = sessions - ?, finished_at = NULL WHERE id = ?")
            .bind(removed as i64)
            .bind(run)
            .execute(&mut self.conn)
            .await?;
        rollups::reroll(&mut self.conn, &mut self.sql, &ended, &[]).await
    }

    /// Writes a batch and its checkpoint. Runs inside a transaction.
    async fn commit(
        &mut self,
        run: RunId,
        server: ServerId,
        batch: &Batch,
        cp: &Checkpoint,
        unchecked: bool,
    ) -> Result<FactCounts, StoreError> {
        let ids = self.resolve(batch, server).await?;
        let Writer { conn, sql, .. } = self;
        if unchecked {
            check_ids(conn, server, run, &ids).await?;
        }

        let str_opt = |s: Option<Sym>| s.map(|s| batch.str(s));
        // Each denial's cause, from its server's manager: only capacity refusals roll up.
        let causes = crate::refusals::causes(conn, server, batch).await?;

        // The rollups of the added facts are computed on another thread while this one stores
        // the facts: the writer is an import's bottleneck, and the other core mostly waits.
        let sessions: Vec<SessionFact> = batch
            .sessions
            .iter()
            .map(|s| SessionFact {
                server,
                feature: ids.feature(s.vendor, s.feature),
                user: ids.user(s.user),
                host: ids.host(s.host),
                count: s.count,
                start: s.start,
                end: s.end,
            })
            .collect();
        let denials: Vec<DenialFact> = batch
            .denials
            .iter()
            .zip(&causes)
            .filter(|(_, c)| **c == RefusalCause::Capacity)
            .map(|(d, _)| DenialFact {
                server,
                feature: ids.feature(d.vendor, d.feature),
                user: ids.user(d.user),
                host: ids.host(d.host),
                count: d.count,
                time: d.time,
                until: d.until,
            })
            .collect();
        let written: Vec<Written> = batch
            .sessions
            .iter()
            .zip(&sessions)
            .map(|(s, fact)| Written {
                fact: *fact,
                end_reason: s.end_reason.as_str(),
                run: Some(run),
            })
            .collect();
        let last = rollups::last_rolled(conn, &sessions, &denials).await?;
        let planned =
            tokio::task::spawn_blocking(move || rollups::plan_added(sessions, denials, &last));

        insert(conn, sql, &SESSION, &batch.sessions, |p, s| {
            p.add(server);
            p.add(ids.feature(s.vendor, s.feature));
            p.add(ids.user(s.user));
            p.add(ids.host(s.host));
            p.add(i64::from(s.count));
            p.add(s.start);
            p.add(s.end);
            p.add(s.end_reason.as_str());
            p.add(str_opt(s.project));
            p.add(run);
        })
        .await?;

        let mut cause = causes.iter();
        insert(conn, sql, &DENIAL, &batch.denials, |p, d| {
            p.add(server);
            p.add(ids.feature(d.vendor, d.feature));
            p.add(ids.user(d.user));
            p.add(ids.host(d.host));
            p.add(i64::from(d.count));
            p.add(d.time);
            p.add(d.kind.as_str());
            p.add(d.code.map(|c| c.to_string()));
            p.add(str_opt(d.reason));
            p.add(str_opt(d.requested_version));
            p.add(d.until);
            p.add(run);
            p.add(cause.next().map(|c| c.as_str()));
        })
        .await?;

        insert(conn, sql, &QUEUED, &batch.queued, |p, q| {
            p.add(server);
            p.add(ids.feature(q.vendor, q.feature));
            p.add(ids.user(q.user));
            p.add(ids.host(q.host));
            p.add(i64::from(q.count));
            p.add(q.time);
            p.add(run);
        })
        .await?;

        insert(conn, sql, &SERVER_EVENT, &batch.server_events, |p, e| {
            p.add(server);
            p.add(e.time);
            p.add(e.kind.as_str());
            p.add(batch.str(e.daemon));
            p.add(batch.str(e.text));
            p.add(run);
        })
        .await?;
        rollups::list_long(conn, sql, &written).await?;

        // Rollups of the hours these facts touch.
        let added = planned.await.map_err(|_| StoreError::WriterGone)?;
        rollups::write_added(conn, sql, added).await?;
        if let Some(span) = logged::event_span(batch) {
            logged::widen_run(conn, run, span).await?;
        }
        crate::capacity::write_imported(conn, server, run, batch, |v, f| ids.feature(v, f)).await?;

        // Diagnostics: all counted, the first DIAGNOSTICS_KEPT per run kept.
        let kept: i64 = query("SELECT diagnostics FROM import_run WHERE id = ?")
            .bind(run)
            .scalar(&mut *conn)
            .await?;
        let room = usize::try_from((DIAGNOSTICS_KEPT - kept).max(0)).unwrap_or(0);
        let keep = &batch.diagnostics[..batch.diagnostics.len().min(room)];
        insert(conn, sql, &DIAGNOSTIC, keep, |p, d| {
            p.add(run);
            p.add(i64::try_from(d.line).unwrap_or(i64::MAX));
            p.add(d.kind.as_str());
            p.add(d.text.as_str());
        })
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
        query(
            "UPDATE import_run SET \"offset\" = ?, last_line_hash = ?, state = ?, \"lines\" = ?,
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
        Ok(counts)
    }

    /// Resolves every user, host and feature the batch names, creating the missing ones.
    async fn resolve(&mut self, batch: &Batch, server: ServerId) -> Result<BatchIds, StoreError> {
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
        feature_syms.extend(batch.capacities.iter().map(|c| (c.vendor, c.feature)));
        feature_syms.sort_unstable();
        feature_syms.dedup();

        fn named<'b>(strings: &'b [String], marked: &[bool]) -> Vec<&'b str> {
            let marked = strings.iter().zip(marked);
            marked
                .filter_map(|(s, &m)| m.then_some(s.as_str()))
                .collect()
        }
        self.cache_names(Names::User, named(&batch.strings, &user_syms))
            .await?;
        self.cache_names(Names::Host, named(&batch.strings, &host_syms))
            .await?;
        let mut users = vec![0; n];
        let mut hosts = vec![0; n];
        let mut distinct: [BTreeSet<i64>; 3] = Default::default();
        for (sym, name) in batch.strings.iter().enumerate() {
            if user_syms[sym] {
                users[sym] = self.name_id(Names::User, name).await?;
                distinct[0].insert(users[sym]);
            }
            if host_syms[sym] {
                hosts[sym] = self.name_id(Names::Host, name).await?;
                distinct[1].insert(hosts[sym]);
            }
        }
        let mut features = HashMap::with_capacity(feature_syms.len());
        for (vendor, name) in feature_syms {
            let id = self
                .feature_id(server, batch.str(vendor), batch.str(name))
                .await?;
            features.insert((vendor, name), id);
            distinct[2].insert(id);
        }
        Ok(BatchIds {
            users,
            hosts,
            features,
            distinct,
        })
    }

    /// Caches the ids of `all` (user or host names), creating the missing ones: one statement
    /// for every name new to this process rather than one each (a first poll of a busy server
    /// names hundreds).
    pub(crate) async fn cache_names<'n>(
        &mut self,
        names: Names,
        all: impl IntoIterator<Item = &'n str>,
    ) -> Result<(), StoreError> {
        let (cache, table) = match names {
            Names::User => (&self.users, &USER_NAMES),
            Names::Host => (&self.hosts, &HOST_NAMES),
        };
        let mut new: Vec<&str> = all
            .into_iter()
            .filter(|n| !cache.contains_key(*n))
            .collect();
        if new.is_empty() {
            return Ok(());
        }
        // PostgreSQL refuses to upsert one row twice in a statement.
        new.sort_unstable();
        new.dedup();
        let upsert = self.conn.kind().upsert("name", &["name"]);
        let rows = insert_returning(
            &mut self.conn,
            table,
            &new,
            &format!("{upsert} RETURNING id, name"),
            |p, name| p.add(*name),
        )
        .await?;
        let cache = match names {
            Names::User => &mut self.users,
            Names::Host => &mut self.hosts,
        };
        for r in &rows {
            cache.insert(r.get(1)?, r.get(0)?);
        }
        Ok(())
    }

    /// The id of a user or host name, created if new.
    pub(crate) async fn name_id(&mut self, names: Names, name: &str) -> Result<i64, StoreError> {
        let (cache, table) = match names {
            Names::User => (&mut self.users, "\"user\""),
            Names::Host => (&mut self.hosts, "host"),
        };
        if let Some(&id) = cache.get(name) {
            return Ok(id);
        }
        // One statement per name new to this process: names repeat, so this is rare.
        let upsert = self.conn.kind().upsert("name", &["name"]);
        let id: i64 = query_built(format!(
            "INSERT INTO {table} (name) VALUES (?) {upsert} RETURNING id"
        ))
        .bind(name)
        .scalar(&mut self.conn)
        .await?;
        cache.insert(name.to_string(), id);
        Ok(id)
    }

    /// The id of a server's feature, created if new.
    pub(crate) async fn feature_id(
        &mut self,
        server: ServerId,
        vendor: &str,
        name: &str,
    ) -> Result<i64, StoreError> {
        let key = (server, vendor.to_string(), name.to_string());
        if let Some(&id) = self.features.get(&key) {
            return Ok(id);
        }
        let upsert = self
            .conn
            .kind()
            .upsert("server_id, vendor, name", &["name"]);
        let id: i64 = query_built(format!(
            "INSERT INTO feature (server_id, vendor, name) VALUES (?, ?, ?) {upsert} RETURNING id"
        ))
        .bind(server)
        .bind(vendor)
        .bind(name)
        .scalar(&mut self.conn)
        .await?;
        self.features.insert(key, id);
        Ok(id)
    }
}

/// The two tables of names.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Names {
    User,
    Host,
}

/// Database ids for the names a batch uses, indexed by `Sym`.
struct BatchIds {
    users: Vec<i64>,
    hosts: Vec<i64>,
    features: HashMap<(Sym, Sym), i64>,
    /// The distinct ids of users, hosts and features.
    distinct: [BTreeSet<i64>; 3],
}

/// Fails unless every row a batch's facts refer to exists: its server, its run, and the users,
/// hosts and features it resolved (from the writer's caches: another process may have removed
/// a server since). What the foreign keys would check row by row, once per batch.
async fn check_ids(
    conn: &mut Conn,
    server: ServerId,
    run: RunId,
    ids: &BatchIds,
) -> Result<(), StoreError> {
    let tables = [
        ("\"user\"", &ids.distinct[0]),
        ("host", &ids.distinct[1]),
        ("feature", &ids.distinct[2]),
        ("license_server", &BTreeSet::from([server])),
        ("import_run", &BTreeSet::from([run])),
    ];
    for (table, ids) in tables {
        let ids: Vec<i64> = ids.iter().copied().collect();
        for chunk in ids.chunks(rollups::FEATURES_PER_STATEMENT) {
            let mut q = query_built(format!(
                "SELECT count(*) FROM {table} WHERE id IN ({})",
                rollups::placeholders(chunk.len())
            ));
            for &id in chunk {
                q = q.bind(id);
            }
            let found: i64 = q.scalar(&mut *conn).await?;
            if found != chunk.len() as i64 {
                return Err(StoreError::Inconsistent(format!(
                    "a row of {table} this import refers to was removed while it ran"
                )));
            }
        }
    }
    Ok(())
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
