//! {{name}}: a Tally log importer.
//!
//! It reads the usage log of a made-up license server ("ACME"), one event a line in the
//! server's local time; replace the format with yours (`feed` and `parse` are the parts to
//! rewrite):
//!
//! ```text
//! # ACME License Server 4.1 usage log
//! 2025-03-04 09:15:02 OUT solver alice@ws-17 2
//! 2025-03-04 09:47:30 IN solver alice@ws-17
//! 2025-03-04 10:02:11 DENIED mesher carol@ws-09 1 all licenses in use
//! ```
//!
//! `OUT` checks licenses out; `IN` checks in the oldest checkout of the same feature, user and
//! host; `DENIED` is a refused request and its reason. Lines starting with `#` are comments.

use tally_plugin_sdk::checkpoint::{Reader, Writer};
use tally_plugin_sdk::civil::datetime;
use tally_plugin_sdk::text::{shown, text};
use tally_plugin_sdk::{
    Batch, Denial, DenialKind, Diagnostic, DiagnosticKind, EndReason, ImportConfig, Importer,
    PluginError, Session, Timestamp,
};

/// The vendor daemon every record names (an ACME server has one).
const VENDOR: &str = "acme";
/// The layout of [`Importer::checkpoint`]'s bytes; change it when the layout changes, so that
/// an old checkpoint is refused instead of misread.
const CHECKPOINT: u8 = 1;

/// The state an import keeps between chunks.
#[derive(Debug, Default)]
pub struct {{Type}} {
    /// The server clock's offset from UTC, in seconds.
    utc_offset: i64,
    /// Lines read so far: diagnostics name lines of the whole file.
    lines: u64,
    /// The latest time seen; checkouts still open when the log ends end there.
    last: Option<Timestamp>,
    /// Checkouts not checked in yet, oldest first.
    open: Vec<Open>,
}

#[derive(Debug)]
struct Open {
    feature: String,
    user: String,
    host: String,
    count: u32,
    start: Timestamp,
}

/// One event line, its time still in the server's clock.
struct Event<'a> {
    local: Timestamp,
    verb: &'a str,
    feature: &'a str,
    user: &'a str,
    host: &'a str,
    count: u32,
    reason: String,
}

impl Importer for {{Type}} {
    const FORMATS: &'static [&'static str] = &["{{name}}"];

    /// Sure when one of the first lines of the file's head is an event.
    fn sniff(head: &[u8]) -> f32 {
        let head = text(head);
        let mut lines = head.lines().filter(|l| !l.starts_with('#')).take(5);
        if lines.any(|l| parse(l).is_ok()) {
            0.9
        } else {
            0.0
        }
    }

    fn begin(&mut self, config: &ImportConfig) -> Result<(), PluginError> {
        self.utc_offset = config.utc_offset.into();
        if let Some(bytes) = &config.resume {
            self.restore(bytes)?;
        }
        Ok(())
    }

    fn feed(&mut self, chunk: &[u8], out: &mut Batch) -> Result<(), PluginError> {
        for raw in chunk.split_inclusive(|&b| b == b'\n') {
            self.lines += 1;
            let line = text(raw);
            let line = line.trim_end_matches(['\n', '\r']);
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            match parse(line) {
                Ok(event) => self.event(event, out),
                Err(kind) => out.diagnostics.push(Diagnostic {
                    line: self.lines,
                    kind,
                    text: shown(line.as_bytes()),
                }),
            }
        }
        out.lines = self.lines;
        Ok(())
    }

    /// Everything `feed` would need to go on after the last chunk: the host stores it, and an
    /// interrupted import resumes from it (`config.resume` in `begin`).
    fn checkpoint(&self) -> Result<Vec<u8>, PluginError> {
        let mut w = Writer::new(CHECKPOINT);
        w.u64(self.lines);
        w.opt_i64(self.last);
        w.u64(self.open.len() as u64);
        for o in &self.open {
            w.str(&o.feature);
            w.str(&o.user);
            w.str(&o.host);
            w.u64(o.count.into());
            w.i64(o.start);
        }
        Ok(w.finish())
    }

    /// The log ends: checkouts still open end at its last event.
    fn finish(&mut self, out: &mut Batch) -> Result<(), PluginError> {
        for open in std::mem::take(&mut self.open) {
            let end = self.last.unwrap_or(open.start);
            out.sessions.push(session(open, end, EndReason::EndOfLog));
        }
        out.lines = self.lines;
        Ok(())
    }
}

