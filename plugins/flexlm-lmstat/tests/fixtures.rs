//! Hand-made fixtures, one per quirk of the format (see `tests/fixtures/`). Each test asserts
//! every record the fixture produces; the last tests run all of them cut short and with CRLF.
mod common;

use common::*;
use flexlm_lmstat::FlexlmLmstat;
use tally_plugin_sdk::testing::snapshot::*;
use tally_plugin_sdk::testing::{self, strs};
use tally_plugin_sdk::{PluginError, Poller, Snapshot};

const FIXTURES: &[&str] = &[
    "crlf_bom_nbsp_no_final_newline.txt",
    "daemons_and_runs.txt",
    "elided.txt",
    "error_getting_status.txt",
    "lmgrd_not_running.txt",
    "lmstat_i.txt",
    "names.txt",
    "pools_reservations.txt",
    "queued_linger_borrowed.txt",
    "saved_output.txt",
    "triad_member_down.txt",
    "truncated.txt",
    "truncated_users_of.txt",
    "uncounted_and_errors.txt",
    "version_only.txt",
    "year_rollover.txt",
];

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

fn fixture(name: &str) -> Vec<u8> {
    testing::fixture(format!("{DIR}/{name}"))
}

fn run(name: &str, now: i64) -> Snapshot {
    parse(&fixture(name), now)
}

#[test]
fn every_fixture_is_listed() {
    assert_eq!(testing::file_names(DIR), strs(FIXTURES));
}

/// A saved output read years later (`tally probe`, an import of saved outputs): its checkouts
/// are dated from its own `status on` line (Fri 10/20/2017), not from the time it is read, and
/// their weekdays agree; a user of several words is split at the host the display follows.
#[test]
fn a_saved_output_keeps_its_date() {
    let read_later = at(2026, 12, 7, 1, 40);
    let s = run("saved_output.txt", read_later);
    assert_eq!(
        checkouts(&s),
        strs(&[
            "demo|solver|alice|ws1|/dev/pts/1|1|2017-10-19T09:15:00Z|101|-|false",
            "demo|solver|John Doe|ws7|/dev/pts/3|1|2017-10-20T08:00:00Z|102|-|false",
            // Friday 30 December: last year's, before the status date.
            "demo|solver|Mary Ann van Dyke|cad-12|cad-12:0.0|1|2016-12-30T23:40:00Z|103|-|false",
            // Monday 19 October is no date of 2017 or 2016: 2017's, and said.
            "demo|solver|bob|ws2|/dev/tty|1|2017-10-19T07:00:00Z|104|-|false",
        ])
    );
    assert_eq!(
        diags(&s),
        strs(&[
            "22|Assumption|the start's weekday agrees with no year near the output's date; the latest year is used: bob ws2 /dev/tty (v2017.1) (lic/27000 104), start Mon 10/19 7:00"
        ])
    );
    // Read the day it was taken, the same dates.
    assert_eq!(
        checkouts(&run("saved_output.txt", at(2017, 10, 20, 17, 2))),
        checkouts(&s)
    );
}

#[test]
fn triad_with_a_member_down() {
    let s = run("triad_member_down.txt", at(2017, 11, 23, 15, 8));
    assert_eq!(
        servers(&s),
        strs(&[
            "lic1:28000|Up|11.13.0|-|",
            // The daemon belongs to the server its section names (the master).
            "lic2:28000|Up|11.13.0|-|acme:Up:11.13.1:-",
            r#"lic3:28000|Down|-|Cannot connect to license server system. (-15,570:115 "Operation now in progress")|"#,
        ])
    );
    assert_eq!(features(&s), strs(&["acme|solver|31.0|-|144|2|-|Floating"]));
    assert_eq!(
        checkouts(&s),
        strs(&["acme|solver|alice|ws1|/dev/pts/1|2|2017-11-23T09:15:00Z|101|-|false"])
    );
    assert!(s.diagnostics.is_empty(), "{:?}", s.diagnostics);
}

