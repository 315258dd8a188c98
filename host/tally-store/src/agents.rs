//! End-user agents as stored: enrolments, the reports applied (each id once), the applications
//! they watch, the End User sessions they saw and the harvests they carried out. What a report
//! means and whether to harvest is decided in `tally-app` and `tally-core`; a report is applied
//! here in one transaction with its id, so a report sent again is never applied twice.

use serde::Serialize;
use tally_core::harvest::{CpuHistory, CpuSample};

use tally_core::EndReason;
use tally_core::rollup::SessionFact;

use crate::db::{Conn, Row, query, query_built};
use crate::rollups::{self, Written};
use crate::writer::{Names, Writer};
use crate::{ServerId, Store, StoreError};

pub type AgentRowId = i64;

/// Report ids kept per agent: far more than an agent's queue holds (a week of reports), so a
/// report sent again is always recognised.
pub const REPORT_IDS_KEPT: u64 = 100_000;
/// CPU samples kept per session, whatever its policy's window (a window longer than this many
/// reports is judged on the newest of them).
pub const CPU_SAMPLES_KEPT: usize = 1_024;

/// An enrolled agent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgentRow {
    pub id: AgentRowId,
    pub host: String,
    pub os: String,
    pub version: String,
    pub enrolled: i64,
    pub last_seen: Option<i64>,
    /// When License Harvesting was enabled for it.
    pub harvesting_since: Option<i64>,
    /// The problems of its latest heartbeat.
    pub errors: Vec<String>,
    pub queued: u64,
    pub dropped: u64,
    pub reports: u64,
    pub duplicates: u64,
}

/// An application the agents watch.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WatchedRow {
    pub id: i64,
    pub name: String,
    /// `name` or `path`.
    pub match_kind: String,
    pub pattern: String,
    pub server_id: ServerId,
    pub server: String,
    pub feature: String,
    /// JSON of `tally_core::harvest::Policy`.
    pub policy: Option<String>,
}

/// A watched application to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewWatched {
    pub name: String,
    pub match_kind: String,
    pub pattern: String,
    pub server_id: ServerId,
    pub feature: String,
    pub policy: Option<String>,
}

/// An End User session: one watched process as the agents saw it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgentSessionRow {
    pub id: i64,
    pub agent_id: AgentRowId,
    pub server_id: ServerId,
    pub feature: String,
    pub application: String,
    pub user: Option<String>,
    pub host: String,
    pub pid: u32,
    pub started: i64,
    pub first_seen: i64,
    pub last_seen: i64,
    pub ended: Option<i64>,
    pub cpu_time_ms: u64,
    /// Hundredths of a percent of one core.
    pub cpu_centi: i64,
    pub input_idle_secs: Option<u64>,
    pub suspended: bool,
    #[serde(skip)]
    pub cpu_samples: Vec<CpuSample>,
    pub reports: u64,
    /// The license manager's open checkout it annotates; `None`: counted alone as End User.
    pub checkout_id: Option<i64>,
}

/// One watched process of a report, mapped to its license server and feature.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessWrite {
    pub server_id: ServerId,
    pub feature: String,
    pub application: String,
    pub user: Option<String>,
    pub pid: u32,
    pub started: i64,
    pub cpu_time_ms: u64,
    pub cpu: CpuSample,
    pub input_idle_secs: Option<u64>,
    pub suspended: bool,
    /// How much CPU history its harvesting policy needs, seconds.
    pub window_secs: u64,
}

/// The result of a harvest order as reported.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultWrite {
    pub order_id: i64,
    /// The outcome's kind (`killed`, `still-running`, …) and the reason of a failure.
    pub outcome: String,
    pub reason: Option<String>,
    pub time: i64,
    pub saved_secs: u64,
}

/// A report to apply.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportWrite {
    pub agent: AgentRowId,
    pub seq: u64,
    pub host: String,
    pub time: i64,
    pub received: i64,
    pub version: String,
    pub errors: Vec<String>,
    pub queued: u64,
    pub dropped: u64,
    pub processes: Vec<ProcessWrite>,
    pub results: Vec<ResultWrite>,
}

