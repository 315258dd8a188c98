//! Drives the importer the way the host does, and renders records as compact strings so tests
//! can compare them exactly.
#![allow(dead_code, unused_imports)] // shared by several test binaries, each using a part

use dsls_log::DslsLog;
use tally_plugin_sdk::civil::format_utc;
pub use tally_plugin_sdk::testing::{count, diags, events, sessions};
pub use tally_plugin_sdk::testing::{line_starts, physical_lines};
use tally_plugin_sdk::{Batch, ImportConfig, Importer, testing};

pub fn config(utc_offset: i32) -> ImportConfig {
    ImportConfig {
        utc_offset,
        modified: Some(1_700_000_000),
        resume: None,
    }
}

/// One pass as the host runs it: begin, whole-line chunks of `size` (a checkpoint after each
/// feed, `lines` only growing), finish.
pub fn run(data: &[u8], cfg: &ImportConfig, size: usize) -> Batch {
    testing::run::<DslsLog>(data, cfg, size)
}

/// The batches of a line-by-line pass (the last one is `finish`'s).
pub fn per_line(data: &[u8], cfg: &ImportConfig) -> Vec<Batch> {
    let mut p = DslsLog::default();
    p.begin(cfg).expect("begin");
    let mut out = Vec::new();
    for c in testing::whole_line_chunks(data, 1) {
        let mut b = Batch::default();
        p.feed(c, &mut b).expect("feed");
        out.push(b);
    }
    let mut b = Batch::default();
    p.finish(&mut b).expect("finish");
    out.push(b);
    out
}

/// Two passes: the first `split` bytes (a line boundary), checkpoint, a new instance resumed
/// from the checkpoint is fed the rest and finishes.
pub fn run_split(data: &[u8], cfg: &ImportConfig, size: usize, split: usize) -> Batch {
    testing::run_split::<DslsLog>(data, cfg, size, split)
}

pub fn records(b: &Batch) -> usize {
    b.sessions.len()
        + b.denials.len()
        + b.queued.len()
        + b.server_events.len()
        + b.diagnostics.len()
}

pub fn denials(b: &Batch) -> Vec<String> {
    b.denials
        .iter()
        .map(|d| {
            format!(
                "{}|{}|{}|{}|{}|{}|{:?}|{}|{}|{}",
                d.vendor,
                d.feature,
                d.user,
                d.host,
                d.count,
                format_utc(d.time),
                d.kind,
                d.code.map_or("-".to_string(), |c| format!("{c:?}")),
                d.reason.as_deref().unwrap_or("-"),
                d.requested_version.as_deref().unwrap_or("-")
            )
        })
        .collect()
}

/// A pretty-printed JSON document on one line (its newlines and indentation dropped; rows hold
/// no raw newlines).
pub fn one_line(doc: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(doc.len());
    for l in doc.split(|&b| b == b'\n') {
        let l = l.strip_suffix(b"\r").unwrap_or(l);
        let start = l.iter().position(|&b| b != b' ').unwrap_or(l.len());
        out.extend_from_slice(&l[start..]);
    }
    out
}
