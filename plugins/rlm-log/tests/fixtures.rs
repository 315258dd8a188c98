//! Hand-made fixtures, one per quirk of the format (see `tests/fixtures/`). Each test asserts
//! every record the fixture produces; the last tests check chunking, resume and sniffing on all
//! of them.
//!
//! The corpus has one std-format log only. `detailed.rlog` and `small.rlog` were written from
//! the record layouts in FORMATS.md §4 and the RLM manual's "Reportlog File Format" (detailed:
//! times with `.tenths_of_msec`, and after the checkout time the client OS, argv0, roam days,
//! roam handle and client IP; small: `OUT product version user host "isv_def" count
//! server_handle share_handle HH:MM`, `IN why count server_handle HH:MM`), not from real files.

use rlm_log::RlmLog;
use tally_plugin_sdk::civil::days_from_civil;
use tally_plugin_sdk::testing::{
    self, capacities, config, denials, diags, events, queued, sessions, strs,
};
use tally_plugin_sdk::{Batch, ImportConfig, Importer};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

fn fixture(name: &str) -> Vec<u8> {
    testing::fixture(format!("{DIR}/{name}"))
}

/// The fixture imported every way the host may cut it (`testing::check_import`).
fn parse(name: &str, utc_offset: i32, modified: Option<i64>) -> Batch {
    testing::check_import::<RlmLog>(&fixture(name), &config(utc_offset, modified))
}

/// When the host reads times in the server's zone (WIT 0.4.0 `local-times`), the log's own
/// TIMEZONE gives way: times come back as the log's wall clock, and nothing is said of it.
#[test]
fn local_times_leave_the_log_zone_to_the_host() {
    let cfg = ImportConfig {
        local_times: true,
        ..config(0, None)
    };
    let b = testing::check_import::<RlmLog>(&fixture("std_basic.rlog"), &cfg);
    // 08:15 local (UTC+1 by the log) stays 08:15.
    assert_eq!(
        sessions(&b)[0],
        "demo|solver|alice|ws1|4|2024-03-05T08:15:00Z|2024-03-05T08:45:30Z|Checkin|-"
    );
    assert!(b.diagnostics.iter().all(|d| !d.text.contains("TIMEZONE")));
}

#[test]
fn std_format_header_inuse_pairing_reasons_and_rollover_end() {
    // Configured UTC, but the log says UTC+1 (`TIMEZONE -60`): the log wins, and says so.
    let b = parse("std_basic.rlog", 0, None);
    assert_eq!(b.lines, 33);
    assert_eq!(
        sessions(&b),
        strs(&[
            "demo|solver|alice|ws1|4|2024-03-05T07:15:00Z|2024-03-05T07:45:30Z|Checkin|-",
            // Handle 1c is open twice (gui and viewer): the IN's product decides.
            "demo|viewer|bob|ws2|1|2024-03-05T07:20:00Z|2024-03-05T07:50:00Z|Checkin|-",
            // INUSE at log start: a checkout older than the log, opened at its own time.
            "demo|gui|alice|ws1|1|2024-03-04T23:00:02Z|2024-03-05T08:00:00Z|Checkin|-",
            // IN 4 = removed by the server after a timeout; the OUT's project is kept.
            "demo|gui|bob|ws2|1|2024-03-05T07:20:00Z|2024-03-05T09:20:00Z|Inactive|crash-study",
            // IN 3 = rlmremove.
            "demo|solver|bob|ws2|2|2024-03-05T07:20:01Z|2024-03-05T10:00:00Z|Unknown|-",
            // `SWITCH to` + END: the server goes on in the next file, so the checkout is still
            // out when this file ends.
            "demo|gui|carol|ws3|1|2024-03-05T10:30:00Z|2024-03-05T22:59:59Z|EndOfLog|-",
        ])
    );
    assert_eq!(
        events(&b),
        strs(&[
            // SWITCH lines have no time: they take the next dated line's (START, END).
            "2024-03-04T23:00:02Z|Other|demo|SWITCH from /var/rlm/report.rlog.2024.03.04",
            // After `SWITCH from` a START is a new file, not a new server.
            "2024-03-04T23:00:02Z|Other|demo|START lic1 03/05/2024 00:00:02",
            "2024-03-05T22:59:59Z|Other|demo|SWITCH to /var/rlm/report.rlog",
            "2024-03-05T22:59:59Z|Other|demo|END 03/05/2024 23:59:59",
        ])
    );
    assert!(b.denials.is_empty() && b.queued.is_empty());
    // The PRODUCT lines after START: the server's own record of its pools, from START on.
    assert_eq!(
        capacities(&b),
        strs(&[
            "demo|solver|2.0|1|4|2024-03-04T23:00:02Z|-|Server",
            "demo|gui|2.0|2|10|2024-03-04T23:00:02Z|-|Server",
        ])
    );
    assert_eq!(diags(&b), strs(&["9|Assumption"]));
    assert!(b.diagnostics[0].text.contains("UTC+01:00"));
    // Configured as the log says: nothing to report, same records.
    let same = parse("std_basic.rlog", 3600, None);
    assert!(same.diagnostics.is_empty());
    assert_eq!(sessions(&same), sessions(&b));
    // The log's zone beats any configured one.
    assert_eq!(
        sessions(&parse("std_basic.rlog", -18_000, None)),
        sessions(&b)
    );
}

