//! The SFLM summary files of seed 004, as one report over hourly rollups.
//!
//! * Periods (seed 004 lines 3-8): per day, per week ("All weeks start on Sunday and end on
//!   Saturday (UTC)", line 8), per month and per year; all UTC (line 10). A session crossing
//!   midnight is split between the days (line 4) because rollups are hourly.
//! * Lines (lines 3-8): one per product (the all-users line, `UserId` null: line 22) and, with
//!   user logging, one per user and product. A user's line adds the user's hosts: its `Max` adds
//!   the per-host peaks of an hour, exact unless one user held licenses on two hosts at
//!   different instants of the same hour.
//! * `NrHours`, `HoursNN`, `Hours<Weekday>` (lines 25, 32, 53): logged hours of the period (the
//!   [`Logged`] set plus every hour with a row), at that hour of day, on that weekday.
//! * `Total*` (lines 30-31): license-hours. `Max*` (lines 28-29): the peak licenses granted
//!   (`Used`) or granted plus denied over an interval (`Desired`, see [`crate::rollup`]).
//! * `Average*` (lines 26-27, 33-34, 54-55): "a weighted average that tries to calculate the
//!   average over the 8 busiest hours during the day and the 5 busiest days of the week". Tally
//!   defines it exactly (`Column::busy_average`): each day's value is the mean of its 8 busiest logged
//!   hours; each Sunday week keeps its 5 busiest days; the average is the mean of the kept day
//!   values. A day (or week) with fewer logged hours (days) averages those it has, so a period
//!   still running gets an estimate. The same rule gives every column: for `AverageUsed00` each
//!   day has one such hour, so it is the mean over the 5 busiest days of each week (line 33);
//!   for `AverageUsedSunday` each week has one Sunday, so it is the mean of the Sundays' 8
//!   busiest hours (line 54); for a day file it is the mean of the day's 8 busiest hours.
//! * Single-day lines have no weekday columns (line 19).

use std::collections::BTreeMap;

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use crate::Timestamp;
use crate::period::{DAY, HOUR, Logged, Period, Weekday, hour_of_day};
use crate::rollup::{FeatureKey, HourRollup, Id, Load, UserHour};

/// Which summary file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    Day,
    Week,
    Month,
    Year,
}

impl Mode {
    pub fn period(self) -> Period {
        match self {
            Mode::Day => Period::Day,
            Mode::Week => Period::SundayWeek,
            Mode::Month => Period::Month,
            Mode::Year => Period::Year,
        }
    }
}

/// SFLM's seven figures for a set of hours (`Hours`, `AverageDesired`, … `TotalUsed`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Figures {
    pub hours: u64,
    pub average_desired: f64,
    pub average_used: f64,
    pub max_desired: u64,
    pub max_used: u64,
    /// License-hours.
    pub total_desired: f64,
    pub total_used: f64,
}

/// One line of a summary file. Serialises flat under the seed's column titles, in the seed's
/// order: `Period ServerId ProductId UserId NrHours AverageDesired AverageUsed MaxDesired
/// MaxUsed TotalDesired TotalUsed Hours00 AverageDesired00 … TotalUsed23 HoursSunday …
/// TotalUsedSaturday` (ids, not names: the caller resolves them).
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub mode: Mode,
    pub start: Timestamp,
    pub feature: FeatureKey,
    /// `None`: the summary of all users.
    pub user: Option<Id>,
    pub all: Figures,
    /// Per UTC hour of day, 00 to 23.
    pub by_hour: [Figures; 24],
    /// Sunday to Saturday; `None` in day files.
    pub by_weekday: Option<[Figures; 7]>,
}

