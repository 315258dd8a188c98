//! The importer: picks the mode from the first non-blank bytes (`{`/`[`: the cloud `getlogs`
//! JSON, anything else: LicenseServer log lines), reads every entry, pairs `USGTRACING` grants
//! with their releases and emits the records.
//!
//! Pairing is by (session id, feature): one DSLS session can hold several features. The cloud
//! lists its rows newest first, so there a release usually comes before its grant; in JSON mode
//! either may wait for the other, and a pair is formed when both are seen, provided the grant is
//! not later than the release and no server start lies between them. What is left at the end is
//! closed then (grants) or reported (releases). A LicenseServer log is written oldest first and
//! may grow: a release without an earlier grant is reported at once, and a server start closes the
//! grants still open, so that `finish` only ever closes `end-of-log` sessions there.
//!
//! Times stay in the server's clock (milliseconds) until a record leaves. LicenseServer logs are
//! in local time (`config.utc_offset`). The cloud document states its zone (`serverTimeZone`, after
//! the rows) and the epoch milliseconds of its newest and oldest rows (`lastDate`, `firstDate`,
//! before them): the offset is taken from whichever comes first; records completed before either
//! is known wait in `pending`.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};

use tally_plugin_sdk::{
    Batch, Denial, DenialKind, Diagnostic, DiagnosticKind, EndReason, ImportConfig, Importer,
    PluginError, ServerEvent, ServerEventKind, Session,
};

use crate::date::format_offset;
use crate::json::{self, Item, Key};
use crate::line::{self, Event, Tracing, Usage};
use tally_plugin_sdk::text::{is_blank, owned, shown, text};

/// The vendor of records whose line names no editor.
pub const VENDOR: &str = "dassault";
/// Records held while the cloud document has not revealed its time zone; past this the
/// configured offset is assumed.
pub(crate) const PENDING_LIMIT: usize = 50_000;
/// Longest row the JSON reader decodes; DSLS lines are a few hundred bytes.
const MAX_ROW: usize = 64 * 1024;
const BOM: &[u8] = b"\xEF\xBB\xBF";
/// Offsets derived from `lastDate`/`firstDate` are whole quarter hours.
const QUARTER_HOUR_MS: i64 = 15 * 60 * 1000;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Only blank lines so far.
    #[default]
    Unknown,
    /// `LicenseServer*.log` lines.
    Text,
    /// The cloud `getlogs` JSON.
    Json,
}

/// Where the cloud document's UTC offset came from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum ZoneFrom {
    #[default]
    Unknown,
    /// The first row's time against `lastDate`/`firstDate` (epoch milliseconds).
    Dates,
    /// `serverTimeZone`.
    Declared,
    /// Nothing usable in the document: the configured offset.
    Assumed,
}

/// What the current JSON document has said about itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Meta {
    pub first_date: Option<i64>,
    pub last_date: Option<i64>,
    pub row_index: Option<i64>,
    pub total: Option<i64>,
    /// Server-clock time of the document's first readable row.
    pub first_row_ms: Option<i64>,
    /// Rows read so far (the current row's number while it is handled).
    pub rows: u64,
}

/// A grant waiting for its release, or (JSON mode) a release waiting for its grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Open {
    /// Order of arrival: stable order for what `finish` closes.
    pub seq: u64,
    pub grant: bool,
    /// Server-clock milliseconds.
    pub ms: i64,
    /// Where it was, for the diagnostic of a release that never finds its grant.
    pub line: u64,
    /// A release's end reason (`Checkin` for grants).
    pub reason: EndReason,
    pub session: String,
    pub feature: String,
    pub vendor: String,
    pub user: String,
    pub host: String,
    pub count: u32,
}

/// The pairing table is keyed by a hash of (session, feature) computed from borrowed bytes, so a
/// release finds its grant without allocating; the bucket compares the fields.
#[derive(Default)]
pub(crate) struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

pub(crate) type OpenMap = HashMap<u64, VecDeque<Open>, BuildHasherDefault<KeyHasher>>;

const K: u64 = 0x517c_c1b7_2722_0a95;

