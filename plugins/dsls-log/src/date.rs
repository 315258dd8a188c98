//! Date helpers of this importer on top of the SDK's civil-date arithmetic
//! ([`tally_plugin_sdk::civil`]).

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
    fn offsets() {
        assert_eq!(format_offset(25_200), "+07:00");
        assert_eq!(format_offset(-16_200), "-04:30");
        assert_eq!(format_offset(0), "+00:00");
    }
}
