//! Reports: pure functions over rollup rows the store reads back for the window asked about.
//!
//! Every report is a fold of hourly rows into groups (per feature and period, per feature,
//! per weekday and hour of day…) by [`fold`]: within a group peaks are the largest of the hours',
//! seconds and counts add, averages are time-weighted over the group's *logged* hours (the
//! [`Logged`] set plus every hour with a row), and distinct users and hosts come from the
//! per-user rows. `Logged` applies to every feature passed: report per server when servers were
//! logged at different times. Which function answers which question:
//!
//! * usage over time at any resolution: [`usage_over_time`];
//! * peak, average, utilisation %, and denials per feature: [`feature_stats`];
//! * unused and under-used features: [`unused`], [`underused`];
//! * license-hours and denials per user, host, user-host or group: [`usage_by`];
//! * hour-of-day × weekday heatmap: [`heatmap`];
//! * the SFLM summary files (seed 004): [`sflm::summary`].

pub mod sflm;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::Timestamp;
use crate::period::{HOUR, Logged, Period, Weekday, hour_of_day};
use crate::rollup::{FeatureKey, HourRollup, Id, Load, UserHour};
use crate::zone::Zone;

/// What a group of hours adds up to.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Totals {
    /// Hours logging was on (each hour touched counts one).
    pub hours: u64,
    /// The time logging was on, in hours: partly logged hours count the part logged. Averages
    /// and utilisation are over this.
    pub logged_hours: f64,
    pub peak_in_use: u64,
    pub peak_desired: u64,
    /// Licenses in use, time-weighted over the logged hours.
    pub avg_in_use: f64,
    pub avg_desired: f64,
    /// License-hours.
    pub used_hours: f64,
    pub desired_hours: f64,
    pub denials: u64,
    pub checkouts: u64,
    /// Users and hosts that held a license in the group's hours.
    pub distinct_users: u64,
    pub distinct_hosts: u64,
}

/// A feature's usage in one period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PeriodUsage {
    #[serde(flatten)]
    pub feature: FeatureKey,
    pub period: Period,
    pub start: Timestamp,
    /// `2007-07-01`, `2007-W26`, … (see [`Period::label`]).
    pub label: String,
    #[serde(flatten)]
    pub totals: Totals,
}

/// A feature's usage over the whole window, against its issued licenses.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeatureStats {
    #[serde(flatten)]
    pub feature: FeatureKey,
    #[serde(flatten)]
    pub totals: Totals,
    pub issued: Option<u32>,
    /// Used license-hours / (issued × hours) × 100.
    pub utilisation_pct: Option<f64>,
    /// Peak in use / issued × 100.
    pub peak_pct: Option<f64>,
}

/// One cell of the hour-of-day × weekday heatmap.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HeatCell {
    #[serde(flatten)]
    pub feature: FeatureKey,
    pub weekday: Weekday,
    /// Hour of day, 0..=23: UTC, or local with [`heatmap_in`].
    pub hour: usize,
    #[serde(flatten)]
    pub totals: Totals,
}

/// How [`usage_by`] groups the per-user rows.
#[derive(Debug, Clone, Copy)]
pub enum By<'a> {
    User,
    Host,
    UserHost,
    /// A user's group; users missing from the map form the group `None`.
    Group(&'a BTreeMap<Id, Id>),
}

/// License-hours and denials of one user, host, user-host pair or group on one feature.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UsageBy {
    #[serde(flatten)]
    pub feature: FeatureKey,
    /// Whichever of these the grouping uses; the others are `None`.
    pub user: Option<Id>,
    pub host: Option<Id>,
    pub group: Option<Id>,
    pub used_hours: f64,
    pub desired_hours: f64,
    pub denials: u64,
    pub checkouts: u64,
}

/// Usage per feature and period at resolution `period`; every period with a logged hour has
/// a row, idle ones too.
pub fn usage_over_time(
    period: Period,
    hours: &[HourRollup],
    users: &[UserHour],
    logged: &Logged,
) -> Vec<PeriodUsage> {
    let logged = logged.with(hours.iter().map(|r| r.hour));
    usage_over_time_of_periods(period, hours, users, &logged)
}

