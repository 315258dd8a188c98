//! The `lstc_qrun -R` report (FORMATS.md §9), line by line, into a [`Snapshot`].
//!
//! ```text
//! Using user specified server 31010@licserv
//! LICENSE INFORMATION
//! PROGRAM          EXPIRATION CPUS  USED   FREE    MAX | QUEUE
//! MPPDYNA          12/30/2022          -     60    500 |     0      (`-`: see the users below)
//!  user1     59005@n-c13.com  80                                    (user, pid@host, CPUs)
//!                    LICENSE GROUP   440     60    500 |     0      (the shared pool's totals)
//! ```
//! Rows are read as words from the right: the table is padded with spaces and FREE can be
//! printed as `000`, so column positions mean nothing.

use tally_plugin_sdk::text::{lines, shown, text};
use tally_plugin_sdk::{
    Checkout, Diagnostic, DiagnosticKind, Feature, FeatureKind, LicenseServer, PluginError, Queued,
    ServerStatus, Snapshot,
};

use crate::date::date;

/// LSTC's outputs name no vendor: the manager's name.
pub const VENDOR: &str = "LSTC";

pub fn parse(output: &[u8]) -> Result<Snapshot, PluginError> {
    let text = text(output);
    let mut p = Parser::default();
    for (no, line) in lines(&text) {
        p.line(no, line);
    }
    p.finish()
}

/// A program row's numbers: `USED` is `None` for `-`.
struct Counts {
    used: Option<u32>,
    max: u32,
    queue: u32,
}

#[derive(Default)]
struct Parser {
    snap: Snapshot,
    /// `Using … server <port>@<host>`.
    server: Option<(String, Option<u16>)>,
    /// `*** ERROR …`
    error: Option<String>,
    /// The table header was seen: the server answered.
    table: bool,
    /// The program the user lines below belong to, and whether its USED was `-`.
    program: Option<(usize, bool)>,
    /// Programs since the last `LICENSE GROUP` line, whose usage it totals.
    group_start: usize,
}

impl Parser {
    fn line(&mut self, no: u64, raw: &str) {
        let line = raw.trim();
        if line.is_empty() {
            return;
        }
        // Words, with the column bar always a word of its own.
        let spaced = line.replace('|', " | ");
        let words: Vec<&str> = spaced.split_whitespace().collect();
        if let Some(rest) = line
            .strip_prefix("Using ")
            .filter(|r| r.contains("server "))
        {
            let at = rest.split_whitespace().last().unwrap_or_default();
            let (port, host) = at.split_once('@').unwrap_or(("", at));
            self.server = Some((host.to_string(), port.parse().ok()));
        } else if let Some(msg) = line.strip_prefix("***") {
            let msg = msg.trim();
            self.error = Some(msg.strip_prefix("ERROR").unwrap_or(msg).trim().to_string());
        } else if line == "LICENSE INFORMATION"
            || words.first() == Some(&"PROGRAM") && words.contains(&"EXPIRATION")
        {
            self.table = true;
        } else if line.chars().all(|c| matches!(c, '-' | '|' | ' ' | '\t')) {
            // The rule under the header.
        } else if words.starts_with(&["LICENSE", "GROUP"]) {
            self.group(no, line, &words[2..]);
        } else if let Some(bar) = words.iter().position(|w| *w == "|") {
            self.program(no, line, &words, bar);
        } else if raw.starts_with([' ', '\t']) && words.len() >= 3 {
            self.user(no, line, &words);
        } else if words.get(1).is_some_and(|w| date(w).is_some()) {
            // A program row cut short.
            self.diag(no, DiagnosticKind::Malformed, line);
        } else {
            self.diag(no, DiagnosticKind::Unrecognised, line);
        }
    }

    /// `<name> <MM/DD/YYYY> <used|-> <free> <max> | <queue>`
    fn program(&mut self, no: u64, line: &str, words: &[&str], bar: usize) {
        let counts = match (words.get(..bar), words.get(bar + 1..)) {
            (Some([name @ .., expiry, used, free, max]), Some([queue])) if !name.is_empty() => {
                counts(used, free, max, queue).map(|c| (name.join(" "), date(expiry), c))
            }
            _ => None,
        };
        let Some((name, expiry, c)) = counts else {
            self.program = None;
            self.diag(no, DiagnosticKind::Malformed, line);
            return;
        };
        self.snap.features.push(Feature {
            name: name.clone(),
            vendor: VENDOR.into(),
            version: None,
            pool: None,
            issued: Some(c.max),
            in_use: c.used.unwrap_or(0),
            expiry,
            kind: FeatureKind::Floating,
        });
        self.program = Some((self.snap.features.len() - 1, c.used.is_none()));
        if expiry.is_none() {
            self.diag(
                no,
                DiagnosticKind::Assumption,
                &format!("expiration not a date: {line}"),
            );
        }
        // The report counts queued jobs per program without naming them.
        if c.queue > 0 {
            self.snap.queued.push(Queued {
                vendor: VENDOR.into(),
                feature: name,
                user: String::new(),
                host: String::new(),
                count: c.queue,
                time: None,
            });
        }
    }

