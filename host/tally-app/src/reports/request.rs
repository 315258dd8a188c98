//! Report requests: which report, over what, and parsed from the API's query strings and the
//! CLI's options (one parser for both), with the errors a request can meet.

use std::fmt;

use chrono::{DateTime, NaiveDate};
use serde::{Deserialize, Serialize};
use tally_core::period::{DAY, Period};
use tally_core::users::Counting;
use tally_store::StoreError;

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

    /// What the report shows, in one line (`tally report --help`, the reports page): in words,
    /// not option syntax, as both read it.
    pub fn about(self) -> &'static str {
        match self {
            ReportName::Usage => {
                "licenses in use per feature and period: average, peak, license-hours, denials, users"
            }
            ReportName::Features => {
                "per feature: peak and average in use, utilisation % of the issued licenses, denials"
            }
            ReportName::Unused => "features no license of which was held in the window",
            ReportName::Underused => {
                "used features whose peak stayed below a share (below, in %) of the issued licenses"
            }
            ReportName::Users => {
                "license-hours and denials per feature and user (or by host, or user and host)"
            }
            ReportName::Hosts => {
                "license-hours and denials per feature and host (or by user, or user and host)"
            }
            ReportName::Denials => {
                "refusals per feature, cause (capacity, configuration, other) and reason, most refused first"
            }
            ReportName::Heatmap => {
                "average and peak in use per weekday and hour of day (the server's local hours when its time zone is set, else UTC)"
            }
            ReportName::Sflm => {
                "SFLM's summaries per day, week, month or year, with a line per user if asked"
            }
            ReportName::UserCount => {
                "unique users (counted by user and host, or by user name) and hosts over the last 14 days or all history"
            }
        }
    }
}

