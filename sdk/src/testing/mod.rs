//! Runs a plugin natively on fixture files the way the host runs its component, renders the
//! records as compact strings that compare exactly, and checks every result as the host will.
//! For a plugin's own tests (`cargo test`, no wasm involved); wasm32 builds leave it out.
//!
//! Everything here panics on failure: it is test harness, not plugin code.
//!
//! - Files: [`fixture`] reads one, [`fixtures`] every file of a directory, [`file_names`] lists
//!   them (to check each has a test), [`dir_or_skip`] for an optional corpus.
//! - Importers: [`run`] and [`run_split`] drive one import, [`check_import`] every way the host
//!   may cut the input ([`check_import_dir`]: on every fixture); [`sessions`], [`denials`],
//!   [`queued`], [`events`] and [`diags`] render a [`Batch`](crate::Batch).
//! - Pollers: [`check_status`] parses and checks; [`snapshot`] renders a
//!   [`Snapshot`](crate::Snapshot).
//! - The host's own checks: [`check_batch`], [`check_snapshot`], [`check_sniff`].
//! - Fuzzing: [`fuzz_import`] and [`fuzz_status`] are whole fuzz-target bodies (see
//!   `docs/fuzzing.md`); [`fuzz_import_dir`], [`fuzz_status_dir`] and [`fuzz_status_cuts`] run
//!   them over fixture or corpus files, so that CI exercises them without a fuzzer.
//!
//! # An importer
//!
//! ```
//! use tally_plugin_sdk::testing::{self, diags, sessions};
//! use tally_plugin_sdk::text::{shown, text};
//! use tally_plugin_sdk::*;
//!
//! /// `start end user feature` a line, in Unix seconds.
//! #[derive(Default)]
//! struct Usage {
//!     lines: u64,
//! }
//!
//! impl Importer for Usage {
//!     const FORMATS: &'static [&'static str] = &["usage"];
//!
//!     fn feed(&mut self, chunk: &[u8], out: &mut Batch) -> Result<(), PluginError> {
//!         for line in chunk.split_inclusive(|&b| b == b'\n') {
//!             self.lines += 1;
//!             let text = text(line);
//!             let words: Vec<&str> = text.split_whitespace().collect();
//!             let times = words.get(..2).map(|t| (t[0].parse(), t[1].parse()));
//!             match (words.len(), times) {
//!                 (0, _) => {}
//!                 (4, Some((Ok(start), Ok(end)))) if start <= end => out.sessions.push(Session {
//!                     vendor: "usage".into(),
//!                     feature: words[3].into(),
//!                     user: words[2].into(),
//!                     host: "-".into(),
//!                     count: 1,
//!                     start,
//!                     end,
//!                     end_reason: EndReason::Checkin,
//!                     project: None,
//!                 }),
//!                 _ => out.diagnostics.push(Diagnostic {
//!                     line: self.lines,
//!                     kind: DiagnosticKind::Malformed,
//!                     text: shown(line),
//!                 }),
//!             }
//!         }
//!         out.lines = self.lines;
//!         Ok(())
//!     }
//! }
//!
//! // In a plugin's tests/fixtures.rs:
//! // const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
//! # let dir = std::env::temp_dir().join(format!("tally-doc-importer-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir).unwrap();
//! # std::fs::write(dir.join("two.log"), "0 60 alice solver\r\n120 bob\n").unwrap();
//! let data = testing::fixture(dir.join("two.log"));
//! let b = testing::run::<Usage>(&data, &ImportConfig::default(), 65_536);
//! assert_eq!(
//!     sessions(&b),
//!     ["usage|solver|alice|-|1|1970-01-01T00:00:00Z|1970-01-01T00:01:00Z|Checkin|-"]
//! );
//! assert_eq!(diags(&b), ["2|Malformed"]);
//!
//! // On every fixture: chunking and resuming change nothing, the host would take the result,
//! // and the fuzz target's body holds.
//! testing::check_import_dir::<Usage>(&dir, &[ImportConfig::default()]);
//! # std::fs::remove_dir_all(&dir).unwrap();
//! ```
//!
//! # A poller
//!
//! ```
//! use tally_plugin_sdk::testing::{self, snapshot};
//! use tally_plugin_sdk::text::{lines, shown, text};
//! use tally_plugin_sdk::*;
//!
//! /// `feature used of issued` a line.
//! struct Stat;
//!
//! impl Poller for Stat {
//!     const FORMATS: &'static [&'static str] = &["stat"];
//!
//!     fn parse_status(output: &[u8], _now: Timestamp) -> Result<Snapshot, PluginError> {
//!         let mut s = Snapshot::default();
//!         for (no, line) in lines(&text(output)) {
//!             match line.split_whitespace().collect::<Vec<_>>()[..] {
//!                 [] => {}
//!                 [name, used, "of", issued] => match (used.parse(), issued.parse()) {
//!                     (Ok(in_use), Ok(issued)) => s.features.push(Feature {
//!                         name: name.into(),
//!                         vendor: "stat".into(),
//!                         version: None,
//!                         pool: None,
//!                         issued: Some(issued),
//!                         in_use,
//!                         expiry: None,
//!                         kind: FeatureKind::Floating,
//!                     }),
//!                     _ => s.diagnostics.push(Diagnostic {
//!                         line: no,
//!                         kind: DiagnosticKind::Malformed,
//!                         text: shown(line.as_bytes()),
//!                     }),
//!                 },
//!                 _ => s.diagnostics.push(Diagnostic {
//!                     line: no,
//!                     kind: DiagnosticKind::Unrecognised,
//!                     text: shown(line.as_bytes()),
//!                 }),
//!             }
//!         }
//!         Ok(s)
//!     }
//! }
//!
//! // `testing::fixture(path)` reads a fixture file; here the output is inline.
//! let output = b"solver 2 of 4\r\nmesher x of 1\r\n";
//! let s = testing::check_status::<Stat>(output, 1_735_689_600).unwrap();
//! assert_eq!(snapshot::features(&s), ["stat|solver|-|-|4|2|-|Floating"]);
//! assert_eq!(snapshot::diags(&s), ["2|Malformed|mesher x of 1"]);
//! testing::fuzz_status::<Stat>(output);
//! // In tests/fixtures.rs: `testing::fuzz_status_cuts::<Stat>(DIR)`, every fixture cut short.
//! ```

mod files;
mod host;
mod import;
mod render;
pub mod snapshot;
mod status;

pub use files::{
    check_import_dir, dir_or_skip, file_names, fixture, fixtures, fuzz_import_dir,
    fuzz_status_cuts, fuzz_status_dir, strs,
};
pub use host::{
    BYTES_PER_RECORD, EARLIEST, LATEST, RECORD_ALLOWANCE, RECORDS_PER_LINE, allowance,
    batch_records, check_batch, check_snapshot, check_sniff, snapshot_records,
};
pub use import::{
    check_import, config, feed_all, fuzz_config, fuzz_import, head, line_starts, physical_lines,
    run, run_split, whole_line_chunks,
};
pub use render::{capacities, count, denials, diags, events, queued, sessions};
pub use status::{FUZZ_NOW, check_status, fuzz_status};
