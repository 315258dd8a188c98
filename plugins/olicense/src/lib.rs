//! OLicense poller: the status report of `olixtool` (cosin FTire and other OLicense
//! applications).
//!
//! `parse` holds the grammar and builds the [`Snapshot`]. The report shows no checkout times, so the poll time is not needed; the
//! expiration dates carry no zone and are read as UTC (WIT 0.1.0 has no zone for a poll).
mod parse;

use tally_plugin_sdk::{PluginError, Poller, Snapshot, Timestamp};

pub use parse::VENDOR;

pub struct OLicense;

impl Poller for OLicense {
    const FORMATS: &'static [&'static str] = &["olicense"];

    fn sniff(head: &[u8]) -> f32 {
        sniff(head)
    }

    fn parse_status(output: &[u8], _now: Timestamp) -> Result<Snapshot, PluginError> {
        parse::parse(output)
    }
}

/// olixtool's banner, its lock groups and its connection error are its own.
fn sniff(head: &[u8]) -> f32 {
    let text = tally_plugin_sdk::text::text(head);
    let strong = [
        "OLicense XML Status Application",
        "FloatsLockedBy:",
        "Name; LicenseType; FloatCount; Expiration",
    ];
    if strong.iter().any(|k| text.contains(k)) || text.contains("olixtool ") {
        1.0
    } else if text.contains("OlComm ") || text.contains("(Proxy: <") {
        0.7
    } else {
        0.0
    }
}

tally_plugin_sdk::export!(poller: OLicense);

#[cfg(test)]
mod tests {
    use super::sniff;

    #[test]
    fn sniffs_olixtool_only() {
        assert_eq!(
            sniff(b"olixtool 4.8.0 - OLicense XML Status Application\n"),
            1.0
        );
        assert_eq!(sniff(b"    3 FloatsLockedBy:\n"), 1.0);
        assert_eq!(sniff(b"OlComm 454 Request cannot connect to target\n"), 0.7);
        assert_eq!(sniff(b"lmutil - Copyright (c) 1989-2019 Flexera.\n"), 0.0);
        assert_eq!(sniff(b""), 0.0);
    }
}
