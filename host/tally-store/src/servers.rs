//! License servers as the operator configures them, their per-source statuses (seed `001`), and
//! what each poll records: a usage sample per feature, and sessions derived from consecutive
//! polls (tally-core `polls`), written in one transaction.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde::{Deserialize, Serialize};
use tally_core::clock::ClockSkew;
use tally_core::polls::{self, Open, Seen};
use tally_core::snapshot::ServerStatus;
use tally_core::status::polls_stopped;
use tally_core::{
    EndReason, ImportStatus, PollResult, Polled, RemoteState, RemoteStatus, Snapshot,
};

use tally_core::rollup::SessionFact;

use crate::db::{Conn, Row, Table, insert, insert_returning, query, query_built};
use crate::poll_rollups;
use crate::rollups::{self, Written};
use crate::writer::{Names, Writer, now};
use crate::{ServerId, Store, StoreError};

/// What the operator says about a license server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    pub name: String,
    /// The license manager: `flexlm`, `rlm`, `lmx`, …
    pub manager: String,
    /// The vendor daemon monitored, when one is named (denials-only imports must match it).
    #[serde(default)]
    pub vendor: Option<String>,
    #[serde(default)]
    pub host: Option<String>,
    #[serde(default)]
    pub port: Option<u16>,
    /// Poller format; `None`: the server is not polled (Remote N/A).
    #[serde(default)]
    pub poll_format: Option<String>,
    /// Seconds between polls.
    #[serde(default = "default_interval")]
    pub query_interval: u32,
    /// Log format of the followed files; `None`: detected per file.
    #[serde(default)]
    pub import_format: Option<String>,
    /// Log files or directories followed as they grow.
    #[serde(default)]
    pub follow: Vec<String>,
    /// The server's offset from UTC in seconds (its logs are in local time).
    #[serde(default)]
    pub utc_offset: Option<i32>,
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn default_interval() -> u32 {
    60
}

fn yes() -> bool {
    true
}

impl ServerConfig {
    /// A server known only from imports of its logs.
    pub fn imported(name: &str, manager: &str) -> ServerConfig {
        ServerConfig {
            name: name.into(),
            manager: manager.into(),
            vendor: None,
            host: None,
            port: None,
            poll_format: None,
            query_interval: default_interval(),
            import_format: None,
            follow: vec![],
            utc_offset: None,
            enabled: true,
        }
    }

    /// Statuses right after the server is created or changed (decided by `tally_core::status`).
    fn fresh_statuses(&self) -> (RemoteStatus, ImportStatus) {
        tally_core::status::fresh(self.enabled, self.poll_format.is_some())
    }
}

/// A license server with its current statuses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Server {
    pub id: ServerId,
    #[serde(flatten)]
    pub config: ServerConfig,
    /// As stored; see [`Server::remote_status_now`] for what to show.
    pub remote_status: RemoteStatus,
    pub remote_reason: Option<String>,
    pub import_status: ImportStatus,
    pub import_reason: Option<String>,
    pub last_poll: Option<i64>,
    /// When an import of its logs last wrote (or started).
    pub last_import: Option<i64>,
    /// Left out of the grid (its history stays).
    pub hidden: bool,
    /// Its clock against Tally's, as measured so far (`tally_core::clock`); `None` before any
    /// of its time stamps was seen.
    pub clock: Option<ClockSkew>,
    /// Its time zone (`Store::set_time_zone`): an IANA name or a `+HH:MM` offset.
    pub time_zone: Option<String>,
}

impl Server {
    /// The Remote status to show now: Unmonitored when polls stopped (Tally was not running).
    pub fn remote_status_now(&self) -> RemoteStatus {
        self.remote_status
            .at(self.last_poll, i64::from(self.config.query_interval), now())
    }
}

/// What one recorded poll changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PollCounts {
    pub samples: u64,
    pub opened: u64,
    pub closed: u64,
    /// The hourly rollups were extended by this poll's interval in place, or are to be at
    /// the hour's end (`poll_rollups.rs`), rather than recomputed from the facts.
    pub extended: bool,
}

const SERVER_COLUMNS: &str = "SELECT id, name, manager, vendor, host, port, poll_format, query_interval, import_format,
    follow, utc_offset, enabled, remote_status, remote_reason, import_status, import_reason, last_poll, hidden,
    (SELECT MAX(r.updated_at) FROM import_run r WHERE r.server_id = license_server.id), time_zone,
    clock.at_least, clock.at_most, clock.observations, clock.stepped, clock.as_of
    FROM license_server LEFT JOIN server_clock clock ON clock.server_id = license_server.id";

