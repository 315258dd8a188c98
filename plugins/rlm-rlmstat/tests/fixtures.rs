//! Hand-made fixtures, one per quirk of `rlmutil rlmstat` output (see `tests/fixtures/`). Each
//! test asserts every record its fixture produces.
use rlm_rlmstat::RlmStat;
use tally_plugin_sdk::civil::{DAY, days_from_civil};
use tally_plugin_sdk::testing::snapshot::*;
use tally_plugin_sdk::testing::{self, strs};
use tally_plugin_sdk::{PluginError, Poller, Snapshot, Timestamp};

const FIXTURES: &[&str] = &[
    "elided_head.txt",
    "error_connecting.txt",
    "isv_down.txt",
    "isv_only.txt",
    "malformed.txt",
    "pools.txt",
    "tabs_crlf_nbsp.txt",
    "usage_names_years.txt",
];

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

fn fixture(name: &str) -> Vec<u8> {
    testing::fixture(format!("{DIR}/{name}"))
}

fn noon(y: i64, m: u32, d: u32) -> Timestamp {
    days_from_civil(y, m, d) * DAY + 12 * 3600
}

fn parse(name: &str, now: Timestamp) -> Snapshot {
    testing::check_status::<RlmStat>(&fixture(name), now).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn tabs_crlf_nbsp_trailing_spaces_no_final_newline() {
    let s = parse("tabs_crlf_nbsp.txt", noon(2024, 6, 3));
    assert_eq!(
        servers(&s),
        strs(&["lic1:5053|Up|15.2 (build:1)|-|demo:Up:-:-"])
    );
    assert_eq!(
        features(&s),
        strs(&["demo|solver|2.0|-|10|2|2030-12-31T23:59:59Z|Floating"])
    );
    assert_eq!(
        checkouts(&s),
        strs(&[
            "demo|solver|alice|ws1|-|1|2024-06-01T08:30:00Z|1f|-|false",
            // Indented with spaces instead of a TAB, like the last line of a corpus file.
            "demo|solver|bob|ws2|-|1|2024-06-02T17:05:00Z|2a|-|false",
        ])
    );
    assert_eq!(diags(&s), strs(&[]));
}

#[test]
fn one_product_in_several_pools_with_reservations() {
    let s = parse("pools.txt", noon(2024, 3, 31));
    assert_eq!(
        servers(&s),
        strs(&["lic1:4101|Up|12.2 (build:2)|-|foundry:Up:-:-"])
    );
    assert_eq!(
        features(&s),
        strs(&[
            "foundry|nuke_r|2024.0701|10|16|3|-|Floating",
            "foundry|nuke_r|2024.0701|12|4|0|2024-04-01T23:59:59Z|Floating",
            "foundry|nuke_r|2025.0118|11|5|1|2025-01-20T23:59:59Z|Floating",
        ])
    );
    assert_eq!(reservations(&s), strs(&["foundry|nuke_r|2|Other|"]));
    assert_eq!(diags(&s), strs(&[]));
}

#[test]
fn single_isv_output_takes_the_server_from_the_license_path() {
    let s = parse("isv_only.txt", noon(2024, 5, 20));
    assert_eq!(
        servers(&s),
        strs(&["srv:5053|Up|-|-|simio:Up:15.1 (build: 1):-"])
    );
    assert_eq!(
        features(&s),
        strs(&["simio|simio-academic|2025.01|1|100|0|2025-01-09T23:59:59Z|Floating"])
    );
    assert!(s.checkouts.is_empty());
    // The typed command line, log file names and statistics are boilerplate.
    assert_eq!(diags(&s), strs(&[]));
}

#[test]
fn unreachable_rlm_is_a_down_server() {
    let s = parse("error_connecting.txt", noon(2024, 5, 20));
    assert_eq!(
        servers(&s),
        strs(&[
            "lic9:5053|Down|-|Error connecting to \"rlm\" server; Connection attempted to host: \"lic9\" on port 5053; Connection refused at server (-111)|"
        ])
    );
    assert!(s.features.is_empty() && s.checkouts.is_empty());
    assert_eq!(diags(&s), strs(&[]));
}

#[test]
fn isv_not_running_is_a_down_daemon() {
    let s = parse("isv_down.txt", noon(2024, 5, 20));
    assert_eq!(
        servers(&s),
        strs(&[
            "lic1:5053|Up|14.2 (build:2)|-|demo:Up:14.2 (build: 2):-,broken:Down:-:Error connecting to \"broken\" server; Connection attempted to host: \"lic1\" on port 40002; Communications error with license server (-17)"
        ])
    );
    assert_eq!(diags(&s), strs(&[]));
}

#[test]
fn pools_without_their_isv_header_take_the_usage_isv() {
    let s = parse("elided_head.txt", noon(2023, 8, 20));
    assert_eq!(servers(&s), strs(&["lic1:1234|Up|-|-|exacorp:Up:-:-"]));
    assert_eq!(
        features(&s),
        strs(&[
            "exacorp|powercase|1.0|-|5|1|2023-12-31T23:59:59Z|Floating",
            "exacorp|powerviz|1.0|-|5|0|2023-12-31T23:59:59Z|Floating",
        ])
    );
    assert_eq!(
        checkouts(&s),
        strs(&["exacorp|powercase|dfsdgv|server1|-|1|2023-08-15T09:34:00Z|182|-|false"])
    );
    assert_eq!(
        diags(&s),
        strs(&[
            "4|Assumption|pools listed without their ISV header: ISV `exacorp` taken from the usage lines of the same products"
        ])
    );
}

#[test]
fn user_names_are_read_from_the_right_and_years_roll_back() {
    let s = parse("usage_names_years.txt", noon(2025, 1, 2));
    assert_eq!(servers(&s), strs(&["lic1:-|Up|-|-|demo:Up:-:-"]));
    assert_eq!(
        checkouts(&s),
        strs(&[
            // 12/31 seen on 2 January: last year's.
            "demo|solver|John Doe|ws-01.example.com|-|4|2024-12-31T23:10:00Z|329h|-|false",
            "demo|solver|user1.lastname|mocked-computer-01|-|1|2025-01-02T07:00:00Z|36a5|-|false",
            "demo|solver|58000|10.0.0.7|-|1|2025-01-02T07:05:00Z|-|-|false",
        ])
    );
    assert_eq!(diags(&s), strs(&[]));
}

#[test]
fn damaged_lines_become_diagnostics() {
    let s = parse("malformed.txt", noon(2024, 6, 3));
    assert_eq!(servers(&s), strs(&["lic1:-|Up|-|-|demo:Up:-:-"]));
    assert_eq!(
        features(&s),
        strs(&["demo|mesher|1.0|-|2|1|2030-12-31T23:59:59Z|Floating"])
    );
    assert_eq!(
        checkouts(&s),
        strs(&["demo|mesher|alice|ws1|-|1|2024-06-01T09:00:00Z|2|-|false"])
    );
    assert_eq!(
        diags(&s),
        strs(&[
            "7|Malformed|count: ten, # reservations: 0, inuse: 0, exp: 31-dec-2030",
            // A pool header without its count line.
            "8|Malformed|gui v1.0",
            "10|Malformed|count: 3, # reservations: 0, inuse: 1, exp: 31-feb-2030",
            // A count line without a pool header.
            "13|Malformed|count: 2, # reservations: 0, inuse: 1, exp: 31-dec-2030",
            "14|Unrecognised|this line means nothing here",
            "18|Malformed|mesher v1.0: alice@ws1 1/0 at 13/45 09:00 (handle: 1)",
        ])
    );
}

/// The fuzz target's body on every fixture, cut after each of its bytes.
#[test]
fn fuzz_body_holds_on_every_fixture_cut() {
    testing::fuzz_status_cuts::<RlmStat>(DIR);
}

#[test]
fn other_text_is_bad_input() {
    for text in [
        &b""[..],
        b"\n\n",
        b"Dear diary,\ntoday nothing was licensed.\n",
        b"lmutil - Copyright (c) 1989-2019 Flexera.\nfoo v1.0\n",
    ] {
        assert!(
            matches!(
                RlmStat::parse_status(text, 0),
                Err(PluginError::BadInput(_))
            ),
            "{:?}",
            String::from_utf8_lossy(text)
        );
    }
}

#[test]
fn every_fixture_is_tested() {
    assert_eq!(testing::file_names(DIR), strs(FIXTURES));
}
