//! LM-X License Server log importer (`lmx-serv.log`, "Normal" log format).
//!
//! `parse` holds the state machine and the `Importer` implementation, `line` the grammar of one
//! line (the calendar is the SDK's `civil`), `ckpt` the resumable state, `sniff` format
//! detection.
//!
//! Only the server's start-up is verified against a real log (the corpus's one sample, see
//! FORMATS.md §5); no checkout, checkin or denial line of an LM-X server log is known publicly
//! (FORMATS.md §10), so such lines are recognised by keyword and reported as `Unrecognised`,
//! never guessed into sessions. Everything resting on unverified assumptions is marked
//! UNVERIFIED in `line`.
mod ckpt;
mod line;
mod parse;
mod sniff;

pub use parse::LmxLog;
tally_plugin_sdk::export!(importer: LmxLog);
