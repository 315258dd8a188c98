//! The `lmxendutil -licstat` grammar (FORMATS.md §5), line by line, into a [`Snapshot`].
//!
//! Per server a `LM-X License Server on <port>@<host>:` header and its version line, then per
//! feature a `Feature:` block closed by its `<used> of <total> license(s) used` line, followed
//! by one `<n> license(s) used by <user>@<host> [<ip>]` block per checkout. Dates are full
//! `YYYY-MM-DD HH:MM` in the server's local time, read as UTC (WIT 0.1.0 has no zone for a poll).

use tally_plugin_sdk::civil::{DAY, checked_days};
use tally_plugin_sdk::text::shown;
use tally_plugin_sdk::{
    Checkout, Diagnostic, DiagnosticKind, Feature, FeatureKind, LicenseServer, PluginError,
    ServerStatus, Snapshot, Timestamp,
};

use tally_plugin_sdk::text::word_lines;

pub fn parse(output: &[u8]) -> Result<Snapshot, PluginError> {
    let mut p = Parser::default();
    // Detail lines are indented or not, with or without trailing spaces: only the words matter.
    for (no, line) in word_lines(output) {
        p.line(no, &line);
    }
    p.finish()
}

/// A `Feature:` block waiting for its `… license(s) used` line.
struct Pending {
    line: u64,
    text: String,
    name: String,
    version: String,
    vendor: String,
    expiry: Option<Timestamp>,
}

#[derive(Default)]
struct Parser {
    snap: Snapshot,
    /// The server the lines describe.
    server: Option<usize>,
    pending: Option<Pending>,
    /// Name and vendor of the feature whose checkouts follow.
    feature: Option<(String, String)>,
    /// Whether the current server has answered (version or features shown).
    answered: bool,
    /// Whether any line was unmistakably LM-X's.
    lmx: bool,
}

impl Parser {
    fn diag(&mut self, line: u64, kind: DiagnosticKind, text: &str) {
        self.snap.diagnostics.push(Diagnostic {
            line,
            kind,
            text: shown(text.as_bytes()),
        });
    }

    fn line(&mut self, no: u64, l: &str) {
        if l.is_empty() {
            return;
        }
        match self.read(no, l) {
            Ok(true) => {}
            Ok(false) => self.diag(no, DiagnosticKind::Unrecognised, l),
            Err(()) => self.diag(no, DiagnosticKind::Malformed, l),
        }
    }

