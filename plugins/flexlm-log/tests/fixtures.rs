//! Hand-made fixtures, one per quirk of the format (see `tests/fixtures/`). Each test asserts
//! every record the fixture produces; the last tests check chunking and resume on all of them.

use flexlm_log::FlexlmLog;
use tally_plugin_sdk::civil::days_from_civil;
use tally_plugin_sdk::testing::{self, config, denials, diags, events, queued, sessions, strs};
use tally_plugin_sdk::{Batch, ImportConfig, Importer};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

fn fixture(name: &str) -> Vec<u8> {
    testing::fixture(format!("{DIR}/{name}"))
}

/// The fixture imported every way the host may cut it (`testing::check_import`).
fn parse(name: &str, utc_offset: i32, modified: Option<i64>) -> Batch {
    testing::check_import::<FlexlmLog>(&fixture(name), &config(utc_offset, modified))
}

#[test]
fn bom_crlf_mixed_endings_no_final_newline_end_of_log() {
    // UTC+1: local times minus one hour.
    let b = parse("bom_crlf_no_final_newline.log", 3600, None);
    assert_eq!(b.lines, 9);
    assert_eq!(
        sessions(&b),
        strs(&[
            "demo|solver|alice|ws1|4|2024-03-05T08:15:00Z|2024-03-05T08:45:30Z|Checkin|-",
            "demo|gui|alice|ws1|1|2024-03-05T08:20:00Z|2024-03-05T09:00:00Z|Checkin|-",
            // Still out at the end: closed at the last time the log shows (the final TIMESTAMP).
            "demo|gui|bob|ws2|1|2024-03-05T09:05:00Z|2024-03-05T09:30:00Z|EndOfLog|-",
        ])
    );
    assert_eq!(
        events(&b),
        strs(&[
            "2024-03-05T08:00:00Z|ServerStart|lmgrd|FlexNet Licensing (v11.19.6.0 build 293152 x64_n6) started on lic1 (linux) (3/5/2024)",
            "2024-03-05T08:00:01Z|DaemonStart|demo|FlexNet Licensing version v11.19.6.0 build 293152 x64_n6",
        ])
    );
    assert!(b.diagnostics.is_empty(), "{:?}", b.diagnostics);
}

#[test]
fn leading_blank_line_and_counts() {
    let b = parse("leading_blank_counts.log", 0, None);
    assert_eq!(
        sessions(&b),
        strs(&[
            "ansyslmd|acfd_par_proc|linlei|grid.example.org|4|2023-07-01T10:01:00Z|2023-07-01T10:03:00Z|Checkin|-",
            "ansyslmd|acfd|linlei|grid.example.org|1|2023-07-01T10:01:00Z|2023-07-01T10:04:00Z|Checkin|-",
            "ansyslmd|mech|linlei|grid.example.org|1|2023-07-01T10:02:00Z|2023-07-01T10:05:00Z|Checkin|-",
            // `IN: "hpc"` without `(8 licenses)` is not this checkout's check-in.
            "ansyslmd|hpc|linlei|grid.example.org|8|2023-07-01T10:02:30Z|2023-07-01T10:06:00Z|EndOfLog|-",
        ])
    );
    assert_eq!(diags(&b), strs(&["11|Unrecognised"]));
    assert!(b.diagnostics[0].text.contains("IN without a matching OUT"));
}

#[test]
fn names_with_spaces_dots_digits_at_signs_and_non_ascii() {
    let b = parse("names.log", 0, None);
    assert_eq!(
        sessions(&b),
        strs(&[
            "MLM|MATLAB|José Juan Galera|Plasmon|1|2022-06-09T08:00:01Z|2022-06-09T09:00:00Z|Checkin|-",
            "maplelmg|Maple|Mª Cruz|mcruz|1|2022-06-09T08:00:02Z|2022-06-09T09:00:01Z|Checkin|-",
            "MLM|MATLAB|John Doe|PC 12|1|2022-06-09T08:00:03Z|2022-06-09T09:00:02Z|Checkin|-",
            "saltd|NX|pongsiri.c|AITS25A1PC0020|1|2022-06-09T08:00:04Z|2022-06-09T09:00:03Z|Checkin|-",
            "MLM|MATLAB|58000|10.1.2.3|1|2022-06-09T08:00:05Z|2022-06-09T09:00:04Z|Checkin|-",
            "MLM|MATLAB|j.doe@corp.example|LAPTOP-7|1|2022-06-09T08:00:06Z|2022-06-09T09:00:05Z|Checkin|-",
            "MLM|MATLAB|bad\u{FFFD}\u{FFFD}name|pc|1|2022-06-09T08:00:07Z|2022-06-09T09:00:06Z|Checkin|-",
        ])
    );
    assert_eq!(diags(&b), strs(&["16|Unrecognised"]));
}

