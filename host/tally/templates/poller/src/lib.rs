//! {{name}}: a Tally license-server poller.
//!
//! The host runs the status command of `plugin.toml` (`acmestat -s HOST -p PORT`, the status
//! tool of a made-up license server, "ACME") and hands its output to `parse_status`; the plugin
//! only parses. Replace the format with yours:
//!
//! ```text
//! ACME License Server 4.1 on lic1.example.com port 7070: UP
//! solver: 3 of 10 in use
//!     alice@ws-17 2 since 2025-03-04 09:15
//!     bob@ws-03 1 since 2025-03-04 09:20
//! mesher: 0 of 4 in use
//! ```
//!
//! A server that does not answer is `...: DOWN (reason)`.

use tally_plugin_sdk::civil::datetime;
use tally_plugin_sdk::text::{shown, word_lines};
use tally_plugin_sdk::{
    Checkout, Diagnostic, DiagnosticKind, Feature, FeatureKind, LicenseServer, PluginError, Poller,
    ServerStatus, Snapshot, Timestamp,
};

/// The vendor daemon every record names (an ACME server has one).
const VENDOR: &str = "acme";
const BANNER: &str = "ACME License Server";

/// Parses `acmestat` output.
#[derive(Debug)]
pub struct {{Type}};

impl Poller for {{Type}} {
    const FORMATS: &'static [&'static str] = &["{{name}}"];

    fn sniff(head: &[u8]) -> f32 {
        if head.starts_with(BANNER.as_bytes()) {
            0.9
        } else {
            0.0
        }
    }

    /// `now` is when the host ran the command (for outputs that show times without a date).
    fn parse_status(output: &[u8], _now: Timestamp) -> Result<Snapshot, PluginError> {
        let mut s = Snapshot::default();
        // word_lines: numbered lines, each with its whitespace runs read as one space.
        for (no, line) in word_lines(output) {
            let read = if line.is_empty() {
                Ok(())
            } else if line.starts_with(BANNER) {
                server(&line).map(|server| s.servers.push(server))
            } else if line.contains('@') {
                checkout(&line, &mut s)
            } else {
                feature(&line).map(|feature| s.features.push(feature))
            };
            if let Err(kind) = read {
                s.diagnostics.push(Diagnostic {
                    line: no,
                    kind,
                    text: shown(line.as_bytes()),
                });
            }
        }
        if s.servers.is_empty() {
            return Err(PluginError::BadInput(format!(
                "no `{BANNER}` line: not acmestat output"
            )));
        }
        Ok(s)
    }
}

/// `ACME License Server [VERSION] on HOST port PORT: UP|DOWN [(MESSAGE)]`
fn server(line: &str) -> Result<LicenseServer, DiagnosticKind> {
    let rest = &line[BANNER.len()..];
    let (version, rest) = rest.split_once(" on ").ok_or(DiagnosticKind::Malformed)?;
    let (address, state) = rest.split_once(": ").ok_or(DiagnosticKind::Malformed)?;
    let (host, port) = address
        .split_once(" port ")
        .ok_or(DiagnosticKind::Malformed)?;
    let (state, message) = match state.split_once(' ') {
        Some((state, message)) => (state, Some(message.trim_matches(['(', ')']).to_string())),
        None => (state, None),
    };
    let status = match state {
        "UP" => ServerStatus::Up,
        "DOWN" => ServerStatus::Down,
        _ => ServerStatus::Unknown,
    };
    Ok(LicenseServer {
        host: host.into(),
        port: Some(port.parse().map_err(|_| DiagnosticKind::Malformed)?),
        status,
        version: Some(version.trim().to_string()).filter(|v| !v.is_empty()),
        vendor_daemons: vec![],
        message,
    })
}

/// `FEATURE: USED of ISSUED in use`
fn feature(line: &str) -> Result<Feature, DiagnosticKind> {
    let (name, counts) = line.split_once(": ").ok_or(DiagnosticKind::Unrecognised)?;
    let [used, "of", issued, "in", "use"] = counts.split(' ').collect::<Vec<_>>()[..] else {
        return Err(DiagnosticKind::Unrecognised);
    };
    Ok(Feature {
        name: name.into(),
        vendor: VENDOR.into(),
        version: None,
        pool: None,
        issued: Some(issued.parse().map_err(|_| DiagnosticKind::Malformed)?),
        in_use: used.parse().map_err(|_| DiagnosticKind::Malformed)?,
        expiry: None,
        kind: FeatureKind::Floating,
    })
}

/// `USER@HOST COUNT since YYYY-MM-DD HH:MM`, a checkout of the feature above it.
fn checkout(line: &str, s: &mut Snapshot) -> Result<(), DiagnosticKind> {
    let feature = s.features.last().ok_or(DiagnosticKind::Malformed)?;
    let [who, count, "since", date, time] = line.split(' ').collect::<Vec<_>>()[..] else {
        return Err(DiagnosticKind::Malformed);
    };
    let (user, host) = who.split_once('@').ok_or(DiagnosticKind::Malformed)?;
    let count = count
        .parse()
        .ok()
        .filter(|&n| n > 0)
        .ok_or(DiagnosticKind::Malformed)?;
    let checkout = Checkout {
        feature: feature.name.clone(),
        vendor: VENDOR.into(),
        user: user.into(),
        host: host.into(),
        display: None,
        count,
        // The server's local time, read as UTC like every poller's.
        start: Some(datetime(&format!("{date} {time}")).ok_or(DiagnosticKind::Malformed)?),
        handle: None,
        linger: None,
        borrowed: false,
    };
    s.checkouts.push(checkout);
    Ok(())
}

tally_plugin_sdk::export!(poller: {{Type}});
