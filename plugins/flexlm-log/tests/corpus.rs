//! The 13 real (and two hand-edited) debug logs of the shared corpus. Skips with a message when
//! the corpus is absent.
//!
//! How the expected numbers were obtained, independently of this parser (shell, on the corpus
//! files with the BOM and one trailing `\r` per line stripped; `P` = `^ ?[0-9]{1,2}:[0-9]{2}:[0-9]{2} \([^ ()]+\)`):
//! * `lines`: `wc -l`, plus one when `tail -c1` is not a newline (elk, saltd).
//! * `sessions`: `grep -cE "$P OUT: \""` — every OUT line yields exactly one session (paired,
//!   or closed at a restart / at the end of the log).
//! * `denied` / `unsupported`: `grep -cE "$P DENIED: \""` / `"$P UNSUPPORTED: \""`.
//! * `users`: the OUT lines through `sed` (drop up to the quoted feature, drop trailing
//!   `[project]`/`(N licenses)`, drop the last `@…`), `sort -u | wc -l`.
//! * `malformed`: non-blank lines without the prefix, `grep -vE "$P( |\$)" | grep -cvE '^[[:space:]]*$'`
//!   (the `12:49:3a9` pair, ` ansyslmd  ansoftd  ` in the three umich logs, the split MSC line,
//!   matlab's un-prefixed `Shut down FlexNet MLM …`, ucl's `# THIS IS A TEST LOG FILE`).
//! * end reasons, `unrecognised` and first/last session start: a separate 40-line mawk script
//!   that pairs OUT/IN FIFO on the raw text after the keyword (check-in flag removed), marks
//!   daemons stopped on `EXITING DUE TO SIGNAL` / `Shutting down X pid=` / `X exited with
//!   status`, advances the day on every backward clock step and takes dates only from
//!   `TIMESTAMP` and lmgrd `started on (M/D/YYYY)` lines (computing days with the Julian-day-number
//!   formula, not the parser's). The parser also uses `Server's System Date` and SLOG dates; in
//!   saltd the first OUTs precede every anchor and no clock step precedes the first anchor, so
//!   they are on its date (8/29/2025); ucl has no date at all and runs with no modification time.
//!   A further awk pass confirmed no `TIMESTAMP` contradicts the rollover count in any file,
//!   hence no Assumption diagnostics except ucl's.

use std::collections::BTreeSet;

use flexlm_log::FlexlmLog;
use tally_plugin_sdk::civil::format_utc;
use tally_plugin_sdk::testing::{self, config, count, line_starts, physical_lines};
use tally_plugin_sdk::{Batch, DenialKind, DiagnosticKind, EndReason, Importer};

const DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/corpus/flexlm-debuglog"
);

struct Facts {
    file: &'static str,
    lines: u64,
    sessions: usize,
    denied: usize,
    unsupported: usize,
    users: usize,
    malformed: usize,
    first_start: &'static str,
    last_start: &'static str,
    /// Checkin, Inactive, Shutdown, Unknown, ServerRestart, EndOfLog.
    reasons: [usize; 6],
}