    /// ` <user> <pid>@<host> <cpus>`, read from the right: the user name is what is left.
    fn user(&mut self, no: u64, line: &str, words: &[&str]) {
        let [user @ .., at, cpus] = words else { return };
        let parsed = at
            .split_once('@')
            .filter(|(pid, host)| pid.bytes().all(|b| b.is_ascii_digit()) && !host.is_empty())
            // The host takes no checkout of 0 CPUs.
            .zip(cpus.parse::<u32>().ok().filter(|&n| n > 0));
        let (Some(((pid, host), cpus)), Some((feature, dash))) = (parsed, self.program) else {
            self.diag(no, DiagnosticKind::Malformed, line);
            return;
        };
        let feature = &mut self.snap.features[feature];
        if dash {
            feature.in_use = feature.in_use.saturating_add(cpus);
        }
        self.snap.checkouts.push(Checkout {
            feature: feature.name.clone(),
            vendor: VENDOR.into(),
            user: user.join(" "),
            host: host.to_string(),
            display: None,
            count: cpus,
            start: None,
            handle: Some(pid.to_string()),
            linger: None,
            borrowed: false,
        });
    }

    /// `LICENSE GROUP <used> <free> <max> | <queue>`: all programs above draw on this pool.
    fn group(&mut self, no: u64, line: &str, words: &[&str]) {
        self.program = None;
        let Some(c) = (match words {
            [used, free, max, "|", queue] => counts(used, free, max, queue),
            _ => None,
        }) else {
            self.diag(no, DiagnosticKind::Malformed, line);
            return;
        };
        let programs = &self.snap.features[self.group_start..];
        let sum: u32 = programs.iter().map(|f| f.in_use).sum();
        self.group_start = self.snap.features.len();
        if c.used.is_some_and(|used| used != sum) {
            self.diag(
                no,
                DiagnosticKind::Assumption,
                &format!("group total differs from its programs' sum {sum}: {line}"),
            );
        }
    }

    fn diag(&mut self, line: u64, kind: DiagnosticKind, text: &str) {
        self.snap.diagnostics.push(Diagnostic {
            line,
            kind,
            text: shown(text.as_bytes()),
        });
    }

    fn finish(mut self) -> Result<Snapshot, PluginError> {
        if self.server.is_none() && self.error.is_none() && !self.table {
            return Err(PluginError::BadInput(
                "not lstc_qrun output: no `Using … server`, license table or `*** ERROR`".into(),
            ));
        }
        // Without a `Using … server` line the error may still name it.
        let named = self
            .error
            .as_deref()
            .and_then(|e| e.split("open server ").nth(1));
        let (host, port) = self
            .server
            .take()
            .unwrap_or_else(|| (named.unwrap_or_default().trim().to_string(), None));
        let status = match (&self.error, self.table) {
            (Some(_), _) => ServerStatus::Down,
            (None, true) => ServerStatus::Up,
            (None, false) => ServerStatus::Unknown,
        };
        self.snap.servers.push(LicenseServer {
            host,
            port,
            status,
            version: None,
            vendor_daemons: Vec::new(),
            message: self.error,
        });
        Ok(self.snap)
    }
}

/// The numbers of a row; FREE must be a number but is not kept (`000` is printed for 0 and
/// for a full pool alike).
fn counts(used: &str, free: &str, max: &str, queue: &str) -> Option<Counts> {
    free.parse::<u32>().ok()?;
    Some(Counts {
        used: if used == "-" {
            None
        } else {
            Some(used.parse().ok()?)
        },
        max: max.parse().ok()?,
        queue: if queue == "-" { 0 } else { queue.parse().ok()? },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_numbers() {
        let c = counts("-", "000", "500", "0").expect("counts");
        assert_eq!((c.used, c.max, c.queue), (None, 500, 0));
        let c = counts("12", "60", "500", "3").expect("counts");
        assert_eq!((c.used, c.max, c.queue), (Some(12), 500, 3));
        assert!(counts("x", "1", "1", "0").is_none());
        assert!(counts("1", "", "1", "0").is_none());
    }

    #[test]
    fn a_job_of_no_cpus_is_malformed() {
        // Found by fuzzing: the host refuses a snapshot holding a checkout of 0.
        let out = b"Using user specified server 31010@lic\n\
            PROGRAM          EXPIRATION CPUS  USED   FREE    MAX | QUEUE\n\
            ---------------- ----------      -----  ------ ------ | -----\n\
            MPPDYNA          12/30/2030          -    000    500 |     0\n \
            user1     59005@n-c13.com  0\n";
        let s = parse(out).expect("lstc_qrun output");
        assert!(s.checkouts.is_empty());
        let diags: Vec<_> = s.diagnostics.iter().map(|d| (d.line, d.kind)).collect();
        assert_eq!(diags, [(5, DiagnosticKind::Malformed)]);
    }

    #[test]
    fn not_lstc() {
        assert!(matches!(parse(b"hello\n"), Err(PluginError::BadInput(_))));
        assert!(matches!(parse(b""), Err(PluginError::BadInput(_))));
    }
}