/// A harvest order as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrderRow {
    pub id: i64,
    pub agent_id: AgentRowId,
    pub session_id: i64,
    pub pid: u32,
    pub started: i64,
    pub application: String,
    pub method: String,
    /// JSON of the protocol's release method and reasons.
    pub release_json: String,
    pub reasons_json: String,
    pub ordered: i64,
    pub outcome: Option<String>,
}

/// An order to add.
#[derive(Debug, Clone, PartialEq)]
pub struct NewOrder {
    pub session_id: i64,
    pub method: String,
    pub release_json: String,
    pub reasons_json: String,
}

/// A harvest carried out (or recorded, for a dry run).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HarvestEventRow {
    pub id: i64,
    pub order_id: i64,
    pub agent_id: AgentRowId,
    pub server: String,
    pub feature: String,
    pub application: String,
    pub user: Option<String>,
    pub host: String,
    pub pid: u32,
    pub method: String,
    pub outcome: String,
    pub reason: Option<String>,
    pub time: i64,
    pub saved_secs: u64,
}

const AGENT_COLUMNS: &str = "SELECT id, host, os, version, enrolled, last_seen, harvesting_since, errors, queued, dropped, reports, duplicates FROM agent";

fn agent(r: &Row) -> Result<AgentRow, StoreError> {
    let errors: String = r.get(7)?;
    Ok(AgentRow {
        id: r.get(0)?,
        host: r.get(1)?,
        os: r.get(2)?,
        version: r.get(3)?,
        enrolled: r.get(4)?,
        last_seen: r.get(5)?,
        harvesting_since: r.get(6)?,
        errors: serde_json::from_str(&errors)
            .map_err(|e| StoreError::Inconsistent(format!("agent errors: {e}")))?,
        queued: r.get_u64(8)?,
        dropped: r.get_u64(9)?,
        reports: r.get_u64(10)?,
        duplicates: r.get_u64(11)?,
    })
}

const WATCHED_COLUMNS: &str = "SELECT w.id, w.name, w.match_kind, w.pattern, w.server_id, s.name, w.feature, w.policy FROM watched_application w JOIN license_server s ON s.id = w.server_id";

fn watched(r: &Row) -> Result<WatchedRow, StoreError> {
    Ok(WatchedRow {
        id: r.get(0)?,
        name: r.get(1)?,
        match_kind: r.get(2)?,
        pattern: r.get(3)?,
        server_id: r.get(4)?,
        server: r.get(5)?,
        feature: r.get(6)?,
        policy: r.get(7)?,
    })
}

const SESSION_COLUMNS: &str = "SELECT id, agent_id, server_id, feature, application, user_name, host, pid, started, first_seen, last_seen, ended, cpu_time_ms, cpu_centi, input_idle_secs, suspended, cpu_samples, reports, checkout_id FROM agent_session";

fn session(r: &Row) -> Result<AgentSessionRow, StoreError> {
    let samples: String = r.get(16)?;
    Ok(AgentSessionRow {
        id: r.get(0)?,
        agent_id: r.get(1)?,
        server_id: r.get(2)?,
        feature: r.get(3)?,
        application: r.get(4)?,
        user: r.get(5)?,
        host: r.get(6)?,
        pid: u32::try_from(r.get::<i64>(7)?).unwrap_or(0),
        started: r.get(8)?,
        first_seen: r.get(9)?,
        last_seen: r.get(10)?,
        ended: r.get(11)?,
        cpu_time_ms: r.get_u64(12)?,
        cpu_centi: r.get(13)?,
        input_idle_secs: r
            .get::<Option<i64>>(14)?
            .map(|s| u64::try_from(s).unwrap_or(0)),
        suspended: r.get(15)?,
        cpu_samples: serde_json::from_str(&samples)
            .map_err(|e| StoreError::Inconsistent(format!("agent session CPU samples: {e}")))?,
        reports: r.get_u64(17)?,
        checkout_id: r.get(18)?,
    })
}

