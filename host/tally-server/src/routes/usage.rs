//! Features, current usage and usage history:
//!
//! - `GET /api/v1/license-servers/{name}/features` — its features (pools, expiry, reservations)
//! - `GET /api/v1/license-servers/{name}/usage` — in use now, per feature, and open sessions
//! - `GET /api/v1/usage?server=&feature=` — the same across servers
//! - `GET /api/v1/license-servers/{name}/history?feature=&from=&to=&resolution=` — peak and
//!   average in use per period, from the rollups

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::{Deserialize, Serialize};
use tally_app::usage::{self, FeatureNow, HistoryQuery, UsageError};
use tally_core::period::Period;
use tally_core::time::rfc3339;
use tally_store::FeatureInfo;

use crate::openapi::{Routes, Shape, doc};
use crate::{Api, ApiError};

const USAGE: &[&str] = &["as_of", "features", "sessions"];

pub fn routes() -> Routes {
    Routes::new()
        .get(
            "/api/v1/usage",
            all_usage,
            doc(
                "in use now across servers: ?server=&feature=",
                200,
                Shape::Table(USAGE),
            ),
        )
        .get(
            "/api/v1/license-servers/{name}/features",
            features,
            doc(
                "its features: pools, expiry, reservations",
                200,
                Shape::List(&[
                    "name", "vendor", "pools", "issued", "expiry", "reserved", "borrowed",
                ]),
            ),
        )
        .get(
            "/api/v1/license-servers/{name}/usage",
            server_usage,
            doc(
                "in use now, per feature, and the sessions open",
                200,
                Shape::Table(USAGE),
            ),
        )
        .get(
            "/api/v1/license-servers/{name}/history",
            history,
            doc(
                "peak and average in use per period: ?feature=&from=&to=&resolution=",
                200,
                Shape::Table(&["resolution", "from", "to", "series"]),
            ),
        )
}

impl From<UsageError> for ApiError {
    fn from(e: UsageError) -> ApiError {
        match e {
            UsageError::Invalid(_) => ApiError::bad_request(e.to_string()),
            UsageError::UnknownServer(_) => ApiError::not_found(e.to_string()),
            UsageError::Store(e) => ApiError::internal(e),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct FeatureView {
    pub name: String,
    pub vendor: String,
    pub version: Option<String>,
    /// License pools (lines of the license file) summed into `issued`.
    pub pools: u32,
    /// `None`: unknown (uncounted, or known from logs only), never 0.
    pub issued: Option<u32>,
    pub expiry: Option<String>,
    pub kind: Option<String>,
    pub reserved: u32,
    pub borrowed: u32,
    /// The last poll that changed what is known of it.
    pub last_seen: Option<String>,
}

impl From<FeatureInfo> for FeatureView {
    fn from(f: FeatureInfo) -> FeatureView {
        FeatureView {
            name: f.name,
            vendor: f.vendor,
            version: f.version,
            pools: f.pools,
            issued: f.issued,
            expiry: f.expiry.map(rfc3339),
            kind: f.kind,
            reserved: f.reserved,
            borrowed: f.borrowed,
            last_seen: f.last_seen.map(rfc3339),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct UsageView {
    pub as_of: Option<String>,
    pub features: Vec<FeatureNow>,
    pub sessions: Vec<SessionNowView>,
}

#[derive(Debug, Serialize)]
pub struct SessionNowView {
    pub server: String,
    pub feature: String,
    pub user: String,
    pub host: String,
    pub count: u32,
    pub since: String,
}

impl From<usage::Usage> for UsageView {
    fn from(u: usage::Usage) -> UsageView {
        UsageView {
            as_of: u.as_of.map(rfc3339),
            features: u.features,
            sessions: u
                .sessions
                .into_iter()
                .map(|s| SessionNowView {
                    server: s.server,
                    feature: s.feature,
                    user: s.user,
                    host: s.host,
                    count: s.count,
                    since: rfc3339(s.since),
                })
                .collect(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct HistoryView {
    pub resolution: &'static str,
    pub from: String,
    pub to: String,
    pub series: Vec<SeriesView>,
}

#[derive(Debug, Serialize)]
pub struct SeriesView {
    pub vendor: String,
    pub feature: String,
    /// `[[time, count]]`: the issued count from the window's first period on, then each change
    /// (`null`: unknown or uncounted).
    pub issued: Vec<(String, Option<u32>)>,
    pub points: Vec<PointView>,
}

#[derive(Debug, Serialize)]
pub struct PointView {
    pub t: String,
    pub peak: u64,
    pub average: f64,
    pub hours_logged: u64,
}

fn history_view(h: usage::History) -> HistoryView {
    let resolution: Period = h.resolution;
    HistoryView {
        resolution: resolution.name(),
        from: rfc3339(h.from),
        to: rfc3339(h.to),
        series: h
            .series
            .into_iter()
            .map(|s| SeriesView {
                issued: s.issued.into_iter().map(|(t, n)| (rfc3339(t), n)).collect(),
                points: s
                    .points
                    .into_iter()
                    .map(|p| PointView {
                        t: rfc3339(p.t),
                        peak: p.peak,
                        average: p.average,
                        hours_logged: p.hours_logged,
                    })
                    .collect(),
                vendor: s.vendor,
                feature: s.feature,
            })
            .collect(),
    }
}

/// `?server=&feature=`.
#[derive(Debug, Default, Deserialize)]
pub struct UsageQuery {
    pub server: Option<String>,
    pub feature: Option<String>,
}

fn named(text: &Option<String>) -> Option<&str> {
    text.as_deref().filter(|t| !t.is_empty())
}

async fn features(
    State(api): State<Arc<Api>>,
    Path(name): Path<String>,
) -> Result<Json<Vec<FeatureView>>, ApiError> {
    let features = usage::features(&api.app, &name).await?;
    Ok(Json(features.into_iter().map(FeatureView::from).collect()))
}

async fn server_usage(
    State(api): State<Arc<Api>>,
    Path(name): Path<String>,
    Query(query): Query<UsageQuery>,
) -> Result<Json<UsageView>, ApiError> {
    let usage = usage::current(&api.app.store, Some(&name), named(&query.feature)).await?;
    Ok(Json(usage.into()))
}

async fn all_usage(
    State(api): State<Arc<Api>>,
    Query(query): Query<UsageQuery>,
) -> Result<Json<UsageView>, ApiError> {
    let usage = usage::current(&api.app.store, named(&query.server), named(&query.feature)).await?;
    Ok(Json(usage.into()))
}

async fn history(
    State(api): State<Arc<Api>>,
    Path(name): Path<String>,
    Query(query): Query<HistoryQuery>,
) -> Result<Json<HistoryView>, ApiError> {
    Ok(Json(history_view(
        usage::history(&api.app, &name, &query).await?,
    )))
}
