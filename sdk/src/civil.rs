//! Civil-date arithmetic (proleptic Gregorian, UTC), so a guest needs no date crate.
//!
//! Day counts are days since 1970-01-01; timestamps are Unix seconds.

/// Seconds in a day.
pub const DAY: i64 = 86_400;

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

/// Whether `y` is a Gregorian leap year.
pub fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

/// Days in month `m` (1..=12) of year `y`; 0 for a month out of range.
pub fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Day count of a plausible log date, `None` when the fields are out of range. Plausible years
/// are 1971 to 2198: the host refuses a whole result holding an instant outside 1970..2200, so
/// such a date must become the parser's diagnostic, and a year to spare on each side keeps a
/// plausible date inside whatever a UTC offset adds to it.
pub fn checked_days(y: i64, m: u32, d: u32) -> Option<i64> {
    ((1971..=2198).contains(&y) && (1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m))
        .then(|| days_from_civil(y, m, d))
}

/// `YYYY-MM-DD HH:MM:SS` (seconds, or the whole time, may be absent; surrounding spaces are
/// ignored) as seconds since the epoch, the fields read as UTC. `None` when a field is out of
/// range or the shape differs.
pub fn datetime(s: &str) -> Option<i64> {
    let (date, time) = s.trim().split_once(' ').unwrap_or((s.trim(), "00:00:00"));
    let mut d = date.split('-').map(|n| n.parse::<u32>().ok());
    let (Some(Some(y)), Some(Some(m)), Some(Some(dd)), None) =
        (d.next(), d.next(), d.next(), d.next())
    else {
        return None;
    };
    let days = checked_days(i64::from(y), m, dd)?;
    let mut t = time.trim().split(':').map(|n| n.parse::<u32>().ok());
    let (Some(Some(h)), Some(Some(mi)), sec) = (t.next(), t.next(), t.next()) else {
        return None;
    };
    let sec = match sec {
        None => 0,
        Some(Some(s)) if t.next().is_none() => s,
        Some(_) => return None,
    };
    (h < 24 && mi < 60 && sec < 61).then(|| days * DAY + i64::from(h * 3600 + mi * 60 + sec))
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

/// `YYYY-MM-DD` of a day count.
pub fn format_day(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// English month abbreviation (`Jan` … `Dec`, any case) → 1..=12.
pub fn month_from_abbrev(s: &[u8]) -> Option<u32> {
    const NAMES: [&[u8; 3]; 12] = [
        b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep", b"oct", b"nov",
        b"dec",
    ];
    if s.len() < 3 {
        return None;
    }
    let l = [
        s[0].to_ascii_lowercase(),
        s[1].to_ascii_lowercase(),
        s[2].to_ascii_lowercase(),
    ];
    NAMES.iter().position(|n| **n == l).map(|i| i as u32 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_and_known_days() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(2016, 3, 30), 16_890);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        assert_eq!(civil_from_days(16_890), (2016, 3, 30));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(days_from_civil(2025, 9, 4), 20_335);
        assert_eq!(civil_from_days(20_335), (2025, 9, 4));
        assert_eq!(days_from_civil(2025, 8, 18), 20_318);
        assert_eq!(civil_from_days(20_318), (2025, 8, 18));
        assert_eq!(days_from_civil(2021, 5, 26), 18_773);
        assert_eq!(civil_from_days(18_773), (2021, 5, 26));
        assert_eq!(days_from_civil(2007, 7, 1), 13_695);
        assert_eq!(civil_from_days(13_695), (2007, 7, 1));
        // 0001-01-01 is 719 162 days before 1970-01-01.
        assert_eq!(days_from_civil(1, 1, 1), -719_162);
        assert_eq!(civil_from_days(-719_162), (1, 1, 1));
    }

    #[test]
    fn round_trip_over_four_centuries() {
        let start = days_from_civil(1899, 12, 25);
        for z in start..start + 146_097 * 2 {
            let (y, m, d) = civil_from_days(z);
            assert!(d >= 1 && d <= days_in_month(y, m));
            assert_eq!(days_from_civil(y, m, d), z);
        }
        let start = days_from_civil(1999, 12, 1);
        for z in start..start + 20_000 {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(checked_days(y, m, d), Some(z));
        }
    }

    #[test]
    fn leap_years_and_checks() {
        assert!(is_leap(2000) && is_leap(2016) && !is_leap(1900) && !is_leap(2023));
        assert_eq!(days_in_month(2016, 2), 29);
        assert_eq!(days_in_month(1900, 2), 28);
        assert_eq!(days_in_month(2016, 13), 0);
        for (y, m, d) in [(2016, 2, 29), (2024, 2, 29), (2008, 2, 29), (2020, 2, 29)] {
            assert_eq!(checked_days(y, m, d), Some(days_from_civil(y, m, d)));
        }
        for (y, m, d) in [
            (2017, 2, 29),
            (2017, 13, 1),
            (2017, 4, 31),
            (17, 4, 3),
            (2025, 2, 29),
            (2025, 13, 1),
            (2025, 4, 31),
            (25, 1, 1),
            (2007, 2, 29),
            (2007, 13, 1),
            (7, 7, 1),
            (2021, 2, 29),
            (2021, 13, 1),
            // Too near or beyond the instants the host accepts.
            (1970, 12, 31),
            (2199, 1, 1),
        ] {
            assert_eq!(checked_days(y, m, d), None, "{y}-{m}-{d}");
        }
    }

    #[test]
    fn formatting() {
        assert_eq!(format_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_utc(1_459_302_965), "2016-03-30T01:56:05Z");
        assert_eq!(format_utc(-1), "1969-12-31T23:59:59Z");
        assert_eq!(format_utc(1_756_918_804), "2025-09-03T17:00:04Z");
        assert_eq!(format_utc(1_757_133_596), "2025-09-06T04:39:56Z");
        assert_eq!(format_utc(1_183_248_000), "2007-07-01T00:00:00Z");
        assert_eq!(
            format_utc(18_773 * DAY + 13 * 3600 + 38 * 60 + 30),
            "2021-05-26T13:38:30Z"
        );
        assert_eq!(format_day(16_890), "2016-03-30");
        assert_eq!(format_day(20_335), "2025-09-04");
    }

    #[test]
    fn datetimes() {
        let t = |s| datetime(s).map(format_utc);
        assert_eq!(
            t("2025-01-01 00:59:00").as_deref(),
            Some("2025-01-01T00:59:00Z")
        );
        assert_eq!(
            t(" 2024-09-17 17:59:34 ").as_deref(),
            Some("2024-09-17T17:59:34Z")
        );
        assert_eq!(t("2024-02-29").as_deref(), Some("2024-02-29T00:00:00Z"));
        assert_eq!(
            t("2024-02-29 10:00").as_deref(),
            Some("2024-02-29T10:00:00Z")
        );
        for bad in [
            "",
            "2025-13-01 00:00:00",
            "2025-01-01 24:00:00",
            "2025-01-01 1:2:3:4",
            "2025-01-01-01",
            "x",
        ] {
            assert_eq!(datetime(bad), None, "{bad}");
        }
    }

    #[test]
    fn months() {
        assert_eq!(month_from_abbrev(b"Mar"), Some(3));
        assert_eq!(month_from_abbrev(b"DEC"), Some(12));
        assert_eq!(month_from_abbrev(b"jan"), Some(1));
        assert_eq!(month_from_abbrev(b"Foo"), None);
        assert_eq!(month_from_abbrev(b"Ma"), None);
    }
}