pub(crate) fn pair_key(session: &[u8], feature: &[u8]) -> u64 {
    let mut h = KeyHasher(session.len() as u64);
    h.write(session);
    h.write(&[0xff]);
    h.write(feature);
    h.0
}

/// Server-clock milliseconds → whole seconds (the records' resolution).
fn secs(ms: i64) -> i64 {
    ms.div_euclid(1000)
}

/// DSLS LicenseServer log and cloud `getlogs` JSON importer.
#[derive(Default)]
pub struct DslsLog {
    pub(crate) utc_offset: i64,
    pub(crate) lines: u64,
    pub(crate) mode: Mode,
    pub(crate) reader: json::Reader,
    pub(crate) meta: Meta,
    /// The cloud document's offset from UTC in seconds, once known.
    pub(crate) zone: Option<i64>,
    pub(crate) zone_from: ZoneFrom,
    /// The latest server-clock time seen (rows may come newest first).
    pub(crate) last_ms: Option<i64>,
    pub(crate) seq: u64,
    /// Server starts seen in JSON mode (server-clock milliseconds).
    pub(crate) restarts: Vec<i64>,
    /// Feature → editor, from `USGTRACING` lines: the vendor of refusals, which name none.
    pub(crate) editors: BTreeMap<String, String>,
    pub(crate) open: OpenMap,
    pub(crate) open_len: usize,
    /// Records completed before the document's zone was known, in server-clock seconds.
    pub(crate) pending: Batch,
    pub(crate) pending_len: usize,
    /// Decoded row (reused).
    pub(crate) scratch: Vec<u8>,
}

impl DslsLog {
    fn line(&mut self, raw: &[u8], out: &mut Batch) {
        self.lines += 1;
        let mut l = raw.strip_suffix(b"\r").unwrap_or(raw);
        if self.lines == 1 {
            l = l.strip_prefix(BOM).unwrap_or(l);
        }
        if self.mode == Mode::Unknown {
            match l.iter().find(|b| !b.is_ascii_whitespace()) {
                None => return,
                Some(b'{' | b'[') => self.mode = Mode::Json,
                Some(_) => self.mode = Mode::Text,
            }
        }
        match self.mode {
            Mode::Json => self.json_line(l, out),
            _ if is_blank(l) => {}
            _ => self.entry(l, out),
        }
    }

    fn json_line(&mut self, l: &[u8], out: &mut Batch) {
        let mut pos = 0;
        while let Some(item) = self.reader.next(l, &mut pos) {
            match item {
                Item::Begin => self.meta = Meta::default(),
                Item::End => self.end_document(out),
                Item::Row(raw, escaped) => {
                    self.meta.rows += 1;
                    if raw.len() > MAX_ROW {
                        let t = format!("row {}: longer than {MAX_ROW} bytes", self.meta.rows);
                        self.diag(out, DiagnosticKind::Malformed, t);
                    } else if !escaped {
                        self.entry(raw, out);
                    } else {
                        let mut buf = std::mem::take(&mut self.scratch);
                        match json::unescape(raw, &mut buf) {
                            Ok(()) => self.entry(&buf, out),
                            Err(e) => {
                                let t = format!("row {}: {e}: {}", self.meta.rows, shown(raw));
                                self.diag(out, DiagnosticKind::Malformed, t);
                            }
                        }
                        self.scratch = buf;
                    }
                }
                Item::NotString => {
                    self.meta.rows += 1;
                    let t = format!("row {}: not a string", self.meta.rows);
                    self.diag(out, DiagnosticKind::Malformed, t);
                }
                Item::Number(key, n) => {
                    match key {
                        Key::FirstDate => self.meta.first_date = Some(n),
                        Key::LastDate => self.meta.last_date = Some(n),
                        Key::RowIndex => self.meta.row_index = Some(n),
                        _ => self.meta.total = Some(n),
                    }
                    self.derive_zone(out);
                }
                Item::Text(_, name, _) => self.declared_zone(name, out),
                Item::Unknown(name) => self.diag(
                    out,
                    DiagnosticKind::Unrecognised,
                    format!("JSON member \"{}\" not understood (skipped)", shown(name)),
                ),
                Item::WrongType(key) => self.diag(
                    out,
                    DiagnosticKind::Malformed,
                    format!(
                        "JSON member \"{}\" has a value of the wrong type (skipped)",
                        key.name()
                    ),
                ),
                Item::Error(e) => {
                    let t = format!("JSON: {e}: {}", shown(l));
                    self.diag(out, DiagnosticKind::Malformed, t);
                }
            }
        }
    }

