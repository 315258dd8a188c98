//! The DSLS files of the shared corpus. Skips with a message when the corpus is absent.
//!
//! How the expected numbers were obtained, independently of this parser (Python 3 on the raw
//! files: `re` for the entry head `^(\d{4})/(\d\d)/(\d\d) (\d\d):(\d\d):(\d\d):(\d{3}) ([A-Z])
//! ([A-Z0-9_]+) +(.*)$`, `json.load` for the cloud document, `calendar.timegm` for times):
//! * `lines`: newlines, plus one when the file does not end with one (the JSON file).
//! * LicenseServer log: every one of the 124 lines has the head (so no malformed line); 45
//!   `LICENSESERV` messages contain ` not granted` (CAC 23, CAC-MCE 17, YM2-FTA 5; one `user …
//!   not authorized`); their second `|` field gives 9 distinct users; the first and last are
//!   2025/08/18 08:37:04 and 2025/09/05 16:29:23 local, i.e. 01:37:04Z and 09:29:23Z at UTC+7
//!   (the site's zone: its cloud rows put the same users' grants at 01:00–10:00Z). No
//!   `USGTRACING` line: no session. Events: 1 `Server version`, 1 `Licensing service started`,
//!   20 `Fail to upload file` warnings.
//! * Cloud document: 728 rows (= `totalNumberOfRows`), all with the head, newest first;
//!   `serverTimeZone` is UTC and `lastDate`/`firstDate` equal the first/last row to the
//!   millisecond. 489 `USGTRACING` rows split on `!` (16 fields each): reversed to oldest first and
//!   paired FIFO on (field 4 session id, field 2 feature), 244 grants pair (155 TimeOut, 89
//!   Detachment) and 1 grant stays open (the newest, 2025/09/06 01:14:26, closed at the newest
//!   row 04:39:56). Grants start from 2025-07-15T02:31:21Z to 2025-09-06T01:14:26Z; 5 distinct
//!   users (field 11); the summed durations in whole seconds are 2 571 933 s. 4 ` not granted`
//!   rows; 1 `Administration request denied` warning. Every other row is an `ADMINSERVER`
//!   command or connection line.
mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;

use common::*;
use dsls_log::DslsLog;
use tally_plugin_sdk::civil::format_utc;
use tally_plugin_sdk::testing::{self, count, line_starts, physical_lines};
use tally_plugin_sdk::{Batch, DiagnosticKind, EndReason, Importer, ServerEventKind};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/corpus/dsls");

/// Outputs of `DSLicSrv -admin` status commands: a poller's input, not a log. The importer must
/// not claim them (sniff < 0.5); they are not imported here.
const EXCEPTED: &[(&str, &str)] = &[
    (
        "license_manager_omnivector__dsls_bad_cannot_connect.txt",
        "admin-tool error output (`Cannot connect to server`): poller input",
    ),
    (
        "license_manager_omnivector__dsls_getLicenseUsage_csv.txt",
        "getLicenseUsage CSV status output: poller input",
    ),
    (
        "license_manager_omnivector__dsls_no_licenses.txt",
        "getLicenseUsage CSV status output with nothing in use: poller input",
    ),
    (
        "license_manager_omnivector__dsls_with_warning.txt",
        "getLicenseUsage CSV status output after a restricted-connection warning: poller input",
    ),
];

const SERVER_LOG: &str = "licenselogs__dsls_LicenseServer_log_2025-08.log";
const CLOUD: &str = "licenselogs__dsls_cloud_getlogs.json";

struct Facts {
    file: &'static str,
    utc_offset: i32,
    lines: u64,
    sessions: usize,
    denials: usize,
    /// Distinct users over sessions and denials.
    users: usize,
    malformed: usize,
    unrecognised: usize,
    /// First and last session start (or denial time when there are no sessions).
    first: &'static str,
    last: &'static str,
    /// Checkin, Inactive, ServerRestart, EndOfLog.
    reasons: [usize; 4],
    /// ServerStart, DaemonStart, Other.
    events: [usize; 3],
}

