//! Facts read a page at a time: sessions and denials in id order after a cursor, users and hosts
//! in name order after a cursor. Every read is bounded by its limit ([`MAX_PAGE`] at most), so
//! no answer grows with the history behind it.

use serde::Serialize;
use tally_core::refusal::RefusalCause;

use crate::db::{Row, query_built};
use crate::rollups::placeholders;
use crate::{ServerId, Store, StoreError};

/// The most rows one page holds.
pub const MAX_PAGE: u32 = 1_000;

/// The most rows a read returns: a page and one more, which tells whether another page follows.
const MAX_READ: u32 = MAX_PAGE + 1;

/// Sessions a page reads by id before it looks through the index by feature and end instead.
const SCAN: u32 = 4_096;

/// Ids a windowed page takes from the index by feature and end per round, and the rounds before
/// it reads the window's sessions whole (see [`Store::window_session_ids`]).
const CANDIDATES: u32 = 1_024;
const CANDIDATE_ROUNDS: usize = 4;

/// Which facts a page holds; `None` (or no features) does not filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FactFilter {
    pub server: Option<ServerId>,
    /// Feature ids (one name may be several features); `Some(vec![])` matches nothing.
    pub features: Option<Vec<i64>>,
    pub user: Option<i64>,
    pub host: Option<i64>,
    /// The window `[from, to)`: sessions overlapping it, denials in it.
    pub from: Option<i64>,
    pub to: Option<i64>,
}

/// A session with its names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionEntry {
    pub id: i64,
    pub server: String,
    pub vendor: String,
    pub feature: String,
    pub user: String,
    pub host: String,
    pub count: u32,
    pub start: i64,
    pub end: i64,
    pub end_reason: String,
    /// `import` or `poll`.
    pub source: String,
}

/// A denial with its names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DenialEntry {
    pub id: i64,
    pub server: String,
    pub vendor: String,
    pub feature: String,
    pub user: String,
    pub host: String,
    pub count: u32,
    pub time: i64,
    /// `denied` or `unsupported`.
    pub kind: String,
    pub code: Option<String>,
    pub reason: Option<String>,
    /// The end of a lasting shortfall.
    pub until: Option<i64>,
    /// Why it was refused, decided when it was stored (`tally_core::refusal`).
    pub cause: RefusalCause,
}

/// A usage sample with its feature's name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SampleEntry {
    pub feature_id: i64,
    pub vendor: String,
    pub feature: String,
    pub time: i64,
    pub issued: Option<u32>,
    pub in_use: u32,
    pub queued: u32,
}

/// Users or hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    User,
    Host,
}

impl Party {
    pub(crate) fn table(self) -> &'static str {
        match self {
            Party::User => "\"user\"",
            Party::Host => "host",
        }
    }
    pub(crate) fn column(self) -> &'static str {
        match self {
            Party::User => "user_id",
            Party::Host => "host_id",
        }
    }
}

/// A user or host with what the rollups say of it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PartyEntry {
    pub name: String,
    /// Checkouts (sessions started).
    pub sessions: u64,
    pub license_hours: f64,
    /// The start of the last UTC day it held a license.
    pub last_seen: Option<i64>,
}

/// `AND …` clauses and their parameters for `filter` on the table aliased `t`; `time_column`
/// is the denial's time, or `None` for a session's overlap.
fn conditions(filter: &FactFilter, time_column: Option<&str>) -> (String, Vec<i64>) {
    let mut sql = String::new();
    let mut params = Vec::new();
    if let Some(server) = filter.server {
        sql.push_str(" AND t.server_id = ?");
        params.push(server);
    }
    if filter.features.is_none() && filter.from.is_some() {
        // Through the index by feature and end (or time): a window's facts, not every fact
        // before it read in id order.
        match filter.server {
            Some(server) => {
                sql.push_str(" AND t.feature_id IN (SELECT id FROM feature WHERE server_id = ?)");
                params.push(server);
            }
            None => sql.push_str(" AND t.feature_id IN (SELECT id FROM feature)"),
        }
    }
    if let Some(features) = &filter.features {
        if features.is_empty() {
            sql.push_str(" AND 1 = 0");
        } else {
            sql.push_str(&format!(
                " AND t.feature_id IN ({})",
                placeholders(features.len())
            ));
            params.extend(features);
        }
    }
    if let Some(user) = filter.user {
        sql.push_str(" AND t.user_id = ?");
        params.push(user);
    }
    if let Some(host) = filter.host {
        sql.push_str(" AND t.host_id = ?");
        params.push(host);
    }
    let (start, end) = match time_column {
        Some(time) => (time, time),
        None => ("t.start", "t.\"end\""),
    };
    if let Some(from) = filter.from {
        // A denial at `from` is in; a session ending at `from` is not.
        let op = if time_column.is_some() { ">=" } else { ">" };
        sql.push_str(&format!(" AND {end} {op} ?"));
        params.push(from);
    }
    if let Some(to) = filter.to {
        sql.push_str(&format!(" AND {start} < ?"));
        params.push(to);
    }
    (sql, params)
}

