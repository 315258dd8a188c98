//! The `rlmutil rlmstat -a` grammar (FORMATS.md §3), line by line, into a [`Snapshot`].
//!
//! The output is a run of sections: the rlm server's status and its ISV table, then per ISV
//! its server status, `license pool status` (pool header + `count:` line) and `license usage
//! status` (one line per checkout). Sections are told apart by their header lines, never by
//! indentation (TABs, 4 or 8 spaces and U+00A0 all occur).

use tally_plugin_sdk::text::shown;
use tally_plugin_sdk::{
    Checkout, Diagnostic, DiagnosticKind, Feature, FeatureKind, LicenseServer, PluginError,
    Reservation, ReservationTarget, ServerStatus, Snapshot, Timestamp, VendorDaemon,
};

use crate::when;
use tally_plugin_sdk::text::word_lines;

pub fn parse(output: &[u8], now: Timestamp) -> Result<Snapshot, PluginError> {
    let mut p = Parser::new(now);
    // RLM indents with TABs or spaces at will and pads its tables, so only the words matter.
    for (no, line) in word_lines(output) {
        p.line(no, &line);
    }
    p.finish()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    /// Before any section header, or after a `-----` separator.
    Top,
    /// The `--------- ISV servers ----------` table.
    Isvs,
    Pools,
    Usage,
    /// After `Error connecting to "<name>" server`: the lines that explain it.
    Error,
}

/// A pool header (`nuke_i v2024.0331, pool: 3`) waiting for its `count:` line.
struct PoolHeader {
    line: u64,
    text: String,
    name: String,
    version: String,
    pool: Option<String>,
}

/// `Error connecting to "<daemon>" server` and what follows it.
struct Failure {
    daemon: String,
    /// The server it is about, for a failure of rlm itself.
    server: Option<usize>,
    host: Option<String>,
    port: Option<u16>,
    message: Vec<String>,
}

struct Parser {
    now: Timestamp,
    snap: Snapshot,
    /// The first `port@host` of `Setting license file path to …`.
    path: Option<(String, Option<u16>)>,
    /// The server the lines describe.
    server: Option<usize>,
    section: Section,
    /// The ISV of the current pool or usage section.
    isv: String,
    pending: Option<PoolHeader>,
    /// Features listed before any `license pool status` header (an elided output), and the
    /// line of the first.
    headerless: Vec<usize>,
    headerless_line: u64,
    failures: Vec<Failure>,
    /// Whether any line was unmistakably RLM's.
    rlm: bool,
}

