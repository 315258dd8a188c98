//! Drives the importer the way the host does, and renders records as compact strings so tests
//! can compare them exactly.
#![allow(dead_code)]

use flexlm_log::FlexlmLog;
use tally_plugin_sdk::civil::format_utc;
pub use tally_plugin_sdk::testing::{line_starts, physical_lines};
use tally_plugin_sdk::{Batch, DiagnosticKind, ImportConfig, testing};

pub fn config(utc_offset: i32, modified: Option<i64>) -> ImportConfig {
    ImportConfig {
        utc_offset,
        modified,
        resume: None,
    }
}

/// One pass as the host runs it: begin, whole-line chunks of `size` (a checkpoint after each
/// feed, `lines` only growing), finish.
pub fn run(data: &[u8], cfg: &ImportConfig, size: usize) -> Batch {
    testing::run::<FlexlmLog>(data, cfg, size)
}

/// Two passes: the first `split` bytes (a line boundary), checkpoint, a new instance resumed
/// from the checkpoint is fed the rest and finishes.
pub fn run_split(data: &[u8], cfg: &ImportConfig, size: usize, split: usize) -> Batch {
    testing::run_split::<FlexlmLog>(data, cfg, size, split)
}

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
            format!(
                "{}|{}|{}|{}|{}|{}|{:?}|{}|{}|{}",
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

pub fn queued(b: &Batch) -> Vec<String> {
    b.queued
        .iter()
        .map(|q| {
            format!(
                "{}|{}|{}|{}|{}|{}",
                q.vendor,
                q.feature,
                q.user,
                q.host,
                q.count,
                q.time.map_or("-".into(), format_utc)
            )
        })
        .collect()
}

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

/// `line|kind` of every diagnostic.
pub fn diags(b: &Batch) -> Vec<String> {
    b.diagnostics
        .iter()
        .map(|d| format!("{}|{:?}", d.line, d.kind))
        .collect()
}

pub fn count(b: &Batch, kind: DiagnosticKind) -> usize {
    b.diagnostics.iter().filter(|d| d.kind == kind).count()
}
