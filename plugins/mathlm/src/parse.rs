//! The `monitorlm <server> -format text` report, line by line, into a [`Snapshot`].
//!
//! The grammar is Wolfram's documented example (reference.wolfram.com, `monitorlm` and
//! "Monitoring MathLM"); the corpus holds no such output (FORMATS.md §8):
//! ```text
//! MathLM Version 11.2
//! MathLM Server lic.example.com
//! Date : Thursday, August 29 2017 14:11:59
//! License Usage Summary:
//! Program                        Class    in Use    Authorized      (two header lines)
//! Mathematica                    A        2        20
//! Sub MathKernel                 A        0        80
//! Licenses in Use:
//! Program            Version    Class    Username    Hostname    Duration
//! Mathematica 11.1 A username client1.domain.com 08:49
//! ```
//! Rows are read as words around their fixed parts (numbers, the version, the duration):
//! program names hold spaces and the hostname may be empty (phpLicenseWatcher issue #112).

use tally_plugin_sdk::text::{lines, shown, text};
use tally_plugin_sdk::{
    Checkout, Diagnostic, DiagnosticKind, Feature, FeatureKind, LicenseServer, PluginError,
    ServerStatus, Snapshot, Timestamp,
};

use crate::duration::duration;

/// MathLM's reports name no vendor: the manager's name.
pub const VENDOR: &str = "MathLM";

