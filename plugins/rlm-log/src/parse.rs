//! The importer: line dispatch, the clock (years and dates carried forward from START and
//! timestamp lines), OUT→IN pairing by server handle, INUSE snapshots, and the records that
//! leave the guest.
//!
//! Times are local seconds since 1970-01-01 (`local`) until a record leaves; then they become
//! UTC with the log's own `TIMEZONE` offset, or the configured one when the log has none.
//!
//! INUSE snapshots: RLM lists every checkout in progress right after `START` (and after a
//! `REREAD`). Such a line re-asserts a session already open, or opens one that began before the
//! log; it is never a new checkout. When a snapshot was listed, sessions it did not list have
//! lost their check-in and end at the snapshot. A `START` that does not follow `SWITCH from` is
//! a new server: what it does not list ends there as a restart.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use tally_plugin_sdk::{
    Batch, Capacity, CapacitySource, Denial, Diagnostic, DiagnosticKind, EndReason, ErrorCode,
    ImportConfig, Importer, PluginError, Queued, ServerEvent, ServerEventKind, Session,
};

use crate::codes;
use crate::date::year_of;
use crate::line::{self, Tokens, When};
use tally_plugin_sdk::civil::{DAY, checked_days, format_day};
use tally_plugin_sdk::text::{owned, shown, shown_n, text};

/// The reference of a log without dates or modification time: 1971-12-31T23:59:59 local.
const UNKNOWN_MODIFIED: i64 = 730 * DAY - 1;

/// A backward clock step up to this size (small format, time of day only) is not a new day.
pub(crate) const TOLERANCE: i64 = 70 * 60;
const BOM: &[u8] = b"\xEF\xBB\xBF";
/// The vendor of records when the log has no `ISV:` header.
const FALLBACK_VENDOR: &str = "rlm";
/// Keywords of the format, to tell a damaged keyword (`--OUT`) from an unknown one.
const KEYWORDS: &[&[u8]] = &[
    b"OUT",
    b"IN",
    b"INUSE",
    b"DENY",
    b"QUE",
    b"DEQUE",
    b"START",
    b"END",
    b"SHUTDOWN",
    b"REREAD",
    b"TIMEJUMP",
    b"SWITCH",
    b"TIMEZONE",
    b"PRODUCT",
    b"LICENSE",
    b"AUTH",
    b"AUTH:",
    b"ISV:",
    b"REPROCESSED",
    b"ROAM_EXTEND",
    b"TEMP",
    b"DYNRES",
    b"METER_DEC",
];

/// A checkout waiting for its check-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Open {
    /// Order of opening: a stable order when several close at once.
    pub seq: u64,
    /// Index into `vendors`.
    pub vendor: u32,
    pub handle: String,
    pub product: String,
    pub user: String,
    pub host: String,
    pub count: u32,
    pub project: Option<String>,
    /// UTC.
    pub start: i64,
    /// Generation of the last snapshot that listed it (0: none).
    pub seen: u64,
}

/// What triggered an INUSE snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SnapKind {
    /// `START` of a server (no `SWITCH from` before it).
    Restart,
    /// `START` of a new log file by the same server (after `SWITCH from`).
    Rotation,
    Reread,
}

/// An INUSE snapshot in progress: it ends at the next activity line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Snapshot {
    pub kind: SnapKind,
    pub local: i64,
    pub generation: u64,
    /// At least one INUSE line was seen.
    pub listed: bool,
}

/// A server event waiting for its time (`SWITCH` lines have none) and for the log's time zone
/// and ISV (`SWITCH from` and `START` come before the `ISV:`/`TIMEZONE` lines of a new file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PendingEvent {
    pub local: Option<i64>,
    pub kind: ServerEventKind,
    pub text: String,
}

/// Hashes the server handle (short ASCII) for the pairing table.
#[derive(Default)]
pub(crate) struct Fx(u64);

impl Hasher for Fx {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x517c_c1b7_2722_0a95);
        }
    }
}

pub(crate) type OpenMap = HashMap<String, Vec<Open>, BuildHasherDefault<Fx>>;

/// `UTC+07:00` for an offset in seconds east of UTC.
fn zone(offset: i64) -> String {
    let sign = if offset < 0 { '-' } else { '+' };
    let a = offset.abs();
    format!("UTC{sign}{:02}:{:02}", a / 3600, a / 60 % 60)
}

