//! What both test binaries need beyond `tally_plugin_sdk::testing`: the configuration, the
//! batches of a line-by-line pass, and a JSON document on one line.
#![allow(dead_code)] // shared by several test binaries, each using a part

use dsls_log::DslsLog;
use tally_plugin_sdk::{Batch, ImportConfig, Importer, testing};

/// A configuration at `utc_offset`, the file modified 2023-11-14.
pub fn config(utc_offset: i32) -> ImportConfig {
    testing::config(utc_offset, Some(1_700_000_000))
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
