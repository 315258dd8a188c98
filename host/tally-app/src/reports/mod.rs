//! The reports as users reach them: one assembly for `tally report`, `GET /api/v1/reports/{name}`
//! and the report-latency bench. [`run`] reads the rollups and logged hours of each server asked
//! about, hands them to the `tally_core::report` function, and names the rows (servers, features,
//! users and hosts by name, never by id).
//!
//! A server's averages are over its own logged hours (`Store::logged_hours`), so every report is
//! computed server by server and the rows put together; user counts span the servers.
//!
//! | module | holds |
//! | --- | --- |
//! | [`request`] | which report, its options, parsing them, and its errors |
//! | [`rows`] | the answer: columns and cells |
//! | `shapes` | each report's rows from the servers' parts |
//! | here | [`run`]: reading each server's part and handing it to its report |

mod request;
mod rows;
mod shapes;

pub use request::{Grouping, ReportError, ReportName, ReportQuery, ReportRequest, parse_time};
pub use rows::{Cell, ReportRows};

use std::collections::{BTreeMap, BTreeSet};

use tally_core::period::{DAY, HOUR, Logged, Period, hour_ceil, hour_start};
use tally_core::refusal::RefusalRecord;
use tally_core::rollup::{FeatureKey, Grain, HourRollup, UserHour};
use tally_core::users::{self, Counting, Rule, Window};
use tally_core::zone::Zone;
use tally_store::{FeatureInfo, Party, RollupFilter, Server, Store, StoreError};

use request::list;

