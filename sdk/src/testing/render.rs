//! An importer's records as compact strings, so that tests compare them exactly.

use crate::civil::format_utc;
use crate::{Batch, DiagnosticKind, Queued};

/// `vendor|feature|user|host|count|start|end|end_reason|project`
pub fn sessions(b: &Batch) -> Vec<String> {
    b.sessions
        .iter()
        .map(|s| {
            format!(
                "{}|{}|{}|{}|{}|{}|{}|{:?}|{}",
                s.vendor,
                s.feature,
                s.user,
                s.host,
                s.count,
                format_utc(s.start),
                format_utc(s.end),
                s.end_reason,
                s.project.as_deref().unwrap_or("-")
            )
        })
        .collect()
}

/// `vendor|feature|user|host|count|time|kind|major,minor:errno|reason|requested_version`, then
/// `|until <time>` for a lasting denial.
pub fn denials(b: &Batch) -> Vec<String> {
    b.denials
        .iter()
        .map(|d| {
            let code = d.code.map_or("-".to_string(), |c| {
                format!(
                    "{},{}:{}",
                    c.major,
                    c.minor.map_or("-".into(), |m| m.to_string()),
                    c.errno.map_or("-".into(), |e| e.to_string())
                )
            });
            let until = d
                .until
                .map_or(String::new(), |t| format!("|until {}", format_utc(t)));
            format!(
                "{}|{}|{}|{}|{}|{}|{:?}|{}|{}|{}{until}",
                d.vendor,
                d.feature,
                d.user,
                d.host,
                d.count,
                format_utc(d.time),
                d.kind,
                code,
                d.reason.as_deref().unwrap_or("-"),
                d.requested_version.as_deref().unwrap_or("-")
            )
        })
        .collect()
}

/// `vendor|feature|user|host|count|time`
pub fn queued(b: &Batch) -> Vec<String> {
    b.queued.iter().map(queued_row).collect()
}

/// One queued request, for both an importer's batch and a poller's snapshot.
pub(super) fn queued_row(q: &Queued) -> String {
    format!(
        "{}|{}|{}|{}|{}|{}",
        q.vendor,
        q.feature,
        q.user,
        q.host,
        q.count,
        q.time.map_or("-".into(), format_utc)
    )
}

/// `time|kind|daemon|text`
pub fn events(b: &Batch) -> Vec<String> {
    b.server_events
        .iter()
        .map(|e| {
            format!(
                "{}|{:?}|{}|{}",
                format_utc(e.time),
                e.kind,
                e.daemon,
                e.text
            )
        })
        .collect()
}

/// `vendor|feature|version|pool|issued|valid_from|expiry|source`, `-` for what is not said,
/// `uncounted` for no count.
pub fn capacities(b: &Batch) -> Vec<String> {
    let time = |t: Option<i64>| t.map_or("-".to_string(), format_utc);
    b.capacities
        .iter()
        .map(|c| {
            format!(
                "{}|{}|{}|{}|{}|{}|{}|{:?}",
                c.vendor,
                c.feature,
                c.version.as_deref().unwrap_or("-"),
                c.pool.as_deref().unwrap_or("-"),
                c.issued.map_or("uncounted".to_string(), |n| n.to_string()),
                time(c.valid_from),
                time(c.expiry),
                c.source
            )
        })
        .collect()
}

/// `line|kind` of every diagnostic.
pub fn diags(b: &Batch) -> Vec<String> {
    b.diagnostics
        .iter()
        .map(|d| format!("{}|{:?}", d.line, d.kind))
        .collect()
}

/// How many diagnostics of `kind` the batch holds.
pub fn count(b: &Batch, kind: DiagnosticKind) -> usize {
    b.diagnostics.iter().filter(|d| d.kind == kind).count()
}
