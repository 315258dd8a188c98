//! The `lsmon` grammar (FORMATS.md §6), line by line, into a [`Snapshot`].
//!
//! After the banner and `[Contacting … server on host "<host>"]`, a tree of `|- Key : value`
//! lines in blocks: `Feature Information` (the feature's totals), then for that feature any
//! number of `License Information` (one per license, not needed here), `Client Information`
//! (one per checkout) and `Queued Client Information` blocks. A block's record is made when
//! the next block (or the output) begins. Dates are C `asctime` with the year, in the server's
//! local time, read as UTC (WIT 0.1.0 has no zone for a poll).

use tally_plugin_sdk::civil::{DAY, checked_days, month_from_abbrev};
use tally_plugin_sdk::text::shown;
use tally_plugin_sdk::{
    Checkout, Diagnostic, DiagnosticKind, Feature, FeatureKind, LicenseServer, PluginError, Queued,
    Reservation, ReservationTarget, ServerStatus, Snapshot, Timestamp,
};

use tally_plugin_sdk::text::word_lines;

pub fn parse(output: &[u8]) -> Result<Snapshot, PluginError> {
    let mut p = Parser::default();
    // lsmon pads its keys to a column and leaves TABs and spaces after values: only the words matter.
    for (no, line) in word_lines(output) {
        p.line(no, &line);
    }
    p.finish()
}

/// lsmon's messages for a server it could not query (from its message catalogue).
const UNREACHABLE: &[&str] = &[
    "Unable to contact any servers",
    "monitor cannot talk to the server",
    "Try setting the LSHOST environment variable",
    "or set the LSHOST environment variable",
    "Failed to resolve the server host",
];

/// lsmon's messages for a server that answered with nothing to show.
const NOTHING_SERVED: &[&str] = &["There is no license in the server", "No licensed features."];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Feature,
    License,
    Client,
    Queued,
}

/// One `Key : value` line.
struct Pair {
    line: u64,
    key: String,
    value: String,
    text: String,
}

impl Pair {
    /// This line as a diagnostic's place and text.
    fn bad(&self) -> Bad {
        (self.line, self.text.clone())
    }

    fn number(&self) -> Result<u32, Bad> {
        self.value.parse().map_err(|_| self.bad())
    }

    /// A token count of a checkout or queued request: the host takes none of 0.
    fn tokens(&self) -> Result<u32, Bad> {
        match self.number()? {
            0 => Err(self.bad()),
            n => Ok(n),
        }
    }
}

/// Where and what a block's unreadable part is.
type Bad = (u64, String);

/// The `Key : value` lines of one block.
struct Block {
    kind: Kind,
    line: u64,
    pairs: Vec<Pair>,
}

impl Block {
    fn get(&self, key: &str) -> Option<&Pair> {
        self.pairs.iter().find(|p| p.key.eq_ignore_ascii_case(key))
    }

    fn value(&self, key: &str) -> Option<&str> {
        self.get(key).map(|p| p.value.as_str())
    }

    fn missing(&self, what: &str) -> Bad {
        let block = match self.kind {
            Kind::Feature => "Feature Information",
            Kind::License => "License Information",
            Kind::Client => "Client Information",
            Kind::Queued => "Queued Client Information",
        };
        (self.line, format!("{block} without {what}"))
    }
}