const ORDER_COLUMNS: &str = "SELECT o.id, o.agent_id, o.session_id, a.pid, a.started, a.application, o.method, o.release_json, o.reasons_json, o.ordered, o.outcome FROM harvest_order o JOIN agent_session a ON a.id = o.session_id";

fn order(r: &Row) -> Result<OrderRow, StoreError> {
    Ok(OrderRow {
        id: r.get(0)?,
        agent_id: r.get(1)?,
        session_id: r.get(2)?,
        pid: u32::try_from(r.get::<i64>(3)?).unwrap_or(0),
        started: r.get(4)?,
        application: r.get(5)?,
        method: r.get(6)?,
        release_json: r.get(7)?,
        reasons_json: r.get(8)?,
        ordered: r.get(9)?,
        outcome: r.get(10)?,
    })
}

fn event(r: &Row) -> Result<HarvestEventRow, StoreError> {
    Ok(HarvestEventRow {
        id: r.get(0)?,
        order_id: r.get(1)?,
        agent_id: r.get(2)?,
        server: r.get(3)?,
        feature: r.get(4)?,
        application: r.get(5)?,
        user: r.get(6)?,
        host: r.get(7)?,
        pid: u32::try_from(r.get::<i64>(8)?).unwrap_or(0),
        method: r.get(9)?,
        outcome: r.get(10)?,
        reason: r.get(11)?,
        time: r.get(12)?,
        saved_secs: r.get_u64(13)?,
    })
}

fn int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn samples_json(samples: &[CpuSample]) -> String {
    // Plain numbers: serialising cannot fail.
    serde_json::to_string(samples).unwrap_or_else(|_| "[]".into())
}

/// The open checkout on `server` of `feature` by `user` on `host` that no running End User
/// session annotates yet.
async fn matching_checkout(
    conn: &mut Conn,
    server: ServerId,
    feature: &str,
    user: &str,
    host: &str,
) -> Result<Option<i64>, StoreError> {
    query(
        "SELECT o.id FROM open_checkout o JOIN feature f ON f.id = o.feature_id
         JOIN \"user\" u ON u.id = o.user_id JOIN host h ON h.id = o.host_id
         WHERE o.server_id = ? AND f.name = ? AND u.name = ? AND h.name = ?
           AND NOT EXISTS (SELECT 1 FROM agent_session a WHERE a.checkout_id = o.id AND a.ended IS NULL)
         ORDER BY o.id LIMIT 1",
    )
    .bind(server)
    .bind(feature)
    .bind(user)
    .bind(host)
    .scalar_optional(conn)
    .await
}

impl Store {
    /// Records a new agent; returns its id.
    pub async fn enrol_agent(
        &self,
        host: &str,
        os: &str,
        version: &str,
        now: i64,
    ) -> Result<AgentRowId, StoreError> {
        let (host, os, version) = (host.to_string(), os.to_string(), version.to_string());
        self.write(move |w| {
            Box::pin(async move {
                query(
                    "INSERT INTO agent (host, os, version, enrolled, errors) VALUES (?, ?, ?, ?, '[]') RETURNING id",
                )
                .bind(&host)
                .bind(&os)
                .bind(&version)
                .bind(now)
                .scalar(&mut w.conn)
                .await
            })
        })
        .await
    }

    /// How many agents are enrolled.
    pub async fn agent_count(&self) -> Result<u64, StoreError> {
        Ok(u64::try_from(
            query("SELECT count(*) FROM agent")
                .scalar::<i64>(self.pool())
                .await?,
        )
        .unwrap_or(0))
    }