impl Parser {
    fn new(now: Timestamp) -> Self {
        Parser {
            now,
            snap: Snapshot::default(),
            path: None,
            server: None,
            section: Section::Top,
            isv: String::new(),
            pending: None,
            headerless: Vec::new(),
            headerless_line: 0,
            failures: Vec::new(),
            rlm: false,
        }
    }

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
        if !l.starts_with("count:")
            && let Some(h) = self.pending.take()
        {
            self.diag(h.line, DiagnosticKind::Malformed, &h.text);
        }
        if self.top_level(no, l) {
            return;
        }
        let ok = match self.section {
            Section::Isvs => self.isv_row(l),
            Section::Error => {
                if let Some(f) = self.failures.last_mut() {
                    f.message.push(l.to_string());
                }
                true
            }
            Section::Top | Section::Pools | Section::Usage => {
                return self.pool_or_usage(no, l);
            }
        };
        if !ok {
            self.diag(no, DiagnosticKind::Unrecognised, l);
        }
    }

    /// Lines that mean the same in every section. False when `l` is none of them.
    fn top_level(&mut self, no: u64, l: &str) -> bool {
        if let Some(path) = l.strip_prefix("Setting license file path to ") {
            self.path = first_port_at_host(path);
            self.rlm = true;
        } else if ["rlmutil v", "rlmstat v"].iter().any(|p| l.starts_with(p))
            || l.starts_with("Copyright (C)") && l.contains("Reprise Software")
        {
            self.rlm = true;
        } else if (l.starts_with("$ ") || l.starts_with("% ")) && l.contains("rlm") {
            // The command line, typed into a captured terminal session.
        } else if let Some(rest) = l.strip_prefix("Error connecting to \"") {
            let Some(daemon) = rest.strip_suffix("\" server") else {
                return false;
            };
            self.failure(daemon);
        } else if let Some(rest) = l.strip_prefix("Connection attempted to host: \"") {
            let Some(f) = self.failures.last_mut() else {
                return false;
            };
            let Some((host, port)) = rest.split_once("\" on port ") else {
                return false;
            };
            f.host = Some(host.to_string());
            f.port = port.parse().ok();
            f.message.push(l.to_string());
        } else if l.bytes().all(|b| b == b'-') {
            self.section = Section::Top;
        } else if l.starts_with('-') && l.ends_with('-') && l.contains("ISV servers") {
            self.section = Section::Isvs;
        } else if let Some(rest) = l.strip_prefix("rlm status on ") {
            let Some((host, port)) = host_port(rest) else {
                self.diag(no, DiagnosticKind::Malformed, l);
                return true;
            };
            self.snap.servers.push(LicenseServer {
                host,
                port,
                status: ServerStatus::Up,
                version: None,
                vendor_daemons: Vec::new(),
                message: None,
            });
            self.server = Some(self.snap.servers.len() - 1);
            self.section = Section::Top;
            self.rlm = true;
        } else if let Some((isv, kind, rest)) = isv_header(l) {
            let Some((host, _isv_port)) = host_port(rest) else {
                self.diag(no, DiagnosticKind::Malformed, l);
                return true;
            };
            // An ISV that reports is up, whatever the table said.
            let srv = self.server(&host, ServerStatus::Up);
            self.daemon(srv, isv).status = ServerStatus::Up;
            self.isv = isv.to_string();
            self.section = kind;
            self.rlm = true;
        } else if let Some((name, version)) = l.split_once(" software version ") {
            let version = version.strip_prefix('v').unwrap_or(version).to_string();
            if name == "rlm" {
                let srv = self.server("", ServerStatus::Up);
                self.snap.servers[srv].version = Some(version);
            } else if !name.contains(' ') {
                let srv = self.server("", ServerStatus::Up);
                self.daemon(srv, name).version = Some(version);
            } else {
                return false;
            }
        } else if is_isv_detail(l) || is_statistics(l) {
            // Log file names, comm versions, start-up time and the (cumulative) statistics.
        } else {
            return false;
        }
        true
    }

    /// A row of the ISV table: `csci 63133 Yes 0`.
    fn isv_row(&mut self, l: &str) -> bool {
        let cols: Vec<&str> = l.split(' ').collect();
        match cols[..] {
            ["Name", "Port", "Running", "Restarts"] => true,
            [name, port, running, restarts]
                if port.parse::<u16>().is_ok() && restarts.parse::<u32>().is_ok() =>
            {
                let status = match running {
                    "Yes" => ServerStatus::Up,
                    "No" => ServerStatus::Down,
                    _ => ServerStatus::Unknown,
                };
                let srv = self.server("", ServerStatus::Up);
                self.daemon(srv, name).status = status;
                true
            }
            _ => false,
        }
    }

    fn pool_or_usage(&mut self, no: u64, l: &str) {
        if let Some(fields) = l.strip_prefix("count:") {
            match self.pending.take() {
                Some(h) if self.section != Section::Usage => self.pool(no, h, fields),
                _ => self.diag(no, DiagnosticKind::Malformed, l),
            }
            return;
        }
        if l.starts_with("obsolete:") && self.section != Section::Usage {
            return;
        }
        // `product vX.Y: …` is a checkout, `product vX.Y[, pool: N]` a pool header.
        let second = l.split(' ').nth(1).unwrap_or("");
        let usage = second.starts_with('v') && second.ends_with(':');
        match (usage, self.section) {
            (true, Section::Top | Section::Usage) => match self.checkout(l) {
                Some(c) => {
                    self.snap.checkouts.push(c);
                    self.rlm = true;
                }
                None => self.diag(no, DiagnosticKind::Malformed, l),
            },
            (false, Section::Top | Section::Pools) => match pool_header(l) {
                Some((name, version, pool)) => {
                    self.pending = Some(PoolHeader {
                        line: no,
                        text: l.to_string(),
                        name: name.to_string(),
                        version: version.to_string(),
                        pool: pool.map(str::to_string),
                    })
                }
                None => self.diag(no, DiagnosticKind::Unrecognised, l),
            },
            _ => self.diag(no, DiagnosticKind::Unrecognised, l),
        }
    }

    /// `count: 1, # reservations: 0, inuse: 0, exp: 31-jan-2022` completes pool `h`.
    fn pool(&mut self, no: u64, h: PoolHeader, fields: &str) {
        let mut count = None;
        let mut reserved = Some(0);
        let mut in_use = None;
        let mut expiry = Ok(None);
        for field in format!("count:{fields}").split(", ") {
            let (key, value) = field.split_once(": ").unwrap_or((field, ""));
            match key {
                "count" => count = value.parse::<u32>().ok(),
                "# reservations" => reserved = value.parse::<u32>().ok(),
                "inuse" => in_use = value.parse::<u32>().ok(),
                "exp" => expiry = when::expiry(value),
                _ => {}
            }
        }
        let (Some(issued), Some(reserved), Some(in_use), Ok(expiry)) =
            (count, reserved, in_use, expiry)
        else {
            self.diag(no, DiagnosticKind::Malformed, &format!("count:{fields}"));
            return;
        };
        let headerless = self.section == Section::Top;
        let vendor = if headerless {
            if self.headerless.is_empty() {
                self.headerless_line = h.line;
            }
            self.headerless.push(self.snap.features.len());
            String::new()
        } else {
            self.isv.clone()
        };
        // The pools' server: for an elided output, the one of the license path.
        self.server("", ServerStatus::Up);
        if reserved > 0 {
            self.snap.reservations.push(Reservation {
                feature: h.name.clone(),
                vendor: vendor.clone(),
                count: reserved,
                // `rlmstat -a` counts reservations without saying for whom.
                target_kind: ReservationTarget::Other,
                target: String::new(),
            });
        }
        self.snap.features.push(Feature {
            name: h.name,
            vendor,
            version: Some(h.version),
            pool: h.pool,
            issued: Some(issued),
            in_use,
            expiry,
            kind: FeatureKind::Floating,
        });
        self.rlm = true;
    }

    /// `converge_super v3.0: jbemfv@myserver 29/0 at 11/01 09:01  (handle: 15a)`, read from
    /// the right: user names are not tokens.
    fn checkout(&mut self, l: &str) -> Option<Checkout> {
        let (product, rest) = l.split_once(' ')?;
        let (_version, rest) = rest.split_once(": ")?;
        let (rest, handle) = match rest.rsplit_once(" (handle: ") {
            Some((rest, h)) => (rest, Some(h.strip_suffix(')')?.to_string())),
            None => (rest, None),
        };
        let mut tail = rest.rsplitn(5, ' ');
        let (time, date, at, counts, who) = (
            tail.next()?,
            tail.next()?,
            tail.next()?,
            tail.next()?,
            tail.next()?,
        );
        if at != "at" {
            return None;
        }
        // The host takes no checkout of 0 licenses.
        let count = counts
            .split_once('/')?
            .0
            .parse()
            .ok()
            .filter(|&n: &u32| n > 0)?;
        let (user, host) = who.rsplit_once('@')?;
        let start = when::checkout(date, time, self.now)?;
        Some(Checkout {
            feature: product.to_string(),
            vendor: if self.section == Section::Usage {
                self.isv.clone()
            } else {
                String::new()
            },
            user: user.to_string(),
            host: host.to_string(),
            display: None,
            count,
            start: Some(start),
            handle,
            linger: None,
            borrowed: false,
        })
    }

    fn failure(&mut self, daemon: &str) {
        let server = daemon.eq_ignore_ascii_case("rlm").then(|| {
            // A server that could not be reached: first the license path's, then a new one.
            let (host, port) = match (&self.path, self.snap.servers.is_empty()) {
                (Some(p), true) => p.clone(),
                _ => (String::new(), None),
            };
            self.snap.servers.push(LicenseServer {
                host,
                port,
                status: ServerStatus::Down,
                version: None,
                vendor_daemons: Vec::new(),
                message: None,
            });
            self.snap.servers.len() - 1
        });
        if server.is_some() {
            self.server = server;
        }
        self.failures.push(Failure {
            daemon: daemon.to_string(),
            server,
            host: None,
            port: None,
            message: vec![format!("Error connecting to \"{daemon}\" server")],
        });
        self.section = Section::Error;
        self.rlm = true;
    }

    /// The current server; when the output shows none yet (`rlmstat -i isv`, an elided output),
    /// the license path's, else one on `host`.
    fn server(&mut self, host: &str, status: ServerStatus) -> usize {
        if let Some(i) = self.server {
            return i;
        }
        let (host, port) = self.path.clone().unwrap_or((host.to_string(), None));
        self.snap.servers.push(LicenseServer {
            host,
            port,
            status,
            version: None,
            vendor_daemons: Vec::new(),
            message: None,
        });
        let i = self.snap.servers.len() - 1;
        self.server = Some(i);
        i
    }

    fn daemon(&mut self, server: usize, name: &str) -> &mut VendorDaemon {
        let daemons = &mut self.snap.servers[server].vendor_daemons;
        let i = match daemons.iter().position(|d| d.name == name) {
            Some(i) => i,
            None => {
                daemons.push(VendorDaemon {
                    name: name.to_string(),
                    status: ServerStatus::Unknown,
                    version: None,
                    message: None,
                });
                daemons.len() - 1
            }
        };
        &mut daemons[i]
    }

    fn finish(mut self) -> Result<Snapshot, PluginError> {
        if let Some(h) = self.pending.take() {
            self.diag(h.line, DiagnosticKind::Malformed, &h.text);
        }
        for f in std::mem::take(&mut self.failures) {
            let message = f.message.join("; ");
            match f.server {
                Some(i) => {
                    let s = &mut self.snap.servers[i];
                    if let Some(host) = f.host.filter(|h| !h.is_empty()) {
                        s.host = host;
                    }
                    s.port = f.port.or(s.port);
                    s.message = Some(message);
                }
                None => {
                    let srv = self.server("", ServerStatus::Unknown);
                    let d = self.daemon(srv, &f.daemon);
                    d.status = ServerStatus::Down;
                    d.message = Some(message);
                }
            }
        }
        self.attribute_headerless();
        if !self.rlm {
            return Err(PluginError::BadInput(
                "not `rlmutil rlmstat` output: no RLM banner, section or license line".into(),
            ));
        }
        Ok(self.snap)
    }

    /// Pools listed without their `<isv> license pool status` header take the ISV of the usage
    /// lines of the same products, when those agree.
    fn attribute_headerless(&mut self) {
        if self.headerless.is_empty() {
            return;
        }
        let mut isvs: Vec<&str> = self
            .headerless
            .iter()
            .flat_map(|&i| {
                let name = &self.snap.features[i].name;
                self.snap
                    .checkouts
                    .iter()
                    .filter(move |c| &c.feature == name && !c.vendor.is_empty())
                    .map(|c| c.vendor.as_str())
            })
            .collect();
        isvs.sort_unstable();
        isvs.dedup();
        let text = match isvs[..] {
            [isv] => {
                let isv = isv.to_string();
                for &i in &self.headerless {
                    self.snap.features[i].vendor = isv.clone();
                }
                format!(
                    "pools listed without their ISV header: ISV `{isv}` taken from the usage lines of the same products"
                )
            }
            _ => "pools listed without their ISV header: ISV unknown".to_string(),
        };
        let line = self.headerless_line;
        self.diag(line, DiagnosticKind::Assumption, &text);
    }
}

