//! The reports as users reach them: one assembly for `tally report`, `GET /api/v1/reports/{name}`
//! and the report-latency bench. [`run`] reads the rollups and logged hours of each server asked
//! about, hands them to the `tally_core::report` function, and names the rows (servers, features,
//! users and hosts by name, never by id).
//!
//! A server's averages are over its own logged hours (`Store::logged_hours`), so every report is
//! computed server by server and the rows put together; user counts span the servers.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Serialize, Serializer};
use tally_core::period::{DAY, Logged, Period, Weekday};
use tally_core::report::{self, By, FeatureStats, Totals, sflm};
use tally_core::rollup::{FeatureKey, HourRollup, UserHour};
use tally_core::users::{self, Counting, Rule, Window};
use tally_store::{FeatureInfo, RollupFilter, Server, Store, StoreError};

use crate::App;

/// Which report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReportName {
    Usage,
    Features,
    Unused,
    Underused,
    Users,
    Hosts,
    Denials,
    Heatmap,
    Sflm,
    UserCount,
}

impl ReportName {
    pub const ALL: [ReportName; 10] = [
        ReportName::Usage,
        ReportName::Features,
        ReportName::Unused,
        ReportName::Underused,
        ReportName::Users,
        ReportName::Hosts,
        ReportName::Denials,
        ReportName::Heatmap,
        ReportName::Sflm,
        ReportName::UserCount,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReportName::Usage => "usage",
            ReportName::Features => "features",
            ReportName::Unused => "unused",
            ReportName::Underused => "underused",
            ReportName::Users => "users",
            ReportName::Hosts => "hosts",
            ReportName::Denials => "denials",
            ReportName::Heatmap => "heatmap",
            ReportName::Sflm => "sflm",
            ReportName::UserCount => "user-count",
        }
    }

    /// What the report shows, in one line (`tally report --help`).
    pub fn about(self) -> &'static str {
        match self {
            ReportName::Usage => {
                "licenses in use per feature and --period: average, peak, license-hours, denials, users"
            }
            ReportName::Features => {
                "per feature: peak and average in use, utilisation % of the issued licenses, denials"
            }
            ReportName::Unused => "features no license of which was held in the window",
            ReportName::Underused => {
                "used features whose peak stayed below --below % of the issued licenses"
            }
            ReportName::Users => {
                "license-hours and denials per feature and user (--by host|user-host)"
            }
            ReportName::Hosts => {
                "license-hours and denials per feature and host (--by user|user-host)"
            }
            ReportName::Denials => "denials per feature and user, most refused first",
            ReportName::Heatmap => "average and peak in use per weekday and UTC hour of day",
            ReportName::Sflm => {
                "the SFLM summary files (seed 004) per --period day|week|month|year, --per-user lines"
            }
            ReportName::UserCount => {
                "unique users (--counting user-host|username) and hosts over --window 14d|all"
            }
        }
    }
}

impl fmt::Display for ReportName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ReportName {
    type Err = ReportError;
    fn from_str(s: &str) -> Result<ReportName, ReportError> {
        ReportName::ALL
            .into_iter()
            .find(|n| n.as_str() == s)
            .ok_or_else(|| {
                ReportError::Invalid(format!(
                    "there is no report `{s}`; the reports are {}",
                    list(ReportName::ALL.map(ReportName::as_str))
                ))
            })
    }
}

/// How `users`/`hosts` group license-hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grouping {
    User,
    Host,
    UserHost,
}

/// A report to run. Build it with [`ReportRequest::new`] (defaults) or from the API's strings
/// with [`ReportRequest::parse`].
#[derive(Debug, Clone, PartialEq)]
pub struct ReportRequest {
    pub name: ReportName,
    /// Server name; `None`: every server.
    pub server: Option<String>,
    /// Feature name; `None`: every feature.
    pub feature: Option<String>,
    /// The window, `[from, to)` in Unix seconds; `None`: unbounded.
    pub from: Option<i64>,
    pub to: Option<i64>,
    /// `usage`: its resolution (default day). `sflm`: the summary file (day, sunday-week, month,
    /// year; default day).
    pub period: Option<Period>,
    /// `users`, `hosts`: the grouping (default per user, per host).
    pub by: Option<Grouping>,
    /// `underused`: the peak threshold in % of the issued licenses.
    pub below: f64,
    /// `sflm`: add a line per user and product.
    pub per_user: bool,
    /// `user-count`: what one user is.
    pub counting: Counting,
    /// `user-count`: the last N days up to `to` (or now); `None`: all history (within the window).
    pub window_days: Option<u32>,
    /// `user-count`: count users seen only in denials (Model 2019 does, 2013 does not).
    pub denied: bool,
}