/// [`usage_over_time`] from rows of periods within `period` (day or month rows, their `hour`
/// the period's start, beside hourly ones): the same answer as from the hourly rows, given
/// `logged` holding every hour with data (what `usage_over_time` adds from the hourly rows,
/// which a period's row no longer shows).
pub fn usage_over_time_of_periods(
    period: Period,
    hours: &[HourRollup],
    users: &[UserHour],
    logged: &Logged,
) -> Vec<PeriodUsage> {
    let groups = fold_logged(hours, users, logged, [], |h| period.start(h));
    groups
        .into_iter()
        .map(|((feature, start), acc)| PeriodUsage {
            feature,
            period,
            start,
            label: period.label(start),
            totals: acc.totals(),
        })
        .collect()
}

/// [`usage_over_time_of_periods`] with the distinct users and hosts per feature and period
/// given rather than folded from per-user rows: a period with one row takes its row's (a day
/// row's for a day, a month row's for a month: those holding a license at some instant of it),
/// a period of several rows (cut by the window's ends) its entry in `counted` (by feature and
/// period start; counted where the per-user rows are, `Store::distinct_users`). A report over
/// years reads no per-user row.
pub fn usage_over_time_counted(
    period: Period,
    hours: &[HourRollup],
    counted: &BTreeMap<(FeatureKey, Timestamp), (u64, u64)>,
    logged: &Logged,
) -> Vec<PeriodUsage> {
    let mut rows: BTreeMap<(FeatureKey, Timestamp), (u32, u64, u64)> = BTreeMap::new();
    for r in hours {
        let e = rows.entry((r.feature, period.start(r.hour))).or_default();
        *e = (
            e.0 + 1,
            u64::from(r.distinct_users),
            u64::from(r.distinct_hosts),
        );
    }
    let mut out = usage_over_time_of_periods(period, hours, &[], logged);
    for u in &mut out {
        let key = (u.feature, u.start);
        let (users, hosts) = match rows.get(&key) {
            Some(&(1, users, hosts)) => (users, hosts),
            _ => counted.get(&key).copied().unwrap_or_default(),
        };
        u.totals.distinct_users = users;
        u.totals.distinct_hosts = hosts;
    }
    out
}

/// Peak, average, utilisation and denials per feature over the window: every feature with a
/// row or in `issued` (the licenses issued per feature; those never used show as zeros).
pub fn feature_stats(
    hours: &[HourRollup],
    users: &[UserHour],
    logged: &Logged,
    issued: &BTreeMap<FeatureKey, u32>,
) -> Vec<FeatureStats> {
    let logged = logged.with(hours.iter().map(|r| r.hour));
    feature_stats_of_periods(hours, users, &logged, issued)
}

/// [`feature_stats`] from rows of periods (day or month rows beside hourly ones, as
/// [`usage_over_time_of_periods`] takes them), given `logged` holding every hour with data:
/// a window of years in a few hundred rows per feature.
pub fn feature_stats_of_periods(
    hours: &[HourRollup],
    users: &[UserHour],
    logged: &Logged,
    issued: &BTreeMap<FeatureKey, u32>,
) -> Vec<FeatureStats> {
    let groups = fold_logged(hours, users, logged, issued.keys().copied(), |_| ());
    groups
        .into_iter()
        .map(|((feature, ()), acc)| {
            let totals = acc.totals();
            let issued = issued.get(&feature).copied();
            let of_issued = |x: f64, per: f64| {
                let capacity = f64::from(issued?) * per;
                (capacity > 0.0).then(|| 100.0 * x / capacity)
            };
            FeatureStats {
                feature,
                utilisation_pct: of_issued(totals.used_hours, totals.logged_hours),
                peak_pct: of_issued(totals.peak_in_use as f64, 1.0),
                totals,
                issued,
            }
        })
        .collect()
}

/// Features no license of which was held in the window.
pub fn unused(stats: &[FeatureStats]) -> Vec<&FeatureStats> {
    stats.iter().filter(|s| s.totals.peak_in_use == 0).collect()
}

