//! Hand-made fixtures (see `tests/fixtures/`). Each test asserts every record the fixture
//! produces; the last tests check chunking and resume on all of them.
//!
//! `startup_restart.log` and `broken_lines.log` follow the shapes of the one real LM-X server
//! log of the corpus (`softing_edgeconnector__lmx_serv_startup_log.txt`; FORMATS.md §5), with
//! values changed (a Windows server, two license files, an Altair-sized feature count from the
//! `lmx-status` samples, a restart in CRLF).
//!
//! `unverified_usage_stop.log` is **UNVERIFIED**: no LM-X checkout, checkin, denial or shutdown
//! line is known publicly (FORMATS.md §10). Its usage and shutdown messages were invented to
//! exercise the keyword recognition (usage lines reported as Unrecognised, a message about
//! shutting down as ServerStop); they are not claimed to be LM-X's wording.

use lmx_log::LmxLog;
use tally_plugin_sdk::testing::{self, config, diags, events, strs};
use tally_plugin_sdk::{Batch, ImportConfig, Importer};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

fn fixture(name: &str) -> Vec<u8> {
    testing::fixture(format!("{DIR}/{name}"))
}

/// The fixture imported every way the host may cut it (`testing::check_import`).
fn parse(name: &str, utc_offset: i32) -> Batch {
    testing::check_import::<LmxLog>(&fixture(name), &config(utc_offset, None))
}

#[test]
fn startup_report_then_a_restart_in_crlf() {
    // The server's clock is UTC+1.
    let b = parse("startup_restart.log", 3600);
    assert_eq!(b.lines, 36);
    assert_eq!(
        events(&b),
        strs(&[
            "2023-03-14T07:00:00Z|ServerStart|lmx-serv|LM-X License Server v5.1 build 1a2b3c4d on lic-win01 (Windows_x64)",
            "2023-03-14T07:00:00Z|DaemonStart|ALTAIR|Serving licenses for vendor ALTAIR.",
            "2023-03-14T07:00:00Z|Other|lmx-serv|License file: C:\\Program Files\\X-Formation\\LM-X License Server\\licenses\\altair.lic",
            "2023-03-14T07:00:00Z|Other|lmx-serv|License file: C:\\Program Files\\X-Formation\\LM-X License Server\\licenses\\extra.lic",
            "2023-03-14T07:00:00Z|Other|lmx-serv|Serving feature: HyperWorks (v2023.1) (2147483647 license(s)) shared on: CUSTOM VIRTUAL license type: additive",
            "2023-03-14T07:00:00Z|Other|lmx-serv|Serving feature: FEMFAT (v5.4) (3 license(s)) shared on: HOST USER VIRTUAL license type: exclusive",
            "2023-03-15T05:30:00Z|ServerStart|lmx-serv|LM-X License Server v5.1 build 1a2b3c4d on lic-win01 (Windows_x64)",
            "2023-03-15T05:30:00Z|DaemonStart|ALTAIR|Serving licenses for vendor ALTAIR.",
            "2023-03-15T05:30:00Z|Other|lmx-serv|WARNING: It is not recommended to run license server as root.",
            "2023-03-15T05:30:00Z|Other|lmx-serv|License file: 6200@backup-lic",
            "2023-03-15T05:30:00Z|Other|lmx-serv|Serving feature: HyperWorks (v2023.1) (2147483647 license(s)) shared on: CUSTOM VIRTUAL license type: additive",
        ])
    );
    assert!(b.diagnostics.is_empty(), "{:?}", b.diagnostics);
    assert!(b.sessions.is_empty() && b.denials.is_empty() && b.queued.is_empty());
}

