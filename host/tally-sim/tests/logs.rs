//! The logs, read by Tally's own importers (`tally_plugin_sdk::testing::run`), give back the
//! ground truth: every session with its end reason, every denial, the shutdowns and restarts.
mod common;

use common::*;
use flexlm_log::FlexlmLog;
use lmx_log::LmxLog;
use rlm_log::RlmLog;
use tally_plugin_sdk::testing::{physical_lines, run};
use tally_plugin_sdk::{Batch, DenialKind, EndReason, ImportConfig, Importer, ServerEventKind};
use tally_sim::workload::{EndReason as SimEnd, Ev};
use tally_sim::{Workload, flexlm, rlm};

fn import<I: Importer>(log: &str) -> Batch {
    let b = run::<I>(log.as_bytes(), &ImportConfig::default(), 4096);
    assert_eq!(b.lines, physical_lines(log.as_bytes()));
    b
}

/// `feature|user|host|count|start|end|reason` of the truth up to `until`: a session still out
/// then ends at `last` (the log's last line) with `EndOfLog`.
fn truth(w: &Workload<'_>, until: i64, last: i64, shutdown: EndReason) -> Vec<String> {
    let mut v: Vec<String> = w
        .sessions
        .iter()
        .filter(|s| s.start <= until)
        .map(|s| {
            let (end, reason) = match s.end_reason {
                _ if s.end > until => (last, EndReason::EndOfLog),
                SimEnd::Checkin => (s.end, EndReason::Checkin),
                SimEnd::Shutdown => (s.end, shutdown),
            };
            format!(
                "{}|{}|{}|{}|{}|{end}|{reason:?}",
                w.server.features[s.feature].name,
                w.user(s.user),
                w.host(s.user),
                s.count,
                s.start
            )
        })
        .collect();
    v.sort();
    v
}

fn sessions(b: &Batch, vendor: &str) -> Vec<String> {
    let mut v: Vec<String> = b
        .sessions
        .iter()
        .map(|s| {
            assert_eq!(s.vendor, vendor);
            format!(
                "{}|{}|{}|{}|{}|{}|{:?}",
                s.feature, s.user, s.host, s.count, s.start, s.end, s.end_reason
            )
        })
        .collect();
    v.sort();
    v
}

fn denials(b: &Batch) -> Vec<String> {
    let mut v: Vec<String> = b
        .denials
        .iter()
        .map(|d| {
            assert_eq!(d.kind, DenialKind::Denied);
            format!("{}|{}|{}|{}|{}", d.feature, d.user, d.host, d.count, d.time)
        })
        .collect();
    v.sort();
    v
}

fn truth_denials(w: &Workload<'_>, until: i64) -> Vec<String> {
    let mut v: Vec<String> = w
        .denials
        .iter()
        .filter(|d| d.time <= until)
        .map(|d| {
            format!(
                "{}|{}|{}|{}|{}",
                w.server.features[d.feature].name,
                w.user(d.user),
                w.host(d.user),
                d.count,
                d.time
            )
        })
        .collect();
    v.sort();
    v
}

fn events(b: &Batch, kind: ServerEventKind) -> Vec<i64> {
    b.server_events
        .iter()
        .filter(|e| e.kind == kind)
        .map(|e| e.time)
        .collect()
}

/// The time of the log's last line: the last event, or a periodic stamp written while up.
fn last_time(w: &Workload<'_>, until: i64, stamp_every: i64) -> i64 {
    w.timeline(until, stamp_every)
        .iter()
        .filter(|e| e.1 != Ev::Stamp || w.is_up(e.0))
        .map(|e| e.0)
        .next_back()
        .unwrap_or(w.start)
}

#[test]
fn flexlm_debug_log_imports_to_the_truth() {
    let sc = scenario();
    let w = workload(&sc, "flex1");
    let log = tally_sim::log(&sc, w.server, None);
    let b = import::<FlexlmLog>(&log);
    assert!(
        b.diagnostics.is_empty(),
        "{:?}",
        &b.diagnostics[..b.diagnostics.len().min(5)]
    );
    let end = w.natural_end();
    assert_eq!(
        sessions(&b, "ansyslmd"),
        truth(&w, end, end, EndReason::Shutdown)
    );
    assert!(b.sessions.len() > 100, "{}", b.sessions.len());
    assert!(
        b.sessions
            .iter()
            .any(|s| s.end_reason == EndReason::Shutdown)
    );
    assert_eq!(denials(&b), truth_denials(&w, end));
    assert!(!b.denials.is_empty());
    assert!(
        b.denials
            .iter()
            .all(|d| d.code.is_some_and(|c| c.major == -4))
    );
    let (a, z) = w.downs[0];
    assert_eq!(events(&b, ServerEventKind::ServerStart), [w.start, z]);
    assert_eq!(events(&b, ServerEventKind::ServerStop), [a]);
}