#[test]
fn detailed_format_tenths_of_msec_and_client_fields() {
    // UTC+05:30 from `TIMEZONE -330`, configured the same. The file starts with a UTF-8 BOM.
    let b = parse("detailed.rlog", 19_800, None);
    assert_eq!(
        sessions(&b),
        strs(&[
            "acme|cad|ravi.k|wks-12|1|2024-11-20T03:45:30Z|2024-11-20T04:30:00Z|Checkin|bridge",
            // The IN names the requested version (3.0): handle and product pair it anyway.
            "acme|cad|meera|wks-07|2|2024-11-20T03:50:00Z|2024-11-20T06:00:15Z|Checkin|-",
        ])
    );
    assert_eq!(
        denials(&b),
        strs(&[
            "acme|cad|sunil|wks-03|1|2024-11-20T03:55:10Z|Denied|-22,-:-|All licenses in use|3.1"
        ])
    );
    assert_eq!(
        queued(&b),
        strs(&["acme|cad|sunil|wks-03|1|2024-11-20T03:55:11Z"])
    );
    assert_eq!(
        events(&b),
        strs(&[
            "2024-11-20T00:30:00Z|DaemonStart|acme|START build-srv 11/20/2024 06:00:00",
            "2024-11-20T04:10:00Z|Dequeued|acme|DEQUE 6 cad 3.1 sunil wks-03 \"\" 1 a3 11/20 09:40:00.5000",
            // END without `SWITCH to`: the server stopped (nothing was open).
            "2024-11-20T12:30:00Z|DaemonStop|acme|END 11/20/2024 18:00:00",
        ])
    );
    assert!(b.diagnostics.is_empty(), "{:?}", b.diagnostics);
}

#[test]
fn small_format_time_only_midnight_and_handle_pairing() {
    let b = parse("small.rlog", 0, None);
    assert_eq!(
        sessions(&b),
        strs(&[
            // `IN 1 1 10 00:05`: time only, after 22:55 → the next day; paired by handle alone.
            "reprise|write|ann|pc1|1|2023-06-30T22:55:00Z|2023-07-01T00:05:00Z|Checkin|-",
            // Queued at 23:10, then checked out on the same handle.
            "reprise|write|ben|pc2|1|2023-06-30T23:50:00Z|2023-07-01T01:15:00Z|Checkin|-",
        ])
    );
    assert_eq!(
        denials(&b),
        strs(&[
            "reprise|write|cat|pc3|1|2023-07-01T00:20:00Z|Denied|-22,-:-|All licenses in use|1.0"
        ])
    );
    assert_eq!(
        queued(&b),
        strs(&[
            "reprise|write|ben|pc2|1|2023-06-30T23:10:00Z",
            "reprise|write|dan|pc4|2|2023-07-01T00:31:00Z",
        ])
    );
    assert_eq!(
        events(&b),
        strs(&[
            "2023-06-30T22:50:00Z|DaemonStart|reprise|START srv2 06/30/2023 22:50:00",
            "2023-07-01T00:40:00Z|Dequeued|reprise|DEQUE 6 2 12 00:40",
            "2023-07-01T02:00:00Z|DaemonStop|reprise|END 07/01/2023 02:00",
        ])
    );
    assert_eq!(diags(&b), strs(&["17|Unrecognised"]));
    assert!(b.diagnostics[0].text.contains("IN without a matching OUT"));
}