fn server(r: &Row) -> Result<Server, StoreError> {
    Ok(Server {
        id: r.get(0)?,
        config: ServerConfig {
            name: r.get(1)?,
            manager: r.get(2)?,
            vendor: r.get(3)?,
            host: r.get(4)?,
            port: r.get::<Option<i64>>(5)?.and_then(|p| u16::try_from(p).ok()),
            poll_format: r.get(6)?,
            query_interval: u32::try_from(r.get::<i64>(7)?).unwrap_or(60),
            import_format: r.get(8)?,
            follow: serde_json::from_str(&r.get::<String>(9)?).unwrap_or_default(),
            utc_offset: r
                .get::<Option<i64>>(10)?
                .and_then(|o| i32::try_from(o).ok()),
            enabled: r.get(11)?,
        },
        remote_status: RemoteStatus::parse(&r.get::<String>(12)?)
            .unwrap_or(RemoteStatus::NotApplicable),
        remote_reason: r.get(13)?,
        import_status: ImportStatus::parse(&r.get::<String>(14)?)
            .unwrap_or(ImportStatus::NotApplicable),
        import_reason: r.get(15)?,
        hidden: r.get(17)?,
        last_poll: r.get(16)?,
        last_import: r.get(18)?,
        time_zone: r.get(19)?,
        clock: crate::clock::skew(r, 20)?,
    })
}

impl Store {
    pub async fn servers(&self) -> Result<Vec<Server>, StoreError> {
        let rows = query_built(format!("{SERVER_COLUMNS} ORDER BY name"))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(server).collect()
    }

    /// A number that changes whenever a server is added, edited or removed, by any process (a
    /// server an import creates by name has nothing to poll or follow until it is edited):
    /// read it before [`Store::servers`], and read the servers again when it changed.
    pub async fn config_version(&self) -> Result<i64, StoreError> {
        query("SELECT version FROM config_version")
            .scalar(self.pool())
            .await
    }

    pub async fn server(&self, name: &str) -> Result<Option<Server>, StoreError> {
        let row = query_built(format!("{SERVER_COLUMNS} WHERE name = ?"))
            .bind(name)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(server).transpose()
    }

    pub async fn server_by_id(&self, id: ServerId) -> Result<Server, StoreError> {
        let row = query_built(format!("{SERVER_COLUMNS} WHERE id = ?"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref()
            .map(server)
            .transpose()?
            .ok_or(StoreError::NoSuchServerId(id))
    }

    /// Adds a server; its name must be new.
    pub async fn add_server(&self, config: ServerConfig) -> Result<ServerId, StoreError> {
        self.write(move |w| {
            Box::pin(async move {
                let (remote, import) = config.fresh_statuses();
                let inserted = w
                    .transaction(async |w| {
                        let id: ServerId = query(
                            "INSERT INTO license_server (name, manager, created_at) VALUES (?, ?, ?) RETURNING id",
                        )
                        .bind(&config.name)
                        .bind(&config.manager)
                        .bind(now())
                        .scalar(&mut w.conn)
                        .await?;
                        write_config(&mut w.conn, id, &config, remote, import).await?;
                        Ok(id)
                    })
                    .await;
                match inserted {
                    Err(e) if e.is_unique_violation() => {
                        Err(StoreError::ServerExists(config.name.clone()))
                    }
                    other => other,
                }
            })
        })
        .await
    }

    /// Replaces a server's configuration (renaming it if `config.name` differs); its statuses
    /// start over (Verifying, Ready).
    pub async fn update_server(&self, name: &str, config: ServerConfig) -> Result<(), StoreError> {
        let name = name.to_string();
        self.write(move |w| {
            Box::pin(async move {
                let id: ServerId = query("SELECT id FROM license_server WHERE name = ?")
                    .bind(&name)
                    .scalar_optional(&mut w.conn)
                    .await?
                    .ok_or_else(|| StoreError::NoSuchServer(name.clone()))?;
                if config.name != name {
                    let taken: Option<i64> = query("SELECT id FROM license_server WHERE name = ?")
                        .bind(&config.name)
                        .scalar_optional(&mut w.conn)
                        .await?;
                    if taken.is_some() {
                        return Err(StoreError::ServerExists(config.name.clone()));
                    }
                }
                let (remote, import) = config.fresh_statuses();
                write_config(&mut w.conn, id, &config, remote, import).await
            })
        })
        .await
    }

    /// Deletes a server and its whole history.
    pub async fn remove_server(&self, name: &str) -> Result<(), StoreError> {
        let name = name.to_string();
        self.write(move |w| {
            Box::pin(async move {
                let id = w
                    .transaction(async |w| {
                        let id: ServerId = query("SELECT id FROM license_server WHERE name = ?")
                            .bind(&name)
                            .scalar_optional(&mut w.conn)
                            .await?
                            .ok_or_else(|| StoreError::NoSuchServer(name.clone()))?;
                        query(
                            "DELETE FROM import_diagnostic WHERE import_run_id IN (SELECT id FROM import_run WHERE server_id = ?)",
                        )
                        .bind(id)
                        .execute(&mut w.conn)
                        .await?;
                        for table in SERVER_TABLES {
                            query_built(format!("DELETE FROM {table} WHERE server_id = ?"))
                                .bind(id)
                                .execute(&mut w.conn)
                                .await?;
                        }
                        query("DELETE FROM license_server WHERE id = ?")
                            .bind(id)
                            .execute(&mut w.conn)
                            .await?;
                        config_changed(&mut w.conn).await?;
                        Ok(id)
                    })
                    .await?;
                w.features.retain(|k, _| k.0 != id);
                w.open.remove(&id);
                w.features_said.remove(&id);
                w.daemons_said.remove(&id);
                w.rolled.remove(&id);
                Ok(())
            })
        })
        .await
    }

    /// Hides a server from the grid, or shows it again.
    pub async fn set_hidden(&self, name: &str, hidden: bool) -> Result<(), StoreError> {
        let name = name.to_string();
        self.write(move |w| {
            Box::pin(async move {
                let changed = query("UPDATE license_server SET hidden = ? WHERE name = ?")
                    .bind(hidden)
                    .bind(&name)
                    .execute(&mut w.conn)
                    .await?;
                if changed == 0 {
                    return Err(StoreError::NoSuchServer(name));
                }
                Ok(())
            })
        })
        .await
    }

    /// Sets a server's Import status (after an import, or when following fails).
    pub async fn set_import_status(
        &self,
        server: ServerId,
        status: ImportStatus,
        reason: Option<String>,
    ) -> Result<(), StoreError> {
        self.write(move |w| {
            Box::pin(async move {
                query(
                    "UPDATE license_server SET import_status = ?, import_reason = ? WHERE id = ?",
                )
                .bind(status.as_str())
                .bind(reason)
                .bind(server)
                .execute(&mut w.conn)
                .await?;
                Ok(())
            })
        })
        .await
    }

    /// Records one poll of `server` taken at `at`, in one transaction: the Remote status the
    /// poll left (decided by `tally_core::status::after_poll`), feature samples, and sessions
    /// that started or ended since the previous poll.
    pub async fn record_poll(
        &self,
        server: ServerId,
        at: i64,
        polled: Polled,
    ) -> Result<PollCounts, StoreError> {
        let Polled { result, remote } = polled;
        self.write(move |w| {
            Box::pin(async move {
                w.transaction(async |w| record_poll(w, server, at, &result, remote).await)
                    .await
            })
        })
        .await
    }
}

/// A vendor daemon as the latest answered poll of its server showed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VendorDaemonRow {
    pub server_id: ServerId,
    pub name: String,
    /// `up`, `down` or `unknown`.
    pub status: String,
    pub version: Option<String>,
    pub message: Option<String>,
}

impl Store {
    /// The vendor daemons of every server (or of `server`), by server and name.
    pub async fn vendor_daemons(
        &self,
        server: Option<ServerId>,
    ) -> Result<Vec<VendorDaemonRow>, StoreError> {
        let rows = query(
            "SELECT server_id, name, status, version, message FROM vendor_daemon
             WHERE (? IS NULL OR server_id = ?) ORDER BY server_id, name",
        )
        .bind(server)
        .bind(server)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(VendorDaemonRow {
                    server_id: r.get(0)?,
                    name: r.get(1)?,
                    status: r.get(2)?,
                    version: r.get(3)?,
                    message: r.get(4)?,
                })
            })
            .collect()
    }
}