/// Used features whose peak stayed below `threshold_pct` of the issued licenses. The peak, not
/// the average, decides: a feature busy all day at 40% of its licenses could give back 60%, while
/// a low average is normal for any feature idle at night.
pub fn underused(stats: &[FeatureStats], threshold_pct: f64) -> Vec<&FeatureStats> {
    stats
        .iter()
        .filter(|s| s.totals.peak_in_use > 0)
        .filter(|s| s.peak_pct.is_some_and(|p| p < threshold_pct))
        .collect()
}

/// Usage per weekday and UTC hour of day: averages over the logged hours of that cell. A cell's
/// distinct users and hosts are the most that held a license in any one of its hours: a cell
/// stands for a typical hour of the week, and the most in one hour folds from rows of any period
/// (months and years of cells, the store's heatmap rows) where everyone ever seen in the cell
/// would need every per-user row of the window.
pub fn heatmap(hours: &[HourRollup], logged: &Logged) -> Vec<HeatCell> {
    let logged = logged.with(hours.iter().map(|r| r.hour));
    heatmap_of_cells(hours, &logged)
}

/// [`heatmap`] from rows already folded per cell (each row's `hour` one hour of its cell of the
/// UTC week, its load that of some of the cell's hours as [`Load::add_hour`] adds them, its
/// distinct users and hosts the most of any one of them: the store's month and year cells),
/// given `logged` holding every hour with data: the same cells as from the hourly rows.
pub fn heatmap_of_cells(hours: &[HourRollup], logged: &Logged) -> Vec<HeatCell> {
    cells(hours, logged, |h| (Weekday::of(h), hour_of_day(h)))
}

/// Groups `hours` (with `logged` holding every hour with data) into heatmap cells by `cell`.
fn cells(
    hours: &[HourRollup],
    logged: &Logged,
    cell: impl Fn(Timestamp) -> (Weekday, usize),
) -> Vec<HeatCell> {
    let mut most: BTreeMap<(FeatureKey, (Weekday, usize)), (u32, u32)> = BTreeMap::new();
    for h in hours {
        let m = most.entry((h.feature, cell(h.hour))).or_default();
        *m = (m.0.max(h.distinct_users), m.1.max(h.distinct_hosts));
    }
    let groups = fold_logged(hours, &[], logged, [], &cell);
    groups
        .into_iter()
        .map(|((feature, (weekday, hour)), acc)| {
            let mut totals = acc.totals();
            let (users, hosts) = most
                .get(&(feature, (weekday, hour)))
                .copied()
                .unwrap_or_default();
            totals.distinct_users = u64::from(users);
            totals.distinct_hosts = u64::from(hosts);
            HeatCell {
                feature,
                weekday,
                hour,
                totals,
            }
        })
        .collect()
}

/// [`usage_over_time`] in the local calendar of `zone`: days, weeks, months and years start
/// at local midnight (a day may be 23 or 25 hours), labels are local. Rollup hours are UTC
/// hours, so in a zone whose offset is not whole hours an hour counts in the period its start
/// falls in.
pub fn usage_over_time_in(
    zone: &Zone,
    period: Period,
    hours: &[HourRollup],
    users: &[UserHour],
    logged: &Logged,
) -> Vec<PeriodUsage> {
    let groups = fold(hours, users, logged, [], |h| zone.period_start(period, h));
    groups
        .into_iter()
        .map(|((feature, start), acc)| PeriodUsage {
            feature,
            period,
            start,
            label: zone.period_label(period, start),
            totals: acc.totals(),
        })
        .collect()
}

/// [`heatmap`] in the local weekday and hour of day of `zone` (across daylight-saving changes
/// an hour keeps its local clock reading).
pub fn heatmap_in(zone: &Zone, hours: &[HourRollup], logged: &Logged) -> Vec<HeatCell> {
    let logged = logged.with(hours.iter().map(|r| r.hour));
    cells(hours, &logged, |h| zone.heat_cell(h))
}