    /// A top-level JSON value ended: say when it is not the whole log.
    fn end_document(&mut self, out: &mut Batch) {
        if !self.reader.rows_opened {
            self.diag(
                out,
                DiagnosticKind::Unrecognised,
                "the JSON document has no \"rows\" array: nothing to import".into(),
            );
            return;
        }
        let m = &self.meta;
        let from = m.row_index.unwrap_or(0);
        if m.total.is_some_and(|t| t != m.rows as i64) || from != 0 {
            let t = format!(
                "the document holds {} rows from row index {from} of the {} the server reported (one page of getlogs?): grants and releases outside it are missing",
                m.rows,
                m.total.map_or("?".to_string(), |t| t.to_string())
            );
            self.diag(out, DiagnosticKind::Assumption, t);
        }
    }

    /// The cloud zone from the first row against `lastDate` (newest first) or `firstDate`.
    fn derive_zone(&mut self, out: &mut Batch) {
        let Some(row) = self.meta.first_row_ms else {
            return;
        };
        if self.zone.is_some() || self.mode != Mode::Json {
            return;
        }
        for date in [self.meta.last_date, self.meta.first_date]
            .into_iter()
            .flatten()
        {
            let off = row - date;
            let q = (off + QUARTER_HOUR_MS / 2).div_euclid(QUARTER_HOUR_MS) * QUARTER_HOUR_MS;
            if (off - q).abs() <= 1000 && q.abs() <= 14 * 3_600_000 {
                self.set_zone(q / 1000, ZoneFrom::Dates, out);
                return;
            }
        }
    }

    fn declared_zone(&mut self, name: &[u8], out: &mut Batch) {
        let Some(z) = line::zone_offset(name) else {
            self.diag(
                out,
                DiagnosticKind::Unrecognised,
                format!(
                    "serverTimeZone \"{}\" is not a UTC offset this importer can read",
                    shown(name)
                ),
            );
            return;
        };
        match self.zone {
            None => self.set_zone(z, ZoneFrom::Declared, out),
            Some(cur) if cur != z => {
                let t = format!(
                    "serverTimeZone \"{}\" ({}) disagrees with the offset {} {}; times keep {}",
                    shown(name),
                    format_offset(z),
                    format_offset(cur),
                    match self.zone_from {
                        ZoneFrom::Dates => "that lastDate/firstDate imply",
                        ZoneFrom::Declared => "an earlier document declared",
                        _ => "assumed from the configuration",
                    },
                    format_offset(cur)
                );
                self.diag(out, DiagnosticKind::Assumption, t);
            }
            Some(_) => {}
        }
    }

    fn set_zone(&mut self, z: i64, from: ZoneFrom, out: &mut Batch) {
        self.zone = Some(z);
        self.zone_from = from;
        self.flush_pending(out);
    }

