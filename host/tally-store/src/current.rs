//! What the latest polls said is in use now: each feature's latest usage sample, and the
//! checkouts open since (the sessions open now). Both are as large as the license servers'
//! current state, not their history.

use serde::Serialize;

use crate::db::query;
use crate::{ServerId, Store, StoreError};

/// A feature's latest usage sample.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LatestSample {
    pub server_id: ServerId,
    pub feature_id: i64,
    pub time: i64,
    pub issued: Option<u32>,
    pub in_use: u32,
    pub queued: u32,
}

/// A checkout open now, with its names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpenSession {
    pub server_id: ServerId,
    pub vendor: String,
    pub feature: String,
    pub user: String,
    pub host: String,
    pub count: u32,
    pub start: i64,
}

fn count(n: i64) -> u32 {
    u32::try_from(n).unwrap_or(0)
}

impl Store {
    /// The latest sample of each feature (of `server`, or of all), read through the samples'
    /// index on feature and time.
    pub async fn latest_samples(
        &self,
        server: Option<ServerId>,
    ) -> Result<Vec<LatestSample>, StoreError> {
        let rows = query(
            "SELECT f.server_id, f.id, t.time, t.issued, t.in_use, t.queued FROM feature f
             JOIN usage_sample t ON t.feature_id = f.id
             WHERE (? IS NULL OR f.server_id = ?)
               AND t.time = (SELECT MAX(m.time) FROM usage_sample m WHERE m.feature_id = f.id)
             ORDER BY f.server_id, f.id",
        )
        .bind(server)
        .bind(server)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(LatestSample {
                    server_id: r.get(0)?,
                    feature_id: r.get(1)?,
                    time: r.get(2)?,
                    issued: r.get::<Option<i64>>(3)?.map(count),
                    in_use: count(r.get(4)?),
                    queued: count(r.get(5)?),
                })
            })
            .collect()
    }

    /// The checkouts open now (of `server`, or of all), by server, start and user.
    pub async fn open_sessions(
        &self,
        server: Option<ServerId>,
    ) -> Result<Vec<OpenSession>, StoreError> {
        let rows = query(
            "SELECT o.server_id, f.vendor, f.name, u.name, h.name, o.count, o.start FROM open_checkout o
             JOIN feature f ON f.id = o.feature_id JOIN \"user\" u ON u.id = o.user_id
             JOIN host h ON h.id = o.host_id WHERE (? IS NULL OR o.server_id = ?)
             ORDER BY o.server_id, o.start, u.name",
        )
        .bind(server)
        .bind(server)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(OpenSession {
                    server_id: r.get(0)?,
                    vendor: r.get(1)?,
                    feature: r.get(2)?,
                    user: r.get(3)?,
                    host: r.get(4)?,
                    count: count(r.get(5)?),
                    start: r.get(6)?,
                })
            })
            .collect()
    }
}