#[derive(Default)]
struct Parser {
    snap: Snapshot,
    host: Option<String>,
    block: Option<Block>,
    /// Name of the feature the client blocks belong to.
    feature: Option<String>,
    /// Whether the server answered (a feature, or a "no license" message).
    answered: bool,
    /// lsmon's own words when it could not query the server, or had nothing to show.
    messages: Vec<String>,
    unreachable: bool,
    /// Whether any line was unmistakably lsmon's.
    lsmon: bool,
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
        let l = l.strip_prefix("|-").map_or(l, str::trim_start);
        if l.is_empty() {
            return;
        }
        if let Some(kind) = block_header(l) {
            self.close_block();
            self.block = Some(Block {
                kind,
                line: no,
                pairs: Vec::new(),
            });
            self.lsmon = true;
        } else if let Some((key, value)) = key_value(l) {
            match &mut self.block {
                Some(b) => b.pairs.push(Pair {
                    line: no,
                    key: key.to_string(),
                    value: value.to_string(),
                    text: l.to_string(),
                }),
                None => self.diag(no, DiagnosticKind::Unrecognised, l),
            }
        } else if l.ends_with("Application Monitor")
            || l.starts_with("Copyright (C)")
            || l.starts_with("Press Enter to continue")
        {
            self.lsmon |= l.ends_with("Application Monitor");
        } else if let Some(rest) = l.strip_prefix("[Contacting ") {
            let host = rest
                .split_once(" server on host \"")
                .and_then(|(_, h)| h.strip_suffix("\"]"));
            match host {
                Some(h) => self.host = Some(h.to_string()),
                None => self.diag(no, DiagnosticKind::Malformed, l),
            }
            self.lsmon = true;
        } else if UNREACHABLE.iter().any(|m| l.contains(m)) {
            self.messages.push(l.to_string());
            self.unreachable = true;
            self.lsmon = true;
        } else if NOTHING_SERVED.iter().any(|m| l.starts_with(m)) {
            self.messages.push(l.to_string());
            self.answered = true;
            self.lsmon = true;
        } else {
            self.diag(no, DiagnosticKind::Unrecognised, l);
        }
    }

    /// Turns the open block into its record.
    fn close_block(&mut self) {
        let Some(b) = self.block.take() else { return };
        match b.kind {
            Kind::Feature => self.feature_block(&b),
            Kind::License => {}
            Kind::Client => self.client_block(&b),
            Kind::Queued => self.queued_block(&b),
        }
    }

    fn feature_block(&mut self, b: &Block) {
        self.feature = None;
        let (feature, reserved) = match feature(b) {
            Ok(f) => f,
            Err((line, text)) => return self.diag(line, DiagnosticKind::Malformed, &text),
        };
        if reserved > 0 {
            self.snap.reservations.push(Reservation {
                feature: feature.name.clone(),
                vendor: String::new(),
                count: reserved,
                // Sentinel reserves tokens for user groups; lsmon does not say which here.
                target_kind: ReservationTarget::Group,
                target: String::new(),
            });
        }
        self.feature = Some(feature.name.clone());
        self.snap.features.push(feature);
        self.answered = true;
    }

    fn client_block(&mut self, b: &Block) {
        match self
            .feature
            .clone()
            .ok_or_else(|| b.missing("a feature"))
            .and_then(|f| checkout(b, f))
        {
            Ok(c) => self.snap.checkouts.push(c),
            Err((line, text)) => self.diag(line, DiagnosticKind::Malformed, &text),
        }
    }

    fn queued_block(&mut self, b: &Block) {
        match self
            .feature
            .clone()
            .ok_or_else(|| b.missing("a feature"))
            .and_then(|f| queued(b, f))
        {
            Ok(q) => self.snap.queued.push(q),
            Err((line, text)) => self.diag(line, DiagnosticKind::Malformed, &text),
        }
    }

    fn finish(mut self) -> Result<Snapshot, PluginError> {
        self.close_block();
        if !self.lsmon {
            return Err(PluginError::BadInput(
                "not `lsmon` output: no Sentinel banner, server or feature block".into(),
            ));
        }
        let status = if self.answered {
            ServerStatus::Up
        } else if self.unreachable {
            ServerStatus::Down
        } else {
            ServerStatus::Unknown
        };
        self.snap.servers.push(LicenseServer {
            host: self.host.unwrap_or_default(),
            port: None,
            status,
            version: None,
            vendor_daemons: Vec::new(),
            message: (!self.messages.is_empty()).then(|| self.messages.join("; ")),
        });
        Ok(self.snap)
    }
}