    /// One log entry: a LicenseServer line or a decoded cloud row.
    fn entry(&mut self, l: &[u8], out: &mut Batch) {
        let Some(p) = line::prefix(l) else {
            let t = format!(
                "no `YYYY/MM/DD HH:MM:SS:mmm <level> <CATEGORY>` prefix: {}",
                self.quote(l)
            );
            return self.diag(out, DiagnosticKind::Malformed, t);
        };
        self.last_ms = Some(self.last_ms.map_or(p.ms, |m| m.max(p.ms)));
        if self.mode == Mode::Json && self.meta.first_row_ms.is_none() {
            self.meta.first_row_ms = Some(p.ms);
            self.derive_zone(out);
        }
        let msg = p.msg;
        let understood = match p.category {
            b"USGTRACING" => return self.on_tracing(p.ms, msg, l, out),
            b"LICENSESERV" => {
                if msg == b"Licensing service started" {
                    self.event(out, p.ms, ServerEventKind::DaemonStart, p.category, msg);
                    true
                } else {
                    match line::refusal(msg) {
                        Some(Ok(r)) => {
                            let vendor = self
                                .editors
                                .get(&*text(r.feature))
                                .map_or(VENDOR, String::as_str);
                            let d = Denial {
                                vendor: vendor.to_string(),
                                feature: owned(r.feature),
                                user: owned(r.user),
                                host: owned(r.host),
                                count: 1,
                                time: secs(p.ms),
                                kind: DenialKind::Denied,
                                code: None,
                                reason: Some(owned(r.reason)),
                                requested_version: None,
                                until: None,
                            };
                            self.denial(d, out);
                            true
                        }
                        Some(Err(e)) => return self.malformed(out, "refusal", e, l),
                        None => false,
                    }
                }
            }
            b"STARTSERVER" => {
                // The first line a (re)started server writes; the others of its start-up block
                // (options, JVM, computer id, ports) carry nothing to record.
                if msg.starts_with(b"Server version ") {
                    self.restart(p.ms, out);
                    self.event(out, p.ms, ServerEventKind::ServerStart, p.category, msg);
                }
                true
            }
            b"LICENSEDATA" => msg.starts_with(b"Activating group "),
            b"STATISTICS" => msg.starts_with(b"File "),
            b"RUNTIMEDATA" => {
                let known = msg.starts_with(b"Fail to upload file ");
                if known {
                    self.event(out, p.ms, ServerEventKind::Other, p.category, msg);
                }
                known
            }
            b"ADMINSERVER" => {
                if msg.starts_with(b"Administration request denied") {
                    self.event(out, p.ms, ServerEventKind::Other, p.category, msg);
                    true
                } else {
                    msg.starts_with(b"Administration connection ")
                        || memchr::memchr(b' ', msg)
                            .is_some_and(|sp| msg[sp..].starts_with(b" command issued"))
                }
            }
            _ => false,
        };
        if !understood {
            let t = format!("not understood: {}", self.quote(l));
            self.diag(out, DiagnosticKind::Unrecognised, t);
        }
    }

    fn on_tracing(&mut self, ms: i64, msg: &[u8], l: &[u8], out: &mut Batch) {
        let u = match line::tracing(msg) {
            Ok(Tracing::Usage(u)) => u,
            Ok(Tracing::Other(name)) => {
                let t = format!(
                    "USGTRACING event \"{}\" not understood: {}",
                    shown(name),
                    self.quote(l)
                );
                return self.diag(out, DiagnosticKind::Unrecognised, t);
            }
            Err(e) => return self.malformed(out, "USGTRACING record", e, l),
        };
        self.learn_editor(&u);
        let grant = u.event == Event::Grant;
        let key = pair_key(u.session, u.feature);
        if let Some(other) = self.take_match(key, &u, ms) {
            let (start, end, reason, g) = if grant {
                (ms, other.ms, other.reason, self.open_of(&u, ms))
            } else {
                (other.ms, ms, end_reason(u.event), other)
            };
            let s = Session {
                vendor: g.vendor,
                feature: g.feature,
                user: g.user,
                host: g.host,
                count: g.count,
                start: secs(start),
                end: secs(end),
                end_reason: reason,
                project: None,
            };
            self.session(s, out);
        } else if !grant && self.mode == Mode::Text {
            let t = format!(
                "{} without a Grant in the log (granted before it starts?): {}",
                if u.event == Event::TimeOut {
                    "TimeOut"
                } else {
                    "Detachment"
                },
                self.quote(l)
            );
            self.diag(out, DiagnosticKind::Unrecognised, t);
        } else {
            let o = self.open_of(&u, ms);
            self.open.entry(key).or_default().push_back(o);
            self.open_len += 1;
        }
    }

    fn learn_editor(&mut self, u: &Usage<'_>) {
        if u.editor.is_empty() {
            return;
        }
        let feature = text(u.feature);
        if self.editors.get(&*feature).map(String::as_bytes) != Some(u.editor) {
            self.editors.insert(feature.into_owned(), owned(u.editor));
        }
    }

