//! The importer run natively on tests/fixtures, the way the host runs its component.

use {{crate}}::{{Type}};
use tally_plugin_sdk::testing::{self, denials, diags, sessions};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

#[test]
fn sample_log() {
    let log = testing::fixture(format!("{DIR}/sample.log"));
    // The server's clock runs at UTC+1 (`tally import --utc-offset +1`): its 09:15 is 08:15Z.
    // check_import also feeds the log in small chunks and resumes it from a checkpoint at every
    // line; each way must give these same records.
    let batch = testing::check_import::<{{Type}}>(&log, &testing::config(3600, None));
    assert_eq!(
        sessions(&batch),
        [
            "acme|solver|alice|ws-17|2|2025-03-04T08:15:02Z|2025-03-04T08:47:30Z|Checkin|-",
            "acme|mesher|alice|ws-17|1|2025-03-04T09:05:09Z|2025-03-04T09:31:12Z|Checkin|-",
            "acme|solver|bob|ws-03|1|2025-03-04T08:20:40Z|2025-03-04T10:40:00Z|Checkin|-",
            // Still checked out when the log ends: it ends at the last event.
            "acme|mesher|carol|ws-09|1|2025-03-04T10:52:30Z|2025-03-04T10:52:30Z|EndOfLog|-",
        ]
    );
    assert_eq!(
        denials(&batch),
        ["acme|solver|carol|ws-09|1|2025-03-04T09:02:11Z|Denied|-|all licenses in use|-"]
    );
    // Line 2 is a message, line 7 checks in what was out before the log began, line 10 has an
    // hour 25.
    assert_eq!(
        diags(&batch),
        ["2|Unrecognised", "7|Assumption", "10|Malformed"]
    );
}

#[test]
fn every_fixture_passes_the_hosts_checks() {
    // Every file of tests/fixtures, in every chunking, through the host's checks and the
    // fuzz target's body (`docs/fuzzing.md`).
    testing::check_import_dir::<{{Type}}>(DIR, &[testing::config(0, None)]);
}

#[test]
fn sniff_knows_its_own_format() {
    let log = testing::fixture(format!("{DIR}/sample.log"));
    assert!(<{{Type}} as tally_plugin_sdk::Importer>::sniff(&log) > 0.5);
    assert_eq!(
        <{{Type}} as tally_plugin_sdk::Importer>::sniff(b"Feb 12 10:00:01 sshd[1]: hello\n"),
        0.0
    );
}
