//! Time zones of license servers: reading their logs (written in local time) into UTC, and
//! showing reports in their local calendar (day, week and heatmap boundaries).
//!
//! A server's zone is an IANA name (`America/Chicago`) with its daylight-saving rules, or a
//! fixed offset (the `--utc-offset` override, and servers configured before zones existed).
//!
//! **Reading local times.** A local time may not exist (the hour skipped when clocks go
//! forward) or exist twice (the hour repeated when they go back). A skipped time is read with
//! the offset in force before the change (02:30 on a spring-forward day is 03:30 of the new
//! offset: the clock was late, not the event). A repeated time is resolved by [`LocalClock`]
//! from the log's order: the first reading unless the log has already passed it.
//!
//! **Guests.** Importers are told one fixed offset in their config and convert with it; the
//! host re-reads their times in the zone ([`LocalClock::rezone_batch`]): one time-zone
//! database in the host, none in every plugin, and plugins of every WIT track keep working.

use std::fmt;

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, Offset, TimeZone,
    Timelike, Utc,
};
use chrono_tz::Tz;

use crate::period::{HOUR, Period, Weekday};
use crate::{Batch, Timestamp};

/// The time zone a license server's clock shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zone {
    /// An IANA zone with its daylight-saving rules.
    Named(Tz),
    /// A fixed offset from UTC, in seconds (east positive).
    Fixed(i32),
}

/// A zone name or offset that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneError {
    pub input: String,
}

impl fmt::Display for ZoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown time zone `{}`: give an IANA name such as `America/Chicago` or `UTC`, or an offset such as `+05:30`",
            self.input.chars().take(64).collect::<String>()
        )
    }
}

impl std::error::Error for ZoneError {}

/// The most a real offset is from UTC (UTC−12 to UTC+14, with room).
const MAX_OFFSET: i32 = 18 * 3_600;

impl Zone {
    pub const UTC: Zone = Zone::Fixed(0);

    /// An IANA name (`Europe/Paris`, `UTC`) or a fixed offset (`+05:30`, `-3`, `+0100`).
    pub fn parse(text: &str) -> Result<Zone, ZoneError> {
        let t = text.trim();
        let err = || ZoneError { input: t.into() };
        if t.starts_with(['+', '-']) {
            return parse_offset(t).map(Zone::Fixed).ok_or_else(err);
        }
        t.parse::<Tz>().map(Zone::Named).map_err(|_| err())
    }

    /// What the store keeps: the IANA name, or the offset as `+HH:MM`.
    pub fn name(&self) -> String {
        match self {
            Zone::Named(tz) => tz.name().to_string(),
            Zone::Fixed(secs) => {
                let sign = if *secs < 0 { '-' } else { '+' };
                let a = secs.unsigned_abs();
                format!("{sign}{:02}:{:02}", a / 3_600, a % 3_600 / 60)
            }
        }
    }

    /// The offset from UTC (seconds, east positive) in force at `t`.
    pub fn offset_at(&self, t: Timestamp) -> i32 {
        match self {
            Zone::Fixed(secs) => *secs,
            Zone::Named(tz) => match DateTime::<Utc>::from_timestamp(t, 0) {
                Some(dt) => tz
                    .offset_from_utc_datetime(&dt.naive_utc())
                    .fix()
                    .local_minus_utc(),
                None => 0,
            },
        }
    }

    /// The local wall-clock time of `t`.
    pub fn local(&self, t: Timestamp) -> NaiveDateTime {
        let utc = DateTime::<Utc>::from_timestamp(t, 0).unwrap_or(if t < 0 {
            DateTime::<Utc>::MIN_UTC
        } else {
            DateTime::<Utc>::MAX_UTC
        });
        utc.naive_utc()
            .checked_add_signed(Duration::seconds(self.offset_at(t).into()))
            .unwrap_or(utc.naive_utc())
    }

