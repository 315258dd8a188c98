//! Drives the importer the way the host does, and renders records as compact strings so tests
//! can compare them exactly.
#![allow(dead_code, unused_imports)] // shared by several test binaries, each using a part

use lmx_log::LmxLog;
pub use tally_plugin_sdk::testing::{count, diags, events};
pub use tally_plugin_sdk::testing::{line_starts, physical_lines};
use tally_plugin_sdk::{Batch, ImportConfig, testing};

pub fn config(utc_offset: i32, modified: Option<i64>) -> ImportConfig {
    ImportConfig {
        utc_offset,
        modified,
        resume: None,
    }
}

fn records(b: &Batch) -> usize {
    b.sessions.len()
        + b.denials.len()
        + b.queued.len()
        + b.server_events.len()
        + b.diagnostics.len()
}

/// One pass as the host runs it: begin, whole-line chunks of `size` (a checkpoint after each
/// feed, `lines` only growing), finish.
pub fn run(data: &[u8], cfg: &ImportConfig, size: usize) -> Batch {
    let all = testing::run::<LmxLog>(data, cfg, size);
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
    testing::run_split::<LmxLog>(data, cfg, size, split)
}