impl ReportRequest {
    pub fn new(name: ReportName) -> ReportRequest {
        ReportRequest {
            name,
            server: None,
            feature: None,
            from: None,
            to: None,
            period: None,
            by: None,
            below: 50.0,
            per_user: false,
            counting: Counting::Username,
            window_days: None,
            denied: false,
        }
    }

    /// A request from text, as typed on the command line or in a URL query.
    pub fn parse(name: &str, q: &ReportQuery) -> Result<ReportRequest, ReportError> {
        let name: ReportName = name.parse()?;
        let mut r = ReportRequest::new(name);
        r.server = q.server.clone().filter(|s| !s.is_empty());
        r.feature = q.feature.clone().filter(|s| !s.is_empty());
        r.from = q
            .from
            .as_deref()
            .map(|t| parse_time(t, false))
            .transpose()?;
        r.to = q.to.as_deref().map(|t| parse_time(t, true)).transpose()?;
        r.period = q
            .period
            .as_deref()
            .map(|p| parse_period(name, p))
            .transpose()?;
        r.by = q.by.as_deref().map(parse_grouping).transpose()?;
        if let Some(b) = q.below {
            if !(b.is_finite() && b >= 0.0) {
                return Err(ReportError::Invalid(format!(
                    "--below {b}: give a percentage of the issued licenses, e.g. 50"
                )));
            }
            r.below = b;
        }
        r.per_user = q.per_user.unwrap_or(false);
        r.denied = q.denied.unwrap_or(false);
        if let Some(c) = q.counting.as_deref() {
            r.counting = match c {
                "user-host" => Counting::UserHost,
                "username" => Counting::Username,
                _ => {
                    return Err(ReportError::Invalid(format!(
                        "--counting `{c}`: use user-host or username"
                    )));
                }
            };
        }
        r.window_days = q.window.as_deref().map(parse_window).transpose()?.flatten();
        Ok(r)
    }
}

/// A report request as text: the API's query string, the CLI's options.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ReportQuery {
    pub server: Option<String>,
    pub feature: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub period: Option<String>,
    pub by: Option<String>,
    pub below: Option<f64>,
    pub per_user: Option<bool>,
    pub counting: Option<String>,
    pub window: Option<String>,
    pub denied: Option<bool>,
}

/// A date (`2024-03-01`, UTC) or an RFC 3339 instant (`2024-03-01T08:00:00Z`). As the end of a
/// window (`to_end`) a date includes its whole day: `--to 2024-03-31` ends at April 1st 00:00.
pub fn parse_time(text: &str, to_end: bool) -> Result<i64, ReportError> {
    if let Ok(d) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        let midnight = d.and_hms_opt(0, 0, 0).map(|t| t.and_utc().timestamp());
        if let Some(t) = midnight {
            return Ok(if to_end { t + DAY } else { t });
        }
    }
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.timestamp())
        .map_err(|_| {
            ReportError::Invalid(format!(
                "`{text}` is not a date like 2024-03-01 or a time like 2024-03-01T08:00:00Z"
            ))
        })
}

fn parse_period(name: ReportName, text: &str) -> Result<Period, ReportError> {
    let (period, allowed) = if name == ReportName::Sflm {
        let p = match text {
            "day" => Some(Period::Day),
            // The SFLM week runs Sunday to Saturday (seed 004).
            "week" | "sunday-week" => Some(Period::SundayWeek),
            "month" => Some(Period::Month),
            "year" => Some(Period::Year),
            _ => None,
        };
        (p, "day, week (Sunday to Saturday), month or year")
    } else {
        let p = match text {
            "hour" => Some(Period::Hour),
            "day" => Some(Period::Day),
            "week" => Some(Period::Week),
            "sunday-week" => Some(Period::SundayWeek),
            "month" => Some(Period::Month),
            "year" => Some(Period::Year),
            _ => None,
        };
        (p, "hour, day, week (ISO), sunday-week, month or year")
    };
    period.ok_or_else(|| ReportError::Invalid(format!("--period `{text}`: use {allowed}")))
}

