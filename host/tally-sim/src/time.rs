//! Calendar fields of a simulated time, written as UTC (the SDK's civil arithmetic).

use tally_plugin_sdk::civil::{DAY, civil_from_days};

/// The calendar fields of a Unix time, in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: i64,
    pub min: i64,
    pub sec: i64,
    /// 0 = Sunday.
    pub weekday: usize,
}

const WEEKDAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

impl Civil {
    pub fn of(t: i64) -> Self {
        let days = t.div_euclid(DAY);
        let secs = t.rem_euclid(DAY);
        let (year, month, day) = civil_from_days(days);
        Civil {
            year,
            month,
            day,
            hour: secs / 3600,
            min: secs / 60 % 60,
            sec: secs % 60,
            // 1970-01-01 was a Thursday.
            weekday: (days + 4).rem_euclid(7) as usize,
        }
    }

    pub fn wkd(&self) -> &'static str {
        WEEKDAYS[self.weekday]
    }

    pub fn mon(&self) -> &'static str {
        MONTHS[(self.month as usize).saturating_sub(1) % 12]
    }

    /// `YYYY-MM-DD HH:MM:SS`
    pub fn iso(&self) -> String {
        format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.min, self.sec
        )
    }
}

/// `Nd HH:MM:SS`, or `HH:MM:SS` under a day (RLM uptimes).
pub fn rlm_duration(secs: i64) -> String {
    let s = secs.max(0);
    let (d, h, m, s) = (s / DAY, s % DAY / 3600, s % 3600 / 60, s % 60);
    if d > 0 {
        format!("{d}d {h:02}:{m:02}:{s:02}")
    } else {
        format!("{h:02}:{m:02}:{s:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_weekday_and_durations() {
        // 2025-04-22T11:08:09Z was a Tuesday.
        let c = Civil::of(1_745_320_089);
        assert_eq!(
            (c.year, c.month, c.day, c.hour, c.min, c.sec),
            (2025, 4, 22, 11, 8, 9)
        );
        assert_eq!((c.wkd(), c.mon()), ("Tue", "Apr"));
        assert_eq!(c.iso(), "2025-04-22 11:08:09");
        assert_eq!(Civil::of(0).wkd(), "Thu");
        assert_eq!(
            rlm_duration(15 * DAY + 11 * 3600 + 8 * 60 + 25),
            "15d 11:08:25"
        );
        assert_eq!(rlm_duration(16 * 60 + 8), "00:16:08");
    }
}