#[test]
fn whole_output_errors_are_a_server_down() {
    // The echoed command names the server; the error code stays in the message.
    let s = run("error_getting_status.txt", at(2025, 11, 11, 16, 3));
    assert_eq!(
        servers(&s),
        strs(&[
            "lic.example.org:8224|Down|-|Cannot read data from license server system. (-16,287)|"
        ])
    );
    let s = run("lmgrd_not_running.txt", at(2020, 3, 2, 10, 0));
    assert_eq!(
        servers(&s),
        strs(&[
            r#"lic9:27000|Down|-|lmgrd is not running: License server machine is down or not responding. (-96,7:10049 "WinSock: Invalid address")|"#
        ])
    );
    for s in [&s, &run("error_getting_status.txt", 0)] {
        assert!(s.features.is_empty() && s.checkouts.is_empty() && s.diagnostics.is_empty());
    }
    // Without a server name anywhere, the server is nameless: the host knows whom it asked.
    let s = parse(
        b"Error getting status: Cannot connect to license server (-15,570:111 \"Connection refused\")\n",
        0,
    );
    assert_eq!(
        servers(&s),
        strs(&[
            r#":-|Down|-|Cannot connect to license server (-15,570:111 "Connection refused")|"#
        ])
    );
}

#[test]
fn several_daemons_and_servers_in_one_output() {
    let s = run("daemons_and_runs.txt", at(2020, 10, 15, 15, 45));
    assert_eq!(
        servers(&s),
        strs(&[
            "lic.example.org:27000|Up|11.16.2|-|acme:Up:11.16.2:-,beta:Down:-:The desired vendor daemon is down. (-97,121)",
            // `(on lic)` is the short name of the second run's server.
            "lic.example.org:27002|Up|11.13.0|-|gamma:Up:11.13.0:-",
        ])
    );
    assert_eq!(
        features(&s),
        strs(&[
            "acme|solver|2.0|-|4|1|-|Floating",
            "beta|mesher|-|-|2|0|-|Unknown",
            "gamma|viewer|-|-|1|0|-|Unknown",
        ])
    );
    assert_eq!(
        checkouts(&s),
        strs(&["acme|solver|alice|ws1|/dev/tty|1|2020-10-15T08:00:00Z|11|-|false"])
    );
    assert!(s.diagnostics.is_empty(), "{:?}", s.diagnostics);
}

#[test]
fn pools_reservations_and_double_spacing() {
    let s = run("pools_reservations.txt", at(2026, 3, 16, 12, 16));
    assert_eq!(
        features(&s),
        strs(&[
            // Issued and in use are per feature: the first pool carries what the other pools'
            // checkouts do not (here its two reservations and the third reserved license).
            "MLM|MATLAB|12|1|20|3|-|NodeLocked",
            "MLM|MATLAB|53|2|0|1|2099-01-01T23:59:59Z|NodeLocked",
            "MLM|MATLAB|52|3|0|1|2025-12-30T23:59:59Z|Floating",
            "MLM|SIMULINK|-|-|10|0|-|Unknown",
        ])
    );
    let matlab = s.features.iter().filter(|f| f.name == "MATLAB");
    assert_eq!(matlab.map(|f| f.in_use).sum::<u32>(), 5);
    assert_eq!(
        checkouts(&s),
        strs(&[
            "MLM|MATLAB|ann|pc1|pc1|1|2026-03-16T08:13:00Z|104|-|false",
            "MLM|MATLAB|bob|pc2|pc2|1|2026-03-16T08:34:00Z|901|-|false",
        ])
    );
    assert_eq!(
        reservations(&s),
        strs(&["MLM|MATLAB|1|Group|DED", "MLM|MATLAB|2|Host|lab7"])
    );
    assert!(s.diagnostics.is_empty(), "{:?}", s.diagnostics);
}

#[test]
fn queued_linger_and_borrowed() {
    let s = run("queued_linger_borrowed.txt", at(2026, 9, 25, 12, 15));
    assert_eq!(
        features(&s),
        strs(&[
            "acme|solver|2017.12|-|2|2|-|Floating",
            "acme|gui|1.0|-|40|19|2028-06-30T23:59:59Z|Floating",
        ])
    );
    assert_eq!(
        checkouts(&s),
        strs(&[
            "acme|solver|u1|h1|h1:0.0|1|2026-09-25T11:44:00Z|11|-|false",
            "acme|solver|u2|h2|d2|1|2026-09-25T12:11:00Z|12|-|false",
            "acme|gui|u5|h5|h5|1|2026-09-24T07:27:00Z|21|600|false",
            "acme|gui|u6|LAPTOP-1|LAPTOP-1|1|2026-09-21T05:34:00Z|22|239100|true",
            "acme|gui|u7|h7|h7|1|2026-09-10T11:44:00Z|23|4263164|true",
            "acme|gui|u8|h8|h8|16|2026-09-23T05:59:00Z|24|885098|true",
        ])
    );
    assert_eq!(
        queued(&s),
        strs(&["acme|solver|u3|h3|1|-", "acme|solver|u4|h4|3|-"])
    );
    assert!(s.diagnostics.is_empty(), "{:?}", s.diagnostics);
}