/// Reprise RLM report-log importer (std, small and detailed formats).
#[derive(Default)]
pub struct RlmLog {
    /// Configured offset of local time from UTC, seconds (the log's `TIMEZONE` wins).
    pub(crate) config_offset: i64,
    pub(crate) modified: Option<i64>,
    pub(crate) lines: u64,
    /// Seconds east of UTC from the log's `TIMEZONE` line.
    pub(crate) tz_offset: Option<i64>,
    /// The host reads times in the server's time zone: the log's `TIMEZONE` gives way (it is
    /// one offset all year). Given again by every `begin`.
    pub(crate) local_times: bool,
    /// Local time of the latest dated line: the reference for years and dates.
    pub(crate) now: Option<i64>,
    /// Latest local time the log has shown: where sessions still open at the end close.
    pub(crate) last: Option<i64>,
    /// The reference was assumed (no date yet): the next record dates backwards from it.
    pub(crate) backward: bool,
    pub(crate) vendors: Vec<String>,
    /// The current ISV (index into `vendors`).
    pub(crate) vendor: Option<u32>,
    /// Between `RLM Report Log Format` and `START`: free header text is expected.
    pub(crate) in_header: bool,
    /// `SWITCH from` seen: the next `START` is a new log file, not a new server.
    pub(crate) switch_from: bool,
    /// `SWITCH to` seen since the last `START`: the coming `END` ends the file, not the server.
    pub(crate) switched: bool,
    /// `SHUTDOWN` seen since the last `START`.
    pub(crate) shut_down: bool,
    pub(crate) seq: u64,
    pub(crate) generation: u64,
    pub(crate) snapshot: Option<Snapshot>,
    /// Open checkouts by server handle.
    pub(crate) open: OpenMap,
    pub(crate) open_len: usize,
    pub(crate) pending: Vec<PendingEvent>,
}

impl RlmLog {
    fn line(&mut self, raw: &[u8], out: &mut Batch) {
        self.lines += 1;
        let mut l = raw.strip_suffix(b"\r").unwrap_or(raw);
        if self.lines == 1 {
            l = l.strip_prefix(BOM).unwrap_or(l);
        }
        let l = line::trim(l);
        if l.is_empty() {
            return;
        }
        let (kw, rest) = line::split_first(l);
        match kw {
            b"OUT" => self.on_out(rest, l, out),
            b"IN" => self.on_in(rest, l, out),
            b"INUSE" => self.on_inuse(rest, l, out),
            b"DENY" => self.on_deny(rest, l, out),
            b"QUE" => self.on_queue(rest, l, out),
            b"DEQUE" => self.on_dequeue(rest, l, out),
            b"START" => self.on_start(rest, l, out),
            b"END" => self.on_end(rest, l, out),
            b"SHUTDOWN" => self.on_shutdown(rest, l, out),
            b"REREAD" => self.on_reread(rest, l, out),
            b"TIMEJUMP" => self.on_timejump(rest, l, out),
            b"SWITCH" => self.on_switch(rest, l, out),
            b"TIMEZONE" => self.on_timezone(rest, l, out),
            b"PRODUCT" => self.on_product(rest, l, out),
            b"ISV:" => self.on_isv(rest),
            b"RLM" if rest.starts_with(b"Report Log Format") => self.in_header = true,
            // Recognised, nothing to keep: authentication records (`AUTH:` in RLM 14),
            // anonymisation marks, roaming extensions, temporary licenses, dynamic
            // reservations, meter decrements, ISV-specific data.
            b"AUTH:" | b"AUTH" | b"REPROCESSED" | b"ROAM_EXTEND" | b"TEMP" | b"DYNRES"
            | b"METER_DEC" | b"log" => {}
            b"LICENSE" if rest.starts_with(b"FILE") => {}
            _ if kw[0].is_ascii_digit() => self.on_stamp(l, out),
            _ => self.other(kw, l, out),
        }
    }

    /// A line whose first word is no keyword.
    fn other(&mut self, kw: &[u8], l: &[u8], out: &mut Batch) {
        if let Some(rest) = kw.strip_prefix(b"TIMEJUMP") {
            // `TIMEJUMP+15 …`, the sign glued to the keyword.
            if !rest.is_empty() {
                return self.on_timejump(&l[b"TIMEJUMP".len()..], l, out);
            }
        }
        let core = &kw[kw.iter().take_while(|b| !b.is_ascii_alphanumeric()).count()..];
        if core.len() < kw.len() && KEYWORDS.contains(&core) {
            let what = format!("damaged keyword `{}`", shown_n(kw, 24));
            self.diag(
                out,
                DiagnosticKind::Malformed,
                format!("{what}: {}", shown(l)),
            );
        } else if !self.in_header {
            self.diag(
                out,
                DiagnosticKind::Unrecognised,
                format!("unknown record type `{}`: {}", shown_n(kw, 24), shown(l)),
            );
        }
    }

    fn on_out(&mut self, rest: &[u8], l: &[u8], out: &mut Batch) {
        let Some(t) = self.tokens(rest, "OUT", l, out) else {
            return;
        };
        let c = match line::checkout(&t) {
            Ok(c) => c,
            Err(e) => return self.malformed(out, "OUT", e, l),
        };
        let Some(local) = self.at(c.when, false, "OUT", l, out) else {
            return;
        };
        let start = self.utc(local);
        let product = text(c.product);
        let handle = text(c.handle);
        if let Some(old) = self.take(&handle, Some(product.as_ref())) {
            self.diag(
                out,
                DiagnosticKind::Assumption,
                format!(
                    "handle {handle} of {product} checked out again before its check-in: the earlier checkout ends here"
                ),
            );
            self.close(old, start, EndReason::Unknown, out);
        }
        let vendor = self.current_vendor();
        let o = Open {
            seq: self.seq,
            vendor,
            handle: handle.into_owned(),
            product: product.into_owned(),
            user: owned(c.user),
            host: owned(c.host),
            count: c.count,
            project: c.project.filter(|p| !p.is_empty()).map(owned),
            start,
            seen: 0,
        };
        self.insert(o);
    }