/// `<isv> ISV server status on …`, `<isv> license pool status on …` or `<isv> license usage
/// status on …`: the ISV, the section it opens and the rest after `on `.
fn isv_header(l: &str) -> Option<(&str, Section, &str)> {
    [
        (" ISV server status on ", Section::Top),
        (" license pool status on ", Section::Pools),
        (" license usage status on ", Section::Usage),
    ]
    .into_iter()
    .find_map(|(key, section)| {
        let (isv, rest) = l.split_once(key)?;
        (!isv.is_empty() && !isv.contains(' ')).then_some((isv, section, rest))
    })
}

/// `<host> (port <p>)[, up <uptime>]`.
fn host_port(s: &str) -> Option<(String, Option<u16>)> {
    let (host, rest) = s.split_once(" (port ")?;
    let (port, _) = rest.split_once(')')?;
    (!host.is_empty() && !host.contains(' ')).then(|| (host.to_string(), port.parse().ok()))
}

/// The first `port@host` of a license path (`35015@a:35015@b`; `;` on Windows); `None` when
/// it starts with a license file instead.
fn first_port_at_host(path: &str) -> Option<(String, Option<u16>)> {
    let first = path.split([':', ';']).next()?;
    let (port, host) = first.split_once('@')?;
    let port: u16 = port.parse().ok()?;
    (!host.is_empty()).then(|| (host.to_string(), Some(port)))
}