fn count(n: i64) -> u32 {
    u32::try_from(n).unwrap_or(0)
}

impl Store {
    /// Up to `limit` sessions matching `filter` with ids above `after`, by id.
    ///
    /// The ids first, then the names of those only: joining names to every session of a window
    /// before keeping a page of them cost the window. The ids come from the next [`SCAN`]
    /// sessions by id when those fill the page (a window reaching back to `after`, or no
    /// window: the next sessions are the page), else through the index by feature and end (a
    /// window's sessions, sorted).
    pub async fn session_page(
        &self,
        filter: &FactFilter,
        after: i64,
        limit: u32,
    ) -> Result<Vec<SessionEntry>, StoreError> {
        let (conditions, params) = conditions(filter, None);
        let limit = i64::from(limit.min(MAX_READ));
        let bind = |sql: String| {
            let mut q = query_built(sql).bind(after);
            for &p in &params {
                q = q.bind(p);
            }
            q.bind(limit)
        };
        let near = bind(format!(
            "SELECT t.id FROM (SELECT * FROM session WHERE id > ? ORDER BY id LIMIT {SCAN}) t
             WHERE 1 = 1{conditions} ORDER BY t.id LIMIT ?"
        ))
        .fetch_all(self.pool())
        .await?;
        let mut ids: Vec<i64> = near.iter().map(|r| r.get(0)).collect::<Result<_, _>>()?;
        if ids.len() < limit as usize {
            let beyond = query_built(format!(
                "SELECT id FROM session WHERE id > ? ORDER BY id LIMIT 1 OFFSET {}",
                SCAN - 1
            ))
            .bind(after)
            .fetch_optional(self.pool())
            .await?;
            if beyond.is_some() {
                let found = match filter.from {
                    Some(from) => self.window_session_ids(filter, from, after, limit).await?,
                    None => None,
                };
                ids = match found {
                    Some(ids) => ids,
                    None => {
                        let rows = bind(format!(
                            "SELECT t.id FROM session t WHERE t.id > ?{conditions} ORDER BY t.id LIMIT ?"
                        ))
                        .fetch_all(self.pool())
                        .await?;
                        rows.iter().map(|r| r.get(0)).collect::<Result<_, _>>()?
                    }
                };
            }
        }
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut q = query_built(format!(
            "SELECT t.id, srv.name, f.vendor, f.name, u.name, h.name, t.count, t.start, t.\"end\", t.end_reason, t.source
             FROM session t JOIN license_server srv ON srv.id = t.server_id JOIN feature f ON f.id = t.feature_id
             JOIN \"user\" u ON u.id = t.user_id JOIN host h ON h.id = t.host_id
             WHERE t.id IN ({}) ORDER BY t.id",
            placeholders(ids.len())
        ));
        for id in ids {
            q = q.bind(id);
        }
        let rows = q.fetch_all(self.pool()).await?;
        rows.iter()
            .map(|r| {
                Ok(SessionEntry {
                    id: r.get(0)?,
                    server: r.get(1)?,
                    vendor: r.get(2)?,
                    feature: r.get(3)?,
                    user: r.get(4)?,
                    host: r.get(5)?,
                    count: count(r.get(6)?),
                    start: r.get(7)?,
                    end: r.get(8)?,
                    end_reason: r.get(9)?,
                    source: r.get(10)?,
                })
            })
            .collect()
    }