#[rustfmt::skip]
const FACTS: &[Facts] = &[
    Facts { file: SERVER_LOG, utc_offset: 25_200, lines: 124, sessions: 0, denials: 45, users: 9, malformed: 0, unrecognised: 0,
            first: "2025-08-18T01:37:04Z", last: "2025-09-05T09:29:23Z", reasons: [0, 0, 0, 0], events: [1, 1, 20] },
    // The configured offset must not matter: the document is in UTC.
    Facts { file: CLOUD, utc_offset: 25_200, lines: 739, sessions: 245, denials: 4, users: 5, malformed: 0, unrecognised: 0,
            first: "2025-07-15T02:31:21Z", last: "2025-09-06T01:14:26Z", reasons: [89, 155, 0, 1], events: [0, 0, 1] },
];

fn reasons(b: &Batch) -> [usize; 4] {
    [
        EndReason::Checkin,
        EndReason::Inactive,
        EndReason::ServerRestart,
        EndReason::EndOfLog,
    ]
    .map(|r| b.sessions.iter().filter(|s| s.end_reason == r).count())
}

fn event_kinds(b: &Batch) -> [usize; 3] {
    [
        ServerEventKind::ServerStart,
        ServerEventKind::DaemonStart,
        ServerEventKind::Other,
    ]
    .map(|k| b.server_events.iter().filter(|e| e.kind == k).count())
}

#[test]
fn corpus_facts() {
    let Some(dir) = testing::dir_or_skip(DIR) else {
        return;
    };
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .expect("corpus dir")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    files.sort();
    let mut known: Vec<String> = FACTS
        .iter()
        .map(|f| f.file)
        .chain(EXCEPTED.iter().map(|e| e.0))
        .map(String::from)
        .collect();
    known.sort();
    assert_eq!(files, known, "the corpus has the 6 known files");
    for f in FACTS {
        let data = testing::fixture(dir.join(f.file));
        let b = testing::run::<DslsLog>(&data, &config(f.utc_offset), 64 * 1024);
        let name = f.file;
        assert_eq!(b.lines, f.lines, "{name}: lines");
        assert_eq!(b.lines, physical_lines(&data), "{name}: every line counted");
        assert_eq!(b.sessions.len(), f.sessions, "{name}: sessions");
        assert_eq!(b.denials.len(), f.denials, "{name}: denials");
        let users: BTreeSet<&str> = b
            .sessions
            .iter()
            .map(|s| s.user.as_str())
            .chain(b.denials.iter().map(|d| d.user.as_str()))
            .collect();
        assert_eq!(users.len(), f.users, "{name}: distinct users");
        assert_eq!(
            count(&b, DiagnosticKind::Malformed),
            f.malformed,
            "{name}: malformed"
        );
        assert_eq!(
            count(&b, DiagnosticKind::Unrecognised),
            f.unrecognised,
            "{name}: unrecognised: {:?}",
            b.diagnostics
        );
        assert_eq!(
            count(&b, DiagnosticKind::Assumption),
            0,
            "{name}: assumptions"
        );
        let times: Vec<i64> = if b.sessions.is_empty() {
            b.denials.iter().map(|d| d.time).collect()
        } else {
            b.sessions.iter().map(|s| s.start).collect()
        };
        let first = times.iter().min().copied().map(format_utc);
        let last = times.iter().max().copied().map(format_utc);
        assert_eq!(first.as_deref(), Some(f.first), "{name}: first");
        assert_eq!(last.as_deref(), Some(f.last), "{name}: last");
        assert_eq!(reasons(&b), f.reasons, "{name}: end reasons");
        assert_eq!(event_kinds(&b), f.events, "{name}: server events");
        assert_eq!(
            b.server_events.len(),
            f.events.iter().sum::<usize>(),
            "{name}: no other event kinds"
        );
        for s in &b.sessions {
            assert!(
                s.end >= s.start,
                "{name}: session ends before it starts: {s:?}"
            );
        }
        let score = DslsLog::sniff(&data[..data.len().min(4096)]);
        assert!(score >= 0.9, "{name}: sniff {score}");
    }
}

