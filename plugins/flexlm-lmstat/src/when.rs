//! lmstat's dates: pool expiries (`15-nov-2023`, `permanent(no expiration date)`, `1-jan-0`)
//! and checkout starts without a year (`Thu 10/29 8:09`).
//!
//! WIT gives a poll no time zone, so the server's local times are read as UTC. An output
//! dates itself (`status on …`): its checkouts' years are inferred from that date, not from the
//! time it is read, so a saved output keeps its date.

use tally_plugin_sdk::Timestamp;
use tally_plugin_sdk::civil::{DAY, checked_days, civil_from_days, month_from_abbrev};

/// An expiry: `Ok(None)` for a license that never expires, `Err(())` for an unreadable date.
/// A license is valid through its expiry day, so the instant is that day's last second.
pub fn expiry(s: &str) -> Result<Option<Timestamp>, ()> {
    if s.to_ascii_lowercase().starts_with("permanent") {
        return Ok(None);
    }
    let mut parts = s.splitn(3, '-');
    let (Some(d), Some(m), Some(y)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(());
    };
    let d: u32 = number(d, 2).ok_or(())?;
    let m = month_from_abbrev(m.as_bytes())
        .filter(|_| m.len() == 3)
        .ok_or(())?;
    let y: i64 = number(y, 4).ok_or(())?;
    if y == 0 {
        // `1-jan-0` / `01-jan-0000`: the license-file spelling of "no expiry".
        return Ok(None);
    }
    let days = checked_days(y, m, d).ok_or(())?;
    Ok(Some(days * DAY + DAY - 1))
}

/// How far past `now` a start may seem to lie before it is taken for last year's: the
/// server's clock is local time, up to 14 hours ahead of UTC.
const SLACK: Timestamp = DAY;

/// `M/D` and `H:MM` of a checkout start (no year), in the latest year that does not put it
/// more than a day after `now` and, when lmstat printed one, falls on its `weekday` (`Thu`),
/// searching `years_back` years: many when `now` is only the time an undated output is read,
/// one when the output dated itself. Without a year that agrees, the latest year; the flag
/// says whether the weekday agreed (or none was printed).
pub fn start(
    weekday: Option<&str>,
    date: &str,
    time: &str,
    now: Timestamp,
    years_back: i64,
) -> Option<(Timestamp, bool)> {
    let (m, d) = date.split_once('/')?;
    let (h, min) = time.split_once(':')?;
    let (m, d): (u32, u32) = (number(m, 2)?, number(d, 2)?);
    let (h, min): (i64, i64) = (number(h, 2)?, number(min, 2)?);
    if h > 23 || min > 59 {
        return None;
    }
    let (year, _, _) = civil_from_days((now + SLACK).div_euclid(DAY));
    let wanted = weekday.and_then(weekday_index);
    // At least four years back: that reaches the last 29 February.
    let candidates = (0..=years_back.max(4)).filter_map(|back| {
        let days = checked_days(year - back, m, d)?;
        let t = days * DAY + h * 3600 + min * 60;
        (t <= now + SLACK).then_some((back, days, t))
    });
    let mut latest = None;
    for (back, days, t) in candidates {
        latest.get_or_insert(t);
        if back <= years_back && wanted.is_none_or(|w| weekday_of(days) == w) {
            return Some((t, true));
        }
    }
    latest.map(|t| (t, wanted.is_none()))
}

/// Years searched back for a start whose weekday agrees in an undated output (the calendar
/// repeats within 11 years; 28 reach a 29 February on the right weekday).
pub const YEARS_BACK: i64 = 28;
/// In an output dated by its status line: this year or the last.
pub const DATED_YEARS_BACK: i64 = 1;

/// `Flexible License Manager status on <Dow> <M>/<D>/<YYYY> <H>:<MM>`'s `<Dow> M/D/YYYY H:MM`:
/// when the output was taken (the server's local time, read as UTC), and whether the printed
/// weekday agrees with the date.
pub fn status_on(s: &str) -> Option<(Timestamp, bool)> {
    let mut w = s.split_whitespace();
    let (dow, date, time) = (w.next()?, w.next()?, w.next()?);
    let mut parts = date.splitn(3, '/');
    let (m, d, y) = (parts.next()?, parts.next()?, parts.next()?);
    let (m, d, y): (u32, u32, i64) = (number(m, 2)?, number(d, 2)?, number(y, 4)?);
    let (h, min) = time.split_once(':')?;
    let (h, min): (i64, i64) = (number(h, 2)?, number(min, 2)?);
    if h > 23 || min > 59 {
        return None;
    }
    let days = checked_days(y, m, d)?;
    let agrees = weekday_index(dow).is_some_and(|w| w == weekday_of(days));
    Some((days * DAY + h * 3600 + min * 60, agrees))
}

/// 0 = Sunday … 6 = Saturday, of a day count since 1970-01-01 (a Thursday).
fn weekday_of(days: i64) -> i64 {
    (days + 4).rem_euclid(7)
}

/// `Sun` … `Sat` (any case, the first three letters) → 0 … 6.
fn weekday_index(s: &str) -> Option<i64> {
    const NAMES: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
    let s = s.get(..3)?;
    NAMES
        .iter()
        .position(|n| n.eq_ignore_ascii_case(s))
        .map(|i| i as i64)
}

