//! SFLM per-day usage-log importer (seed `004`: "Each log file contains all the check-outs and
//! check-ins for a day while logging was turned on").
//!
//! `parse` holds the state machine (midnight joins, partial grants) and the `Importer`
//! implementation, `line` the grammar of one line, `date` the Common Era offset (the calendar is
//! the SDK's `civil`), `ckpt` the resumable state, `sniff` format detection.
mod ckpt;
pub mod date;
mod line;
mod parse;
mod sniff;

pub use parse::SflmLog;
tally_plugin_sdk::export!(importer: SflmLog);
