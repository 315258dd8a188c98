//! Hand-made reports in the layout of Wolfram's documented example, one per quirk, with every
//! record compared exactly. The poll time is 2025-01-01T00:00:00Z.
use mathlm::MathLm;
use tally_plugin_sdk::testing;
use tally_plugin_sdk::testing::snapshot::*;
use tally_plugin_sdk::{PluginError, Snapshot};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

fn fixture(name: &str) -> Vec<u8> {
    testing::fixture(format!("{DIR}/{name}"))
}

/// The poll time the tests pass (2025-01-01T00:00:00Z): checkout starts are reckoned from it.
const NOW: i64 = 1_735_689_600;

fn parse(output: &[u8]) -> Result<Snapshot, PluginError> {
    testing::check_status::<MathLm>(output, NOW)
}

#[test]
fn documented_report() {
    let s = parse(&fixture("report.txt")).expect("parse");
    assert_eq!(servers(&s), ["lic01.example.org:-|Up|13.1|-|"]);
    assert_eq!(
        features(&s),
        [
            "MathLM|Mathematica|-|A|10|2|-|Floating",
            "MathLM|MathKernel|-|A|20|3|-|Floating",
            "MathLM|Sub Mathematica|-|A|40|0|-|Floating",
            "MathLM|Sub MathKernel|-|A|40|1|-|Floating",
        ]
    );
    // Start = poll time − duration (H:MM, hours past 24 included).
    assert_eq!(
        checkouts(&s),
        [
            "MathLM|Mathematica|ana|pc1.example.org|-|1|2024-12-31T15:11:00Z|-|-|false",
            "MathLM|Mathematica|ben|pc2.example.org|-|1|2024-12-31T23:55:00Z|-|-|false",
            "MathLM|MathKernel|ana|pc1.example.org|-|1|2024-12-31T15:12:00Z|-|-|false",
            "MathLM|MathKernel|ben|pc2.example.org|-|1|2024-12-31T23:55:00Z|-|-|false",
            "MathLM|MathKernel|ben|pc2.example.org|-|1|2024-12-31T23:56:00Z|-|-|false",
            "MathLM|Sub MathKernel|ana|node7|-|1|2024-12-30T22:00:00Z|-|-|false",
        ]
    );
    assert!(s.diagnostics.is_empty(), "{:?}", diags(&s));
}

#[test]
fn crlf_tabs_classes_empty_hostname_and_spaced_user() {
    let s = parse(&fixture("crlf_empty_hostname.txt")).expect("parse");
    assert_eq!(servers(&s), ["lic02:-|Up|12.3|-|"]);
    assert_eq!(
        features(&s),
        [
            "MathLM|Mathematica|-|A|5|1|-|Floating",
            "MathLM|Mathematica|-|B|2|1|-|Floating",
        ]
    );
    assert_eq!(
        checkouts(&s),
        [
            "MathLM|Mathematica|carla||-|1|2024-12-31T22:57:57Z|-|-|false",
            "MathLM|Mathematica|Dan Smith|ws-9|-|1|2024-12-31T23:30:00Z|-|-|false",
        ]
    );
    assert!(s.diagnostics.is_empty(), "{:?}", diags(&s));
}

#[test]
fn broken_lines_become_diagnostics() {
    let s = parse(&fixture("broken_lines.txt")).expect("parse");
    assert_eq!(servers(&s), ["lic01:-|Up|13.1|-|"]);
    assert_eq!(features(&s), ["MathLM|MathKernel|-|A|20|0|-|Floating"]);
    assert!(s.checkouts.is_empty());
    // A stray line, `two` in use, a duration `soon`, no duration, the cut `08:`.
    assert_eq!(
        diags(&s),
        [
            "3|Unrecognised|something odd before the tables",
            "5|Malformed|Mathematica                    A        two        10",
            "8|Malformed|Mathematica        13.1       A        ana         pc1    soon",
            "9|Malformed|MathKernel         13.1       A        ana",
            "10|Malformed|Mathematica        13.1       A        ana         pc1    08:"
        ]
    );
}

#[test]
fn a_message_instead_of_the_report_is_a_down_server() {
    let s = parse(&fixture("error.txt")).expect("parse");
    assert_eq!(
        servers(&s),
        [":-|Down|-|monitorlm: Could not connect to MathLM on lic01.example.org|"]
    );
    // The wording of monitorlm's errors is not documented: flagged as a guess.
    assert_eq!(
        diags(&s),
        [
            "1|Assumption|no report; read as the server being unreachable: monitorlm: Could not connect to MathLM on lic01.example.org"
        ]
    );
}

#[test]
fn other_outputs_are_bad_input() {
    for other in [
        // A site's own -template output (phpLicenseWatcher issue #143): date, time, count.
        &b"03-4-2024, 06:45:01,     2\n03-4-2024, 06:55:01,     2"[..],
        b"lmutil - Copyright (c) 1989-2017 Flexera Software LLC. All Rights Reserved.\n",
        b"",
        b"\xff\xfe\x00garbage",
    ] {
        assert!(matches!(parse(other), Err(PluginError::BadInput(_))));
    }
}

/// The fuzz target's body on every fixture, cut after each of its bytes.
#[test]
fn fuzz_body_holds_on_every_fixture_cut() {
    testing::fuzz_status_cuts::<MathLm>(DIR);
}