#[test]
fn uncounted_and_feature_errors() {
    let s = run("uncounted_and_errors.txt", at(2025, 4, 22, 11, 8));
    assert_eq!(
        servers(&s),
        strs(&["licensevm.example:-|Up|11.19.6|-|LMCOMSOL:Up:11.19.6:-"])
    );
    assert_eq!(
        features(&s),
        strs(&[
            "LMCOMSOL|SERIAL|6.3|-|-|2|-|Uncounted",
            "LMCOMSOL|RoadRunner|-|-|-|0|-|Uncounted",
            "LMCOMSOL|SUBSURFACEFLOW|-|-|0|0|-|Unknown",
            "LMCOMSOL|MISSING|-|-|0|0|-|Unknown",
        ])
    );
    assert_eq!(
        checkouts(&s),
        strs(&[
            "LMCOMSOL|SERIAL|matlab|CLN-5CG|/dev/pts/0|1|2025-04-22T11:07:00Z|1090|-|false",
            "LMCOMSOL|SERIAL|matlab|CLN-5CG|/dev/pts/1|1|2025-04-22T11:08:00Z|1091|-|false",
        ])
    );
    // The manager's per-feature errors are kept as what they assume, not dropped.
    assert_eq!(
        diags(&s),
        strs(&[
            "27|Assumption|feature error `1 licenses, unsupported by licensed server`: read as 0 issued: Users of SUBSURFACEFLOW: (Error: 1 licenses, unsupported by licensed server)",
            "28|Assumption|feature error `Cannot get users of MISSING: No such feature exists. (-5,222)`: read as 0 issued: Users of MISSING: Cannot get users of MISSING: No such feature exists. (-5,222)"
        ])
    );
    assert!(
        s.diagnostics[1]
            .text
            .contains("No such feature exists. (-5,222)")
    );
}

#[test]
fn crlf_bom_nbsp_tabs_no_final_newline() {
    let s = run("crlf_bom_nbsp_no_final_newline.txt", at(2015, 2, 2, 17, 15));
    assert_eq!(
        servers(&s),
        strs(&["srv.example:27000|Up|11.11|-|MLM:Up:11.11:-"])
    );
    assert_eq!(features(&s), strs(&["MLM|MATLAB|31|-|3|1|-|Floating"]));
    assert_eq!(
        checkouts(&s),
        strs(&[
            "MLM|MATLAB|alexander.kurapov.lx|srv.example|/dev/pts/0|1|2015-01-30T08:44:00Z|122|-|false"
        ])
    );
    assert!(s.diagnostics.is_empty(), "{:?}", s.diagnostics);
}

#[test]
fn user_host_display_shapes() {
    let s = run("names.txt", at(2018, 9, 24, 5, 52));
    assert_eq!(
        checkouts(&s),
        strs(&[
            "acme|f|1|GM-007028|GM-007028|1|2018-09-24T01:00:00Z|1|-|false",
            "acme|f|58000|SKIA011|DESKTOP-0TO69FR|1|2018-09-24T01:01:00Z|2|-|false",
            "acme|f|Quantenna FAE4|LAPTOP-Q6|LAPTOP-Q6|1|2018-09-24T01:02:00Z|3|-|false",
            "acme|f|user11|server19|-|1|2018-09-24T01:03:00Z|4|-|false",
            "acme|f|usbn12|p-c94.com|/dev/tty|1|2018-09-24T01:04:00Z|5|-|false",
            "acme|f|ABCDKK|ER0037|SESOR045|1|2018-09-24T01:05:00Z|6|-|false",
            "acme|f|user1|host-01|host-01:0895184_3|1|2018-09-24T01:06:00Z|7|-|false",
            "acme|f|José Juan Galera|jj-pc|x&y`<\"z|1|2018-09-24T01:07:00Z|8|-|false",
        ])
    );
    // Only the name with spaces and no telling display is a guess, and says so.
    assert_eq!(
        diags(&s),
        strs(&[
            "26|Assumption|user, host and display split by guess (a name with spaces): José Juan Galera jj-pc x&y`<\"z (v1.0) (lic/27000 8), start Mon 9/24 1:07"
        ])
    );
}