fn parse_grouping(text: &str) -> Result<Grouping, ReportError> {
    match text {
        "user" => Ok(Grouping::User),
        "host" => Ok(Grouping::Host),
        "user-host" => Ok(Grouping::UserHost),
        _ => Err(ReportError::Invalid(format!(
            "--by `{text}`: use user, host or user-host"
        ))),
    }
}

/// `14d` → 14 days; `all` → all history.
fn parse_window(text: &str) -> Result<Option<u32>, ReportError> {
    if text == "all" {
        return Ok(None);
    }
    text.strip_suffix('d')
        .and_then(|n| n.parse::<u32>().ok())
        .filter(|&n| n > 0)
        .map(Some)
        .ok_or_else(|| {
            ReportError::Invalid(format!(
                "--window `{text}`: use a number of days like 14d, or all"
            ))
        })
}

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The request itself is wrong (its text says how).
    #[error("{0}")]
    Invalid(String),
    #[error("no license server is called `{name}`; the servers are: {known}")]
    UnknownServer { name: String, known: String },
    #[error("no feature is called `{name}`{on}; the features are: {known}")]
    UnknownFeature {
        name: String,
        on: String,
        known: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl IntoResponse for ReportError {
    fn into_response(self) -> Response {
        let status = match &self {
            ReportError::Invalid(_) => StatusCode::BAD_REQUEST,
            ReportError::UnknownServer { .. } | ReportError::UnknownFeature { .. } => {
                StatusCode::NOT_FOUND
            }
            ReportError::Store(e) => {
                tracing::error!("report failed: {e}");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        (
            status,
            Json(serde_json::json!({ "error": self.to_string() })),
        )
            .into_response()
    }
}

/// `a, b, c`, or `(none)`.
fn list<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> String {
    let v: Vec<String> = items.into_iter().map(|s| s.as_ref().to_string()).collect();
    if v.is_empty() {
        "(none)".into()
    } else {
        v.join(", ")
    }
}

/// One value of a report row.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Int(u64),
    Num(f64),
    Empty,
}

impl Cell {
    fn opt_num(v: Option<f64>) -> Cell {
        v.map_or(Cell::Empty, Cell::Num)
    }
}

impl Serialize for Cell {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Cell::Text(t) => s.serialize_str(t),
            Cell::Int(n) => s.serialize_u64(*n),
            Cell::Num(x) => s.serialize_f64(*x),
            Cell::Empty => s.serialize_none(),
        }
    }
}

impl fmt::Display for Cell {
    /// The exact value (CSV): floats in their shortest round-trip form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cell::Text(t) => f.write_str(t),
            Cell::Int(n) => write!(f, "{n}"),
            Cell::Num(x) => write!(f, "{x}"),
            Cell::Empty => Ok(()),
        }
    }
}

impl From<&str> for Cell {
    fn from(s: &str) -> Cell {
        Cell::Text(s.to_string())
    }
}
impl From<String> for Cell {
    fn from(s: String) -> Cell {
        Cell::Text(s)
    }
}
impl From<u64> for Cell {
    fn from(n: u64) -> Cell {
        Cell::Int(n)
    }
}
impl From<f64> for Cell {
    fn from(x: f64) -> Cell {
        Cell::Num(x)
    }
}

/// A report's answer: named columns and rows of cells. Serialises as a JSON array of objects
/// whose keys keep the column order.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportRows {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

impl ReportRows {
    fn new(columns: &[&str]) -> ReportRows {
        ReportRows {
            columns: columns.iter().map(|c| c.to_string()).collect(),
            rows: Vec::new(),
        }
    }
}

impl Serialize for ReportRows {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct Row<'a>(&'a [String], &'a [Cell]);
        impl Serialize for Row<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut m = s.serialize_map(Some(self.0.len()))?;
                for (c, v) in self.0.iter().zip(self.1) {
                    m.serialize_entry(c, v)?;
                }
                m.end()
            }
        }
        let mut seq = s.serialize_seq(Some(self.rows.len()))?;
        for r in &self.rows {
            seq.serialize_element(&Row(&self.columns, r))?;
        }
        seq.end()
    }
}