    /// Every UTC instant that shows `local` on this zone's clocks.
    pub fn from_local(&self, local: NaiveDateTime) -> Local {
        match self {
            Zone::Fixed(secs) => Local::Unique(local.and_utc().timestamp() - i64::from(*secs)),
            Zone::Named(tz) => match tz.from_local_datetime(&local) {
                LocalResult::Single(dt) => Local::Unique(dt.timestamp()),
                LocalResult::Ambiguous(a, b) => {
                    let (a, b) = (a.timestamp(), b.timestamp());
                    Local::Repeated {
                        first: a.min(b),
                        second: a.max(b),
                    }
                }
                LocalResult::None => {
                    // Read with the offset in force before the gap: the one of an instant
                    // further back than any offset reaches (gaps are months apart).
                    let naive = local.and_utc().timestamp();
                    let before = self.offset_at(naive - i64::from(MAX_OFFSET) - HOUR);
                    Local::Skipped {
                        reading: naive - i64::from(before),
                    }
                }
            },
        }
    }

    /// The first instant at or after local midnight of `day` (midnight itself unless a
    /// clock change skips it).
    fn midnight(&self, day: NaiveDate) -> Timestamp {
        let Some(local) = day.and_hms_opt(0, 0, 0) else {
            return Timestamp::MAX;
        };
        match self.from_local(local) {
            Local::Unique(t) => t,
            Local::Repeated { first, .. } => first,
            // Midnight skipped: the day starts when the clock jumps.
            Local::Skipped { reading } => reading,
        }
    }

    /// The start of the local `period` holding `t`: local hours, midnights, Mondays (ISO week)
    /// or Sundays, first days of months and years. A local day may be 23 or 25 hours long.
    pub fn period_start(&self, period: Period, t: Timestamp) -> Timestamp {
        let local = self.local(t);
        let d = local.date();
        match period {
            // The offset at `t` places it in its local hour, the repeated one too.
            Period::Hour => t - i64::from(local.minute()) * 60 - i64::from(local.second()),
            Period::Day => self.midnight(d),
            Period::Week => {
                self.midnight(d - Duration::days(d.weekday().num_days_from_monday().into()))
            }
            Period::SundayWeek => {
                self.midnight(d - Duration::days(d.weekday().num_days_from_sunday().into()))
            }
            Period::Month => self.midnight(d.with_day(1).unwrap_or(d)),
            Period::Quarter => self.midnight(
                NaiveDate::from_ymd_opt(d.year(), d.month0() / 3 * 3 + 1, 1).unwrap_or(d),
            ),
            Period::Year => self.midnight(d.with_ordinal(1).unwrap_or(d)),
        }
    }

    /// The start of the local period after the one starting at `start`.
    pub fn period_next(&self, period: Period, start: Timestamp) -> Timestamp {
        let d = self.local(start).date();
        let next = match period {
            Period::Hour => return start.saturating_add(HOUR),
            Period::Day => d.succ_opt(),
            Period::Week | Period::SundayWeek => d.checked_add_signed(Duration::days(7)),
            Period::Month => d
                .with_day(1)
                .and_then(|f| f.checked_add_months(chrono::Months::new(1))),
            Period::Quarter => d
                .with_day(1)
                .and_then(|f| f.checked_add_months(chrono::Months::new(3))),
            Period::Year => NaiveDate::from_ymd_opt(d.year() + 1, 1, 1),
        };
        next.map_or(Timestamp::MAX, |n| self.midnight(n))
    }

