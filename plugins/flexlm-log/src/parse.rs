//! The importer: line dispatch, the clock (dates from anchors and midnight rollovers), OUT/IN
//! pairing and the records that leave the guest.
//!
//! Times are kept on a *day-index axis* until the log reveals its date: `rel = day * 86400 +
//! seconds since local midnight`, where day 0 is the day of the first timed line. The first
//! anchor (lmgrd start line, `TIMESTAMP`, `Server's System Date and Time:`, SLOG `Time:` /
//! `Start-Date:`) fixes `base`, the civil day of index 0; records completed before that wait in
//! `pending` and leave once it is known.

use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};

use tally_plugin_sdk::{
    Batch, Denial, DenialKind, Diagnostic, DiagnosticKind, EndReason, ImportConfig, Importer,
    PluginError, Queued, ServerEvent, ServerEventKind, Session,
};

use crate::line::{self, Flag, Request, Shape};
use tally_plugin_sdk::civil::{DAY, format_day};
use tally_plugin_sdk::text::{is_blank, owned, shown, text};

/// A backward clock jump up to this size is interleaving between daemons (or the hour repeated
/// when daylight saving time ends), not a new day.
pub(crate) const TOLERANCE: i64 = 70 * 60;
/// Records held while the log has shown no date; past this the file's modification date is used.
pub(crate) const PENDING_LIMIT: usize = 100_000;
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The log's clock on the day-index axis.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Clock {
    /// Day index of the latest lines.
    pub day: i64,
    /// Latest time of day seen on `day` (the high-water mark).
    pub secs: i64,
    pub seen: bool,
}

impl Clock {
    /// Places a time of day on the axis: a jump backwards beyond the tolerance is midnight.
    pub fn tick(&mut self, secs: i64) -> i64 {
        if !self.seen {
            self.seen = true;
            self.secs = secs;
        } else if secs + TOLERANCE < self.secs {
            self.day += 1;
            self.secs = secs;
        } else if secs - self.secs > DAY - TOLERANCE {
            // 23:59:59 written just after 00:00:01: a late line from before midnight.
            return (self.day - 1) * DAY + secs;
        } else if secs > self.secs {
            self.secs = secs;
        }
        self.day * DAY + secs
    }

    /// The latest time the log has shown.
    pub fn now(&self) -> i64 {
        self.day * DAY + self.secs
    }
}

/// A checkout waiting for its check-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Open {
    /// Order of the OUT lines: FIFO pairing and a stable order when several close at once.
    pub seq: u64,
    /// Index into `vendors`.
    pub vendor: u32,
    pub feature: String,
    pub user: String,
    pub host: String,
    pub count: u32,
    pub project: Option<String>,
    pub start: i64,
}

/// A vendor daemon seen on OUT lines or start/stop lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Vendor {
    pub name: String,
    /// When it stopped (its own exit, lmgrd's exit or shutdown): still-open sessions end there.
    pub stopped: Option<i64>,
}

/// The pairing table is keyed by a hash of the pairing key computed from borrowed line bytes,
/// so an `IN:` finds its `OUT:` without allocating; the bucket compares the fields.
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

struct Fx(u64);

impl Fx {
    fn word(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(K);
    }
    fn bytes(&mut self, b: &[u8]) {
        let mut chunks = b.chunks_exact(8);
        for c in &mut chunks {
            self.word(u64::from_le_bytes([
                c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7],
            ]));
        }
        let mut last = [0u8; 8];
        last[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
        self.word(u64::from_le_bytes(last));
        self.word(b.len() as u64);
    }
}

/// Hash of the pairing key (vendor daemon, feature, user, host, count, bracketed project).
pub(crate) fn pair_key(
    vendor: u32,
    feature: &[u8],
    user: &[u8],
    host: &[u8],
    count: u32,
    project: Option<&[u8]>,
) -> u64 {
    let mut h = Fx(u64::from(vendor) | (u64::from(count) << 32));
    h.bytes(feature);
    h.bytes(user);
    h.bytes(host);
    if let Some(p) = project {
        h.bytes(p);
    }
    h.0
}