/// The summary lines of every period of `mode` with a row: per product, then (given `users`)
/// per product and user. Ordered by period, product, then user (all-users line first).
pub fn summary(
    mode: Mode,
    hours: &[HourRollup],
    users: Option<&[UserHour]>,
    logged: &Logged,
) -> Vec<Line> {
    let period = mode.period();
    let users = users.unwrap_or_default();
    let logged = logged.with(
        hours
            .iter()
            .map(|r| r.hour)
            .chain(users.iter().map(|u| u.hour)),
    );
    let mut lines: BTreeMap<(Timestamp, FeatureKey, Option<Id>), BTreeMap<Timestamp, Load>> =
        BTreeMap::new();
    let product_rows = hours.iter().map(|r| (r.feature, None, r.hour, &r.load));
    let user_rows = users
        .iter()
        .map(|u| (u.feature, Some(u.user), u.hour, &u.load));
    for (feature, user, hour, load) in product_rows.chain(user_rows) {
        lines
            .entry((period.start(hour), feature, user))
            .or_default()
            .entry(hour)
            .or_default()
            .add_concurrent(load);
    }

    let mut columns: BTreeMap<Timestamp, Columns> = BTreeMap::new();
    lines
        .into_iter()
        .map(|((start, feature, user), loads)| {
            let columns = columns
                .entry(start)
                .or_insert_with(|| Columns::new(logged.hours_in(start..period.next(start))));
            // The line's hours with a row, by column, each in time order.
            let mut all = Vec::new();
            let mut by_hour: [Vec<(Timestamp, Load)>; 24] = Default::default();
            let mut by_weekday: [Vec<(Timestamp, Load)>; 7] = Default::default();
            for (&h, &load) in &loads {
                all.push((h, load));
                by_hour[hour_of_day(h)].push((h, load));
                by_weekday[Weekday::of(h) as usize].push((h, load));
            }
            let of = |cols: &[Column], rows: &[Vec<(Timestamp, Load)>], i: usize| {
                cols[i].figures(&rows[i])
            };
            Line {
                mode,
                start,
                feature,
                user,
                all: columns.all.figures(&all),
                by_hour: std::array::from_fn(|i| of(&columns.by_hour, &by_hour, i)),
                by_weekday: (mode != Mode::Day)
                    .then(|| std::array::from_fn(|i| of(&columns.by_weekday, &by_weekday, i))),
            }
        })
        .collect()
}

/// The logged hours of a period in each column: all hours, each hour of day, each weekday.
/// They are the same for every line of the period, so they are counted once; a line then only
/// walks its own rows, its idle hours entering the figures as these counts.
#[derive(Debug, Default)]
struct Columns {
    all: Column,
    by_hour: [Column; 24],
    by_weekday: [Column; 7],
}

impl Columns {
    fn new(logged: impl Iterator<Item = Timestamp>) -> Columns {
        let mut c = Columns::default();
        for h in logged {
            c.all.add(h);
            c.by_hour[hour_of_day(h)].add(h);
            c.by_weekday[Weekday::of(h) as usize].add(h);
        }
        let Columns {
            all,
            by_hour,
            by_weekday,
        } = &mut c;
        for col in std::iter::once(all).chain(by_hour).chain(by_weekday) {
            col.kept_days = col.kept_days();
        }
        c
    }
}

/// The logged hours of one column of a period.
#[derive(Debug, Default)]
struct Column {
    hours: u64,
    /// Logged hours per day number.
    per_day: BTreeMap<i64, u64>,
    /// How many day values the busy average keeps: over Sunday weeks, Σ min(5, logged days).
    kept_days: u64,
}

impl Column {
    fn add(&mut self, hour: Timestamp) {
        self.hours += 1;
        *self.per_day.entry(day(hour)).or_default() += 1;
    }

    fn kept_days(&self) -> u64 {
        let days: Vec<i64> = self.per_day.keys().copied().collect();
        days.chunk_by(|a, b| week(*a) == week(*b))
            .map(|w| w.len().min(5) as u64)
            .sum()
    }

    /// The figures of a line's `rows` (in time order) in this column; its other logged hours
    /// were idle.
    fn figures(&self, rows: &[(Timestamp, Load)]) -> Figures {
        let license_hours = |secs: u64| secs as f64 / HOUR as f64;
        let sum = |f: fn(&Load) -> u64| rows.iter().map(|(_, l)| f(l)).sum::<u64>();
        let max = |f: fn(&Load) -> u64| rows.iter().map(|(_, l)| f(l)).max().unwrap_or(0);
        Figures {
            hours: self.hours,
            average_desired: self.busy_average(rows, Load::avg_desired),
            average_used: self.busy_average(rows, Load::avg_in_use),
            max_desired: max(|l| l.peak_desired),
            max_used: max(|l| l.peak_in_use),
            total_desired: license_hours(sum(|l| l.desired_seconds)),
            total_used: license_hours(sum(|l| l.used_seconds)),
        }
    }