/// `GET /api/v1/reports/{name}?server=&feature=&from=&to=&period=…`: what `tally report NAME
/// --format json` prints.
pub async fn answer(
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
    Query(query): Query<ReportQuery>,
) -> Result<Json<ReportRows>, ReportError> {
    let request = ReportRequest::parse(&name, &query)?;
    Ok(Json(run(&app.store, &request).await?))
}

/// What one server contributes: its rollups in the window and its logged hours.
struct Part {
    hours: Vec<HourRollup>,
    users: Vec<UserHour>,
    /// With rows added up over the window, the hours that had rows (logged hours too).
    active: Vec<i64>,
    logged: Logged,
    /// Its features asked about.
    features: Vec<FeatureInfo>,
}

/// Names of what the rows refer to.
struct Names {
    servers: BTreeMap<i64, String>,
    features: BTreeMap<i64, String>,
    users: BTreeMap<i64, String>,
    hosts: BTreeMap<i64, String>,
}

impl Names {
    fn server(&self, id: i64) -> Cell {
        name_of(&self.servers, id)
    }
    fn feature(&self, key: FeatureKey) -> Cell {
        name_of(&self.features, key.feature)
    }
    fn user(&self, id: Option<i64>) -> Cell {
        id.map_or(Cell::Empty, |id| name_of(&self.users, id))
    }
    fn host(&self, id: Option<i64>) -> Cell {
        id.map_or(Cell::Empty, |id| name_of(&self.hosts, id))
    }
}

fn name_of(names: &BTreeMap<i64, String>, id: i64) -> Cell {
    Cell::Text(names.get(&id).cloned().unwrap_or_else(|| format!("#{id}")))
}

/// Runs a report: the one code path of the CLI, the API and the bench.
pub async fn run(store: &Store, req: &ReportRequest) -> Result<ReportRows, ReportError> {
    // By name.
    let servers = store.servers().await?;
    let chosen: Vec<Server> = match &req.server {
        Some(name) => {
            let s = servers.iter().find(|s| &s.config.name == name).cloned();
            vec![s.ok_or_else(|| ReportError::UnknownServer {
                name: name.clone(),
                known: list(servers.iter().map(|s| s.config.name.as_str())),
            })?]
        }
        None => servers.clone(),
    };
    let all_features = store
        .features(
            chosen
                .first()
                .filter(|_| req.server.is_some())
                .map(|s| s.id),
        )
        .await?;
    if let Some(name) = &req.feature
        && !all_features.iter().any(|f| &f.name == name)
    {
        let known: BTreeSet<&str> = all_features.iter().map(|f| f.name.as_str()).collect();
        return Err(ReportError::UnknownFeature {
            name: name.clone(),
            on: req
                .server
                .as_ref()
                .map(|s| format!(" on `{s}`"))
                .unwrap_or_default(),
            known: list(known),
        });
    }

    // Per-user rows are the biggest read: only for the reports that show users or count them,
    // and added up in SQL for those that fold the whole window as one group.
    let reads = match req.name {
        ReportName::Usage | ReportName::Heatmap => Reads::Hourly { users: true },
        ReportName::Sflm => Reads::Hourly {
            users: req.per_user,
        },
        ReportName::Features => Reads::Totals {
            hours: true,
            users: true,
        },
        ReportName::Unused | ReportName::Underused => Reads::Totals {
            hours: true,
            users: false,
        },
        // Counts users from their sightings, below.
        ReportName::UserCount => Reads::Totals {
            hours: false,
            users: false,
        },
        ReportName::Users | ReportName::Hosts | ReportName::Denials => Reads::Totals {
            hours: false,
            users: true,
        },
    };
    let mut parts = Vec::new();
    if req.name != ReportName::UserCount {
        for server in &chosen {
            parts.push(part(store, req, server, &all_features, reads).await?);
        }
    }
    let users_needed = matches!(
        req.name,
        ReportName::Users | ReportName::Hosts | ReportName::Denials
    ) || req.name == ReportName::Sflm && req.per_user;
    let names = Names {
        servers: servers
            .iter()
            .map(|s| (s.id, s.config.name.clone()))
            .collect(),
        features: all_features
            .iter()
            .map(|f| (f.id, f.name.clone()))
            .collect(),
        users: if users_needed {
            store.names(true).await?
        } else {
            BTreeMap::new()
        },
        hosts: if users_needed {
            store.names(false).await?
        } else {
            BTreeMap::new()
        },
    };
    Ok(match req.name {
        ReportName::Usage => usage(req, &parts, &names),
        ReportName::Features => features(&parts, &names),
        ReportName::Unused => unused(&parts, &names),
        ReportName::Underused => underused(req, &parts, &names),
        ReportName::Users => usage_by(req.by.unwrap_or(Grouping::User), &parts, &names),
        ReportName::Hosts => usage_by(req.by.unwrap_or(Grouping::Host), &parts, &names),
        ReportName::Denials => denials(&parts, &names),
        ReportName::Heatmap => heatmap(&parts, &names),
        ReportName::Sflm => sflm_summary(req, &parts, &names),
        ReportName::UserCount => user_count(store, req, &chosen, &all_features).await?,
    })
}

