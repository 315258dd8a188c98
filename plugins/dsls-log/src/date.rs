//! Civil-date arithmetic (proleptic Gregorian), so the guest needs no date crate.

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

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
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

/// `+HH:MM` / `-HH:MM` of an offset in seconds east of UTC.
pub fn format_offset(secs: i64) -> String {
    let sign = if secs < 0 { '-' } else { '+' };
    let a = secs.unsigned_abs();
    format!("{sign}{:02}:{:02}", a / 3600, a / 60 % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_days_and_round_trip() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2025, 8, 18), 20_318);
        assert_eq!(civil_from_days(20_318), (2025, 8, 18));
        let start = days_from_civil(1999, 12, 1);
        for z in start..start + 20_000 {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(checked_days(y, m, d), Some(z));
        }
    }

    #[test]
    fn checks_and_formatting() {
        assert!(checked_days(2024, 2, 29).is_some());
        assert_eq!(checked_days(2025, 2, 29), None);
        assert_eq!(checked_days(2025, 13, 1), None);
        assert_eq!(checked_days(25, 1, 1), None);
        assert_eq!(format_utc(1_757_133_596), "2025-09-06T04:39:56Z");
        assert_eq!(format_utc(-1), "1969-12-31T23:59:59Z");
        assert_eq!(format_offset(25_200), "+07:00");
        assert_eq!(format_offset(-16_200), "-04:30");
        assert_eq!(format_offset(0), "+00:00");
    }
}
