//! The importer: line dispatch, the two lists of the start-up report, and the records that leave
//! the guest.
//!
//! Records (all server events; LM-X writes the server's local time, shifted to UTC by
//! `ImportConfig::utc_offset`):
//! * the banner `LM-X License Server v… build … on <host> (<platform>)` → `ServerStart`, daemon
//!   `lmx-serv`, the banner (with the server version) as text;
//! * `Serving licenses for vendor X.` → `DaemonStart`, daemon `X` (LM-X serves each vendor
//!   from its library inside `lmx-serv`; this line is the vendor's coming up);
//! * each entry under `License file(s):` → `Other`, text `License file: <path>`;
//! * each entry under `Serving following features:` → `Other`, text `Serving feature: <name>
//!   (v<version>) (<n> license(s)) …` as the log writes it;
//! * `WARNING: …` (and, UNVERIFIED, `ERROR: …`) → `Other` with the message;
//! * UNVERIFIED: a message about shutting down → `ServerStop`.
//!
//! Known informational lines (copyright, ports, paths, HostId, "Ready to serve...") give
//! nothing. A line about checkouts, checkins, denials, borrowing or queueing (by keyword) is an
//! `Unrecognised` diagnostic saying so: no public sample shows LM-X's grammar for them. Any other
//! timed message is `Unrecognised`; a non-blank line without a valid time is `Malformed`.

use tally_plugin_sdk::{
    Batch, Diagnostic, DiagnosticKind, ImportConfig, Importer, PluginError, ServerEvent,
    ServerEventKind,
};

use crate::line::{self, Msg};
use tally_plugin_sdk::civil::DAY;
use tally_plugin_sdk::text::{is_blank, shown, text};

/// The process that writes the log.
pub const SERVER: &str = "lmx-serv";
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Which list of the start-up report the next lines belong to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum List {
    #[default]
    None,
    /// After `License file(s):`.
    Files,
    /// After `Serving following features:`, until an empty message.
    Features,
}

/// LM-X License Server log importer.
#[derive(Default)]
pub struct LmxLog {
    pub(crate) utc_offset: i64,
    pub(crate) lines: u64,
    pub(crate) list: List,
}

impl LmxLog {
    fn line(&mut self, raw: &[u8], out: &mut Batch) {
        self.lines += 1;
        let mut l = raw.strip_suffix(b"\r").unwrap_or(raw);
        if self.lines == 1 {
            l = l.strip_prefix(BOM).unwrap_or(l);
        }
        let p = match line::prefix(l) {
            Ok(p) => p,
            Err(why) => {
                if !is_blank(l) {
                    let why = why.unwrap_or("no `[YYYY-MM-DD HH:MM:SS]` time prefix");
                    self.diag(
                        out,
                        DiagnosticKind::Malformed,
                        format!("{why}: {}", shown(l)),
                    );
                }
                return;
            }
        };
        let time = p.day * DAY + p.secs - self.utc_offset;
        let msg = p.msg;
        let kind = line::classify(msg);
        match self.list {
            List::Files if kind == Msg::Unknown && line::is_license_location(msg) => {
                return self.event(
                    out,
                    time,
                    ServerEventKind::Other,
                    SERVER,
                    "License file: ",
                    msg,
                );
            }
            List::Features if line::feature(msg).is_some() => {
                return self.event(
                    out,
                    time,
                    ServerEventKind::Other,
                    SERVER,
                    "Serving feature: ",
                    msg,
                );
            }
            _ => self.list = List::None,
        }
        match kind {
            Msg::Empty | Msg::Info => {}
            Msg::Banner => self.event(out, time, ServerEventKind::ServerStart, SERVER, "", msg),
            Msg::Vendor(v) => {
                let v = text(v).into_owned();
                self.event(out, time, ServerEventKind::DaemonStart, &v, "", msg);
            }
            Msg::Warning => self.event(out, time, ServerEventKind::Other, SERVER, "", msg),
            Msg::LicenseFiles(rest) => {
                self.list = List::Files;
                if !rest.is_empty() {
                    self.event(out, time, ServerEventKind::Other, SERVER, "License file: ", rest);
                }
            }
            Msg::Features => self.list = List::Features,
            Msg::Stop => self.event(out, time, ServerEventKind::ServerStop, SERVER, "", msg),
            Msg::Usage => self.diag(
                out,
                DiagnosticKind::Unrecognised,
                format!(
                    "LM-X checkout/checkin/denial line: no public sample shows its grammar, not imported: {}",
                    shown(l)
                ),
            ),
            Msg::Unknown => self.diag(
                out,
                DiagnosticKind::Unrecognised,
                format!("unknown LM-X message: {}", shown(l)),
            ),
        }
    }