    pub async fn agent(&self, id: AgentRowId) -> Result<Option<AgentRow>, StoreError> {
        let row = query_built(format!("{AGENT_COLUMNS} WHERE id = ?"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(agent).transpose()
    }

    /// Every agent, oldest enrolment first.
    pub async fn agents(&self) -> Result<Vec<AgentRow>, StoreError> {
        let rows = query_built(format!("{AGENT_COLUMNS} ORDER BY id"))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(agent).collect()
    }

    /// Enables License Harvesting for an agent (keeping when it was first enabled) or disables
    /// it; whether the agent exists.
    pub async fn set_agent_harvesting(
        &self,
        id: AgentRowId,
        enabled: bool,
        now: i64,
    ) -> Result<bool, StoreError> {
        self.write(move |w| {
            Box::pin(async move {
                let changed = if enabled {
                    query(
                        "UPDATE agent SET harvesting_since = COALESCE(harvesting_since, ?) WHERE id = ?",
                    )
                    .bind(now)
                    .bind(id)
                    .execute(&mut w.conn)
                    .await?
                } else {
                    query("UPDATE agent SET harvesting_since = NULL WHERE id = ?")
                        .bind(id)
                        .execute(&mut w.conn)
                        .await?
                };
                // MariaDB counts changed rows, not matched ones.
                Ok(changed > 0
                    || query("SELECT count(*) FROM agent WHERE id = ?")
                        .bind(id)
                        .scalar::<i64>(&mut w.conn)
                        .await?
                        > 0)
            })
        })
        .await
    }

    /// Removes an agent and what it reported; whether it existed.
    pub async fn remove_agent(&self, id: AgentRowId) -> Result<bool, StoreError> {
        self.write(move |w| {
            Box::pin(async move {
                w.transaction(async |w| {
                    for sql in [
                        "DELETE FROM harvest_event WHERE agent_id = ?",
                        "DELETE FROM harvest_order WHERE agent_id = ?",
                        "DELETE FROM agent_session WHERE agent_id = ?",
                        "DELETE FROM agent_report WHERE agent_id = ?",
                    ] {
                        query(sql).bind(id).execute(&mut w.conn).await?;
                    }
                    Ok(query("DELETE FROM agent WHERE id = ?")
                        .bind(id)
                        .execute(&mut w.conn)
                        .await?
                        > 0)
                })
                .await
            })
        })
        .await
    }

    /// The watched applications, by name.
    pub async fn watched_applications(&self) -> Result<Vec<WatchedRow>, StoreError> {
        let rows = query_built(format!("{WATCHED_COLUMNS} ORDER BY w.name"))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(watched).collect()
    }

    /// Adds the watched application, or replaces the one of the same name.
    pub async fn put_watched_application(&self, app: NewWatched) -> Result<(), StoreError> {
        self.write(move |w| {
            Box::pin(async move {
                w.transaction(async |w| {
                    let changed = query(
                        "UPDATE watched_application SET match_kind = ?, pattern = ?, server_id = ?, feature = ?, policy = ? WHERE name = ?",
                    )
                    .bind(&app.match_kind)
                    .bind(&app.pattern)
                    .bind(app.server_id)
                    .bind(&app.feature)
                    .bind(&app.policy)
                    .bind(&app.name)
                    .execute(&mut w.conn)
                    .await?;
                    let exists = changed > 0
                        || query("SELECT count(*) FROM watched_application WHERE name = ?")
                            .bind(&app.name)
                            .scalar::<i64>(&mut w.conn)
                            .await?
                            > 0;
                    if !exists {
                        query(
                            "INSERT INTO watched_application (name, match_kind, pattern, server_id, feature, policy) VALUES (?, ?, ?, ?, ?, ?)",
                        )
                        .bind(&app.name)
                        .bind(&app.match_kind)
                        .bind(&app.pattern)
                        .bind(app.server_id)
                        .bind(&app.feature)
                        .bind(&app.policy)
                        .execute(&mut w.conn)
                        .await?;
                    }
                    Ok(())
                })
                .await
            })
        })
        .await
    }

    /// Removes a watched application; whether it existed.
    pub async fn remove_watched_application(&self, name: &str) -> Result<bool, StoreError> {
        let name = name.to_string();
        self.write(move |w| {
            Box::pin(async move {
                Ok(query("DELETE FROM watched_application WHERE name = ?")
                    .bind(&name)
                    .execute(&mut w.conn)
                    .await?
                    > 0)
            })
        })
        .await
    }

    /// Applies a report unless its id was applied before: the agent's heartbeat, the watched
    /// processes (a session opened for each new one, those absent ended), and the results of
    /// harvest orders. One transaction with the report's id. Answers whether it was a duplicate.
    pub async fn apply_agent_report(&self, report: ReportWrite) -> Result<bool, StoreError> {
        self.write(move |w| {
            Box::pin(async move { w.transaction(async |w| apply(w, &report).await).await })
        })
        .await
    }

    /// The running End User sessions of an agent (all agents: `None`).
    pub async fn open_agent_sessions(
        &self,
        agent: Option<AgentRowId>,
    ) -> Result<Vec<AgentSessionRow>, StoreError> {
        let rows = query_built(format!(
            "{SESSION_COLUMNS} WHERE ended IS NULL AND (? IS NULL OR agent_id = ?) ORDER BY id"
        ))
        .bind(agent)
        .bind(agent)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(session).collect()
    }

    /// End User sessions, newest first, at most `limit`, before id `before` when given.
    pub async fn agent_sessions(
        &self,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<AgentSessionRow>, StoreError> {
        let rows = query_built(format!(
            "{SESSION_COLUMNS} WHERE (? IS NULL OR id < ?) ORDER BY id DESC LIMIT ?"
        ))
        .bind(before)
        .bind(before)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(session).collect()
    }

    /// The orders given to an agent, oldest first: for its running sessions only, or all.
    pub async fn agent_orders(
        &self,
        agent: AgentRowId,
        running_only: bool,
    ) -> Result<Vec<OrderRow>, StoreError> {
        let rows = query_built(format!(
            "{ORDER_COLUMNS} WHERE o.agent_id = ? AND (a.ended IS NULL OR ?) ORDER BY o.id"
        ))
        .bind(agent)
        .bind(!running_only)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(order).collect()
    }

    /// Adds harvest orders for sessions of `agent` (one per session and release method: an order
    /// already given is not given again); returns those added.
    pub async fn add_harvest_orders(
        &self,
        agent: AgentRowId,
        orders: Vec<NewOrder>,
        now: i64,
    ) -> Result<Vec<i64>, StoreError> {
        self.write(move |w| {
            Box::pin(async move {
                w.transaction(async |w| {
                    let mut added = Vec::new();
                    for o in &orders {
                        let given = query(
                            "SELECT count(*) FROM harvest_order WHERE session_id = ? AND method = ?",
                        )
                        .bind(o.session_id)
                        .bind(&o.method)
                        .scalar::<i64>(&mut w.conn)
                        .await?;
                        if given > 0 {
                            continue;
                        }
                        let id: i64 = query(
                            "INSERT INTO harvest_order (agent_id, session_id, method, release_json, reasons_json, ordered) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                        )
                        .bind(agent)
                        .bind(o.session_id)
                        .bind(&o.method)
                        .bind(&o.release_json)
                        .bind(&o.reasons_json)
                        .bind(now)
                        .scalar(&mut w.conn)
                        .await?;
                        added.push(id);
                    }
                    Ok(added)
                })
                .await
            })
        })
        .await
    }

    /// Harvest events, newest first, at most `limit`, before id `before` when given.
    pub async fn harvest_events(
        &self,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<HarvestEventRow>, StoreError> {
        let rows = query(
            "SELECT e.id, e.order_id, e.agent_id, s.name, e.feature, e.application, e.user_name, e.host, e.pid, e.method, e.outcome, e.reason, e.time, e.saved_secs
             FROM harvest_event e JOIN license_server s ON s.id = e.server_id
             WHERE (? IS NULL OR e.id < ?) ORDER BY e.id DESC LIMIT ?",
        )
        .bind(before)
        .bind(before)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(event).collect()
    }

    /// Turns the agent data of a server off (its agents' reports of it are not recorded) or
    /// on again.
    pub async fn set_agent_data(
        &self,
        server: ServerId,
        on: bool,
        now: i64,
    ) -> Result<(), StoreError> {
        self.write(move |w| {
            Box::pin(async move {
                w.transaction(async |w| {
                    query("DELETE FROM agent_server_off WHERE server_id = ?")
                        .bind(server)
                        .execute(&mut w.conn)
                        .await?;
                    if !on {
                        query("INSERT INTO agent_server_off (server_id, since) VALUES (?, ?)")
                            .bind(server)
                            .bind(now)
                            .execute(&mut w.conn)
                            .await?;
                    }
                    Ok(())
                })
                .await
            })
        })
        .await
    }

    /// The servers whose agent data is off.
    pub async fn agent_data_off(&self) -> Result<Vec<ServerId>, StoreError> {
        let rows = query("SELECT server_id FROM agent_server_off ORDER BY server_id")
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(|r| r.get(0)).collect()
    }

    /// The agents with License Harvesting enabled, in the order it was enabled.
    pub async fn harvesting_agent_rows(&self) -> Result<Vec<AgentRow>, StoreError> {
        let rows = query_built(format!(
            "{AGENT_COLUMNS} WHERE harvesting_since IS NOT NULL ORDER BY harvesting_since, id"
        ))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(agent).collect()
    }

    /// The latest report of every agent that ever reported (End User status).
    pub async fn agents_last_seen(&self) -> Result<Vec<i64>, StoreError> {
        let rows = query("SELECT last_seen FROM agent WHERE last_seen IS NOT NULL")
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(|r| r.get(0)).collect()
    }
}

async fn apply(w: &mut Writer, r: &ReportWrite) -> Result<bool, StoreError> {
    let conn = &mut w.conn;
    let seen = query(
        "SELECT count(*) FROM agent_report WHERE agent_id = ? AND seq = ?
         UNION ALL SELECT count(*) FROM agent WHERE id = ? AND seq_floor >= ?",
    )
    .bind(r.agent)
    .bind(int(r.seq))
    .bind(r.agent)
    .bind(int(r.seq))
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|row| row.get::<i64>(0))
    .sum::<Result<i64, _>>()?;
    if seen > 0 {
        query("UPDATE agent SET duplicates = duplicates + 1 WHERE id = ?")
            .bind(r.agent)
            .execute(&mut *conn)
            .await?;
        return Ok(true);
    }
    query("INSERT INTO agent_report (agent_id, seq, received) VALUES (?, ?, ?)")
        .bind(r.agent)
        .bind(int(r.seq))
        .bind(r.received)
        .execute(&mut *conn)
        .await?;
    if let Some(floor) = r.seq.checked_sub(REPORT_IDS_KEPT) {
        query("DELETE FROM agent_report WHERE agent_id = ? AND seq <= ?")
            .bind(r.agent)
            .bind(int(floor))
            .execute(&mut *conn)
            .await?;
        query("UPDATE agent SET seq_floor = ? WHERE id = ? AND seq_floor < ?")
            .bind(int(floor))
            .bind(r.agent)
            .bind(int(floor))
            .execute(&mut *conn)
            .await?;
    }
    let errors = serde_json::to_string(&r.errors).unwrap_or_else(|_| "[]".into());
    // The agent's activity as the server saw it (its own clock may be off), never backwards.
    query(
        "UPDATE agent SET host = ?, version = ?, errors = ?, queued = ?, dropped = ?, reports = reports + 1,
         last_seen = CASE WHEN last_seen IS NULL OR last_seen < ? THEN ? ELSE last_seen END WHERE id = ?",
    )
    .bind(&r.host)
    .bind(&r.version)
    .bind(errors)
    .bind(int(r.queued))
    .bind(int(r.dropped))
    .bind(r.received)
    .bind(r.received)
    .bind(r.agent)
    .execute(&mut *conn)
    .await?;

    let open = query_built(format!(
        "{SESSION_COLUMNS} WHERE agent_id = ? AND ended IS NULL"
    ))
    .bind(r.agent)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(session)
    .collect::<Result<Vec<_>, _>>()?;
    let mut still = std::collections::HashSet::new();
    for p in &r.processes {
        let cpu_centi = (p.cpu.percent * 100.0).round() as i64;
        let idle = p.input_idle_secs.map(int);
        match open
            .iter()
            .find(|s| s.pid == p.pid && s.started == p.started)
        {
            Some(s) => {
                still.insert(s.id);
                if r.time < s.last_seen {
                    continue;
                }
                let mut history = CpuHistory::default();
                for sample in &s.cpu_samples {
                    history.push(*sample, p.window_secs);
                }
                history.push(p.cpu, p.window_secs);
                let mut samples = history.samples();
                samples.drain(..samples.len().saturating_sub(CPU_SAMPLES_KEPT));
                let checkout = match (s.checkout_id, &p.user) {
                    (None, Some(user)) => {
                        matching_checkout(conn, p.server_id, &p.feature, user, &r.host).await?
                    }
                    (known, _) => known,
                };
                query(
                    "UPDATE agent_session SET last_seen = ?, cpu_time_ms = ?, cpu_centi = ?, input_idle_secs = ?, suspended = ?, cpu_samples = ?, reports = reports + 1, checkout_id = ? WHERE id = ?",
                )
                .bind(r.time)
                .bind(int(p.cpu_time_ms))
                .bind(cpu_centi)
                .bind(idle)
                .bind(p.suspended)
                .bind(samples_json(&samples))
                .bind(checkout)
                .bind(s.id)
                .execute(&mut *conn)
                .await?;
            }
            None => {
                let checkout = match &p.user {
                    Some(user) => {
                        matching_checkout(conn, p.server_id, &p.feature, user, &r.host).await?
                    }
                    None => None,
                };
                // The same process can only be new once: a report older than its session is
                // not applied again (ids are unique per agent, pid and start).
                let exists = query(
                    "SELECT count(*) FROM agent_session WHERE agent_id = ? AND pid = ? AND started = ?",
                )
                .bind(r.agent)
                .bind(i64::from(p.pid))
                .bind(p.started)
                .scalar::<i64>(&mut *conn)
                .await?;
                if exists > 0 {
                    continue;
                }
                query(
                    "INSERT INTO agent_session (agent_id, server_id, feature, application, user_name, host, pid, started, first_seen, last_seen, cpu_time_ms, cpu_centi, input_idle_secs, suspended, cpu_samples, reports, checkout_id)
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)",
                )
                .bind(r.agent)
                .bind(p.server_id)
                .bind(&p.feature)
                .bind(&p.application)
                .bind(&p.user)
                .bind(&r.host)
                .bind(i64::from(p.pid))
                .bind(p.started)
                .bind(r.time)
                .bind(r.time)
                .bind(int(p.cpu_time_ms))
                .bind(cpu_centi)
                .bind(idle)
                .bind(p.suspended)
                .bind(samples_json(&[p.cpu]))
                .bind(checkout)
                .execute(&mut *conn)
                .await?;
            }
        }
    }
    // Gone from a report newer than what was seen of them: they ended by then.
    let mut ended = Vec::new();
    for s in open.iter().filter(|s| !still.contains(&s.id)) {
        if r.time > s.last_seen {
            query("UPDATE agent_session SET ended = ? WHERE id = ?")
                .bind(r.time)
                .bind(s.id)
                .execute(&mut *conn)
                .await?;
            ended.push(s);
        }
    }

    let conn = record_alone(w, &ended, r.time).await?;
    for result in &r.results {
        let order = query_built(format!("{ORDER_COLUMNS} WHERE o.id = ? AND o.agent_id = ?"))
            .bind(result.order_id)
            .bind(r.agent)
            .fetch_optional(&mut *conn)
            .await?;
        // An order of another agent, or removed since: nothing to record it against.
        let Some(order) = order.as_ref().map(self::order).transpose()? else {
            continue;
        };
        query("UPDATE harvest_order SET outcome = ? WHERE id = ?")
            .bind(&result.outcome)
            .bind(order.id)
            .execute(&mut *conn)
            .await?;
        let recorded =
            query("SELECT count(*) FROM harvest_event WHERE order_id = ? AND outcome = ?")
                .bind(order.id)
                .bind(&result.outcome)
                .scalar::<i64>(&mut *conn)
                .await?;
        if recorded > 0 {
            continue;
        }
        query(
            "INSERT INTO harvest_event (order_id, agent_id, session_id, server_id, feature, application, user_name, host, pid, method, outcome, reason, time, saved_secs)
             SELECT o.id, o.agent_id, a.id, a.server_id, a.feature, a.application, a.user_name, a.host, a.pid, o.method, ?, ?, ?, ?
             FROM harvest_order o JOIN agent_session a ON a.id = o.session_id WHERE o.id = ?",
        )
        .bind(&result.outcome)
        .bind(&result.reason)
        .bind(result.time)
        .bind(int(result.saved_secs))
        .bind(order.id)
        .execute(&mut *conn)
        .await?;
    }
    Ok(false)
}

/// The End User sessions that ended without annotating a license manager's checkout are the
/// only record of that use: they become sessions of source `end-user`, rolled up like the
/// others, so reports and the licence count them. (One that annotated a checkout is counted by
/// the checkout's own session.) A process whose user the OS did not tell is not counted: a
/// use without a user is not one the reports can show.
async fn record_alone<'w>(
    w: &'w mut Writer,
    ended: &[&AgentSessionRow],
    end: i64,
) -> Result<&'w mut Conn, StoreError> {
    let mut facts = Vec::new();
    for s in ended.iter().filter(|s| s.checkout_id.is_none()) {
        let Some(user) = &s.user else {
            continue;
        };
        // The feature as polls or imports named it (any vendor), else one without a vendor.
        let known: Option<i64> =
            query("SELECT id FROM feature WHERE server_id = ? AND name = ? ORDER BY id LIMIT 1")
                .bind(s.server_id)
                .bind(&s.feature)
                .scalar_optional(&mut w.conn)
                .await?;
        let feature = match known {
            Some(id) => id,
            None => w.feature_id(s.server_id, "", &s.feature).await?,
        };
        let user = w.name_id(Names::User, user).await?;
        let host = w.name_id(Names::Host, &s.host).await?;
        // The process's start is when it took its licence; seen first later, it ran before.
        let start = s.started.min(s.first_seen);
        query(
            "INSERT INTO session (server_id, feature_id, user_id, host_id, count, start, \"end\", end_reason, source)
             VALUES (?, ?, ?, ?, 1, ?, ?, ?, 'end-user')",
        )
        .bind(s.server_id)
        .bind(feature)
        .bind(user)
        .bind(host)
        .bind(start)
        .bind(end.max(start))
        .bind(EndReason::Checkin.as_str())
        .execute(&mut w.conn)
        .await?;
        facts.push(SessionFact {
            server: s.server_id,
            feature,
            user,
            host,
            count: 1,
            start,
            end: end.max(start),
        });
    }
    if !facts.is_empty() {
        let written: Vec<Written> = facts
            .iter()
            .map(|f| Written {
                fact: *f,
                end_reason: EndReason::Checkin.as_str(),
                run: None,
            })
            .collect();
        rollups::list_long(&mut w.conn, &mut w.sql, &written).await?;
        rollups::reroll(&mut w.conn, &mut w.sql, &facts, &[]).await?;
    }
    Ok(&mut w.conn)
}