#[test]
fn start_years_from_the_poll_time() {
    let s = run("year_rollover.txt", at(2025, 1, 2, 9, 30));
    assert_eq!(
        checkouts(&s),
        strs(&[
            "acme|f|a|h1|h1|1|2024-12-31T23:50:00Z|1|-|false",
            "acme|f|b|h2|h2|1|2025-01-02T08:00:00Z|2|-|false",
            // Up to a day ahead: the server's clock runs ahead of UTC.
            "acme|f|c|h3|h3|1|2025-01-03T01:00:00Z|3|-|false",
            "acme|f|d|h4|h4|1|2024-02-29T08:00:00Z|4|-|false",
            // An unreadable time keeps the checkout, without a start.
            "acme|f|e|h5|h5|1|-|5|-|false",
        ])
    );
    assert_eq!(
        diags(&s),
        strs(&[
            "23|Malformed|unreadable start time: e h5 h5 (v1.0) (lic/27000 5), start Thu 1/2 8:6x"
        ])
    );
}

#[test]
fn truncated_outputs() {
    let s = run("truncated.txt", at(2018, 5, 15, 13, 25));
    // The same host twice in different case is one server.
    assert_eq!(
        servers(&s),
        strs(&["BVS15004:27000|Up|11.15.0|-|cetim:Up:11.5:-"])
    );
    assert_eq!(
        features(&s),
        strs(&[
            "cetim|COBRA|1.0|-|1|1|-|Floating",
            "cetim|COBRA-VDI|1.0|-|1|1|-|Floating",
        ])
    );
    assert_eq!(
        checkouts(&s),
        strs(&["cetim|COBRA|u|h|/dev/tty|1|2018-05-15T09:00:00Z|7|-|false"])
    );
    assert_eq!(
        diags(&s),
        strs(&["22|Malformed|unreadable user line: u h /dev/tty (v1.0) (BVS15004/27000 8"])
    );
    let s = run("truncated_users_of.txt", at(2018, 5, 15, 13, 25));
    assert_eq!(features(&s), strs(&["cetim|COBRA|-|-|1|0|-|Unknown"]));
    assert_eq!(
        diags(&s),
        strs(&["15|Malformed|unreadable `Users of` line: Users of COBRA-DAT"])
    );
}

#[test]
fn license_file_view() {
    let s = run("lmstat_i.txt", 0);
    assert!(s.servers.is_empty() && s.checkouts.is_empty());
    assert_eq!(
        features(&s),
        strs(&[
            "acme|f1|1.1|-|1|0|2020-06-12T23:59:59Z|Unknown",
            "acme|f2|15.0|1|2|0|-|Unknown",
            "acme|f2|15.0|2|5|0|2020-04-30T23:59:59Z|Unknown",
            "acme|f3|0.1|-|-|0|-|Uncounted",
        ])
    );
    assert_eq!(
        diags(&s),
        strs(&["11|Malformed|unreadable count: f4 2.0 x acme 1-jan-0"])
    );
}

#[test]
fn elided_sample() {
    let s = run("elided.txt", at(2024, 7, 3, 14, 36));
    assert_eq!(features(&s), strs(&["|ADAMS|-|-|6|1|-|Unknown"]));
    assert_eq!(
        checkouts(&s),
        strs(&["|ADAMS|fjan1a|dcv055.com|/dev/pts/0|1|2024-07-03T11:03:00Z|7549|-|false"])
    );
    assert_eq!(
        diags(&s),
        strs(&[
            "2|Unrecognised|elided output: ...",
            "4|Unrecognised|elided output: ..."
        ])
    );
}

#[test]
fn version_output_is_lmstat_without_facts() {
    assert_eq!(run("version_only.txt", 0), Snapshot::default());
}

#[test]
fn other_output_is_bad_input() {
    for data in [
        &b""[..],
        b"\n\n",
        b"hello world\nthis is a README\n",
        b"rlmutil v12.2\nrlm status on h (port 5053)\n",
        b"\xff\xfe\x00garbage",
    ] {
        assert!(
            matches!(
                FlexlmLmstat::parse_status(data, 0),
                Err(PluginError::BadInput(_))
            ),
            "{data:?}"
        );
    }
}

/// The fuzz target's body on every fixture, cut after each of its bytes.
#[test]
fn fuzz_body_holds_on_every_fixture_cut() {
    testing::fuzz_status_cuts::<FlexlmLmstat>(DIR);
}