#[rustfmt::skip]
const FACTS: &[Facts] = &[
    Facts { file: "flexlicenselog__ansys_ansyslmd_2009.log", lines: 58, sessions: 2, denied: 0, unsupported: 0, users: 1, malformed: 0,
            first_start: "2009-02-09T16:12:56Z", last_start: "2009-02-09T16:12:56Z", reasons: [2, 0, 0, 0, 0, 0] },
    Facts { file: "flexlm_analysis_modified__siemens_ugslmd_startup.log", lines: 97, sessions: 1, denied: 0, unsupported: 0, users: 1, malformed: 2,
            first_start: "2021-03-21T12:49:39Z", last_start: "2021-03-21T12:49:39Z", reasons: [1, 0, 0, 0, 0, 0] },
    Facts { file: "flexlm_license_elk__autodesk_sample.log", lines: 11_800, sessions: 1918, denied: 0, unsupported: 0, users: 68, malformed: 0,
            first_start: "2016-03-30T06:51:39Z", last_start: "2016-04-29T14:39:54Z", reasons: [1670, 248, 0, 0, 0, 0] },
    Facts { file: "flexlm_log_parser_imsukh__autodesk_debug.log", lines: 3598, sessions: 170, denied: 2, unsupported: 0, users: 7, malformed: 0,
            first_start: "2018-07-27T15:49:22Z", last_start: "2018-08-09T14:37:34Z", reasons: [168, 0, 0, 0, 0, 2] },
    Facts { file: "flexlm_reporter__umich_ansyslmd_2017-01-08.log", lines: 10_909, sessions: 598, denied: 0, unsupported: 0, users: 10, malformed: 1,
            first_start: "2017-01-08T21:06:15Z", last_start: "2017-02-18T01:46:20Z", reasons: [598, 0, 0, 0, 0, 0] },
    Facts { file: "flexlm_reporter__umich_ansyslmd_2017-02-18.log", lines: 44_084, sessions: 9038, denied: 0, unsupported: 0, users: 12, malformed: 1,
            first_start: "2017-02-18T13:20:38Z", last_start: "2017-06-08T07:31:02Z", reasons: [9013, 0, 0, 0, 0, 25] },
    Facts { file: "flexlm_reporter__umich_ansyslmd_2017-06-08.log", lines: 8991, sessions: 2455, denied: 0, unsupported: 0, users: 10, malformed: 1,
            first_start: "2017-06-08T09:49:51Z", last_start: "2017-06-25T09:01:42Z", reasons: [2445, 0, 0, 0, 0, 10] },
    Facts { file: "licenselogs__siemens_nx_saltd_excerpt.log", lines: 3295, sessions: 1282, denied: 61, unsupported: 6, users: 17, malformed: 0,
            first_start: "2025-08-29T11:27:12Z", last_start: "2025-09-01T09:57:38Z", reasons: [1225, 0, 0, 19, 0, 38] },
    Facts { file: "parse_lmgrd_log__msc_mscone_anonym.log", lines: 694, sessions: 21, denied: 0, unsupported: 0, users: 1, malformed: 1,
            first_start: "2026-03-08T16:12:16Z", last_start: "2026-03-08T17:00:49Z", reasons: [13, 0, 8, 0, 0, 0] },
    Facts { file: "stats_logs_flexlm__autodesk_adskflex.log", lines: 32_654, sessions: 8402, denied: 0, unsupported: 2, users: 21, malformed: 0,
            first_start: "2022-05-05T08:42:45Z", last_start: "2022-07-07T11:48:15Z", reasons: [8400, 0, 0, 0, 0, 2] },
    Facts { file: "stats_logs_flexlm__maple_maplelmg.log", lines: 6514, sessions: 262, denied: 0, unsupported: 0, users: 10, malformed: 0,
            first_start: "2022-06-10T09:19:00Z", last_start: "2022-07-05T18:01:32Z", reasons: [262, 0, 0, 0, 0, 0] },
    Facts { file: "stats_logs_flexlm__matlab_mlm.log", lines: 27_048, sessions: 10_007, denied: 0, unsupported: 9, users: 108, malformed: 1,
            first_start: "2022-06-09T10:25:38Z", last_start: "2022-07-06T21:51:50Z", reasons: [9934, 0, 19, 0, 54, 0] },
    Facts { file: "ucl_licenselogparse__handmade_test.log", lines: 7, sessions: 3, denied: 0, unsupported: 0, users: 1, malformed: 1,
            first_start: "1970-01-01T00:00:00Z", last_start: "1970-01-01T00:01:15Z", reasons: [3, 0, 0, 0, 0, 0] },
];

fn reasons(b: &Batch) -> [usize; 6] {
    let order = [
        EndReason::Checkin,
        EndReason::Inactive,
        EndReason::Shutdown,
        EndReason::Unknown,
        EndReason::ServerRestart,
        EndReason::EndOfLog,
    ];
    order.map(|r| b.sessions.iter().filter(|s| s.end_reason == r).count())
}

