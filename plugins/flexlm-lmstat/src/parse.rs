//! The `lmutil lmstat` grammar (FORMATS.md §1), line by line, into a [`Snapshot`].
//!
//! An `lmstat -a` output is a run of groups, one per license server (or triad) queried: the
//! `License server status:` list and one status line per server, then per vendor daemon its
//! status line and `Feature usage info:`, then per feature a `Users of` line with its totals,
//! a header per pool (INCREMENT line) and one line per checkout. `lmstat -i` prints a table of
//! the license file instead. Lines are told apart by their words, never by indentation.

use tally_plugin_sdk::text::shown;
use tally_plugin_sdk::{
    Checkout, Diagnostic, DiagnosticKind, Feature, FeatureKind, LicenseServer, PluginError, Queued,
    Reservation, ServerStatus, Snapshot, Timestamp, VendorDaemon,
};

use crate::line::{self, Counts, Header, Status, Tail, UserLine};
use crate::when;
use tally_plugin_sdk::text::word_lines;

pub fn parse(output: &[u8], now: Timestamp) -> Result<Snapshot, PluginError> {
    let mut p = Parser::new(now);
    let mut first = None;
    // lmstat's indentation varies between versions and even inside one output, so only the words matter.
    for (no, l) in word_lines(output) {
        if !l.is_empty() {
            first.get_or_insert_with(|| l.clone());
            p.line(no, &l);
        }
    }
    p.finish(first)
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Section {
    /// Before any group, or after a `-----` separator.
    Top,
    /// After `License server status:`: the servers' status lines.
    Servers,
    /// After `Vendor daemon status (on …):`: the daemons' status lines.
    Daemons,
    /// After `Feature usage info:` or a `Users of` line.
    Features,
    /// The `lmstat -i` table, with its columns in the header's order.
    Table(Vec<Column>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Feature,
    Version,
    Count,
    Expires,
    Vendor,
    Other,
}

/// One pool (INCREMENT line) of the current feature.
struct Pool {
    version: String,
    vendor: String,
    expiry: Option<Timestamp>,
    kind: FeatureKind,
    /// Licenses its checkouts and reservations hold.
    used: u32,
}

#[derive(Clone, Copy)]
enum Count {
    Total { issued: u32, in_use: u32 },
    Uncounted,
    Error,
}

/// The feature of the last `Users of` line, complete at the next one.
struct Current {
    name: String,
    count: Count,
    /// The daemon whose section it sits in.
    vendor: String,
    kind: FeatureKind,
    pools: Vec<Pool>,
    /// Licenses all its checkouts and reservations hold.
    used: u32,
}

impl Current {
    fn vendor(&self) -> &str {
        self.pools.last().map_or(&self.vendor, |p| &p.vendor)
    }

    fn hold(&mut self, n: u32) {
        self.used = self.used.saturating_add(n);
        if let Some(p) = self.pools.last_mut() {
            p.used = p.used.saturating_add(n);
        }
    }
}

struct Parser {
    /// The reference for checkout years: the output's own date once its status line is read.
    now: Timestamp,
    /// `now` is the output's own date.
    dated: bool,
    snap: Snapshot,
    section: Section,
    /// The servers of the current `License server status:` group.
    group: Vec<usize>,
    /// Other names the group's servers answered to: `(server, name)`.
    aliases: Vec<(usize, String)>,
    /// The server of the current `Vendor daemon status` section.
    daemons_of: Option<usize>,
    /// The daemon whose features follow.
    vendor: String,
    feature: Option<Current>,
    /// `lmstat -i` rows, pooled at the end.
    rows: Vec<Feature>,
    /// `port@host` of an echoed `lmstat … -c port@host` command line.
    target: Option<(Option<u16>, String)>,
    /// Whether any line was unmistakably lmstat's.
    lmstat: bool,
}

impl Parser {
    fn new(now: Timestamp) -> Self {
        Parser {
            now,
            dated: false,
            snap: Snapshot::default(),
            section: Section::Top,
            group: Vec::new(),
            aliases: Vec::new(),
            daemons_of: None,
            vendor: String::new(),
            feature: None,
            rows: Vec::new(),
            target: None,
            lmstat: false,
        }
    }

    /// The output's own date: checkout years are inferred from it, not from when it is read
    /// (a saved output imported later keeps its date).
    fn status_on(&mut self, no: u64, l: &str, on: &str) {
        match when::status_on(on) {
            Some((t, agrees)) => {
                self.now = t;
                self.dated = true;
                if !agrees {
                    self.diag(
                        no,
                        DiagnosticKind::Assumption,
                        "the weekday does not agree with the date; the date is used",
                        l,
                    );
                }
            }
            None => self.diag(
                no,
                DiagnosticKind::Malformed,
                "unreadable status date; checkouts are dated from the time of reading",
                l,
            ),
        }
    }

    fn diag(&mut self, line: u64, kind: DiagnosticKind, why: &str, text: &str) {
        self.snap.diagnostics.push(Diagnostic {
            line,
            kind,
            text: format!("{why}: {}", shown(text.as_bytes())),
        });
    }

    fn line(&mut self, no: u64, l: &str) {
        let known = self.known(no, l);
        self.lmstat |= known;
    }

    /// Reads one non-empty line; false for a line that is not lmstat's own.
    fn known(&mut self, no: u64, l: &str) -> bool {
        if let Some(on) = l.strip_prefix("Flexible License Manager status on ") {
            self.status_on(no, l, on);
            return true;
        }
        if l.starts_with("lmutil - Copyright ")
            || l.starts_with("lmstat - Copyright ")
            || l == "[Detecting lmgrd processes...]"
            || l.starts_with("License file(s) on ")
            || l.starts_with("vendor_string:")
        {
            return true;
        }
        if l.len() >= 10 && l.bytes().all(|b| b == b'-') {
            // A capture script's separator between the runs of several servers.
            self.end_group();
            return false;
        }
        if let Some(list) = l.strip_prefix("License server status:") {
            self.end_group();
            for (port, host) in line::servers(list.trim()) {
                let known = self.group.iter().any(|&i| {
                    self.snap.servers[i].host == host && self.snap.servers[i].port == port
                });
                if !known {
                    self.add_server(port, host);
                }
            }
            self.section = Section::Servers;
            return true;
        }
        if let Some(on) = l
            .strip_prefix("Vendor daemon status (on ")
            .and_then(|r| r.strip_suffix("):"))
        {
            self.close_feature();
            self.daemons_of = Some(self.server_named(on));
            self.section = Section::Daemons;
            return true;
        }
        if l == "Feature usage info:" {
            self.close_feature();
            self.section = Section::Features;
            return true;
        }
        if let Some(message) = l.strip_prefix("Error getting status: ") {
            self.down(message);
            return true;
        }
        if l.starts_with("Users of ") {
            self.users_of(no, l);
            return true;
        }
        if l.starts_with('"') {
            match line::header(l) {
                Some(h) => self.header(no, l, h),
                None => self.diag(no, DiagnosticKind::Malformed, "unreadable pool header", l),
            }
            return true;
        }
        if [
            "NOTE: lmstat -i does not give information from the server,",
            "but only reads the license file. For this reason,",
            "lmstat -a is recommended instead.",
        ]
        .contains(&l)
        {
            return true;
        }
        if l.starts_with("Feature ") && l.contains(" Version ") && l.contains("#licenses") {
            self.close_feature();
            self.section = Section::Table(l.split(' ').map(column).collect());
            return true;
        }
        if l.bytes().all(|b| b == b'_' || b == b' ') {
            return true;
        }
        if let Section::Table(cols) = &self.section {
            let cols = cols.clone();
            self.row(no, l, &cols);
            return true;
        }
        // `lmstat -v`: `lmstat v11.14.0.1 build 188735 x64_lsb`, or only `lmstat` when old.
        if l == "lmstat"
            || l.strip_prefix("lmstat v")
                .is_some_and(|v| v.starts_with(|c: char| c.is_ascii_digit()))
        {
            return true;
        }
        if let Some(kind) = line::license_kind(l) {
            match self.feature.as_mut() {
                Some(f) => match f.pools.last_mut() {
                    Some(p) => p.kind = kind,
                    None => f.kind = kind,
                },
                None => self.diag(
                    no,
                    DiagnosticKind::Malformed,
                    "license type outside a feature",
                    l,
                ),
            }
            return true;
        }
        if let Some((count, target_kind, target)) = line::reservation(l) {
            match self.feature.as_mut() {
                Some(f) => {
                    f.hold(count);
                    let r = Reservation {
                        feature: f.name.clone(),
                        vendor: f.vendor().into(),
                        count,
                        target_kind,
                        target: target.into(),
                    };
                    self.snap.reservations.push(r);
                }
                None => self.diag(
                    no,
                    DiagnosticKind::Malformed,
                    "reservation outside a feature",
                    l,
                ),
            }
            return true;
        }
        if let Some(u) = line::user_line(l) {
            self.user(no, l, u);
            return true;
        }
        if let Some(st) = line::status(l)
            && self.status(no, l, st)
        {
            return true;
        }
        if let Some(target) = command(l) {
            // The command line, typed into a captured terminal session.
            self.target = target.or(self.target.take());
            return false;
        }
        if line::has_error_code(l) && matches!(self.section, Section::Top | Section::Servers) {
            // `lmgrd is not running: License server machine is down … (-96,7)` and the like.
            self.down(l);
            return true;
        }
        if self.feature.is_some() && l.contains(" (v") {
            // A user line cut short (a truncated output).
            self.diag(no, DiagnosticKind::Malformed, "unreadable user line", l);
            return true;
        }
        let why = match l {
            "..." | "\u{2026}" => "elided output",
            _ => "not an lmstat line",
        };
        self.diag(no, DiagnosticKind::Unrecognised, why, l);
        false
    }

    fn add_server(&mut self, port: Option<u16>, host: &str) -> usize {
        self.snap.servers.push(LicenseServer {
            host: host.into(),
            port,
            status: ServerStatus::Unknown,
            version: None,
            vendor_daemons: Vec::new(),
            message: None,
        });
        let i = self.snap.servers.len() - 1;
        self.group.push(i);
        i
    }

    /// The names server `i` goes by: its listed host and what its status lines called it.
    fn names(&self, i: usize) -> impl Iterator<Item = &str> {
        let aliases = self.aliases.iter().filter(move |(a, _)| *a == i);
        std::iter::once(self.snap.servers[i].host.as_str()).chain(aliases.map(|(_, n)| n.as_str()))
    }

    /// The group's server called `name`, in any case.
    fn server_called(&self, name: &str) -> Option<usize> {
        let mut group = self.group.iter().copied();
        group.find(|&i| self.names(i).any(|n| n.eq_ignore_ascii_case(name)))
    }

    /// The server of the group that `Vendor daemon status (on <name>)` means: the same name, or
    /// the same first label (`iss` for `iss.samba.example.ru`), else the group's first.
    fn server_named(&mut self, name: &str) -> usize {
        let short = |h: &str| h.split('.').next().unwrap_or(h).to_ascii_lowercase();
        let found = self
            .server_called(name)
            .or_else(|| {
                let mut group = self.group.iter().copied();
                group.find(|&i| self.names(i).any(|n| short(n) == short(name)))
            })
            .or_else(|| self.group.first().copied());
        match found {
            Some(i) => i,
            None => self.add_server(None, name),
        }
    }

    /// A whole-group failure (`Error getting status: Cannot connect … (-15,570:111 "…")`):
    /// every server of the group not yet known to be up is down, or the one the command named.
    fn down(&mut self, message: &str) {
        let mut hit = false;
        for &i in &self.group {
            let s = &mut self.snap.servers[i];
            if s.status == ServerStatus::Unknown {
                s.status = ServerStatus::Down;
                s.message = Some(message.into());
                hit = true;
            }
        }
        if !hit {
            let (port, host) = self.target.clone().unwrap_or_default();
            let i = self.add_server(port, &host);
            self.snap.servers[i].status = ServerStatus::Down;
            self.snap.servers[i].message = Some(message.into());
        }
    }

    /// A server's or daemon's status line. False when it is neither where it stands.
    fn status(&mut self, no: u64, l: &str, st: Status<'_>) -> bool {
        // `<vendor>: UP` never says `license server`; a server that is down may not either.
        let server = st.server
            || matches!(self.section, Section::Top | Section::Servers)
                && line::has_error_code(st.state);
        if server {
            // The same host twice in different case (Windows) is one server.
            let named = self.server_called(st.name);
            // A lone server not yet heard of was listed under another name (an address).
            let lone = match self.group[..] {
                [i] if self.snap.servers[i].status == ServerStatus::Unknown => Some(i),
                _ => None,
            };
            let i = match (named, lone) {
                (Some(i), _) => i,
                (None, Some(i)) => {
                    self.aliases.push((i, st.name.into()));
                    i
                }
                (None, None) => self.add_server(None, st.name),
            };
            let s = &mut self.snap.servers[i];
            if st.up {
                s.status = ServerStatus::Up;
                s.version = s.version.take().or(st.version.map(Into::into));
                s.message = None;
            } else if s.status != ServerStatus::Up {
                s.status = ServerStatus::Down;
                s.message = Some(st.state.into());
            }
            return true;
        }
        // In a feature list only an unmistakable daemon line starts the next daemon's section.
        if !st.up && !line::has_error_code(st.state) {
            return false;
        }
        let Some(i) = self.daemons_of else {
            self.diag(
                no,
                DiagnosticKind::Malformed,
                "daemon status outside a server",
                l,
            );
            return true;
        };
        self.close_feature();
        self.snap.servers[i].vendor_daemons.push(VendorDaemon {
            name: st.name.into(),
            status: if st.up {
                ServerStatus::Up
            } else {
                ServerStatus::Down
            },
            version: st.version.map(Into::into),
            message: (!st.up).then(|| st.state.into()),
        });
        self.vendor = st.name.into();
        self.section = Section::Daemons;
        true
    }

    fn users_of(&mut self, no: u64, l: &str) {
        self.close_feature();
        let Some((name, counts)) = line::users_of(l) else {
            self.diag(
                no,
                DiagnosticKind::Malformed,
                "unreadable `Users of` line",
                l,
            );
            return;
        };
        let (count, kind) = match counts {
            Counts::Total { issued, in_use } => {
                (Count::Total { issued, in_use }, FeatureKind::Unknown)
            }
            Counts::Uncounted => (Count::Uncounted, FeatureKind::Uncounted),
            Counts::Error(e) => {
                self.diag(
                    no,
                    DiagnosticKind::Assumption,
                    &format!("feature error `{e}`: read as 0 issued"),
                    l,
                );
                (Count::Error, FeatureKind::Unknown)
            }
        };
        self.feature = Some(Current {
            name: name.into(),
            count,
            vendor: self.vendor.clone(),
            kind,
            pools: Vec::new(),
            used: 0,
        });
        self.section = Section::Features;
    }

    fn header(&mut self, no: u64, l: &str, h: Header<'_>) {
        let Some(f) = self.feature.as_ref() else {
            self.diag(
                no,
                DiagnosticKind::Malformed,
                "pool header outside a feature",
                l,
            );
            return;
        };
        if h.name != f.name {
            let why = format!("pool of `{}` counted under `Users of {}`", h.name, f.name);
            self.diag(no, DiagnosticKind::Assumption, &why, l);
        }
        let expiry = match h.expiry.map(when::expiry) {
            None => None,
            Some(Ok(e)) => e,
            Some(Err(())) => {
                self.diag(no, DiagnosticKind::Malformed, "unreadable expiry", l);
                None
            }
        };
        if let Some(f) = self.feature.as_mut() {
            let vendor = h.vendor.map_or_else(|| f.vendor.clone(), Into::into);
            f.pools.push(Pool {
                version: h.version.into(),
                vendor,
                expiry,
                kind: FeatureKind::Unknown,
                used: 0,
            });
        }
    }

    fn user(&mut self, no: u64, l: &str, u: UserLine<'_>) {
        let (Some(tail), Some(who)) = (line::tail(u.tail), line::who(u.who, u.version)) else {
            self.diag(no, DiagnosticKind::Malformed, "unreadable user line", l);
            return;
        };
        let Some(f) = self.feature.as_mut() else {
            self.diag(
                no,
                DiagnosticKind::Malformed,
                "user line outside a feature",
                l,
            );
            return;
        };
        let (feature, vendor) = (f.name.clone(), f.vendor().to_string());
        let start = match tail {
            Tail::Queued(count) => {
                self.snap.queued.push(Queued {
                    vendor,
                    feature,
                    user: who.user,
                    host: who.host,
                    count,
                    time: None,
                });
                return;
            }
            Tail::Start {
                weekday,
                date,
                time,
                count,
                linger,
                unread,
            } => {
                f.hold(count);
                let years_back = if self.dated {
                    when::DATED_YEARS_BACK
                } else {
                    when::YEARS_BACK
                };
                let dated = when::start(weekday, date, time, self.now, years_back);
                if dated.is_some_and(|(_, agrees)| !agrees) {
                    self.diag(
                        no,
                        DiagnosticKind::Assumption,
                        "the start's weekday agrees with no year near the output's date; the latest year is used",
                        l,
                    );
                }
                let start = dated.map(|(t, _)| t);
                self.snap.checkouts.push(Checkout {
                    feature,
                    vendor,
                    user: who.user,
                    host: who.host,
                    display: who.display,
                    count,
                    start,
                    handle: Some(u.handle.into()),
                    linger: linger.map(|x| x.secs),
                    borrowed: linger.is_some_and(|x| x.borrowed),
                });
                if let Some(part) = unread {
                    self.diag(
                        no,
                        DiagnosticKind::Unrecognised,
                        &format!("unread `{part}`"),
                        l,
                    );
                }
                start
            }
        };
        if start.is_none() {
            self.diag(no, DiagnosticKind::Malformed, "unreadable start time", l);
        }
        if who.guessed {
            self.diag(
                no,
                DiagnosticKind::Assumption,
                "user, host and display split by guess (a name with spaces)",
                l,
            );
        }
    }

    /// One `lmstat -i` row: `<feature> <version> <#licenses> <expires> <vendor>` in the
    /// header's order.
    fn row(&mut self, no: u64, l: &str, cols: &[Column]) {
        let words = cells(l);
        if words.len() != cols.len() {
            self.diag(
                no,
                DiagnosticKind::Malformed,
                "row does not fit the table",
                l,
            );
            return;
        }
        let mut f = Feature {
            name: String::new(),
            vendor: String::new(),
            version: None,
            pool: None,
            issued: None,
            in_use: 0,
            expiry: None,
            kind: FeatureKind::Unknown,
        };
        let mut bad = None;
        for (&col, &w) in cols.iter().zip(&words) {
            match col {
                Column::Feature => f.name = w.into(),
                Column::Version => f.version = Some(w.into()),
                Column::Vendor => f.vendor = w.into(),
                // A count of 0 is the license file's way of writing "uncounted".
                Column::Count => match w.parse::<u32>() {
                    Ok(n) if n > 0 => f.issued = Some(n),
                    Ok(_) => f.kind = FeatureKind::Uncounted,
                    Err(_) if w.eq_ignore_ascii_case("uncounted") => {
                        f.kind = FeatureKind::Uncounted
                    }
                    Err(_) => bad = Some("unreadable count"),
                },
                Column::Expires => match when::expiry(w) {
                    Ok(e) => f.expiry = e,
                    Err(()) => bad = Some("unreadable expiry"),
                },
                Column::Other => {}
            }
        }
        match bad {
            Some(why) => self.diag(no, DiagnosticKind::Malformed, why, l),
            None => self.rows.push(f),
        }
    }

    /// Turns the current feature into one record, or one per pool when it has several.
    fn close_feature(&mut self) {
        let Some(f) = self.feature.take() else {
            return;
        };
        let (issued, in_use) = match f.count {
            Count::Total { issued, in_use } => (Some(issued), in_use),
            Count::Uncounted => (None, f.used),
            Count::Error => (Some(0), f.used),
        };
        let record = |p: Option<&Pool>, pool: Option<String>, issued, in_use| Feature {
            name: f.name.clone(),
            vendor: p.map_or(&f.vendor, |p| &p.vendor).clone(),
            version: p.map(|p| p.version.clone()),
            pool,
            issued,
            in_use,
            expiry: p.and_then(|p| p.expiry),
            kind: p
                .map(|p| p.kind)
                .filter(|&k| k != FeatureKind::Unknown)
                .unwrap_or(f.kind),
        };
        if f.pools.len() <= 1 {
            let r = record(f.pools.first(), None, issued, in_use);
            self.snap.features.push(r);
            return;
        }
        // lmstat -a counts per feature, not per pool: the first pool carries what the others'
        // checkouts and reservations do not account for, so the pools sum to the feature.
        let others: u32 = f.pools[1..].iter().map(|p| p.used).sum();
        for (i, p) in f.pools.iter().enumerate() {
            let (issued, in_use) = match i {
                0 => (issued, in_use.saturating_sub(others)),
                _ => (issued.map(|_| 0), p.used),
            };
            let r = record(Some(p), Some((i + 1).to_string()), issued, in_use);
            self.snap.features.push(r);
        }
    }

    fn end_group(&mut self) {
        self.close_feature();
        self.group.clear();
        self.daemons_of = None;
        self.vendor.clear();
        self.section = Section::Top;
    }

    fn finish(mut self, first: Option<String>) -> Result<Snapshot, PluginError> {
        self.close_feature();
        if !self.lmstat {
            return Err(PluginError::BadInput(match first {
                Some(l) => format!("not lmstat output: {}", shown(l.as_bytes())),
                None => "empty output".into(),
            }));
        }
        // Several rows of one feature in the license file are its pools.
        let rows = std::mem::take(&mut self.rows);
        for (i, r) in rows.iter().enumerate() {
            let same = |o: &&Feature| o.name == r.name && o.vendor == r.vendor;
            let mut f = r.clone();
            if rows.iter().filter(same).count() > 1 {
                f.pool = Some((rows[..=i].iter().filter(same).count()).to_string());
            }
            self.snap.features.push(f);
        }
        Ok(self.snap)
    }
}

/// The cells of an `lmstat -i` row: words, but `permanent(no expiration date)` is one.
fn cells(l: &str) -> Vec<&str> {
    let (mut out, mut start, mut depth) = (Vec::new(), 0, 0u32);
    for (i, c) in l.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ' ' if depth == 0 => {
                out.push(&l[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&l[start..]);
    out
}

fn column(name: &str) -> Column {
    match name.to_ascii_lowercase().as_str() {
        "feature" => Column::Feature,
        "version" => Column::Version,
        "#licenses" => Column::Count,
        "expires" => Column::Expires,
        "vendor" => Column::Vendor,
        _ => Column::Other,
    }
}

/// An echoed `[prompt] lmutil lmstat -a -c port@host` line: `Some(target)` with the server
/// `-c` names when it is `port@host` (it may be a license file).
fn command(l: &str) -> Option<Option<(Option<u16>, String)>> {
    let words: Vec<&str> = l.split(' ').collect();
    let at = words
        .iter()
        .position(|w| *w == "lmstat" || w.ends_with("/lmstat") || w.ends_with("lmstat.exe"))?;
    if !words[at + 1..].iter().any(|w| w.starts_with('-')) {
        return None;
    }
    let target = words
        .windows(2)
        .find(|p| p[0] == "-c" && p[1].contains('@'))
        .and_then(|p| line::servers(p[1]).into_iter().next())
        .map(|(port, host)| (port, host.to_string()));
    Some(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> Snapshot {
        parse(text.as_bytes(), 0).expect("lmstat")
    }

    #[test]
    fn servers_by_name_case_and_address() {
        let s = run("License server status: 27000@10.0.0.5\n\
                     lic1: license server UP (MASTER) v11.16\n\
                     LIC1: license server UP v11.16\n");
        assert_eq!(s.servers.len(), 1);
        assert_eq!(
            (s.servers[0].host.as_str(), s.servers[0].port),
            ("10.0.0.5", Some(27000))
        );
        assert_eq!(s.servers[0].status, ServerStatus::Up);
        // A triad keeps its members apart; an unlisted member is added.
        let s = run("License server status: 1@a,1@b,1@c\n\
                     a: license server UP v1\nb: license server UP v1\nd: license server UP v1\n");
        let hosts: Vec<_> = s
            .servers
            .iter()
            .map(|x| (x.host.as_str(), x.status))
            .collect();
        assert_eq!(
            hosts,
            [
                ("a", ServerStatus::Up),
                ("b", ServerStatus::Up),
                ("c", ServerStatus::Unknown),
                ("d", ServerStatus::Up)
            ]
        );
    }

    #[test]
    fn words_and_colons_are_not_servers() {
        let s = run(
            "Flexible License Manager status on Mon 1/1/2024 0:00\nnote: something\nacme: UP v1\n",
        );
        assert!(s.servers.is_empty());
        let kinds: Vec<_> = s.diagnostics.iter().map(|d| (d.line, d.kind)).collect();
        assert_eq!(
            kinds,
            [
                (2, DiagnosticKind::Unrecognised),
                (3, DiagnosticKind::Malformed)
            ]
        );
    }

    #[test]
    fn table_cells() {
        assert_eq!(
            cells("f 15.0 2 vendor permanent(no expiration date)"),
            vec!["f", "15.0", "2", "vendor", "permanent(no expiration date)"]
        );
        assert_eq!(cells("a b"), vec!["a", "b"]);
    }

    #[test]
    fn echoed_commands() {
        assert_eq!(
            command("root@h:/opt# ./lmutil lmstat -a -c 8224@x.x.x.x"),
            Some(Some((Some(8224), "x.x.x.x".into())))
        );
        assert_eq!(command("./lmutil lmstat -c service.txt -a"), Some(None));
        assert_eq!(command("lmstat"), None);
        assert_eq!(command("lmstat v11.14.0.1 build 188735 x64_lsb"), None);
    }
}
