//! The `DSLicSrv -admin` session (FORMATS.md §7), line by line, into a [`Snapshot`].
//!
//! The tool prints its banner, then per command an `admin >` prompt and the answer: after
//! `connect` the server's `Software version:` block, after `getLicenseUsage -csv` a header row
//! and one row per feature pool, repeated once per user holding it. Columns are found by
//! their header names, never by position.

use std::collections::HashMap;

use tally_plugin_sdk::civil::datetime;
use tally_plugin_sdk::text::{lines, shown, text};
use tally_plugin_sdk::{
    Checkout, Diagnostic, DiagnosticKind, Feature, FeatureKind, LicenseServer, PluginError, Queued,
    ServerStatus, Snapshot,
};

use crate::csv::csv;

/// The vendor of rows whose `Editor` is empty.
pub const VENDOR: &str = "DSLS";
const PROMPT: &str = "admin >";

pub fn parse(output: &[u8]) -> Result<Snapshot, PluginError> {
    let text = text(output);
    let mut p = Parser::default();
    for (no, line) in lines(&text) {
        p.line(no, line);
    }
    p.finish()
}

/// Where the columns of the usage table are.
struct Columns {
    feature: usize,
    count: usize,
    inuse: usize,
    editor: Option<usize>,
    model: Option<usize>,
    release: Option<usize>,
    expiry: Option<usize>,
    customer: Option<usize>,
    tokens: Option<usize>,
    host: Option<usize>,
    user: Option<usize>,
    session: Option<usize>,
    since: Option<usize>,
    granted_at: Option<usize>,
    queue: Option<usize>,
}

impl Columns {
    /// The last of the columns a row cannot do without (the header may put any of them last).
    fn required(&self) -> usize {
        self.feature.max(self.count).max(self.inuse)
    }

    fn from_header(fields: &[String]) -> Option<Columns> {
        let at = |name: &str| fields.iter().position(|f| f.eq_ignore_ascii_case(name));
        Some(Columns {
            feature: at("Feature")?,
            count: at("Count")?,
            inuse: at("Inuse")?,
            editor: at("Editor"),
            model: at("Model"),
            release: at("Max Release Number"),
            expiry: at("Expiration Date"),
            customer: at("Customer ID"),
            tokens: at("Tokens"),
            host: at("Host"),
            user: at("User"),
            session: at("Session ID"),
            since: at("Granted Since"),
            granted_at: at("Granted At"),
            queue: at("Queue Position"),
        })
    }
}

/// One pool of a feature: the columns before `Inuse` are the same on all its rows.
struct Pool {
    key: Vec<String>,
    line: u64,
    feature: Feature,
}

#[derive(Default)]
struct Parser {
    snap: Snapshot,
    columns: Option<Columns>,
    pools: Vec<Pool>,
    /// Pool index by its key.
    index: HashMap<Vec<String>, usize>,
    /// Whether a line was unmistakably the admin tool's.
    ours: bool,
}

impl Parser {
    fn line(&mut self, no: u64, raw: &str) {
        // A prompt may precede any answer (`admin >\tSoftware version:`, `admin >Editor,…`).
        let mut line = raw.trim();
        while let Some(rest) = line.strip_prefix(PROMPT) {
            self.ours = true;
            line = rest.trim_start();
        }
        if line.is_empty() {
            return;
        }
        if line.starts_with("License Administration Tool Version") {
            self.ours = true;
        } else if let Some(version) = line.strip_prefix("Software version:") {
            self.ours = true;
            let version = Some(version.trim().to_string()).filter(|v| !v.is_empty());
            self.snap
                .servers
                .push(server(String::new(), None, ServerStatus::Up));
            self.server().version = version;
        } else if let Some(rest) = line.strip_prefix("Server name:") {
            let name = rest.split("Server id:").next().unwrap_or_default().trim();
            self.server().host = name.to_string();
        } else if let Some(ready) = line.strip_prefix("Ready:") {
            if !ready.trim().eq_ignore_ascii_case("yes") {
                let server = self.server();
                server.status = ServerStatus::Down;
                server.message = Some(line.to_string());
            }
        } else if line.starts_with("Build date:")
            || line == "Standalone mode"
            || line == "Failover mode"
        {
            // Read, nothing in them a snapshot keeps.
        } else if line.starts_with("Warning:") {
            // `restricted connection…`: the usage answer still follows.
            self.server().message = Some(line.to_string());
        } else if let Some((host, port)) = cannot_connect(line) {
            self.ours = true;
            let mut down = server(host.to_string(), port, ServerStatus::Down);
            down.message = Some(line.to_string());
            self.snap.servers.push(down);
        } else if let Some(cols) = Columns::from_header(&csv(line)) {
            self.ours = true;
            self.columns = Some(cols);
        } else if let Some(cols) = self.columns.take() {
            let fields = csv(line);
            if fields.len() > cols.required() {
                self.row(no, line, &fields, &cols);
            } else if fields.len() > 1 {
                // A row cut short.
                self.diag(no, DiagnosticKind::Malformed, line);
            } else {
                // A message where a row belongs.
                self.diag(no, DiagnosticKind::Unrecognised, line);
            }
            self.columns = Some(cols);
        } else {
            self.diag(no, DiagnosticKind::Unrecognised, line);
        }
    }