/// The feature of a `Feature Information` block, and its reserved tokens.
fn feature(b: &Block) -> Result<(Feature, u32), Bad> {
    let name = b
        .value("Feature name")
        .ok_or_else(|| b.missing("a feature name"))?;
    let version = b
        .value("Feature version")
        .map(unquote)
        .filter(|v| !v.is_empty());
    let mut kind = match b.value("Application-server locking") {
        Some(v) if v.starts_with("Client") => FeatureKind::NodeLocked,
        Some(v) if v.starts_with("Server-locked") || v.starts_with("Unlocked") => {
            FeatureKind::Floating
        }
        _ => FeatureKind::Unknown,
    };
    let max = b
        .get("Maximum concurrent user(s)")
        .ok_or_else(|| b.missing("its maximum concurrent users"))?;
    let issued = if max.value == "Unlimited" {
        kind = FeatureKind::Uncounted;
        None
    } else {
        Some(max.number()?)
    };
    let unreserved = b
        .get("Unreserved tokens in use")
        .ok_or_else(|| b.missing("its tokens in use"))?
        .number()?;
    let optional = |key| b.get(key).map_or(Ok(0), Pair::number);
    let reserved = optional("Reserved tokens in use")?;
    let available = optional("Available reserved")?;
    let expiry = match b.get("Expiration date") {
        None => None,
        Some(p) if p.value == "License has no expiration" => None,
        Some(p) => Some(asctime(&p.value).ok_or_else(|| p.bad())?),
    };
    let feature = Feature {
        name: unquote(name).to_string(),
        // lsmon names no vendor: one Sentinel server serves one vendor's licenses.
        vendor: String::new(),
        version: version.map(str::to_string),
        pool: None,
        issued,
        in_use: unreserved + reserved,
        expiry,
        kind,
    };
    Ok((feature, reserved + available))
}

/// User and host of a client block.
fn who(b: &Block) -> Result<(String, String), Bad> {
    let user = b
        .value("User name")
        .ok_or_else(|| b.missing("a user name"))?;
    let host = b
        .value("Host name")
        .ok_or_else(|| b.missing("a host name"))?;
    Ok((user.to_string(), host.to_string()))
}

/// The checkout of a `Client Information` block.
fn checkout(b: &Block, feature: String) -> Result<Checkout, Bad> {
    let (user, host) = who(b)?;
    let start = match b.get("Status") {
        Some(p) => match p.value.strip_prefix("Running since ") {
            Some(t) => Some(asctime(t).ok_or_else(|| p.bad())?),
            // `This license is being held.`: no longer running, held until its hold time ends.
            None => None,
        },
        None => None,
    };
    Ok(Checkout {
        feature,
        vendor: String::new(),
        user,
        host,
        display: b.value("X display name").map(str::to_string),
        count: b.get("Number of tokens used").map_or(Ok(1), Pair::tokens)?,
        start,
        handle: None,
        linger: None,
        borrowed: b
            .value("Is commuter token")
            .is_some_and(|v| v.eq_ignore_ascii_case("YES")),
    })
}

/// The request of a `Queued Client Information` block.
fn queued(b: &Block, feature: String) -> Result<Queued, Bad> {
    let (user, host) = who(b)?;
    let time = match b.get("Status") {
        Some(p) => Some(
            p.value
                .strip_prefix("Queued since ")
                .and_then(asctime)
                .ok_or_else(|| p.bad())?,
        ),
        None => None,
    };
    Ok(Queued {
        vendor: String::new(),
        feature,
        user,
        host,
        count: b
            .get("No of tokens requested")
            .map_or(Ok(1), Pair::tokens)?,
        time,
    })
}

/// `Feature Information`, `License Information`, `Client Information`, `Queued Client
/// Information` (with a colon in some versions).
fn block_header(l: &str) -> Option<Kind> {
    match l.strip_suffix(':').unwrap_or(l) {
        "Feature Information" => Some(Kind::Feature),
        "License Information" => Some(Kind::License),
        "Client Information" => Some(Kind::Client),
        "Queued Client Information" => Some(Kind::Queued),
        _ => None,
    }
}

