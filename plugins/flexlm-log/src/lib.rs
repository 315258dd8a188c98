//! FlexNet lmgrd / vendor-daemon debug-log importer.
mod parse;
pub use parse::FlexlmLog;
tally_plugin_sdk::export!(importer: FlexlmLog);
