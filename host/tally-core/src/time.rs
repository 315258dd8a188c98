//! Formatting of Tally timestamps (UTC seconds).

use chrono::{DateTime, Utc};

use crate::Timestamp;

/// `2017-06-08T13:49:41Z`, or the raw number when it is out of chrono's range.
pub fn rfc3339(t: Timestamp) -> String {
    match DateTime::<Utc>::from_timestamp(t, 0) {
        Some(dt) => dt.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        None => t.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_utc() {
        assert_eq!(super::rfc3339(1_496_929_781), "2017-06-08T13:49:41Z");
    }
}