#[test]
fn inactive_unknown_shutdown_and_fifo_pairing() {
    let b = parse("checkin_reasons.log", 0, None);
    assert_eq!(
        sessions(&b),
        strs(&[
            "adskflex|64300ACD_F|USER01|COMPUTER01|1|2016-04-01T14:00:01Z|2016-04-01T15:00:01Z|Inactive|-",
            "adskflex|86604ACD_2017_0F|USER01|COMPUTER01|1|2016-04-01T14:00:01Z|2016-04-01T15:00:01Z|Inactive|-",
            "adskflex|85730ACD_2012_0F|USER02|COMPUTER02|1|2016-04-01T14:10:00Z|2016-04-01T15:10:00Z|Unknown|-",
            "adskflex|85730ACD_2012_0F|USER03|COMPUTER03|2|2016-04-01T14:20:00Z|2016-04-01T15:20:00Z|Shutdown|-",
            // Two identical checkouts: the first IN closes the oldest.
            "adskflex|RVT|USER04|COMPUTER04|1|2016-04-01T16:00:00Z|2016-04-01T16:10:00Z|Checkin|-",
            "adskflex|RVT|USER04|COMPUTER04|1|2016-04-01T16:05:00Z|2016-04-01T16:20:00Z|Checkin|-",
        ])
    );
    assert!(b.diagnostics.is_empty());
}

#[test]
fn midnight_crossed_on_an_out_line() {
    // UTC+2 (CEST).
    let b = parse("midnight_rollover.log", 7200, None);
    assert_eq!(
        sessions(&b),
        strs(&[
            "adskflex|64300ACD_F|upm|etsidi00059|1|2022-05-05T21:57:37Z|2022-05-05T22:30:00Z|Checkin|-",
            // ` 0:01:10 … OUT` is the first line of May 6 (local); the lmgrd line 5 s back is not.
            "adskflex|64300ACD_F|UPM|upm00243|1|2022-05-05T22:01:10Z|2022-05-06T01:00:00Z|Checkin|-",
            "adskflex|RVT|UPM|upm00010|1|2022-05-05T21:58:10Z|2022-05-06T01:00:00Z|EndOfLog|-",
        ])
    );
    assert!(
        b.diagnostics.is_empty(),
        "the TIMESTAMP agrees with the rollover"
    );
}

#[test]
fn silently_skipped_day_revealed_by_timestamp() {
    let b = parse("skipped_day.log", 0, None);
    assert_eq!(
        sessions(&b),
        strs(&[
            "adskflex|64300ACD_F|USER14|COMPUTER13|1|2016-03-30T21:56:00Z|2016-04-01T08:15:20Z|Checkin|-",
            "adskflex|RVT|USER14|COMPUTER13|1|2016-04-01T08:15:20Z|2016-04-01T09:00:00Z|Checkin|-",
        ])
    );
    assert!(b.diagnostics.is_empty());
}

#[test]
fn clock_set_back_is_corrected_by_the_next_timestamp() {
    let b = parse("clock_set_back.log", 0, None);
    assert_eq!(
        sessions(&b),
        strs(&[
            // 10:30 → 9:00 looked like midnight; the TIMESTAMP moves the open checkout back.
            "demo|g|u|h|1|2020-01-10T09:00:00Z|2020-01-10T09:10:00Z|Checkin|-",
            "demo|f|u|h|1|2020-01-10T10:30:00Z|2020-01-10T11:00:00Z|Checkin|-",
        ])
    );
    assert_eq!(diags(&b), strs(&["4|Assumption"]));
    assert!(
        b.diagnostics[0].text.contains("2020-01-10")
            && b.diagnostics[0].text.contains("2020-01-11")
    );
}

