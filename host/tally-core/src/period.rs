//! The calendar of reports, all in UTC: hours, the periods built from them (day, ISO week,
//! Sunday week, month, year), weekdays, and the set of hours logging was on.

use std::collections::BTreeMap;
use std::ops::Range;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::Timestamp;

/// Seconds in an hour.
pub const HOUR: i64 = 3_600;
/// Seconds in a day.
pub const DAY: i64 = 86_400;

/// The start of the UTC hour holding `t`.
pub fn hour_start(t: Timestamp) -> Timestamp {
    // Saturating: a garbage time near `i64::MIN` must not panic.
    t.saturating_sub(t.rem_euclid(HOUR))
}

/// The first hour start at or after `t`.
pub fn hour_ceil(t: Timestamp) -> Timestamp {
    hour_start(t.saturating_add(HOUR - 1))
}

/// The UTC hour of day of `t`, 0..=23.
pub fn hour_of_day(t: Timestamp) -> usize {
    // In 0..24, so the cast is lossless.
    (t.rem_euclid(DAY) / HOUR) as usize
}

/// A day of the week, in the order of the SFLM summary columns (seed 004 lines 53-73).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Weekday {
    Sunday,
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
}

impl Weekday {
    pub const ALL: [Weekday; 7] = [
        Weekday::Sunday,
        Weekday::Monday,
        Weekday::Tuesday,
        Weekday::Wednesday,
        Weekday::Thursday,
        Weekday::Friday,
        Weekday::Saturday,
    ];

    /// The UTC weekday of `t`.
    pub fn of(t: Timestamp) -> Weekday {
        // 1970-01-01 was a Thursday (index 4 from Sunday).
        Weekday::ALL[(t.div_euclid(DAY) + 4).rem_euclid(7) as usize]
    }

    pub fn name(self) -> &'static str {
        match self {
            Weekday::Sunday => "Sunday",
            Weekday::Monday => "Monday",
            Weekday::Tuesday => "Tuesday",
            Weekday::Wednesday => "Wednesday",
            Weekday::Thursday => "Thursday",
            Weekday::Friday => "Friday",
            Weekday::Saturday => "Saturday",
        }
    }
}

/// A report resolution. Every period is a whole number of UTC hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Period {
    Hour,
    Day,
    /// ISO 8601: Monday to Sunday.
    Week,
    /// Sunday to Saturday, the SFLM week (seed 004 line 8).
    SundayWeek,
    Month,
    /// January to March, April to June, …
    Quarter,
    Year,
}

impl Period {
    /// The start of the period holding `t`.
    pub fn start(self, t: Timestamp) -> Timestamp {
        let day = t.saturating_sub(t.rem_euclid(DAY));
        // Days since the Sunday starting the week.
        let from_sunday = Weekday::of(t) as i64;
        match self {
            Period::Hour => hour_start(t),
            Period::Day => day,
            Period::Week => day.saturating_sub((from_sunday + 6) % 7 * DAY),
            Period::SundayWeek => day.saturating_sub(from_sunday * DAY),
            Period::Month => midnight(date(t).with_day(1)),
            Period::Quarter => {
                let d = date(t);
                midnight(NaiveDate::from_ymd_opt(
                    d.year(),
                    (d.month() - 1) / 3 * 3 + 1,
                    1,
                ))
            }
            Period::Year => midnight(date(t).with_ordinal(1)),
        }
    }

    /// The start of the next period after the one starting at `start`.
    pub fn next(self, start: Timestamp) -> Timestamp {
        match self {
            Period::Hour => start.saturating_add(HOUR),
            Period::Day => start.saturating_add(DAY),
            Period::Week | Period::SundayWeek => start.saturating_add(7 * DAY),
            Period::Month | Period::Quarter => {
                let months = if self == Period::Month { 1 } else { 3 };
                let d = date(start);
                let m0 = d.month0() + months;
                midnight(NaiveDate::from_ymd_opt(
                    d.year() + (m0 / 12) as i32,
                    m0 % 12 + 1,
                    1,
                ))
            }
            Period::Year => midnight(NaiveDate::from_ymd_opt(date(start).year() + 1, 1, 1)),
        }
    }

    /// How a period is shown: `2007-07-01T13Z`, `2007-07-01`, `2007-W26` (ISO),
    /// `2007-07-01` (the Sunday), `2007-07`, `2007-Q3`, `2007`.
    pub fn label(self, start: Timestamp) -> String {
        let d = date(start);
        match self {
            Period::Hour => format!("{}T{:02}Z", d.format("%Y-%m-%d"), hour_of_day(start)),
            Period::Day | Period::SundayWeek => d.format("%Y-%m-%d").to_string(),
            Period::Week => {
                let w = d.iso_week();
                format!("{}-W{:02}", w.year(), w.week())
            }
            Period::Month => d.format("%Y-%m").to_string(),
            Period::Quarter => format!("{}-Q{}", d.year(), d.month0() / 3 + 1),
            Period::Year => d.format("%Y").to_string(),
        }
    }
}