/// What a report reads of the rollups.
#[derive(Debug, Clone, Copy)]
enum Reads {
    /// Hourly rows, per-user ones too when `users`: reports per period, cell or hour.
    Hourly { users: bool },
    /// Rows added up over the window (`Store::hour_totals`, `Store::user_totals`), those asked
    /// for: reports folding the whole window as one group, from far fewer rows.
    Totals { hours: bool, users: bool },
}

/// The rollups and logged hours of one server for `req`.
async fn part(
    store: &Store,
    req: &ReportRequest,
    server: &Server,
    all_features: &[FeatureInfo],
    reads: Reads,
) -> Result<Part, ReportError> {
    let features: Vec<FeatureInfo> = all_features
        .iter()
        .filter(|f| f.server_id == server.id)
        .filter(|f| req.feature.as_ref().is_none_or(|n| &f.name == n))
        .cloned()
        .collect();
    let filters: Vec<RollupFilter> = match &req.feature {
        // One feature name may be several features (vendors): read each.
        Some(_) => features.iter().map(|f| Some(f.id)).collect(),
        None => vec![None],
    }
    .into_iter()
    .map(|feature| RollupFilter {
        server: Some(server.id),
        feature,
        from: req.from,
        to: req.to,
    })
    .collect();
    let (mut hours, mut users, mut active) = (Vec::new(), Vec::new(), BTreeSet::new());
    for f in &filters {
        match reads {
            Reads::Hourly { users: with_users } => {
                hours.extend(store.hour_rollups(f).await?);
                if with_users {
                    users.extend(store.user_hours(f).await?);
                }
            }
            Reads::Totals {
                hours: with_hours,
                users: with_users,
            } => {
                if with_hours {
                    let (totals, hours_with_rows) = store.hour_totals(f).await?;
                    hours.extend(totals);
                    active.extend(hours_with_rows);
                }
                if with_users {
                    users.extend(store.user_totals(f).await?);
                }
            }
        }
    }
    if filters.len() > 1 {
        hours.sort_by_key(|h| (h.hour, h.feature));
        users.sort_by_key(|u| (u.hour, u.feature, u.user, u.host));
    }
    Ok(Part {
        logged: store.logged_hours(server.id, req.from, req.to).await?,
        hours,
        users,
        active: active.into_iter().collect(),
        features,
    })
}

const FIGURES: [&str; 11] = [
    "hours",
    "avg_in_use",
    "peak_in_use",
    "avg_desired",
    "peak_desired",
    "used_hours",
    "desired_hours",
    "denials",
    "checkouts",
    "users",
    "hosts",
];

fn figures(t: &Totals) -> [Cell; 11] {
    [
        t.hours.into(),
        t.avg_in_use.into(),
        t.peak_in_use.into(),
        t.avg_desired.into(),
        t.peak_desired.into(),
        t.used_hours.into(),
        t.desired_hours.into(),
        t.denials.into(),
        t.checkouts.into(),
        t.distinct_users.into(),
        t.distinct_hosts.into(),
    ]
}

fn with_columns(first: &[&str], rest: &[&str]) -> ReportRows {
    let cols: Vec<&str> = first.iter().chain(rest).copied().collect();
    ReportRows::new(&cols)
}

