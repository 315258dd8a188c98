//! Runs a [`Poller`] natively on a status output and checks the snapshot as the host would.

use super::host::{check_snapshot, check_sniff};
use crate::{PluginError, Poller, Snapshot, Timestamp};

/// The poll time [`fuzz_status`] passes: 2025-01-01T00:00:00Z.
pub const FUZZ_NOW: Timestamp = 1_735_689_600;

/// Parses `output` taken at `now` and checks the result: a snapshot passes
/// [`check_snapshot`](super::check_snapshot), an error is not `Internal`, and the output with
/// CRLF line ends gives what it gives with LF. Returns what `parse_status` returned; panics
/// with what failed.
pub fn check_status<T: Poller>(output: &[u8], now: Timestamp) -> Result<Snapshot, PluginError> {
    let got = T::parse_status(output, now);
    match &got {
        Ok(s) => check_snapshot(s, output).unwrap_or_else(|e| panic!("{e}")),
        Err(PluginError::Internal(e)) => panic!("internal error: {e}"),
        Err(_) => {}
    }
    // The same lines, once with LF and once with CRLF: every `\r` dropped, then one per line.
    let lf: Vec<u8> = output.iter().copied().filter(|&b| b != b'\r').collect();
    let mut crlf = Vec::with_capacity(lf.len() * 2);
    for &b in &lf {
        if b == b'\n' {
            crlf.push(b'\r');
        }
        crlf.push(b);
    }
    match (T::parse_status(&lf, now), T::parse_status(&crlf, now)) {
        (Ok(a), Ok(b)) => assert!(a == b, "CRLF changes the snapshot: {b:?}\nwith LF: {a:?}"),
        (Err(_), Err(_)) => {}
        (a, b) => panic!("CRLF changes the result: {b:?}\nwith LF: {a:?}"),
    }
    got
}

/// The body of a fuzz target for a poller: `sniff` gives a score in `0.0..=1.0`, and
/// [`check_status`] holds at [`FUZZ_NOW`]. The poller may refuse the output, never panic.
pub fn fuzz_status<T: Poller>(data: &[u8]) {
    check_sniff(T::sniff(&data[..data.len().min(4096)])).unwrap_or_else(|e| panic!("{e}"));
    let _ = check_status::<T>(data, FUZZ_NOW);
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::{Diagnostic, DiagnosticKind};

    /// One diagnostic per line that is not `ok`, on the line `lines` numbers; `crlf` in the
    /// output makes it count lines its own way (one too many).
    struct Lines;

    impl Poller for Lines {
        const FORMATS: &'static [&'static str] = &["lines"];
        fn parse_status(output: &[u8], _now: Timestamp) -> Result<Snapshot, PluginError> {
            let text = crate::text::text(output);
            if text.contains("panic") {
                return Err(PluginError::Internal("panic".into()));
            }
            let skew = u64::from(text.contains("skew"));
            let mut s = Snapshot::default();
            for (no, l) in crate::text::lines(&text) {
                if !l.is_empty() && l != "ok" {
                    s.diagnostics.push(Diagnostic {
                        line: no + skew,
                        kind: DiagnosticKind::Unrecognised,
                        text: l.into(),
                    });
                }
            }
            Ok(s)
        }
    }

    #[test]
    fn sound_output_passes() {
        let s = check_status::<Lines>(b"ok\r\nwhat\n", 0).unwrap();
        assert_eq!(s.diagnostics.len(), 1);
        fuzz_status::<Lines>(b"\xff\r\r\nok");
    }

    #[test]
    #[should_panic(expected = "diagnostic on line 2 of 1")]
    fn a_diagnostic_off_the_output_fails() {
        fuzz_status::<Lines>(b"skew");
    }

    #[test]
    #[should_panic(expected = "internal error: panic")]
    fn an_internal_error_fails() {
        fuzz_status::<Lines>(b"panic");
    }

    /// Reads `\r` as a line of its own.
    struct CrLines;

    impl Poller for CrLines {
        const FORMATS: &'static [&'static str] = &["cr"];
        fn parse_status(output: &[u8], _now: Timestamp) -> Result<Snapshot, PluginError> {
            let mut s = Snapshot::default();
            for (i, l) in output.split(|&b| b == b'\n' || b == b'\r').enumerate() {
                if !l.is_empty() {
                    s.diagnostics.push(Diagnostic {
                        line: i as u64 + 1,
                        kind: DiagnosticKind::Unrecognised,
                        text: String::new(),
                    });
                }
            }
            Ok(s)
        }
    }

    #[test]
    #[should_panic(expected = "CRLF changes the snapshot")]
    fn line_ends_that_matter_fail() {
        let _ = check_status::<CrLines>(b"a\nb", 0);
    }
}
