//! FlexNet lmgrd / vendor-daemon debug-log importer.
//!
//! `parse` holds the state machine and the `Importer` implementation, `line` the grammar of one
//! line (the calendar is the SDK's `civil`), `ckpt` the resumable state, `sniff` format
//! detection.
mod ckpt;
mod line;
mod parse;
mod sniff;
/// Synthetic logs for benchmarks and tests (native builds only).
#[cfg(not(target_arch = "wasm32"))]
pub mod synth;

pub use parse::FlexlmLog;
tally_plugin_sdk::export!(importer: FlexlmLog);