/// Tables holding a server's history, emptied when it is removed (children first).
const SERVER_TABLES: [&str; 27] = [
    "poll_lease",
    "import_claim",
    "capacity",
    "day_rollup",
    "user_day",
    "month_rollup",
    "user_month",
    "user_month_total",
    "host_month_total",
    "poll_open_month",
    "month_cell",
    "year_cell",
    "server_clock",
    "vendor_daemon",
    "server_manager_version",
    "hour_rollup",
    "poll_span",
    "user_hour",
    "long_session",
    "session",
    "denial",
    "queued_request",
    "server_event",
    "usage_sample",
    "open_checkout",
    "import_run",
    "feature",
];

/// A stored licence count (never negative, never above `u32::MAX` when written).
pub(crate) fn count(n: i64) -> u32 {
    u32::try_from(n).unwrap_or(0)
}

async fn write_config(
    conn: &mut Conn,
    id: ServerId,
    c: &ServerConfig,
    remote: RemoteStatus,
    import: ImportStatus,
) -> Result<(), StoreError> {
    query(
        "UPDATE license_server SET name = ?, manager = ?, vendor = ?, host = ?, port = ?, poll_format = ?,
            query_interval = ?, import_format = ?, follow = ?, utc_offset = ?, enabled = ?,
            remote_status = ?, remote_reason = NULL, import_status = ?, import_reason = NULL, updated_at = ?
         WHERE id = ?",
    )
    .bind(&c.name)
    .bind(&c.manager)
    .bind(&c.vendor)
    .bind(&c.host)
    .bind(c.port.map(i64::from))
    .bind(&c.poll_format)
    .bind(i64::from(c.query_interval))
    .bind(&c.import_format)
    .bind(serde_json::to_string(&c.follow).unwrap_or_else(|_| "[]".into()))
    .bind(c.utc_offset.map(i64::from))
    .bind(c.enabled)
    .bind(remote.as_str())
    .bind(import.as_str())
    .bind(now())
    .bind(id)
    .execute(&mut *conn)
    .await?;
    config_changed(conn).await
}

