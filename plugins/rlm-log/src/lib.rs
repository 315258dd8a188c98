//! Reprise RLM report-log importer (format id `rlm-reportlog`; std, small and detailed formats).
//!
//! `parse` holds the state machine and the `Importer` implementation, `line` the grammar of one
//! line, `codes` what RLM's numbers mean, `date` a date helper (the calendar is the SDK's
//! `civil`), `ckpt` the resumable state, `sniff` format detection.
mod ckpt;
mod codes;
pub mod date;
mod line;
mod parse;
mod sniff;

pub use parse::RlmLog;
tally_plugin_sdk::export!(importer: RlmLog);
