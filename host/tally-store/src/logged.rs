//! The hours logging was on, per server: seed 004's `NrHours`, the denominator of every report
//! average (tally-core `period::Logged`). Rollup rows exist only for hours with activity; an
//! idle hour counts only if Tally was watching. The rule:
//!
//! * **Imported server**: each import run logged from its first event to its last (sessions,
//!   denials, queued requests, server events). Hours between two runs' files were not logged.
//!   (A log's quiet head and tail, e.g. FlexNet `TIMESTAMP` lines, are not events: importers do
//!   not report them.)
//! * **Polled server**: logged from poll to poll while Tally ran. Polls no further apart than
//!   the gap that makes a server Unmonitored (`MISSED_POLLS` intervals, seed 001) form one span;
//!   after a longer gap a new span starts, so the hours Tally was not running are not logged.
//!
//! An import's span covers every hour it touches, both ends included, whole. A poll span counts
//! the seconds it covers: an average over the first, partly polled hour of a live server is
//! over the part polled (tally-core `period::Logged` keeps seconds per hour). Both kinds are kept as they are
//! written (`import_run.first_event`/`last_event`, table `poll_span`), so a report reads a few
//! rows per server, never the facts.

use std::collections::BTreeMap;

use tally_core::Batch;
use tally_core::period::{Logged, hour_ceil, hour_start};
use tally_core::status::MISSED_POLLS;

use crate::db::{Conn, query};
use crate::{RunId, ServerId, Store, StoreError};

/// The first and last event time of a batch, if it has any.
pub(crate) fn event_span(batch: &Batch) -> Option<(i64, i64)> {
    let times = batch
        .sessions
        .iter()
        .flat_map(|s| [s.start, s.end])
        .chain(batch.denials.iter().map(|d| d.time))
        .chain(batch.queued.iter().filter_map(|q| q.time))
        .chain(batch.server_events.iter().map(|e| e.time));
    times.fold(None, |span, t| match span {
        None => Some((t, t)),
        Some((a, b)) => Some((t.min(a), t.max(b))),
    })
}

/// Widens run `run`'s span to `[first, last]`. Runs inside the batch's transaction.
pub(crate) async fn widen_run(
    conn: &mut Conn,
    run: RunId,
    (first, last): (i64, i64),
) -> Result<(), StoreError> {
    query(
        "UPDATE import_run SET
            first_event = CASE WHEN first_event IS NULL OR first_event > ? THEN ? ELSE first_event END,
            last_event = CASE WHEN last_event IS NULL OR last_event < ? THEN ? ELSE last_event END
         WHERE id = ?",
    )
    .bind(first)
    .bind(first)
    .bind(last)
    .bind(last)
    .bind(run)
    .execute(conn)
    .await?;
    Ok(())
}

/// Whether a poll at `at` continues the span ending at the previous poll `last` of a server
/// polled every `interval` seconds: the same gap rule as the Unmonitored status.
pub(crate) fn continues(last: i64, at: i64, interval: i64) -> bool {
    at >= last && at - last <= MISSED_POLLS * interval + 60
}

/// Records a poll at `at`: extends the span ending at the previous poll `last`, or starts one.
/// `seen_since` is the earliest start of the checkouts the poll saw open. A new span starts
/// there when that is earlier in the same hour (at the hour's start when earlier still): their
/// license-seconds before the poll count in the hour, so the seconds logged must too, or the
/// first hour's average comes out above its peak. Runs inside the poll's transaction.
pub(crate) async fn record_poll(
    conn: &mut Conn,
    server: ServerId,
    last: Option<i64>,
    at: i64,
    interval: i64,
    seen_since: Option<i64>,
) -> Result<(), StoreError> {
    let extended = match last {
        Some(last) if continues(last, at, interval) => {
            query("UPDATE poll_span SET last_poll = ? WHERE server_id = ? AND last_poll = ?")
                .bind(at)
                .bind(server)
                .bind(last)
                .execute(&mut *conn)
                .await?
        }
        _ => 0,
    };
    if extended == 0 {
        let first = seen_since.map_or(at, |start| start.clamp(hour_start(at), at));
        query("INSERT INTO poll_span (server_id, first_poll, last_poll) VALUES (?, ?, ?)")
            .bind(server)
            .bind(first)
            .bind(at)
            .execute(conn)
            .await?;
    }
    Ok(())
}

