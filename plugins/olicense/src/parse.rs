//! The `olixtool` status report (FORMATS.md §9), line by line, into a [`Snapshot`].
//!
//! ```text
//! Server: <138.106.32.97:31212:0> (Proxy: <>)
//! List of requested licenses:
//! ==============================================      (one block per license)
//! Application:→cosin                                  (TAB after the key)
//! License-ID:→cosin-faf71fdc@cos550218
//! Modules:
//!   Name; LicenseType; FloatCount; Expiration
//!   ftire_adams;         →FreeFloating;→3;→2022-12-31 23:59:59;
//!     2 FloatsLockedBy:                               (floats held by the clients below)
//!       sbhyma@RD0087712 #1
//! ```

use tally_plugin_sdk::civil::datetime;
use tally_plugin_sdk::text::{lines, shown, text};
use tally_plugin_sdk::{
    Checkout, Diagnostic, DiagnosticKind, Feature, FeatureKind, LicenseServer, PluginError,
    ServerStatus, Snapshot,
};

/// The vendor of modules whose block names no `Application`.
pub const VENDOR: &str = "OLicense";

pub fn parse(output: &[u8]) -> Result<Snapshot, PluginError> {
    let text = text(output);
    let mut p = Parser::default();
    for (no, line) in lines(&text) {
        p.line(no, line);
    }
    p.finish()
}

/// The header fields of the current license block.
#[derive(Default)]
struct Block {
    application: Option<String>,
    version_range: Option<String>,
    license_id: Option<String>,
}

/// `N FloatsLockedBy:` and the checkouts listed under it.
struct Group {
    line: u64,
    floats: u32,
    first: usize,
}

#[derive(Default)]
struct Parser {
    snap: Snapshot,
    server: Option<(String, Option<u16>)>,
    /// `OlComm <code> <text>`
    error: Option<String>,
    /// `List of requested licenses:` or a module row: the server answered.
    answered: bool,
    /// A line only olixtool writes was seen.
    ours: bool,
    block: Block,
    /// The module the lock groups below belong to.
    module: Option<usize>,
    group: Option<Group>,
}