impl Period {
    /// Its name in requests and answers: `hour`, `day`, `week`, `sunday-week`, `month`,
    /// `quarter`, `year`.
    pub fn name(self) -> &'static str {
        match self {
            Period::Hour => "hour",
            Period::Day => "day",
            Period::Week => "week",
            Period::SundayWeek => "sunday-week",
            Period::Month => "month",
            Period::Quarter => "quarter",
            Period::Year => "year",
        }
    }

    /// The resolution a chart of the window `[from, to)` reads best at: a few dozen to a few
    /// hundred points (hours up to three days, days up to six months, weeks up to two years,
    /// months up to eight, quarters up to twenty-five, years beyond).
    pub fn for_window(from: Timestamp, to: Timestamp) -> Period {
        let days = to.saturating_sub(from) / DAY;
        match days {
            ..=3 => Period::Hour,
            4..=183 => Period::Day,
            184..=731 => Period::Week,
            732..=2_922 => Period::Month,
            2_923..=9_131 => Period::Quarter,
            _ => Period::Year,
        }
    }
}

/// The UTC date of `t`, clamped to chrono's range (±262,000 years: only garbage is outside).
fn date(t: Timestamp) -> NaiveDate {
    match DateTime::<Utc>::from_timestamp(t, 0) {
        Some(dt) => dt.date_naive(),
        None if t < 0 => NaiveDate::MIN,
        None => NaiveDate::MAX,
    }
}

fn midnight(d: Option<NaiveDate>) -> Timestamp {
    d.and_then(|d| d.and_hms_opt(0, 0, 0))
        .map_or(Timestamp::MAX, |dt| dt.and_utc().timestamp())
}

/// The hours logging was on: SFLM's `NrHours` (seed 004 line 25), the denominator of every
/// average. Rollup rows only exist for hours with activity, so idle logged hours come from
/// here (an import's time span, the hours a server was polled). Each hour keeps the seconds of
/// it that were logged: an average over a partly logged hour (the first minutes of polling, a
/// log ending mid-hour) is over the part logged, not the whole hour.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Logged(BTreeMap<Timestamp, u32>);

impl Logged {
    /// The hours touched by `ranges`, each with the seconds of it the ranges cover (overlaps
    /// once).
    pub fn from_ranges(ranges: impl IntoIterator<Item = Range<Timestamp>>) -> Logged {
        let mut ranges: Vec<Range<Timestamp>> =
            ranges.into_iter().filter(|r| r.start < r.end).collect();
        ranges.sort_by_key(|r| r.start);
        let mut merged: Vec<Range<Timestamp>> = Vec::with_capacity(ranges.len());
        for r in ranges {
            match merged.last_mut() {
                Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
                _ => merged.push(r),
            }
        }
        let mut hours = BTreeMap::new();
        for r in merged {
            let mut a = r.start;
            while a < r.end {
                let h = hour_start(a);
                let b = r.end.min(h.saturating_add(HOUR));
                // At most an hour: fits.
                *hours.entry(h).or_insert(0) += (b - a) as u32;
                a = b;
            }
        }
        Logged(hours)
    }

    /// These hours plus `more` (instants in hours with data): an hour with data but outside
    /// every logged span counts whole.
    pub fn with(&self, more: impl IntoIterator<Item = Timestamp>) -> Logged {
        let mut hours = self.0.clone();
        for h in more {
            hours.entry(hour_start(h)).or_insert(HOUR as u32);
        }
        Logged(hours)
    }