    /// The server the lines describe; one is opened when the output starts without it.
    fn server(&mut self) -> &mut LicenseServer {
        if self.snap.servers.is_empty() {
            self.snap
                .servers
                .push(server(String::new(), None, ServerStatus::Up));
        }
        let last = self.snap.servers.len() - 1;
        &mut self.snap.servers[last]
    }

    fn row(&mut self, no: u64, line: &str, f: &[String], c: &Columns) {
        let get = |i: Option<usize>| i.and_then(|i| f.get(i)).map(String::as_str).unwrap_or("");
        let (Ok(count), Ok(in_use)) = (f[c.count].parse::<u32>(), f[c.inuse].parse::<u32>()) else {
            self.diag(no, DiagnosticKind::Malformed, line);
            return;
        };
        let name = f[c.feature].clone();
        if name.is_empty() {
            self.diag(no, DiagnosticKind::Malformed, line);
            return;
        }
        let vendor = Some(get(c.editor))
            .filter(|e| !e.is_empty())
            .unwrap_or(VENDOR)
            .to_string();
        let expiry_text = get(c.expiry);
        let expiry = datetime(expiry_text);
        if expiry.is_none() && !expiry_text.is_empty() {
            self.diag(
                no,
                DiagnosticKind::Assumption,
                &format!("expiration date not read: {line}"),
            );
        }
        let key = f[..c.inuse].to_vec();
        if let Some(&i) = self.index.get(&key) {
            if self.pools[i].feature.in_use != in_use {
                let first = self.pools[i].line;
                self.diag(
                    no,
                    DiagnosticKind::Assumption,
                    &format!("Inuse differs from line {first}, kept the first: {line}"),
                );
            }
        } else {
            self.index.insert(key.clone(), self.pools.len());
            self.pools.push(Pool {
                key,
                line: no,
                feature: Feature {
                    name: name.clone(),
                    vendor: vendor.clone(),
                    version: Some(get(c.release).to_string()).filter(|v| !v.is_empty()),
                    pool: None,
                    issued: Some(count),
                    in_use,
                    expiry,
                    kind: kind(get(c.model)),
                },
            });
        }
        let user = get(c.user);
        if user.is_empty() {
            return;
        }
        // `nid001627 (263.0)/127.0.0.1`: the machine name before the client id and address.
        let host = get(c.host);
        let host = host
            .split([' ', '/'])
            .next()
            .unwrap_or_default()
            .to_string();
        let tokens = get(c.tokens).parse::<u32>().ok().filter(|&t| t > 0);
        let queue = get(c.queue);
        if !queue.is_empty() && queue != "0" {
            self.snap.queued.push(Queued {
                vendor,
                feature: name,
                user: user.to_string(),
                host,
                count: tokens.unwrap_or(1),
                time: None,
            });
            return;
        }
        let since = Some(get(c.since))
            .filter(|s| !s.is_empty())
            .unwrap_or(get(c.granted_at));
        self.snap.checkouts.push(Checkout {
            feature: name,
            vendor,
            user: user.to_string(),
            host,
            display: None,
            count: tokens.unwrap_or(1),
            start: datetime(since),
            handle: Some(get(c.session).to_string()).filter(|s| !s.is_empty()),
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
        if !self.ours {
            return Err(PluginError::BadInput(
                "not DSLicSrv -admin output: no banner, `admin >` prompt, usage header or connection error"
                    .into(),
            ));
        }
        if self.snap.servers.is_empty() {
            // Banner and usage rows without the `connect` answer: the server did answer.
            let status = if self.columns.is_some() {
                ServerStatus::Up
            } else {
                ServerStatus::Unknown
            };
            self.server().status = status;
        }
        // A feature listed in several pools (licenses): name each pool by the columns that
        // tell them apart, so that its history stays with it across polls.
        let mut per_name: HashMap<(String, String), usize> = HashMap::new();
        for p in &self.pools {
            *per_name
                .entry((p.feature.vendor.clone(), p.feature.name.clone()))
                .or_default() += 1;
        }
        for mut p in self.pools {
            if per_name[&(p.feature.vendor.clone(), p.feature.name.clone())] > 1 {
                p.feature.pool = Some(pool_name(&p.key, self.columns.as_ref()));
            }
            self.snap.features.push(p.feature);
        }
        Ok(self.snap)
    }
}

fn server(host: String, port: Option<u16>, status: ServerStatus) -> LicenseServer {
    LicenseServer {
        host,
        port,
        status,
        version: None,
        vendor_daemons: Vec::new(),
        message: None,
    }
}

/// `Model/Max Release Number/Expiration Date/Customer ID/Count` of a pool's key.
fn pool_name(key: &[String], c: Option<&Columns>) -> String {
    let Some(c) = c else {
        return key.join("/");
    };
    [c.model, c.release, c.expiry, c.customer, Some(c.count)]
        .into_iter()
        .map(|i| i.and_then(|i| key.get(i)).map(String::as_str).unwrap_or(""))
        .collect::<Vec<_>>()
        .join("/")
}

/// The licensing model: tokens and concurrent users float, node locks do not.
fn kind(model: &str) -> FeatureKind {
    match model.to_ascii_lowercase().as_str() {
        "token" | "concurrentuser" | "concurrent user" | "credit" => FeatureKind::Floating,
        "nodelock" | "node lock" => FeatureKind::NodeLocked,
        _ => FeatureKind::Unknown,
    }
}

/// `Cannot connect to server <host> on port <port>`.
fn cannot_connect(line: &str) -> Option<(&str, Option<u16>)> {
    let rest = line.strip_prefix("Cannot connect to server ")?;
    match rest.rsplit_once(" on port ") {
        Some((host, port)) => Some((host.trim(), port.trim().parse().ok())),
        None => Some((rest.trim(), None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn models() {
        assert_eq!(kind("Token"), FeatureKind::Floating);
        assert_eq!(kind("ConcurrentUser"), FeatureKind::Floating);
        assert_eq!(kind("NodeLock"), FeatureKind::NodeLocked);
        assert_eq!(kind("NamedUser"), FeatureKind::Unknown);
    }

    #[test]
    fn connection_errors() {
        assert_eq!(
            cannot_connect("Cannot connect to server localhost on port 1234"),
            Some(("localhost", Some(1234)))
        );
        assert_eq!(
            cannot_connect("Cannot connect to server lic.example.com"),
            Some(("lic.example.com", None))
        );
        assert_eq!(cannot_connect("Connected to server"), None);
    }

    #[test]
    fn a_row_cut_before_a_later_column_is_malformed() {
        // Found by fuzzing: `Count` after `Inuse`, the row cut between them.
        let s = parse(b"User,Host,Feature,Inuse,Count\nfrank,ws-9,HD2,1\n").expect("parse");
        assert!(s.features.is_empty());
        assert_eq!(s.diagnostics.len(), 1);
        assert_eq!(
            (s.diagnostics[0].line, s.diagnostics[0].kind),
            (2, DiagnosticKind::Malformed)
        );
    }

    #[test]
    fn not_dsls() {
        assert!(matches!(
            parse(b"hello\nworld\n"),
            Err(PluginError::BadInput(_))
        ));
        assert!(matches!(parse(b""), Err(PluginError::BadInput(_))));
    }
}
