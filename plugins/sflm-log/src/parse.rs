//! The importer: line dispatch, midnight joins, partial grants and the records that leave the
//! guest.
//!
//! **Times.** The seed: "All logging is done in UTC". `ImportConfig::utc_offset` is ignored;
//! times come from the `…(InSeconds)` columns (seconds since 0001-01-01T00:00:00 UTC) and must
//! agree with `Date`/`StartTime`/`EndTime` (see `line::record`).
//!
//! **Midnight.** The seed: "If a license checkout spans from one date in another, an EndTime for
//! the end of day will be specified and a new entry for the next day will be added with
//! StartTime for the beginning of the new day" and "All licenses checked out at the end of the
//! day are considered to be checked-in and immediately checked-out for the next day". So a line
//! is a *first half* when it ends its date (EndTime `23:59:59` or `24:00:00`, the absolute end
//! being that midnight or one second before it); its *next half* is a later line with the same
//! UserName, HostName, ProcessId, ProductId, ProductName, NumberDesired and NumberGranted whose
//! start is exactly that midnight (`00:00:00` of the next date). The two become one session; a
//! chain over several days joins every half. A first half waits for its next half (across
//! chunks and checkpoints); one that never gets it is emitted on its own, ending where its line
//! ends:
//! * with `Checkin` when lines of the next date were read and then lines of a later date (the
//!   next day's file ended without it: it really was checked in at the end of the day);
//! * with `EndOfLog` when a later date comes with no line of the next date at all (that day is
//!   missing from the input), or at the end of the input.
//!
//! Day files are expected in date order, as concatenated day by day; the lines of one day
//! may be in any order.
//!
//! **Partial grants.** NumberDesired > NumberGranted: the session has count NumberGranted and a
//! `Denied` denial for the shortfall (desired − granted) from the session's start `until` its
//! end, reason "partially granted": the seed's TotalDesired is "the number of licenses desired
//! times the length of time they were desired", which Tally's rollups compute as "desired =
//! used + denied" over the interval. Nothing granted: the denial alone over the line's times
//! (reason "not granted"), no session. Lines joined at midnight are one denial, emitted with
//! their session when it closes. Nothing desired and nothing granted: an `Unrecognised`
//! diagnostic.
//!
//! **Names.** vendor `sflm` (the log names no vendor), feature = ProductName (ProductId when the
//! name is empty), user = UserName, host = HostName. ProductId is not kept: `project` means a
//! product a token feature was taken for, which ProductId is not, and the record has no field
//! for a feature id.

use tally_plugin_sdk::{
    Batch, Denial, DenialKind, Diagnostic, DiagnosticKind, EndReason, ImportConfig, Importer,
    PluginError, Session,
};

use crate::line::{self, Header, Record};
use tally_plugin_sdk::civil::DAY;
use tally_plugin_sdk::text::{is_blank, owned, shown};

/// The vendor of every record: the log names none.
pub const VENDOR: &str = "sflm";
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// A check-out whose last line ended its day: waiting for its next-day half.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Open {
    pub user: String,
    pub host: String,
    pub pid: String,
    pub product_id: String,
    pub product_name: String,
    pub desired: u32,
    pub granted: u32,
    pub start: i64,
    pub end: i64,
    /// The midnight at which the next half must start.
    pub next: i64,
    /// A line dated the next half's date has been read.
    pub next_day_seen: bool,
}

impl Open {
    fn continued_by(&self, r: &Record<'_>) -> bool {
        self.next == r.start
            && self.desired == r.desired
            && self.granted == r.granted
            && self.pid.as_bytes() == r.pid
            && self.user.as_bytes() == r.user
            && self.host.as_bytes() == r.host
            && self.product_id.as_bytes() == r.product_id
            && self.product_name.as_bytes() == r.product_name
    }

    /// The date (days since 1970-01-01) of the next half.
    fn next_day(&self) -> i64 {
        self.next.div_euclid(DAY)
    }
}