    fn on_in(&mut self, rest: &[u8], l: &[u8], out: &mut Batch) {
        let Some(t) = self.tokens(rest, "IN", l, out) else {
            return;
        };
        let i = match line::checkin(&t) {
            Ok(i) => i,
            Err(e) => return self.malformed(out, "IN", e, l),
        };
        let Some(local) = self.at(i.when, false, "IN", l, out) else {
            return;
        };
        let product = i.product.map(text);
        match self.take(&text(i.handle), product.as_deref()) {
            Some(o) => {
                let end = self.utc(local);
                self.close(o, end, codes::end_reason(i.why), out);
            }
            None => self.diag(
                out,
                DiagnosticKind::Unrecognised,
                format!(
                    "IN without a matching OUT or INUSE (checked out before the log starts?): {}",
                    shown(l)
                ),
            ),
        }
    }

    fn on_inuse(&mut self, rest: &[u8], l: &[u8], out: &mut Batch) {
        let Some(t) = self.tokens(rest, "INUSE", l, out) else {
            return;
        };
        let c = match line::inuse(&t) {
            Ok(c) => c,
            Err(e) => return self.malformed(out, "INUSE", e, l),
        };
        let Some(local) = self.resolve(c.when, true, out) else {
            return self.malformed(out, "INUSE", "impossible date", l);
        };
        self.flush(local, out);
        let generation = match &mut self.snapshot {
            Some(s) => {
                s.listed = true;
                s.generation
            }
            None => 0,
        };
        let (handle, product) = (text(c.handle), text(c.product));
        let (user, host) = (text(c.user), text(c.host));
        if let Some(o) = self.open.get_mut(handle.as_ref()).and_then(|q| {
            q.iter_mut()
                .find(|o| o.product == product && o.user == user && o.host == host)
        }) {
            // Re-asserted: the checkout goes on.
            o.seen = generation;
            return;
        }
        // The same handle for someone else: handles restart with the server, the old one ended.
        if let Some(old) = self.take(&handle, Some(product.as_ref())) {
            let (at, reason) = match self.snapshot {
                Some(s) => (s.local, snapshot_reason(s.kind)),
                None => (local, EndReason::Unknown),
            };
            let end = self.utc(at);
            self.close(old, end, reason, out);
        }
        // A checkout older than the log (or than a lost OUT line): it starts here.
        let vendor = self.current_vendor();
        let o = Open {
            seq: self.seq,
            vendor,
            handle: handle.into_owned(),
            product: product.into_owned(),
            user: user.into_owned(),
            host: host.into_owned(),
            count: c.count,
            project: None,
            start: self.utc(local),
            seen: generation,
        };
        self.insert(o);
    }

    fn on_deny(&mut self, rest: &[u8], l: &[u8], out: &mut Batch) {
        let Some(t) = self.tokens(rest, "DENY", l, out) else {
            return;
        };
        let d = match line::deny(&t) {
            Ok(d) => d,
            Err(e) => return self.malformed(out, "DENY", e, l),
        };
        let Some(local) = self.at(d.when, false, "DENY", l, out) else {
            return;
        };
        let base = codes::status_text(d.why);
        // Only a client's last attempt is a denial of the application; earlier ones were
        // refused by this server only (the client may get it elsewhere). Kept, and said.
        let reason = if d.last_attempt {
            base.map(str::to_string)
        } else {
            Some(format!(
                "{} (not the client's last attempt)",
                base.unwrap_or("Denied")
            ))
        };
        let time = self.utc(local);
        let vendor = self.current_vendor();
        out.denials.push(Denial {
            vendor: self.vendors[vendor as usize].clone(),
            feature: owned(d.product),
            user: owned(d.user),
            host: owned(d.host),
            count: d.count,
            time,
            kind: codes::denial_kind(d.why),
            code: Some(ErrorCode {
                major: d.why,
                minor: None,
                errno: None,
            }),
            reason,
            requested_version: Some(owned(d.version)),
            until: None,
        });
    }

    fn on_queue(&mut self, rest: &[u8], l: &[u8], out: &mut Batch) {
        let Some(t) = self.tokens(rest, "QUE", l, out) else {
            return;
        };
        let q = match line::queue(&t) {
            Ok(q) => q,
            Err(e) => return self.malformed(out, "QUE", e, l),
        };
        let Some(local) = self.at(q.when, false, "QUE", l, out) else {
            return;
        };
        let time = self.utc(local);
        let vendor = self.current_vendor();
        out.queued.push(Queued {
            vendor: self.vendors[vendor as usize].clone(),
            feature: owned(q.product),
            user: owned(q.user),
            host: owned(q.host),
            count: q.count,
            time: Some(time),
        });
    }

