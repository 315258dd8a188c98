//! The Common Era clock of the SFLM log, on top of the SDK's civil-date arithmetic
//! ([`tally_plugin_sdk::civil`]).

/// Seconds from 0001-01-01T00:00:00Z (the start of the Common Era, proleptic Gregorian) to
/// 1970-01-01T00:00:00Z: 719 162 days. The log's `StartTime(InSeconds)` / `EndTime(inSeconds)`
/// minus this is a Unix time. (The same constant as .NET's `DateTime.UnixEpoch.Ticks / 10^7`.)
pub const CE_TO_UNIX: i64 = 62_135_596_800;

/// Unix seconds of a count of seconds since the start of the Common Era.
pub fn unix_from_ce(ce: i64) -> i64 {
    ce - CE_TO_UNIX
}

#[cfg(test)]
mod tests {
    use super::*;
    use tally_plugin_sdk::civil::{DAY, days_from_civil, format_utc};

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
}