/// SFLM per-day usage log importer.
#[derive(Default)]
pub struct SflmLog {
    pub(crate) lines: u64,
    /// Date of the last data line (days since 1970-01-01).
    pub(crate) day: Option<i64>,
    /// First halves waiting for their next half, in the order they were read.
    pub(crate) open: Vec<Open>,
}

impl SflmLog {
    fn line(&mut self, raw: &[u8], out: &mut Batch) {
        self.lines += 1;
        let mut l = raw.strip_suffix(b"\r").unwrap_or(raw);
        if self.lines == 1 {
            l = l.strip_prefix(BOM).unwrap_or(l);
        }
        if is_blank(l) {
            return;
        }
        match line::header(l) {
            Some(Header::Log) => return,
            Some(Header::Summary) => {
                return self.diag(
                    out,
                    DiagnosticKind::Unrecognised,
                    format!(
                        "title line of an SFLM Summary file: summaries are not imported, only the per-day usage log: {}",
                        shown(l)
                    ),
                );
            }
            Some(Header::Other) if line::record(l).is_err() => {
                return self.diag(
                    out,
                    DiagnosticKind::Unrecognised,
                    format!("title line with unexpected columns: {}", shown(l)),
                );
            }
            _ => {}
        }
        match line::record(l) {
            Ok(r) => self.on_record(&r, out),
            Err(e) => self.diag(out, DiagnosticKind::Malformed, format!("{e}: {}", shown(l))),
        }
    }

    fn on_record(&mut self, r: &Record<'_>, out: &mut Batch) {
        if self.day != Some(r.day) {
            self.new_day(r.day, out);
        }
        if r.desired == 0 && r.granted == 0 {
            return self.diag(
                out,
                DiagnosticKind::Unrecognised,
                "line with no license desired and none granted".into(),
            );
        }
        if r.starts_day()
            && let Some(i) = self.open.iter().position(|o| o.continued_by(r))
        {
            let mut o = self.open.remove(i);
            o.end = r.end;
            match r.day_end() {
                Some(next) => {
                    o.next = next;
                    o.next_day_seen = false;
                    self.open.push(o);
                }
                None => close(o, EndReason::Checkin, out),
            }
            return;
        }
        let o = Open {
            user: owned(r.user),
            host: owned(r.host),
            pid: owned(r.pid),
            product_id: owned(r.product_id),
            product_name: owned(r.product_name),
            desired: r.desired,
            granted: r.granted,
            start: r.start,
            end: r.end,
            next: 0,
            next_day_seen: false,
        };
        match r.day_end() {
            Some(next) => self.open.push(Open { next, ..o }),
            None => close(o, EndReason::Checkin, out),
        }
    }

    /// The log moved to date `day`: first halves whose next date has passed will not be joined.
    fn new_day(&mut self, day: i64, out: &mut Batch) {
        self.day = Some(day);
        if self.open.is_empty() {
            return;
        }
        let mut i = 0;
        while i < self.open.len() {
            let o = &mut self.open[i];
            if o.next_day() == day {
                o.next_day_seen = true;
            }
            if o.next_day() < day {
                let o = self.open.remove(i);
                let reason = if o.next_day_seen {
                    EndReason::Checkin
                } else {
                    EndReason::EndOfLog
                };
                close(o, reason, out);
            } else {
                i += 1;
            }
        }
    }

    fn diag(&self, out: &mut Batch, kind: DiagnosticKind, text: String) {
        out.diagnostics.push(Diagnostic {
            line: self.lines,
            kind,
            text,
        });
    }
}

fn feature(o: &Open) -> &str {
    if o.product_name.is_empty() {
        &o.product_id
    } else {
        &o.product_name
    }
}

/// Emits the session of a finished check-out (none when nothing was granted).
/// Emits a check-out's session and, when fewer licences were granted than desired, the
/// shortfall as a denial lasting as long.
fn close(o: Open, end_reason: EndReason, out: &mut Batch) {
    if o.desired > o.granted {
        out.denials.push(Denial {
            vendor: VENDOR.into(),
            feature: feature(&o).to_string(),
            user: o.user.clone(),
            host: o.host.clone(),
            count: o.desired - o.granted,
            time: o.start,
            kind: DenialKind::Denied,
            code: None,
            reason: Some(
                if o.granted == 0 {
                    "not granted"
                } else {
                    "partially granted"
                }
                .into(),
            ),
            requested_version: None,
            until: (o.end > o.start).then_some(o.end),
        });
    }
    if o.granted == 0 {
        return;
    }
    out.sessions.push(Session {
        vendor: VENDOR.into(),
        feature: feature(&o).to_string(),
        user: o.user,
        host: o.host,
        count: o.granted,
        start: o.start,
        end: o.end,
        end_reason,
        project: None,
    });
}

