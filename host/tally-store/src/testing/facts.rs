//! A server's whole recorded history with names, in a stable order: what tests compare (a
//! resumed import against a clean one, one backend against another). The API reads pages
//! (`Store::session_page` and its siblings), never all of a server at once.

use serde::Serialize;

use crate::db::query;
use crate::servers::count;
use crate::{ServerId, Store, StoreError};

impl Store {
    /// Usage samples of a server, oldest first: (feature, time, issued, in_use, queued).
    pub async fn usage_samples(&self, server: ServerId) -> Result<Vec<UsageSample>, StoreError> {
        let rows = query(
            "SELECT f.vendor, f.name, s.time, s.issued, s.in_use, s.queued FROM usage_sample s
             JOIN feature f ON f.id = s.feature_id WHERE s.server_id = ? ORDER BY s.time, f.name",
        )
        .bind(server)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(UsageSample {
                    vendor: r.get(0)?,
                    feature: r.get(1)?,
                    time: r.get(2)?,
                    issued: r.get::<Option<i64>>(3)?.map(count),
                    in_use: count(r.get(4)?),
                    queued: count(r.get(5)?),
                })
            })
            .collect()
    }

    /// Sessions of a server with names, by start: by start.
    pub async fn sessions(&self, server: ServerId) -> Result<Vec<SessionRow>, StoreError> {
        let rows = query(
            "SELECT f.vendor, f.name, u.name, h.name, s.count, s.start, s.\"end\", s.end_reason, s.source
             FROM session s JOIN feature f ON f.id = s.feature_id JOIN \"user\" u ON u.id = s.user_id
             JOIN host h ON h.id = s.host_id WHERE s.server_id = ? ORDER BY s.start, u.name, f.name",
        )
        .bind(server)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(SessionRow {
                    vendor: r.get(0)?,
                    feature: r.get(1)?,
                    user: r.get(2)?,
                    host: r.get(3)?,
                    count: count(r.get(4)?),
                    start: r.get(5)?,
                    end: r.get(6)?,
                    end_reason: r.get(7)?,
                    source: r.get(8)?,
                })
            })
            .collect()
    }

    /// Denials of a server with names, by time.
    pub async fn denials(&self, server: ServerId) -> Result<Vec<DenialRow>, StoreError> {
        let rows = query(
            "SELECT f.vendor, f.name, u.name, h.name, d.count, d.time, d.kind, d.code, d.reason, d.requested_version, d.until_time
             FROM denial d JOIN feature f ON f.id = d.feature_id JOIN \"user\" u ON u.id = d.user_id
             JOIN host h ON h.id = d.host_id WHERE d.server_id = ? ORDER BY d.time, u.name, f.name",
        )
        .bind(server)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(DenialRow {
                    vendor: r.get(0)?,
                    feature: r.get(1)?,
                    user: r.get(2)?,
                    host: r.get(3)?,
                    count: count(r.get(4)?),
                    time: r.get(5)?,
                    kind: r.get(6)?,
                    code: r.get(7)?,
                    reason: r.get(8)?,
                    requested_version: r.get(9)?,
                    until: r.get(10)?,
                })
            })
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UsageSample {
    pub vendor: String,
    pub feature: String,
    pub time: i64,
    pub issued: Option<u32>,
    pub in_use: u32,
    pub queued: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionRow {
    pub vendor: String,
    pub feature: String,
    pub user: String,
    pub host: String,
    pub count: u32,
    pub start: i64,
    pub end: i64,
    pub end_reason: String,
    /// `import`, `poll`, or `end-user` (an agent's use no license manager's checkout showed).
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DenialRow {
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
    pub requested_version: Option<String>,
    /// The end of a lasting shortfall (a partial grant); `None` for a refusal at `time`.
    pub until: Option<i64>,
}
