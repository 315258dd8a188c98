//! Hand-made outputs, one per quirk, with every record compared exactly.
use dsls_status::DslsStatus;
use tally_plugin_sdk::testing;
use tally_plugin_sdk::testing::snapshot::*;
use tally_plugin_sdk::{PluginError, Snapshot};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

fn fixture(name: &str) -> Vec<u8> {
    testing::fixture(format!("{DIR}/{name}"))
}

/// The poll time the tests pass (2025-01-01T00:00:00Z); DSLS outputs never need it.
const NOW: i64 = 1_735_689_600;

fn parse(output: &[u8]) -> Result<Snapshot, PluginError> {
    testing::check_status::<DslsStatus>(output, NOW)
}

const HD2: &str = "Dassault Systemes|HD2|5|-|3|1|2026-06-30T23:59:00Z|Floating";
const MD2: &str = "Dassault Systemes|MD2|5|-|2|0|2026-06-30T23:59:00Z|Floating";
const ALICE: &str = "Dassault Systemes|HD2|alice|ws-12|-|1|2025-03-04T08:15:00Z|0A1B|-|false";

#[test]
fn warning_and_prompt_glued_to_the_header() {
    let s = parse(&fixture("warning_glued_prompt.txt")).expect("parse");
    assert_eq!(
        servers(&s),
        [
            "lic01.example.com:-|Up|6.425.4|Warning: restricted connection, some operations are not permitted|"
        ]
    );
    assert_eq!(features(&s), [HD2, MD2]);
    assert_eq!(checkouts(&s), [ALICE]);
    assert!(s.diagnostics.is_empty(), "{:?}", diags(&s));
}

#[test]
fn bom_crlf_and_no_final_newline() {
    let s = parse(&fixture("bom_crlf_no_final_newline.txt")).expect("parse");
    assert_eq!(servers(&s), ["lic01.example.com:-|Up|6.425.4|-|"]);
    assert_eq!(features(&s), [HD2, MD2]);
    assert_eq!(checkouts(&s), [ALICE]);
    assert!(s.diagnostics.is_empty(), "{:?}", diags(&s));
}

#[test]
fn pools_tokens_queue_and_quoted_fields() {
    let s = parse(&fixture("pools_tokens_queue.txt")).expect("parse");
    assert_eq!(
        features(&s),
        [
            "Dassault Systemes|SRU|423|Token/423/2025-12-31 23:59:00/10001723/100|100|60|2025-12-31T23:59:00Z|Floating",
            "Dassault Systemes|SRU|423|Token/423/2026-12-31 23:59:00/10001723/50|50|0|2026-12-31T23:59:00Z|Floating",
            "Dassault Systemes V5|CAC-MCE|5|-|1|1|2027-01-01T00:00:00Z|Floating",
            // No editor: the manager's name; `permanent` is no date.
            "DSLS|NL1|5|-|1|0|-|NodeLocked",
        ]
    );
    assert_eq!(
        checkouts(&s),
        [
            "Dassault Systemes|SRU|bob|nid1|-|40|2025-02-01T10:00:00Z|02DB1|-|false",
            "Dassault Systemes|SRU|carol|nid2|-|20|2025-02-01T10:30:00Z|02DB2|-|false",
            "Dassault Systemes V5|CAC-MCE|erin|pc7.corp.example.com|-|1|2025-02-02T07:00:00Z|0C1|-|false",
        ]
    );
    assert_eq!(queued(&s), ["Dassault Systemes|SRU|dave|nid3|30|-"]);
    assert_eq!(
        diags(&s),
        ["12|Assumption|expiration date not read: ,,NL1,NodeLock,STD,5,,YLC,0,permanent,1,1,0,"]
    );
}

#[test]
fn broken_rows_become_diagnostics() {
    let s = parse(&fixture("broken_rows.txt")).expect("parse");
    assert_eq!(servers(&s), ["lic01.example.com:-|Up|6.425.4|-|"]);
    assert_eq!(
        features(&s),
        ["Dassault Systemes|PAC|8|-|1|0|2025-01-01T00:59:00Z|Floating"]
    );
    // `six` licenses, a message in the table, the cut last row.
    assert_eq!(
        diags(&s),
        [
            "9|Malformed|Dassault Systemes,5E756A80,PAJ,Token,STD,8,2025-01-01 00:59:00,YLC,0,2025-01-01 00:59:00,10001723,six,0,",
            "10|Unrecognised|ERROR: connection lost",
            "11|Malformed|Dassault Systemes,5E756A80,PC"
        ]
    );
}

#[test]
fn connection_error_is_a_down_server() {
    let s = parse(&fixture("cannot_connect.txt")).expect("parse");
    assert_eq!(
        servers(&s),
        ["lic01.example.com:4085|Down|-|Cannot connect to server lic01.example.com on port 4085|"]
    );
    assert!(s.features.is_empty() && s.diagnostics.is_empty());
}

#[test]
fn server_not_ready() {
    let s = parse(&fixture("not_ready.txt")).expect("parse");
    assert_eq!(servers(&s), ["lic01.example.com:-|Down|6.425.4|Ready: no|"]);
    assert!(s.features.is_empty() && s.diagnostics.is_empty());
}

#[test]
fn columns_are_found_by_name() {
    let s = parse(&fixture("other_column_order.txt")).expect("parse");
    assert_eq!(servers(&s), [":-|Up|-|-|"]);
    assert_eq!(features(&s), ["Dassault Systemes|HD2|-|-|4|1|-|Unknown"]);
    assert_eq!(
        checkouts(&s),
        ["Dassault Systemes|HD2|frank|ws-9|-|1|2025-03-04T08:15:00Z|-|-|false"]
    );
}

#[test]
fn other_tools_are_bad_input() {
    for other in [
        &b"lmutil - Copyright (c) 1989-2017 Flexera Software LLC. All Rights Reserved.\n"[..],
        b"2025/08/18 08:28:06:989 I STARTSERVER Server version 6.426.0 built on Sep 5, 2023\n",
        b"",
        b"\xff\xfe\x00garbage",
    ] {
        assert!(matches!(parse(other), Err(PluginError::BadInput(_))));
    }
}

/// The fuzz target's body on every fixture, cut after each of its bytes.
#[test]
fn fuzz_body_holds_on_every_fixture_cut() {
    testing::fuzz_status_cuts::<DslsStatus>(DIR);
}
