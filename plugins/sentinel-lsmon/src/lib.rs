//! Sentinel RMS `lsmon` poller.
//!
//! `parse` holds the grammar of the output's
//! [`word_lines`](tally_plugin_sdk::text::word_lines) and builds the
//! [`Snapshot`](tally_plugin_sdk::Snapshot). lsmon prints full dates, so the poll time is not
//! needed; they are the server's local time, read as UTC (WIT 0.1.0 has no zone for a poll).
mod parse;

use tally_plugin_sdk::{PluginError, Poller, Snapshot, Timestamp};

pub struct Lsmon;

impl Poller for Lsmon {
    const FORMATS: &'static [&'static str] = &["sentinel-lsmon"];

    fn sniff(head: &[u8]) -> f32 {
        sniff(head)
    }

    fn parse_status(output: &[u8], _now: Timestamp) -> Result<Snapshot, PluginError> {
        parse::parse(output)
    }
}

/// The banner, the contact line and the block headers of lsmon's tree.
fn sniff(head: &[u8]) -> f32 {
    let text = tally_plugin_sdk::text::words(&tally_plugin_sdk::text::text(head));
    if text.contains("Application Monitor") && text.contains("Sentinel")
        || text.contains("[Contacting Sentinel")
    {
        1.0
    } else if text.contains("|- Feature Information") {
        0.8
    } else {
        0.0
    }
}

tally_plugin_sdk::export!(poller: Lsmon);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_lsmon_only() {
        assert_eq!(
            sniff(b"  Sentinel RMS Development Kit 9.1.0.0104 Application Monitor\n"),
            1.0
        );
        assert_eq!(
            sniff(b" |- Feature Information\n   |- Feature name : \"X\"\n"),
            0.8
        );
        assert_eq!(sniff(b"LM-X End-user Utility v3.32\n"), 0.0);
    }
}
