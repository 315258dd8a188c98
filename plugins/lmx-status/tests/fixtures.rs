//! Hand-made fixtures, one per quirk of `lmxendutil -licstat` output (see `tests/fixtures/`).
//! Each test asserts every record its fixture produces.
mod common;

use common::*;
use lmx_status::LmxStatus;
use tally_plugin_sdk::{PluginError, Poller, Snapshot};

const FIXTURES: &[&str] = &[
    "cannot_connect.txt",
    "crlf_indent_trailing.txt",
    "malformed.txt",
    "no_servers.txt",
    "two_servers.txt",
    "units_and_names.txt",
];

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn parse(name: &str) -> Snapshot {
    // Full dates: the poll time plays no part.
    LmxStatus::parse_status(&fixture(name), 0).unwrap_or_else(|e| panic!("{name}: {e}"))
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

#[test]
fn line_endings_do_not_matter() {
    for name in FIXTURES {
        let data = fixture(name);
        let lf: Vec<u8> = String::from_utf8_lossy(&data)
            .replace("\r\n", "\n")
            .into_bytes();
        let crlf = String::from_utf8_lossy(&lf)
            .replace('\n', "\r\n")
            .into_bytes();
        assert_eq!(
            LmxStatus::parse_status(&lf, 0),
            LmxStatus::parse_status(&crlf, 0),
            "{name}"
        );
    }
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
    let dir = format!("{}/tests/fixtures", env!("CARGO_MANIFEST_DIR"));
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("fixtures dir")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    names.sort();
    assert_eq!(names, strs(FIXTURES));
}
