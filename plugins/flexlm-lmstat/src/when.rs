//! lmstat's dates: pool expiries (`15-nov-2023`, `permanent(no expiration date)`, `1-jan-0`)
//! and checkout starts without a year (`Thu 10/29 8:09`).
//!
//! WIT 0.1.0 gives a poll no time zone, so the server's local times are read as UTC.

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

/// `M/D` and `H:MM` of a checkout start, in the latest year that does not put it more than a
/// day after `now`. The weekday lmstat prints is not checked: it only repeats the date.
pub fn start(date: &str, time: &str, now: Timestamp) -> Option<Timestamp> {
    let (m, d) = date.split_once('/')?;
    let (h, min) = time.split_once(':')?;
    let (m, d): (u32, u32) = (number(m, 2)?, number(d, 2)?);
    let (h, min): (i64, i64) = (number(h, 2)?, number(min, 2)?);
    if h > 23 || min > 59 {
        return None;
    }
    let (year, _, _) = civil_from_days((now + SLACK).div_euclid(DAY));
    // Four years back reaches the last 29 February.
    (0..=4).find_map(|back| {
        let t = checked_days(year - back, m, d)? * DAY + h * 3600 + min * 60;
        (t <= now + SLACK).then_some(t)
    })
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

    #[test]
    fn start_years() {
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
