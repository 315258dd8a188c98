//! Wolfram MathLM poller: the report of `monitorlm <server> -format text`.
//!
//! `duration` reads session durations, `parse` holds the grammar and builds the [`Snapshot`]. The report gives each session's duration, not its start: the start is the
//! poll time minus the duration. Without `-localtime` monitorlm writes GMT, and the report's
//! own `Date :` line is not needed.
//!
//! Why `-format text` and not a Tally template (FORMATS.md §8 suggests one): `-template`
//! takes a file, and a manifest command can name only the tool, `{host}` and `{port}`. The
//! text report holds the same facts (program, class, counts, user, host, duration).
mod duration;
mod parse;

use tally_plugin_sdk::{PluginError, Poller, Snapshot, Timestamp};

pub use parse::VENDOR;

pub struct MathLm;

impl Poller for MathLm {
    const FORMATS: &'static [&'static str] = &["mathlm"];

    fn sniff(head: &[u8]) -> f32 {
        sniff(head)
    }

    fn parse_status(output: &[u8], now: Timestamp) -> Result<Snapshot, PluginError> {
        parse::parse(output, now)
    }
}

/// The report's header lines are monitorlm's own; a mere mention of MathLM is weaker.
fn sniff(head: &[u8]) -> f32 {
    let text = tally_plugin_sdk::text::text(head);
    let strong = ["MathLM Version", "MathLM Server", "License Usage Summary:"];
    if strong.iter().any(|k| text.contains(k)) {
        1.0
    } else if text.contains("MathLM") || text.contains("monitorlm") {
        0.6
    } else {
        0.0
    }
}

tally_plugin_sdk::export!(poller: MathLm);

#[cfg(test)]
mod tests {
    use super::sniff;

    #[test]
    fn sniffs_the_report_only() {
        assert_eq!(sniff(b"MathLM Version 11.2\nMathLM Server lic\n"), 1.0);
        assert_eq!(sniff(b"monitorlm: cannot connect\n"), 0.6);
        assert_eq!(sniff(b"03-4-2024, 06:45:01,     2\n"), 0.0);
        assert_eq!(sniff(b""), 0.0);
    }
}
