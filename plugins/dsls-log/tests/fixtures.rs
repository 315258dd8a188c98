//! Hand-made fixtures, one per quirk of the two formats (see `tests/fixtures/`). Each test
//! asserts every record the fixture produces; the last tests check chunking, resume and the
//! host's record allowance on all of them.
mod common;

use common::*;
use dsls_log::DslsLog;
use tally_plugin_sdk::testing::{self, denials, diags, events, sessions};
use tally_plugin_sdk::{Batch, ImportConfig, Importer};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

fn fixture(name: &str) -> Vec<u8> {
    testing::fixture(format!("{DIR}/{name}"))
}

/// The fixture imported every way the host may cut it (`testing::check_import`).
fn parse(name: &str, utc_offset: i32) -> Batch {
    testing::check_import::<DslsLog>(&fixture(name), &config(utc_offset))
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn text(b: &Batch, line: u64) -> &str {
    &b.diagnostics
        .iter()
        .find(|d| d.line == line)
        .expect("diagnostic")
        .text
}

#[test]
fn server_start_and_refusals_with_bom_crlf_blank_line_no_final_newline() {
    // UTC+7: local times minus seven hours.
    let b = parse("start_and_refusals.log", 25_200);
    assert_eq!(b.lines, 17);
    assert!(b.sessions.is_empty());
    assert_eq!(
        denials(&b),
        strs(&[
            "dassault|CAC-MCE|anna.k|PC-01|1|2025-08-18T01:37:04Z|Denied|-|no more available license|-",
            // Host names may hold spaces; the refusal reason names the user.
            "dassault|YM2-FTA|bo.n|LAPTOP 7|1|2025-08-18T06:24:34Z|Denied|-|user bo.n not authorized|-",
            // The cloud-style `(customer)` after the feature is not part of its name.
            "dassault|CAC|carl.o|PC-02|1|2025-08-18T16:59:59Z|Denied|-|no more available license|-",
        ])
    );
    assert_eq!(
        events(&b),
        strs(&[
            "2025-08-18T01:28:06Z|ServerStart|STARTSERVER|Server version 6.426.0 built on Sep 5, 2023 8:04:34 PM",
            "2025-08-18T01:28:08Z|DaemonStart|LICENSESERV|Licensing service started",
            "2025-08-18T01:28:08Z|Other|RUNTIMEDATA|Fail to upload file C:\\ProgramData\\DassaultSystemes\\LicenseServer\\LogFiles\\TokenUsage1.log to https://upload.example.com/v1,exception: javax.net.ssl.SSLHandshakeException: PKIX path building failed",
        ])
    );
    // Start-up details, statistics files and administration commands are understood, not recorded.
    assert!(b.diagnostics.is_empty(), "{:?}", b.diagnostics);
}

#[test]
fn usage_tracing_grants_releases_restart_and_end_of_log() {
    // UTC-5: local times plus five hours.
    let b = parse("usage_tracing.log", -18_000);
    assert_eq!(
        sessions(&b),
        strs(&[
            // One session id holds two features: each pairs with its own release.
            "Dassault Systemes V5|CAC-MCE|anna.k|PC-01|1|2025-03-03T14:00:00Z|2025-03-03T15:15:30Z|Checkin|-",
            // TimeOut: the server reclaimed the license.
            "Dassault Systemes V5|CAC|anna.k|PC-01|1|2025-03-03T14:00:00Z|2025-03-03T16:00:00Z|Inactive|-",
            // Still granted when the server restarted at 13:00 local.
            "Dassault Systemes V5|HD2|bo.n|LAPTOP 7|2|2025-03-03T14:30:00Z|2025-03-03T18:00:00Z|ServerRestart|-",
            "Dassault Systemes V5|CAC|anna.k|PC-01|1|2025-03-03T17:00:00Z|2025-03-03T18:00:00Z|ServerRestart|-",
            // The same grant twice: the release closes the older one.
            "Dassault Systemes V5|CAC|anna.k|PC-01|1|2025-03-03T19:00:00Z|2025-03-03T19:30:00Z|Checkin|-",
            "Dassault Systemes V5|CAC|anna.k|PC-01|1|2025-03-03T19:00:05Z|2025-03-03T21:45:00Z|EndOfLog|-",
        ])
    );
    // The refusal names no editor: the one the grants of HD2 named.
    assert_eq!(
        denials(&b),
        strs(&[
            "Dassault Systemes V5|HD2|carl.o|PC-03|1|2025-03-03T16:10:00Z|Denied|-|no more available license|-"
        ])
    );
    assert_eq!(
        events(&b),
        strs(&[
            "2025-03-03T13:00:00Z|ServerStart|STARTSERVER|Server version 6.426.0 built on Sep 5, 2023 8:04:34 PM",
            "2025-03-03T13:00:01Z|DaemonStart|LICENSESERV|Licensing service started",
            "2025-03-03T18:00:00Z|ServerStart|STARTSERVER|Server version 6.426.0 built on Sep 5, 2023 8:04:34 PM",
            "2025-03-03T18:00:02Z|DaemonStart|LICENSESERV|Licensing service started",
        ])
    );
    // A release whose grant predates the log, and one whose grant predates the restart.
    assert_eq!(diags(&b), strs(&["8|Unrecognised", "13|Unrecognised"]));
    assert!(text(&b, 8).starts_with("Detachment without a Grant in the log"));
    assert!(text(&b, 13).contains("!C3!"));
}

#[test]
fn broken_lines_are_diagnosed_and_skipped() {
    let b = parse("broken_lines.log", 0);
    assert_eq!(
        diags(&b),
        strs(&[
            "2|Malformed",     // 2025/02/30
            "3|Malformed",     // a Java stack-trace line
            "4|Malformed",     // USGTRACING record cut short
            "5|Malformed",     // quantity `two`
            "6|Unrecognised",  // USGTRACING event `Extraction`
            "7|Malformed",     // refusal without its client part
            "8|Unrecognised",  // unknown LICENSESERV message
            "9|Unrecognised",  // unknown category
            "10|Unrecognised", // unknown STATISTICS message
            "11|Malformed",    // long garbage
        ])
    );
    assert!(text(&b, 2).contains("2025/02/30"));
    assert!(text(&b, 4).starts_with("USGTRACING record: fewer than 16"));
    assert!(text(&b, 5).starts_with("USGTRACING record: quantity is not a positive number"));
    assert!(text(&b, 6).contains("\"Extraction\""));
    assert!(text(&b, 7).starts_with("refusal: no `( from client …)` part"));
    assert!(
        text(&b, 11).ends_with('…') && text(&b, 11).chars().count() < 260,
        "long content is truncated"
    );
    assert_eq!(
        events(&b),
        strs(&[
            "2025-03-03T08:00:00Z|ServerStart|STARTSERVER|Server version 6.426.0 built on Sep 5, 2023 8:04:34 PM"
        ])
    );
    assert!(b.sessions.is_empty() && b.denials.is_empty());
}

const NEWEST_FIRST_SESSIONS: [&str; 3] = [
    "Dassault Systemes V5|CAC|yam.t|PC-210|1|2025-09-05T07:44:44Z|2025-09-05T07:44:58Z|Inactive|-",
    // `th\u00e9o.s` decoded; the release came two rows before its grant.
    "Dassault Systemes V5|CAC-MCE|théo.s|PC-260|1|2025-09-05T05:58:45Z|2025-09-05T10:06:53Z|Checkin|-",
    // The newest grant has no release: open until the newest row.
    "Dassault Systemes V5|CAC-MCE|théo.s|PC-260|1|2025-09-06T01:14:26Z|2025-09-06T04:39:56Z|EndOfLog|-",
];

#[test]
fn cloud_document_newest_first_in_its_own_zone() {
    // The document is in UTC (lastDate = its first row): the configured offset does not apply.
    let b = parse("cloud_newest_first.json", 7200);
    assert_eq!(sessions(&b), strs(&NEWEST_FIRST_SESSIONS));
    assert_eq!(
        denials(&b),
        strs(&[
            "Dassault Systemes V5|CAC|pat.r|PC-030|1|2025-09-05T06:00:00Z|Denied|-|no more available license|-"
        ])
    );
    assert_eq!(
        events(&b),
        strs(&[
            "2025-09-04T03:48:11Z|Other|ADMINSERVER|Administration request denied 203.0.113.4(203.0.113.4): invalid credentials, customer R1132103523417"
        ])
    );
    // The oldest row releases a session granted before the document starts.
    assert_eq!(diags(&b), strs(&["15|Unrecognised"]));
    assert!(text(&b, 15).starts_with("TimeOut of session 4800Z (CAC-MCE, théo.s@PC-260)"));

    // Records leave on the line that completes them: no waiting for `serverTimeZone`.
    let batches = per_line(&fixture("cloud_newest_first.json"), &config(7200));
    let at = |line: usize| testing::batch_records(&batches[line - 1]);
    assert_eq!((at(11), at(12), at(13), at(16)), (1, 1, 1, 1));
    assert_eq!(
        batches
            .iter()
            .take(21)
            .map(testing::batch_records)
            .sum::<usize>(),
        4
    );
}

#[test]
fn cloud_document_on_one_line_gives_the_same_records() {
    let pretty = parse("cloud_newest_first.json", 0);
    let line = one_line(&fixture("cloud_newest_first.json"));
    let b = testing::run::<DslsLog>(&line, &config(0), 65_536);
    assert_eq!(b.lines, 1);
    assert_eq!(
        (sessions(&b), denials(&b), events(&b)),
        (sessions(&pretty), denials(&pretty), events(&pretty))
    );
    assert_eq!(diags(&b), strs(&["1|Unrecognised"]));
    assert!(text(&b, 1).starts_with("TimeOut of session 4800Z"));
    // 6 records from one line: more than the host allows per line once a document holds many
    // rows (2 per line + 16), see the corpus test.
    assert_eq!(testing::batch_records(&b), 6);
}

#[test]
fn cloud_document_oldest_first_zone_declared_after_the_rows() {
    let data = fixture("cloud_oldest_first_zone_late.json");
    let b = parse("cloud_oldest_first_zone_late.json", 0);
    assert_eq!(
        sessions(&b),
        strs(&[
            "Dassault Systemes|HD2|lee.m|WS-2|1|2025-07-01T02:05:00Z|2025-07-01T03:00:00Z|Checkin|-",
            // A server start lies between kim.l's grant and release: not a pair. The grant ends
            // at the start, the release is reported.
            "Dassault Systemes|HD2|kim.l|WS-1|1|2025-07-01T02:00:00Z|2025-07-01T05:00:00Z|ServerRestart|-",
        ])
    );
    assert_eq!(
        denials(&b),
        strs(&[
            "Dassault Systemes|HD2|ng.p|WS-3|1|2025-07-01T06:00:00Z|Denied|-|no more available license|-"
        ])
    );
    assert_eq!(
        events(&b),
        strs(&[
            "2025-07-01T05:00:00Z|ServerStart|STARTSERVER|Server version 6.426.0 built on Sep 5, 2023 8:04:34 PM"
        ])
    );
    assert_eq!(diags(&b), strs(&["13|Assumption", "8|Unrecognised"]));
    assert!(text(&b, 13).contains("6 rows from row index 100 of the 250"));
    assert!(text(&b, 8).starts_with("Detachment of session S1 (HD2, kim.l@WS-1)"));

    // Without firstDate/lastDate the records wait for `serverTimeZone` (line 11).
    let batches = per_line(&data, &config(0));
    assert!(batches[..10].iter().all(|b| testing::batch_records(b) == 0));
    assert_eq!(
        (
            batches[10].sessions.len(),
            batches[10].denials.len(),
            batches[10].server_events.len()
        ),
        (1, 1, 1)
    );
}

#[test]
fn cloud_document_damaged_and_cut_short() {
    // No zone in the document at all: the configured UTC+1.
    let b = parse("cloud_broken_truncated.json", 3600);
    assert_eq!(
        sessions(&b),
        strs(&[
            "Dassault Systemes V5|CAC|ola.n|PC-9|1|2025-06-02T08:30:00Z|2025-06-02T09:00:00Z|Checkin|-",
            "Dassault Systemes V5|CAC|ola.n|PC-9|1|2025-06-02T07:00:00Z|2025-06-02T09:00:00Z|EndOfLog|-",
        ])
    );
    assert_eq!(
        diags(&b),
        strs(&[
            "3|Unrecognised", // member "error"
            "7|Malformed",    // row 2 is a number
            "9|Malformed",    // row 4: `\x`
            "12|Malformed",   // row 7 without the DSLS head
            "13|Malformed",   // unterminated string (the file is cut)
            "13|Malformed",   // no closing brackets
            "13|Assumption",  // the configured offset
        ])
    );
    assert!(text(&b, 3).contains("\"error\""));
    assert!(text(&b, 7).starts_with("row 2: not a string"));
    assert!(text(&b, 9).starts_with("row 4: unknown escape"));
    assert!(text(&b, 12).contains("row 7: no timestamp here"));
    let last: Vec<&str> = b.diagnostics[4..].iter().map(|d| d.text.as_str()).collect();
    assert!(last[0].starts_with("JSON: unterminated string"));
    assert!(last[1].contains("closing brackets"));
    assert!(last[2].contains("+01:00"));
}

/// Every fixture imports alike in one chunk, a line per chunk, 64-byte chunks and resumed at
/// every line, and passes the host's checks after every feed; the fuzz target's body holds on it.
#[test]
fn every_fixture_imports_alike_however_cut() {
    let configs = [config(3600), config(-18_000)];
    testing::check_import_dir::<DslsLog>(DIR, &configs);
}

#[test]
fn every_fixture_sniffs_as_dsls() {
    for (name, data) in testing::fixtures(DIR) {
        let score = DslsLog::sniff(&data[..data.len().min(4096)]);
        // broken_lines.log: a quarter of its lines have no DSLS head.
        let floor = if name.starts_with("broken") { 0.8 } else { 0.9 };
        assert!(score >= floor, "{name}: {score}");
    }
}

#[test]
fn damaged_checkpoint_is_refused() {
    let cfg = ImportConfig {
        resume: Some(vec![200, 1, 2]),
        ..ImportConfig::default()
    };
    assert!(DslsLog::default().begin(&cfg).is_err());
}
