//! LM-X `lmxendutil -licstat` poller.
//!
//! `parse` holds the grammar of the output's
//! [`word_lines`](tally_plugin_sdk::text::word_lines) and builds the
//! [`Snapshot`](tally_plugin_sdk::Snapshot). LM-X prints full dates, so the poll time is not
//! needed; they are the server's local time, read as UTC (WIT 0.1.0 has no zone for a poll).
mod parse;

use tally_plugin_sdk::{PluginError, Poller, Snapshot, Timestamp};

pub struct LmxStatus;

impl Poller for LmxStatus {
    const FORMATS: &'static [&'static str] = &["lmx-status"];

    fn sniff(head: &[u8]) -> f32 {
        sniff(head)
    }

    fn parse_status(output: &[u8], _now: Timestamp) -> Result<Snapshot, PluginError> {
        parse::parse(output)
    }
}

/// The banner and headers only `lmxendutil` prints.
fn sniff(head: &[u8]) -> f32 {
    let text = tally_plugin_sdk::text::words(&tally_plugin_sdk::text::text(head));
    let strong = [
        "LM-X End-user Utility",
        "LM-X License Server on ",
        "LM-X license server(s):",
        "X-Formation. All rights reserved.",
    ];
    if strong.iter().any(|k| text.contains(k)) {
        1.0
    } else if text.contains(" license(s) used") {
        0.6
    } else {
        0.0
    }
}

tally_plugin_sdk::export!(poller: LmxStatus);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_licstat_only() {
        assert_eq!(sniff(b"\nLM-X End-user Utility v3.32\n"), 1.0);
        assert_eq!(sniff(b"0 of 3 license(s) used\n"), 0.6);
        assert_eq!(sniff(b"Cannot connect to server.\n"), 0.0);
        assert_eq!(sniff(b"rlmutil v12.2\n"), 0.0);
    }
}