    /// The busy-time average of an hourly `value` (seed 004 lines 26-27): the mean, over each
    /// Sunday week's 5 busiest logged days, of each day's mean over its 8 busiest logged hours.
    /// Idle hours and days are zeros: they add nothing to the sums, only to the divisors.
    fn busy_average(&self, rows: &[(Timestamp, Load)], value: fn(&Load) -> f64) -> f64 {
        if self.kept_days == 0 {
            return 0.0;
        }
        let mut sum = 0.0;
        for in_week in rows.chunk_by(|a, b| week(day(a.0)) == week(day(b.0))) {
            let days = in_week.chunk_by(|a, b| day(a.0) == day(b.0)).map(|hours| {
                let logged = self.per_day.get(&day(hours[0].0)).copied().unwrap_or(1);
                busiest(hours.iter().map(|h| value(&h.1)), 8) / logged.clamp(1, 8) as f64
            });
            sum += busiest(days, 5);
        }
        sum / self.kept_days as f64
    }
}

/// The day number of `t` (days since 1970-01-01).
fn day(t: Timestamp) -> i64 {
    t.div_euclid(DAY)
}

/// The Sunday-week number of a day number: day 0, 1970-01-01, was a Thursday, 4 days after a
/// Sunday.
fn week(day: i64) -> i64 {
    (day + 4).div_euclid(7)
}

/// The sum of the `n` (at most 8) largest values, without allocating.
fn busiest(values: impl Iterator<Item = f64>, n: usize) -> f64 {
    let mut best = [0.0f64; 8];
    let n = n.min(best.len());
    let mut len = 0;
    for v in values {
        let mut i = if len < n {
            len += 1;
            len - 1
        } else if n > 0 && v > best[n - 1] {
            n - 1
        } else {
            continue;
        };
        // Keep `best` sorted, largest first.
        best[i] = v;
        while i > 0 && best[i] > best[i - 1] {
            best.swap(i, i - 1);
            i -= 1;
        }
    }
    best[..len].iter().sum()
}

impl Figures {
    /// The seven columns, `Hours` titled `hours` and the others suffixed `suffix`.
    fn columns<M: SerializeMap>(
        &self,
        hours: &str,
        suffix: &str,
        m: &mut M,
    ) -> Result<(), M::Error> {
        m.serialize_entry(hours, &self.hours)?;
        m.serialize_entry(&format!("AverageDesired{suffix}"), &self.average_desired)?;
        m.serialize_entry(&format!("AverageUsed{suffix}"), &self.average_used)?;
        m.serialize_entry(&format!("MaxDesired{suffix}"), &self.max_desired)?;
        m.serialize_entry(&format!("MaxUsed{suffix}"), &self.max_used)?;
        m.serialize_entry(&format!("TotalDesired{suffix}"), &self.total_desired)?;
        m.serialize_entry(&format!("TotalUsed{suffix}"), &self.total_used)
    }
}

impl Serialize for Line {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("Period", &self.mode.period().label(self.start))?;
        m.serialize_entry("ServerId", &self.feature.server)?;
        m.serialize_entry("ProductId", &self.feature.feature)?;
        m.serialize_entry("UserId", &self.user)?;
        self.all.columns("NrHours", "", &mut m)?;
        for (h, f) in self.by_hour.iter().enumerate() {
            let suffix = format!("{h:02}");
            f.columns(&format!("Hours{suffix}"), &suffix, &mut m)?;
        }
        for (day, f) in Weekday::ALL.iter().zip(self.by_weekday.iter().flatten()) {
            f.columns(&format!("Hours{}", day.name()), day.name(), &mut m)?;
        }
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::period::tests::at;
    use crate::rollup::rollup;
    use crate::rollup::tests::{F, session};

    /// A product row holding `used` licenses (and wanting `desired`) for the whole hour.
    fn row(hour: Timestamp, used: u64, desired: u64) -> HourRollup {
        HourRollup {
            feature: F,
            hour,
            load: Load {
                peak_in_use: used,
                peak_desired: desired,
                used_seconds: used * 3_600,
                desired_seconds: desired * 3_600,
                denials: 0,
                checkouts: 1,
            },
            distinct_users: 1,
            distinct_hosts: 1,
        }
    }

    fn day_logged(y: i32, m: u32, first: u32, last: u32) -> Logged {
        Logged::from_ranges(std::iter::once(at(y, m, first, 0)..at(y, m, last, 24)))
    }