/// Bumps the configuration version after a change (in the change's transaction, or after it:
/// a reader that sees the new version sees the change).
async fn config_changed(conn: &mut Conn) -> Result<(), StoreError> {
    query("UPDATE config_version SET version = version + 1")
        .execute(conn)
        .await?;
    Ok(())
}

/// What a poll said of a feature: its `feature` row but for `last_seen`, which is therefore
/// the time of the last poll that changed the row.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct FeatureSaid {
    vendor: String,
    name: String,
    issued: Option<u32>,
    expiry: Option<i64>,
    kind: Option<&'static str>,
    version: Option<String>,
    /// Licenses reserved for someone, borrowed (checked out to run disconnected), and the
    /// pools summed into `issued`.
    reserved: u32,
    borrowed: u32,
    pools: u32,
}

/// A checkout's identity across polls.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct CheckoutKey {
    feature: i64,
    user: i64,
    host: i64,
    display: String,
    handle: String,
}

/// An open checkout as stored, with its row id. It counts until its server's last poll.
#[derive(Debug, Clone)]
pub(crate) struct StoredOpen {
    id: i64,
    open: Open<CheckoutKey>,
}

const POLL_SESSION: Table = Table {
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
        "source",
    ],
    copy: false,
};

const USAGE_SAMPLE: Table = Table {
    name: "usage_sample",
    cols: &[
        "server_id",
        "feature_id",
        "time",
        "issued",
        "in_use",
        "queued",
    ],
    copy: false,
};

const OPEN_CHECKOUT: Table = Table {
    name: "open_checkout",
    cols: &[
        "server_id",
        "feature_id",
        "user_id",
        "host_id",
        "display",
        "handle",
        "count",
        "start",
    ],
    copy: false,
};

const FEATURE_SEEN: Table = Table {
    name: "feature",
    cols: &[
        "server_id",
        "vendor",
        "name",
        "issued",
        "expiry",
        "kind",
        "version",
        "reserved",
        "borrowed",
        "pools",
        "last_seen",
    ],
    copy: false,
};

/// Runs inside a transaction.
async fn record_poll(
    w: &mut Writer,
    server: ServerId,
    at: i64,
    result: &PollResult,
    remote: RemoteState,
) -> Result<PollCounts, StoreError> {
    let mut counts = PollCounts::default();
    // Sessions and open checkouts whose hours change: re-rolled at the end.
    let mut changed: Vec<SessionFact> = Vec::new();
    let row = query("SELECT last_poll, query_interval, rolled_to FROM license_server WHERE id = ?")
        .bind(server)
        .fetch_optional(&mut w.conn)
        .await?
        .ok_or(StoreError::NoSuchServerId(server))?;
    let (last_poll, interval, rolled_to): (Option<i64>, i64, Option<i64>) =
        (row.get(0)?, row.get(1)?, row.get(2)?);
    // Where the rollups stand, if this writer's copy is of the server's last poll.
    let mut roll = Roll {
        to: rolled_to,
        ended: w
            .rolled
            .remove(&server)
            .filter(|r| Some(r.polled) == last_poll && Some(r.to) == rolled_to)
            .map(|r| r.ended),
        written: BTreeSet::new(),
    };

    // Polls stopped for a while (Tally was not running): what was open ended unobserved.
    let gap = last_poll.filter(|&t| polls_stopped(t, interval, at));
    if let Some(since) = gap {
        counts.closed += close_all(
            w,
            server,
            last_poll,
            since,
            EndReason::MonitorStopped,
            &mut changed,
        )
        .await?;
        query("INSERT INTO server_event (server_id, time, kind, daemon, text) VALUES (?, ?, 'other', 'tally', ?)")
            .bind(server)
            .bind(since)
            .bind(format!(
                "not monitored from {} to {}",
                tally_core::time::rfc3339(since),
                tally_core::time::rfc3339(at)
            ))
            .execute(&mut w.conn)
            .await?;
    }
    let previous = if gap.is_some() { None } else { last_poll };
    if previous.is_none() {
        roll.ended = None;
    }
    let seen_since = match result {
        PollResult::Answered(snapshot) if snapshot.status() == ServerStatus::Up => {
            snapshot.checkouts.iter().filter_map(|c| c.start).min()
        }
        _ => None,
    };
    crate::logged::record_poll(&mut w.conn, server, last_poll, at, interval, seen_since).await?;

    match result {
        PollResult::Failed(_) => {
            // What is open stays open until an answer says otherwise (its session will end no
            // earlier than now): it counts up to this poll too.
            let stored = open_checkouts(w, server, last_poll).await?;
            let open: Vec<SessionFact> = stored
                .iter()
                .map(|s| fact(server, &s.open, s.open.start, at))
                .collect();
            let features = open.iter().map(|f| f.feature).collect();
            match extendable(w, &mut roll, at, &features, false).await? {
                Some((from, mut ended)) => {
                    let (to, months) =
                        poll_rollups::extend(&mut w.conn, from, &mut ended, at, &[], &open, &[])
                            .await?;
                    roll.done(to, ended);
                    roll.written.extend(months);
                    counts.extended = true;
                }
                None => {
                    changed.extend(open.iter().map(|f| since(f, roll.to)));
                    roll.done(at, vec![]);
                }
            }
            w.open.insert(server, (at, stored));
        }
        PollResult::Answered(snapshot) if snapshot.status() != ServerStatus::Up => {
            // The manager says the server is down: its checkouts are gone with it.
            counts.closed += close_all(
                w,
                server,
                last_poll,
                at,
                EndReason::ServerRestart,
                &mut changed,
            )
            .await?;
            roll.done(at, vec![]);
            w.open.insert(server, (at, vec![]));
        }
        PollResult::Answered(snapshot) => {
            let open = record_snapshot(
                w,
                server,
                at,
                (last_poll, previous),
                snapshot,
                &mut roll,
                &mut counts,
                &mut changed,
            )
            .await?;
            w.open.insert(server, (at, open));
        }
    }
    if let PollResult::Answered(snapshot) = result {
        record_daemons(w, server, (last_poll, at), snapshot).await?;
    }
    let (to, ended) = roll
        .ended
        .map_or((at, vec![]), |e| (roll.to.unwrap_or(at), e));
    query(
        "UPDATE license_server SET remote_status = ?, remote_reason = ?, last_poll = ?, rolled_to = ? WHERE id = ?",
    )
    .bind(remote.status.as_str())
    .bind(remote.reason)
    .bind(at)
    .bind(to)
    .bind(server)
    .execute(&mut w.conn)
    .await?;
    rollups::reroll(&mut w.conn, &mut w.sql, &changed, &[]).await?;
    // Month rows written in place leave their user and host totals behind: the month the rows
    // stand in stays open (polls write from `to` on), those before it are final and folded.
    if !roll.written.is_empty() {
        crate::totals::after_poll(&mut w.conn, server, to, std::mem::take(&mut roll.written))
            .await?;
    }
    w.rolled.insert(
        server,
        poll_rollups::Rolled {
            polled: at,
            to,
            ended,
        },
    );
    Ok(counts)
}

