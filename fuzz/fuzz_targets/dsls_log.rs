//! The importer fed arbitrary bytes as a log;
//! `tally_plugin_sdk::testing::fuzz_import` says what must hold.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    tally_plugin_sdk::testing::fuzz_import::<dsls_log::DslsLog>(data);
});