#[test]
fn corpus_facts() {
    let Some(dir) = testing::dir_or_skip(DIR) else {
        return;
    };
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .expect("corpus dir")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|n| n.ends_with(".log"))
        .collect();
    files.sort();
    assert_eq!(
        files,
        FACTS.iter().map(|f| f.file.to_string()).collect::<Vec<_>>(),
        "the corpus has the 13 known files"
    );
    for f in FACTS {
        let data = testing::fixture(dir.join(f.file));
        let b = testing::run::<FlexlmLog>(&data, &config(0, None), 64 * 1024);
        let name = f.file;
        assert_eq!(b.lines, f.lines, "{name}: lines");
        assert_eq!(
            b.lines,
            physical_lines(&data),
            "{name}: every line accounted for"
        );
        assert_eq!(b.sessions.len(), f.sessions, "{name}: sessions");
        let kind = |k| b.denials.iter().filter(|d| d.kind == k).count();
        assert_eq!(kind(DenialKind::Denied), f.denied, "{name}: denied");
        assert_eq!(
            kind(DenialKind::Unsupported),
            f.unsupported,
            "{name}: unsupported"
        );
        let users: BTreeSet<&str> = b.sessions.iter().map(|s| s.user.as_str()).collect();
        assert_eq!(users.len(), f.users, "{name}: distinct users");
        assert_eq!(
            count(&b, DiagnosticKind::Malformed),
            f.malformed,
            "{name}: malformed"
        );
        assert_eq!(
            count(&b, DiagnosticKind::Unrecognised),
            0,
            "{name}: every IN found its OUT"
        );
        let assumed = usize::from(name.starts_with("ucl_"));
        assert_eq!(
            count(&b, DiagnosticKind::Assumption),
            assumed,
            "{name}: assumptions"
        );
        let first = b.sessions.iter().map(|s| s.start).min().map(format_utc);
        let last = b.sessions.iter().map(|s| s.start).max().map(format_utc);
        assert_eq!(
            first.as_deref(),
            Some(f.first_start),
            "{name}: first session start"
        );
        assert_eq!(
            last.as_deref(),
            Some(f.last_start),
            "{name}: last session start"
        );
        assert_eq!(reasons(&b), f.reasons, "{name}: end reasons");
        for s in &b.sessions {
            assert!(
                s.end >= s.start,
                "{name}: session ends before it starts: {s:?}"
            );
        }
        assert!(
            FlexlmLog::sniff(&data[..data.len().min(4096)]) >= 0.85,
            "{name}: sniff"
        );
    }
}

#[test]
fn corpus_specifics() {
    let Some(dir) = testing::dir_or_skip(DIR) else {
        return;
    };
    // UTF-8 user names with BOM-led file; names with spaces.
    let b = testing::run::<FlexlmLog>(
        &testing::fixture(dir.join("stats_logs_flexlm__maple_maplelmg.log")),
        &config(0, None),
        65_536,
    );
    assert!(
        b.sessions
            .iter()
            .any(|s| s.user == "Mª Cruz" && s.host == "mcruz")
    );
    let b = testing::run::<FlexlmLog>(
        &testing::fixture(dir.join("stats_logs_flexlm__matlab_mlm.log")),
        &config(0, None),
        65_536,
    );
    assert!(
        b.sessions
            .iter()
            .any(|s| s.user == "José Juan Galera" && s.host == "Plasmon")
    );
    // The 54 never checked in end when lmgrd shut MLM down (08:14:44 on 7/7/2022).
    for s in b
        .sessions
        .iter()
        .filter(|s| s.end_reason == EndReason::ServerRestart)
    {
        assert_eq!(format_utc(s.end), "2022-07-07T08:14:44Z");
    }
    // DENIED with the glued version token, UNSUPPORTED with a padded hostid.
    let b = testing::run::<FlexlmLog>(
        &testing::fixture(dir.join("licenselogs__siemens_nx_saltd_excerpt.log")),
        &config(0, None),
        65_536,
    );
    let versioned = b
        .denials
        .iter()
        .filter(|d| d.requested_version.as_deref() == Some("v2023.12"))
        .count();
    assert_eq!(versioned, 19);
    assert!(
        b.denials
            .iter()
            .all(|d| d.code.is_some() && d.reason.is_some())
    );
    // MSC token checkouts keep their bracketed product.
    let b = testing::run::<FlexlmLog>(
        &testing::fixture(dir.join("parse_lmgrd_log__msc_mscone_anonym.log")),
        &config(0, None),
        65_536,
    );
    assert!(b.sessions.iter().all(|s| {
        s.project
            .as_deref()
            .is_some_and(|p| p.starts_with("MSCONE:"))
    }));
    assert_eq!(
        b.server_events
            .iter()
            .filter(|e| e.kind == tally_plugin_sdk::ServerEventKind::LicensesDisabled)
            .count(),
        347
    );
}

#[test]
fn corpus_resume_is_exact() {
    let Some(dir) = testing::dir_or_skip(DIR) else {
        return;
    };
    for file in [
        // Starts mid-log: records wait for the first date in the checkpoint.
        "licenselogs__siemens_nx_saltd_excerpt.log",
        // Shutdown at the end: stop state and open sessions cross the checkpoint.
        "stats_logs_flexlm__matlab_mlm.log",
        "stats_logs_flexlm__autodesk_adskflex.log",
        "parse_lmgrd_log__msc_mscone_anonym.log",
    ] {
        let data = testing::fixture(dir.join(file));
        let cfg = config(7200, Some(1_700_000_000));
        let whole = testing::run::<FlexlmLog>(&data, &cfg, 64 * 1024);
        let starts = line_starts(&data);
        let mut splits: Vec<usize> = [1, 10, 100, 500]
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
            assert_eq!(
                testing::run_split::<FlexlmLog>(&data, &cfg, 64 * 1024, split),
                whole,
                "{file} split at byte {split}"
            );
        }
    }
}