#[test]
fn corpus_specifics() {
    let Some(dir) = testing::dir_or_skip(DIR) else {
        return;
    };
    let b = testing::run::<DslsLog>(
        &testing::fixture(dir.join(SERVER_LOG)),
        &config(25_200),
        65_536,
    );
    let kind = |f: &str| b.denials.iter().filter(|d| d.feature == f).count();
    assert_eq!((kind("CAC"), kind("CAC-MCE"), kind("YM2-FTA")), (23, 17, 5));
    // No grant names an editor in this log: the default vendor.
    assert!(b.denials.iter().all(|d| d.vendor == "dassault"));
    assert_eq!(
        b.denials
            .iter()
            .filter(|d| d.reason.as_deref() == Some("user nakarin.s not authorized"))
            .count(),
        1
    );

    let b = testing::run::<DslsLog>(&testing::fixture(dir.join(CLOUD)), &config(0), 65_536);
    assert!(
        b.sessions
            .iter()
            .all(|s| s.vendor == "Dassault Systemes V5" && s.count == 1)
    );
    let total: i64 = b.sessions.iter().map(|s| s.end - s.start).sum();
    assert_eq!(total, 2_571_933);
    let open: Vec<&tally_plugin_sdk::Session> = b
        .sessions
        .iter()
        .filter(|s| s.end_reason == EndReason::EndOfLog)
        .collect();
    assert_eq!(open.len(), 1);
    assert_eq!(
        (format_utc(open[0].start), format_utc(open[0].end)),
        ("2025-09-06T01:14:26Z".into(), "2025-09-06T04:39:56Z".into())
    );
    // `CAC(R1132103523417)` is feature CAC; the grants named its editor.
    assert!(b.denials.iter().all(|d| d.feature.starts_with("CAC")
        && !d.feature.contains('(')
        && d.vendor == "Dassault Systemes V5"));
    let hosts: BTreeSet<&str> = b.sessions.iter().map(|s| s.host.as_str()).collect();
    assert!(hosts.iter().all(|h| !h.contains(' ')), "{hosts:?}");
}

/// The cloud document on one line (as `getlogs` may return it) gives the same records; but all
/// of them come from that one line, far past 2 records per line (+16): the host's byte term admits them.
#[test]
fn cloud_document_on_one_line() {
    let Some(dir) = testing::dir_or_skip(DIR) else {
        return;
    };
    let pretty = testing::run::<DslsLog>(&testing::fixture(dir.join(CLOUD)), &config(0), 65_536);
    let line = one_line(&testing::fixture(dir.join(CLOUD)));
    let b = testing::run::<DslsLog>(&line, &config(0), 1 << 20);
    assert_eq!(b.lines, 1);
    assert_eq!(b, Batch { lines: 1, ..pretty });
    // The host allows 2 records per line + 1 per 16 bytes + 16
    // (tally-plugin-host RECORDS_PER_LINE, BYTES_PER_RECORD): the byte term admits this document.
    let allowed = 2 + line.len() / 16 + 16;
    assert!(
        testing::batch_records(&b) > 2 + 16,
        "more than a per-line rule alone would admit"
    );
    assert!(
        testing::batch_records(&b) <= allowed,
        "{} records, {allowed} allowed",
        testing::batch_records(&b)
    );
}

#[test]
fn corpus_resume_is_exact() {
    let Some(dir) = testing::dir_or_skip(DIR) else {
        return;
    };
    for file in [SERVER_LOG, CLOUD] {
        let data = testing::fixture(dir.join(file));
        let cfg = config(7200);
        let whole = testing::run::<DslsLog>(&data, &cfg, 64 * 1024);
        let starts = line_starts(&data);
        let mut splits: Vec<usize> = [1, 5, 6, 7, 10, 100, 500]
            .iter()
            .filter_map(|&i| starts.get(i).copied())
            .collect();
        splits.extend(
            [
                starts.len() / 3,
                starts.len() / 2,
                starts.len() * 9 / 10,
                starts.len() - 1,
            ]
            .map(|i| starts[i]),
        );
        for split in splits {
            for size in [1, 4096, 64 * 1024] {
                assert_eq!(
                    testing::run_split::<DslsLog>(&data, &cfg, size, split),
                    whole,
                    "{file} split at byte {split}, chunks of {size}"
                );
            }
        }
    }
}

