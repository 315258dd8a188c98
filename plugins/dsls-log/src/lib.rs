//! Dassault Systèmes DSLS importer: LicenseServer log lines (`dsls-log`) and the cloud
//! `getlogs` JSON (`dsls-cloud-json`), one importer for both.
//!
//! `parse` holds the state machine and the `Importer` implementation, `line` the grammar of one
//! log entry, `json` the streaming reader of the cloud document, `date` offset formatting
//! (the calendar is the SDK's `civil`), `ckpt` the resumable state, `sniff` format detection.
mod ckpt;
pub mod date;
mod json;
mod line;
mod parse;
mod sniff;

pub use parse::{DslsLog, VENDOR};
tally_plugin_sdk::export!(importer: DslsLog);
