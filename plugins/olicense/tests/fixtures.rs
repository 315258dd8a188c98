//! Hand-made outputs, one per quirk, with every record compared exactly.
use olicense::OLicense;
use tally_plugin_sdk::testing;
use tally_plugin_sdk::testing::snapshot::*;
use tally_plugin_sdk::{PluginError, Snapshot};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

fn fixture(name: &str) -> Vec<u8> {
    testing::fixture(format!("{DIR}/{name}"))
}

/// The poll time the tests pass (2025-01-01T00:00:00Z); olixtool outputs never need it.
const NOW: i64 = 1_735_689_600;

fn parse(output: &[u8]) -> Result<Snapshot, PluginError> {
    testing::check_status::<OLicense>(output, NOW)
}

#[test]
fn two_licenses_lock_groups_and_crlf() {
    let s = parse(&fixture("crlf_two_licenses_groups.txt")).expect("parse");
    assert_eq!(servers(&s), ["10.0.0.5:31212|Up|-|-|"]);
    assert_eq!(
        features(&s),
        [
            // One pool per license: its License-ID.
            "cosin|ftire_adams|0-20251|cosin-aaaa@cos1|3|3|2026-12-31T23:59:59Z|Floating",
            "cosin|ftire_tools|0-20251|cosin-aaaa@cos1|1|0|2026-12-31T23:59:59Z|NodeLocked",
            "cosin|ftire_adams|0-20251|cosin-aaaa@cos2|1|0|2027-06-30T00:00:00Z|Floating",
        ]
    );
    assert_eq!(
        checkouts(&s),
        [
            "cosin|ftire_adams|ann|ws-1|-|1|-|-|-|false",
            "cosin|ftire_adams|ann|ws-2|-|1|-|-|-|false",
            "cosin|ftire_adams|bert|ws-2.example.com|-|1|-|-|-|false",
        ]
    );
    assert!(s.diagnostics.is_empty(), "{:?}", diags(&s));
}

#[test]
fn floats_shared_unevenly_are_flagged() {
    let s = parse(&fixture("shared_floats.txt")).expect("parse");
    assert_eq!(
        features(&s),
        ["cosin|ftire_adams|0-20251|cosin-bbbb@cos3|5|4|2026-12-31T23:59:59Z|Floating"]
    );
    // 3 floats for 2 clients: shared so that they add up to the group's 3. 1 float for 2
    // clients: one each, as the host takes no checkout of 0 (found by the fuzz body's checks).
    assert_eq!(
        checkouts(&s),
        [
            "cosin|ftire_adams|carl|ws-3|-|1|-|-|-|false",
            "cosin|ftire_adams|carl|ws-4|-|1|-|-|-|false",
            "cosin|ftire_adams|dora|ws-5|-|2|-|-|-|false",
            "cosin|ftire_adams|eve|ws-6|-|1|-|-|-|false",
        ]
    );
    assert_eq!(
        diags(&s),
        [
            "18|Assumption|1 floats shared by 2 clients, one counted for each",
            "21|Assumption|3 floats shared by 2 clients"
        ]
    );
}

#[test]
fn broken_lines_become_diagnostics() {
    let s = parse(&fixture("broken_lines.txt")).expect("parse");
    assert_eq!(servers(&s), ["lic01:31212|Up|-|-|"]);
    assert_eq!(
        features(&s),
        ["cosin|ftire_tools|-|-|2|0|2026-12-31T23:59:59Z|Floating"]
    );
    assert!(s.checkouts.is_empty());
    // Unknown key, group before a module, `three` floats, a client outside a group, a stray
    // message, the cut last row.
    assert_eq!(
        diags(&s),
        [
            "10|Unrecognised|SeatColour:	blue",
            "14|Malformed|1 FloatsLockedBy:",
            "15|Malformed|ftire_adams;	FreeFloating;	three;	2026-12-31 23:59:59;",
            "17|Malformed|stray@ws-9 #1",
            "18|Unrecognised|Request timed out",
            "19|Malformed|ftire_x;   FreeFl"
        ]
    );
}

#[test]
fn connection_error_is_a_down_server() {
    let s = parse(&fixture("connect_error.txt")).expect("parse");
    assert_eq!(
        servers(&s),
        ["lic01:80|Down|-|OlComm 454 Request cannot connect to target|"]
    );
    assert!(s.features.is_empty() && s.diagnostics.is_empty());
}

#[test]
fn bom_ipv6_and_no_banner() {
    let s = parse(&fixture("bom_ipv6_no_banner.txt")).expect("parse");
    assert_eq!(servers(&s), ["fe80::1:31212|Up|-|-|"]);
    assert_eq!(
        features(&s),
        ["cosin|ftire_adams|0-20251|cosin-cccc@cos4|2|0|2026-12-31T00:00:00Z|Floating"]
    );
    assert!(s.diagnostics.is_empty(), "{:?}", diags(&s));
}

#[test]
fn other_tools_are_bad_input() {
    for other in [
        &b"lmutil - Copyright (c) 1989-2017 Flexera Software LLC. All Rights Reserved.\n"[..],
        b"Using default server 31010@localhost\n*** ERROR failed to open server localhost\n",
        b"",
        b"\xff\xfe\x00garbage",
    ] {
        assert!(matches!(parse(other), Err(PluginError::BadInput(_))));
    }
}

/// The fuzz target's body on every fixture, cut after each of its bytes.
#[test]
fn fuzz_body_holds_on_every_fixture_cut() {
    testing::fuzz_status_cuts::<OLicense>(DIR);
}