#[test]
fn restarts_close_open_sessions() {
    let b = parse("restart.log", 0, None);
    assert_eq!(
        sessions(&b),
        strs(&[
            // lmgrd restarted without saying it stopped: closed at the new start line.
            "adskflex|RVT|alice|pc1|1|2022-05-05T09:10:00Z|2022-05-05T10:00:00Z|ServerRestart|-",
            "adskflex|ACD|bob|pc2|1|2022-05-05T09:20:00Z|2022-05-05T10:00:00Z|ServerRestart|-",
            // Check-ins written after `EXITING DUE TO SIGNAL` still pair.
            "adskflex|RVT|alice|pc1|1|2022-05-05T10:10:00Z|2022-05-05T11:00:01Z|Shutdown|-",
            "adskflex|ACD|bob|pc2|1|2022-05-05T10:20:00Z|2022-05-05T11:00:01Z|Shutdown|-",
            // Never checked in; the daemon was stopped at 11:00:00 and checks out again at 12:00.
            "adskflex|MAYA|carol|pc3|1|2022-05-05T10:30:00Z|2022-05-05T11:00:00Z|ServerRestart|-",
            "adskflex|RVT|dave|pc4|1|2022-05-05T12:00:00Z|2022-05-05T12:30:00Z|EndOfLog|-",
        ])
    );
    assert_eq!(
        events(&b),
        strs(&[
            "2022-05-05T09:00:00Z|ServerStart|lmgrd|FlexNet Licensing (v11.18.0.0 build 275847 x64_n6) started on flexlm02 (IBM PC) (5/5/2022)",
            "2022-05-05T09:00:02Z|DaemonStart|adskflex|FlexNet Licensing version v11.18.0.0 build 275847 x64_n6",
            "2022-05-05T10:00:00Z|ServerStart|lmgrd|FlexNet Licensing (v11.18.0.0 build 275847 x64_n6) started on flexlm02 (IBM PC) (5/5/2022)",
            "2022-05-05T10:00:02Z|DaemonStart|adskflex|FlexNet Licensing version v11.18.0.0 build 275847 x64_n6",
            "2022-05-05T11:00:00Z|Other|lmgrd|SHUTDOWN request from admin at node flexlm02",
            "2022-05-05T11:00:00Z|DaemonStop|lmgrd|Shutting down adskflex pid=4500 because of signal 15",
            "2022-05-05T11:00:01Z|ServerStop|lmgrd|EXITING DUE TO SIGNAL 15",
        ])
    );
    assert!(b.diagnostics.is_empty());
}

#[test]
fn denied_unsupported_queued_dequeued() {
    let b = parse("denials_queue.log", 0, None);
    assert_eq!(
        denials(&b),
        strs(&[
            "saltd|NS5010_solid_modeling|teenarit.p|AH21ITPC0520|1|2025-08-29T11:31:59Z|Denied|-25,334:-|License server system does not support this version of this feature.|v2023.12",
            "saltd|NX93210|pongsiri.c|AITS25A1PC0020|1|2025-08-29T11:32:00Z|Denied|-4,342:-|Licensed number of users already reached.|-",
            "adskflex|64300ACD_F|Tony Montana|ANOTHERONE|3|2025-08-29T11:33:00Z|Denied|-4,342:10054|Licensed number of users already reached.|-",
            "saltd|nx_point_cloud_view|Rajeevan.k|APBRDPC102|1|2025-08-29T11:34:00Z|Unsupported|-5,346:-|No such feature exists.|-",
            "adskflex|87537INVPROSA_2022_0F|UPM|upm00243|1|2025-08-29T11:35:00Z|Unsupported|-5,346:-|No such feature exists.|-",
            "demo|f1|bob|pc2|1|2025-08-29T11:36:00Z|Denied|-38,348:-|User/host on EXCLUDE list for feature.|-",
        ])
    );
    assert_eq!(
        queued(&b),
        strs(&[
            "demo|f1|carol|pc3|1|2025-08-29T11:37:00Z",
            "demo|f2|carol|pc3|2|2025-08-29T11:37:00Z"
        ])
    );
    assert_eq!(
        events(&b),
        strs(&["2025-08-29T11:40:00Z|Dequeued|demo|DEQUEUED: \"f1\" carol@pc3"])
    );
    assert_eq!(
        sessions(&b),
        strs(&["demo|f1|carol|pc3|1|2025-08-29T11:40:00Z|2025-08-29T11:40:00Z|EndOfLog|-"])
    );
    assert!(b.diagnostics.is_empty());
}