/// `name vX.Y` or `name vX.Y, pool: N`.
fn pool_header(l: &str) -> Option<(&str, &str, Option<&str>)> {
    let (head, pool) = match l.split_once(", pool: ") {
        Some((head, pool)) if !pool.is_empty() && !pool.contains(' ') => (head, Some(pool)),
        Some(_) => return None,
        None => (l, None),
    };
    let (name, version) = head.split_once(" v")?;
    (!name.contains(' ') && !version.is_empty() && !version.contains(' '))
        .then_some((name, version, pool))
}

/// `<isv> comm version: v1.2`, `<isv> Debug log filename: …` (`info log` in v15), `<isv>
/// Report log filename: …`.
fn is_isv_detail(l: &str) -> bool {
    let Some((_, rest)) = l.split_once(' ') else {
        return false;
    };
    let rest = rest.to_ascii_lowercase();
    [
        "comm version",
        "debug log filename:",
        "info log filename:",
        "report log filename:",
    ]
    .iter()
    .any(|k| rest.starts_with(k))
}

/// Start-up time and the statistics table: counters are cumulative, not per poll.
fn is_statistics(l: &str) -> bool {
    let duration = |w: &str| {
        w.strip_suffix('d')
            .is_some_and(|d| d.bytes().all(|b| b.is_ascii_digit()))
            || w.split(':').count() == 3 && w.bytes().all(|b| b.is_ascii_digit() || b == b':')
    };
    l.starts_with("Startup time: ")
        || l.starts_with("Todays Statistics (")
        || l.starts_with("Recent Statistics (")
        || l == "Recent Stats Todays Stats Total Stats"
        || l.split(' ').all(duration)
        || l.split(' ').next().is_some_and(|w| w.ends_with(':')) && l.contains("/sec)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_grammars() {
        assert_eq!(
            host_port("licserv.com (port 35015), up 99d 11:08:25"),
            Some(("licserv.com".into(), Some(35015)))
        );
        assert_eq!(host_port("a b (port 1)"), None);
        assert_eq!(
            first_port_at_host("35015@a.com:35015@b.com"),
            Some(("a.com".into(), Some(35015)))
        );
        assert_eq!(first_port_at_host("C:\\rlm\\x.lic"), None);
        assert_eq!(
            pool_header("nuke_r v2024.0701, pool: 12"),
            Some(("nuke_r", "2024.0701", Some("12")))
        );
        assert_eq!(
            pool_header("converge v3.0"),
            Some(("converge", "3.0", None))
        );
        assert_eq!(pool_header("Some words v3.0"), None);
        assert!(is_statistics("00:16:08 13:48:32 15d 11:08:25"));
        assert!(is_statistics(
            "Messages: 582 (0/sec) 28937 (0/sec) 777647 (0/sec)"
        ));
        assert!(!is_statistics("converge v3.0"));
        assert!(is_isv_detail("simio info log filename: C:\\x.dlog"));
        assert_eq!(
            isv_header("csci license pool status on h (port 1)").map(|h| h.1),
            Some(Section::Pools)
        );
    }

    #[test]
    fn usage_line_from_the_right() {
        let mut p = Parser::new(1_700_000_000);
        p.section = Section::Usage;
        p.isv = "foundry".into();
        let c = p
            .checkout("nuke_i v2024.0331: John Doe@pc-01 2/0 at 03/28 21:44 (handle: 36a5)")
            .expect("usage line");
        assert_eq!(
            (c.user.as_str(), c.host.as_str(), c.count),
            ("John Doe", "pc-01", 2)
        );
        assert_eq!(c.handle.as_deref(), Some("36a5"));
        assert_eq!(c.vendor, "foundry");
        // No handle (older servers) is fine; a missing `at` is not.
        assert!(p.checkout("f v1: u@h 1/0 at 03/28 21:44").is_some());
        assert!(p.checkout("f v1: u@h 1/0 on 03/28 21:44").is_none());
        assert!(p.checkout("f v1: u@h x/0 at 03/28 21:44").is_none());
        // Found by fuzzing: a checkout of 0 licenses, which the host refuses.
        assert!(p.checkout("f v1: u@h 0/0 at 03/28 21:44").is_none());
    }
}
