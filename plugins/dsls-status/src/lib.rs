//! Dassault DSLS poller: the usage table of `DSLicSrv -admin` (`getLicenseUsage -csv`).
//!
//! `csv` reads the fields of a row, `parse` holds the grammar and builds the [`Snapshot`]. DSLS prints full dates (`YYYY-MM-DD HH:MM:SS`) in the server's
//! local time with no zone; they are read as UTC (WIT 0.1.0 has no zone for a poll), so the
//! poll time is not needed.
mod csv;
mod parse;

use tally_plugin_sdk::{PluginError, Poller, Snapshot, Timestamp};

pub use parse::VENDOR;

pub struct DslsStatus;

impl Poller for DslsStatus {
    const FORMATS: &'static [&'static str] = &["dsls-usage"];

    fn sniff(head: &[u8]) -> f32 {
        sniff(head)
    }

    fn parse_status(output: &[u8], _now: Timestamp) -> Result<Snapshot, PluginError> {
        parse::parse(output)
    }
}

/// The admin tool's banner, its prompt and the usage header are DSLS's own; the connection
/// error alone is a weaker sign (other tools could word an error alike).
fn sniff(head: &[u8]) -> f32 {
    let text = tally_plugin_sdk::text::text(head);
    let strong = [
        "License Administration Tool Version",
        "admin >",
        "Editor,EditorId,Feature,",
    ];
    if strong.iter().any(|k| text.contains(k)) {
        1.0
    } else if text.contains("Cannot connect to server ") && text.contains(" on port ") {
        0.6
    } else {
        0.0
    }
}

tally_plugin_sdk::export!(poller: DslsStatus);

#[cfg(test)]
mod tests {
    use super::sniff;

    #[test]
    fn sniffs_the_admin_tool_only() {
        assert_eq!(
            sniff(b"License Administration Tool Version 6.425.4 Built on May 2, 2023\n"),
            1.0
        );
        assert_eq!(sniff(b"admin >Editor,EditorId,Feature,Model\n"), 1.0);
        assert_eq!(sniff(b"Cannot connect to server h on port 4084\n"), 0.6);
        assert_eq!(
            sniff(b"2025/08/18 08:28:06:989 I STARTSERVER Server version 6.426.0\n"),
            0.0
        );
        assert_eq!(sniff(b""), 0.0);
    }
}
