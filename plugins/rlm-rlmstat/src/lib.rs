//! Reprise RLM `rlmutil rlmstat -a` poller.
//!
//! `parse` holds the grammar of the output's
//! [`word_lines`](tally_plugin_sdk::text::word_lines) and builds the
//! [`Snapshot`](tally_plugin_sdk::Snapshot), `when` reads RLM's dates. Checkout times carry no
//! year and no zone: the year is the latest that does not put them after the poll, and the
//! server's local time is read as UTC (WIT 0.1.0 has no zone for a poll).
mod parse;
mod when;

use tally_plugin_sdk::{PluginError, Poller, Snapshot, Timestamp};

pub struct RlmStat;

impl Poller for RlmStat {
    const FORMATS: &'static [&'static str] = &["rlm-rlmstat"];

    fn sniff(head: &[u8]) -> f32 {
        sniff(head)
    }

    fn parse_status(output: &[u8], now: Timestamp) -> Result<Snapshot, PluginError> {
        parse::parse(output, now)
    }
}

/// Phrases only `rlmutil rlmstat` prints: its banner, the section headers and its connection
/// error.
fn sniff(head: &[u8]) -> f32 {
    let text = tally_plugin_sdk::text::words(&tally_plugin_sdk::text::text(head));
    let strong = [
        "Reprise Software, Inc.",
        "rlm status on ",
        " ISV server status on ",
        " license pool status on ",
        " license usage status on ",
        "Error connecting to \"rlm\" server",
    ];
    if strong.iter().any(|k| text.contains(k)) {
        1.0
    } else if text.contains("rlmutil v") || text.contains("Setting license file path to ") {
        0.6
    } else {
        0.0
    }
}

tally_plugin_sdk::export!(poller: RlmStat);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_rlmstat_only() {
        assert_eq!(
            sniff(b"rlmutil v12.2\nCopyright (C) 2006-2017, Reprise Software, Inc. All rights reserved.\n"),
            1.0
        );
        assert_eq!(
            sniff(b"\tcsci license pool status on\xC2\xA0 h (port 1)\n"),
            1.0
        );
        assert_eq!(sniff(b"Setting license file path to 5053@h\n"), 0.6);
        assert_eq!(sniff(b"lmutil - Copyright (c) 1989-2019 Flexera.\n"), 0.0);
        assert_eq!(sniff(b""), 0.0);
    }
}