#[test]
fn other_formats_sniff_low() {
    let Some(dir) = testing::dir_or_skip(DIR) else {
        return;
    };
    let root = dir.parent().expect("corpus root").to_path_buf();
    let mut seen = 0;
    for sub in [
        "flexlm-lmstat",
        "rlm-reportlog",
        "rlm-rlmstat",
        "lmx-log",
        "lmx-status",
        "sentinel-lsmon",
        "dsls",
        "mathlm",
    ] {
        let Ok(entries) = std::fs::read_dir(root.join(sub)) else {
            continue;
        };
        for e in entries.flatten() {
            let data = std::fs::read(e.path()).expect("read");
            let score = FlexlmLog::sniff(&data[..data.len().min(4096)]);
            assert!(score < 0.5, "{}: {score}", e.path().display());
            seen += 1;
        }
    }
    println!("{seen} files of other formats sniffed below 0.5");
}

/// The fuzz target's body on every file of the corpus folder (`docs/fuzzing.md`).
#[test]
fn fuzz_body_holds_on_the_corpus() {
    testing::fuzz_import_dir::<FlexlmLog>(DIR);
}

/// Native throughput on the largest corpus file:
/// `cargo test --release -p flexlm-log --test corpus -- --ignored --nocapture throughput`.
#[test]
#[ignore]
fn throughput() {
    let Some(dir) = testing::dir_or_skip(DIR) else {
        return;
    };
    let data = testing::fixture(dir.join("flexlm_reporter__umich_ansyslmd_2017-02-18.log"));
    let lines = physical_lines(&data) as f64;
    let mut best = f64::MAX;
    for _ in 0..15 {
        let t = std::time::Instant::now();
        let b = testing::run::<FlexlmLog>(&data, &config(0, None), 1 << 20);
        let s = t.elapsed().as_secs_f64();
        assert_eq!(b.sessions.len(), 9038);
        best = best.min(s);
    }
    println!(
        "{:.0} lines/s, {:.0} MB/s ({} bytes, best of 15: {:.2} ms)",
        lines / best,
        data.len() as f64 / best / 1e6,
        data.len(),
        best * 1e3
    );
}

/// Native throughput on a generated checkout-heavy log (1 M lines, every line an OUT or IN):
/// `cargo test --release -p flexlm-log --test corpus -- --ignored --nocapture throughput_generated`.
#[test]
#[ignore]
fn throughput_generated() {
    let mut log = String::from(
        " 0:00:00 (lmgrd) FlexNet Licensing (v11.19.6.0 build 1 x64_n6) started on srv (linux) (1/2/2024)\n",
    );
    let mut open: std::collections::VecDeque<(usize, usize)> = std::collections::VecDeque::new();
    let mut secs = 0u32;
    let mut n: usize = 1;
    while n < 1_000_000 {
        secs = (secs + 1) % 86_400;
        let t = format!("{:2}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
        if open.len() < 400 && (!n.is_multiple_of(3) || open.is_empty()) {
            let (u, f) = (n * 7 % 300, n * 13 % 40);
            log.push_str(&format!(
                "{t} (vendord) OUT: \"feature_{f}\" user{u}@host{u}.example.org  \n"
            ));
            open.push_back((u, f));
        } else if let Some((u, f)) = open.pop_front() {
            log.push_str(&format!(
                "{t} (vendord) IN: \"feature_{f}\" user{u}@host{u}.example.org  \n"
            ));
        }
        n += 1;
    }
    let data = log.into_bytes();
    let lines = physical_lines(&data) as f64;
    let mut best = f64::MAX;
    for _ in 0..7 {
        let t = std::time::Instant::now();
        let b = testing::run::<FlexlmLog>(&data, &config(0, None), 1 << 20);
        best = best.min(t.elapsed().as_secs_f64());
        assert!(b.diagnostics.is_empty());
    }
    println!(
        "generated: {:.0} lines/s, {:.0} MB/s ({} bytes)",
        lines / best,
        data.len() as f64 / best / 1e6,
        data.len()
    );
}