    fn open_of(&mut self, u: &Usage<'_>, ms: i64) -> Open {
        self.seq += 1;
        Open {
            seq: self.seq,
            grant: u.event == Event::Grant,
            ms,
            line: self.lines,
            reason: end_reason(u.event),
            session: owned(u.session),
            feature: owned(u.feature),
            vendor: if u.editor.is_empty() {
                VENDOR.to_string()
            } else {
                owned(u.editor)
            },
            user: owned(u.user),
            host: owned(u.host),
            count: u.count,
        }
    }

    /// The first waiting counterpart of `u` (FIFO): a grant for a release or the reverse, not
    /// later than the release, with no server start between the two.
    fn take_match(&mut self, key: u64, u: &Usage<'_>, ms: i64) -> Option<Open> {
        let grant = u.event == Event::Grant;
        let restarts = &self.restarts;
        let q = self.open.get_mut(&key)?;
        let i = q.iter().position(|o| {
            let (g, r) = if grant { (ms, o.ms) } else { (o.ms, ms) };
            o.grant != grant
                && o.session.as_bytes() == u.session
                && o.feature.as_bytes() == u.feature
                && g <= r
                && !restarts.iter().any(|&x| g < x && x < r)
        })?;
        let o = q.remove(i)?;
        if q.is_empty() {
            self.open.remove(&key);
        }
        self.open_len -= 1;
        Some(o)
    }

    /// A server start at `ms`. Oldest first (a LicenseServer log), the grants still open end
    /// here; in the cloud document the start is kept for `take_match` and `finish`.
    fn restart(&mut self, ms: i64, out: &mut Batch) {
        if self.mode == Mode::Json {
            self.restarts.push(ms);
            return;
        }
        for o in self.drain_open() {
            self.close(o, ms, EndReason::ServerRestart, out);
        }
    }

    fn drain_open(&mut self) -> Vec<Open> {
        let mut all: Vec<Open> = self.open.drain().flat_map(|(_, q)| q).collect();
        all.sort_unstable_by_key(|o| o.seq);
        self.open_len = 0;
        all
    }

    fn close(&mut self, o: Open, end_ms: i64, reason: EndReason, out: &mut Batch) {
        let s = Session {
            vendor: o.vendor,
            feature: o.feature,
            user: o.user,
            host: o.host,
            count: o.count,
            start: secs(o.ms),
            end: secs(end_ms.max(o.ms)),
            end_reason: reason,
            project: None,
        };
        self.session(s, out);
    }

    /// What turns server-clock seconds into UTC, once known.
    fn shift(&self) -> Option<i64> {
        match self.mode {
            Mode::Json => self.zone.map(|z| -z),
            _ => Some(-self.utc_offset),
        }
    }

    fn session(&mut self, s: Session, out: &mut Batch) {
        match self.shift() {
            Some(sh) => out.sessions.push(Session {
                start: s.start + sh,
                end: s.end + sh,
                ..s
            }),
            None => {
                self.pending.sessions.push(s);
                self.pended(out);
            }
        }
    }

    fn denial(&mut self, d: Denial, out: &mut Batch) {
        match self.shift() {
            Some(sh) => out.denials.push(Denial {
                time: d.time + sh,
                ..d
            }),
            None => {
                self.pending.denials.push(d);
                self.pended(out);
            }
        }
    }

    fn event(
        &mut self,
        out: &mut Batch,
        ms: i64,
        kind: ServerEventKind,
        daemon: &[u8],
        msg: &[u8],
    ) {
        let e = ServerEvent {
            time: secs(ms),
            kind,
            daemon: owned(daemon),
            text: owned(line::trim(msg)),
        };
        match self.shift() {
            Some(sh) => out.server_events.push(ServerEvent {
                time: e.time + sh,
                ..e
            }),
            None => {
                self.pending.server_events.push(e);
                self.pended(out);
            }
        }
    }

    fn pended(&mut self, out: &mut Batch) {
        self.pending_len += 1;
        if self.pending_len >= PENDING_LIMIT {
            self.assume_zone(out, false);
        }
    }