fn usage(req: &ReportRequest, parts: &[Part], names: &Names) -> ReportRows {
    let period = req.period.unwrap_or(Period::Day);
    let mut out = with_columns(&["server", "feature", "period"], &FIGURES);
    for p in parts {
        for u in report::usage_over_time(period, &p.hours, &p.users, &p.logged) {
            let mut row = vec![
                names.server(u.feature.server),
                names.feature(u.feature),
                u.label.into(),
            ];
            row.extend(figures(&u.totals));
            out.rows.push(row);
        }
    }
    out
}

/// Feature stats of a part over every feature asked about: those never used show as zeros.
fn stats(p: &Part) -> Vec<FeatureStats> {
    let issued: BTreeMap<FeatureKey, u32> = p
        .features
        .iter()
        .filter_map(|f| {
            let key = FeatureKey {
                server: f.server_id,
                feature: f.id,
            };
            f.issued.map(|n| (key, n))
        })
        .collect();
    let logged = p.logged.with(p.active.iter().copied());
    let mut stats = report::feature_stats(&p.hours, &p.users, &logged, &issued);
    // Features without an issued count and without rows are in the window too, idle.
    let known: BTreeSet<FeatureKey> = stats.iter().map(|s| s.feature).collect();
    for f in &p.features {
        let key = FeatureKey {
            server: f.server_id,
            feature: f.id,
        };
        if !known.contains(&key) {
            // Zero issued: a row of zeros over the logged hours, without percentages.
            let mut zero = report::feature_stats(&[], &[], &p.logged, &BTreeMap::from([(key, 0)]));
            for s in &mut zero {
                s.issued = f.issued;
            }
            stats.extend(zero);
        }
    }
    stats.sort_by_key(|s| s.feature);
    stats
}

fn features(parts: &[Part], names: &Names) -> ReportRows {
    let mut out = ReportRows::new(&[
        "server",
        "feature",
        "issued",
        "hours",
        "peak_in_use",
        "avg_in_use",
        "utilisation_pct",
        "peak_pct",
        "used_hours",
        "denials",
        "users",
    ]);
    for p in parts {
        for s in stats(p) {
            let t = &s.totals;
            out.rows.push(vec![
                names.server(s.feature.server),
                names.feature(s.feature),
                s.issued.map_or(Cell::Empty, |n| u64::from(n).into()),
                t.hours.into(),
                t.peak_in_use.into(),
                t.avg_in_use.into(),
                Cell::opt_num(s.utilisation_pct),
                Cell::opt_num(s.peak_pct),
                t.used_hours.into(),
                t.denials.into(),
                t.distinct_users.into(),
            ]);
        }
    }
    out
}

fn unused(parts: &[Part], names: &Names) -> ReportRows {
    let mut out = ReportRows::new(&["server", "feature", "issued", "hours"]);
    for p in parts {
        let stats = stats(p);
        for s in report::unused(&stats) {
            out.rows.push(vec![
                names.server(s.feature.server),
                names.feature(s.feature),
                s.issued.map_or(Cell::Empty, |n| u64::from(n).into()),
                s.totals.hours.into(),
            ]);
        }
    }
    out
}

fn underused(req: &ReportRequest, parts: &[Part], names: &Names) -> ReportRows {
    let mut out = ReportRows::new(&[
        "server",
        "feature",
        "issued",
        "peak_in_use",
        "peak_pct",
        "avg_in_use",
        "utilisation_pct",
    ]);
    for p in parts {
        let stats = stats(p);
        for s in report::underused(&stats, req.below) {
            out.rows.push(vec![
                names.server(s.feature.server),
                names.feature(s.feature),
                s.issued.map_or(Cell::Empty, |n| u64::from(n).into()),
                s.totals.peak_in_use.into(),
                Cell::opt_num(s.peak_pct),
                s.totals.avg_in_use.into(),
                Cell::opt_num(s.utilisation_pct),
            ]);
        }
    }
    out
}