    /// How a local period is shown: the local date (`2026-03-08`), ISO week (`2026-W10`),
    /// month or year; an hour with its offset (`2026-11-01T01-05:00`), which tells the two
    /// readings of a repeated hour apart.
    pub fn period_label(&self, period: Period, start: Timestamp) -> String {
        let local = self.local(start);
        let d = local.date();
        match period {
            Period::Hour => {
                let off = Zone::Fixed(self.offset_at(start)).name();
                format!("{}T{:02}{off}", d.format("%Y-%m-%d"), local.hour())
            }
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

    /// The local weekday and hour of day of `t`: its heatmap cell.
    pub fn heat_cell(&self, t: Timestamp) -> (Weekday, usize) {
        let local = self.local(t);
        let from_sunday = local.weekday().num_days_from_sunday() as usize;
        (Weekday::ALL[from_sunday], local.hour() as usize)
    }
}

impl fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// The UTC instants a local time stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Local {
    Unique(Timestamp),
    /// The hour repeated when clocks go back: the first and the second time it was shown.
    Repeated {
        first: Timestamp,
        second: Timestamp,
    },
    /// The hour skipped when clocks go forward: read with the offset before the change.
    Skipped {
        reading: Timestamp,
    },
}

/// `+05:30`, `-3`, `+0100`, `-03:00` → seconds east of UTC.
fn parse_offset(t: &str) -> Option<i32> {
    let (sign, rest) = match t.as_bytes().first()? {
        b'+' => (1, &t[1..]),
        b'-' => (-1, &t[1..]),
        _ => return None,
    };
    let (h, m) = match rest.split_once(':') {
        Some((h, m)) => (h, m),
        None if rest.len() == 4 => rest.split_at(2),
        None => (rest, "0"),
    };
    if h.is_empty() || h.len() > 2 || m.is_empty() || m.len() > 2 {
        return None;
    }
    let (h, m): (i32, i32) = (h.parse().ok()?, m.parse().ok()?);
    let secs = h * 3_600 + m * 60;
    (m < 60 && secs <= MAX_OFFSET).then_some(sign * secs)
}

/// Reads a log's local times into UTC in the log's order: a repeated local time is its first
/// reading unless the log has already passed that by more than [`LocalClock::SLACK`] (lines
/// a little out of order stay in the first reading), then its second.
#[derive(Debug, Clone)]
pub struct LocalClock {
    zone: Zone,
    last: Option<Timestamp>,
}

impl LocalClock {
    /// How far back a log may step without being taken for the repeated hour.
    pub const SLACK: i64 = 600;

    pub fn new(zone: Zone) -> LocalClock {
        LocalClock { zone, last: None }
    }

    pub fn zone(&self) -> Zone {
        self.zone
    }

    /// The UTC instant of the next local time of the log.
    pub fn to_utc(&mut self, local: NaiveDateTime) -> Timestamp {
        let t = match self.zone.from_local(local) {
            Local::Unique(t) | Local::Skipped { reading: t } => t,
            Local::Repeated { first, second } => match self.last {
                Some(last) if first < last - Self::SLACK => second,
                _ => first,
            },
        };
        self.last = Some(self.last.map_or(t, |l| l.max(t)));
        t
    }

    /// The UTC instant of a time a guest converted with the fixed offset `given` (seconds
    /// east) it was told: the local time it read, re-read in this clock's zone.
    pub fn rezone(&mut self, guest: Timestamp, given: i32) -> Timestamp {
        let Some(local) = DateTime::<Utc>::from_timestamp(guest.saturating_add(given.into()), 0)
        else {
            return guest;
        };
        self.to_utc(local.naive_utc())
    }

