//! What the host checks in every result before it trusts it, so that a plugin's tests (and fuzz
//! targets) fail where the host would refuse. Keep in step with the host's `validate.rs` and
//! its record allowance (`import.rs`).

use crate::civil::format_utc;
use crate::{Batch, Diagnostic, Snapshot, Timestamp};

/// 1970-01-01T00:00:00Z, the earliest instant the host accepts.
pub const EARLIEST: Timestamp = 0;
/// 2200-01-01T00:00:00Z, the latest instant the host accepts.
pub const LATEST: Timestamp = 7_258_118_400;

/// The host refuses a result with more records than `RECORDS_PER_LINE` per input line, plus
/// one per `BYTES_PER_RECORD` bytes, plus `RECORD_ALLOWANCE`: every fact comes from the input.
pub const RECORDS_PER_LINE: u64 = 2;
pub const BYTES_PER_RECORD: u64 = 16;
pub const RECORD_ALLOWANCE: u64 = 16;

/// The most records the host takes from `lines` lines of `bytes` bytes.
pub fn allowance(lines: u64, bytes: u64) -> u64 {
    lines * RECORDS_PER_LINE + bytes / BYTES_PER_RECORD + RECORD_ALLOWANCE
}

/// Records of a batch, as the host counts them against [`allowance`].
pub fn batch_records(b: &Batch) -> usize {
    b.sessions.len()
        + b.denials.len()
        + b.queued.len()
        + b.server_events.len()
        + b.diagnostics.len()
        + b.capacities.len()
}

/// Records of a snapshot, as the host counts them against [`allowance`].
pub fn snapshot_records(s: &Snapshot) -> usize {
    s.servers.len()
        + s.servers
            .iter()
            .map(|v| v.vendor_daemons.len())
            .sum::<usize>()
        + s.features.len()
        + s.checkouts.len()
        + s.reservations.len()
        + s.queued.len()
        + s.diagnostics.len()
}

/// The host's checks of a batch — instants from [`EARLIEST`] to [`LATEST`], sessions that end
/// no earlier than they start, counts of at least one — and, the contract's promise,
/// diagnostics on lines `1..=lines` of the input.
pub fn check_batch(b: &Batch, lines: u64) -> Result<(), String> {
    for s in &b.sessions {
        let who = || format!("session {}|{}|{}@{}", s.vendor, s.feature, s.user, s.host);
        instant(s.start).map_err(|e| format!("{}: start {e}", who()))?;
        instant(s.end).map_err(|e| format!("{}: end {e}", who()))?;
        if s.end < s.start {
            return Err(format!(
                "{}: ends {} before it starts {}",
                who(),
                format_utc(s.end),
                format_utc(s.start)
            ));
        }
        positive(s.count).map_err(|e| format!("{}: {e}", who()))?;
    }
    for d in &b.denials {
        let who = || format!("denial {}|{}|{}@{}", d.vendor, d.feature, d.user, d.host);
        instant(d.time).map_err(|e| format!("{}: time {e}", who()))?;
        positive(d.count).map_err(|e| format!("{}: {e}", who()))?;
    }
    for q in &b.queued {
        queued(q)?;
    }
    for e in &b.server_events {
        instant(e.time).map_err(|m| format!("server event {:?} of {}: {m}", e.kind, e.daemon))?;
    }
    for c in &b.capacities {
        let what = |e: String| format!("capacity {}|{}: {e}", c.vendor, c.feature);
        c.valid_from.map_or(Ok(()), instant).map_err(what)?;
        c.expiry.map_or(Ok(()), instant).map_err(what)?;
    }
    diagnostics(&b.diagnostics, lines)
}

/// The host's checks of a snapshot (instants from [`EARLIEST`] to [`LATEST`], counts of at
/// least one, the record [`allowance`]) and diagnostics on lines of `output`.
pub fn check_snapshot(s: &Snapshot, output: &[u8]) -> Result<(), String> {
    // The host counts a poll's lines as its newlines plus one.
    let lines = output.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
    let records = snapshot_records(s) as u64;
    if records > allowance(lines, output.len() as u64) {
        return Err(format!(
            "{records} records for {lines} lines of {} bytes",
            output.len()
        ));
    }
    for f in &s.features {
        f.expiry
            .map_or(Ok(()), instant)
            .map_err(|e| format!("feature {}|{}: expiry {e}", f.vendor, f.name))?;
    }
    for c in &s.checkouts {
        let who = || format!("checkout {}|{}|{}@{}", c.vendor, c.feature, c.user, c.host);
        c.start
            .map_or(Ok(()), instant)
            .map_err(|e| format!("{}: start {e}", who()))?;
        positive(c.count).map_err(|e| format!("{}: {e}", who()))?;
    }
    for r in &s.reservations {
        positive(r.count).map_err(|e| {
            format!(
                "reservation {}|{} for {}: {e}",
                r.vendor, r.feature, r.target
            )
        })?;
    }
    for q in &s.queued {
        queued(q)?;
    }
    diagnostics(&s.diagnostics, lines)
}

