//! Civil-date arithmetic (proleptic Gregorian) and the Common Era clock of the SFLM log, so the
//! guest needs no date crate.

/// Seconds in a day.
pub const DAY: i64 = 86_400;

/// Seconds from 0001-01-01T00:00:00Z (the start of the Common Era, proleptic Gregorian) to
/// 1970-01-01T00:00:00Z: 719 162 days. The log's `StartTime(InSeconds)` / `EndTime(inSeconds)`
/// minus this is a Unix time. (The same constant as .NET's `DateTime.UnixEpoch.Ticks / 10^7`.)
pub const CE_TO_UNIX: i64 = 62_135_596_800;

/// Unix seconds of a count of seconds since the start of the Common Era.
pub fn unix_from_ce(ce: i64) -> i64 {
    ce - CE_TO_UNIX
}

/// Days since 1970-01-01 of the civil date `y-m-d` (H. Hinnant's `days_from_civil`).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date `(y, m, d)` of a day count since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Day count of a plausible log date, `None` when the fields are out of range.
pub fn checked_days(y: i64, m: u32, d: u32) -> Option<i64> {
    ((1900..=2999).contains(&y) && (1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m))
        .then(|| days_from_civil(y, m, d))
}

/// `YYYY-MM-DDTHH:MM:SSZ` for a UTC timestamp (tests and diagnostics).
pub fn format_utc(ts: i64) -> String {
    let days = ts.div_euclid(DAY);
    let secs = ts.rem_euclid(DAY);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn common_era_offset_is_exact() {
        // From the calendar: 0001-01-01 is 719 162 days before 1970-01-01.
        assert_eq!(days_from_civil(1, 1, 1), -719_162);
        assert_eq!(-days_from_civil(1, 1, 1) * DAY, CE_TO_UNIX);
        // Counted by hand: 1969 years of 365 days plus the leap days of years 1..=1969
        // (492 multiples of 4, less 19 of 100, plus 4 of 400).
        assert_eq!(1969 * 365 + 492 - 19 + 4, 719_162);
        // The seed's example day, July 1 2007 (UTC), in both clocks.
        assert_eq!(unix_from_ce(63_318_844_800), 1_183_248_000);
        assert_eq!(
            format_utc(unix_from_ce(63_318_844_800)),
            "2007-07-01T00:00:00Z"
        );
        assert_eq!(format_utc(unix_from_ce(CE_TO_UNIX)), "1970-01-01T00:00:00Z");
        assert_eq!(unix_from_ce(0), days_from_civil(1, 1, 1) * DAY);
    }

    #[test]
    fn civil_round_trip() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2007, 7, 1), 13_695);
        assert_eq!(civil_from_days(13_695), (2007, 7, 1));
        assert_eq!(civil_from_days(-719_162), (1, 1, 1));
        let start = days_from_civil(1999, 12, 25);
        for z in start..start + 146_097 {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
    }

    #[test]
    fn checks() {
        assert_eq!(
            checked_days(2008, 2, 29),
            Some(days_from_civil(2008, 2, 29))
        );
        assert_eq!(checked_days(2007, 2, 29), None);
        assert_eq!(checked_days(2007, 13, 1), None);
        assert_eq!(checked_days(7, 7, 1), None);
        assert_eq!(format_utc(-1), "1969-12-31T23:59:59Z");
    }
}
