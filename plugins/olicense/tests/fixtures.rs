//! Hand-made outputs, one per quirk, with every record compared exactly.
mod common;

use common::*;
use tally_plugin_sdk::PluginError;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn two_licenses_lock_groups_and_crlf() {
    let s = parse(&fixture("crlf_two_licenses_groups.txt")).expect("parse");
    assert_eq!(servers(&s), ["10.0.0.5:31212|Up|-|-"]);
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
            "cosin|ftire_adams|ann|ws-1|1|-|-",
            "cosin|ftire_adams|ann|ws-2|1|-|-",
            "cosin|ftire_adams|bert|ws-2.example.com|1|-|-",
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
    // 1 float for 2 clients, 3 for 2: shared so that they add up to the groups' 4.
    assert_eq!(
        checkouts(&s),
        [
            "cosin|ftire_adams|carl|ws-3|1|-|-",
            "cosin|ftire_adams|carl|ws-4|0|-|-",
            "cosin|ftire_adams|dora|ws-5|2|-|-",
            "cosin|ftire_adams|eve|ws-6|1|-|-",
        ]
    );
    assert_eq!(diags(&s), ["18|Assumption", "21|Assumption"]);
}

#[test]
fn broken_lines_become_diagnostics() {
    let s = parse(&fixture("broken_lines.txt")).expect("parse");
    assert_eq!(servers(&s), ["lic01:31212|Up|-|-"]);
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
            "10|Unrecognised",
            "14|Malformed",
            "15|Malformed",
            "17|Malformed",
            "18|Unrecognised",
            "19|Malformed"
        ]
    );
}

#[test]
fn connection_error_is_a_down_server() {
    let s = parse(&fixture("connect_error.txt")).expect("parse");
    assert_eq!(
        servers(&s),
        ["lic01:80|Down|-|OlComm 454 Request cannot connect to target"]
    );
    assert!(s.features.is_empty() && s.diagnostics.is_empty());
}

#[test]
fn bom_ipv6_and_no_banner() {
    let s = parse(&fixture("bom_ipv6_no_banner.txt")).expect("parse");
    assert_eq!(servers(&s), ["fe80::1:31212|Up|-|-"]);
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

#[test]
fn every_cut_of_a_fixture_parses_without_panicking() {
    for name in ["crlf_two_licenses_groups.txt", "shared_floats.txt"] {
        let data = fixture(name);
        for cut in 0..data.len() {
            let _ = parse(&data[..cut]);
        }
    }
}
