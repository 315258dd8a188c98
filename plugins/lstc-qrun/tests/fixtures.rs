//! Hand-made outputs, one per quirk, with every record compared exactly.
use lstc_qrun::LstcQrun;
use tally_plugin_sdk::testing;
use tally_plugin_sdk::testing::snapshot::*;
use tally_plugin_sdk::{PluginError, Snapshot};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

fn fixture(name: &str) -> Vec<u8> {
    testing::fixture(format!("{DIR}/{name}"))
}

/// The poll time the tests pass (2025-01-01T00:00:00Z); lstc_qrun outputs never need it.
const NOW: i64 = 1_735_689_600;

fn parse(output: &[u8]) -> Result<Snapshot, PluginError> {
    testing::check_status::<LstcQrun>(output, NOW)
}

#[test]
fn crlf_tabs_fqdn_and_names_with_spaces() {
    let s = parse(&fixture("crlf_tabs_fqdn_names.txt")).expect("parse");
    assert_eq!(servers(&s), ["lic01.example.com:31010|Up|-|-|"]);
    assert_eq!(
        features(&s),
        [
            // USED `-`: the CPUs of the users listed under it.
            "LSTC|LS-DYNA|-|-|64|48|2026-01-31T00:00:00Z|Floating",
            "LSTC|MPPDYNA|-|-|64|0|2026-01-31T00:00:00Z|Floating",
        ]
    );
    assert_eq!(
        checkouts(&s),
        [
            "LSTC|LS-DYNA|alice|node01.cluster.example.com|-|32|-|4242|-|false",
            "LSTC|LS-DYNA|John Doe|ws-7|-|16|-|77|-|false",
        ]
    );
    assert!(s.queued.is_empty());
    assert!(s.diagnostics.is_empty(), "{:?}", diags(&s));
}

#[test]
fn queued_jobs_and_license_groups() {
    let s = parse(&fixture("queue_groups.txt")).expect("parse");
    assert_eq!(servers(&s), ["lic01:31010|Up|-|-|"]);
    assert_eq!(
        features(&s),
        [
            "LSTC|MPPDYNA|-|-|64|64|2025-12-31T00:00:00Z|Floating",
            "LSTC|LS-PREPOST|-|-|10|1|2025-12-31T00:00:00Z|Floating",
            "LSTC|LS-OPT|-|-|10|0|-|Floating",
        ]
    );
    assert_eq!(checkouts(&s), ["LSTC|MPPDYNA|bob|n1|-|64|-|101|-|false"]);
    // The report counts queued jobs without naming their users.
    assert_eq!(queued(&s), ["LSTC|MPPDYNA|||2|-"]);
    // `permanent` is no date; the second group's 2 is not its programs' 1.
    assert_eq!(
        diags(&s),
        [
            "11|Assumption|expiration not a date: LS-OPT           permanent           0      9     10 |     0",
            "12|Assumption|group total differs from its programs' sum 1: LICENSE GROUP     2      9     10 |     0"
        ]
    );
}

#[test]
fn broken_lines_become_diagnostics() {
    let s = parse(&fixture("broken_lines.txt")).expect("parse");
    assert_eq!(servers(&s), ["lic01:31010|Up|-|-|"]);
    assert_eq!(
        features(&s),
        ["LSTC|LS-DYNA|-|-|64|0|2025-12-31T00:00:00Z|Floating"]
    );
    assert!(s.checkouts.is_empty());
    // A user before any program, `x0` CPUs, pid `abc`, a stray message, the cut last row.
    assert_eq!(
        diags(&s),
        [
            "7|Malformed|early     1@n1  8",
            "8|Malformed|MPPDYNA          12/31/2025          -     x0     64 |     0",
            "10|Malformed|carol     abc@n2  8",
            "11|Unrecognised|Connection reset by peer",
            "12|Malformed|LS-DYNA_971      12/31/2025"
        ]
    );
}

#[test]
fn error_is_a_down_server() {
    let s = parse(&fixture("error_trailing_tabs.txt")).expect("parse");
    assert_eq!(
        servers(&s),
        ["lic01.example.com:-|Down|-|failed to open server lic01.example.com|"]
    );
    assert!(s.features.is_empty() && s.diagnostics.is_empty());
}

#[test]
fn other_tools_are_bad_input() {
    for other in [
        &b"lmutil - Copyright (c) 1989-2017 Flexera Software LLC. All Rights Reserved.\n"[..],
        b"olixtool 4.8.0 - OLicense XML Status Application\n",
        b"",
        b"\xff\xfe\x00garbage",
    ] {
        assert!(matches!(parse(other), Err(PluginError::BadInput(_))));
    }
}

/// The fuzz target's body on every fixture, cut after each of its bytes.
#[test]
fn fuzz_body_holds_on_every_fixture_cut() {
    testing::fuzz_status_cuts::<LstcQrun>(DIR);
}