impl {{Type}} {
    fn event(&mut self, e: Event<'_>, out: &mut Batch) {
        let time = e.local - self.utc_offset;
        self.last = Some(self.last.map_or(time, |last| last.max(time)));
        match e.verb {
            "OUT" => self.open.push(Open {
                feature: e.feature.into(),
                user: e.user.into(),
                host: e.host.into(),
                count: e.count,
                start: time,
            }),
            "IN" => {
                let same =
                    |o: &Open| o.feature == e.feature && o.user == e.user && o.host == e.host;
                match self.open.iter().position(same) {
                    Some(i) => {
                        let open = self.open.remove(i);
                        out.sessions.push(session(open, time, EndReason::Checkin));
                    }
                    // Checked out before the log starts: when is unknown, so no session.
                    None => out.diagnostics.push(Diagnostic {
                        line: self.lines,
                        kind: DiagnosticKind::Assumption,
                        text: format!(
                            "{} of {}@{}: checked out before the log starts",
                            e.feature, e.user, e.host
                        ),
                    }),
                }
            }
            _ => out.denials.push(Denial {
                vendor: VENDOR.into(),
                feature: e.feature.into(),
                user: e.user.into(),
                host: e.host.into(),
                count: e.count,
                time,
                kind: DenialKind::Denied,
                code: None,
                reason: (!e.reason.is_empty()).then_some(e.reason),
                requested_version: None,
                until: None,
            }),
        }
    }

    fn restore(&mut self, bytes: &[u8]) -> Result<(), PluginError> {
        let mut r = Reader::new("{{name}}", CHECKPOINT, bytes)?;
        self.lines = r.u64()?;
        self.last = r.opt_i64()?;
        for _ in 0..r.len()? {
            self.open.push(Open {
                feature: r.string()?,
                user: r.string()?,
                host: r.string()?,
                count: r.u32()?,
                start: r.i64()?,
            });
        }
        r.finish()
    }
}

/// `DATE TIME VERB FEATURE USER@HOST [COUNT] [REASON…]`. A line of another shape is
/// `Unrecognised` (the server writes other messages too); an event with a bad field is
/// `Malformed`.
fn parse(line: &str) -> Result<Event<'_>, DiagnosticKind> {
    let mut words = line.split_whitespace();
    let (Some(date), Some(time), Some(verb), Some(feature), Some(who)) = (
        words.next(),
        words.next(),
        words.next(),
        words.next(),
        words.next(),
    ) else {
        return Err(DiagnosticKind::Unrecognised);
    };
    if !matches!(verb, "OUT" | "IN" | "DENIED") {
        return Err(DiagnosticKind::Unrecognised);
    }
    let local = datetime(&format!("{date} {time}")).ok_or(DiagnosticKind::Malformed)?;
    let (user, host) = who.split_once('@').ok_or(DiagnosticKind::Malformed)?;
    let count = match words.next() {
        None => 1,
        Some(n) => n
            .parse()
            .ok()
            .filter(|&n| n > 0)
            .ok_or(DiagnosticKind::Malformed)?,
    };
    Ok(Event {
        local,
        verb,
        feature,
        user,
        host,
        count,
        reason: words.collect::<Vec<_>>().join(" "),
    })
}

fn session(open: Open, end: Timestamp, end_reason: EndReason) -> Session {
    Session {
        vendor: VENDOR.into(),
        feature: open.feature,
        user: open.user,
        host: open.host,
        count: open.count,
        start: open.start,
        // A clock set back (or daylight saving ending) must not end a session before it began.
        end: end.max(open.start),
        end_reason,
        project: None,
    }
}

tally_plugin_sdk::export!(importer: {{Type}});
