//! The status output as numbered lines, and LSTC's dates.

use tally_plugin_sdk::Timestamp;
use tally_plugin_sdk::civil::{DAY, checked_days};

/// The lines of `text`, numbered from 1, without a BOM and without one trailing `\r` each.
pub fn lines(text: &str) -> impl Iterator<Item = (u64, &str)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    text.split('\n')
        .zip(1..)
        .map(|(l, no)| (no, l.strip_suffix('\r').unwrap_or(l)))
}

/// `MM/DD/YYYY` as the first second of that day, read as UTC (WIT 0.1.0 has no zone).
pub fn date(s: &str) -> Option<Timestamp> {
    let mut p = s.split('/').map(|n| n.parse::<u32>().ok());
    match (p.next(), p.next(), p.next(), p.next()) {
        (Some(Some(m)), Some(Some(d)), Some(Some(y)), None) => {
            checked_days(i64::from(y), m, d).map(|days| days * DAY)
        }
        _ => None,
    }
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
    fn dates() {
        assert_eq!(
            date("12/30/2022").map(format_utc).as_deref(),
            Some("2022-12-30T00:00:00Z")
        );
        assert_eq!(
            date("2/29/2024").map(format_utc).as_deref(),
            Some("2024-02-29T00:00:00Z")
        );
        for bad in ["30/12/2022", "12/30", "12/30/2022/1", "", "-"] {
            assert_eq!(date(bad), None, "{bad}");
        }
    }
}