/// FlexNet lmgrd / vendor-daemon debug log importer.
#[derive(Default)]
pub struct FlexlmLog {
    pub(crate) utc_offset: i64,
    pub(crate) modified: Option<i64>,
    pub(crate) lines: u64,
    pub(crate) clock: Clock,
    /// Civil day (days since 1970-01-01) of day index 0, once known.
    pub(crate) base: Option<i64>,
    /// `base` came from the file's modification time, not from the log.
    pub(crate) base_assumed: bool,
    pub(crate) seq: u64,
    pub(crate) vendors: Vec<Vendor>,
    pub(crate) open: OpenMap,
    pub(crate) open_len: usize,
    /// Records completed before the date was known, times on the day-index axis.
    pub(crate) pending: Batch,
    pub(crate) pending_len: usize,
}

impl FlexlmLog {
    fn line(&mut self, raw: &[u8], out: &mut Batch) {
        self.lines += 1;
        let mut l = raw.strip_suffix(b"\r").unwrap_or(raw);
        if self.lines == 1 {
            l = l.strip_prefix(BOM).unwrap_or(l);
        }
        let Some(p) = line::prefix(l) else {
            if !is_blank(l) {
                self.diag(
                    out,
                    DiagnosticKind::Malformed,
                    format!("no `H:MM:SS (daemon)` time prefix: {}", shown(l)),
                );
            }
            return;
        };
        let rel = self.clock.tick(p.secs);
        let daemon = p.daemon;
        let msg = &p.msg[p.msg.iter().take_while(|&&b| b == b' ').count()..];
        let Some(&first) = msg.first() else { return };
        // lmgrd: `MSC exited with status 25 (Invalid host)` (any vendor name, any first letter).
        if daemon == b"lmgrd"
            && let Some(at) = line::find(msg, b" exited with status")
            && !msg[..at].contains(&b' ')
        {
            let v = self.vendor(&msg[..at]);
            self.vendors[v].stopped.get_or_insert(rel);
            self.event(out, rel, ServerEventKind::DaemonStop, daemon, msg);
            return;
        }
        match first {
            b'O' => {
                if let Some(rest) = msg.strip_prefix(b"OUT:") {
                    self.on_out(daemon, rest, rel, l, out);
                }
            }
            b'I' => {
                if let Some(rest) = msg.strip_prefix(b"IN:") {
                    self.on_in(daemon, rest, rel, l, out);
                }
            }
            b'D' => {
                if let Some(rest) = msg.strip_prefix(b"DENIED:") {
                    self.on_denial(DenialKind::Denied, daemon, rest, rel, l, out);
                } else if let Some(rest) = msg.strip_prefix(b"DEQUEUED:") {
                    match line::request(rest, Shape::Denied) {
                        Ok(_) => self.event(out, rel, ServerEventKind::Dequeued, daemon, msg),
                        Err(e) => self.malformed(out, "DEQUEUED", e, l),
                    }
                } else if msg.starts_with(b"Disabling ") && line::find(msg, b" license").is_some() {
                    self.event(out, rel, ServerEventKind::LicensesDisabled, daemon, msg);
                }
            }
            b'U' => {
                if let Some(rest) = msg.strip_prefix(b"UNSUPPORTED:") {
                    self.on_denial(DenialKind::Unsupported, daemon, rest, rel, l, out);
                }
            }
            b'Q' => {
                if let Some(rest) = msg.strip_prefix(b"QUEUED:") {
                    self.on_queued(daemon, rest, rel, l, out);
                }
            }
            b'T' if msg.starts_with(b"TIMESTAMP") => match line::timestamp(msg) {
                Some(day) => self.anchor(day, out),
                None => self.malformed(out, "TIMESTAMP", "no valid M/D/YYYY date", l),
            },
            b'(' => {
                if let Some((date, secs)) = line::slog_date(msg) {
                    self.anchor(line::anchor_day(date, secs, p.secs), out);
                }
            }
            b'S' => self.on_s(daemon, msg, rel, p.secs, out),
            b'E' if msg.starts_with(b"EXITING DUE TO SIGNAL")
                || msg.starts_with(b"EXITING WITH CODE") =>
            {
                if daemon == b"lmgrd" {
                    for v in &mut self.vendors {
                        v.stopped.get_or_insert(rel);
                    }
                    self.event(out, rel, ServerEventKind::ServerStop, daemon, msg);
                } else {
                    let v = self.vendor(daemon);
                    self.vendors[v].stopped.get_or_insert(rel);
                    self.event(out, rel, ServerEventKind::DaemonStop, daemon, msg);
                }
            }
            b'F' => {
                if daemon == b"lmgrd" {
                    if let Some(date) = line::lmgrd_start(msg) {
                        if let Some(day) = date {
                            self.anchor(day, out);
                        }
                        self.restart(None, rel, out);
                        self.event(out, rel, ServerEventKind::ServerStart, daemon, msg);
                    }
                } else if line::starts_with_ci(msg, b"FlexNet Licensing version")
                    || line::starts_with_ci(msg, b"FLEXlm version")
                {
                    let v = self.vendor(daemon);
                    self.restart(Some(v), rel, out);
                    self.event(out, rel, ServerEventKind::DaemonStart, daemon, msg);
                }
            }
            b'R' if msg.starts_with(b"Rereading license file") => {
                self.event(out, rel, ServerEventKind::Reread, daemon, msg);
            }
            b'd' if daemon != b"lmgrd" && msg.starts_with(b"daemon shutdown requested") => {
                let v = self.vendor(daemon);
                self.vendors[v].stopped.get_or_insert(rel);
            }
            _ => {}
        }
    }