fn usage_by(by: Grouping, parts: &[Part], names: &Names) -> ReportRows {
    let (group, core) = match by {
        Grouping::User => (&["user"][..], By::User),
        Grouping::Host => (&["host"][..], By::Host),
        Grouping::UserHost => (&["user", "host"][..], By::UserHost),
    };
    let mut cols = vec!["server", "feature"];
    cols.extend(group);
    cols.extend(["used_hours", "desired_hours", "denials", "checkouts"]);
    let mut out = ReportRows::new(&cols);
    for p in parts {
        for u in report::usage_by(&p.users, core) {
            let mut row = vec![names.server(u.feature.server), names.feature(u.feature)];
            if u.user.is_some() {
                row.push(names.user(u.user));
            }
            if u.host.is_some() {
                row.push(names.host(u.host));
            }
            row.extend([
                u.used_hours.into(),
                u.desired_hours.into(),
                u.denials.into(),
                u.checkouts.into(),
            ]);
            out.rows.push(row);
        }
    }
    out
}

fn denials(parts: &[Part], names: &Names) -> ReportRows {
    let mut out = ReportRows::new(&["server", "feature", "user", "denials"]);
    for p in parts {
        let mut rows: Vec<_> = report::usage_by(&p.users, By::User)
            .into_iter()
            .filter(|u| u.denials > 0)
            .collect();
        rows.sort_by_key(|u| (u.feature, std::cmp::Reverse(u.denials)));
        for u in rows {
            out.rows.push(vec![
                names.server(u.feature.server),
                names.feature(u.feature),
                names.user(u.user),
                u.denials.into(),
            ]);
        }
    }
    out
}

fn heatmap(parts: &[Part], names: &Names) -> ReportRows {
    let mut out = with_columns(&["server", "feature", "weekday", "hour"], &FIGURES);
    for p in parts {
        for c in report::heatmap(&p.hours, &p.users, &p.logged) {
            let mut row = vec![
                names.server(c.feature.server),
                names.feature(c.feature),
                c.weekday.name().into(),
                (c.hour as u64).into(),
            ];
            row.extend(figures(&c.totals));
            out.rows.push(row);
        }
    }
    out
}

/// Seed 004's columns after `Period` and `Server` (the day or week a line sums up, and the
/// license server: SFLM writes one directory of files per server and period). `UserName` is
/// empty on the all-users line. `ProductId` and `ProductName` are both the feature's name: the
/// SFLM importer keeps the name, and other managers identify a feature by its name.
fn sflm_summary(req: &ReportRequest, parts: &[Part], names: &Names) -> ReportRows {
    let mode = match req.period.unwrap_or(Period::Day) {
        Period::SundayWeek | Period::Week => sflm::Mode::Week,
        Period::Month => sflm::Mode::Month,
        Period::Year => sflm::Mode::Year,
        Period::Day | Period::Hour => sflm::Mode::Day,
    };
    let seven = |hours: &str, suffix: &str| {
        [
            hours.to_string(),
            format!("AverageDesired{suffix}"),
            format!("AverageUsed{suffix}"),
            format!("MaxDesired{suffix}"),
            format!("MaxUsed{suffix}"),
            format!("TotalDesired{suffix}"),
            format!("TotalUsed{suffix}"),
        ]
    };
    let mut columns: Vec<String> = ["Period", "Server", "UserName", "ProductId", "ProductName"]
        .map(String::from)
        .to_vec();
    columns.extend(seven("NrHours", ""));
    for h in 0..24 {
        columns.extend(seven(&format!("Hours{h:02}"), &format!("{h:02}")));
    }
    if mode != sflm::Mode::Day {
        for d in Weekday::ALL {
            columns.extend(seven(&format!("Hours{}", d.name()), d.name()));
        }
    }
    let cells = |f: &sflm::Figures| -> [Cell; 7] {
        [
            f.hours.into(),
            f.average_desired.into(),
            f.average_used.into(),
            f.max_desired.into(),
            f.max_used.into(),
            f.total_desired.into(),
            f.total_used.into(),
        ]
    };
    let mut lines: Vec<sflm::Line> = Vec::new();
    for p in parts {
        let users = req.per_user.then_some(&p.users[..]);
        lines.extend(sflm::summary(mode, &p.hours, users, &p.logged));
    }
    // By period, then server, product and user names (the all-users line first).
    let text = |c: Cell| c.to_string();
    lines.sort_by_cached_key(|l| {
        (
            l.start,
            text(names.server(l.feature.server)),
            text(names.feature(l.feature)),
            l.user.map(|u| text(names.user(Some(u)))),
        )
    });
    let rows = lines
        .iter()
        .map(|l| {
            let product = names.feature(l.feature);
            let mut row = vec![
                mode.period().label(l.start).into(),
                names.server(l.feature.server),
                names.user(l.user),
                product.clone(),
                product,
            ];
            row.extend(cells(&l.all));
            for f in &l.by_hour {
                row.extend(cells(f));
            }
            for f in l.by_weekday.iter().flatten() {
                row.extend(cells(f));
            }
            row
        })
        .collect();
    ReportRows { columns, rows }
}