/// What one server contributes: its rollups in the window and its logged hours.
struct Part {
    hours: Vec<HourRollup>,
    users: Vec<UserHour>,
    logged: Logged,
    /// Its features asked about.
    features: Vec<FeatureInfo>,
    /// Licences issued per feature at the window's end, where a count is known (polled, logged,
    /// from a license file or entered): features without one show no percentage.
    issued: BTreeMap<FeatureKey, u32>,
    /// Its refusals in the window with their causes (the denials report only).
    refusals: Vec<RefusalRecord>,
    /// Its time zone, when set: periods and heatmap cells are then local.
    zone: Option<Zone>,
    /// Distinct users and hosts counted in SQL, `users` then empty: a usage report's from day
    /// or month rows, of its periods of several rows (`report::usage_over_time_counted`); the
    /// features report's over the window (period start 0).
    counted: Option<BTreeMap<(FeatureKey, i64), (u64, u64)>>,
    /// `hours` and `users` are rows of days or months (and hours at the window's ends), of
    /// heatmap cells, or added up over the window, and `logged` holds every hour with data
    /// already (see [`with_hours_of_data`]).
    periods: bool,
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

/// Runs a report: the one code path of the CLI, the API and the bench. A report whose window
/// holds more rows than one read may return (`tally_store::MAX_READ_ROWS`) is refused
/// ([`ReportError::TooLarge`]) rather than read whole.
pub async fn run(store: &Store, req: &ReportRequest) -> Result<ReportRows, ReportError> {
    match assemble(store, req).await {
        Err(ReportError::Store(e @ StoreError::TooManyRows { .. })) => {
            Err(ReportError::TooLarge(e.to_string()))
        }
        other => other,
    }
}

async fn assemble(store: &Store, req: &ReportRequest) -> Result<ReportRows, ReportError> {
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
        ReportName::Usage => Reads::Hourly { users: true },
        // Cells' distinct users are the most in one hour: from the hourly rows' own counts.
        ReportName::Heatmap => Reads::Hourly { users: false },
        ReportName::Sflm => Reads::Hourly {
            users: req.per_user,
        },
        // Users only counted: in SQL (`Store::distinct_users`).
        ReportName::Features => Reads::Totals {
            hours: true,
            users: false,
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
        ReportName::Users | ReportName::Hosts => Reads::Totals {
            hours: false,
            users: true,
        },
        // Reads the refusals themselves, with their causes.
        ReportName::Denials => Reads::Totals {
            hours: false,
            users: false,
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
            store.user_names().await?
        } else {
            BTreeMap::new()
        },
        hosts: if users_needed {
            store.host_names().await?
        } else {
            BTreeMap::new()
        },
    };
    let rows = match req.name {
        ReportName::Usage => shapes::usage(req, &parts, &names),
        ReportName::Features => shapes::features(&parts, &names),
        ReportName::Unused => shapes::unused(&parts, &names),
        ReportName::Underused => shapes::underused(req, &parts, &names),
        ReportName::Users => shapes::usage_by(req.by.unwrap_or(Grouping::User), &parts, &names),
        ReportName::Hosts => shapes::usage_by(req.by.unwrap_or(Grouping::Host), &parts, &names),
        ReportName::Denials => shapes::denials(&parts, &names),
        ReportName::Heatmap => shapes::heatmap(&parts, &names),
        ReportName::Sflm => shapes::sflm_summary(req, &parts, &names),
        ReportName::UserCount => user_count(store, req, &chosen, &all_features).await?,
    };
    rows.arranged(req.name, req.sort.as_deref(), req.top)
}

/// What a report reads of the rollups.
#[derive(Debug, Clone, Copy)]
enum Reads {
    /// Hourly rows, per-user ones too when `users`: reports per period, cell or hour.
    Hourly { users: bool },
    /// The rows of the window's months, days and end hours (`Store::rollups`) and the per-user
    /// rows added up over it (`Store::user_period_totals`), those asked for: reports folding
    /// the whole window as one group, from far fewer rows than its hours.
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
    let zone = store.time_zone(server.id).await?;
    let mut logged = store.logged_hours(server.id, req.from, req.to).await?;
    // A usage report in UTC periods reads the coarsest rows within its period: a day or a
    // month per row instead of each hour's (local periods do not follow UTC days).
    let period = req.period.unwrap_or(Period::Day);
    let grain = match (req.name, &zone) {
        (ReportName::Usage, None) => Grain::within(period),
        _ => Grain::Hour,
    };
    // A heatmap in UTC reads its cells folded in SQL from the year and month cells and the
    // hours at the window's ends: 168 rows per feature and piece, not every hour.
    let cells = req.name == ReportName::Heatmap && zone.is_none();
    let (mut hours, mut users, mut counted) = (Vec::new(), Vec::new(), BTreeMap::new());
    for f in &filters {
        match reads {
            Reads::Hourly { .. } if cells => {
                let cell_hours = store.week_cells(f).await?;
                // The months with data find the hours with data the logged hours miss.
                let months = store.rollups(f, Grain::Month).await?;
                logged = with_hours_of_data(store, f, Grain::Month, &months, logged).await?;
                hours.extend(cell_hours);
            }
            Reads::Hourly { users: with_users } if grain != Grain::Hour => {
                let rows = store.rollups(f, grain).await?;
                logged = with_hours_of_data(store, f, grain, &rows, logged).await?;
                if with_users {
                    counted.extend(counted_users(store, f, period, &rows).await?);
                }
                hours.extend(rows);
            }
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
                    let rows = store.rollups(f, Grain::Month).await?;
                    logged = with_hours_of_data(store, f, Grain::Month, &rows, logged).await?;
                    hours.extend(rows);
                }
                if with_users {
                    // Grouped by user or host alone: from their own month totals, a third of
                    // the rows per user and host.
                    let by = match (req.name, req.by) {
                        (_, Some(Grouping::UserHost)) => None,
                        (ReportName::Users, None) | (_, Some(Grouping::User)) => Some(Party::User),
                        (_, None) | (_, Some(Grouping::Host)) => Some(Party::Host),
                    };
                    users.extend(match by {
                        Some(party) => store.party_period_totals(f, party).await?,
                        None => store.user_period_totals(f).await?,
                    });
                }
                if req.name == ReportName::Features {
                    for (key, n) in store.distinct_users(f).await? {
                        counted.insert((key, 0), n);
                    }
                }
            }
        }
    }
    if filters.len() > 1 {
        hours.sort_by_key(|h| (h.hour, h.feature));
        users.sort_by_key(|u| (u.hour, u.feature, u.user, u.host));
    }
    let refusals = if req.name == ReportName::Denials {
        let mut all = Vec::new();
        for f in &filters {
            all.extend(store.refusals(f).await?);
        }
        all
    } else {
        Vec::new()
    };
    Ok(Part {
        issued: store
            .issued_at(&[server.id], req.to.unwrap_or_else(crate::now))
            .await?,
        refusals,
        zone,
        logged,
        periods: grain != Grain::Hour || cells || matches!(reads, Reads::Totals { .. }),
        counted: (req.name == ReportName::Features || grain != Grain::Hour).then_some(counted),
        hours,
        users,
        features,
    })
}