    /// Lines starting with `S`: the system date, vendor starts and stops.
    fn on_s(&mut self, daemon: &[u8], msg: &[u8], rel: i64, line_secs: i64, out: &mut Batch) {
        if let Some(rest) = msg.strip_prefix(b"Server's System Date and Time:") {
            if let Some((date, secs)) = line::long_date(line::trim(rest)) {
                self.anchor(line::anchor_day(date, secs, line_secs), out);
            }
        } else if daemon == b"lmgrd" {
            if let Some(rest) = msg.strip_prefix(b"Started ") {
                // `Started adskflex (pid 4440)`: a (re)started vendor daemon has no checkouts.
                if let Some(sp) = memchr::memchr(b' ', rest)
                    && rest[sp + 1..].starts_with(b"(")
                {
                    let v = self.vendor(&rest[..sp]);
                    self.restart(Some(v), rel, out);
                }
            } else if let Some(rest) = msg.strip_prefix(b"Shutting down ") {
                // `Shutting down MLM pid=496 because of signal 15`
                if let Some(sp) = memchr::memchr(b' ', rest)
                    && rest[sp + 1..].starts_with(b"pid=")
                {
                    let v = self.vendor(&rest[..sp]);
                    self.vendors[v].stopped.get_or_insert(rel);
                    self.event(out, rel, ServerEventKind::DaemonStop, daemon, msg);
                }
            } else if msg.starts_with(b"SHUTDOWN request from ") {
                self.event(out, rel, ServerEventKind::Other, daemon, msg);
            }
        } else if msg.starts_with(b"Shutdown requested") {
            let v = self.vendor(daemon);
            self.vendors[v].stopped.get_or_insert(rel);
        }
    }

    fn on_out(&mut self, daemon: &[u8], rest: &[u8], rel: i64, l: &[u8], out: &mut Batch) {
        let r = match line::request(rest, Shape::Checkout) {
            Ok(r) => r,
            Err(e) => return self.malformed(out, "OUT", e, l),
        };
        let v = self.vendor(daemon);
        if self.vendors[v].stopped.is_some() {
            // Checkouts again after a stop: the daemon came back without a start line we know.
            self.restart(Some(v), rel, out);
        }
        let (feature, user, host) = (text(r.feature), text(r.user), text(r.host));
        let project = r.project.map(text);
        let key = pair_key(
            v as u32,
            feature.as_bytes(),
            user.as_bytes(),
            host.as_bytes(),
            r.count,
            project.as_deref().map(str::as_bytes),
        );
        let open = Open {
            seq: self.seq,
            vendor: v as u32,
            feature: feature.into_owned(),
            user: user.into_owned(),
            host: host.into_owned(),
            count: r.count,
            project: project.map(Cow::into_owned),
            start: rel,
        };
        self.seq += 1;
        self.open.entry(key).or_default().push_back(open);
        self.open_len += 1;
    }