    #[test]
    fn day_file() {
        // Monday 2007-07-02, logged all day; licenses used per hour 09..17:
        //   1 2 3 1 2 4 3 2 1, and at 14:00 one more wanted (desired 5).
        let used = [1, 2, 3, 1, 2, 4, 3, 2, 1];
        let rows: Vec<HourRollup> = (9..18)
            .zip(used)
            .map(|(h, u)| row(at(2007, 7, 2, h), u, if h == 14 { 5 } else { u }))
            .collect();
        let lines = summary(Mode::Day, &rows, None, &day_logged(2007, 7, 2, 2));
        assert_eq!(lines.len(), 1);
        let l = &lines[0];
        assert_eq!((l.user, l.by_weekday), (None, None));
        // NrHours 24; TotalUsed = 1+2+3+1+2+4+3+2+1 = 19 lh; TotalDesired = 19 + 1 = 20.
        // AverageUsed: the 8 busiest hours 4,3,3,2,2,2,1,1 → 18 / 8 = 2.25.
        // AverageDesired: 5,3,3,2,2,2,1,1 → 19 / 8 = 2.375.
        assert_eq!(
            l.all,
            Figures {
                hours: 24,
                average_desired: 2.375,
                average_used: 2.25,
                max_desired: 5,
                max_used: 4,
                total_desired: 20.0,
                total_used: 19.0,
            }
        );
        // Hour 14 alone: 1 logged hour, used 4, desired 5.
        let h14 = l.by_hour[14];
        assert_eq!((h14.hours, h14.average_used, h14.max_desired), (1, 4.0, 5));
        assert_eq!((h14.total_used, h14.total_desired), (4.0, 5.0));
        assert_eq!((l.by_hour[3].hours, l.by_hour[3].average_used), (1, 0.0));
    }

    #[test]
    fn week_file() {
        // Sunday 2007-07-01 to Saturday 07-07, logged throughout (168 h). One hour a day, at
        // 10:00: Sun 1, Mon 2, Tue 3, Wed 4, Thu 5, Fri 6 licenses; nothing on Saturday.
        let rows: Vec<HourRollup> = (1..=6)
            .map(|d| row(at(2007, 7, d, 10), u64::from(d), u64::from(d)))
            .collect();
        let lines = summary(Mode::Week, &rows, None, &day_logged(2007, 7, 1, 7));
        let l = &lines[0];
        assert_eq!(l.start, at(2007, 7, 1, 0));
        // NrHours 7 × 24 = 168; TotalUsed 1+…+6 = 21.
        // Each day's 8 busiest hours: d/8. The 5 busiest days: (6+5+4+3+2)/8 / 5 = 0.5.
        assert_eq!(
            (l.all.hours, l.all.total_used, l.all.average_used),
            (168, 21.0, 0.5)
        );
        // AverageUsed10: one value a day, the 5 busiest: (6+5+4+3+2)/5 = 4; over all 7 days.
        let h10 = l.by_hour[10];
        assert_eq!(
            (h10.hours, h10.average_used, h10.max_used, h10.total_used),
            (7, 4.0, 6, 21.0)
        );
        // AverageUsedSunday: Sunday's 8 busiest hours: 1/8 = 0.125.
        let days = l.by_weekday.unwrap_or_default();
        let sunday = days[Weekday::Sunday as usize];
        assert_eq!(
            (sunday.hours, sunday.average_used, sunday.total_used),
            (24, 0.125, 1.0)
        );
        let saturday = days[Weekday::Saturday as usize];
        assert_eq!((saturday.hours, saturday.max_used), (24, 0));
    }