#[test]
fn unverified_usage_lines_are_reported_not_imported() {
    let b = parse("unverified_usage_stop.log", 0);
    assert_eq!(
        events(&b),
        strs(&[
            "2023-03-14T09:00:00Z|ServerStart|lmx-serv|LM-X License Server v4.9.23 build 74220bf8 on srv (Linux_x64)",
            "2023-03-14T09:00:00Z|DaemonStart|SOFTING|Serving licenses for vendor SOFTING.",
            // UNVERIFIED: `ERROR:` by analogy with the sample's `WARNING:`.
            "2023-03-14T11:00:00Z|Other|lmx-serv|ERROR: Unable to open license file /licsrv/licenses/old.lic",
            // UNVERIFIED: LM-X's wording of a shutdown is not known.
            "2023-03-14T18:00:00Z|ServerStop|lmx-serv|License server shutting down...",
        ])
    );
    // Checkout, checkin, denial, borrow: counted, with a text that says why.
    assert_eq!(
        diags(&b),
        strs(&[
            "4|Unrecognised",
            "5|Unrecognised",
            "6|Unrecognised",
            "7|Unrecognised"
        ])
    );
    for d in &b.diagnostics {
        assert!(
            d.text
                .starts_with("LM-X checkout/checkin/denial line: no public sample"),
            "{}",
            d.text
        );
    }
    assert!(b.sessions.is_empty() && b.denials.is_empty());
}

#[test]
fn broken_lines_are_diagnosed_and_skipped() {
    let b = parse("broken_lines.log", 0);
    assert_eq!(b.lines, 15);
    assert_eq!(
        diags(&b),
        strs(&[
            "3|Unrecognised",  // a message we have not seen
            "4|Malformed",     // no time prefix
            "5|Malformed",     // 25:38:30
            "6|Malformed",     // 2021-02-30
            "7|Malformed",     // [2021-05-26 13:38]
            "9|Unrecognised",  // not a path in the license-file list
            "11|Unrecognised", // a feature line with a word for a count
            "12|Unrecognised", // a feature line after the list ended
            "14|Malformed",    // long garbage
        ])
    );
    let text = |line: u64| {
        &b.diagnostics
            .iter()
            .find(|d| d.line == line)
            .expect("diagnostic")
            .text
    };
    assert!(text(3).starts_with("unknown LM-X message: [2021-05-26 13:38:30] Something"));
    assert!(text(4).starts_with("no `[YYYY-MM-DD HH:MM:SS]` time prefix: licsrv:"));
    assert!(text(5).starts_with("no such time of day"));
    assert!(text(6).starts_with("no such date"));
    assert!(text(7).starts_with("not `[YYYY-MM-DD HH:MM:SS]`"));
    assert!(text(14).ends_with('…') && text(14).chars().count() < 240);
    assert_eq!(
        events(&b),
        strs(&[
            "2021-05-26T13:38:30Z|ServerStart|lmx-serv|LM-X License Server v4.9.23 build 74220bf8 on softing_licsrv (Linux_x64)"
        ])
    );
}

/// Every fixture imports alike in one chunk, a line per chunk, 64-byte chunks and resumed at
/// every line, and passes the host's checks after every feed; the fuzz target's body holds on it.
#[test]
fn every_fixture_imports_alike_however_cut() {
    let configs = [config(-18_000, Some(1_700_000_000)), config(7200, None)];
    for (name, b) in testing::check_import_dir::<LmxLog>(DIR, &configs) {
        let records = testing::batch_records(&b) as u64;
        assert!(records <= 2 * b.lines, "{name}: {records} records");
    }
}

#[test]
fn good_fixtures_sniff_as_lmx() {
    for name in ["startup_restart.log", "unverified_usage_stop.log"] {
        let data = fixture(name);
        let score = LmxLog::sniff(&data[..data.len().min(4096)]);
        assert!(score >= 0.9, "{name}: {score}");
    }
}

#[test]
fn damaged_checkpoint_is_refused() {
    let cfg = ImportConfig {
        resume: Some(vec![200, 1, 2]),
        ..ImportConfig::default()
    };
    assert!(LmxLog::default().begin(&cfg).is_err());
}