#[test]
fn year_rollover_and_inuse_dates_never_after_the_line() {
    let b = parse("year_rollover.rlog", 0, None);
    assert_eq!(
        sessions(&b),
        strs(&[
            // 12/31 23:50 → 01/01 00:10 with no timestamp between: the new year.
            "demo|cad|pete|ws8|1|2024-12-31T23:50:00Z|2025-01-01T00:10:00Z|Checkin|-",
            // INUSE 06/15 under START 12/31/2024: June 2024 (June 2025 would be nearer, but
            // a checkout in progress cannot start after the line that lists it).
            "demo|cad|olga|ws9|1|2024-06-15T09:00:00Z|2025-01-02T08:00:00Z|Checkin|-",
        ])
    );
    assert_eq!(
        denials(&b),
        strs(&["demo|cad|quinn|ws7|1|2025-01-01T00:45:00Z|Denied|-22,-:-|All licenses in use|1.0"])
    );
    assert!(b.diagnostics.is_empty());
}

#[test]
fn restarts_shutdown_and_end_close_open_sessions() {
    let b = parse("restart_shutdown.rlog", 0, None);
    assert_eq!(
        sessions(&b),
        strs(&[
            // A second START without END: a new server; what its INUSE lines do not list ends.
            "demo|rvt|alice|pc1|1|2022-05-05T09:10:00Z|2022-05-05T10:00:00Z|ServerRestart|-",
            // Listed by the new server's INUSE: the same checkout, until the SHUTDOWN.
            "demo|acd|bob|pc2|1|2022-05-05T09:20:00Z|2022-05-05T11:00:00Z|ServerRestart|-",
            "demo|rvt|alice|pc1|1|2022-05-05T10:10:00Z|2022-05-05T11:00:00Z|ServerRestart|-",
            "demo|maya|carol|pc3|1|2022-05-05T10:30:00Z|2022-05-05T11:00:00Z|ServerRestart|-",
            // END without `SWITCH to`.
            "demo|rvt|dave|pc4|1|2022-05-05T12:00:05Z|2022-05-05T12:30:00Z|ServerRestart|-",
        ])
    );
    assert_eq!(
        events(&b),
        strs(&[
            "2022-05-05T09:00:00Z|DaemonStart|demo|START srv 05/05/2022 09:00:00",
            "2022-05-05T10:00:00Z|DaemonStart|demo|START srv 05/05/2022 10:00:00",
            "2022-05-05T11:00:00Z|DaemonStop|demo|SHUTDOWN admin srv 05/05 11:00:00",
            // The END after a SHUTDOWN only ends the file.
            "2022-05-05T11:00:01Z|Other|demo|END 05/05/2022 11:00:01",
            "2022-05-05T12:00:00Z|DaemonStart|demo|START srv 05/05/2022 12:00:00",
            "2022-05-05T12:30:00Z|DaemonStop|demo|END 05/05/2022 12:30:00",
        ])
    );
    assert!(b.diagnostics.is_empty());
}

#[test]
fn reread_snapshot_reasserts_opens_and_ends_unlisted() {
    let b = parse("reread_snapshot.rlog", 0, None);
    assert_eq!(
        sessions(&b),
        strs(&[
            // Its IN line was damaged; the snapshot after the REREAD does not list it.
            "demo|b|u2|h2|1|2025-02-10T09:05:00Z|2025-02-11T00:00:05Z|Unknown|-",
            // Listed: not a new checkout, one session across the reread.
            "demo|a|u1|h1|1|2025-02-10T09:00:00Z|2025-02-11T08:00:00Z|Checkin|-",
            // Its OUT line was damaged: the INUSE line opens it.
            "demo|c|u3|h3|1|2025-02-11T00:00:06Z|2025-02-11T09:00:00Z|Checkin|-",
        ])
    );
    assert_eq!(
        denials(&b),
        strs(&["demo|a|u4|h4|1|2025-02-11T00:10:00Z|Denied|-22,-:-|All licenses in use|1.0"])
    );
    assert_eq!(
        events(&b),
        strs(&[
            "2025-02-10T08:00:00Z|DaemonStart|demo|START srv 02/10/2025 08:00:00",
            "2025-02-11T00:00:05Z|Reread|demo|REREAD automatic midnight 02/11 00:00:05",
        ])
    );
    assert_eq!(diags(&b), strs(&["7|Malformed", "8|Malformed"]));
    assert!(b.diagnostics[0].text.starts_with("damaged keyword `--IN`"));
}