    fn on_dequeue(&mut self, rest: &[u8], l: &[u8], out: &mut Batch) {
        let Some(t) = self.tokens(rest, "DEQUE", l, out) else {
            return;
        };
        let when = match line::dequeue(&t) {
            Ok(w) => w,
            Err(e) => return self.malformed(out, "DEQUE", e, l),
        };
        if let Some(local) = self.at(when, false, "DEQUE", l, out) {
            self.event(out, local, ServerEventKind::Dequeued, l);
        }
    }

    fn on_start(&mut self, rest: &[u8], l: &[u8], out: &mut Batch) {
        let Some(local) = self.stamp(rest, false, "START", l, out) else {
            return;
        };
        // `SWITCH from` takes this time; both wait for the TIMEZONE line after START.
        for e in &mut self.pending {
            e.local.get_or_insert(local);
        }
        self.settle(out);
        self.set_now(local);
        let rotation = std::mem::take(&mut self.switch_from);
        self.generation += 1;
        self.snapshot = Some(Snapshot {
            kind: if rotation {
                SnapKind::Rotation
            } else {
                SnapKind::Restart
            },
            local,
            generation: self.generation,
            listed: false,
        });
        self.switched = false;
        self.shut_down = false;
        self.in_header = false;
        self.pending.push(PendingEvent {
            local: Some(local),
            kind: if rotation {
                ServerEventKind::Other
            } else {
                ServerEventKind::DaemonStart
            },
            text: owned(l),
        });
    }

    fn on_end(&mut self, rest: &[u8], l: &[u8], out: &mut Batch) {
        let Some(local) = self.stamp(rest, true, "END", l, out) else {
            return;
        };
        self.flush(local, out);
        self.settle(out);
        self.set_now(local);
        // After `SWITCH to` the server goes on writing another file: its checkouts stay open
        // (and a following file's INUSE lines re-assert them). After SHUTDOWN nothing is open.
        let kind = if self.switched || self.shut_down {
            ServerEventKind::Other
        } else {
            self.close_all(local, EndReason::ServerRestart, out);
            ServerEventKind::DaemonStop
        };
        self.event(out, local, kind, l);
    }

    fn on_shutdown(&mut self, rest: &[u8], l: &[u8], out: &mut Batch) {
        let Some(local) = self.dated(rest, 2, "SHUTDOWN", l, out) else {
            return;
        };
        self.close_all(local, EndReason::ServerRestart, out);
        self.shut_down = true;
        self.event(out, local, ServerEventKind::DaemonStop, l);
    }

    fn on_reread(&mut self, rest: &[u8], l: &[u8], out: &mut Batch) {
        let Some(local) = self.dated(rest, 1, "REREAD", l, out) else {
            return;
        };
        self.generation += 1;
        self.snapshot = Some(Snapshot {
            kind: SnapKind::Reread,
            local,
            generation: self.generation,
            listed: false,
        });
        self.event(out, local, ServerEventKind::Reread, l);
    }

    fn on_timejump(&mut self, rest: &[u8], l: &[u8], out: &mut Batch) {
        let first = rest.split(|&b| b == b' ').next().unwrap_or_default();
        if line::int(first).is_none() {
            return self.malformed(out, "TIMEJUMP", "minutes are not a number", l);
        }
        if let Some(local) = self.dated(rest, 1, "TIMEJUMP", l, out) {
            self.event(out, local, ServerEventKind::Other, l);
        }
    }

    fn on_switch(&mut self, rest: &[u8], l: &[u8], out: &mut Batch) {
        if rest.starts_with(b"from") {
            self.switch_from = true;
        } else if rest.starts_with(b"to") {
            self.switched = true;
        } else {
            return self.malformed(out, "SWITCH", "neither `from` nor `to`", l);
        }
        self.settle(out);
        // No time on the line: it takes the time of the next dated line (START / END).
        self.pending.push(PendingEvent {
            local: None,
            kind: ServerEventKind::Other,
            text: owned(l),
        });
    }

    /// `TIMEZONE minutes-west-of-UTC daylight rules # text` (RLM 12.3+).
    fn on_timezone(&mut self, rest: &[u8], l: &[u8], out: &mut Batch) {
        let Some(t) = self.tokens(rest, "TIMEZONE", l, out) else {
            return;
        };
        let (west, daylight) = match (t.n >= 2).then(|| (line::int(t.get(0)), line::int(t.get(1))))
        {
            Some((Some(w), Some(d))) if w.abs() <= 16 * 60 => (w, d),
            _ => return self.malformed(out, "TIMEZONE", "no minutes-west and daylight numbers", l),
        };
        let offset = -i64::from(west) * 60;
        if self.local_times {
            // The host's zone, with its daylight-saving changes, reads the local times.
            return;
        }
        if self.tz_offset != Some(offset) {
            // The server states its own zone: that beats the offset configured for the import.
            if offset != self.config_offset {
                self.diag(
                    out,
                    DiagnosticKind::Assumption,
                    format!(
                        "the log's TIMEZONE ({}) is used instead of the configured offset ({})",
                        zone(offset),
                        zone(self.config_offset)
                    ),
                );
            }
            if daylight != 0 {
                self.diag(
                    out,
                    DiagnosticKind::Assumption,
                    format!(
                        "the server's zone observes daylight saving time but the log gives one offset: times use {} all year",
                        zone(offset)
                    ),
                );
            }
        }
        self.tz_offset = Some(offset);
    }