    /// The document gave no usable zone: the configured offset.
    fn assume_zone(&mut self, out: &mut Batch, at_end: bool) {
        let t = format!(
            "{}: times are taken as the server's local time at the configured offset {}",
            if at_end {
                "the document states no time zone this importer can use"
            } else {
                "no usable time zone before the document's first records"
            },
            format_offset(self.utc_offset)
        );
        self.diag(out, DiagnosticKind::Assumption, t);
        self.set_zone(self.utc_offset, ZoneFrom::Assumed, out);
    }

    fn flush_pending(&mut self, out: &mut Batch) {
        let Some(sh) = self.shift() else { return };
        let mut p = std::mem::take(&mut self.pending);
        for s in &mut p.sessions {
            s.start += sh;
            s.end += sh;
        }
        for d in &mut p.denials {
            d.time += sh;
        }
        for e in &mut p.server_events {
            e.time += sh;
        }
        out.sessions.append(&mut p.sessions);
        out.denials.append(&mut p.denials);
        out.server_events.append(&mut p.server_events);
        self.pending_len = 0;
    }

    /// `row N: <entry>` in the cloud document, the line itself in a LicenseServer log.
    fn quote(&self, l: &[u8]) -> String {
        match self.mode {
            Mode::Json => format!("row {}: {}", self.meta.rows, shown(l)),
            _ => shown(l),
        }
    }

    fn diag(&self, out: &mut Batch, kind: DiagnosticKind, text: String) {
        out.diagnostics.push(Diagnostic {
            line: self.lines,
            kind,
            text,
        });
    }

    fn malformed(&self, out: &mut Batch, what: &str, problem: &str, l: &[u8]) {
        let t = format!("{what}: {problem}: {}", self.quote(l));
        self.diag(out, DiagnosticKind::Malformed, t);
    }
}

fn end_reason(e: Event) -> EndReason {
    match e {
        Event::TimeOut => EndReason::Inactive,
        Event::Grant | Event::Detachment => EndReason::Checkin,
    }
}