#[test]
fn rotated_files_concatenated_continue_their_sessions() {
    // UTC+2 from the log, configured the same.
    let b = parse("rotation_concat.rlog", 7200, None);
    assert_eq!(
        sessions(&b),
        strs(&[
            // Not listed by the next file's INUSE lines: ended at its START, reason unknown.
            "demo|b|u2|h2|1|2025-07-01T08:00:00Z|2025-07-01T22:00:01Z|Unknown|-",
            // Listed: one session across both files.
            "demo|a|u1|h1|1|2025-07-01T07:00:00Z|2025-07-02T06:00:00Z|Checkin|-",
        ])
    );
    assert_eq!(
        events(&b),
        strs(&[
            "2025-06-30T22:00:01Z|DaemonStart|demo|START srv 07/01/2025 00:00:01",
            "2025-07-01T22:00:01Z|Other|demo|SWITCH to /var/rlm/report.rlog",
            "2025-07-01T22:00:01Z|Other|demo|END 07/02/2025 00:00:01",
            "2025-07-01T22:00:01Z|Other|demo|SWITCH from /var/rlm/report.rlog.2025.07.01",
            "2025-07-01T22:00:01Z|Other|demo|START srv 07/02/2025 00:00:01",
        ])
    );
    assert!(b.diagnostics.is_empty());
}

#[test]
fn queue_dequeue_and_denial_codes() {
    let b = parse("queue_deny.rlog", 0, None);
    assert_eq!(
        queued(&b),
        strs(&[
            "acme|cad|u1|h1|1|2025-04-01T08:10:00Z",
            "acme|cad|u2|h2|2|2025-04-01T08:15:00Z",
        ])
    );
    assert_eq!(
        events(&b),
        strs(&[
            "2025-04-01T08:00:00Z|DaemonStart|acme|START srv 04/01/2025 08:00:00",
            "2025-04-01T08:12:00Z|Dequeued|acme|DEQUE 6 cad 2.0 u1 h1 \"\" 1 30 04/01 08:12:00",
        ])
    );
    assert_eq!(
        sessions(&b),
        strs(&["acme|cad|u2|h2|2|2025-04-01T08:20:00Z|2025-04-01T09:00:00Z|Checkin|proj"])
    );
    assert_eq!(
        denials(&b),
        strs(&[
            // RLM 14 writes the client's process id before the date.
            "acme|cad|u3|h3|1|2025-04-01T08:30:00Z|Denied|-22,-:-|All licenses in use|2.0",
            // The manual's layout (no pid); last_attempt 0: the client will try elsewhere.
            "acme|cad|u3|h3|1|2025-04-01T08:31:00Z|Denied|-22,-:-|All licenses in use (not the client's last attempt)|2.0",
            // Nothing served for the request: unsupported, like FlexNet's UNSUPPORTED.
            "acme|viz|u4|h4|1|2025-04-01T08:32:00Z|Unsupported|-1,-:-|No authorization for product|9.0",
            "acme|cad|u4|h4|1|2025-04-01T08:33:00Z|Unsupported|-6,-:-|Requested version not supported|3.0",
            // An unknown status keeps its number and no text; isv_def with spaces.
            "acme|cad|u5|h5|3|2025-04-01T08:34:00Z|Denied|-999,-:-|-|2.0",
        ])
    );
    assert!(b.diagnostics.is_empty());
}

#[test]
fn broken_lines_are_diagnosed_and_skipped() {
    // CRLF line ends, no final newline.
    let b = parse("broken_lines.rlog", 0, None);
    assert_eq!(b.lines, 16);
    assert_eq!(
        diags(&b),
        strs(&[
            "4|Malformed",     // TIMEZONE west 0
            "5|Malformed",     // --OUT
            "6|Malformed",     // OUT without project / requested product / version
            "7|Malformed",     // 02/30
            "8|Malformed",     // 25:00:00
            "9|Unrecognised",  // FROB
            "10|Malformed",    // 13/45/2025 10:00
            "12|Assumption",   // handle 4 checked out again before its IN
            "13|Unrecognised", // IN whose OUT is not in the log
            "14|Malformed",    // SWITCH sideways
            "15|Unrecognised", // 300 × x
        ])
    );
    let text = |line: u64| {
        &b.diagnostics
            .iter()
            .find(|d| d.line == line)
            .expect("diagnostic")
            .text
    };
    assert!(text(4).starts_with("TIMEZONE line:"));
    assert!(text(5).starts_with("damaged keyword `--OUT`"));
    assert!(text(6).starts_with("OUT line: too few fields"));
    assert!(text(7).starts_with("OUT line: impossible date"));
    assert!(text(10).starts_with("timestamp line:"));
    assert!(
        text(15).ends_with('…') && text(15).chars().count() < 220,
        "long content is truncated"
    );
    assert_eq!(
        sessions(&b),
        strs(&[
            "demo|p|u|h|1|2025-03-01T08:10:00Z|2025-03-01T08:12:00Z|Unknown|-",
            "demo|p|v|h2|1|2025-03-01T08:12:00Z|2025-03-01T09:00:00Z|Checkin|-",
        ])
    );
    assert_eq!(
        events(&b),
        strs(&["2025-03-01T08:00:00Z|DaemonStart|demo|START srv 03/01/2025 08:00:00"])
    );
}