/// License-hours, denials and checkouts per feature and user, host, user-host or group.
pub fn usage_by(users: &[UserHour], by: By) -> Vec<UsageBy> {
    // Key: [user, host, group], each `None` unless grouped by.
    let mut groups: BTreeMap<(FeatureKey, [Option<Id>; 3]), Load> = BTreeMap::new();
    for u in users {
        let key = match by {
            By::User => [Some(u.user), None, None],
            By::Host => [None, Some(u.host), None],
            By::UserHost => [Some(u.user), Some(u.host), None],
            By::Group(groups) => [None, None, groups.get(&u.user).copied()],
        };
        groups
            .entry((u.feature, key))
            .or_default()
            .add_hour(&u.load);
    }
    groups
        .into_iter()
        .map(|((feature, [user, host, group]), load)| UsageBy {
            feature,
            user,
            host,
            group,
            used_hours: license_hours(load.used_seconds),
            desired_hours: license_hours(load.desired_seconds),
            denials: load.denials,
            checkouts: load.checkouts,
        })
        .collect()
}

fn license_hours(seconds: u64) -> f64 {
    seconds as f64 / HOUR as f64
}

/// A group of hours being added up.
#[derive(Debug, Default)]
struct Acc {
    hours: u64,
    logged_seconds: u64,
    load: Load,
    users: BTreeSet<Id>,
    hosts: BTreeSet<Id>,
}

impl Acc {
    fn totals(&self) -> Totals {
        let per_hour = |secs: u64| match self.logged_seconds {
            0 => 0.0,
            n => secs as f64 / n as f64,
        };
        Totals {
            hours: self.hours,
            logged_hours: license_hours(self.logged_seconds),
            peak_in_use: self.load.peak_in_use,
            peak_desired: self.load.peak_desired,
            avg_in_use: per_hour(self.load.used_seconds),
            avg_desired: per_hour(self.load.desired_seconds),
            used_hours: license_hours(self.load.used_seconds),
            desired_hours: license_hours(self.load.desired_seconds),
            denials: self.load.denials,
            checkouts: self.load.checkouts,
            distinct_users: self.users.len() as u64,
            distinct_hosts: self.hosts.len() as u64,
        }
    }
}

/// Groups every feature's logged hours by `key` (the period, the cell…) and adds up its rows:
/// the one aggregation behind all reports. Features are those of `hours` plus `more`.
fn fold<K: Ord + Clone>(
    hours: &[HourRollup],
    users: &[UserHour],
    logged: &Logged,
    more: impl IntoIterator<Item = FeatureKey>,
    key: impl Fn(Timestamp) -> K,
) -> BTreeMap<(FeatureKey, K), Acc> {
    let logged = logged.with(hours.iter().map(|r| r.hour));
    fold_logged(hours, users, &logged, more, key)
}