    fn event(
        &self,
        out: &mut Batch,
        time: i64,
        kind: ServerEventKind,
        daemon: &str,
        lead: &str,
        msg: &[u8],
    ) {
        out.server_events.push(ServerEvent {
            time,
            kind,
            daemon: daemon.to_string(),
            text: format!("{lead}{}", text(msg)),
        });
    }

    fn diag(&self, out: &mut Batch, kind: DiagnosticKind, text: String) {
        out.diagnostics.push(Diagnostic {
            line: self.lines,
            kind,
            text,
        });
    }
}

impl Importer for LmxLog {
    const FORMATS: &'static [&'static str] = &["lmx-log"];

    fn sniff(head: &[u8]) -> f32 {
        crate::sniff::sniff(head)
    }

    /// Every line carries its full date: the modification time is not needed.
    fn begin(&mut self, config: &ImportConfig) -> Result<(), PluginError> {
        *self = match &config.resume {
            Some(state) => crate::ckpt::decode(state)?,
            None => LmxLog::default(),
        };
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

    /// Nothing stays open: the log yields no sessions.
    fn finish(&mut self, out: &mut Batch) -> Result<(), PluginError> {
        out.lines = self.lines;
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn run(log: &str, utc_offset: i32) -> Batch {
        let mut p = LmxLog::default();
        let mut out = Batch::default();
        p.begin(&ImportConfig {
            utc_offset,
            ..ImportConfig::default()
        })
        .unwrap();
        p.feed(log.as_bytes(), &mut out).unwrap();
        p.finish(&mut out).unwrap();
        out
    }

    #[test]
    fn lists_end_at_an_empty_message_or_another_message() {
        let out = run(
            "[2021-05-26 13:38:30] License file(s):\n[2021-05-26 13:38:30] /a.lic\n[2021-05-26 13:38:30] 6200@srv\n\
             [2021-05-26 13:38:30] Log format: Normal\n[2021-05-26 13:38:30] /b.lic\n\
             [2021-05-26 13:38:30] Serving following features:\n[2021-05-26 13:38:30] f (v1) (2 license(s))\n\
             [2021-05-26 13:38:30]\n[2021-05-26 13:38:30] g (v1) (2 license(s))\n",
            3600,
        );
        let texts: Vec<&str> = out.server_events.iter().map(|e| e.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "License file: /a.lic",
                "License file: 6200@srv",
                "Serving feature: f (v1) (2 license(s))"
            ]
        );
        // Local 13:38:30 at UTC+1.
        assert_eq!(
            tally_plugin_sdk::civil::format_utc(out.server_events[0].time),
            "2021-05-26T12:38:30Z"
        );
        let lines: Vec<u64> = out.diagnostics.iter().map(|d| d.line).collect();
        assert_eq!(lines, [5, 9]);
    }

    #[test]
    fn garbage_never_panics_and_every_line_counts() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut data = Vec::new();
        let pieces: [&[u8]; 9] = [
            b"[2021-05-26 13:38:30]",
            b" ",
            b"License file(s):",
            b"Serving following features:",
            b" (v",
            b") (",
            b" license(s))",
            b"/",
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
        let mut p = LmxLog::default();
        let mut out = Batch::default();
        p.begin(&ImportConfig::default()).unwrap();
        p.feed(&data, &mut out).unwrap();
        p.finish(&mut out).unwrap();
        let newlines = data.iter().filter(|&&b| b == b'\n').count() as u64;
        assert_eq!(out.lines, newlines + u64::from(data.last() != Some(&b'\n')));
        assert!(out.server_events.len() + out.diagnostics.len() <= out.lines as usize);
    }
}