    /// Up to `limit` ids of sessions matching `filter` (a window from `from`) above `after`, by
    /// id: the lowest ids ending after `from` taken from the index by feature and end alone
    /// ([`CANDIDATES`] at a time, no session read), then those sessions checked against the
    /// whole filter. Sorting every id of the window's sessions, each read for its start, cost
    /// the window (40 ms for a month of a server at 10 M sessions). `None` when
    /// [`CANDIDATE_ROUNDS`] rounds did not fill the page (a filter few of the window's sessions
    /// pass, by user or host): the caller then reads them all.
    async fn window_session_ids(
        &self,
        filter: &FactFilter,
        from: i64,
        after: i64,
        limit: i64,
    ) -> Result<Option<Vec<i64>>, StoreError> {
        let (conditions, params) = conditions(filter, None);
        let (features, feature_params): (String, Vec<i64>) = match (&filter.features, filter.server)
        {
            (Some(f), _) if f.is_empty() => return Ok(Some(Vec::new())),
            (Some(f), _) => (
                format!("c.feature_id IN ({})", placeholders(f.len())),
                f.clone(),
            ),
            (None, Some(s)) => (
                "c.feature_id IN (SELECT id FROM feature WHERE server_id = ?)".into(),
                vec![s],
            ),
            (None, None) => (
                "c.feature_id IN (SELECT id FROM feature)".into(),
                Vec::new(),
            ),
        };
        let mut ids = Vec::new();
        let mut cursor = after;
        for _ in 0..CANDIDATE_ROUNDS {
            let mut q = query_built(format!(
                "SELECT c.id FROM session c WHERE c.id > ? AND {features} AND c.\"end\" > ?
                 ORDER BY c.id LIMIT {CANDIDATES}"
            ))
            .bind(cursor);
            for &p in &feature_params {
                q = q.bind(p);
            }
            let candidates: Vec<i64> = q
                .bind(from)
                .fetch_all(self.pool())
                .await?
                .iter()
                .map(|r| r.get(0))
                .collect::<Result<_, _>>()?;
            let Some(&last) = candidates.last() else {
                return Ok(Some(ids));
            };
            let mut q = query_built(format!(
                "SELECT t.id FROM session t WHERE t.id IN ({}){conditions} ORDER BY t.id LIMIT ?",
                placeholders(candidates.len())
            ));
            for &id in &candidates {
                q = q.bind(id);
            }
            for &p in &params {
                q = q.bind(p);
            }
            let wanted = limit - ids.len() as i64;
            for r in q.bind(wanted).fetch_all(self.pool()).await? {
                ids.push(r.get::<i64>(0)?);
            }
            if ids.len() as i64 >= limit || candidates.len() < CANDIDATES as usize {
                return Ok(Some(ids));
            }
            cursor = last;
        }
        Ok(None)
    }

    /// Up to `limit` denials matching `filter` with ids above `after`, by id.
    pub async fn denial_page(
        &self,
        filter: &FactFilter,
        after: i64,
        limit: u32,
    ) -> Result<Vec<DenialEntry>, StoreError> {
        let (conditions, params) = conditions(filter, Some("t.time"));
        let sql = format!(
            "SELECT t.id, srv.name, f.vendor, f.name, u.name, h.name, t.count, t.time, t.kind, t.code, t.reason, t.until_time, t.cause
             FROM denial t JOIN license_server srv ON srv.id = t.server_id JOIN feature f ON f.id = t.feature_id
             JOIN \"user\" u ON u.id = t.user_id JOIN host h ON h.id = t.host_id
             WHERE t.id > ?{conditions} ORDER BY t.id LIMIT ?"
        );
        let rows = self.page(sql, after, params, limit).await?;
        rows.iter()
            .map(|r| {
                Ok(DenialEntry {
                    id: r.get(0)?,
                    server: r.get(1)?,
                    vendor: r.get(2)?,
                    feature: r.get(3)?,
                    user: r.get(4)?,
                    host: r.get(5)?,
                    count: count(r.get(6)?),
                    time: r.get(7)?,
                    kind: r.get(8)?,
                    code: r.get(9)?,
                    reason: r.get(10)?,
                    until: r.get(11)?,
                    // Denials stored before causes were kept are classified when the store
                    // opens; one not classified yet shows as other.
                    cause: r
                        .get::<Option<String>>(12)?
                        .and_then(|c| RefusalCause::parse(&c))
                        .unwrap_or(RefusalCause::Other),
                })
            })
            .collect()
    }

    async fn page(
        &self,
        sql: String,
        after: i64,
        params: Vec<i64>,
        limit: u32,
    ) -> Result<Vec<Row>, StoreError> {
        let mut q = query_built(sql).bind(after);
        for p in params {
            q = q.bind(p);
        }
        q.bind(i64::from(limit.min(MAX_READ)))
            .fetch_all(self.pool())
            .await
    }