    #[test]
    fn month_file_with_gaps_and_user_lines() {
        // July 2007, logged only on Sunday 1 (24 h) and Tuesday 31 10:00-12:00 (2 h).
        // Jul 1 10:00: u1 holds 2 on host 1 for the hour and 1 on host 2 for 30 minutes
        //   → 2 × 3600 + 1800 = 9000 s = 2.5 lh, peak 3.
        // Jul 31 11:00: u2 holds 1 for the hour → 1 lh.
        let s = [
            session(1, 1, 2, at(2007, 7, 1, 10), at(2007, 7, 1, 11)),
            session(1, 2, 1, at(2007, 7, 1, 10), at(2007, 7, 1, 10) + 1_800),
            session(2, 1, 1, at(2007, 7, 31, 11), at(2007, 7, 31, 12)),
        ];
        let r = rollup(F, at(2007, 7, 1, 0)..at(2007, 8, 1, 0), &s, &[]);
        let logged = Logged::from_ranges([
            at(2007, 7, 1, 0)..at(2007, 7, 2, 0),
            at(2007, 7, 31, 10)..at(2007, 7, 31, 12),
        ]);
        let lines = summary(Mode::Month, &r.hours, Some(&r.users), &logged);
        let users: Vec<Option<Id>> = lines.iter().map(|l| l.user).collect();
        assert_eq!(users, [None, Some(1), Some(2)]);
        // Product: NrHours 24 + 2 = 26; TotalUsed 3.5; MaxUsed 3.
        // AverageUsed: Jul 1 → 2.5 / 8 = 0.3125; Jul 31 has 2 logged hours (0 and 1) → 0.5;
        // each is its week's only day → (0.3125 + 0.5) / 2 = 0.40625.
        let all = lines[0].all;
        assert_eq!((all.hours, all.total_used, all.max_used), (26, 3.5, 3));
        assert_eq!(all.average_used, 0.40625);
        // User 1: its hosts add up (2 + 1 = 3); average (2.5 / 8 + 0) / 2 = 0.15625.
        let u1 = lines[1].all;
        assert_eq!(
            (u1.hours, u1.total_used, u1.max_used, u1.average_used),
            (26, 2.5, 3, 0.15625)
        );
        // User 2: (0 + 1 / 2) / 2 = 0.25.
        assert_eq!(lines[2].all.average_used, 0.25);
        let days = lines[0].by_weekday.unwrap_or_default();
        assert_eq!(days[Weekday::Tuesday as usize].hours, 2);
        assert_eq!(days[Weekday::Monday as usize], Figures::default());
    }

    #[test]
    fn sessions_crossing_midnight_are_split_between_days() {
        // 1 license from Jul 1 22:00 to Jul 2 02:00: 2 lh on each day; the year holds all 4.
        let s = [session(1, 1, 1, at(2007, 7, 1, 22), at(2007, 7, 2, 2))];
        let r = rollup(F, at(2007, 7, 1, 0)..at(2007, 7, 3, 0), &s, &[]);
        let logged = day_logged(2007, 7, 1, 2);
        let days = summary(Mode::Day, &r.hours, None, &logged);
        let totals: Vec<(Timestamp, u64, f64)> = days
            .iter()
            .map(|l| (l.start, l.all.hours, l.all.total_used))
            .collect();
        assert_eq!(
            totals,
            [(at(2007, 7, 1, 0), 24, 2.0), (at(2007, 7, 2, 0), 24, 2.0)]
        );
        let year = summary(Mode::Year, &r.hours, None, &logged);
        assert_eq!(
            (year.len(), year[0].all.total_used, year[0].all.hours),
            (1, 4.0, 48)
        );
    }

    #[test]
    fn columns_carry_the_seed_titles() -> Result<(), serde_json::Error> {
        let rows = [row(at(2007, 7, 2, 14), 2, 3)];
        let logged = day_logged(2007, 7, 2, 2);
        let text = |mode| -> Result<String, serde_json::Error> {
            serde_json::to_string(&summary(mode, &rows, None, &logged)[0])
        };
        let day = text(Mode::Day)?;
        assert!(day.starts_with(
            r#"{"Period":"2007-07-02","ServerId":1,"ProductId":10,"UserId":null,"NrHours":24,"AverageDesired":0.375,"AverageUsed":0.25,"MaxDesired":3,"MaxUsed":2,"TotalDesired":3.0,"TotalUsed":2.0,"Hours00":1,"AverageDesired00":0.0,"#
        ));
        assert!(day.contains(r#""Hours14":1,"AverageDesired14":3.0,"AverageUsed14":2.0,"MaxDesired14":3,"MaxUsed14":2,"TotalDesired14":3.0,"TotalUsed14":2.0,"Hours15""#));
        assert!(!day.contains("Sunday"));
        let week = text(Mode::Week)?;
        assert!(week.contains(r#""Period":"2007-07-01""#));
        assert!(week.ends_with(r#""TotalDesiredSaturday":0.0,"TotalUsedSaturday":0.0}"#));
        // 4 ids + 7 overall + 24 × 7 hourly + 7 × 7 weekday columns.
        let value: serde_json::Value = serde_json::from_str(&week)?;
        assert_eq!(
            value.as_object().map(|o| o.len()),
            Some(4 + 7 + 24 * 7 + 7 * 7)
        );
        Ok(())
    }
}
