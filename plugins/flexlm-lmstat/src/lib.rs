//! FlexNet (FLEXlm) `lmutil lmstat` poller.
//!
//! `line` holds the grammar of one line (the output read as
//! [`word_lines`](tally_plugin_sdk::text::word_lines)), `parse` builds the
//! [`Snapshot`](tally_plugin_sdk::Snapshot) and `when` reads lmstat's dates.
//! Checkout starts carry no year and no zone: the year is the latest that does not put them
//! more than a day after the poll, and the server's local time is read as UTC (WIT 0.1.0 has
//! no zone for a poll).
mod line;
mod parse;
mod when;

use tally_plugin_sdk::{PluginError, Poller, Snapshot, Timestamp};

pub struct FlexlmLmstat;

impl Poller for FlexlmLmstat {
    const FORMATS: &'static [&'static str] = &["flexlm-lmstat"];

    fn sniff(head: &[u8]) -> f32 {
        sniff(head)
    }

    fn parse_status(output: &[u8], now: Timestamp) -> Result<Snapshot, PluginError> {
        parse::parse(output, now)
    }
}

/// Phrases only lmstat prints: its status header, section headers and `-i` note score 1.0;
/// a `Users of` count line 0.9; the lmutil/lmstat banner alone 0.6.
fn sniff(head: &[u8]) -> f32 {
    let text = tally_plugin_sdk::text::words(&tally_plugin_sdk::text::text(head));
    let strong = [
        "Flexible License Manager status on ",
        "License server status: ",
        "Vendor daemon status (on ",
        "NOTE: lmstat -i does not give information",
    ];
    if strong.iter().any(|k| text.contains(k)) {
        1.0
    } else if text.contains("Users of ")
        && (text.contains(": (Total of ") || text.contains(": (Uncounted, node-locked)"))
    {
        0.9
    } else if text.contains("lmutil - Copyright ") || text.contains("lmstat - Copyright ") {
        0.6
    } else {
        0.0
    }
}

tally_plugin_sdk::export!(poller: FlexlmLmstat);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_lmstat_only() {
        let head = "lmutil - Copyright (c) 1989-2018 Flexera. All Rights Reserved.\r\n\
                    Flexible License Manager status on Fri 7/12/2019 11:03\r\n";
        assert_eq!(sniff(head.as_bytes()), 1.0);
        assert_eq!(
            sniff(b"Users of f:  (Total of 240 licenses issued;  Total of 0 licenses in use)\n"),
            0.9
        );
        assert_eq!(
            sniff(b"lmutil - Copyright (c) 1989-2016 Flexera Software LLC. All Rights Reserved.\nlmstat v11.14.0.1\n"),
            0.6
        );
        let debuglog = " 9:49:41 (lmgrd) FlexNet Licensing started\n10:00:00 (x) OUT: \"f\" u@h\n";
        assert_eq!(sniff(debuglog.as_bytes()), 0.0);
        let rlm = "rlmutil v12.2\nCopyright (C) 2006-2017, Reprise Software, Inc.\nrlm status on h (port 5053)\n";
        assert_eq!(sniff(rlm.as_bytes()), 0.0);
    }
}