/// Where a server's rollups stand during a poll: written up to `to` for what is open, and the
/// parts after it of the sessions ended since, when this writer knows them (`None`: the poll
/// recomputes its hours, and they stand at the poll after it).
struct Roll {
    to: Option<i64>,
    ended: Option<Vec<SessionFact>>,
    /// Months whose `user_month` rows this poll wrote in place (`poll_rollups::extend`).
    written: BTreeSet<i64>,
}

impl Roll {
    fn done(&mut self, to: i64, ended: Vec<SessionFact>) {
        (self.to, self.ended) = (Some(to), Some(ended));
    }
}

/// Replaces what the server's vendor daemons were said to be with what this answer says,
/// unless it says what this writer wrote at the server's last poll (`last_poll`; most answers).
async fn record_daemons(
    w: &mut Writer,
    server: ServerId,
    (last_poll, at): (Option<i64>, i64),
    snapshot: &Snapshot,
) -> Result<(), StoreError> {
    let mut daemons: BTreeMap<&str, &tally_core::snapshot::VendorDaemon> = BTreeMap::new();
    for d in snapshot.servers.iter().flat_map(|s| &s.vendor_daemons) {
        // A triad lists each daemon once per member: one that is up wins.
        let up = d.status == ServerStatus::Up;
        daemons
            .entry(&d.name)
            .and_modify(|kept| {
                if up && kept.status != ServerStatus::Up {
                    *kept = d;
                }
            })
            .or_insert(d);
    }
    let said: Vec<DaemonSaid> = daemons
        .values()
        .map(|d| DaemonSaid {
            name: d.name.clone(),
            status: d.status.as_str(),
            version: d.version.clone(),
            message: d.message.clone(),
        })
        .collect();
    let unchanged = w
        .daemons_said
        .get(&server)
        .is_some_and(|(said_at, before)| Some(*said_at) == last_poll && *before == said);
    if !unchanged {
        query("DELETE FROM vendor_daemon WHERE server_id = ?")
            .bind(server)
            .execute(&mut w.conn)
            .await?;
        for d in &said {
            query(
                "INSERT INTO vendor_daemon (server_id, name, status, version, message) VALUES (?, ?, ?, ?, ?)",
            )
            .bind(server)
            .bind(&d.name)
            .bind(d.status)
            .bind(&d.version)
            .bind(&d.message)
            .execute(&mut w.conn)
            .await?;
        }
    }
    w.daemons_said.insert(server, (at, said));
    Ok(())
}

/// A vendor daemon as an answer showed it: its `vendor_daemon` row.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct DaemonSaid {
    name: String,
    status: &'static str,
    version: Option<String>,
    message: Option<String>,
}