#[test]
fn no_start_dates_from_modification_time() {
    // Modified 2025-01-01T10:00Z: the first record dates backwards from there (Dec 30 2024),
    // the next ones follow it across the new year. No ISV header: vendor "rlm".
    let modified = days_from_civil(2025, 1, 1) * 86_400 + 10 * 3600;
    let b = parse("no_start.rlog", 0, Some(modified));
    assert_eq!(
        sessions(&b),
        strs(&[
            "rlm|p|u|h|1|2024-12-30T22:00:00Z|2024-12-31T01:00:00Z|Checkin|-",
            "rlm|p|u|h|1|2025-01-01T09:00:00Z|2025-01-01T09:00:00Z|EndOfLog|-",
        ])
    );
    assert_eq!(diags(&b), strs(&["1|Assumption"]));
    assert!(
        b.diagnostics[0].text.contains("2025-01-01")
            && b.diagnostics[0].text.contains("modification time")
    );
    let b = parse("no_start.rlog", 0, None);
    assert!(b.diagnostics[0].text.contains("1971-12-31"));
}

#[test]
fn names_with_spaces_empty_numeric_punctuation_and_non_utf8() {
    let b = parse("names.rlog", 0, None);
    assert_eq!(
        sessions(&b),
        strs(&[
            "demo|mat|José Juan Galera|Plasmon|1|2022-06-09T08:00:01Z|2022-06-09T09:00:00Z|Checkin|-",
            "demo|mat|Mª Cruz|mcruz|1|2022-06-09T08:00:02Z|2022-06-09T09:00:01Z|Checkin|-",
            "demo|mat||ghost-pc|1|2022-06-09T08:00:03Z|2022-06-09T09:00:02Z|Checkin|-",
            "demo|mat|nohost||1|2022-06-09T08:00:04Z|2022-06-09T09:00:03Z|Checkin|-",
            "demo|mat|58000|10.1.2.3|1|2022-06-09T08:00:05Z|2022-06-09T09:00:04Z|Checkin|-",
            "demo|mat|alexander.kurapov.lx|pc.example.org|1|2022-06-09T08:00:06Z|2022-06-09T09:00:05Z|Checkin|-",
            "demo|mat|bad\u{FFFD}\u{FFFD}name|pc|1|2022-06-09T08:00:07Z|2022-06-09T09:00:06Z|Checkin|-",
        ])
    );
    assert!(b.diagnostics.is_empty());
}

#[test]
fn daylight_zone_timejump_and_no_isv() {
    // Configured as the log's standard offset (UTC-5): only the daylight-saving caveat.
    let b = parse("tz_dst_timejump.rlog", -18_000, None);
    assert_eq!(
        sessions(&b),
        strs(&["rlm|p|u|h|1|2024-03-10T06:30:00Z|2024-03-10T08:30:00Z|Checkin|-"])
    );
    assert_eq!(
        events(&b),
        strs(&[
            "2024-03-10T06:00:00Z|DaemonStart|rlm|START srv 03/10/2024 01:00:00",
            "2024-03-10T08:00:10Z|Other|rlm|TIMEJUMP +60 03/10 03:00:10",
        ])
    );
    assert_eq!(diags(&b), strs(&["3|Assumption"]));
    assert!(b.diagnostics[0].text.contains("daylight saving"));
}

/// Every fixture imports alike in one chunk, a line per chunk, 64-byte chunks and resumed at
/// every line, and passes the host's checks after every feed; the fuzz target's body holds on it.
#[test]
fn every_fixture_imports_alike_however_cut() {
    let configs = [
        config(3600, Some(1_700_000_000)),
        config(-18_000, Some(1_700_000_000)),
        config(0, None),
    ];
    for (name, b) in testing::check_import_dir::<RlmLog>(DIR, &configs) {
        let records = testing::batch_records(&b) as u64;
        assert!(records <= 2 * b.lines, "{name}: {records} records");
    }
}

#[test]
fn every_fixture_sniffs_as_an_rlm_report_log() {
    for (name, data) in testing::fixtures(DIR) {
        let head = &data[..data.len().min(4096)];
        let score = RlmLog::sniff(head);
        assert!(score >= 0.9, "{name}: {score}");
    }
}

#[test]
fn damaged_checkpoint_is_refused() {
    let cfg = ImportConfig {
        resume: Some(vec![200, 1, 2]),
        ..ImportConfig::default()
    };
    assert!(RlmLog::default().begin(&cfg).is_err());
}
