//! Features, what is in use now, and usage history: what the license servers' pages show.
//!
//! - [`features`]: a server's features with what the latest poll said (pools, expiry,
//!   reservations, borrowed licenses);
//! - [`current`]: per feature issued, in use, reserved, borrowed, queued and available as the
//!   latest poll saw it, and the sessions open now;
//! - [`history`]: peak and average in use per period, read from the rollups at the coarsest
//!   grain the resolution allows (`Store::rollups`), the resolution chosen from the window
//!   when not asked for.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tally_core::period::{DAY, Period};
use tally_core::report;
use tally_core::rollup::{FeatureKey, Grain};
use tally_core::snapshot::available;
use tally_store::{FeatureInfo, OpenSession, RollupFilter, Server, Store, StoreError};

use crate::App;
use crate::reports::{parse_time, with_hours_of_data};

/// The most points one series of a history holds.
pub const MAX_POINTS: i64 = 10_000;
/// The window of a history when the request names no start: the last 30 days.
pub const DEFAULT_WINDOW: i64 = 30 * DAY;

/// Why usage could not be read.
#[derive(Debug, thiserror::Error)]
pub enum UsageError {
    #[error("{0}")]
    Invalid(String),
    #[error("no license server is called `{0}`")]
    UnknownServer(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

async fn server(store: &Store, name: &str) -> Result<Server, UsageError> {
    store
        .server(name)
        .await?
        .ok_or_else(|| UsageError::UnknownServer(name.to_string()))
}

/// The features of the server called `name`, by name, each with the capacity in force now
/// (the most trusted statement: a log's or license file's, else the latest poll's).
pub async fn features(app: &App, name: &str) -> Result<Vec<FeatureInfo>, UsageError> {
    let server = server(&app.store, name).await?;
    let mut features = app.store.features(Some(server.id)).await?;
    let capacity = app
        .store
        .capacity_at(server.id, tally_core::time::now())
        .await?;
    for f in &mut features {
        let key = FeatureKey {
            server: server.id,
            feature: f.id,
        };
        f.issued = capacity.get(&key).and_then(|issued| issued.count());
    }
    features.sort_by(|a, b| (&a.name, &a.vendor).cmp(&(&b.name, &b.vendor)));
    Ok(features)
}

/// One feature now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeatureNow {
    pub server: String,
    pub vendor: String,
    pub feature: String,
    /// `None`: unknown (uncounted), never 0.
    pub issued: Option<u32>,
    pub in_use: u32,
    pub reserved: u32,
    pub borrowed: u32,
    pub queued: u32,
    pub available: Option<u32>,
}

/// What is in use now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Usage {
    /// The latest sample shown.
    pub as_of: Option<i64>,
    pub features: Vec<FeatureNow>,
    pub sessions: Vec<SessionNow>,
}

/// A session open now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionNow {
    pub server: String,
    pub feature: String,
    pub user: String,
    pub host: String,
    pub count: u32,
    pub since: i64,
}

/// What the latest polls say is in use, of the server called `server` (or of all) and of the
/// features called `feature` (or all). A feature the latest poll of its server did not list
/// is left out (it was removed from the license file).
pub async fn current(
    store: &Store,
    server_name: Option<&str>,
    feature: Option<&str>,
) -> Result<Usage, UsageError> {
    let only = match server_name {
        Some(name) => Some(server(store, name).await?.id),
        None => None,
    };
    let servers: BTreeMap<i64, String> = store
        .servers()
        .await?
        .into_iter()
        .map(|s| (s.id, s.config.name))
        .collect();
    let features: BTreeMap<i64, FeatureInfo> = store
        .features(only)
        .await?
        .into_iter()
        .map(|f| (f.id, f))
        .collect();
    let samples = store.latest_samples(only).await?;
    // Each server's latest poll time: older samples are of features it no longer lists.
    let mut latest: BTreeMap<i64, i64> = BTreeMap::new();
    for s in &samples {
        let t = latest.entry(s.server_id).or_insert(s.time);
        *t = (*t).max(s.time);
    }
    let name_of = |id: i64| servers.get(&id).cloned().unwrap_or_default();
    let wanted = |name: &str| feature.is_none_or(|f| f == name);
    let mut out = Vec::new();
    for s in &samples {
        let Some(f) = features.get(&s.feature_id) else {
            continue;
        };
        if latest.get(&s.server_id) != Some(&s.time) || !wanted(&f.name) {
            continue;
        }
        out.push(FeatureNow {
            server: name_of(s.server_id),
            vendor: f.vendor.clone(),
            feature: f.name.clone(),
            issued: s.issued,
            in_use: s.in_use,
            reserved: f.reserved,
            borrowed: f.borrowed,
            queued: s.queued,
            available: available(s.issued, s.in_use, f.reserved),
        });
    }
    let sessions = store
        .open_sessions(only)
        .await?
        .into_iter()
        .filter(|o: &OpenSession| wanted(&o.feature))
        .map(|o| SessionNow {
            server: name_of(o.server_id),
            feature: o.feature,
            user: o.user,
            host: o.host,
            count: o.count,
            since: o.start,
        })
        .collect();
    Ok(Usage {
        as_of: latest.values().copied().max(),
        features: out,
        sessions,
    })
}

/// A history request as text: the API's query string.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct HistoryQuery {
    pub feature: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    /// hour, day, week, month, quarter or year; chosen from the window when absent.
    pub resolution: Option<String>,
}

/// Usage of the features of one server over time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct History {
    pub resolution: Period,
    pub from: i64,
    pub to: i64,
    pub series: Vec<Series>,
}