impl Store {
    /// The hours logging was on for `server` (see the module for the rule), within the hours
    /// from `from`'s to before `to` (instants; `None`: unbounded).
    pub async fn logged_hours(
        &self,
        server: ServerId,
        from: Option<i64>,
        to: Option<i64>,
    ) -> Result<Logged, StoreError> {
        let (from, to) = (
            from.map_or(i64::MIN, hour_start),
            to.map_or(i64::MAX, hour_ceil),
        );
        let rows = query(
            "SELECT first_event, last_event, first_event * 0 FROM import_run
                WHERE server_id = ? AND first_event IS NOT NULL AND last_event >= ? AND first_event < ?
             UNION ALL
             SELECT first_poll, last_poll, first_poll * 0 + 1 FROM poll_span WHERE server_id = ? AND last_poll >= ? AND first_poll < ?",
        )
        .bind(server)
        .bind(from)
        .bind(to)
        .bind(server)
        .bind(from)
        .bind(to)
        .fetch_all(self.pool())
        .await?;
        let mut spans = Vec::with_capacity(rows.len());
        // The third column tells polls (1) from imports (0); an expression of a BIGINT column,
        // so every backend types it as one.
        for r in &rows {
            let (a, b, polled): (i64, i64, i64) = (r.get(0)?, r.get(1)?, r.get(2)?);
            let span = if polled == 1 {
                // Polled: logged from the first poll to the last, to the second, so the first
                // minutes of a live server average over those minutes, not the whole hour.
                a..b.max(a.saturating_add(1))
            } else {
                // Imported: a log covers the hours of its first and last events whole (it was
                // written before and after them, with nothing to report).
                hour_start(a)..hour_ceil(b.saturating_add(1))
            };
            spans.push(span.start.max(from)..span.end.min(to));
        }
        Ok(Logged::from_ranges(spans))
    }

    /// Computes the spans of a history written before they were kept, if a migration asked.
    pub(crate) async fn rebuild_logged_if_asked(&self) -> Result<(), StoreError> {
        if !self.asked("logged", "rebuild").await? {
            return Ok(());
        }
        tracing::info!("computing the logged hours of the stored history");
        self.write(|w| {
            Box::pin(async move { w.transaction(async |w| rebuild(&mut w.conn).await).await })
        })
        .await
    }
}

/// Run spans from their facts, poll spans from the usage samples (one per feature per answered
/// poll): one grouped scan each.
async fn rebuild(conn: &mut Conn) -> Result<(), StoreError> {
    let rows = query(
        "SELECT import_run_id, min(start), max(\"end\") FROM session WHERE import_run_id IS NOT NULL GROUP BY import_run_id
         UNION ALL
         SELECT import_run_id, min(time), max(time) FROM denial WHERE import_run_id IS NOT NULL GROUP BY import_run_id
         UNION ALL
         SELECT import_run_id, min(time), max(time) FROM queued_request
            WHERE import_run_id IS NOT NULL AND time IS NOT NULL GROUP BY import_run_id
         UNION ALL
         SELECT import_run_id, min(time), max(time) FROM server_event WHERE import_run_id IS NOT NULL GROUP BY import_run_id",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut runs: BTreeMap<RunId, (i64, i64)> = BTreeMap::new();
    for r in &rows {
        let (run, a, b): (RunId, i64, i64) = (r.get(0)?, r.get(1)?, r.get(2)?);
        let span = runs.entry(run).or_insert((a, b));
        *span = (span.0.min(a), span.1.max(b));
    }
    for (run, span) in runs {
        widen_run(conn, run, span).await?;
    }

    let polls = query(
        "SELECT DISTINCT s.server_id, s.time, l.query_interval FROM usage_sample s
         JOIN license_server l ON l.id = s.server_id ORDER BY s.server_id, s.time",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut last: Option<(ServerId, i64)> = None;
    for r in &polls {
        let (server, at, interval): (ServerId, i64, i64) = (r.get(0)?, r.get(1)?, r.get(2)?);
        let previous = last.filter(|l| l.0 == server).map(|l| l.1);
        // The samples keep no checkout starts: spans start at their first poll.
        record_poll(conn, server, previous, at, interval, None).await?;
        last = Some((server, at));
    }
    query("UPDATE store_state SET value = 'ok' WHERE name = 'logged'")
        .execute(conn)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tally_core::{DenialKind, EndReason, Session};

    #[test]
    fn a_batch_spans_its_events() {
        let mut b = Batch::default();
        assert_eq!(event_span(&b), None);
        b.sessions.push(Session {
            vendor: 0,
            feature: 0,
            user: 0,
            host: 0,
            count: 1,
            start: 100,
            end: 500,
            end_reason: EndReason::Checkin,
            project: None,
        });
        b.denials.push(tally_core::Denial {
            vendor: 0,
            feature: 0,
            user: 0,
            host: 0,
            count: 1,
            time: 40,
            kind: DenialKind::Denied,
            code: None,
            reason: None,
            requested_version: None,
            until: None,
        });
        assert_eq!(event_span(&b), Some((40, 500)));
    }

    #[test]
    fn polls_continue_until_a_gap() {
        // Every 60 s: the Unmonitored gap is MISSED_POLLS × 60 + 60 s.
        let gap = MISSED_POLLS * 60 + 60;
        assert!(continues(1_000, 1_060, 60));
        assert!(continues(1_000, 1_000 + gap, 60));
        assert!(!continues(1_000, 1_001 + gap, 60));
        // A clock set back starts afresh.
        assert!(!continues(1_000, 999, 60));
    }
}
