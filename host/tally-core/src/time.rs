//! Tally timestamps (UTC seconds): the clock, and their formatting.

use chrono::{DateTime, Utc};

use crate::Timestamp;

/// Seconds since 1970, now: the one clock every layer reads (tests pass times explicitly).
pub fn now() -> Timestamp {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// `2017-06-08T13:49:41Z`, or the raw number when it is out of chrono's range.
pub fn rfc3339(t: Timestamp) -> String {
    match DateTime::<Utc>::from_timestamp(t, 0) {
        Some(dt) => dt.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        None => t.to_string(),
    }
}

/// An offset from UTC as people write it (`-5`, `+5:30`, `0`): the one unit the CLI, the API and
/// configuration files use. Held as seconds east of UTC, at most 14 hours either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UtcOffset(i32);

impl UtcOffset {
    /// Farthest any zone is from UTC (UTC+14).
    pub const MAX_SECONDS: i32 = 14 * 3600;

    pub fn from_seconds(seconds: i32) -> Option<UtcOffset> {
        (seconds.abs() <= Self::MAX_SECONDS).then_some(UtcOffset(seconds))
    }

    pub fn seconds(self) -> i32 {
        self.0
    }
}

impl std::str::FromStr for UtcOffset {
    type Err = String;

    fn from_str(text: &str) -> Result<UtcOffset, String> {
        let err = || format!("`{text}` is not a UTC offset like -5, +5:30 or 0");
        let (sign, rest) = match text.as_bytes().first() {
            Some(b'-') => (-1, &text[1..]),
            Some(b'+') => (1, &text[1..]),
            _ => (1, text),
        };
        let (hours, minutes) = rest.split_once(':').unwrap_or((rest, "0"));
        let hours: i32 = hours.parse().map_err(|_| err())?;
        let minutes: i32 = minutes.parse().map_err(|_| err())?;
        if !(0..=14).contains(&hours) || !(0..60).contains(&minutes) {
            return Err(err());
        }
        UtcOffset::from_seconds(sign * (hours * 3600 + minutes * 60)).ok_or_else(err)
    }
}

impl TryFrom<String> for UtcOffset {
    type Error = String;
    fn try_from(text: String) -> Result<UtcOffset, String> {
        text.parse()
    }
}

impl From<UtcOffset> for String {
    fn from(offset: UtcOffset) -> String {
        offset.to_string()
    }
}

impl std::fmt::Display for UtcOffset {
    /// `+5:30`, `-5`, `+0`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sign = if self.0 < 0 { '-' } else { '+' };
        let (hours, minutes) = (self.0.abs() / 3600, self.0.abs() % 3600 / 60);
        match minutes {
            0 => write!(f, "{sign}{hours}"),
            _ => write!(f, "{sign}{hours}:{minutes:02}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::UtcOffset;

    #[test]
    fn utc_offsets() {
        let seconds = |t: &str| t.parse::<UtcOffset>().map(UtcOffset::seconds);
        assert_eq!(seconds("0"), Ok(0));
        assert_eq!(seconds("-5"), Ok(-18_000));
        assert_eq!(seconds("+5:30"), Ok(19_800));
        assert!(seconds("25").is_err());
        assert!(seconds("abc").is_err());
        assert!(seconds("-2147483648").is_err());
        assert_eq!(
            UtcOffset::from_seconds(19_800)
                .map(|o| o.to_string())
                .as_deref(),
            Some("+5:30")
        );
        assert_eq!(
            UtcOffset::from_seconds(-18_000)
                .map(|o| o.to_string())
                .as_deref(),
            Some("-5")
        );
    }

    #[test]
    fn formats_utc() {
        assert_eq!(super::rfc3339(1_496_929_781), "2017-06-08T13:49:41Z");
    }
}