#[test]
fn sniff_over_the_whole_corpus() {
    let Some(dir) = testing::dir_or_skip(DIR) else {
        return;
    };
    let root = dir.parent().expect("corpus root").to_path_buf();
    let mut subs: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("corpus root")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    subs.sort();
    let mut seen = 0;
    for sub in subs {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(&sub)
            .expect("corpus folder")
            .flatten()
            .map(|e| e.path())
            .collect();
        entries.sort();
        for path in entries {
            let data = std::fs::read(&path).expect("read");
            let score = DslsLog::sniff(&data[..data.len().min(4096)]);
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if name == SERVER_LOG || name == CLOUD {
                assert!(score >= 0.9, "{}: {score}", path.display());
            } else {
                assert!(score < 0.5, "{}: {score}", path.display());
            }
            seen += 1;
        }
    }
    println!("{seen} corpus files sniffed");
}

/// The fuzz target's body on every file of the corpus folder (`docs/fuzzing.md`).
#[test]
fn fuzz_body_holds_on_the_corpus() {
    testing::fuzz_import_dir::<DslsLog>(DIR);
}

/// A generated checkout-heavy log: 1 M `USGTRACING` lines (grants and releases of up to 400
/// concurrent sessions), as LicenseServer lines and as a newest-first cloud document. Native:
/// `cargo test --release -p dsls-log --test corpus -- --ignored --nocapture throughput`.
#[test]
#[ignore]
fn throughput_generated() {
    let mut lines = Vec::with_capacity(1_000_000);
    let mut open: std::collections::VecDeque<(usize, usize)> = Default::default();
    let mut secs = 8 * 3600u32;
    let mut newest_ms = 0i64;
    for n in 0..1_000_000usize {
        secs += 1;
        let (d, t) = (1 + secs / 86_400 % 28, secs % 86_400);
        let time = format!(
            "2025/03/{d:02} {:02}:{:02}:{:02}:{:03}",
            t / 3600,
            t / 60 % 60,
            t % 60,
            n % 1000
        );
        newest_ms = (tally_plugin_sdk::civil::days_from_civil(2025, 3, d) * 86_400 + i64::from(t))
            * 1000
            + (n % 1000) as i64;
        let (ev, sess) = if open.len() < 400 && (n % 3 != 0 || open.is_empty()) {
            open.push_back((n, n * 7 % 300));
            ("Grant", open[open.len() - 1])
        } else {
            ("Detachment", open.pop_front().unwrap_or((0, 0)))
        };
        let (id, u) = sess;
        lines.push(format!(
            "{time} I USGTRACING  {ev}!!F{}!R1!{id:016X}!Dassault Systemes V5!ConcurrentUser!1!STD!HOST{u} (4328-0a0a142d.18)!10.0.0.{}!user{u}!USER{u}@EXAMPLE.S-1-5-21-9.0A0A142D.18.LGH-4328!C:\\Program Files\\Dassault Systemes\\B34\\win_b64\\code\\bin\\CNEXT.exe!5.34!ALC",
            u % 40,
            u % 250
        ));
    }
    let log = lines.join("\n").into_bytes();
    // As getlogs writes it: `lastDate` (the newest row, epoch ms) before the rows.
    let mut doc = format!("{{\"result\":{{\"lastDate\":{newest_ms},\"rows\":[\n");
    for (i, l) in lines.iter().rev().enumerate() {
        if i > 0 {
            doc.push_str(",\n");
        }
        doc.push('"');
        doc.push_str(&l.replace('\\', "\\\\"));
        doc.push('"');
    }
    doc.push_str("\n],\"serverTimeZone\":\"UTC\"}}\n");
    for (what, data) in [("log lines", log), ("cloud JSON", doc.into_bytes())] {
        let mut best = f64::MAX;
        let mut sessions = 0;
        for _ in 0..7 {
            let t = std::time::Instant::now();
            let b = testing::run::<DslsLog>(&data, &config(0), 1 << 20);
            best = best.min(t.elapsed().as_secs_f64());
            sessions = b.sessions.len();
            assert!(b.diagnostics.is_empty(), "{:?}", &b.diagnostics[..1]);
        }
        println!(
            "{what}: {:.0} lines/s, {:.0} MB/s ({} bytes, {sessions} sessions, best of 7: {:.1} ms)",
            1e6 / best,
            data.len() as f64 / best / 1e6,
            data.len(),
            best * 1e3
        );
    }
}