    /// `Ok(false)` for a line of no known kind, `Err` for a known kind that does not parse.
    fn read(&mut self, no: u64, l: &str) -> Result<bool, ()> {
        if l.starts_with("LM-X End-user Utility v")
            || l.starts_with("Copyright (C)") && l.contains("X-Formation")
            || l == "LM-X license server(s):"
        {
            self.lmx = true;
        } else if l.bytes().all(|b| b == b'+') || l.bytes().all(|b| b == b'-') {
            // Server and feature separators.
            self.close_pending();
        } else if let Some(at) = l.strip_prefix("LM-X License Server on ") {
            self.close_pending();
            let (port, host) = at
                .strip_suffix(':')
                .unwrap_or(at)
                .split_once('@')
                .ok_or(())?;
            let port = port.parse().map_err(|_| ())?;
            self.new_server(host, Some(port), ServerStatus::Up, None);
            self.lmx = true;
        } else if l == "There are no license server(s) available."
            || l == "Cannot connect to server."
        {
            self.close_pending();
            match self.server {
                // The error of the server just named, or of the whole query.
                Some(i) if !self.answered => {
                    let s = &mut self.snap.servers[i];
                    s.status = ServerStatus::Down;
                    s.message = Some(l.to_string());
                }
                _ => self.new_server("", None, ServerStatus::Down, Some(l)),
            }
            self.lmx = true;
        } else if let Some(rest) = l.strip_prefix("Server version: ") {
            // `v5.1 Uptime: 3 day(s) 12 hour(s) 0 min(s) 51 sec(s)`
            let version = rest.split(' ').next().ok_or(())?;
            let i = self.server();
            self.answered = true;
            self.snap.servers[i].version =
                Some(version.strip_prefix('v').unwrap_or(version).to_string());
        } else if let Some(rest) = l.strip_prefix("Feature: ") {
            self.close_pending();
            // `<name> Version: <ver> Vendor: <vendor>`, read from the right.
            let (rest, vendor) = rest.rsplit_once(" Vendor: ").ok_or(())?;
            let (name, version) = rest.rsplit_once(" Version: ").ok_or(())?;
            self.pending = Some(Pending {
                line: no,
                text: l.to_string(),
                name: name.to_string(),
                version: version.to_string(),
                vendor: vendor.to_string(),
                expiry: None,
            });
            self.feature = None;
        } else if let Some(rest) = l.strip_prefix("Start date: ") {
            let (_, expire) = rest.split_once(" Expire date: ").ok_or(())?;
            let expiry = date(expire)?.map(|d| d * DAY + DAY - 1);
            self.pending.as_mut().ok_or(())?.expiry = expiry;
        } else if l.starts_with("Key type: ") {
            self.pending.as_ref().ok_or(())?;
        } else if let Some((used, total)) = totals(l) {
            let p = self.pending.take().ok_or(())?;
            let (Ok(in_use), Ok(issued)) = (used.parse(), total.parse()) else {
                self.pending = Some(p);
                return Err(());
            };
            self.server();
            self.answered = true;
            self.feature = Some((p.name.clone(), p.vendor.clone()));
            self.snap.features.push(Feature {
                name: p.name,
                vendor: p.vendor,
                version: Some(p.version),
                pool: None,
                issued: Some(issued),
                in_use,
                expiry: p.expiry,
                kind: FeatureKind::Floating,
            });
            self.lmx = true;
        } else if let Some((count, who)) = l.split_once(" license(s) used by ") {
            let (feature, vendor) = self.feature.clone().ok_or(())?;
            // The host takes no checkout of 0 licenses.
            let count = count.parse().ok().filter(|&n: &u32| n > 0).ok_or(())?;
            // `<user>@<host> [<ip>]`: names are not tokens, so from the right.
            let (who, ip) = match who.rsplit_once(" [") {
                Some((who, ip)) => (who, Some(ip.strip_suffix(']').ok_or(())?.to_string())),
                None => (who, None),
            };
            let (user, host) = who.rsplit_once('@').ok_or(())?;
            self.snap.checkouts.push(Checkout {
                feature,
                vendor,
                user: user.to_string(),
                host: host.to_string(),
                display: ip,
                count,
                start: None,
                handle: None,
                linger: None,
                borrowed: false,
            });
        } else if let Some(rest) = l.strip_prefix("Login time: ") {
            let (_, checkout) = rest.split_once(" Checkout time: ").ok_or(())?;
            let (d, t) = checkout.split_once(' ').ok_or(())?;
            let start = date(d)?.ok_or(())? * DAY + time(t)?;
            let c = self.snap.checkouts.last_mut().ok_or(())?;
            if c.start.is_some() {
                return Err(());
            }
            c.start = Some(start);
        } else if l.starts_with("Shared on ") {
            // The sharing key (custom string, user, host): no field in WIT 0.1.0.
            self.snap.checkouts.last().ok_or(())?;
        } else {
            return Ok(false);
        }
        Ok(true)
    }

    /// A `Feature:` block that never got its totals line.
    fn close_pending(&mut self) {
        if let Some(p) = self.pending.take() {
            self.diag(p.line, DiagnosticKind::Malformed, &p.text);
        }
    }

    fn new_server(
        &mut self,
        host: &str,
        port: Option<u16>,
        status: ServerStatus,
        message: Option<&str>,
    ) {
        self.snap.servers.push(LicenseServer {
            host: host.to_string(),
            port,
            status,
            version: None,
            vendor_daemons: Vec::new(),
            message: message.map(str::to_string),
        });
        self.server = Some(self.snap.servers.len() - 1);
        self.answered = false;
        self.feature = None;
    }

    /// The current server; a headless excerpt gets an up server with no name.
    fn server(&mut self) -> usize {
        match self.server {
            Some(i) => i,
            None => {
                self.new_server("", None, ServerStatus::Up, None);
                self.snap.servers.len() - 1
            }
        }
    }