pub fn parse(output: &[u8], now: Timestamp) -> Result<Snapshot, PluginError> {
    let text = text(output);
    let mut p = Parser {
        now,
        ..Parser::default()
    };
    for (no, line) in lines(&text) {
        p.line(no, line);
    }
    p.finish()
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Section {
    #[default]
    Top,
    Summary,
    InUse,
}

#[derive(Default)]
struct Parser {
    now: Timestamp,
    snap: Snapshot,
    section: Section,
    host: Option<String>,
    version: Option<String>,
    /// A line only monitorlm's report has was seen.
    report: bool,
    /// The first line naming MathLM outside a report: an error message, presumably.
    mention: Option<(u64, String)>,
}

/// The words of the two header lines over each table.
const HEADER_WORDS: [&str; 11] = [
    "License",
    "Total",
    "Program",
    "Class",
    "in",
    "Use",
    "Authorized",
    "Version",
    "Username",
    "Hostname",
    "Duration",
];

impl Parser {
    fn line(&mut self, no: u64, raw: &str) {
        let line = raw.trim();
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.is_empty() || line.chars().all(|c| c == '-') {
            return;
        }
        if let Some(v) = line.strip_prefix("MathLM Version") {
            self.report = true;
            self.version = Some(v.trim().to_string()).filter(|v| !v.is_empty());
        } else if let Some(h) = line.strip_prefix("MathLM Server") {
            self.report = true;
            self.host = Some(h.trim().to_string());
        } else if line == "License Usage Summary:" {
            self.report = true;
            self.section = Section::Summary;
        } else if line == "Licenses in Use:" {
            self.report = true;
            self.section = Section::InUse;
        } else if line == "Online help is available at"
            || line.starts_with("http://")
            || line.starts_with("https://")
            || line.starts_with("Date :")
            || words.iter().all(|w| HEADER_WORDS.contains(w))
        {
            // The banner, the report's date (the poll time is used) and table headers.
        } else if self.section == Section::Summary {
            self.summary(no, line, &words);
        } else if self.section == Section::InUse {
            self.in_use(no, line, &words);
        } else if self.mention.is_none() && mentions_mathlm(line) {
            self.mention = Some((no, line.to_string()));
        } else {
            self.diag(no, DiagnosticKind::Unrecognised, line);
        }
    }

    /// `<program words> <class> <in use> <authorized>`
    fn summary(&mut self, no: u64, line: &str, words: &[&str]) {
        let row = match words {
            [program @ .., class, used, total] if !program.is_empty() => used
                .parse::<u32>()
                .ok()
                .zip(total.parse::<u32>().ok())
                .map(|(u, t)| (program.join(" "), class, u, t)),
            _ => None,
        };
        let Some((name, class, in_use, issued)) = row else {
            self.diag(no, DiagnosticKind::Malformed, line);
            return;
        };
        self.snap.features.push(Feature {
            name,
            vendor: VENDOR.into(),
            version: None,
            pool: Some(class.to_string()),
            issued: Some(issued),
            in_use,
            expiry: None,
            kind: FeatureKind::Floating,
        });
    }

    /// `<program words> <version> <class> <username> [<hostname>] <duration>`: the version is
    /// the first word that looks like one, the hostname the last word before the duration
    /// when there are two.
    fn in_use(&mut self, no: u64, line: &str, words: &[&str]) {
        let version = words.iter().position(|w| {
            w.starts_with(|c: char| c.is_ascii_digit())
                && w.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        });
        let row = match (version, words.split_last()) {
            (Some(v), Some((last, _))) if v > 0 && v + 3 < words.len() => {
                // A session older than 1970 is a damaged duration: the host refuses the start.
                duration(last)
                    .filter(|&secs| secs <= self.now)
                    .map(|secs| (&words[..v], &words[v + 2..words.len() - 1], secs))
            }
            _ => None,
        };
        let Some((program, who, secs)) = row else {
            self.diag(no, DiagnosticKind::Malformed, line);
            return;
        };
        let (user, host) = match who {
            [user] => (user.to_string(), String::new()),
            [user @ .., host] => (user.join(" "), host.to_string()),
            [] => return self.diag(no, DiagnosticKind::Malformed, line),
        };
        self.snap.checkouts.push(Checkout {
            feature: program.join(" "),
            vendor: VENDOR.into(),
            user,
            host,
            display: None,
            count: 1,
            start: Some(self.now - secs),
            handle: None,
            linger: None,
            borrowed: false,
        });
    }

    fn diag(&mut self, line: u64, kind: DiagnosticKind, text: &str) {
        self.snap.diagnostics.push(Diagnostic {
            line,
            kind,
            text: shown(text.as_bytes()),
        });
    }

    fn finish(mut self) -> Result<Snapshot, PluginError> {
        let (status, message) = if self.report {
            if let Some((no, line)) = self.mention.take() {
                self.diag(no, DiagnosticKind::Unrecognised, &line);
            }
            (ServerStatus::Up, None)
        } else if let Some((no, line)) = self.mention.take() {
            // monitorlm's failure messages are not documented: a line about MathLM in place
            // of the report is taken for one, and said to be a guess.
            self.diag(
                no,
                DiagnosticKind::Assumption,
                &format!("no report; read as the server being unreachable: {line}"),
            );
            (ServerStatus::Down, Some(line))
        } else {
            return Err(PluginError::BadInput(
                "not a `monitorlm -format text` report (no `MathLM Version`/`MathLM Server` \
                 header or usage table); outputs of a site's own -template cannot be read"
                    .into(),
            ));
        };
        self.snap.servers.push(LicenseServer {
            host: self.host.take().unwrap_or_default(),
            port: None,
            status,
            version: self.version.take(),
            vendor_daemons: Vec::new(),
            message,
        });
        Ok(self.snap)
    }
}

fn mentions_mathlm(line: &str) -> bool {
    let l = line.to_ascii_lowercase();
    l.contains("mathlm") || l.contains("monitorlm")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_a_report() {
        assert!(matches!(
            parse(b"hello\n", 0),
            Err(PluginError::BadInput(_))
        ));
        assert!(matches!(parse(b"", 0), Err(PluginError::BadInput(_))));
        // A site template's log line: date, time, count.
        assert!(matches!(
            parse(b"03-4-2024, 06:45:01,     2\n", 0),
            Err(PluginError::BadInput(_))
        ));
    }

    #[test]
    fn a_session_older_than_1970_is_malformed() {
        let report = b"MathLM Version 13.1\nLicenses in Use:\n\
            Program  Version  Class  Username  Hostname  Duration\n\
            Mathematica  13.1  A  ana  pc1  999999:00\n\
            Mathematica  13.1  A  ben  pc2  08:49\n";
        let now = 1_735_689_600;
        let s = parse(report, now).expect("report");
        let starts: Vec<_> = s.checkouts.iter().map(|c| c.start).collect();
        assert_eq!(starts, [Some(now - (8 * 3600 + 49 * 60))]);
        let diags: Vec<_> = s.diagnostics.iter().map(|d| (d.line, d.kind)).collect();
        assert_eq!(diags, [(4, DiagnosticKind::Malformed)]);
    }

    #[test]
    fn mentions() {
        assert!(mentions_mathlm("monitorlm: cannot connect"));
        assert!(mentions_mathlm("Unable to contact MathLM on lic"));
        assert!(!mentions_mathlm("connection refused"));
    }
}