    fn on_in(&mut self, daemon: &[u8], rest: &[u8], rel: i64, l: &[u8], out: &mut Batch) {
        let r = match line::request(rest, Shape::Checkout) {
            Ok(r) => r,
            Err(e) => return self.malformed(out, "IN", e, l),
        };
        let reason = match r.flag {
            None => EndReason::Checkin,
            Some(Flag::Inactive) => EndReason::Inactive,
            Some(Flag::Shutdown) => EndReason::Shutdown,
            Some(Flag::Unknown) => EndReason::Unknown,
        };
        match self.take_open(daemon, &r) {
            Some(o) => self.close(o, rel, reason, out),
            None => self.diag(
                out,
                DiagnosticKind::Unrecognised,
                format!(
                    "IN without a matching OUT (checked out before the log starts?): {}",
                    shown(l)
                ),
            ),
        }
    }

    /// Removes the oldest open checkout with the same pairing key.
    fn take_open(&mut self, daemon: &[u8], r: &Request<'_>) -> Option<Open> {
        let v = self
            .vendors
            .iter()
            .position(|v| v.name.as_bytes() == daemon)? as u32;
        let (feature, user, host) = (text(r.feature), text(r.user), text(r.host));
        let project = r.project.map(text);
        let project = project.as_deref();
        let key = pair_key(
            v,
            feature.as_bytes(),
            user.as_bytes(),
            host.as_bytes(),
            r.count,
            project.map(str::as_bytes),
        );
        let q = self.open.get_mut(&key)?;
        let i = q.iter().position(|o| {
            o.vendor == v
                && o.count == r.count
                && o.feature == feature
                && o.user == user
                && o.host == host
                && o.project.as_deref() == project
        })?;
        let o = q.remove(i)?;
        self.open_len -= 1;
        Some(o)
    }