async fn user_count(
    store: &Store,
    req: &ReportRequest,
    chosen: &[Server],
    features: &[FeatureInfo],
) -> Result<ReportRows, ReportError> {
    let now = req.to.unwrap_or_else(crate::now);
    let window = match req.window_days {
        Some(days) => Window::LastDays { days, now },
        None => Window::AllHistory,
    };
    let from = match window {
        Window::LastDays { days, now } => Some(now - i64::from(days) * DAY).max(req.from),
        Window::AllHistory => req.from,
    };
    let mut seen = Vec::new();
    for server in chosen {
        let ids: Vec<Option<i64>> = match &req.feature {
            Some(n) => features
                .iter()
                .filter(|f| f.server_id == server.id && &f.name == n)
                .map(|f| Some(f.id))
                .collect(),
            None => vec![None],
        };
        for feature in ids {
            let filter = RollupFilter {
                server: Some(server.id),
                feature,
                from,
                to: req.to,
            };
            seen.extend(store.sightings(&filter).await?);
        }
    }
    let rule = Rule {
        counting: req.counting,
        window,
        denials: req.denied,
    };
    let n = users::count(seen, &rule);
    let mut out = ReportRows::new(&["counting", "window", "users", "hosts"]);
    out.rows.push(vec![
        match req.counting {
            Counting::UserHost => "user-host",
            Counting::Username => "username",
        }
        .into(),
        req.window_days
            .map_or_else(|| "all".to_string(), |d| format!("{d}d"))
            .into(),
        n.users.into(),
        n.hosts.into(),
    ]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_dates_or_rfc3339() {
        // 2024-03-01T00:00Z.
        let t0 = 1_709_251_200;
        assert_eq!(parse_time("2024-03-01", false).ok(), Some(t0));
        assert_eq!(parse_time("2024-03-01", true).ok(), Some(t0 + DAY));
        assert_eq!(
            parse_time("2024-03-01T08:00:00+01:00", true).ok(),
            Some(t0 + 7 * 3_600)
        );
        let err = parse_time("yesterday", false).err().map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("2024-03-01")));
    }

    #[test]
    fn requests_from_text() {
        let q = ReportQuery {
            period: Some("week".into()),
            window: Some("14d".into()),
            counting: Some("user-host".into()),
            ..ReportQuery::default()
        };
        let r = ReportRequest::parse("sflm", &q).ok();
        assert_eq!(r.as_ref().map(|r| r.period), Some(Some(Period::SundayWeek)));
        let r = ReportRequest::parse("usage", &q).ok();
        assert_eq!(r.as_ref().map(|r| r.period), Some(Some(Period::Week)));
        assert_eq!(r.as_ref().map(|r| r.window_days), Some(Some(14)));
        assert_eq!(r.map(|r| r.counting), Some(Counting::UserHost));
        let bad = |name: &str, q: ReportQuery| {
            ReportRequest::parse(name, &q)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        assert!(bad("usage", ReportQuery::default()).is_empty());
        assert!(bad("usages", ReportQuery::default()).contains("user-count"));
        let hourly_sflm = ReportQuery {
            period: Some("hour".into()),
            ..ReportQuery::default()
        };
        assert!(bad("sflm", hourly_sflm).contains("day, week"));
        let window = ReportQuery {
            window: Some("two weeks".into()),
            ..ReportQuery::default()
        };
        assert!(bad("user-count", window).contains("14d"));
    }

    #[test]
    fn rows_serialise_in_column_order() -> Result<(), serde_json::Error> {
        let rows = ReportRows {
            columns: vec!["z".into(), "a".into(), "n".into()],
            rows: vec![vec!["x".into(), 2u64.into(), Cell::Empty]],
        };
        assert_eq!(
            serde_json::to_string(&rows)?,
            r#"[{"z":"x","a":2,"n":null}]"#
        );
        assert_eq!(Cell::Num(0.75).to_string(), "0.75");
        Ok(())
    }
}