    fn finish(mut self) -> Result<Snapshot, PluginError> {
        self.close_pending();
        if !self.lmx {
            return Err(PluginError::BadInput(
                "not `lmxendutil -licstat` output: no LM-X banner, server or feature line".into(),
            ));
        }
        Ok(self.snap)
    }
}

/// `<used> of <total> license(s) used`, with a colon when some are.
fn totals(l: &str) -> Option<(&str, &str)> {
    let l = l.strip_suffix(':').unwrap_or(l);
    let (used, total) = l.strip_suffix(" license(s) used")?.split_once(" of ")?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    // Digits that overflow are a malformed count, not another kind of line.
    (digits(used) && digits(total)).then_some((used, total))
}

/// `YYYY-MM-DD` as a day count; `Ok(None)` for `NONE` / `PERMANENT`.
fn date(s: &str) -> Result<Option<i64>, ()> {
    if s.eq_ignore_ascii_case("none") || s.eq_ignore_ascii_case("permanent") {
        return Ok(None);
    }
    let mut parts = s.split('-');
    let (Some(y), Some(m), Some(d), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(());
    };
    let (y, m, d) = (
        y.parse().map_err(|_| ())?,
        m.parse().map_err(|_| ())?,
        d.parse().map_err(|_| ())?,
    );
    checked_days(y, m, d).map(Some).ok_or(())
}

/// `HH:MM` as seconds into the day.
fn time(s: &str) -> Result<i64, ()> {
    let (h, m) = s.split_once(':').ok_or(())?;
    let (h, m): (i64, i64) = (h.parse().map_err(|_| ())?, m.parse().map_err(|_| ())?);
    // `then`, not `then_some`: the product of an hour out of range overflows.
    ((0..24).contains(&h) && (0..60).contains(&m))
        .then(|| h * 3600 + m * 60)
        .ok_or(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_grammars() {
        assert_eq!(totals("2 of 2 license(s) used:"), Some(("2", "2")));
        assert_eq!(
            totals("0 of 2147483647 license(s) used"),
            Some(("0", "2147483647"))
        );
        assert_eq!(totals("some of 2 license(s) used"), None);
        assert_eq!(date("2024-06-30"), Ok(Some(19_904)));
        assert_eq!(date("NONE"), Ok(None));
        assert_eq!(date("2024-02-30"), Err(()));
        assert_eq!(date("30.06.2024"), Err(()));
        assert_eq!(time("12:50"), Ok(46_200));
        assert_eq!(time("24:00"), Err(()));
        // Found by fuzzing: an hour that overflowed when multiplied before the range check.
        assert_eq!(time("9223372036854775807:00"), Err(()));
    }

    #[test]
    fn a_checkout_of_no_licenses_is_malformed() {
        // Found by fuzzing: the host refuses a snapshot holding a checkout of 0 licenses.
        let out = b"LM-X License Server on 1@a:\nFeature: F Version: 1.0 Vendor: V\n\
            Start date: NONE Expire date: NONE\n1 of 3 license(s) used:\n\
            0 license(s) used by u@h [10.0.0.1]\n";
        let s = parse(out).expect("LM-X output");
        assert!(s.checkouts.is_empty());
        let diags: Vec<_> = s.diagnostics.iter().map(|d| (d.line, d.kind)).collect();
        assert_eq!(diags, [(5, DiagnosticKind::Malformed)]);
    }

    #[test]
    fn a_named_server_that_cannot_be_reached_is_down() {
        let out = b"LM-X License Server on 1@a:\nServer version: v5.1\nLM-X License Server on 2@b:\nCannot connect to server.\n";
        let s = parse(out).expect("LM-X output");
        let got: Vec<_> = s
            .servers
            .iter()
            .map(|v| (v.host.as_str(), v.port, v.status, v.message.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                ("a", Some(1), ServerStatus::Up, None),
                (
                    "b",
                    Some(2),
                    ServerStatus::Down,
                    Some("Cannot connect to server.")
                ),
            ]
        );
    }
}
