//! The poller run natively on tests/fixtures, the way the host runs its component.

use {{crate}}::{{Type}};
use tally_plugin_sdk::testing::{self, snapshot};
use tally_plugin_sdk::{PluginError, Poller};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
/// When the host ran the command: 2025-03-04T10:00:00Z.
const NOW: i64 = 1_741_082_400;

#[test]
fn server_up() {
    let output = testing::fixture(format!("{DIR}/up.txt"));
    // check_status also applies the host's checks and parses the output with CRLF line ends.
    let s = testing::check_status::<{{Type}}>(&output, NOW).expect("a snapshot");
    assert_eq!(snapshot::servers(&s), ["lic1.example.com:7070|Up|4.1|-|"]);
    assert_eq!(
        snapshot::features(&s),
        [
            "acme|solver|-|-|10|3|-|Floating",
            "acme|mesher|-|-|4|0|-|Floating"
        ]
    );
    assert_eq!(
        snapshot::checkouts(&s),
        [
            "acme|solver|alice|ws-17|-|2|2025-03-04T09:15:00Z|-|-|false",
            "acme|solver|bob|ws-03|-|1|2025-03-04T09:20:00Z|-|-|false",
        ]
    );
    assert_eq!(snapshot::diags(&s), ["6|Malformed|booster: ? of 2 in use"]);
}

#[test]
fn server_down() {
    let output = testing::fixture(format!("{DIR}/down.txt"));
    let s = testing::check_status::<{{Type}}>(&output, NOW).expect("a snapshot");
    assert_eq!(
        snapshot::servers(&s),
        ["lic1.example.com:7070|Down|-|connection refused|"]
    );
    assert!(s.features.is_empty() && s.checkouts.is_empty());
}

#[test]
fn other_output_is_refused() {
    let refused = {{Type}}::parse_status(b"lmutil - Copyright (c) 1989-2024\n", NOW);
    assert!(
        matches!(refused, Err(PluginError::BadInput(_))),
        "{refused:?}"
    );
    assert_eq!({{Type}}::sniff(b"lmutil - Copyright"), 0.0);
}

#[test]
fn every_fixture_passes_the_hosts_checks() {
    // Every fixture, and every fixture cut short after each byte: no panic, no invalid record.
    testing::fuzz_status_cuts::<{{Type}}>(DIR);
}
