//! RLM dates: pool expiries (`31-jan-2022`, `permanent`) and checkout times without a year
//! (`11/01 09:01`). WIT 0.1.0 carries no time zone for a poll, so the server's local times are
//! read as UTC.

use tally_plugin_sdk::Timestamp;
use tally_plugin_sdk::civil::{DAY, checked_days, civil_from_days, month_from_abbrev};

/// An expiry: `Ok(None)` for a license that never expires, `Err(())` for an unreadable date.
/// A license is valid through its expiry day, so the instant is that day's last second.
pub fn expiry(s: &str) -> Result<Option<Timestamp>, ()> {
    if s.eq_ignore_ascii_case("permanent") {
        return Ok(None);
    }
    let mut parts = s.splitn(3, '-');
    let (Some(d), Some(m), Some(y)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(());
    };
    let d: u32 = d.parse().map_err(|_| ())?;
    let m = month_from_abbrev(m.as_bytes())
        .filter(|_| m.len() == 3)
        .ok_or(())?;
    let y: i64 = y.parse().map_err(|_| ())?;
    if y == 0 {
        // `1-jan-0`: the license-file spelling of "no expiry".
        return Ok(None);
    }
    let days = checked_days(y, m, d).ok_or(())?;
    Ok(Some(days * DAY + DAY - 1))
}

/// How far past `now` a checkout may seem to lie before it is taken for last year's: the
/// server's clock is local time, up to 14 hours ahead of UTC.
const SLACK: Timestamp = DAY;

/// `MM/DD` and `HH:MM` of a checkout, in the latest year that does not put it after `now`.
pub fn checkout(date: &str, time: &str, now: Timestamp) -> Option<Timestamp> {
    let (m, d) = date.split_once('/')?;
    let (h, min) = time.split_once(':')?;
    let (m, d): (u32, u32) = (number(m)?, number(d)?);
    let (h, min): (i64, i64) = (number(h)?, number(min)?);
    if h > 23 || min > 59 {
        return None;
    }
    let (year, _, _) = civil_from_days(now.div_euclid(DAY));
    // Four years back reaches the last 29 February.
    (0..=4).find_map(|back| {
        let t = checked_days(year - back, m, d)? * DAY + h * 3600 + min * 60;
        (t <= now + SLACK).then_some(t)
    })
}

/// One or two ASCII digits.
fn number<T: std::str::FromStr>(s: &str) -> Option<T> {
    (!s.is_empty() && s.len() <= 2 && s.bytes().all(|b| b.is_ascii_digit()))
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
        assert_eq!(f("31-jan-2022"), Ok(Some("2022-01-31T23:59:59Z".into())));
        assert_eq!(f("1-JUL-2024"), Ok(Some("2024-07-01T23:59:59Z".into())));
        assert_eq!(f("permanent"), Ok(None));
        assert_eq!(f("1-jan-0"), Ok(None));
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
    fn checkout_years() {
        let now = at(2021, 11, 3, 13, 0);
        assert_eq!(checkout("11/01", "09:01", now), Some(at(2021, 11, 1, 9, 1)));
        // Later today in the server's zone is still this year.
        assert_eq!(
            checkout("11/03", "23:30", now),
            Some(at(2021, 11, 3, 23, 30))
        );
        // After now: last year's.
        assert_eq!(
            checkout("12/31", "23:59", now),
            Some(at(2020, 12, 31, 23, 59))
        );
        let now = at(2025, 3, 1, 0, 0);
        assert_eq!(checkout("02/29", "08:00", now), Some(at(2024, 2, 29, 8, 0)));
        for (d, t) in [
            ("13/01", "09:01"),
            ("11/01", "24:00"),
            ("1101", "09:01"),
            ("11/01", "9"),
        ] {
            assert_eq!(checkout(d, t, now), None, "{d} {t}");
        }
    }
}
