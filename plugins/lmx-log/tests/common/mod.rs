//! Drives the importer the way the host does, and renders records as compact strings so tests
//! can compare them exactly.
#![allow(dead_code)]

use lmx_log::{LmxLog, date::format_utc};
use tally_plugin_sdk::{Batch, DiagnosticKind, ImportConfig, Importer};

/// Whole-line chunks of at most `size` bytes (a longer line goes alone), as the host cuts them.
pub fn chunks(data: &[u8], size: usize) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        let cut = if rest.len() <= size {
            rest.len()
        } else {
            match rest[..size].iter().rposition(|&b| b == b'\n') {
                Some(i) => i + 1,
                None => rest
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(rest.len(), |i| i + 1),
            }
        };
        out.push(&rest[..cut]);
        rest = &rest[cut..];
    }
    out
}

pub fn config(utc_offset: i32, modified: Option<i64>) -> ImportConfig {
    ImportConfig {
        utc_offset,
        modified,
        resume: None,
    }
}

/// Feeds whole-line chunks, checking after every feed what the host checks: `lines` only grows,
/// at most 2 records per line fed, and a checkpoint can always be taken.
fn feed_all(p: &mut LmxLog, data: &[u8], size: usize, all: &mut Batch) {
    for c in chunks(data, size) {
        let mut b = Batch::default();
        p.feed(c, &mut b).expect("feed");
        assert!(b.lines >= all.lines, "Batch.lines must only grow");
        all.append(b);
        p.checkpoint().expect("checkpoint after every feed");
    }
}

fn records(b: &Batch) -> usize {
    b.sessions.len()
        + b.denials.len()
        + b.queued.len()
        + b.server_events.len()
        + b.diagnostics.len()
}

/// One pass: begin, whole-line chunks of `size`, finish.
pub fn run(data: &[u8], cfg: &ImportConfig, size: usize) -> Batch {
    let mut p = LmxLog::default();
    p.begin(cfg).expect("begin");
    let mut all = Batch::default();
    feed_all(&mut p, data, size, &mut all);
    let mut b = Batch::default();
    p.finish(&mut b).expect("finish");
    all.append(b);
    assert!(
        records(&all) as u64 <= 2 * all.lines,
        "{} records for {} lines",
        records(&all),
        all.lines
    );
    all
}

/// Two passes: the first `split` bytes (a line boundary), checkpoint, a new instance resumed
/// from the checkpoint is fed the rest and finishes.
pub fn run_split(data: &[u8], cfg: &ImportConfig, size: usize, split: usize) -> Batch {
    let mut all = Batch::default();
    let mut p = LmxLog::default();
    p.begin(cfg).expect("begin");
    feed_all(&mut p, &data[..split], size, &mut all);
    let state = p.checkpoint().expect("checkpoint");
    let mut q = LmxLog::default();
    q.begin(&ImportConfig {
        resume: Some(state),
        ..cfg.clone()
    })
    .expect("resume");
    feed_all(&mut q, &data[split..], size, &mut all);
    let mut b = Batch::default();
    q.finish(&mut b).expect("finish");
    all.append(b);
    all
}

/// Byte offsets just after each newline (the places a host may cut an import).
pub fn line_starts(data: &[u8]) -> Vec<usize> {
    data.iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .map(|(i, _)| i + 1)
        .filter(|&i| i < data.len())
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

/// Lines as `wc -l` counts them, plus one for a last line without a newline.
pub fn physical_lines(data: &[u8]) -> u64 {
    let nl = data.iter().filter(|&&b| b == b'\n').count() as u64;
    nl + u64::from(!data.is_empty() && data.last() != Some(&b'\n'))
}
