//! Date helpers of this importer on top of the SDK's civil-date arithmetic
//! ([`tally_plugin_sdk::civil`]).

use tally_plugin_sdk::civil::civil_from_days;

/// The year of a day count.
pub fn year_of(days: i64) -> i64 {
    civil_from_days(days).0
}

#[cfg(test)]
mod tests {
    use super::*;
    use tally_plugin_sdk::civil::days_from_civil;

    #[test]
    fn years() {
        assert_eq!(year_of(days_from_civil(2024, 12, 31)), 2024);
    }
}