/// A sniff score is a confidence from 0.0 to 1.0.
pub fn check_sniff(score: f32) -> Result<(), String> {
    if (0.0..=1.0).contains(&score) {
        Ok(())
    } else {
        Err(format!("sniff score {score} is not within 0.0..=1.0"))
    }
}

fn queued(q: &crate::Queued) -> Result<(), String> {
    let who = || format!("queued {}|{}|{}@{}", q.vendor, q.feature, q.user, q.host);
    q.time
        .map_or(Ok(()), instant)
        .map_err(|e| format!("{}: time {e}", who()))?;
    positive(q.count).map_err(|e| format!("{}: {e}", who()))
}

fn diagnostics(ds: &[Diagnostic], lines: u64) -> Result<(), String> {
    match ds.iter().find(|d| d.line == 0 || d.line > lines) {
        Some(d) => Err(format!(
            "diagnostic on line {} of {lines}: {:?} {}",
            d.line, d.kind, d.text
        )),
        None => Ok(()),
    }
}

fn instant(t: Timestamp) -> Result<(), String> {
    if (EARLIEST..=LATEST).contains(&t) {
        Ok(())
    } else {
        Err(format!(
            "{t} ({}) is outside 1970..2200",
            format_utc(t.clamp(-10_000_000_000_000, 10_000_000_000_000))
        ))
    }
}

fn positive(count: u32) -> Result<(), String> {
    if count == 0 {
        Err("count is 0".into())
    } else {
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::{Checkout, DiagnosticKind, EndReason, Session};

    fn session(start: Timestamp, end: Timestamp, count: u32) -> Batch {
        Batch {
            sessions: vec![Session {
                vendor: "v".into(),
                feature: "f".into(),
                user: "u".into(),
                host: "h".into(),
                count,
                start,
                end,
                end_reason: EndReason::Checkin,
                project: None,
            }],
            ..Batch::default()
        }
    }

    #[test]
    fn batches() {
        assert_eq!(check_batch(&session(10, 20, 1), 1), Ok(()));
        assert_eq!(check_batch(&session(LATEST, LATEST, 1), 1), Ok(()));
        let err = |b: Batch| check_batch(&b, 1).unwrap_err();
        assert!(err(session(20, 10, 1)).contains("before it starts"));
        assert!(err(session(-1, 10, 1)).contains("start -1 (1969-12-31T23:59:59Z)"));
        assert!(err(session(0, LATEST + 1, 1)).contains("end 7258118401"));
        assert!(err(session(0, 1, 0)).contains("count is 0"));
        // Far out of range still says something readable.
        assert!(err(session(i64::MIN, 1, 1)).contains("outside 1970..2200"));
    }

    #[test]
    fn diagnostic_lines_are_in_the_input() {
        let on = |line| Batch {
            diagnostics: vec![Diagnostic {
                line,
                kind: DiagnosticKind::Malformed,
                text: "x".into(),
            }],
            ..Batch::default()
        };
        assert_eq!(check_batch(&on(1), 1), Ok(()));
        assert!(check_batch(&on(0), 1).is_err());
        assert!(check_batch(&on(2), 1).is_err());
    }

    #[test]
    fn snapshots() {
        let checkout = |count| Snapshot {
            checkouts: vec![Checkout {
                feature: "f".into(),
                vendor: "v".into(),
                user: "u".into(),
                host: "h".into(),
                display: None,
                count,
                start: Some(5),
                handle: None,
                linger: None,
                borrowed: false,
            }],
            ..Snapshot::default()
        };
        assert_eq!(check_snapshot(&checkout(1), b"a line"), Ok(()));
        assert!(check_snapshot(&checkout(0), b"a line").is_err());
        // `a\n` is two lines to the host: 2 × 2 + 16 records at most.
        let many = Snapshot {
            checkouts: vec![checkout(1).checkouts[0].clone(); 21],
            ..Snapshot::default()
        };
        assert!(
            check_snapshot(&many, b"a\n")
                .unwrap_err()
                .contains("21 records")
        );
        assert!(check_snapshot(&Snapshot::default(), b"").is_ok());
    }

    #[test]
    fn sniff_scores() {
        assert!(check_sniff(0.0).is_ok() && check_sniff(1.0).is_ok());
        assert!(check_sniff(1.5).is_err() && check_sniff(f32::NAN).is_err());
    }
}