impl ReportName {
    /// The options (query parameters, `--` options of `tally report`) it reads; any other
    /// given is refused, not ignored.
    pub fn options(self) -> &'static [&'static str] {
        const WINDOW: [&str; 6] = ["server", "feature", "from", "to", "sort", "top"];
        match self {
            ReportName::Usage => &["server", "feature", "from", "to", "sort", "top", "period"],
            ReportName::Underused => &["server", "feature", "from", "to", "sort", "top", "below"],
            ReportName::Users | ReportName::Hosts => {
                &["server", "feature", "from", "to", "sort", "top", "by"]
            }
            ReportName::Sflm => &[
                "server", "feature", "from", "to", "sort", "top", "period", "per_user", "compact",
            ],
            ReportName::UserCount => &[
                "server", "feature", "from", "to", "sort", "top", "counting", "window", "denied",
            ],
            ReportName::Features
            | ReportName::Unused
            | ReportName::Denials
            | ReportName::Heatmap => &WINDOW,
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
    /// `sflm`: the period's figures only, not per hour of the day and weekday.
    pub compact: bool,
    /// `user-count`: what one user is.
    pub counting: Counting,
    /// `user-count`: the last N days up to `to` (or now); `None`: all history (within the window).
    pub window_days: Option<u32>,
    /// `user-count`: count users seen only in denials (Model 2019 does, 2013 does not).
    pub denied: bool,
    /// The column to sort the rows by (numbers largest first); `None`: the report's own order.
    pub sort: Option<String>,
    /// Only the first rows (after sorting).
    pub top: Option<usize>,
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
            compact: false,
            counting: Counting::Username,
            window_days: None,
            denied: false,
            sort: None,
            top: None,
        }
    }

    /// A request from text, as typed on the command line or in a URL query.
    pub fn parse(name: &str, q: &ReportQuery) -> Result<ReportRequest, ReportError> {
        let name: ReportName = name.parse()?;
        if let Some(other) = q.given().into_iter().find(|o| !name.options().contains(o)) {
            return Err(ReportError::Invalid(format!(
                "the {name} report takes no `{other}`; it takes {}",
                list(name.options().iter().copied())
            )));
        }
        let mut r = ReportRequest::new(name);
        r.sort = q.sort.clone().filter(|s| !s.is_empty());
        r.top = q.top.map(|n| n as usize);
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
                    "below {b}: give a percentage of the issued licenses, e.g. 50"
                )));
            }
            r.below = b;
        }
        r.per_user = q.per_user.unwrap_or(false);
        r.compact = q.compact.unwrap_or(false);
        r.denied = q.denied.unwrap_or(false);
        if let Some(c) = q.counting.as_deref() {
            r.counting = match c {
                "user-host" => Counting::UserHost,
                "username" => Counting::Username,
                _ => {
                    return Err(ReportError::Invalid(format!(
                        "counting `{c}`: use user-host or username"
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
    pub compact: Option<bool>,
    pub counting: Option<String>,
    pub window: Option<String>,
    pub denied: Option<bool>,
    pub sort: Option<String>,
    pub top: Option<u32>,
}

impl ReportQuery {
    /// The options given: those set, and the switches turned on.
    fn given(&self) -> Vec<&'static str> {
        [
            ("server", self.server.is_some()),
            ("feature", self.feature.is_some()),
            ("from", self.from.is_some()),
            ("to", self.to.is_some()),
            ("period", self.period.is_some()),
            ("by", self.by.is_some()),
            ("below", self.below.is_some()),
            ("per_user", self.per_user == Some(true)),
            ("compact", self.compact == Some(true)),
            ("counting", self.counting.is_some()),
            ("window", self.window.is_some()),
            ("denied", self.denied == Some(true)),
            ("sort", self.sort.is_some()),
            ("top", self.top.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, given)| given.then_some(name))
        .collect()
    }
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
            "quarter" => Some(Period::Quarter),
            "year" => Some(Period::Year),
            _ => None,
        };
        (
            p,
            "hour, day, week (ISO), sunday-week, month, quarter or year",
        )
    };
    period.ok_or_else(|| ReportError::Invalid(format!("period `{text}`: use {allowed}")))
}

fn parse_grouping(text: &str) -> Result<Grouping, ReportError> {
    match text {
        "user" => Ok(Grouping::User),
        "host" => Ok(Grouping::Host),
        "user-host" => Ok(Grouping::UserHost),
        _ => Err(ReportError::Invalid(format!(
            "by `{text}`: use user, host or user-host"
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
                "window `{text}`: use a number of days like 14d, or all"
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
    /// The window holds more rows than a report reads (its text says what to ask instead).
    #[error("{0}")]
    TooLarge(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// `a, b, c`, or `(none)`.
pub(super) fn list<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> String {
    let v: Vec<String> = items.into_iter().map(|s| s.as_ref().to_string()).collect();
    if v.is_empty() {
        "(none)".into()
    } else {
        v.join(", ")
    }
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
        let weekly = ReportQuery {
            period: Some("week".into()),
            ..ReportQuery::default()
        };
        let r = ReportRequest::parse("sflm", &weekly).ok();
        assert_eq!(r.as_ref().map(|r| r.period), Some(Some(Period::SundayWeek)));
        let r = ReportRequest::parse("usage", &weekly).ok();
        assert_eq!(r.as_ref().map(|r| r.period), Some(Some(Period::Week)));
        let counted = ReportQuery {
            window: Some("14d".into()),
            counting: Some("user-host".into()),
            sort: Some("users".into()),
            top: Some(3),
            ..ReportQuery::default()
        };
        let r = ReportRequest::parse("user-count", &counted).ok();
        assert_eq!(r.as_ref().map(|r| r.window_days), Some(Some(14)));
        assert_eq!(
            r.as_ref().map(|r| (r.sort.as_deref(), r.top)),
            Some((Some("users"), Some(3)))
        );
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
        // An option of another report is refused, not ignored.
        assert_eq!(
            bad("features", weekly),
            "the features report takes no `period`; it takes server, feature, from, to, sort, top"
        );
        let per_user_off = ReportQuery {
            per_user: Some(false),
            ..ReportQuery::default()
        };
        assert!(
            bad("usage", per_user_off).is_empty(),
            "a switch left off is not given"
        );
    }
}
