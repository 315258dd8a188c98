//! Runs a plugin natively on fixture files the way the host runs its component, renders the
//! records as compact strings that compare exactly, and checks every result as the host will.
//! For a plugin's own tests (`cargo test`, no wasm involved); wasm32 builds leave it out.
//!
//! Everything here panics on failure: it is test harness, not plugin code.
//!
//! - Files: [`fixture`] reads one, [`fixtures`] every file of a directory, [`file_names`] lists
//!   them (to check each has a test), [`dir_or_skip`] for an optional corpus.
//! - Importers: [`run`] and [`run_split`] drive one import, [`check_import`] every way the host
//!   may cut the input; [`sessions`], [`denials`], [`queued`], [`events`] and [`diags`] render a
//!   [`Batch`](crate::Batch).
//! - Pollers: [`check_status`] parses and checks; [`snapshot`] renders a
//!   [`Snapshot`](crate::Snapshot).
//! - The host's own checks: [`check_batch`], [`check_snapshot`], [`check_sniff`].
//! - Fuzzing: [`fuzz_import`] and [`fuzz_status`] are whole fuzz-target bodies (see
//!   `docs/fuzzing.md`); a test calls them over the fixtures so CI runs them without a fuzzer.
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
//! for (name, data) in testing::fixtures(&dir) {
//!     println!("{name}");
//!     testing::check_import::<Usage>(&data, &ImportConfig::default());
//!     testing::fuzz_import::<Usage>(&data);
//! }
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
//! ```

mod host;
mod import;
mod render;
pub mod snapshot;
mod status;

use std::path::{Path, PathBuf};

pub use host::{
    BYTES_PER_RECORD, EARLIEST, LATEST, RECORD_ALLOWANCE, RECORDS_PER_LINE, allowance,
    batch_records, check_batch, check_snapshot, check_sniff, snapshot_records,
};
pub use import::{
    check_import, feed_all, fuzz_config, fuzz_import, line_starts, physical_lines, run, run_split,
    whole_line_chunks,
};
pub use render::{count, denials, diags, events, queued, sessions};
pub use status::{FUZZ_NOW, check_status, fuzz_status};

/// The bytes of a fixture file; panics naming the path.
pub fn fixture(path: impl AsRef<Path>) -> Vec<u8> {
    let path = path.as_ref();
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The names of the files in `dir`, sorted: compare them with the list of files a test covers,
/// so that a new fixture or corpus file cannot go untested.
pub fn file_names(dir: impl AsRef<Path>) -> Vec<String> {
    let dir = dir.as_ref();
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap_or_else(|e| panic!("{}: {e}", dir.display())))
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Every file of `dir` with its name, sorted by name.
pub fn fixtures(dir: impl AsRef<Path>) -> Vec<(String, Vec<u8>)> {
    let dir = dir.as_ref();
    file_names(dir)
        .into_iter()
        .map(|name| {
            let data = fixture(dir.join(&name));
            (name, data)
        })
        .collect()
}

/// `dir` when it exists; otherwise `None` after printing that the test skips, for input that a
/// checkout may lack (a shared corpus): `let Some(dir) = dir_or_skip(DIR) else { return };`.
pub fn dir_or_skip(dir: impl AsRef<Path>) -> Option<PathBuf> {
    let dir = dir.as_ref();
    if dir.is_dir() {
        Some(dir.to_path_buf())
    } else {
        println!("{} absent: skipping", dir.display());
        None
    }
}

/// `["a", "b"]` as `Vec<String>`, to compare with the renderers' output.
pub fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn files_of_a_dir() {
        let dir = std::env::temp_dir().join(format!("tally-testing-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("b.log"), "b\n").unwrap();
        std::fs::write(dir.join("a.log"), "a\n").unwrap();
        assert_eq!(file_names(&dir), ["a.log", "b.log"]);
        assert_eq!(
            fixtures(&dir),
            [
                ("a.log".into(), b"a\n".to_vec()),
                ("b.log".into(), b"b\n".to_vec())
            ]
        );
        assert_eq!(dir_or_skip(&dir), Some(dir.clone()));
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(dir_or_skip(&dir), None);
        assert_eq!(strs(&["x"]), ["x".to_string()]);
    }
}