    /// The logged hour starts, in order.
    pub fn hours(&self) -> impl Iterator<Item = Timestamp> + '_ {
        self.0.keys().copied()
    }

    /// The logged hour starts within `range`, in order.
    pub fn hours_in(&self, range: Range<Timestamp>) -> impl Iterator<Item = Timestamp> + '_ {
        self.0.range(range).map(|(&h, _)| h)
    }

    /// Each logged hour start with the seconds of it logged (1..=3600), in order.
    pub fn seconds(&self) -> impl Iterator<Item = (Timestamp, u32)> + '_ {
        self.0.iter().map(|(&h, &s)| (h, s))
    }

    /// Hours touched.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Unix time of a UTC date and hour (test fixtures).
    pub(crate) fn at(y: i32, m: u32, d: u32, h: u32) -> Timestamp {
        midnight(NaiveDate::from_ymd_opt(y, m, d)) + i64::from(h) * HOUR
    }

    #[test]
    fn hours_floor_and_ceil() {
        assert_eq!(hour_start(7_199), 3_600);
        assert_eq!(hour_start(-1), -3_600);
        assert_eq!(hour_ceil(3_600), 3_600);
        assert_eq!(hour_ceil(3_601), 7_200);
        assert_eq!(hour_of_day(at(2007, 7, 1, 23) + 59), 23);
    }

    #[test]
    fn weekdays() {
        assert_eq!(Weekday::of(0), Weekday::Thursday);
        // 2007-07-01 was a Sunday (seed 004: the week "July 1-7, 2007").
        assert_eq!(Weekday::of(at(2007, 7, 1, 12)), Weekday::Sunday);
        assert_eq!(Weekday::of(at(2007, 7, 7, 23)), Weekday::Saturday);
        assert_eq!(Weekday::of(-1), Weekday::Wednesday);
    }

    #[test]
    fn period_starts_and_ends() {
        // Wednesday 2007-07-04 13:30.
        let t = at(2007, 7, 4, 13) + 1_800;
        let cases = [
            (Period::Hour, at(2007, 7, 4, 13), at(2007, 7, 4, 14)),
            (Period::Day, at(2007, 7, 4, 0), at(2007, 7, 5, 0)),
            (Period::Week, at(2007, 7, 2, 0), at(2007, 7, 9, 0)),
            (Period::SundayWeek, at(2007, 7, 1, 0), at(2007, 7, 8, 0)),
            (Period::Month, at(2007, 7, 1, 0), at(2007, 8, 1, 0)),
            (Period::Quarter, at(2007, 7, 1, 0), at(2007, 10, 1, 0)),
            (Period::Year, at(2007, 1, 1, 0), at(2008, 1, 1, 0)),
        ];
        for (p, start, next) in cases {
            assert_eq!(p.start(t), start, "{p:?}");
            assert_eq!(p.next(start), next, "{p:?}");
        }
        assert_eq!(Period::Month.next(at(2007, 12, 1, 0)), at(2008, 1, 1, 0));
        assert_eq!(Period::Quarter.next(at(2007, 10, 1, 0)), at(2008, 1, 1, 0));
        assert_eq!(
            Period::Quarter.start(at(2007, 3, 31, 23)),
            at(2007, 1, 1, 0)
        );
        assert_eq!(Period::Quarter.label(at(2007, 10, 1, 0)), "2007-Q4");
        // A Sunday belongs to the ISO week that began the Monday before.
        assert_eq!(Period::Week.start(at(2007, 7, 8, 5)), at(2007, 7, 2, 0));
        assert_eq!(
            Period::SundayWeek.start(at(2007, 7, 8, 5)),
            at(2007, 7, 8, 0)
        );
    }

    #[test]
    fn resolutions_follow_the_window() {
        let t = at(2024, 1, 1, 0);
        let after = |days: i64| Period::for_window(t, t + days * DAY);
        assert_eq!(after(1), Period::Hour);
        assert_eq!(after(30), Period::Day);
        assert_eq!(after(365), Period::Week);
        assert_eq!(after(3 * 365), Period::Month);
        assert_eq!(after(10 * 365), Period::Quarter);
        assert_eq!(after(40 * 365), Period::Year);
    }

    #[test]
    fn labels() {
        assert_eq!(Period::Hour.label(at(2007, 7, 1, 9)), "2007-07-01T09Z");
        assert_eq!(Period::Day.label(at(2007, 7, 1, 0)), "2007-07-01");
        // 2008-12-29 is in ISO week 1 of 2009.
        assert_eq!(Period::Week.label(at(2008, 12, 29, 0)), "2009-W01");
        assert_eq!(Period::SundayWeek.label(at(2007, 7, 1, 0)), "2007-07-01");
        assert_eq!(Period::Month.label(at(2007, 7, 1, 0)), "2007-07");
        assert_eq!(Period::Year.label(at(2007, 1, 1, 0)), "2007");
    }

    #[test]
    fn garbage_times_do_not_panic() {
        for p in [
            Period::Hour,
            Period::Day,
            Period::Week,
            Period::SundayWeek,
            Period::Month,
            Period::Year,
        ] {
            for t in [i64::MIN, i64::MAX] {
                let s = p.start(t);
                let _ = (p.next(s), p.label(s));
            }
        }
    }

    #[test]
    fn logged_hours_are_whole() {
        let l = Logged::from_ranges([1_800..7_201, 7_200..7_300]);
        assert_eq!(l.hours().collect::<Vec<_>>(), [0, 3_600, 7_200]);
        assert_eq!(l.with([11_000]).len(), 4);
        assert_eq!(l.hours_in(3_000..7_200).collect::<Vec<_>>(), [3_600]);
        // 1800 of the first hour, all of the second, 100 s of the third (overlap once).
        assert_eq!(
            l.seconds().collect::<Vec<_>>(),
            [(0, 1_800), (3_600, 3_600), (7_200, 100)]
        );
        // An hour with data outside the spans counts whole; a partly logged one keeps its part.
        let w = l.with([7_250, 11_000]);
        assert_eq!(w.seconds().last(), Some((10_800, 3_600)));
        assert_eq!(w.seconds().nth(2), Some((7_200, 100)));
    }
}