#[test]
fn broken_lines_are_diagnosed_and_skipped() {
    let b = parse("broken_lines.log", 0, None);
    assert_eq!(
        diags(&b),
        strs(&[
            "3|Malformed",    // second half of a split line
            "4|Malformed",    // 12:49:3a9
            "5|Malformed",    // un-prefixed text
            "6|Malformed",    // OUT without user@host
            "7|Malformed",    // OUT without quoted feature
            "8|Malformed",    // DENIED cut in the middle of its reason
            "9|Unrecognised", // IN whose OUT predates the log
            "10|Malformed",   // TIMESTAMP 13/45/2026
            "11|Malformed",   // 25:61:00
            "12|Malformed",   // long garbage
        ])
    );
    let text = |line: u64| {
        &b.diagnostics
            .iter()
            .find(|d| d.line == line)
            .expect("diagnostic")
            .text
    };
    assert!(text(3).contains("time prefix") && text(3).contains("mscusage_2026-03-08.ddu"));
    assert!(text(4).contains("12:49:3a9"));
    assert!(text(6).starts_with("OUT line: no user@host"));
    assert!(text(7).starts_with("OUT line: no quoted feature name"));
    assert!(text(8).starts_with("DENIED line:"));
    assert!(text(10).starts_with("TIMESTAMP line:"));
    assert!(
        text(12).ends_with('…') && text(12).chars().count() < 220,
        "long content is truncated"
    );
    // The first half of the split line has a valid prefix: an informational line.
    assert_eq!(
        sessions(&b),
        strs(&[
            "MSC|MSCONE|user_01|machine_01|13|2026-03-08T16:14:00Z|2026-03-08T16:15:00Z|Checkin|MSCONE:NASTRAN"
        ])
    );
}

#[test]
fn no_anchor_dates_from_modification_time() {
    // The file was modified at 23:30Z on Feb 28 = 00:30 local (UTC+1) on Feb 29: the last line
    // is on Feb 29 local, so the first lines (before the rollover) are on Feb 28.
    let modified = days_from_civil(2024, 2, 28) * 86_400 + 23 * 3600 + 1800;
    let b = parse("no_anchor.log", 3600, Some(modified));
    assert_eq!(
        sessions(&b),
        strs(&[
            "TEST|Testprod1|test|test|1|2024-02-28T21:00:00Z|2024-02-28T23:30:00Z|Checkin|-",
            "TEST|Testprod1|test|test|48|2024-02-28T22:30:00Z|2024-02-29T00:00:00Z|Checkin|-",
            "TEST|other|test|test|1|2024-02-29T00:10:00Z|2024-02-29T00:10:00Z|EndOfLog|-",
        ])
    );
    assert_eq!(diags(&b), strs(&["5|Assumption"]));
    assert!(
        b.diagnostics[0].text.contains("2024-02-29")
            && b.diagnostics[0].text.contains("modification time")
    );

    let b = parse("no_anchor.log", 0, None);
    assert_eq!(
        sessions(&b),
        strs(&[
            "TEST|Testprod1|test|test|1|1970-01-01T22:00:00Z|1970-01-02T00:30:00Z|Checkin|-",
            "TEST|Testprod1|test|test|48|1970-01-01T23:30:00Z|1970-01-02T01:00:00Z|Checkin|-",
            "TEST|other|test|test|1|1970-01-02T01:10:00Z|1970-01-02T01:10:00Z|EndOfLog|-",
        ])
    );
    assert_eq!(diags(&b), strs(&["5|Assumption"]));
    assert!(b.diagnostics[0].text.contains("1970-01-01"));
}