    /// Up to `limit` usage samples of `features` (ids) in `[from, to)` after `after` (a
    /// sample's time and feature id), by time and feature: read through the samples' index
    /// on feature and time.
    pub async fn sample_page(
        &self,
        features: &[i64],
        window: (Option<i64>, Option<i64>),
        after: Option<(i64, i64)>,
        limit: u32,
    ) -> Result<Vec<SampleEntry>, StoreError> {
        if features.is_empty() {
            return Ok(Vec::new());
        }
        let (from, to) = window;
        let (after_time, after_feature) = after.unwrap_or((i64::MIN, i64::MIN));
        let sql = format!(
            "SELECT t.feature_id, f.vendor, f.name, t.time, t.issued, t.in_use, t.queued
             FROM usage_sample t JOIN feature f ON f.id = t.feature_id
             WHERE t.feature_id IN ({}) AND t.time >= ? AND t.time < ?
               AND (t.time > ? OR (t.time = ? AND t.feature_id > ?))
             ORDER BY t.time, t.feature_id LIMIT ?",
            placeholders(features.len())
        );
        let mut q = query_built(sql);
        for &f in features {
            q = q.bind(f);
        }
        let rows = q
            .bind(from.unwrap_or(i64::MIN))
            .bind(to.unwrap_or(i64::MAX))
            .bind(after_time)
            .bind(after_time)
            .bind(after_feature)
            .bind(i64::from(limit.min(MAX_READ)))
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| {
                Ok(SampleEntry {
                    feature_id: r.get(0)?,
                    vendor: r.get(1)?,
                    feature: r.get(2)?,
                    time: r.get(3)?,
                    issued: r.get::<Option<i64>>(4)?.map(count),
                    in_use: count(r.get(5)?),
                    queued: count(r.get(6)?),
                })
            })
            .collect()
    }

    /// The id of the user or host called `name`.
    pub async fn party_id(&self, party: Party, name: &str) -> Result<Option<i64>, StoreError> {
        query_built(format!("SELECT id FROM {} WHERE name = ?", party.table()))
            .bind(name)
            .scalar_optional(self.pool())
            .await
    }

    /// Up to `limit` users or hosts named after `after`, by name (of those with rollups on
    /// `server` when given), with their checkouts, license-hours and the last day they held a
    /// license, from the day and month rollups.
    pub async fn party_page(
        &self,
        party: Party,
        server: Option<ServerId>,
        after: &str,
        limit: u32,
    ) -> Result<Vec<PartyEntry>, StoreError> {
        let (table, column) = (party.table(), party.column());
        // Through the month rows' index by user (or host), server and month (migration 0025): a
        // probe per name, not a scan of the server's rows.
        let on_server = match server {
            Some(_) => format!(
                " AND EXISTS (SELECT 1 FROM user_month m WHERE m.{column} = p.id AND m.server_id = ?)"
            ),
            None => String::new(),
        };
        let mut q = query_built(format!(
            "SELECT p.id, p.name FROM {table} p WHERE p.name > ?{on_server} ORDER BY p.name LIMIT ?"
        ))
        .bind(after);
        if let Some(server) = server {
            q = q.bind(server);
        }
        let rows = q
            .bind(i64::from(limit.min(MAX_READ)))
            .fetch_all(self.pool())
            .await?;
        let mut entries = Vec::with_capacity(rows.len());
        let mut ids = Vec::with_capacity(rows.len());
        for r in &rows {
            ids.push(r.get::<i64>(0)?);
            entries.push(PartyEntry {
                name: r.get(1)?,
                sessions: 0,
                license_hours: 0.0,
                last_seen: None,
            });
        }
        if ids.is_empty() {
            return Ok(entries);
        }
        let index: std::collections::HashMap<i64, usize> =
            ids.iter().enumerate().map(|(i, &id)| (id, i)).collect();
        let in_ids = placeholders(ids.len());
        // Totals from the month totals (migration 0025), the last day from the day rows read
        // backwards from the latest: both found through indexes by user (or host).
        for (id, (sessions, seconds)) in self.party_totals(party, &ids, server).await? {
            if let Some(&i) = index.get(&id) {
                let e = &mut entries[i];
                e.sessions = sessions;
                e.license_hours = seconds as f64 / 3_600.0;
            }
        }
        let on_day_server = if server.is_some() {
            " AND d.server_id = ?"
        } else {
            ""
        };
        let mut q = query_built(format!(
            "SELECT p.id, (SELECT d.day FROM user_day d WHERE d.{column} = p.id{on_day_server}
                           ORDER BY d.day DESC LIMIT 1)
             FROM {table} p WHERE p.id IN ({in_ids})"
        ));
        if let Some(server) = server {
            q = q.bind(server);
        }
        for &id in &ids {
            q = q.bind(id);
        }
        for r in q.fetch_all(self.pool()).await? {
            if let Some(&i) = index.get(&r.get::<i64>(0)?) {
                entries[i].last_seen = r.get(1)?;
            }
        }
        Ok(entries)
    }
}
