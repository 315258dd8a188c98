//! LS-DYNA (LSTC license manager) poller: the license table of `lstc_qrun -R`.
//!
//! `date` reads LSTC's dates, `parse` holds the grammar and builds the [`Snapshot`]. The report shows no checkout times, so the poll time is not needed; the
//! expiration dates carry no zone and are read as UTC (WIT 0.1.0 has no zone for a poll).
mod date;
mod parse;

use tally_plugin_sdk::{PluginError, Poller, Snapshot, Timestamp};

pub use parse::VENDOR;

pub struct LstcQrun;

impl Poller for LstcQrun {
    const FORMATS: &'static [&'static str] = &["lstc-qrun"];

    fn sniff(head: &[u8]) -> f32 {
        sniff(head)
    }

    fn parse_status(output: &[u8], _now: Timestamp) -> Result<Snapshot, PluginError> {
        parse::parse(output)
    }
}

/// The table header and the error are `lstc_qrun`'s own; the `Using … server` line alone is
/// a weaker sign.
fn sniff(head: &[u8]) -> f32 {
    let text = tally_plugin_sdk::text::text(head);
    let table = text.contains("LICENSE INFORMATION")
        || text.contains("PROGRAM") && text.contains("EXPIRATION") && text.contains("QUEUE");
    if table || text.contains("*** ERROR failed to open server") {
        1.0
    } else if text.contains("Using user specified server ")
        || text.contains("Using default server ")
    {
        0.7
    } else {
        0.0
    }
}

tally_plugin_sdk::export!(poller: LstcQrun);

#[cfg(test)]
mod tests {
    use super::sniff;

    #[test]
    fn sniffs_lstc_qrun_only() {
        assert_eq!(
            sniff(b"Using user specified server 31010@h\n\nLICENSE INFORMATION\n"),
            1.0
        );
        assert_eq!(
            sniff(b"Using default server 31010@localhost\n*** ERROR failed to open server localhost\t\n"),
            1.0
        );
        assert_eq!(sniff(b"Using default server 31010@localhost\n"), 0.7);
        assert_eq!(sniff(b"lmutil - Copyright (c) 1989-2019 Flexera.\n"), 0.0);
        assert_eq!(sniff(b""), 0.0);
    }
}