/// Returns what is open after the poll. Given the server's last poll, and the previous poll to
/// count on from (`None` after a gap).
async fn record_snapshot(
    w: &mut Writer,
    server: ServerId,
    at: i64,
    (last_poll, previous): (Option<i64>, Option<i64>),
    snapshot: &Snapshot,
    roll: &mut Roll,
    counts: &mut PollCounts,
    changed: &mut Vec<SessionFact>,
) -> Result<Vec<StoredOpen>, StoreError> {
    // Features: one sample each, pools summed.
    let mut features: BTreeMap<(&str, &str), (Option<u32>, u32, u32)> = BTreeMap::new();
    for f in &snapshot.features {
        let e = features
            .entry((&f.vendor, &f.name))
            .or_insert((Some(0), 0, 0));
        e.0 = e.0.zip(f.issued).map(|(a, b)| a + b);
        e.1 += f.in_use;
    }
    for q in &snapshot.queued {
        features
            .entry((&q.vendor, &q.feature))
            .or_insert((Some(0), 0, 0))
            .2 += q.count;
    }
    for c in &snapshot.checkouts {
        features
            .entry((&c.vendor, &c.feature))
            .or_insert((Some(0), 0, 0));
    }
    let listed: Vec<_> = features.iter().collect();

    // What the poll says of each feature, and its id: one upsert for all, unless it says what
    // this writer wrote at the server's last poll (most polls: issued counts rarely change).
    let said: Vec<FeatureSaid> = listed
        .iter()
        .map(|&(&(vendor, name), &(issued, _, _))| {
            let detail = snapshot
                .features
                .iter()
                .find(|f| f.vendor == vendor && f.name == name);
            let of_feature = |f: &str, v: &str| f == name && v == vendor;
            FeatureSaid {
                reserved: snapshot
                    .reservations
                    .iter()
                    .filter(|r| of_feature(&r.feature, &r.vendor))
                    .map(|r| r.count)
                    .sum(),
                borrowed: snapshot
                    .checkouts
                    .iter()
                    .filter(|c| c.borrowed && of_feature(&c.feature, &c.vendor))
                    .map(|c| c.count)
                    .sum(),
                pools: snapshot
                    .features
                    .iter()
                    .filter(|f| of_feature(&f.name, &f.vendor))
                    .count() as u32,
                vendor: vendor.to_string(),
                name: name.to_string(),
                issued,
                expiry: detail.and_then(|f| f.expiry),
                kind: detail.map(|f| f.kind.as_str()),
                version: detail.and_then(|f| f.version.clone()),
            }
        })
        .collect();
    let unchanged = w.features_said.remove(&server).filter(|(said_at, before)| {
        Some(*said_at) == last_poll && before.iter().map(|(f, _)| f).eq(said.iter())
    });
    let ids: Vec<i64> = match unchanged {
        Some((_, before)) => before.iter().map(|&(_, id)| id).collect(),
        None => {
            let upsert = w.conn.kind().upsert(
                "server_id, vendor, name",
                &[
                    "issued",
                    "expiry",
                    "kind",
                    "version",
                    "reserved",
                    "borrowed",
                    "pools",
                    "last_seen",
                ],
            );
            let rows = crate::db::insert_returning(
                &mut w.conn,
                &FEATURE_SEEN,
                &said,
                &format!("{upsert} RETURNING id, vendor, name"),
                |p, f| {
                    p.add(server);
                    p.add(&f.vendor);
                    p.add(&f.name);
                    p.add(f.issued.map(i64::from));
                    p.add(f.expiry);
                    p.add(f.kind);
                    p.add(f.version.as_deref());
                    p.add(i64::from(f.reserved));
                    p.add(i64::from(f.borrowed));
                    p.add(i64::from(f.pools));
                    p.add(at);
                },
            )
            .await?;
            let mut returned: HashMap<(String, String), i64> = HashMap::with_capacity(rows.len());
            for r in &rows {
                let (id, vendor, name): (i64, String, String) = (r.get(0)?, r.get(1)?, r.get(2)?);
                w.features
                    .insert((server, vendor.clone(), name.clone()), id);
                returned.insert((vendor, name), id);
            }
            said.iter()
                .map(|f| {
                    returned
                        .get(&(f.vendor.clone(), f.name.clone()))
                        .copied()
                        .ok_or_else(|| {
                            StoreError::Inconsistent(format!(
                                "feature {}/{} has no id",
                                f.vendor, f.name
                            ))
                        })
                })
                .collect::<Result<_, _>>()?
        }
    };
    let by_name: HashMap<(&str, &str), i64> = listed
        .iter()
        .map(|&(&key, _)| key)
        .zip(ids.iter().copied())
        .collect();
    w.features_said
        .insert(server, (at, said.into_iter().zip(ids).collect()));
    let feature = |vendor: &str, name: &str| {
        by_name
            .get(&(vendor, name))
            .copied()
            .ok_or_else(|| StoreError::Inconsistent(format!("feature {vendor}/{name} has no id")))
    };

    let samples = listed
        .iter()
        .map(|&(&(vendor, name), &(issued, in_use, queued))| {
            Ok((feature(vendor, name)?, issued, in_use, queued))
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    insert(
        &mut w.conn,
        &mut w.sql,
        &USAGE_SAMPLE,
        &samples,
        |p, &(id, issued, in_use, queued)| {
            p.add(server);
            p.add(id);
            p.add(at);
            p.add(issued.map(i64::from));
            p.add(i64::from(in_use));
            p.add(i64::from(queued));
        },
    )
    .await?;
    counts.samples += samples.len() as u64;

    // Checkouts against what was open.
    let holders = snapshot.checkouts.iter();
    w.cache_names(Names::User, holders.clone().map(|c| c.user.as_str()))
        .await?;
    w.cache_names(Names::Host, holders.map(|c| c.host.as_str()))
        .await?;
    let mut seen = Vec::with_capacity(snapshot.checkouts.len());
    for c in &snapshot.checkouts {
        let user = w.name_id(Names::User, &c.user).await?;
        let host = w.name_id(Names::Host, &c.host).await?;
        let key = CheckoutKey {
            feature: feature(&c.vendor, &c.feature)?,
            user,
            host,
            display: c.display.clone().unwrap_or_default(),
            handle: c.handle.clone().unwrap_or_default(),
        };
        seen.push(Seen {
            key,
            count: c.count,
            start: c.start,
        });
    }
    let stored = open_checkouts(w, server, last_poll).await?;
    let features = stored
        .iter()
        .map(|s| s.open.key.feature)
        .chain(seen.iter().map(|s| s.key.feature))
        .collect();
    let mut row_ids: HashMap<(CheckoutKey, u32, i64), Vec<i64>> = HashMap::new();
    for s in &stored {
        row_ids
            .entry((s.open.key.clone(), s.open.count, s.open.start))
            .or_default()
            .push(s.id);
    }
    let diff = polls::diff(
        stored.iter().map(|s| s.open.clone()).collect(),
        seen,
        previous,
        at,
    );
    // New checkouts reported starting where the rows stand or at this poll: an instant there
    // (`poll_rollups::extend`), recomputed instead at the poll that writes all that is open.
    let new: Vec<SessionFact> = diff
        .opened
        .iter()
        .filter(|o| roll.to.is_some_and(|r| o.start <= r || o.start == at))
        .map(|o| fact(server, o, o.start, at))
        .collect();
    if !new.is_empty() && roll.to.is_some_and(|r| poll_rollups::writes(r, at, false)) {
        roll.ended = None;
    }
    let extend_from = extendable(w, roll, at, &features, !diff.closed.is_empty()).await?;
    let gone: HashSet<i64> = diff
        .closed
        .iter()
        .filter_map(|o| {
            row_ids
                .get_mut(&(o.key.clone(), o.count, o.start))
                .and_then(Vec::pop)
        })
        .collect();
    delete_open(&mut w.conn, &gone.iter().copied().collect::<Vec<_>>()).await?;
    let mut open: Vec<StoredOpen> = stored
        .into_iter()
        .filter(|s| !gone.contains(&s.id))
        .collect();
    let closed = insert_sessions(w, server, &diff.closed, at, EndReason::Checkin).await?;
    // Open checkouts count until this poll: new ones from their start, kept ones from the
    // previous poll (counted up to there already).
    let opened = diff.opened.iter().map(|o| fact(server, o, o.start, at));
    match extend_from {
        Some((from, mut ended)) => {
            let open: Vec<SessionFact> = diff
                .kept
                .iter()
                .map(|o| fact(server, o, o.start, at))
                .chain(opened)
                .collect();
            let (to, months) =
                poll_rollups::extend(&mut w.conn, from, &mut ended, at, &closed, &open, &new)
                    .await?;
            roll.done(to, ended);
            roll.written.extend(months);
            counts.extended = true;
        }
        None => {
            changed.extend(closed);
            changed.extend(opened);
            changed.extend(
                diff.kept
                    .iter()
                    .map(|o| since(&fact(server, o, o.start, at), roll.to)),
            );
            roll.done(at, vec![]);
        }
    }
    let inserted = insert_returning(
        &mut w.conn,
        &OPEN_CHECKOUT,
        &diff.opened,
        &format!("RETURNING {OPEN_COLUMNS}"),
        |p, o| {
            let k = &o.key;
            p.add(server);
            p.add(k.feature);
            p.add(k.user);
            p.add(k.host);
            p.add(&k.display);
            p.add(&k.handle);
            p.add(i64::from(o.count));
            p.add(o.start);
        },
    )
    .await?;
    for r in &inserted {
        open.push(stored_open(r)?);
    }
    counts.opened += diff.opened.len() as u64;
    counts.closed += diff.closed.len() as u64;
    Ok(open)
}

const OPEN_COLUMNS: &str = "id, feature_id, user_id, host_id, display, handle, count, start";

/// A server's open checkouts: as the writer keeps them after each poll, or read back when it
/// does not (a new process, a failed transaction) or its copy is not of the server's last poll
/// (another process polled it).
async fn open_checkouts(
    w: &mut Writer,
    server: ServerId,
    last_poll: Option<i64>,
) -> Result<Vec<StoredOpen>, StoreError> {
    match w.open.remove(&server) {
        Some((at, open)) if Some(at) == last_poll => return Ok(open),
        _ => {}
    }
    let rows = query_built(format!(
        "SELECT {OPEN_COLUMNS} FROM open_checkout WHERE server_id = ?"
    ))
    .bind(server)
    .fetch_all(&mut w.conn)
    .await?;
    rows.iter().map(stored_open).collect()
}

fn stored_open(r: &Row) -> Result<StoredOpen, StoreError> {
    Ok(StoredOpen {
        id: r.get(0)?,
        open: Open {
            key: CheckoutKey {
                feature: r.get(1)?,
                user: r.get(2)?,
                host: r.get(3)?,
                display: r.get(4)?,
                handle: r.get(5)?,
            },
            count: count(r.get(6)?),
            start: r.get(7)?,
        },
    })
}

/// Deletes open checkouts by row id.
async fn delete_open(conn: &mut Conn, ids: &[i64]) -> Result<(), StoreError> {
    for chunk in ids.chunks(crate::db::MAX_PARAMS) {
        let marks = vec!["?"; chunk.len()].join(", ");
        let mut q = query_built(format!("DELETE FROM open_checkout WHERE id IN ({marks})"));
        for &id in chunk {
            q = q.bind(id);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Where the rollups stand and the sessions ended since, when a poll at `at` with `features`
/// in view may extend them in place (`poll_rollups.rs`); `None` when its hours must be
/// recomputed (the first poll, polls resumed after a gap, a writer that did not poll the
/// server last, another fact in the interval). A poll that writes no rollup (no session
/// `ended`, the same hour) reads nothing: the poll that writes checks the whole interval.
async fn extendable(
    w: &mut Writer,
    roll: &mut Roll,
    at: i64,
    features: &BTreeSet<i64>,
    ended: bool,
) -> Result<Option<(i64, Vec<SessionFact>)>, StoreError> {
    match (roll.to.filter(|&p| p < at), roll.ended.take()) {
        (Some(p), Some(kept)) => {
            let alone = !poll_rollups::writes(p, at, ended)
                || poll_rollups::poll_alone(&mut w.conn, features, p, at).await?;
            Ok(alone.then_some((p, kept)))
        }
        _ => Ok(None),
    }
}

/// The part of an open checkout's fact after `previous`, where it was counted up to.
fn since(f: &SessionFact, previous: Option<i64>) -> SessionFact {
    SessionFact {
        start: previous.map_or(f.start, |p| p.max(f.start)),
        ..*f
    }
}

/// A checkout held over `[start, end)`, as rollups see it.
fn fact(server: ServerId, o: &Open<CheckoutKey>, start: i64, end: i64) -> SessionFact {
    SessionFact {
        server,
        feature: o.key.feature,
        user: o.key.user,
        host: o.key.host,
        count: o.count,
        start,
        end: end.max(start),
    }
}

/// Ends every open checkout of a server at `end`.
async fn close_all(
    w: &mut Writer,
    server: ServerId,
    last_poll: Option<i64>,
    end: i64,
    reason: EndReason,
    changed: &mut Vec<SessionFact>,
) -> Result<u64, StoreError> {
    let open: Vec<_> = open_checkouts(w, server, last_poll)
        .await?
        .into_iter()
        .map(|s| s.open)
        .collect();
    query("DELETE FROM open_checkout WHERE server_id = ?")
        .bind(server)
        .execute(&mut w.conn)
        .await?;
    changed.extend(insert_sessions(w, server, &open, end, reason).await?);
    Ok(open.len() as u64)
}

/// Sessions for checkouts that ended at `end`; returns them as rollups see them.
async fn insert_sessions(
    w: &mut Writer,
    server: ServerId,
    ended: &[Open<CheckoutKey>],
    end: i64,
    reason: EndReason,
) -> Result<Vec<SessionFact>, StoreError> {
    insert(&mut w.conn, &mut w.sql, &POLL_SESSION, ended, |p, o| {
        p.add(server);
        p.add(o.key.feature);
        p.add(o.key.user);
        p.add(o.key.host);
        p.add(i64::from(o.count));
        p.add(o.start);
        p.add(end.max(o.start));
        p.add(reason.as_str());
        p.add("poll");
    })
    .await?;
    let written: Vec<Written> = ended
        .iter()
        .map(|o| Written {
            fact: fact(server, o, o.start, end),
            end_reason: reason.as_str(),
            run: None,
        })
        .collect();
    rollups::list_long(&mut w.conn, &mut w.sql, &written).await?;
    Ok(written.iter().map(|w| w.fact).collect())
}