impl Importer for DslsLog {
    const FORMATS: &'static [&'static str] = &["dsls-log", "dsls-cloud-json"];

    fn sniff(head: &[u8]) -> f32 {
        crate::sniff::sniff(head)
    }

    fn sniff_format(head: &[u8]) -> Option<tally_plugin_sdk::Sniffed> {
        crate::sniff::sniff_format(head)
    }

    fn begin(&mut self, config: &ImportConfig) -> Result<(), PluginError> {
        if let Some(state) = &config.resume {
            *self = crate::ckpt::decode(state)?;
        }
        self.utc_offset = i64::from(config.utc_offset);
        Ok(())
    }

    fn feed(&mut self, chunk: &[u8], out: &mut Batch) -> Result<(), PluginError> {
        let mut start = 0;
        for nl in memchr::memchr_iter(b'\n', chunk) {
            self.line(&chunk[start..nl], out);
            start = nl + 1;
        }
        if start < chunk.len() {
            self.line(&chunk[start..], out);
        }
        out.lines = self.lines;
        Ok(())
    }

    fn checkpoint(&self) -> Result<Vec<u8>, PluginError> {
        Ok(crate::ckpt::encode(self))
    }

    fn finish(&mut self, out: &mut Batch) -> Result<(), PluginError> {
        if self.mode == Mode::Json {
            if !self.reader.complete() {
                self.diag(
                    out,
                    DiagnosticKind::Malformed,
                    "the JSON document ends before its closing brackets (cut short?)".into(),
                );
            }
            if self.zone.is_none() && (self.pending_len > 0 || self.open_len > 0) {
                self.assume_zone(out, true);
            }
        }
        let last = self.last_ms.unwrap_or(0);
        for o in self.drain_open() {
            if o.grant {
                match self.restarts.iter().copied().filter(|&r| r > o.ms).min() {
                    Some(r) => self.close(o, r, EndReason::ServerRestart, out),
                    None => self.close(o, last, EndReason::EndOfLog, out),
                }
            } else {
                out.diagnostics.push(Diagnostic {
                    line: o.line,
                    kind: DiagnosticKind::Unrecognised,
                    text: format!(
                        "{} of session {} ({}, {}@{}) without its Grant in the document (granted before its oldest row?)",
                        if o.reason == EndReason::Inactive { "TimeOut" } else { "Detachment" },
                        o.session,
                        o.feature,
                        o.user,
                        o.host
                    ),
                });
            }
        }
        out.lines = self.lines;
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use tally_plugin_sdk::civil::format_utc;

    fn run(data: &[u8], utc_offset: i32) -> Batch {
        let mut p = DslsLog::default();
        let mut out = Batch::default();
        p.begin(&ImportConfig {
            utc_offset,
            ..ImportConfig::default()
        })
        .unwrap();
        p.feed(data, &mut out).unwrap();
        p.finish(&mut out).unwrap();
        out
    }

    fn usage(time: &str, ev: &str, session: &str) -> String {
        format!(
            "\"{time} I USGTRACING  {ev}!!CAC!R1!{session}!Dassault Systemes V5!ConcurrentUser!1!STD!PC (x)!ip!u!U!e!v!ALC\""
        )
    }

    fn doc(rows: &[String], tail: &str) -> String {
        format!(
            "{{\"result\":{{\"rows\":[\n{}\n]{tail}}}}}\n",
            rows.join(",\n")
        )
    }

    fn spans(b: &Batch) -> Vec<String> {
        b.sessions
            .iter()
            .map(|s| {
                format!(
                    "{} {} {:?}",
                    format_utc(s.start),
                    format_utc(s.end),
                    s.end_reason
                )
            })
            .collect()
    }

    #[test]
    fn rows_pair_in_either_order() {
        let rows = vec![
            usage("2025/01/02 10:00:00:000", "Grant", "S1"),
            usage("2025/01/02 10:30:00:000", "Grant", "S2"),
            usage("2025/01/02 11:00:00:000", "TimeOut", "S1"),
            usage("2025/01/02 12:00:00:000", "Detachment", "S2"),
            usage("2025/01/02 13:00:00:000", "Grant", "S3"),
        ];
        let tail = ",\"serverTimeZone\":\"UTC\"";
        let oldest = run(doc(&rows, tail).as_bytes(), 0);
        let mut rev = rows.clone();
        rev.reverse();
        let newest = run(doc(&rev, tail).as_bytes(), 0);
        let mut a = spans(&oldest);
        let mut b = spans(&newest);
        a.sort();
        b.sort();
        assert_eq!(a, b);
        assert_eq!(
            a,
            [
                "2025-01-02T10:00:00Z 2025-01-02T11:00:00Z Inactive",
                "2025-01-02T10:30:00Z 2025-01-02T12:00:00Z Checkin",
                "2025-01-02T13:00:00Z 2025-01-02T13:00:00Z EndOfLog",
            ]
        );
        assert!(oldest.diagnostics.is_empty() && newest.diagnostics.is_empty());
    }

    #[test]
    fn a_release_never_pairs_with_a_later_grant() {
        // Oldest first: the release of a session granted before the document, then a new
        // grant of the same id (ids are reused only across restarts, but be safe).
        let rows = vec![
            usage("2025/01/02 09:00:00:000", "Detachment", "S1"),
            usage("2025/01/02 10:00:00:000", "Grant", "S1"),
        ];
        let b = run(
            doc(&rows, ",\"serverTimeZone\":\"UTC+01:00\"").as_bytes(),
            0,
        );
        assert_eq!(
            spans(&b),
            ["2025-01-02T09:00:00Z 2025-01-02T09:00:00Z EndOfLog"]
        );
        assert_eq!(b.diagnostics.len(), 1);
        assert_eq!(b.diagnostics[0].line, 2);
        assert_eq!(b.diagnostics[0].kind, DiagnosticKind::Unrecognised);
    }

    #[test]
    fn zone_sources_and_disagreement() {
        let rows = [usage("2025/01/02 10:00:00:000", "Grant", "S1")];
        // lastDate says the rows are UTC+2; a later serverTimeZone saying UTC is reported.
        let last =
            (tally_plugin_sdk::civil::days_from_civil(2025, 1, 2) * 86_400 + 8 * 3600) * 1000;
        let text = format!(
            "{{\"lastDate\":{last},\"rows\":[{}],\"serverTimeZone\":\"UTC\"}}",
            rows[0]
        );
        let b = run(text.as_bytes(), 0);
        assert_eq!(
            spans(&b),
            ["2025-01-02T08:00:00Z 2025-01-02T08:00:00Z EndOfLog"]
        );
        assert_eq!(b.diagnostics.len(), 1);
        assert_eq!(b.diagnostics[0].kind, DiagnosticKind::Assumption);
        assert!(
            b.diagnostics[0].text.contains("+00:00") && b.diagnostics[0].text.contains("+02:00")
        );
        // A region name cannot be read: reported, then the configured offset.
        let text = format!(
            "{{\"rows\":[{}],\"serverTimeZone\":\"Asia/Bangkok\"}}",
            rows[0]
        );
        let b = run(text.as_bytes(), 25_200);
        assert_eq!(
            spans(&b),
            ["2025-01-02T03:00:00Z 2025-01-02T03:00:00Z EndOfLog"]
        );
        let kinds: Vec<_> = b.diagnostics.iter().map(|d| d.kind).collect();
        assert_eq!(
            kinds,
            [DiagnosticKind::Unrecognised, DiagnosticKind::Assumption]
        );
    }

    #[test]
    fn pending_limit_falls_back_to_the_configured_offset() {
        let mut text = String::from("{\"rows\":[\n");
        for i in 0..PENDING_LIMIT + 5 {
            text.push_str(&format!(
                "\"2025/01/02 10:00:00:000 W LICENSESERV CAC not granted, no more available license ( from client H (x)/ip|u{i}|U|e )\",\n"
            ));
        }
        text.push_str("\"2025/01/02 10:00:01:000 I ADMINSERVER Connect command issued\"],\n\"serverTimeZone\":\"UTC\"}\n");
        let b = run(text.as_bytes(), 3600);
        assert_eq!(b.denials.len(), PENDING_LIMIT + 5);
        assert!(
            b.denials
                .iter()
                .all(|d| format_utc(d.time) == "2025-01-02T09:00:00Z")
        );
        let kinds: Vec<_> = b.diagnostics.iter().map(|d| (d.line, d.kind)).collect();
        // The assumption when the limit is reached, the disagreeing zone at the end.
        assert_eq!(
            kinds,
            [
                (PENDING_LIMIT as u64 + 1, DiagnosticKind::Assumption),
                (PENDING_LIMIT as u64 + 8, DiagnosticKind::Assumption)
            ]
        );
    }

    #[test]
    fn concatenated_documents_continue_one_log() {
        let a = doc(
            &[usage("2025/01/02 11:00:00:000", "Detachment", "S1")],
            ",\"serverTimeZone\":\"UTC\"",
        );
        let b = doc(&[usage("2025/01/02 10:00:00:000", "Grant", "S1")], "");
        let out = run(format!("{a}{b}").as_bytes(), 0);
        assert_eq!(
            spans(&out),
            ["2025-01-02T10:00:00Z 2025-01-02T11:00:00Z Checkin"]
        );
        assert!(out.diagnostics.is_empty());
    }

    #[test]
    fn garbage_never_panics_and_every_line_counts() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut data = Vec::new();
        let pieces: [&[u8]; 16] = [
            b"2025/08/18 08:37:04:996 W LICENSESERV ",
            b"2025/08/18 08:37:04:996 I USGTRACING  Grant!!",
            b"Detachment!!",
            b" not granted, ",
            b"( from client ",
            b"!",
            b"|",
            b"/",
            b" (",
            b")",
            b"{\"rows\":[\"",
            b"\",\"",
            b"\\",
            b"]}",
            b"\"",
            b"\n",
        ];
        for _ in 0..60_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if x.is_multiple_of(3) {
                data.push((x >> 8) as u8);
            } else {
                data.extend_from_slice(pieces[(x >> 16) as usize % pieces.len()]);
            }
        }
        for start in [&b""[..], b"{\"rows\":[\n"] {
            let input = [start, &data].concat();
            let out = run(&input, 0);
            let newlines = input.iter().filter(|&&b| b == b'\n').count() as u64;
            assert_eq!(
                out.lines,
                newlines + u64::from(input.last() != Some(&b'\n'))
            );
            for s in &out.sessions {
                assert!(s.end >= s.start);
            }
        }
    }
}
