//! Each report's rows, folded from the parts of the servers asked about.

use std::collections::{BTreeMap, BTreeSet};

use tally_core::period::{Period, Weekday};
use tally_core::refusal::{self, RefusalRecord};
use tally_core::report::{self, By, FeatureStats, Totals, sflm};
use tally_core::rollup::FeatureKey;
use tally_core::time;

use super::{Cell, Grouping, Names, Part, ReportRequest, ReportRows};

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

pub(super) fn usage(req: &ReportRequest, parts: &[Part], names: &Names) -> ReportRows {
    let period = req.period.unwrap_or(Period::Day);
    let mut out = with_columns(&["server", "feature", "period"], &FIGURES);
    for p in parts {
        let rows = match &p.zone {
            Some(zone) => report::usage_over_time_in(zone, period, &p.hours, &p.users, &p.logged),
            None if p.periods => match &p.counted {
                Some(counted) => {
                    report::usage_over_time_counted(period, &p.hours, counted, &p.logged)
                }
                None => report::usage_over_time_of_periods(period, &p.hours, &p.users, &p.logged),
            },
            None => report::usage_over_time(period, &p.hours, &p.users, &p.logged),
        };
        for u in rows {
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
    let mut stats = if p.periods {
        report::feature_stats_of_periods(&p.hours, &p.users, &p.logged, &p.issued)
    } else {
        report::feature_stats(&p.hours, &p.users, &p.logged, &p.issued)
    };
    if let Some(counted) = &p.counted {
        for s in &mut stats {
            let (users, hosts) = counted.get(&(s.feature, 0)).copied().unwrap_or_default();
            s.totals.distinct_users = users;
            s.totals.distinct_hosts = hosts;
        }
    }
    // Features without rows are in the window too, idle.
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
                s.issued = p.issued.get(&key).copied();
            }
            stats.extend(zero);
        }
    }
    stats.sort_by_key(|s| s.feature);
    stats
}

pub(super) fn features(parts: &[Part], names: &Names) -> ReportRows {
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

pub(super) fn unused(parts: &[Part], names: &Names) -> ReportRows {
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

pub(super) fn underused(req: &ReportRequest, parts: &[Part], names: &Names) -> ReportRows {
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

pub(super) fn usage_by(by: Grouping, parts: &[Part], names: &Names) -> ReportRows {
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

/// Refusals per feature, cause and reason, most refused first: capacity refusals (demand more
/// licences would have met) apart from configuration ones (the administrator's to fix).
pub(super) fn denials(parts: &[Part], names: &Names) -> ReportRows {
    let mut out = ReportRows::new(&[
        "server", "feature", "cause", "reason", "refusals", "licenses", "users", "first", "last",
    ]);
    let records: Vec<RefusalRecord> = parts.iter().flat_map(|p| p.refusals.clone()).collect();
    for r in refusal::summarise(&records) {
        out.rows.push(vec![
            names.server(r.feature.server),
            names.feature(r.feature),
            r.cause.as_str().into(),
            r.reason.map_or(Cell::Empty, Cell::from),
            r.refusals.into(),
            r.licenses.into(),
            r.users.into(),
            time::rfc3339(r.first).into(),
            time::rfc3339(r.last).into(),
        ]);
    }
    out
}

pub(super) fn heatmap(parts: &[Part], names: &Names) -> ReportRows {
    let mut out = with_columns(&["server", "feature", "weekday", "hour"], &FIGURES);
    for p in parts {
        let cells = match &p.zone {
            Some(zone) => report::heatmap_in(zone, &p.hours, &p.logged),
            None if p.periods => report::heatmap_of_cells(&p.hours, &p.logged),
            None => report::heatmap(&p.hours, &p.logged),
        };
        for c in cells {
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
pub(super) fn sflm_summary(req: &ReportRequest, parts: &[Part], names: &Names) -> ReportRows {
    let mode = match req.period.unwrap_or(Period::Day) {
        Period::SundayWeek | Period::Week => sflm::Mode::Week,
        Period::Month => sflm::Mode::Month,
        Period::Year => sflm::Mode::Year,
        // No SFLM file sums a quarter (the request refuses one): its year is the nearest.
        Period::Quarter => sflm::Mode::Year,
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
            if !req.compact {
                for f in &l.by_hour {
                    row.extend(cells(f));
                }
                for f in l.by_weekday.iter().flatten() {
                    row.extend(cells(f));
                }
            }
            row
        })
        .collect();
    if req.compact {
        columns.truncate(SFLM_COMPACT);
    }
    ReportRows { columns, rows }
}

/// The compact SFLM view: the names and the whole period's seven figures, not per hour of the
/// day or weekday.
const SFLM_COMPACT: usize = 12;