#[test]
fn records_before_the_first_anchor_wait_for_it() {
    // UTC+7; the excerpt crosses a midnight before its first date (an SLOG `Time:` line).
    let b = parse("excerpt_anchor_later.log", 25_200, None);
    assert_eq!(
        sessions(&b),
        strs(&[
            "saltd|NX|a.b|PC1|1|2025-08-29T15:00:00Z|2025-08-29T16:00:00Z|Checkin|-",
            "saltd|NX|c.d|PC2|1|2025-08-29T18:00:00Z|2025-08-29T20:00:00Z|Checkin|-",
        ])
    );
    assert_eq!(
        denials(&b),
        strs(&[
            "saltd|NS|a.b|PC1|1|2025-08-29T16:10:00Z|Denied|-4,342:-|Licensed number of users already reached.|-"
        ])
    );
    assert!(b.diagnostics.is_empty());
}

#[test]
fn server_events_and_bracketed_projects() {
    let b = parse("events_project.log", 0, None);
    assert_eq!(
        sessions(&b),
        strs(&[
            // Same count (5) on both checkouts: the bracket decides which one the IN closes.
            "MSC|MSCONE|user_01|machine_01|5|2026-03-08T16:30:05Z|2026-03-08T16:31:00Z|Checkin|MSCONE:NASTRAN",
            // The vendor daemon exited at 17:09:27 with this checkout still out.
            "MSC|MSCONE|user_01|machine_01|5|2026-03-08T16:30:00Z|2026-03-08T17:09:27Z|ServerRestart|MSCONE:ADAMS_View",
        ])
    );
    assert_eq!(
        events(&b),
        strs(&[
            "2026-03-08T16:11:46Z|ServerStart|lmgrd|FlexNet Licensing (v11.19.6.0 build 293152 x64_n6) started on pc_muc1 (IBM PC) (3/8/2026)",
            "2026-03-08T16:11:46Z|DaemonStart|MSC|FlexNet Licensing version v11.19.6.0 build 293152 x64_n6",
            "2026-03-08T16:11:47Z|LicensesDisabled|MSC|Disabling 2 licenses from feature NASTRAN(3A0C 1F5D)",
            "2026-03-08T16:20:00Z|Reread|lmgrd|Rereading license file... Requested from admin@pc_muc1",
            "2026-03-08T16:20:00Z|Reread|MSC|Rereading license file...",
            "2026-03-08T17:09:27Z|DaemonStop|MSC|EXITING DUE TO SIGNAL 25 Exit reason 2",
            "2026-03-08T17:09:32Z|DaemonStop|lmgrd|MSC exited with status 25 (Invalid host)",
        ])
    );
    assert!(b.diagnostics.is_empty());
}

/// Every fixture imports alike in one chunk, a line per chunk, 64-byte chunks and resumed at
/// every line, and passes the host's checks after every feed; the fuzz target's body holds on it.
#[test]
fn every_fixture_imports_alike_however_cut() {
    let configs = [
        config(3600, Some(1_700_000_000)),
        config(-18_000, Some(1_700_000_000)),
    ];
    testing::check_import_dir::<FlexlmLog>(DIR, &configs);
}

#[test]
fn every_fixture_sniffs_as_flexnet() {
    for (name, data) in testing::fixtures(DIR) {
        let head = &data[..data.len().min(4096)];
        assert!(
            FlexlmLog::sniff(head) >= 0.7,
            "{name}: {}",
            FlexlmLog::sniff(head)
        );
    }
}

#[test]
fn damaged_checkpoint_is_refused() {
    let cfg = ImportConfig {
        resume: Some(vec![200, 1, 2]),
        ..ImportConfig::default()
    };
    assert!(FlexlmLog::default().begin(&cfg).is_err());
}