/// The distinct users and hosts of the periods of several rows among `rows` (read for
/// `filter` at the coarsest grain within `period`), counted in SQL, every period in one
/// statement: a week of day rows, a year of month rows, a month or day cut by the window's
/// ends. A period of one
/// row (a day of a day row, a month of a month row) counts its own
/// (`report::usage_over_time_counted`).
async fn counted_users(
    store: &Store,
    filter: &RollupFilter,
    period: Period,
    rows: &[HourRollup],
) -> Result<BTreeMap<(FeatureKey, i64), (u64, u64)>, StoreError> {
    let mut per_period: BTreeMap<(FeatureKey, i64), u32> = BTreeMap::new();
    for r in rows {
        *per_period
            .entry((r.feature, period.start(r.hour)))
            .or_default() += 1;
    }
    let several: BTreeSet<i64> = per_period
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|((_, start), _)| *start)
        .collect();
    let from = filter.from.map_or(i64::MIN, hour_start);
    let to = filter.to.map_or(i64::MAX, hour_ceil);
    let periods: Vec<std::ops::Range<i64>> = several
        .iter()
        .map(|&start| start.max(from)..period.next(start).min(to))
        .collect();
    Ok(store
        .distinct_users_per_period(filter, &periods)
        .await?
        .into_iter()
        .map(|((key, start), n)| ((key, period.start(start)), n))
        .collect())
}

/// `logged` plus the hours with data in `rows`' periods (of `grain`, within the filter's window)
/// that it does not cover whole: what folding the hourly rows would count as logged
/// (`Logged::with`), which rows of whole periods no longer show. Logs and polls log the hours
/// they have data for, so such periods are few: the edges of logged spans.
pub(crate) async fn with_hours_of_data(
    store: &Store,
    filter: &RollupFilter,
    grain: Grain,
    rows: &[HourRollup],
    logged: Logged,
) -> Result<Logged, StoreError> {
    let from = filter.from.map_or(i64::MIN, hour_start);
    let to = filter.to.map_or(i64::MAX, hour_ceil);
    let starts: BTreeSet<i64> = rows.iter().map(|r| grain.start(r.hour)).collect();
    let mut partial: Vec<std::ops::Range<i64>> = Vec::new();
    for s in starts {
        let range = s.max(from)..grain.next(s).min(to);
        let hours = (range.end - range.start) / HOUR;
        if logged.hours_in(range.clone()).count() as i64 == hours {
            continue;
        }
        match partial.last_mut() {
            Some(last) if last.end >= range.start => last.end = range.end,
            _ => partial.push(range),
        }
    }
    let mut more = Vec::new();
    for r in partial {
        let within = RollupFilter {
            from: Some(r.start),
            to: Some(r.end),
            ..*filter
        };
        more.extend(store.hours_with_rows(&within).await?);
    }
    Ok(logged.with(more))
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
