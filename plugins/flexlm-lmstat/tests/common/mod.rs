//! The poll times the fixtures were taken at, and the poller run natively with the host's
//! checks (`testing::check_status`).
#![allow(dead_code)] // shared by several test binaries, each using a part

use flexlm_lmstat::FlexlmLmstat;
use tally_plugin_sdk::civil::{DAY, days_from_civil};
use tally_plugin_sdk::testing;
use tally_plugin_sdk::{Snapshot, Timestamp};

/// `y-m-d h:mm` as a timestamp.
pub fn at(y: i64, m: u32, d: u32, h: i64, min: i64) -> Timestamp {
    days_from_civil(y, m, d) * DAY + h * 3600 + min * 60
}

pub fn parse(data: &[u8], now: Timestamp) -> Snapshot {
    testing::check_status::<FlexlmLmstat>(data, now).unwrap_or_else(|e| panic!("parse_status: {e}"))
}