    fn on_denial(
        &mut self,
        kind: DenialKind,
        daemon: &[u8],
        rest: &[u8],
        rel: i64,
        l: &[u8],
        out: &mut Batch,
    ) {
        let shape = if kind == DenialKind::Unsupported {
            Shape::Unsupported
        } else {
            Shape::Denied
        };
        let r = match line::request(rest, shape) {
            Ok(r) => r,
            Err(e) => {
                return self.malformed(
                    out,
                    if kind == DenialKind::Unsupported {
                        "UNSUPPORTED"
                    } else {
                        "DENIED"
                    },
                    e,
                    l,
                );
            }
        };
        let d = Denial {
            vendor: owned(daemon),
            feature: owned(r.feature),
            user: owned(r.user),
            host: owned(r.host),
            count: r.count,
            time: rel,
            kind,
            code: r.code,
            reason: r.reason.map(owned),
            requested_version: r.version.map(owned),
            until: None,
        };
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

    fn on_queued(&mut self, daemon: &[u8], rest: &[u8], rel: i64, l: &[u8], out: &mut Batch) {
        let r = match line::request(rest, Shape::Denied) {
            Ok(r) => r,
            Err(e) => return self.malformed(out, "QUEUED", e, l),
        };
        let q = Queued {
            vendor: owned(daemon),
            feature: owned(r.feature),
            user: owned(r.user),
            host: owned(r.host),
            count: r.count,
            time: Some(rel),
        };
        match self.shift() {
            Some(sh) => out.queued.push(Queued {
                time: q.time.map(|t| t + sh),
                ..q
            }),
            None => {
                self.pending.queued.push(q);
                self.pended(out);
            }
        }
    }

    fn event(
        &mut self,
        out: &mut Batch,
        rel: i64,
        kind: ServerEventKind,
        daemon: &[u8],
        msg: &[u8],
    ) {
        let e = ServerEvent {
            time: rel,
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

    /// Index of a vendor daemon by name, registering it on first sight.
    fn vendor(&mut self, name: &[u8]) -> usize {
        match self.vendors.iter().position(|v| v.name.as_bytes() == name) {
            Some(i) => i,
            None => {
                self.vendors.push(Vendor {
                    name: owned(name),
                    stopped: None,
                });
                self.vendors.len() - 1
            }
        }
    }

    /// A (re)start: closes what is still open for one vendor daemon (`Some`) or all (`None`) at
    /// the time the daemon stopped, or now when the log never said it stopped.
    fn restart(&mut self, which: Option<usize>, rel: i64, out: &mut Batch) {
        if self.open_len > 0 {
            let mut closing = Vec::new();
            for q in self.open.values_mut() {
                match which {
                    None => closing.extend(q.drain(..)),
                    Some(v) => {
                        let mut i = 0;
                        while i < q.len() {
                            if q[i].vendor as usize == v {
                                closing.extend(q.remove(i));
                            } else {
                                i += 1;
                            }
                        }
                    }
                }
            }
            closing.sort_unstable_by_key(|o| o.seq);
            self.open_len -= closing.len();
            for o in closing {
                let end = self
                    .vendors
                    .get(o.vendor as usize)
                    .and_then(|v| v.stopped)
                    .unwrap_or(rel);
                self.close(o, end, EndReason::ServerRestart, out);
            }
        }
        match which {
            None => self.vendors.iter_mut().for_each(|v| v.stopped = None),
            Some(v) => self.vendors[v].stopped = None,
        }
    }

    fn close(&mut self, o: Open, end: i64, end_reason: EndReason, out: &mut Batch) {
        let s = Session {
            vendor: self
                .vendors
                .get(o.vendor as usize)
                .map(|v| v.name.clone())
                .unwrap_or_default(),
            feature: o.feature,
            user: o.user,
            host: o.host,
            count: o.count,
            start: o.start,
            end: end.max(o.start),
            end_reason,
            project: o.project,
        };
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

    /// What turns a day-axis time into UTC seconds, once the date is known.
    fn shift(&self) -> Option<i64> {
        self.base.map(|b| b * DAY - self.utc_offset)
    }

    fn pended(&mut self, out: &mut Batch) {
        self.pending_len += 1;
        if self.pending_len >= PENDING_LIMIT {
            self.assume_date(out, false);
        }
    }

    /// The current line is on civil day `day`.
    fn anchor(&mut self, day: i64, out: &mut Batch) {
        match self.base {
            None => {
                self.base = Some(day - self.clock.day);
                self.flush_pending(out);
            }
            Some(b) => {
                let counted = b + self.clock.day;
                let new_day = day - b;
                if day < counted {
                    // A backward clock step was taken for midnight (or the assumed date was
                    // wrong): checkouts placed on the days that did not happen move back with
                    // the clock. Records already out keep their dates.
                    if !self.base_assumed {
                        self.diag(
                            out,
                            DiagnosticKind::Assumption,
                            format!(
                                "the log says {} but midnight rollovers counted {}; dates follow the log from here",
                                format_day(day),
                                format_day(counted)
                            ),
                        );
                    }
                    for o in self.open.values_mut().flatten() {
                        if o.start.div_euclid(DAY) > new_day {
                            o.start += (day - counted) * DAY;
                        }
                    }
                }
                // A later date than counted is a day that passed without a line.
                self.clock.day = new_day;
            }
        }
        self.base_assumed = false;
    }

    /// No anchor in the log (at its end, or after `PENDING_LIMIT` records): date it from the
    /// file's modification time, whose local date is taken as the date of the current line.
    fn assume_date(&mut self, out: &mut Batch, at_end: bool) {
        let (day, text) = match self.modified {
            Some(m) => {
                let day = (m + self.utc_offset).div_euclid(DAY);
                let which = if at_end { "the last line".to_string() } else { format!("line {}", self.lines) };
                let text = format!(
                    "{}: dates counted from {}, the local date of the file's modification time, taken as the date of {which}",
                    if at_end { "the log states no date" } else { "no date in the log's first records" },
                    format_day(day)
                );
                (day - self.clock.day, text)
            }
            None => (
                0,
                "the log states no date and the file's modification time is unknown: dates assume the log starts on 1970-01-01"
                    .to_string(),
            ),
        };
        self.base = Some(day);
        self.base_assumed = true;
        self.diag(out, DiagnosticKind::Assumption, text);
        self.flush_pending(out);
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
        for q in &mut p.queued {
            q.time = q.time.map(|t| t + sh);
        }
        for e in &mut p.server_events {
            e.time += sh;
        }
        out.sessions.append(&mut p.sessions);
        out.denials.append(&mut p.denials);
        out.queued.append(&mut p.queued);
        out.server_events.append(&mut p.server_events);
        self.pending_len = 0;
    }

    fn diag(&self, out: &mut Batch, kind: DiagnosticKind, text: String) {
        out.diagnostics.push(Diagnostic {
            line: self.lines,
            kind,
            text,
        });
    }

    fn malformed(&self, out: &mut Batch, what: &str, problem: &str, l: &[u8]) {
        self.diag(
            out,
            DiagnosticKind::Malformed,
            format!("{what} line: {problem}: {}", shown(l)),
        );
    }
}

impl Importer for FlexlmLog {
    const FORMATS: &'static [&'static str] = &["flexlm-debuglog"];

    fn sniff(head: &[u8]) -> f32 {
        crate::sniff::sniff(head)
    }

    fn begin(&mut self, config: &ImportConfig) -> Result<(), PluginError> {
        if let Some(state) = &config.resume {
            *self = crate::ckpt::decode(state)?;
        }
        self.utc_offset = i64::from(config.utc_offset);
        self.modified = config.modified;
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
        if self.base.is_none() && (self.pending_len > 0 || self.open_len > 0) {
            self.assume_date(out, true);
        }
        let now = self.clock.now();
        let mut open: Vec<Open> = self.open.drain().flat_map(|(_, q)| q).collect();
        open.sort_unstable_by_key(|o| o.seq);
        self.open_len = 0;
        for o in open {
            match self.vendors.get(o.vendor as usize).and_then(|v| v.stopped) {
                Some(stop) => self.close(o, stop, EndReason::ServerRestart, out),
                None => self.close(o, now, EndReason::EndOfLog, out),
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

    #[test]
    fn clock_rollover_and_tolerance() {
        let mut c = Clock::default();
        assert_eq!(c.tick(23 * 3600), 23 * 3600);
        // Interleaved daemons: a few seconds back is the same day.
        assert_eq!(c.tick(23 * 3600 - 5), 23 * 3600 - 5);
        assert_eq!(c.day, 0);
        // Midnight crossed on an ordinary line.
        assert_eq!(c.tick(60), DAY + 60);
        assert_eq!(c.day, 1);
        // A late line from before midnight stays on the previous day, no second rollover.
        assert_eq!(c.tick(86_399), 86_399);
        assert_eq!(c.tick(120), DAY + 120);
        assert_eq!(c.day, 1);
        // The repeated hour at the end of daylight saving time is not a new day.
        c.tick(3 * 3600 + 10);
        assert_eq!(c.tick(2 * 3600 + 5), DAY + 2 * 3600 + 5);
        assert_eq!(c.day, 1);
        // A long silence across midnight: 22:00 then 08:00 is the next day.
        c.tick(22 * 3600);
        assert_eq!(c.tick(8 * 3600), 2 * DAY + 8 * 3600);
        assert_eq!(c.now(), 2 * DAY + 8 * 3600);
    }

    #[test]
    fn pair_key_distinguishes_fields() {
        let a = pair_key(0, b"f", b"u", b"h", 1, None);
        assert_eq!(a, pair_key(0, b"f", b"u", b"h", 1, None));
        assert_ne!(a, pair_key(1, b"f", b"u", b"h", 1, None));
        assert_ne!(a, pair_key(0, b"f", b"u", b"h", 2, None));
        assert_ne!(a, pair_key(0, b"fu", b"", b"h", 1, None));
        assert_ne!(a, pair_key(0, b"f", b"u", b"h", 1, Some(b"")));
    }

    fn run(log: &str, modified: Option<i64>) -> Batch {
        let mut p = FlexlmLog::default();
        let mut out = Batch::default();
        p.begin(&ImportConfig {
            utc_offset: 0,
            modified,
            resume: None,
            local_times: false,
        })
        .unwrap();
        p.feed(log.as_bytes(), &mut out).unwrap();
        p.finish(&mut out).unwrap();
        out
    }

    #[test]
    fn rollover_on_out_line_then_timestamp() {
        let out = run(
            "23:50:00 (lmgrd) TIMESTAMP 3/5/2022\n23:59:00 (v) OUT: \"f\" u@h  \n 0:01:10 (v) IN: \"f\" u@h  \n",
            None,
        );
        let s = &out.sessions[0];
        assert_eq!(
            tally_plugin_sdk::civil::format_utc(s.start),
            "2022-03-05T23:59:00Z"
        );
        assert_eq!(
            tally_plugin_sdk::civil::format_utc(s.end),
            "2022-03-06T00:01:10Z"
        );
    }

    #[test]
    fn lmgrd_reports_a_vendor_exit_whatever_its_name() {
        let out = run(
            "10:00:00 (lmgrd) TIMESTAMP 1/2/2024\n10:01:00 (SWD) OUT: \"f\" u@h\n\
             10:02:00 (lmgrd) SWD exited with status 2 (No features to serve)\n10:30:00 (lmgrd) TIMESTAMP 1/2/2024\n",
            None,
        );
        assert_eq!(out.sessions.len(), 1);
        assert_eq!(out.sessions[0].end_reason, EndReason::ServerRestart);
        assert_eq!(
            tally_plugin_sdk::civil::format_utc(out.sessions[0].end),
            "2024-01-02T10:02:00Z"
        );
        assert_eq!(out.server_events[0].kind, ServerEventKind::DaemonStop);
    }

    #[test]
    fn garbage_never_panics_and_every_line_counts() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut data = Vec::new();
        let pieces: [&[u8]; 12] = [
            b"OUT: \"",
            b"IN: \"",
            b"DENIED: \"",
            b"UNSUPPORTED: \"",
            b" (",
            b")",
            b"@",
            b"\"",
            b"[",
            b"]",
            b"12:00:00 (v) ",
            b"\n",
        ];
        for _ in 0..50_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if x.is_multiple_of(3) {
                data.push((x >> 8) as u8);
            } else {
                data.extend_from_slice(pieces[(x >> 16) as usize % pieces.len()]);
            }
        }
        let mut p = FlexlmLog::default();
        let mut out = Batch::default();
        p.begin(&ImportConfig::default()).unwrap();
        p.feed(&data, &mut out).unwrap();
        p.finish(&mut out).unwrap();
        let newlines = data.iter().filter(|&&b| b == b'\n').count() as u64;
        assert_eq!(out.lines, newlines + u64::from(data.last() != Some(&b'\n')));
        for s in &out.sessions {
            assert!(s.end >= s.start);
        }
    }

    #[test]
    fn pending_limit_falls_back_to_modified() {
        let mut log = String::new();
        for _ in 0..PENDING_LIMIT + 5 {
            log.push_str("10:00:00 (v) OUT: \"f\" u@h\n10:00:01 (v) IN: \"f\" u@h\n");
        }
        let modified = tally_plugin_sdk::civil::days_from_civil(2020, 1, 2) * DAY + 3600;
        let out = run(&log, Some(modified));
        assert_eq!(out.sessions.len(), PENDING_LIMIT + 5);
        let assumptions: Vec<_> = out
            .diagnostics
            .iter()
            .filter(|d| d.kind == DiagnosticKind::Assumption)
            .collect();
        assert_eq!(assumptions.len(), 1);
        // Sessions leave on their IN line: the limit is reached on line 2 × PENDING_LIMIT, and
        // the modification date is that line's date (all lines share one day here).
        assert_eq!(assumptions[0].line, 2 * PENDING_LIMIT as u64);
        assert!(
            assumptions[0].text.contains("2020-01-02"),
            "{}",
            assumptions[0].text
        );
        assert_eq!(
            tally_plugin_sdk::civil::format_utc(out.sessions[0].start),
            "2020-01-02T10:00:00Z"
        );
        assert_eq!(
            tally_plugin_sdk::civil::format_utc(out.sessions[PENDING_LIMIT + 4].end),
            "2020-01-02T10:00:01Z"
        );
    }
}