    /// Re-reads every time of a guest's batch (converted with the fixed offset `given`) in
    /// this clock's zone, in the batch's order. An end stays at or after its start. A no-op
    /// for a fixed zone equal to `given`.
    pub fn rezone_batch(&mut self, batch: &mut Batch, given: i32) {
        if self.zone == Zone::Fixed(given) {
            return;
        }
        for s in &mut batch.sessions {
            s.start = self.rezone(s.start, given);
            let end = self.rezone(s.end, given);
            s.end = end.max(s.start);
        }
        for d in &mut batch.denials {
            d.time = self.rezone(d.time, given);
            if let Some(until) = d.until {
                d.until = Some(self.rezone(until, given).max(d.time));
            }
        }
        for q in &mut batch.queued {
            q.time = q.time.map(|t| self.rezone(t, given));
        }
        for e in &mut batch.server_events {
            e.time = self.rezone(e.time, given);
        }
        for c in &mut batch.capacities {
            c.from = c.from.map(|t| self.rezone(t, given));
            c.expiry = c.expiry.map(|t| self.rezone(t, given));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::period::{DAY, Period};

    fn ny() -> Zone {
        Zone::parse("America/New_York").expect("known zone")
    }

    fn local(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .and_then(|d| d.and_hms_opt(h, min, 0))
            .expect("valid date")
    }

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> Timestamp {
        local(y, m, d, h, min).and_utc().timestamp()
    }

    #[test]
    fn names_and_offsets_parse() {
        assert_eq!(ny().name(), "America/New_York");
        assert_eq!(Zone::parse("+05:30"), Ok(Zone::Fixed(19_800)));
        assert_eq!(Zone::parse("-3"), Ok(Zone::Fixed(-10_800)));
        assert_eq!(Zone::parse("+0100"), Ok(Zone::Fixed(3_600)));
        assert_eq!(Zone::Fixed(-10_800).name(), "-03:00");
        assert_eq!(
            Zone::parse(&Zone::Fixed(19_800).name()),
            Ok(Zone::Fixed(19_800))
        );
        for bad in ["Mars/Olympus", "", "+25", "+05:75", "+5:3:0", "EST5EDTX"] {
            let e = Zone::parse(bad).expect_err(bad);
            assert!(e.to_string().contains("unknown time zone"), "{e}");
        }
    }

    /// 2026-03-08 02:00 EST → 03:00 EDT; 2026-11-01 02:00 EDT → 01:00 EST.
    #[test]
    fn local_log_times_across_new_york_dst() {
        let z = ny();
        assert_eq!(
            z.from_local(local(2026, 3, 8, 1, 30)),
            Local::Unique(utc(2026, 3, 8, 6, 30))
        );
        // Skipped: 02:30 does not exist; read as EST, i.e. 03:30 EDT.
        assert_eq!(
            z.from_local(local(2026, 3, 8, 2, 30)),
            Local::Skipped {
                reading: utc(2026, 3, 8, 7, 30)
            }
        );
        assert_eq!(
            z.from_local(local(2026, 3, 8, 3, 30)),
            Local::Unique(utc(2026, 3, 8, 7, 30))
        );
        // Repeated: 01:30 is 05:30Z (EDT) and 06:30Z (EST).
        assert_eq!(
            z.from_local(local(2026, 11, 1, 1, 30)),
            Local::Repeated {
                first: utc(2026, 11, 1, 5, 30),
                second: utc(2026, 11, 1, 6, 30)
            }
        );

        // A log through the fall-back hour: 00:50, 01:10, 01:50, 01:05 (again), 01:40, 02:10.
        let mut clock = LocalClock::new(z);
        let read: Vec<Timestamp> = [(0, 50), (1, 10), (1, 50), (1, 5), (1, 40), (2, 10)]
            .iter()
            .map(|&(h, m)| clock.to_utc(local(2026, 11, 1, h, m)))
            .collect();
        assert_eq!(
            read,
            [
                utc(2026, 11, 1, 4, 50),
                utc(2026, 11, 1, 5, 10),
                utc(2026, 11, 1, 5, 50),
                utc(2026, 11, 1, 6, 5),
                utc(2026, 11, 1, 6, 40),
                utc(2026, 11, 1, 7, 10),
            ]
        );
        // A line a little out of order stays in the first reading.
        let mut clock = LocalClock::new(z);
        clock.to_utc(local(2026, 11, 1, 1, 20));
        assert_eq!(
            clock.to_utc(local(2026, 11, 1, 1, 18)),
            utc(2026, 11, 1, 5, 18)
        );
    }

    #[test]
    fn guest_times_are_reread_in_the_zone() {
        // The guest was told −05:00 (the offset at the file's date) and read 2026-07-01 09:00
        // as 14:00Z; in summer New York is −04:00, so it was 13:00Z.
        let mut clock = LocalClock::new(ny());
        assert_eq!(
            clock.rezone(utc(2026, 7, 1, 14, 0), -5 * 3_600),
            utc(2026, 7, 1, 13, 0)
        );
        let mut b = Batch {
            strings: vec!["x".into()],
            ..Batch::default()
        };
        b.sessions.push(crate::Session {
            vendor: 0,
            feature: 0,
            user: 0,
            host: 0,
            count: 1,
            start: utc(2026, 7, 1, 9, 0),
            end: utc(2026, 7, 1, 10, 0),
            end_reason: crate::EndReason::Checkin,
            project: None,
        });
        LocalClock::new(ny()).rezone_batch(&mut b, 0);
        assert_eq!(
            (b.sessions[0].start, b.sessions[0].end),
            (utc(2026, 7, 1, 13, 0), utc(2026, 7, 1, 14, 0))
        );
        // A fixed zone equal to what the guest was told changes nothing.
        let before = b.clone();
        LocalClock::new(Zone::Fixed(0)).rezone_batch(&mut b, 0);
        assert_eq!(b, before);
    }

    #[test]
    fn days_and_weeks_follow_the_zone_across_dst() {
        let z = ny();
        // Sunday 2026-03-08 is 23 hours long in New York; Sunday 2026-11-01 is 25.
        let noon = utc(2026, 3, 8, 16, 0);
        let day = z.period_start(Period::Day, noon);
        assert_eq!(day, utc(2026, 3, 8, 5, 0));
        assert_eq!(z.period_next(Period::Day, day), utc(2026, 3, 9, 4, 0));
        assert_eq!(z.period_next(Period::Day, day) - day, 23 * HOUR);
        let fall = z.period_start(Period::Day, utc(2026, 11, 1, 16, 0));
        assert_eq!(z.period_next(Period::Day, fall) - fall, 25 * HOUR);
        assert_eq!(z.period_label(Period::Day, day), "2026-03-08");
        // ISO week of Sunday 03-08 began Monday 03-02 at local midnight (EST).
        assert_eq!(z.period_start(Period::Week, noon), utc(2026, 3, 2, 5, 0));
        assert_eq!(z.period_start(Period::SundayWeek, noon), day);
        assert_eq!(z.period_start(Period::Month, noon), utc(2026, 3, 1, 5, 0));
        assert_eq!(
            z.period_next(Period::Month, utc(2026, 3, 1, 5, 0)),
            utc(2026, 4, 1, 4, 0)
        );
        assert_eq!(z.period_start(Period::Year, noon), utc(2026, 1, 1, 5, 0));
        // Local hours: the repeated 01:00 hour is two hours, labelled apart by their offset.
        let first = z.period_start(Period::Hour, utc(2026, 11, 1, 5, 40));
        let second = z.period_start(Period::Hour, utc(2026, 11, 1, 6, 40));
        assert_eq!(
            (first, second),
            (utc(2026, 11, 1, 5, 0), utc(2026, 11, 1, 6, 0))
        );
        assert_eq!(z.period_label(Period::Hour, first), "2026-11-01T01-04:00");
        assert_eq!(z.period_label(Period::Hour, second), "2026-11-01T01-05:00");
        // A half-hour zone's hours start at :30 UTC.
        let india = Zone::parse("Asia/Kolkata").expect("known zone");
        assert_eq!(
            india.period_start(Period::Hour, utc(2026, 1, 1, 10, 10)),
            utc(2026, 1, 1, 9, 30)
        );
        assert_eq!(
            india.period_start(Period::Day, utc(2026, 1, 1, 20, 0)),
            utc(2026, 1, 1, 18, 30)
        );
        assert_eq!(
            Zone::UTC.period_start(Period::Day, noon),
            noon - noon.rem_euclid(DAY)
        );
    }

    #[test]
    fn heatmap_cells_in_local_hours_across_dst() {
        let z = ny();
        // 13:00Z is 08:00 EST on Friday 03-06 and 09:00 EDT on Monday 03-09.
        assert_eq!(z.heat_cell(utc(2026, 3, 6, 13, 0)), (Weekday::Friday, 8));
        assert_eq!(z.heat_cell(utc(2026, 3, 9, 13, 0)), (Weekday::Monday, 9));
        // 03:00Z on Sunday is Saturday 22:00 local.
        assert_eq!(z.heat_cell(utc(2026, 3, 8, 3, 0)), (Weekday::Saturday, 22));
    }
}
