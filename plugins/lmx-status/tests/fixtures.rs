//! Hand-made fixtures, one per quirk of `lmxendutil -licstat` output (see `tests/fixtures/`).
//! Each test asserts every record its fixture produces.
use lmx_status::LmxStatus;
use tally_plugin_sdk::testing::snapshot::*;
use tally_plugin_sdk::testing::{self, strs};
use tally_plugin_sdk::{PluginError, Poller, Snapshot};

const FIXTURES: &[&str] = &[
    "cannot_connect.txt",
    "crlf_indent_trailing.txt",
    "malformed.txt",
    "no_servers.txt",
    "two_servers.txt",
    "units_and_names.txt",
];

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

fn fixture(name: &str) -> Vec<u8> {
    testing::fixture(format!("{DIR}/{name}"))
}

fn parse(name: &str) -> Snapshot {
    // Full dates: the poll time plays no part.
    testing::check_status::<LmxStatus>(&fixture(name), 0).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn crlf_indented_details_trailing_spaces_leading_blank_line() {
    let s = parse("crlf_indent_trailing.txt");
    assert_eq!(servers(&s), strs(&["lic1:6300|Up|4.9.3|-|"]));
    assert_eq!(
        features(&s),
        strs(&["abc|FEMFAT_VISUALIZER|2024.0|-|5|2|2024-06-30T23:59:59Z|Floating"])
    );
    assert_eq!(
        checkouts(&s),
        strs(&[
            // The checkout time, not the login time, starts the checkout.
            "abc|FEMFAT_VISUALIZER|fdsva1|dcv046.com_ver2023|10.1.2.20|1|2024-03-11T12:51:00Z|-|-|false",
            "abc|FEMFAT_VISUALIZER|asdsc1|dcv048|10.1.2.10|1|2024-03-11T17:29:00Z|-|-|false",
        ])
    );
    assert_eq!(diags(&s), strs(&[]));
}

#[test]
fn several_servers_in_one_output() {
    let s = parse("two_servers.txt");
    assert_eq!(
        servers(&s),
        strs(&["lic1:6200|Up|5.1|-|", "lic2:6200|Up|5.1|-|"])
    );
    assert_eq!(
        features(&s),
        strs(&[
            "ALTAIR|HyperWorks|21.0|-|1000000|0|2023-01-31T23:59:59Z|Floating",
            "ALTAIR|HyperWorks|21.0|-|1000000|25000|2023-01-31T23:59:59Z|Floating",
        ])
    );
    assert_eq!(
        checkouts(&s),
        strs(&[
            "ALTAIR|HyperWorks|sssaah|RD0082406|138.106.154.220|25000|2022-02-18T09:26:00Z|-|-|false"
        ])
    );
    assert_eq!(diags(&s), strs(&[]));
}

#[test]
fn no_server_and_no_connection_are_down_servers() {
    let s = parse("no_servers.txt");
    assert_eq!(
        servers(&s),
        strs(&[":-|Down|-|There are no license server(s) available.|"])
    );
    assert!(s.features.is_empty() && s.diagnostics.is_empty());
    let s = parse("cannot_connect.txt");
    assert_eq!(servers(&s), strs(&[":-|Down|-|Cannot connect to server.|"]));
    assert!(s.features.is_empty() && s.diagnostics.is_empty());
}

#[test]
fn huge_unit_counts_and_names_that_are_not_tokens() {
    let s = parse("units_and_names.txt");
    assert_eq!(servers(&s), strs(&["lic1:6200|Up|5.1|-|"]));
    assert_eq!(
        features(&s),
        strs(&["ALTAIR|HWFlux2D|21.0|-|2147483647|30000|2023-01-31T23:59:59Z|Floating"])
    );
    assert_eq!(
        checkouts(&s),
        strs(&[
            "ALTAIR|HWFlux2D|John Doe|ws-01.example.com|10.0.0.1|15000|2022-02-18T09:29:00Z|-|-|false",
            // No address shown.
            "ALTAIR|HWFlux2D|58000|10.0.0.7|-|15000|2022-02-18T09:26:00Z|-|-|false",
        ])
    );
    assert_eq!(diags(&s), strs(&[]));
}

#[test]
fn damaged_lines_become_diagnostics() {
    let s = parse("malformed.txt");
    assert_eq!(servers(&s), strs(&["lic1:6200|Up|5.1|-|"]));
    assert_eq!(features(&s), strs(&["ACME|Mesher|2.0|-|10|1|-|Floating"]));
    assert_eq!(
        checkouts(&s),
        strs(&["ACME|Mesher|alice|ws1|10.0.0.1|1|2024-03-11T12:50:00Z|-|-|false"])
    );
    assert_eq!(
        diags(&s),
        strs(&[
            // A checkout before any feature.
            "4|Malformed|1 license(s) used by early@bird [10.0.0.9]",
            // A feature block without its totals line.
            "5|Malformed|Feature: Lost Version: 1.0 Vendor: ACME",
            "8|Malformed|Feature: Solver Version: 2.0",
            "10|Malformed|Start date: NONE Expire date: 2024-02-30",
            "11|Malformed|5000000000 of 10 license(s) used",
            "14|Malformed|Login time: 2024-03-11 12:50 Checkout time: 2024-03-11 25:00",
            "16|Unrecognised|Borrowed: something new",
        ])
    );
}

/// The fuzz target's body on every fixture, cut after each of its bytes.
#[test]
fn fuzz_body_holds_on_every_fixture_cut() {
    testing::fuzz_status_cuts::<LmxStatus>(DIR);
}

#[test]
fn other_text_is_bad_input() {
    for text in [
        &b""[..],
        b"\n\n",
        b"Dear diary,\ntoday nothing was licensed.\n",
        b"rlmutil v12.2\nconverge v3.0\n",
    ] {
        assert!(
            matches!(
                LmxStatus::parse_status(text, 0),
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
