//! The poller fed arbitrary bytes as its status output;
//! `tally_plugin_sdk::testing::fuzz_status` says what must hold.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    tally_plugin_sdk::testing::fuzz_status::<lstc_qrun::LstcQrun>(data);
});