impl Importer for SflmLog {
    const FORMATS: &'static [&'static str] = &["sflm-log"];

    fn sniff(head: &[u8]) -> f32 {
        crate::sniff::sniff(head)
    }

    /// The UTC offset is ignored (the log is in UTC), and so is the modification time (every
    /// line carries its date).
    fn begin(&mut self, config: &ImportConfig) -> Result<(), PluginError> {
        *self = match &config.resume {
            Some(state) => crate::ckpt::decode(state)?,
            None => SflmLog::default(),
        };
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
        for o in std::mem::take(&mut self.open) {
            close(o, EndReason::EndOfLog, out);
        }
        out.lines = self.lines;
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::date::CE_TO_UNIX;
    use tally_plugin_sdk::civil::{days_from_civil, format_utc};

    /// A tab-separated line on `y-m-d` from `s` to `e` (seconds after that midnight; `e` may
    /// be 86 400 for `24:00:00`).
    #[allow(clippy::too_many_arguments)]
    fn l(
        who: &str,
        pid: u32,
        prod: &str,
        desired: u32,
        granted: u32,
        ymd: (i64, u32, u32),
        s: i64,
        e: i64,
    ) -> String {
        let day = days_from_civil(ymd.0, ymd.1, ymd.2);
        let hms = |t: i64| format!("{:02}:{:02}:{:02}", t / 3600, t / 60 % 60, t % 60);
        format!(
            "{who}\tpc-{who}\t{pid}\t{prod}-id\t{prod}\t{}\t{}\t{desired}\t{granted}\t{:04}/{:02}/{:02}\t{}\t{}\n",
            day * DAY + s + CE_TO_UNIX,
            day * DAY + e + CE_TO_UNIX,
            ymd.0,
            ymd.1,
            ymd.2,
            hms(s),
            hms(e)
        )
    }

    fn run(log: &str) -> Batch {
        let mut p = SflmLog::default();
        let mut out = Batch::default();
        p.begin(&ImportConfig::default()).unwrap();
        p.feed(log.as_bytes(), &mut out).unwrap();
        p.finish(&mut out).unwrap();
        out
    }

    fn spans(b: &Batch) -> Vec<String> {
        b.sessions
            .iter()
            .map(|s| {
                format!(
                    "{} {} {} {:?}",
                    s.user,
                    format_utc(s.start),
                    format_utc(s.end),
                    s.end_reason
                )
            })
            .collect()
    }

    const D1: (i64, u32, u32) = (2007, 7, 1);
    const D2: (i64, u32, u32) = (2007, 7, 2);
    const D3: (i64, u32, u32) = (2007, 7, 3);
    const D4: (i64, u32, u32) = (2007, 7, 4);

    #[test]
    fn halves_join_over_several_days() {
        let log = [
            l("a", 1, "P", 1, 1, D1, 79_200, DAY - 1),
            l("b", 2, "P", 1, 1, D1, 3600, 7200),
            l("a", 1, "P", 1, 1, D2, 0, DAY),
            l("a", 1, "P", 1, 1, D3, 0, 3600),
        ]
        .concat();
        let b = run(&log);
        assert_eq!(
            spans(&b),
            [
                "b 2007-07-01T01:00:00Z 2007-07-01T02:00:00Z Checkin",
                "a 2007-07-01T22:00:00Z 2007-07-03T01:00:00Z Checkin",
            ]
        );
        assert!(b.diagnostics.is_empty());
    }

    #[test]
    fn a_different_process_or_count_is_not_a_next_half() {
        let log = [
            l("a", 1, "P", 1, 1, D1, 79_200, DAY),
            l("a", 9, "P", 1, 1, D2, 0, 60),
            l("a", 1, "P", 2, 2, D2, 0, 120),
            l("a", 1, "Q", 1, 1, D2, 0, 180),
            l("a", 1, "P", 1, 1, D2, 1, 240),
        ]
        .concat();
        let b = run(&log);
        assert_eq!(b.sessions.len(), 5);
        // The first half is still open at the end of the input.
        assert_eq!(
            spans(&b).last().unwrap(),
            "a 2007-07-01T22:00:00Z 2007-07-02T00:00:00Z EndOfLog"
        );
    }

    #[test]
    fn unjoined_first_halves_close_when_the_log_moves_on() {
        let log = [
            // Checked in at 23:59:59 for real: day 2 has lines, then a later day comes.
            l("a", 1, "P", 1, 1, D1, 3600, DAY - 1),
            l("b", 2, "P", 1, 1, D2, 3600, 7200),
            // Still out at midnight, but day 3 is missing from the input.
            l("c", 3, "P", 1, 1, D2, 79_200, DAY),
            l("e", 5, "P", 1, 1, D4, 60, 120),
        ]
        .concat();
        assert_eq!(
            spans(&run(&log)),
            [
                "b 2007-07-02T01:00:00Z 2007-07-02T02:00:00Z Checkin",
                "a 2007-07-01T01:00:00Z 2007-07-01T23:59:59Z Checkin",
                "c 2007-07-02T22:00:00Z 2007-07-03T00:00:00Z EndOfLog",
                "e 2007-07-04T00:01:00Z 2007-07-04T00:02:00Z Checkin",
            ]
        );
    }

    #[test]
    fn partial_and_refused_grants() {
        let log = [
            l("a", 1, "P", 5, 3, D1, 3600, 7200),
            l("b", 2, "P", 2, 0, D1, 3600, 7200),
            l("c", 3, "P", 0, 0, D1, 3600, 7200),
            // Spanning midnight: one denial, from the start to the joined end.
            l("d", 4, "P", 4, 1, D1, 82_800, DAY),
            l("d", 4, "P", 4, 1, D2, 0, 600),
        ]
        .concat();
        let b = run(&log);
        let d: Vec<String> = b
            .denials
            .iter()
            .map(|d| {
                format!(
                    "{} {} {}..{} {}",
                    d.user,
                    d.count,
                    format_utc(d.time),
                    format_utc(d.until.expect("lasting")),
                    d.reason.as_deref().unwrap()
                )
            })
            .collect();
        assert_eq!(
            d,
            [
                "a 2 2007-07-01T01:00:00Z..2007-07-01T02:00:00Z partially granted",
                "b 2 2007-07-01T01:00:00Z..2007-07-01T02:00:00Z not granted",
                "d 3 2007-07-01T23:00:00Z..2007-07-02T00:10:00Z partially granted",
            ]
        );
        assert_eq!(
            b.sessions
                .iter()
                .map(|s| (s.user.as_str(), s.count))
                .collect::<Vec<_>>(),
            [("a", 3), ("d", 1)]
        );
        assert_eq!(b.diagnostics.len(), 1);
        assert_eq!(b.diagnostics[0].line, 3);
        assert_eq!(b.diagnostics[0].kind, DiagnosticKind::Unrecognised);
    }

    #[test]
    fn garbage_never_panics_and_every_line_counts() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut data = Vec::new();
        let pieces: [&[u8]; 10] = [
            b"\t",
            b"  ",
            b" ",
            b"63318844800",
            b"2007/07/01",
            b"00:00:00",
            b"24:00:00",
            b"UserName",
            b"1",
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
        let mut p = SflmLog::default();
        let mut out = Batch::default();
        p.begin(&ImportConfig::default()).unwrap();
        p.feed(&data, &mut out).unwrap();
        p.finish(&mut out).unwrap();
        let newlines = data.iter().filter(|&&b| b == b'\n').count() as u64;
        assert_eq!(out.lines, newlines + u64::from(data.last() != Some(&b'\n')));
    }
}