    /// `PRODUCT name version pool count #res soft_limit "hostid" …`: a license pool the server
    /// serves from its START (or reread) on, its own record of the capacity. A count of 0 is
    /// an uncounted license (RLM's node-locked `uncounted`).
    fn on_product(&mut self, rest: &[u8], l: &[u8], out: &mut Batch) {
        let Some(t) = self.tokens(rest, "PRODUCT", l, out) else {
            return;
        };
        let count = (t.n >= 4).then(|| line::int(t.get(3))).flatten();
        let (Some(count), false) = (count, t.get(0).is_empty()) else {
            return self.malformed(out, "PRODUCT", "no product, version, pool and count", l);
        };
        let Ok(count) = u32::try_from(count) else {
            return self.malformed(out, "PRODUCT", "a negative licence count", l);
        };
        let vendor = self.current_vendor();
        out.capacities.push(Capacity {
            vendor: self.vendors[vendor as usize].clone(),
            feature: owned(t.get(0)),
            version: Some(owned(t.get(1))),
            pool: Some(owned(t.get(2))),
            issued: (count > 0).then_some(count),
            valid_from: self.now.map(|local| self.utc(local)),
            expiry: None,
            source: CapacitySource::Server,
        });
    }

    /// `ISV: <isv>, RLM version <x.y> BL<n>`: the vendor of what follows.
    fn on_isv(&mut self, rest: &[u8]) {
        let name = rest
            .split(|&b| b == b' ' || b == b',')
            .find(|w| !w.is_empty());
        if let Some(name) = name {
            self.vendor = Some(self.vendor_index(name));
        }
    }

    /// The periodic `MM/DD/YYYY HH:MM`.
    fn on_stamp(&mut self, l: &[u8], out: &mut Batch) {
        let Some(local) = self.stamp(l, true, "timestamp", l, out) else {
            return;
        };
        self.flush(local, out);
        self.settle(out);
        self.set_now(local);
    }

    // ---- fields and times --------------------------------------------------------------

