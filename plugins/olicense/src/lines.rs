//! The status output as numbered lines, and its dates.

use tally_plugin_sdk::Timestamp;
use tally_plugin_sdk::civil::{DAY, checked_days};

/// The lines of `text`, numbered from 1, without a BOM and without one trailing `\r` each.
pub fn lines(text: &str) -> impl Iterator<Item = (u64, &str)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    text.split('\n')
        .zip(1..)
        .map(|(l, no)| (no, l.strip_suffix('\r').unwrap_or(l)))
}

/// `YYYY-MM-DD HH:MM:SS` (the time may be absent) as seconds since the epoch, reading the
/// server's local time as UTC: WIT 0.1.0 carries no zone for a poll.
pub fn datetime(s: &str) -> Option<Timestamp> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use tally_plugin_sdk::civil::format_utc;

    #[test]
    fn bom_crlf_and_numbers() {
        let got: Vec<_> = lines("\u{feff}a\r\nb\n\nc\r").collect();
        assert_eq!(got, vec![(1, "a"), (2, "b"), (3, ""), (4, "c")]);
    }

    #[test]
    fn datetimes() {
        let t = |s| datetime(s).map(format_utc);
        assert_eq!(
            t("2025-01-01 00:59:00").as_deref(),
            Some("2025-01-01T00:59:00Z")
        );
        assert_eq!(
            t("2024-09-17 17:59:34").as_deref(),
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
            "x",
        ] {
            assert_eq!(datetime(bad), None, "{bad}");
        }
    }
}
