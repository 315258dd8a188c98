//! Hand-made fixtures, one per quirk of `lsmon` output (see `tests/fixtures/`). Each test
//! asserts every record its fixture produces.
use sentinel_lsmon::Lsmon;
use tally_plugin_sdk::testing::snapshot::*;
use tally_plugin_sdk::testing::{self, strs};
use tally_plugin_sdk::{PluginError, Poller, Snapshot};

const FIXTURES: &[&str] = &[
    "crlf_tabs_blocks.txt",
    "malformed.txt",
    "no_license.txt",
    "unlimited_reserved_queued.txt",
    "unreachable.txt",
];

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

fn fixture(name: &str) -> Vec<u8> {
    testing::fixture(format!("{DIR}/{name}"))
}

fn parse(name: &str) -> Snapshot {
    // Full dates: the poll time plays no part.
    testing::check_status::<Lsmon>(&fixture(name), 0).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn crlf_tabs_quotes_and_client_blocks() {
    let s = parse("crlf_tabs_blocks.txt");
    assert_eq!(servers(&s), strs(&["lic1:-|Up|-|-|"]));
    assert_eq!(
        features(&s),
        strs(&["|SOLVER|2.0|-|10|4|2022-11-19T23:59:59Z|Floating"])
    );
    assert_eq!(
        checkouts(&s),
        strs(&[
            "|SOLVER|John Doe|WS-01|local|2|2020-11-03T11:34:40Z|-|-|false",
            // A commuter token is a borrowed license.
            "|SOLVER|road.warrior|laptop-7|local|1|2020-11-02T08:00:00Z|-|-|true",
            // Held after the application ended: no running-since time.
            "|SOLVER|held|WS-02|-|1|-|-|-|false",
        ])
    );
    assert!(s.reservations.is_empty() && s.queued.is_empty());
    assert_eq!(diags(&s), strs(&[]));
}

#[test]
fn unlimited_users_reserved_tokens_and_queued_clients() {
    let s = parse("unlimited_reserved_queued.txt");
    assert_eq!(servers(&s), strs(&["lic1:-|Up|-|-|"]));
    assert_eq!(
        features(&s),
        strs(&[
            "|VIEWER|-|-|-|1|-|Uncounted",
            // Reserved tokens in use count as in use.
            "|MESHER|1.0|-|5|5|2026-06-23T23:59:59Z|Unknown",
        ])
    );
    assert_eq!(reservations(&s), strs(&["|MESHER|3|Group|"]));
    assert_eq!(
        checkouts(&s),
        strs(&["|MESHER|alice|ws1|-|1|2026-06-01T09:00:00Z|-|-|false"])
    );
    assert_eq!(
        queued(&s),
        strs(&["|MESHER|bob|ws2|2|2026-06-01T09:30:00Z"])
    );
    assert_eq!(diags(&s), strs(&[]));
}

#[test]
fn a_server_lsmon_cannot_talk_to_is_down() {
    let s = parse("unreachable.txt");
    assert_eq!(
        servers(&s),
        strs(&[
            "lic9:-|Down|-|Server name not set, or monitor cannot talk to the server.; Try setting the LSHOST environment variable.|"
        ])
    );
    assert!(s.features.is_empty() && s.diagnostics.is_empty());
}

#[test]
fn a_server_without_licenses_is_up() {
    let s = parse("no_license.txt");
    assert_eq!(
        servers(&s),
        strs(&["lic1:-|Up|-|There is no license in the server lic1|"])
    );
    assert!(s.features.is_empty() && s.diagnostics.is_empty());
}

#[test]
fn damaged_blocks_become_diagnostics() {
    let s = parse("malformed.txt");
    assert_eq!(servers(&s), strs(&["lic1:-|Up|-|-|"]));
    assert_eq!(
        features(&s),
        strs(&["|GOOD|-|-|5|1|2022-11-19T23:59:59Z|Unknown"])
    );
    assert_eq!(
        checkouts(&s),
        strs(&["|GOOD|bob|ws2|-|1|2022-02-28T09:00:00Z|-|-|false"])
    );
    assert_eq!(
        diags(&s),
        strs(&[
            "3|Unrecognised|Feature name : \"ORPHAN\"",
            "4|Malformed|Client Information without a feature",
            "7|Malformed|Feature Information without a feature name",
            "12|Malformed|Maximum concurrent user(s) : lots",
            "22|Malformed|Status : Running since Mon Feb 30 09:00:00 2022",
            "27|Unrecognised|something lsmon never printed",
        ])
    );
}

/// The fuzz target's body on every fixture, cut after each of its bytes.
#[test]
fn fuzz_body_holds_on_every_fixture_cut() {
    testing::fuzz_status_cuts::<Lsmon>(DIR);
}

#[test]
fn other_text_is_bad_input() {
    for text in [
        &b""[..],
        b"\n\n",
        b"Dear diary,\ntoday nothing was licensed.\n",
        b"LM-X End-user Utility v3.32\nFeature name : x\n",
    ] {
        assert!(
            matches!(Lsmon::parse_status(text, 0), Err(PluginError::BadInput(_))),
            "{:?}",
            String::from_utf8_lossy(text)
        );
    }
}

#[test]
fn every_fixture_is_tested() {
    assert_eq!(testing::file_names(DIR), strs(FIXTURES));
}