#[test]
fn rlm_report_log_imports_to_the_truth() {
    let sc = scenario();
    let w = workload(&sc, "rlm1");
    let log = tally_sim::log(&sc, w.server, None);
    let b = import::<RlmLog>(&log);
    assert!(
        b.diagnostics.is_empty(),
        "{:?}",
        &b.diagnostics[..b.diagnostics.len().min(5)]
    );
    let end = w.natural_end();
    // RLM writes no check-ins at a shutdown: the importer ends those sessions at the SHUTDOWN.
    assert_eq!(
        sessions(&b, "foundry"),
        truth(&w, end, end, EndReason::ServerRestart)
    );
    assert!(
        b.sessions
            .iter()
            .any(|s| s.end_reason == EndReason::ServerRestart)
    );
    assert_eq!(denials(&b), truth_denials(&w, end));
    assert!(!b.denials.is_empty());
    let (a, z) = w.downs[0];
    assert_eq!(events(&b, ServerEventKind::DaemonStart), [w.start, z]);
    assert!(events(&b, ServerEventKind::DaemonStop).contains(&a));
}

/// A log cut at a time (as a poller-side reader would find it mid-scenario): what is closed
/// matches, what is still out ends with the log.
#[test]
fn logs_cut_at_a_time_import_to_the_truth_so_far() {
    let sc = scenario();
    for (name, vendor) in [("flex1", "ansyslmd"), ("rlm1", "foundry")] {
        let w = workload(&sc, name);
        for until in [
            START + 3 * 3600 + 17,
            START + 14_000,
            START + 15_600,
            START + 7 * 3600,
        ] {
            let log = tally_sim::log(&sc, w.server, Some(until));
            let b = if name == "flex1" {
                import::<FlexlmLog>(&log)
            } else {
                import::<RlmLog>(&log)
            };
            assert!(
                b.diagnostics.is_empty(),
                "{name} {until}: {:?}",
                b.diagnostics
            );
            let (every, shutdown) = if name == "flex1" {
                (flexlm::STAMP_EVERY, EndReason::Shutdown)
            } else {
                (rlm::STAMP_EVERY, EndReason::ServerRestart)
            };
            let last = last_time(&w, until, every);
            assert_eq!(
                sessions(&b, vendor),
                truth(&w, until, last, shutdown),
                "{name} {until}"
            );
            assert_eq!(denials(&b), truth_denials(&w, until), "{name} {until}");
        }
    }
}

#[test]
fn lmx_server_log_shows_starts_and_the_shutdown() {
    let sc = scenario();
    let w = workload(&sc, "lmx1");
    let log = tally_sim::log(&sc, w.server, None);
    let b = import::<LmxLog>(&log);
    let (a, z) = w.downs[0];
    assert_eq!(events(&b, ServerEventKind::ServerStart), [w.start, z]);
    assert_eq!(events(&b, ServerEventKind::ServerStop), [a]);
    // No public sample shows LM-X usage lines: the importer reports ours as unrecognised, and
    // nothing is malformed.
    let usage = w.sessions.len() * 2 - w.ended_by(0).count() + w.denials.len();
    assert!(
        b.diagnostics
            .iter()
            .all(|d| d.kind == tally_plugin_sdk::DiagnosticKind::Unrecognised)
    );
    assert_eq!(b.diagnostics.len(), usage);
    assert!(b.sessions.is_empty());
}

#[test]
fn logs_are_deterministic_and_whole() {
    let sc = scenario();
    for s in &sc.servers {
        let a = tally_sim::log(&sc, s, None);
        assert_eq!(a, tally_sim::log(&sc, s, None));
        // A cut log is a prefix of the whole one.
        let cut = tally_sim::log(&sc, s, Some(START + 5000));
        assert!(a.starts_with(&cut), "{}", s.name);
        assert!(cut.len() > 1000 && a.len() > cut.len());
    }
}