/// One feature's usage over time: a point per period with a logged hour (a period without one
/// has no point: a gap, not a zero).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Series {
    pub vendor: String,
    pub feature: String,
    /// The licences issued (`None`: unknown or uncounted) from the start of the window's
    /// first period on, and from each period's start where that changed: the capacity in
    /// force then (`Store::capacity_changes`).
    pub issued: Vec<(i64, Option<u32>)>,
    pub points: Vec<Point>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Point {
    /// The period's start.
    pub t: i64,
    pub peak: u64,
    /// Licenses in use, time-weighted over the logged hours of the period.
    pub average: f64,
    pub hours_logged: u64,
}

fn parse_resolution(text: &str) -> Result<Period, UsageError> {
    Ok(match text {
        "hour" => Period::Hour,
        "day" => Period::Day,
        "week" => Period::Week,
        "month" => Period::Month,
        "quarter" => Period::Quarter,
        "year" => Period::Year,
        _ => {
            return Err(UsageError::Invalid(format!(
                "resolution `{text}`: use hour, day, week, month, quarter or year"
            )));
        }
    })
}

/// Typical seconds of a period, to bound the points of a window.
fn typical_seconds(period: Period) -> i64 {
    match period {
        Period::Hour => 3_600,
        Period::Day => DAY,
        Period::Week | Period::SundayWeek => 7 * DAY,
        Period::Month => 28 * DAY,
        Period::Quarter => 90 * DAY,
        Period::Year => 365 * DAY,
    }
}

/// Usage over time of the server called `name` (of `query.feature` only when given).
pub async fn history(app: &App, name: &str, query: &HistoryQuery) -> Result<History, UsageError> {
    let server = server(&app.store, name).await?;
    let time = |text: &Option<String>, to_end| {
        text.as_deref()
            .filter(|t| !t.is_empty())
            .map(|t| parse_time(t, to_end))
            .transpose()
            .map_err(|e| UsageError::Invalid(e.to_string()))
    };
    let to = time(&query.to, true)?.unwrap_or_else(crate::now);
    let from = time(&query.from, false)?.unwrap_or(to - DEFAULT_WINDOW);
    if from >= to {
        return Err(UsageError::Invalid(
            "the window ends before it starts: `to` must be after `from`".into(),
        ));
    }
    let resolution = match query.resolution.as_deref().filter(|r| !r.is_empty()) {
        Some(text) => parse_resolution(text)?,
        None => Period::for_window(from, to),
    };
    let points = (to - from) / typical_seconds(resolution);
    if points > MAX_POINTS {
        return Err(UsageError::Invalid(format!(
            "{} points a feature at resolution {} over this window; at most {MAX_POINTS}: \
             choose a coarser resolution or a shorter window",
            points,
            resolution.name()
        )));
    }
    let features: Vec<FeatureInfo> = app
        .store
        .features(Some(server.id))
        .await?
        .into_iter()
        .filter(|f| {
            query
                .feature
                .as_deref()
                .filter(|n| !n.is_empty())
                .is_none_or(|n| n == f.name)
        })
        .collect();
    let mut series = Vec::with_capacity(features.len());
    if features.is_empty() {
        return Ok(History {
            resolution,
            from,
            to,
            series,
        });
    }
    let mut logged = app
        .store
        .logged_hours(server.id, Some(from), Some(to))
        .await?;
    let filters: Vec<Option<i64>> = if query.feature.as_deref().is_some_and(|f| !f.is_empty()) {
        features.iter().map(|f| Some(f.id)).collect()
    } else {
        vec![None]
    };
    let grain = Grain::within(resolution);
    let mut rows = Vec::new();
    for feature in filters {
        let filter = RollupFilter {
            server: Some(server.id),
            feature,
            from: Some(from),
            to: Some(to),
        };
        let read = app.store.rollups(&filter, grain).await?;
        if grain != Grain::Hour {
            // A day or month row no longer shows which of its hours had data.
            logged = with_hours_of_data(&app.store, &filter, grain, &read, logged).await?;
        }
        rows.extend(read);
    }
    let periods = if grain == Grain::Hour {
        report::usage_over_time(resolution, &rows, &[], &logged)
    } else {
        report::usage_over_time_of_periods(resolution, &rows, &[], &logged)
    };
    let mut by_feature: BTreeMap<i64, Vec<Point>> = BTreeMap::new();
    for u in periods {
        by_feature
            .entry(u.feature.feature)
            .or_default()
            .push(Point {
                t: u.start,
                peak: u.totals.peak_in_use,
                average: u.totals.avg_in_use,
                hours_logged: u.totals.hours,
            });
    }
    // The capacity in force at each period's start: contracts and license files change it.
    let mut starts = Vec::new();
    let mut t = resolution.start(from);
    while t < to {
        starts.push(t.max(from));
        t = resolution.next(t);
    }
    let mut issued = app.store.capacity_changes(server.id, &starts).await?;
    for f in features {
        let points = by_feature.remove(&f.id).unwrap_or_default();
        let key = FeatureKey {
            server: server.id,
            feature: f.id,
        };
        series.push(Series {
            vendor: f.vendor,
            feature: f.name,
            issued: issued
                .remove(&key)
                .unwrap_or_default()
                .into_iter()
                .map(|(t, n)| (t, n.count()))
                .collect(),
            points,
        });
    }
    Ok(History {
        resolution,
        from,
        to,
        series,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolutions_by_name() {
        assert_eq!(parse_resolution("quarter").ok(), Some(Period::Quarter));
        let err = parse_resolution("fortnight").err().map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("hour, day")));
    }
}