    fn tokens<'a>(
        &self,
        rest: &'a [u8],
        what: &str,
        l: &[u8],
        out: &mut Batch,
    ) -> Option<Tokens<'a>> {
        let t = Tokens::new(rest);
        if t.is_none() {
            self.malformed(out, what, "too many fields", l);
        }
        t
    }

    /// A line ending in `MM/DD/YYYY HH:MM[:SS]`, with nothing before the date when `bare`
    /// (START has its host name there).
    fn stamp(
        &mut self,
        rest: &[u8],
        bare: bool,
        what: &str,
        l: &[u8],
        out: &mut Batch,
    ) -> Option<i64> {
        let t = self.tokens(rest, what, l, out)?;
        let local = line::full_stamp(&t)
            .filter(|_| !bare || t.n == 2)
            .and_then(|(y, m, d, secs)| Some(checked_days(y, m, d)? * DAY + secs));
        if local.is_none() {
            self.malformed(out, what, "no valid MM/DD/YYYY HH:MM[:SS]", l);
        }
        local
    }

    /// A line ending in `MM/DD HH:MM:SS` after at least `before` fields; returns its time
    /// after the common steps of [`RlmLog::at`].
    fn dated(
        &mut self,
        rest: &[u8],
        before: usize,
        what: &str,
        l: &[u8],
        out: &mut Batch,
    ) -> Option<i64> {
        let t = self.tokens(rest, what, l, out)?;
        match line::trailing_date(&t, before) {
            Ok(w) => self.at(w, false, what, l, out),
            Err(e) => {
                self.malformed(out, what, e, l);
                None
            }
        }
    }

    /// An activity line's time: resolved, waiting events flushed, a snapshot settled.
    fn at(
        &mut self,
        when: When,
        inuse: bool,
        what: &str,
        l: &[u8],
        out: &mut Batch,
    ) -> Option<i64> {
        let Some(local) = self.resolve(when, inuse, out) else {
            self.malformed(out, what, "impossible date", l);
            return None;
        };
        self.flush(local, out);
        self.settle(out);
        Some(local)
    }

    /// Local time of a record from its own fields and the log's date so far. `MM/DD` takes
    /// the year that puts it nearest the reference (so 12/31 → 01/01 crosses the year); an
    /// INUSE date is never after the reference (its checkout started before the line). A bare
    /// time of day is on the reference's date, or the next when the clock went back.
    fn resolve(&mut self, when: When, inuse: bool, out: &mut Batch) -> Option<i64> {
        let now = match self.now {
            Some(n) => n,
            None => self.assume(out),
        };
        let t = match when {
            When::MonthDay { m, d, secs } => {
                let y = year_of(now.div_euclid(DAY));
                let candidates = (y - 1..=y + 1)
                    .filter_map(|y| checked_days(y, m, d))
                    .map(|days| days * DAY + secs);
                if inuse || self.backward {
                    let all: Vec<i64> = candidates.collect();
                    all.iter()
                        .copied()
                        .filter(|&t| t <= now + DAY)
                        .max()
                        .or_else(|| all.iter().copied().min_by_key(|&t| (t - now).abs()))?
                } else {
                    candidates.min_by_key(|&t| (t - now).abs())?
                }
            }
            When::TimeOnly { secs } => {
                let (day, tod) = (now.div_euclid(DAY), now.rem_euclid(DAY));
                let day = if secs + TOLERANCE < tod {
                    day + 1
                } else if secs - tod > DAY - TOLERANCE {
                    day - 1
                } else {
                    day
                };
                day * DAY + secs
            }
        };
        if inuse {
            // Not a reference for later lines (it may be older than them), but a time seen.
            self.last = Some(self.last.map_or(t, |l| l.max(t)));
        } else {
            self.backward = false;
            self.set_now(t);
        }
        Some(t)
    }

    /// No START or timestamp line before the first record: the date comes from the file's
    /// modification time (or the end of 1971 when unknown: backwards from it, no time falls
    /// before 1970 in any zone, which the host would refuse), and records date backwards from it.
    fn assume(&mut self, out: &mut Batch) -> i64 {
        let (local, what) = match self.modified {
            Some(m) => {
                let local = m + self.offset();
                (
                    local,
                    format!(
                        "the file's modification time ({})",
                        format_day(local.div_euclid(DAY))
                    ),
                )
            }
            None => (
                UNKNOWN_MODIFIED,
                "1971-12-31 (the file's modification time is unknown)".into(),
            ),
        };
        self.diag(
            out,
            DiagnosticKind::Assumption,
            format!("no START or timestamp line before this record: its date and year are taken from {what}"),
        );
        self.now = Some(local);
        self.backward = true;
        local
    }

    fn set_now(&mut self, local: i64) {
        // Free header text ends with the first dated record, START or not.
        self.in_header = false;
        self.now = Some(local);
        self.last = Some(self.last.map_or(local, |l| l.max(local)));
    }

    /// Seconds east of UTC: the log's own `TIMEZONE` when it has one, else the configured.
    fn offset(&self) -> i64 {
        self.tz_offset.unwrap_or(self.config_offset)
    }

    fn utc(&self, local: i64) -> i64 {
        local - self.offset()
    }

    // ---- vendors, events, sessions -----------------------------------------------------

    fn vendor_index(&mut self, name: &[u8]) -> u32 {
        match self.vendors.iter().position(|v| v.as_bytes() == name) {
            Some(i) => i as u32,
            None => {
                self.vendors.push(owned(name));
                (self.vendors.len() - 1) as u32
            }
        }
    }

    fn current_vendor(&mut self) -> u32 {
        match self.vendor {
            Some(v) => v,
            None => {
                let v = self.vendor_index(FALLBACK_VENDOR.as_bytes());
                self.vendor = Some(v);
                v
            }
        }
    }

    fn event(&mut self, out: &mut Batch, local: i64, kind: ServerEventKind, l: &[u8]) {
        let vendor = self.current_vendor();
        out.server_events.push(ServerEvent {
            time: self.utc(local),
            kind,
            daemon: self.vendors[vendor as usize].clone(),
            text: owned(l),
        });
    }

    /// Events waiting for a time leave with `local` (or their own time), in their order.
    fn flush(&mut self, local: i64, out: &mut Batch) {
        if self.pending.is_empty() {
            return;
        }
        let vendor = self.current_vendor();
        for e in std::mem::take(&mut self.pending) {
            out.server_events.push(ServerEvent {
                time: self.utc(e.local.unwrap_or(local)),
                kind: e.kind,
                daemon: self.vendors[vendor as usize].clone(),
                text: e.text,
            });
        }
    }

    /// Ends an INUSE snapshot: what it should have listed and did not has ended.
    fn settle(&mut self, out: &mut Batch) {
        let Some(s) = self.snapshot.take() else {
            return;
        };
        let close = match s.kind {
            SnapKind::Restart => true,
            // Nothing listed may just mean an RLM that writes no INUSE lines: keep all.
            SnapKind::Rotation | SnapKind::Reread => s.listed,
        };
        if !close || self.open_len == 0 {
            return;
        }
        let mut gone = Vec::new();
        self.open.retain(|_, q| {
            let mut i = 0;
            while i < q.len() {
                if q[i].seen == s.generation {
                    i += 1;
                } else {
                    gone.push(q.remove(i));
                }
            }
            !q.is_empty()
        });
        gone.sort_unstable_by_key(|o| o.seq);
        self.open_len -= gone.len();
        let end = self.utc(s.local);
        for o in gone {
            self.close(o, end, snapshot_reason(s.kind), out);
        }
    }

    fn insert(&mut self, o: Open) {
        self.seq += 1;
        self.open_len += 1;
        match self.open.get_mut(o.handle.as_str()) {
            Some(q) => q.push(o),
            None => {
                self.open.insert(o.handle.clone(), vec![o]);
            }
        }
    }

    /// Removes the oldest open checkout on `handle` (of `product`, when the line names it).
    fn take(&mut self, handle: &str, product: Option<&str>) -> Option<Open> {
        let q = self.open.get_mut(handle)?;
        let i = q
            .iter()
            .position(|o| product.is_none_or(|p| o.product == p))?;
        let o = q.remove(i);
        if q.is_empty() {
            self.open.remove(handle);
        }
        self.open_len -= 1;
        Some(o)
    }

    fn close_all(&mut self, local: i64, reason: EndReason, out: &mut Batch) {
        if self.open_len == 0 {
            return;
        }
        let mut all: Vec<Open> = self.open.drain().flat_map(|(_, q)| q).collect();
        all.sort_unstable_by_key(|o| o.seq);
        self.open_len = 0;
        let end = self.utc(local);
        for o in all {
            self.close(o, end, reason, out);
        }
    }

    fn close(&self, o: Open, end: i64, end_reason: EndReason, out: &mut Batch) {
        out.sessions.push(Session {
            vendor: self
                .vendors
                .get(o.vendor as usize)
                .cloned()
                .unwrap_or_default(),
            feature: o.product,
            user: o.user,
            host: o.host,
            count: o.count,
            start: o.start,
            end: end.max(o.start),
            end_reason,
            project: o.project,
        });
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

fn snapshot_reason(kind: SnapKind) -> EndReason {
    match kind {
        SnapKind::Restart => EndReason::ServerRestart,
        SnapKind::Rotation | SnapKind::Reread => EndReason::Unknown,
    }
}

impl Importer for RlmLog {
    const FORMATS: &'static [&'static str] = &["rlm-reportlog"];

    fn sniff(head: &[u8]) -> f32 {
        crate::sniff::sniff(head)
    }

    fn begin(&mut self, config: &ImportConfig) -> Result<(), PluginError> {
        if let Some(state) = &config.resume {
            *self = crate::ckpt::decode(state)?;
        }
        self.config_offset = i64::from(config.utc_offset);
        self.modified = config.modified;
        self.local_times = config.local_times;
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
        if !self.pending.is_empty() {
            let at = match self.last {
                Some(l) => l,
                None => self.assume(out),
            };
            self.flush(at, out);
        }
        self.settle(out);
        if let Some(last) = self.last {
            self.close_all(last, EndReason::EndOfLog, out);
        }
        out.lines = self.lines;
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use tally_plugin_sdk::civil::{days_from_civil, format_utc};

    fn at(y: i64, m: u32, d: u32, h: i64, min: i64) -> i64 {
        days_from_civil(y, m, d) * DAY + h * 3600 + min * 60
    }

    fn with_now(now: i64) -> RlmLog {
        RlmLog {
            now: Some(now),
            ..RlmLog::default()
        }
    }

    fn md(m: u32, d: u32, h: i64) -> When {
        When::MonthDay {
            m,
            d,
            secs: h * 3600,
        }
    }

    #[test]
    fn years_follow_the_reference_both_ways() {
        let mut out = Batch::default();
        let mut p = with_now(at(2024, 12, 31, 23, 0));
        assert_eq!(
            p.resolve(md(1, 1, 0), false, &mut out),
            Some(at(2025, 1, 1, 0, 0))
        );
        // The reference moved into 2025: a late 12/31 line is still 2024.
        assert_eq!(
            p.resolve(md(12, 31, 23), false, &mut out),
            Some(at(2024, 12, 31, 23, 0))
        );
        // INUSE: never after the reference, however near the next year's date is.
        let mut p = with_now(at(2024, 12, 31, 23, 0));
        assert_eq!(
            p.resolve(md(6, 15, 9), true, &mut out),
            Some(at(2024, 6, 15, 9, 0))
        );
        assert_eq!(
            p.now,
            Some(at(2024, 12, 31, 23, 0)),
            "INUSE is no reference"
        );
        // Feb 29 only exists in a leap year.
        let mut p = with_now(at(2025, 3, 1, 0, 0));
        assert_eq!(
            p.resolve(md(2, 29, 1), false, &mut out),
            Some(at(2024, 2, 29, 1, 0))
        );
        assert_eq!(p.resolve(md(2, 30, 1), false, &mut out), None);
        assert!(out.diagnostics.is_empty());
    }

    #[test]
    fn time_of_day_rolls_over_midnight_with_tolerance() {
        let mut out = Batch::default();
        let mut p = with_now(at(2023, 6, 30, 23, 50));
        let t = |h: i64, m: i64| When::TimeOnly {
            secs: h * 3600 + m * 60,
        };
        assert_eq!(
            p.resolve(t(0, 5), false, &mut out),
            Some(at(2023, 7, 1, 0, 5))
        );
        // A few minutes back is the same day, not another rollover.
        assert_eq!(
            p.resolve(t(0, 1), false, &mut out),
            Some(at(2023, 7, 1, 0, 1))
        );
        // A late line from just before midnight stays on the day before.
        assert_eq!(
            p.resolve(t(23, 59), false, &mut out),
            Some(at(2023, 6, 30, 23, 59))
        );
    }

    #[test]
    fn bom_no_break_spaces_and_indentation_are_tolerated() {
        let log = "\u{feff}RLM Report Log Format 0, version 14.1, authenticated\n\
                   START\u{a0}srv 01/02/2024 09:00:00\n\
                   \u{20}\u{20}OUT p 1.0 1 u\u{a0}h \"\" 1 1 0 1a 1a 9 \"\" \"\" \"\" 01/02 09:05:00\u{a0}\r\n\
                   IN 1 p 1.0 u h \"\" 1 0 0 1a 01/02 09:10:00\t\n";
        let mut p = RlmLog::default();
        let mut out = Batch::default();
        p.begin(&ImportConfig::default()).unwrap();
        p.feed(log.as_bytes(), &mut out).unwrap();
        p.finish(&mut out).unwrap();
        assert!(out.diagnostics.is_empty(), "{:?}", out.diagnostics);
        assert_eq!(out.sessions.len(), 1);
        let s = &out.sessions[0];
        assert_eq!((s.user.as_str(), s.host.as_str()), ("u", "h"));
        assert_eq!(format_utc(s.start), "2024-01-02T09:05:00Z");
        assert_eq!(out.server_events[0].kind, ServerEventKind::DaemonStart);
    }

    #[test]
    fn undated_log_without_modification_time_stays_after_1970() {
        // Dating backwards from 1970-01-01 gave 1969-12-30, which the host refuses.
        let log = b"OUT p 1.0 1 u h \"\" 1 1 0 5 5 1 \"\" \"\" \"\" 01/01 00:30:00\n";
        let mut p = RlmLog::default();
        p.begin(&ImportConfig {
            utc_offset: 14 * 3600,
            ..ImportConfig::default()
        })
        .unwrap();
        let mut out = Batch::default();
        p.feed(log, &mut out).unwrap();
        p.finish(&mut out).unwrap();
        // 1972-01-01 00:30 local: within a day after the reference, so not a year back.
        assert_eq!(format_utc(out.sessions[0].start), "1971-12-31T10:30:00Z");
        assert!(out.diagnostics[0].text.contains("1971-12-31"));
    }

    #[test]
    fn records_of_no_licenses_are_malformed() {
        // Found by fuzzing: the host refuses a whole batch holding a session of 0 licenses.
        let log = b"OUT p 1.0 1 u h \"\" 0 1 0 6 6 1 \"\" \"\" \"\" 01/01 09:00:00\n\
            DENY p 1.0 u h \"\" 0 5 0 01/01 09:00:00\n";
        let cfg = tally_plugin_sdk::testing::config(0, Some(1_700_000_000));
        let b = tally_plugin_sdk::testing::check_import::<RlmLog>(log, &cfg);
        assert!(b.sessions.is_empty() && b.denials.is_empty());
        let diags: Vec<_> = b.diagnostics.iter().map(|d| (d.line, d.kind)).collect();
        assert_eq!(
            diags,
            [
                (1, DiagnosticKind::Malformed),
                (2, DiagnosticKind::Malformed)
            ]
        );
        assert!(
            b.diagnostics[0]
                .text
                .contains("count is not a positive number")
        );
    }

    #[test]
    fn garbage_never_panics_and_every_line_counts() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut data = Vec::new();
        let pieces: [&[u8]; 16] = [
            b"OUT ",
            b"IN ",
            b"INUSE ",
            b"DENY ",
            b"START ",
            b"END ",
            b"\"",
            b" ",
            b"09/04 ",
            b"12/31/2024 ",
            b"23:59:59.5 ",
            b"SWITCH to ",
            b"REREAD ",
            b"1a ",
            b"\xC2\xA0",
            b"\n",
        ];
        for _ in 0..60_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if x.is_multiple_of(4) {
                data.push((x >> 8) as u8);
            } else {
                data.extend_from_slice(pieces[(x >> 16) as usize % pieces.len()]);
            }
        }
        let mut p = RlmLog::default();
        let mut out = Batch::default();
        p.begin(&ImportConfig::default()).unwrap();
        p.feed(&data, &mut out).unwrap();
        p.finish(&mut out).unwrap();
        let newlines = data.iter().filter(|&&b| b == b'\n').count() as u64;
        assert_eq!(out.lines, newlines + u64::from(data.last() != Some(&b'\n')));
        for s in &out.sessions {
            assert!(s.end >= s.start);
        }
        let records = out.sessions.len()
            + out.denials.len()
            + out.queued.len()
            + out.server_events.len()
            + out.diagnostics.len();
        assert!(records as u64 <= 2 * out.lines);
    }
}