/// [`fold`] with `logged` already holding the hours with data.
fn fold_logged<K: Ord + Clone>(
    hours: &[HourRollup],
    users: &[UserHour],
    logged: &Logged,
    more: impl IntoIterator<Item = FeatureKey>,
    key: impl Fn(Timestamp) -> K,
) -> BTreeMap<(FeatureKey, K), Acc> {
    // Logged hours per key are the same for every feature: count them once.
    let mut logged_per_key: BTreeMap<K, (u64, u64)> = BTreeMap::new();
    for (h, secs) in logged.seconds() {
        let (n, s) = logged_per_key.entry(key(h)).or_default();
        *n += 1;
        *s += u64::from(secs);
    }
    let features: BTreeSet<FeatureKey> = hours.iter().map(|r| r.feature).chain(more).collect();
    let mut groups: BTreeMap<(FeatureKey, K), Acc> = BTreeMap::new();
    for &f in &features {
        for (k, &(n, secs)) in &logged_per_key {
            let acc = groups.entry((f, k.clone())).or_default();
            acc.hours = n;
            acc.logged_seconds = secs;
        }
    }
    for r in hours {
        groups
            .entry((r.feature, key(r.hour)))
            .or_default()
            .load
            .add_hour(&r.load);
    }
    for u in users.iter().filter(|u| u.load.used()) {
        let acc = groups.entry((u.feature, key(u.hour))).or_default();
        acc.users.insert(u.user);
        acc.hosts.insert(u.host);
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::period::tests::at;
    use crate::rollup::tests::{F, denial, session};
    use crate::rollup::{Grain, Rollup, rollup};

    const G: FeatureKey = FeatureKey {
        server: 1,
        feature: 20,
    };

    /// Monday 2007-07-02 and Tuesday 07-03, logged 09-13 and 09-11 (6 hours):
    ///
    /// | hour      | sessions                                   | used s         | peak |
    /// |-----------|--------------------------------------------|----------------|------|
    /// | Mon 09    | u1@h1 ×1                                   | 3600           | 1    |
    /// | Mon 10    | u1@h1 ×1, u2@h2 ×2                         | 3600+7200=10800| 3    |
    /// | Mon 11    | —                                          | 0              | 0    |
    /// | Mon 12    | u1@h2 ×1 for 30 min                        | 1800           | 1    |
    /// | Tue 09    | u3@h3 ×4; u2 denied at 09:30 (host 102)    | 14400          | 4    |
    /// | Tue 10    | u1@h1 ×1 for 30 min                        | 1800           | 1    |
    fn fixture() -> (Rollup, Logged) {
        let (mon, tue) = (at(2007, 7, 2, 0), at(2007, 7, 3, 0));
        let h = HOUR;
        let s = [
            session(1, 1, 1, mon + 9 * h, mon + 11 * h),
            session(2, 2, 2, mon + 10 * h, mon + 11 * h),
            session(1, 2, 1, mon + 12 * h, mon + 12 * h + 1_800),
            session(3, 3, 4, tue + 9 * h, tue + 10 * h),
            session(1, 1, 1, tue + 10 * h, tue + 10 * h + 1_800),
        ];
        let d = [denial(2, 1, tue + 9 * h + 1_800, None)];
        let logged = Logged::from_ranges([mon + 9 * h..mon + 13 * h, tue + 9 * h..tue + 11 * h]);
        (rollup(F, mon..tue + 24 * h, &s, &d), logged)
    }

    #[test]
    fn usage_per_day_and_week() {
        let (r, logged) = fixture();
        let days = usage_over_time(Period::Day, &r.hours, &r.users, &logged);
        let got: Vec<(&str, u64, f64, f64, u64, u64, u64)> = days
            .iter()
            .map(|d| {
                let t = &d.totals;
                let users = t.distinct_users;
                (
                    d.label.as_str(),
                    t.hours,
                    t.used_hours,
                    t.avg_in_use,
                    t.peak_in_use,
                    users,
                    t.denials,
                )
            })
            .collect();
        // Mon: 3600 + 10800 + 0 + 1800 = 16200 s = 4.5 lh over 4 h → 1.125; users u1, u2.
        // Tue: 14400 + 1800 = 16200 s = 4.5 lh over 2 h → 2.25; users u3, u1.
        assert_eq!(
            got,
            [
                ("2007-07-02", 4, 4.5, 1.125, 3, 2, 0),
                ("2007-07-03", 2, 4.5, 2.25, 4, 2, 1)
            ]
        );
        // The ISO week: 9 lh over 6 h → 1.5; distinct users are u1, u2, u3 = 3, not 2 + 2.
        let week = usage_over_time(Period::Week, &r.hours, &r.users, &logged);
        assert_eq!(week.len(), 1);
        assert_eq!(week[0].label, "2007-W27");
        let t = week[0].totals;
        assert_eq!((t.hours, t.used_hours, t.avg_in_use), (6, 9.0, 1.5));
        assert_eq!((t.distinct_users, t.distinct_hosts, t.checkouts), (3, 3, 5));
        // Hourly resolution: one row per logged hour, the idle Mon 11 included.
        let hourly = usage_over_time(Period::Hour, &r.hours, &r.users, &logged);
        assert_eq!(hourly.len(), 6);
        assert_eq!(hourly[2].label, "2007-07-02T11Z");
        assert_eq!(hourly[2].totals.used_hours, 0.0);
    }

    /// What a report reads in place of the hourly rows (day and month rows, heatmap cells added
    /// up per hour of the week) folds to the same rows, given the hours with data in `logged`:
    /// here Mon 09 and Tue 10 have data but are not logged.
    #[test]
    fn period_rows_and_week_cells_fold_like_the_hourly_rows() {
        let (r, _) = fixture();
        let (mon, tue) = (at(2007, 7, 2, 0), at(2007, 7, 3, 0));
        let logged = Logged::from_ranges([
            mon + 10 * HOUR..mon + 13 * HOUR,
            tue + 9 * HOUR..tue + 10 * HOUR,
        ]);
        let with_data = logged.with(r.hours.iter().map(|h| h.hour));
        for (period, grain) in [
            (Period::Day, Grain::Day),
            (Period::Week, Grain::Day),
            (Period::Month, Grain::Month),
            (Period::Year, Grain::Month),
        ] {
            let coarse = crate::rollup::coarsen(grain, &r);
            assert_eq!(
                usage_over_time_of_periods(period, &coarse.hours, &coarse.users, &with_data),
                usage_over_time(period, &r.hours, &r.users, &logged),
                "{period:?}"
            );
            // Users counted apart (as SQL counts them) serve periods of several rows; a period
            // of one row counts its own.
            let mut counted = BTreeMap::new();
            for d in usage_over_time(period, &r.hours, &r.users, &logged) {
                let t = d.totals;
                counted.insert((d.feature, d.start), (t.distinct_users, t.distinct_hosts));
            }
            for given in [&counted, &BTreeMap::new()] {
                if given.is_empty() && grain.period() != period {
                    continue;
                }
                assert_eq!(
                    usage_over_time_counted(period, &coarse.hours, given, &with_data),
                    usage_over_time(period, &r.hours, &r.users, &logged),
                    "{period:?}"
                );
            }
            assert_eq!(
                usage_over_time_counted(period, &r.hours, &counted, &with_data),
                usage_over_time(period, &r.hours, &r.users, &logged),
                "{period:?} from hourly rows"
            );
            let issued = BTreeMap::from([(F, 10), (G, 2)]);
            assert_eq!(
                feature_stats_of_periods(&coarse.hours, &coarse.users, &with_data, &issued),
                feature_stats(&r.hours, &r.users, &logged, &issued),
                "{grain:?}"
            );
            // A period's row standing for its hours must not count its first hour as logged.
            assert_ne!(
                feature_stats(&coarse.hours, &coarse.users, &with_data, &issued),
                feature_stats(&r.hours, &r.users, &logged, &issued),
                "{grain:?}"
            );
        }
        // Cells as the store folds them: per feature and hour of the week, the first hour of
        // each cell standing for it, distinct users and hosts the most of any one hour.
        let week = 7 * 24 * HOUR;
        let mut hours: BTreeMap<(FeatureKey, i64), HourRollup> = BTreeMap::new();
        for h in &r.hours {
            hours
                .entry((h.feature, h.hour.rem_euclid(week)))
                .and_modify(|c| {
                    c.load.add_hour(&h.load);
                    c.distinct_users = c.distinct_users.max(h.distinct_users);
                    c.distinct_hosts = c.distinct_hosts.max(h.distinct_hosts);
                })
                .or_insert(*h);
        }
        let hours: Vec<HourRollup> = hours.into_values().collect();
        assert_eq!(
            heatmap_of_cells(&hours, &with_data),
            heatmap(&r.hours, &logged)
        );
    }

    #[test]
    fn feature_stats_utilisation_and_under_use() {
        let (r, logged) = fixture();
        let issued = BTreeMap::from([(F, 10), (G, 2)]);
        let stats = feature_stats(&r.hours, &r.users, &logged, &issued);
        // F: 9 lh / (10 issued × 6 h) = 15 %; peak 4 / 10 = 40 %.
        assert_eq!(stats[0].feature, F);
        assert_eq!(stats[0].utilisation_pct, Some(15.0));
        assert_eq!(stats[0].peak_pct, Some(40.0));
        assert_eq!(stats[0].totals.denials, 1);
        // G: issued but never used, over the same 6 logged hours.
        assert_eq!(stats[1].feature, G);
        assert_eq!(
            (stats[1].totals.hours, stats[1].utilisation_pct),
            (6, Some(0.0))
        );

        let keys = |v: Vec<&FeatureStats>| v.iter().map(|s| s.feature).collect::<Vec<_>>();
        assert_eq!(keys(unused(&stats)), [G]);
        assert_eq!(keys(underused(&stats, 50.0)), [F]);
        assert_eq!(keys(underused(&stats, 40.0)), []);
        // Without an issued count there is no percentage.
        let stats = feature_stats(&r.hours, &r.users, &logged, &BTreeMap::new());
        assert_eq!((stats.len(), stats[0].utilisation_pct), (1, None));
    }

    /// The first minutes of a live server: 7 minutes polled, 4 licences held throughout and a
    /// fifth for 55 s (4.13 in use on average, of 5). The hour is logged for 7 minutes, so its
    /// average is 4.13, not 4.13 × 7/60 = 0.48, and utilisation 82.6 %, not 9.6 %.
    #[test]
    fn a_partly_logged_hour_averages_over_the_part_logged() {
        let t0 = at(2007, 7, 2, 9) + 10 * 60;
        let s = [
            session(1, 1, 4, t0, t0 + 420),
            session(2, 2, 1, t0, t0 + 55),
        ];
        let r = rollup(F, t0..t0 + 420, &s, &[]);
        let logged = Logged::from_ranges([t0..t0 + 420]);
        let stats = feature_stats(&r.hours, &r.users, &logged, &BTreeMap::from([(F, 5)]));
        let t = &stats[0].totals;
        assert_eq!(t.hours, 1);
        assert!((t.logged_hours - 420.0 / 3_600.0).abs() < 1e-9);
        assert!(
            (t.avg_in_use - 1_735.0 / 420.0).abs() < 1e-9,
            "{}",
            t.avg_in_use
        );
        let pct = stats[0].utilisation_pct.expect("issued");
        assert!((pct - 100.0 * 1_735.0 / 2_100.0).abs() < 1e-9, "{pct}");
        // The hourly usage row says the same.
        let hourly = usage_over_time(Period::Hour, &r.hours, &r.users, &logged);
        assert!((hourly[0].totals.avg_in_use - 4.131).abs() < 1e-3);
    }

    /// A server in New York used 09:00-10:00 local every weekday around the spring change
    /// (Sunday 2026-03-08): 14:00Z before, 13:00Z after. In local hours it is one row, 9.
    #[test]
    fn heatmap_in_local_hours_across_dst() {
        let ny = Zone::parse("America/New_York").expect("known zone");
        let days = [(3, 5, 14), (3, 6, 14), (3, 9, 13), (3, 10, 13)];
        let s: Vec<_> = days
            .iter()
            .map(|&(m, d, h)| {
                let start = at(2026, m, d, h);
                session(1, 1, 1, start, start + HOUR)
            })
            .collect();
        let (from, to) = (at(2026, 3, 5, 0), at(2026, 3, 11, 0));
        let r = rollup(F, from..to, &s, &[]);
        let logged = Logged::from_ranges([from..to]);
        let cells = heatmap_in(&ny, &r.hours, &logged);
        let busy: Vec<(Weekday, usize)> = cells
            .iter()
            .filter(|c| c.totals.used_hours > 0.0)
            .map(|c| (c.weekday, c.hour))
            .collect();
        assert_eq!(
            busy,
            [
                (Weekday::Monday, 9),
                (Weekday::Tuesday, 9),
                (Weekday::Thursday, 9),
                (Weekday::Friday, 9)
            ]
        );
        // In UTC the same use is split over 13 and 14.
        let utc = heatmap(&r.hours, &logged);
        let hours: BTreeSet<usize> = utc
            .iter()
            .filter(|c| c.totals.used_hours > 0.0)
            .map(|c| c.hour)
            .collect();
        assert_eq!(hours, BTreeSet::from([13, 14]));
        // Days are local: Sunday 03-08 has 23 logged hours.
        let daily = usage_over_time_in(&ny, Period::Day, &r.hours, &r.users, &logged);
        let sunday = daily
            .iter()
            .find(|d| d.label == "2026-03-08")
            .expect("a row per day");
        assert_eq!(sunday.totals.hours, 23);
    }

    #[test]
    fn heatmap_cells() {
        let (r, logged) = fixture();
        let cells = heatmap(&r.hours, &logged);
        let cell = |w: Weekday, h: usize| {
            cells
                .iter()
                .find(|c| c.weekday == w && c.hour == h)
                .map(|c| (c.totals.hours, c.totals.avg_in_use, c.totals.peak_in_use))
        };
        // 6 logged hours, one cell each.
        assert_eq!(cells.len(), 6);
        assert_eq!(cell(Weekday::Monday, 10), Some((1, 3.0, 3)));
        // Mon 10: u1 and u2 on h1 and h2.
        let mon10 = cells
            .iter()
            .find(|c| c.weekday == Weekday::Monday && c.hour == 10)
            .expect("Mon 10");
        assert_eq!(
            (mon10.totals.distinct_users, mon10.totals.distinct_hosts),
            (2, 2)
        );
        assert_eq!(cell(Weekday::Monday, 11), Some((1, 0.0, 0)));
        assert_eq!(cell(Weekday::Tuesday, 9), Some((1, 4.0, 4)));
        assert_eq!(cell(Weekday::Sunday, 9), None);
    }

    /// The reports folding the whole window as one group take rows added up over it (what the
    /// store's `hour_totals` and `user_totals` read: per feature, or per feature, user and host,
    /// the first hour and the loads added) and give what the hourly rows give.
    #[test]
    fn window_reports_take_rows_added_up_over_the_window() {
        let (r, logged) = fixture();
        let mut hours: BTreeMap<FeatureKey, HourRollup> = BTreeMap::new();
        for h in &r.hours {
            hours
                .entry(h.feature)
                .or_insert(HourRollup {
                    load: Load::default(),
                    ..*h
                })
                .load
                .add_hour(&h.load);
        }
        let mut users: BTreeMap<(FeatureKey, Id, Id), UserHour> = BTreeMap::new();
        for u in &r.users {
            users
                .entry((u.feature, u.user, u.host))
                .or_insert(UserHour {
                    load: Load::default(),
                    ..*u
                })
                .load
                .add_hour(&u.load);
        }
        let (hours, users): (Vec<HourRollup>, Vec<UserHour>) =
            (hours.into_values().collect(), users.into_values().collect());
        assert_eq!((hours.len(), users.len()), (1, 5));
        // The hours with rows, which the added-up rows no longer show, join the logged ones.
        let with_rows = logged.with(r.hours.iter().map(|h| h.hour));
        let issued = BTreeMap::from([(F, 10), (G, 2)]);
        assert_eq!(
            feature_stats(&hours, &users, &with_rows, &issued),
            feature_stats(&r.hours, &r.users, &logged, &issued)
        );
        let groups = BTreeMap::from([(1, 100), (2, 100)]);
        for by in [By::User, By::Host, By::UserHost, By::Group(&groups)] {
            assert_eq!(usage_by(&users, by), usage_by(&r.users, by));
        }
    }

    #[test]
    fn license_hours_per_user_host_and_group() {
        let (r, _) = fixture();
        let rows = |by| {
            usage_by(&r.users, by)
                .into_iter()
                .map(|u| (u.user.or(u.host).or(u.group), u.used_hours, u.denials))
                .collect::<Vec<_>>()
        };
        // u1: 3600 + 3600 + 1800 + 1800 = 10800 s = 3 lh; u2: 7200 s = 2 lh and the denial;
        // u3: 14400 s = 4 lh.
        assert_eq!(
            rows(By::User),
            [(Some(1), 3.0, 0), (Some(2), 2.0, 1), (Some(3), 4.0, 0)]
        );
        // h1: 3600 + 3600 + 1800 = 2.5 lh; h2: 7200 + 1800 = 2.5 lh; h3: 4 lh; the denial's host.
        assert_eq!(
            rows(By::Host),
            [
                (Some(1), 2.5, 0),
                (Some(2), 2.5, 0),
                (Some(3), 4.0, 0),
                (Some(102), 0.0, 1)
            ]
        );
        // Group 100 = u1 + u2 = 5 lh; u3 is in no group.
        let groups = BTreeMap::from([(1, 100), (2, 100)]);
        assert_eq!(
            rows(By::Group(&groups)),
            [(None, 4.0, 0), (Some(100), 5.0, 1)]
        );
        assert_eq!(usage_by(&r.users, By::UserHost).len(), 5);
    }
}