/// One to `max` ASCII digits.
fn number<T: std::str::FromStr>(s: &str, max: usize) -> Option<T> {
    (!s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tally_plugin_sdk::civil::{days_from_civil, format_utc};

    fn at(y: i64, m: u32, d: u32, h: i64, min: i64) -> Timestamp {
        days_from_civil(y, m, d) * DAY + h * 3600 + min * 60
    }

    #[test]
    fn expiries() {
        let f = |s| expiry(s).map(|t| t.map(format_utc));
        assert_eq!(f("15-nov-2023"), Ok(Some("2023-11-15T23:59:59Z".into())));
        assert_eq!(f("01-JAN-2099"), Ok(Some("2099-01-01T23:59:59Z".into())));
        for permanent in [
            "permanent(no expiration date)",
            "permanent",
            "1-jan-0",
            "01-jan-0000",
        ] {
            assert_eq!(f(permanent), Ok(None), "{permanent}");
        }
        for bad in [
            "31-feb-2022",
            "31-january-2022",
            "jan-2022",
            "x-jan-2022",
            "",
        ] {
            assert_eq!(expiry(bad), Err(()), "{bad}");
        }
    }

    /// A saved output read years later: the printed weekday finds the year.
    #[test]
    fn the_weekday_tells_the_year() {
        let today = at(2026, 12, 7, 1, 40);
        let start = |w, d, t, now| start(w, d, t, now, YEARS_BACK).map(|(t, _)| t);
        // Thursday 29 October: this year's, the first year searched.
        assert_eq!(
            start(Some("Thu"), "10/29", "8:09", today),
            Some(at(2026, 10, 29, 8, 9))
        );
        // Friday 20 October: 2023, the latest agreeing year before today.
        assert_eq!(
            start(Some("Fri"), "10/20", "17:02", today),
            Some(at(2023, 10, 20, 17, 2))
        );
        // Tuesday 29 February: 2028 is ahead, 2000's was a Tuesday.
        assert_eq!(
            start(Some("Tue"), "2/29", "9:00", today),
            Some(at(2000, 2, 29, 9, 0))
        );
        // A weekday no year agrees with: the latest year, as without one.
        assert_eq!(
            start(Some("Xyz"), "10/20", "17:02", today),
            Some(at(2026, 10, 20, 17, 2))
        );
        // Dated by its status line (Fri 10/20/2017): this year or the last only. Monday 11
        // June is neither 2017's nor 2016's: 2017's, and the weekday disagrees.
        let dated = at(2017, 10, 20, 17, 2);
        assert_eq!(
            super::start(Some("Mon"), "6/11", "11:01", dated, DATED_YEARS_BACK),
            Some((at(2017, 6, 11, 11, 1), false))
        );
        assert_eq!(
            super::start(Some("Thu"), "10/19", "9:00", dated, DATED_YEARS_BACK),
            Some((at(2017, 10, 19, 9, 0), true))
        );
    }

    #[test]
    fn status_line_dates_the_output() {
        assert_eq!(
            status_on("Fri 10/20/2017 17:02"),
            Some((at(2017, 10, 20, 17, 2), true))
        );
        assert_eq!(
            status_on("Wed 03/31/2021 09:12"),
            Some((at(2021, 3, 31, 9, 12), true))
        );
        // The weekday disagrees (hand-edited): the date stands, the caller says so.
        assert_eq!(
            status_on("Mon 10/20/2017 17:02"),
            Some((at(2017, 10, 20, 17, 2), false))
        );
        for bad in [
            "Fri 10/20 17:02",
            "Fri 13/20/2017 17:02",
            "Fri 10/20/2017",
            "",
        ] {
            assert_eq!(status_on(bad), None, "{bad}");
        }
    }

    #[test]
    fn start_years() {
        let start = |d, t, now| start(None, d, t, now, YEARS_BACK).map(|(t, _)| t);
        let now = at(2017, 10, 20, 17, 2);
        assert_eq!(start("10/20", "8:33", now), Some(at(2017, 10, 20, 8, 33)));
        assert_eq!(start("5/23", "5:59", now), Some(at(2017, 5, 23, 5, 59)));
        // Up to a day ahead (the server's zone) is still this year; beyond, last year's.
        assert_eq!(start("10/21", "9:00", now), Some(at(2017, 10, 21, 9, 0)));
        assert_eq!(start("12/31", "23:59", now), Some(at(2016, 12, 31, 23, 59)));
        // A poll on New Year's Eve sees a start dated 1 January in the server's zone.
        let eve = at(2024, 12, 31, 20, 0);
        assert_eq!(start("1/1", "0:30", eve), Some(at(2025, 1, 1, 0, 30)));
        let now = at(2025, 3, 1, 0, 0);
        assert_eq!(start("2/29", "08:00", now), Some(at(2024, 2, 29, 8, 0)));
        for (d, t) in [
            ("13/01", "09:01"),
            ("11/01", "24:00"),
            ("1101", "09:01"),
            ("11/01", "9"),
            ("11/01", "9:3a"),
            ("11/01", "9:123"),
        ] {
            assert_eq!(start(d, t, now), None, "{d} {t}");
        }
    }
}