/// `Key : value` (keys padded to a column, so the separator has a space on each side).
fn key_value(l: &str) -> Option<(&str, &str)> {
    let (k, v) = match l.split_once(" : ") {
        Some(kv) => kv,
        None => (l.strip_suffix(" :")?, ""),
    };
    (!k.is_empty()).then_some((k, v))
}

/// `"ARMS_ID"` → `ARMS_ID`.
fn unquote(v: &str) -> &str {
    v.strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(v)
}

/// C `asctime`: `Sat Nov 19 23:59:59 2022` (the day may be space-padded).
fn asctime(s: &str) -> Option<Timestamp> {
    let mut w = s.split(' ');
    let (_dow, mon, day, time, year) = (w.next()?, w.next()?, w.next()?, w.next()?, w.next()?);
    if w.next().is_some() || mon.len() != 3 {
        return None;
    }
    let days = checked_days(
        year.parse().ok()?,
        month_from_abbrev(mon.as_bytes())?,
        day.parse().ok()?,
    )?;
    let mut hms = time.split(':').map(|x| x.parse::<i64>().ok());
    let (h, m, sec) = (hms.next()??, hms.next()??, hms.next()??);
    if hms.next().is_some() || h > 23 || m > 59 || sec > 60 {
        return None;
    }
    Some(days * DAY + h * 3600 + m * 60 + sec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tally_plugin_sdk::civil::format_utc;

    #[test]
    fn small_grammars() {
        assert_eq!(
            asctime("Sat Nov 19 23:59:59 2022")
                .map(format_utc)
                .as_deref(),
            Some("2022-11-19T23:59:59Z")
        );
        assert_eq!(
            asctime("Tue Nov 3 11:34:40 2020")
                .map(format_utc)
                .as_deref(),
            Some("2020-11-03T11:34:40Z")
        );
        for bad in [
            "Sat Nov 31 23:59:59 2022",
            "Nov 19 23:59:59 2022",
            "Sat Nov 19 23:59 2022",
            "x",
        ] {
            assert_eq!(asctime(bad), None, "{bad}");
        }
        assert_eq!(
            key_value("Feature name : \"ARMS_ID\""),
            Some(("Feature name", "\"ARMS_ID\""))
        );
        assert_eq!(key_value("Group name :"), Some(("Group name", "")));
        assert_eq!(key_value("Press Enter to continue . . ."), None);
        assert_eq!(
            block_header("Queued Client Information:"),
            Some(Kind::Queued)
        );
        assert_eq!(unquote("\"1.0\""), "1.0");
    }

    #[test]
    fn a_client_of_no_tokens_is_malformed() {
        // Found by fuzzing: the host refuses a snapshot holding a checkout of 0 tokens.
        let out = b" |- Feature Information\n |- Feature name : \"F\"\n |- Maximum concurrent user(s) : 1\n |- Unreserved tokens in use : 0\n |- Client Information\n |- User name : bob\n |- Host name : h\n |- Number of tokens used : 0\n";
        let s = parse(out).expect("lsmon output");
        assert!(s.checkouts.is_empty());
        let diags: Vec<_> = s.diagnostics.iter().map(|d| (d.line, d.kind)).collect();
        assert_eq!(diags, [(8, DiagnosticKind::Malformed)]);
    }

    #[test]
    fn a_queued_client_without_host_is_malformed() {
        let out = b" |- Feature Information\n |- Feature name : \"F\"\n |- Maximum concurrent user(s) : 1\n |- Unreserved tokens in use : 1\n |- Queued Client Information:\n |- User name : bob\n";
        let s = parse(out).expect("lsmon output");
        assert!(s.queued.is_empty());
        assert_eq!(s.diagnostics.len(), 1);
        assert_eq!(
            (s.diagnostics[0].line, s.diagnostics[0].text.as_str()),
            (5, "Queued Client Information without a host name")
        );
    }
}
