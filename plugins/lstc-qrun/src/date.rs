//! LSTC's dates.

use tally_plugin_sdk::Timestamp;
use tally_plugin_sdk::civil::{DAY, checked_days};

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