impl Parser {
    fn line(&mut self, no: u64, raw: &str) {
        let line = raw.trim();
        if line.is_empty() {
            return;
        }
        if line.starts_with("olixtool ") || line.contains("OLicense") {
            self.ours = true;
        } else if line.starts_with("Copyright") {
            // The banner's second line.
        } else if let Some(rest) = line.strip_prefix("Server:") {
            self.ours = true;
            self.server = Some(server(rest));
        } else if line.starts_with("OlComm ") {
            self.ours = true;
            self.error = Some(line.to_string());
        } else if line == "List of requested licenses:" {
            self.answered = true;
        } else if line.chars().all(|c| c == '=') {
            self.close_group();
            self.block = Block::default();
            self.module = None;
        } else if line.chars().all(|c| c == '-') || line == "Modules:" {
            // The rule under the module table's header, and its title.
        } else if let Some((key, value)) = line
            .split_once(':')
            .filter(|(k, _)| k.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        {
            self.field(no, line, key, value.trim());
        } else if let Some(floats) = line.strip_suffix("FloatsLockedBy:") {
            self.close_group();
            match (floats.trim().parse::<u32>(), self.module) {
                (Ok(floats), Some(m)) => {
                    let f = &mut self.snap.features[m];
                    f.in_use = f.in_use.saturating_add(floats);
                    self.group = Some(Group {
                        line: no,
                        floats,
                        first: self.snap.checkouts.len(),
                    });
                }
                _ => self.diag(no, DiagnosticKind::Malformed, line),
            }
        } else if line.contains(';') {
            self.close_group();
            self.module(no, line);
        } else if let Some((who, _instances)) = line.rsplit_once(" #") {
            self.client(no, line, who.trim());
        } else {
            self.diag(no, DiagnosticKind::Unrecognised, line);
        }
    }

    /// `Key:→value` of a block header.
    fn field(&mut self, no: u64, line: &str, key: &str, value: &str) {
        let value = Some(value.to_string()).filter(|v| !v.is_empty());
        match key {
            "Application" => self.block.application = value,
            "VersionRange" => self.block.version_range = value,
            "License-ID" => self.block.license_id = value,
            "Licenser" | "Licensee" => {}
            _ => self.diag(no, DiagnosticKind::Unrecognised, line),
        }
    }

    /// `<name>; <type>; <floats>; <YYYY-MM-DD HH:MM:SS>;` (the table header is one too).
    fn module(&mut self, no: u64, line: &str) {
        let fields: Vec<&str> = line.split(';').map(str::trim).collect();
        let [name, kind, floats, expiry, ..] = fields[..] else {
            self.module = None;
            self.diag(no, DiagnosticKind::Malformed, line);
            return;
        };
        if name == "Name" && floats == "FloatCount" {
            return;
        }
        let Ok(floats) = floats.parse::<u32>() else {
            self.module = None;
            self.diag(no, DiagnosticKind::Malformed, line);
            return;
        };
        let parsed = datetime(expiry);
        if parsed.is_none() && !expiry.is_empty() {
            self.diag(
                no,
                DiagnosticKind::Assumption,
                &format!("expiration not a date: {line}"),
            );
        }
        self.answered = true;
        self.snap.features.push(Feature {
            name: name.to_string(),
            vendor: self
                .block
                .application
                .clone()
                .unwrap_or_else(|| VENDOR.into()),
            version: self.block.version_range.clone(),
            pool: self.block.license_id.clone(),
            issued: Some(floats),
            in_use: 0,
            expiry: parsed,
            kind: feature_kind(kind),
        });
        self.module = Some(self.snap.features.len() - 1);
    }

    /// `<user>@<host> #<n>` under a lock group. `#n` is not a float count: a group of 2
    /// floats lists `#1` and `#2` in one sample; it is not kept.
    fn client(&mut self, no: u64, line: &str, who: &str) {
        let (Some((user, host)), Some(_), Some(m)) =
            (who.rsplit_once('@'), &self.group, self.module)
        else {
            self.diag(no, DiagnosticKind::Malformed, line);
            return;
        };
        let f = &self.snap.features[m];
        self.snap.checkouts.push(Checkout {
            feature: f.name.clone(),
            vendor: f.vendor.clone(),
            user: user.to_string(),
            host: host.to_string(),
            display: None,
            count: 0,
            start: None,
            handle: None,
            linger: None,
            borrowed: false,
        });
    }

    /// Shares the group's floats among its clients (one each in every sample), so that the
    /// checkouts add up to what the report says is in use. A client holds at least one: the
    /// host takes no checkout of 0, so fewer floats than clients overcount (and say so).
    fn close_group(&mut self) {
        let Some(g) = self.group.take() else { return };
        let clients = &mut self.snap.checkouts[g.first..];
        let n = clients.len() as u32;
        if n == 0 {
            return;
        }
        for (i, c) in clients.iter_mut().enumerate() {
            c.count = (g.floats / n + u32::from((i as u32) < g.floats % n)).max(1);
        }
        if n != g.floats {
            self.diag(
                g.line,
                DiagnosticKind::Assumption,
                &if g.floats < n {
                    format!(
                        "{} floats shared by {n} clients, one counted for each",
                        g.floats
                    )
                } else {
                    format!("{} floats shared by {n} clients", g.floats)
                },
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
        self.close_group();
        if !self.ours && !self.answered {
            return Err(PluginError::BadInput(
                "not olixtool output: no banner, `Server:` line, license list or OlComm error"
                    .into(),
            ));
        }
        let (host, port) = self.server.take().unwrap_or_default();
        let status = match (&self.error, self.answered) {
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

/// `<ip:port:n> (Proxy: <…>)`: the address in the first angle brackets; an IPv6 address
/// keeps its colons.
fn server(rest: &str) -> (String, Option<u16>) {
    let inner = rest
        .split_once('<')
        .and_then(|(_, r)| r.split_once('>'))
        .map_or(rest.trim(), |(inner, _)| inner.trim());
    let parts: Vec<&str> = inner.split(':').collect();
    match parts[..] {
        [host] => (host.to_string(), None),
        [host, port] => (host.to_string(), port.parse().ok()),
        [ref host @ .., port, _] => (host.join(":"), port.parse().ok()),
        [] => (String::new(), None),
    }
}

fn feature_kind(kind: &str) -> FeatureKind {
    let k = kind.to_ascii_lowercase();
    if k.contains("float") {
        FeatureKind::Floating
    } else if k.contains("node") {
        FeatureKind::NodeLocked
    } else {
        FeatureKind::Unknown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_addresses() {
        let s = |r| server(r);
        assert_eq!(
            s(" <138.106.32.97:31212:0> (Proxy: <>)"),
            ("138.106.32.97".into(), Some(31212))
        );
        assert_eq!(s(" <123:80:0> (Proxy: <>)"), ("123".into(), Some(80)));
        assert_eq!(s(" <lic01:31212>"), ("lic01".into(), Some(31212)));
        assert_eq!(s(" <fe80::1:31212:0>"), ("fe80::1".into(), Some(31212)));
        assert_eq!(s(" lic01"), ("lic01".into(), None));
    }

    #[test]
    fn kinds() {
        assert_eq!(feature_kind("FreeFloating"), FeatureKind::Floating);
        assert_eq!(feature_kind("NodeLocked"), FeatureKind::NodeLocked);
        assert_eq!(feature_kind("Named"), FeatureKind::Unknown);
    }

    #[test]
    fn fewer_floats_than_clients_still_count_one_each() {
        // The host refuses a checkout of 0: one float locked by two clients gave one of them 0.
        let out = b"Server: <lic01:31212:0>\nList of requested licenses:\nApplication:\tcosin\n\
            Modules:\n  m;\tFreeFloating;\t5;\t2026-12-31 23:59:59;\n    1 FloatsLockedBy:\n\
            a@h1 #1\n      b@h2 #1\n";
        let s = parse(out).expect("parse");
        let counts: Vec<u32> = s.checkouts.iter().map(|c| c.count).collect();
        assert_eq!(counts, [1, 1]);
        assert!(s.diagnostics[0].text.contains("one counted for each"));
    }

    #[test]
    fn not_olicense() {
        assert!(matches!(parse(b"hello\n"), Err(PluginError::BadInput(_))));
        assert!(matches!(parse(b""), Err(PluginError::BadInput(_))));
    }
}
