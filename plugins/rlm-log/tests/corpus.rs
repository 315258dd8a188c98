//! The one real RLM report log of the shared corpus (`rlm-reportlog/`, RLM 14.1, std format,
//! ISV `afrlm`, `TIMEZONE -420` = UTC+7). Skips with a message when the corpus is absent.
//!
//! How the expected numbers were obtained, independently of this parser (shell on the raw file):
//! * `lines`: `wc -l` = 913, and `tail -c1` is a newline.
//! * `sessions` 311: `grep -c '^OUT '` = 298, plus 13 INUSE lines whose `server_handle product`
//!   ($9 $2) was not open — an awk pass keyed on `$11" "$2` for OUT, `$9" "$2` for INUSE and
//!   `$11" "$3` for IN (the second INUSE block, after the REREAD, only re-asserts the first
//!   one's 13). The same pass paired 311 INs and left nothing open at the end.
//! * end reasons: the `why` ($2) of those 311 matched INs: 1 → 276, 2 → 27 (Checkin 303),
//!   4 → 8 (Inactive).
//! * `unrecognised` 11: the INs the awk pass found no OUT/INUSE for (lines 877–882, 896–900).
//! * `denials` 142: `grep -c '^DENY '`; all status -22; `awk '{print $9}'` (last_attempt) is 0
//!   on 22 of them.
//! * `malformed` 4: `grep -c '^--'` (the hand-marked `--OUT`/`--IN` lines).
//! * `users` 4: `awk '$1=="OUT"||$1=="INUSE"{print $5}' | sort -u`.
//! * first/last session start: the first INUSE (09/04 00:00:04) and the latest OUT time
//!   (`awk '$1=="OUT"{print $17, $18}' | sort | tail -1` = 09/04 19:49:11), minus 7 hours.

use std::collections::BTreeSet;
use std::path::PathBuf;

use rlm_log::RlmLog;
use tally_plugin_sdk::civil::format_utc;
use tally_plugin_sdk::testing::{
    self, capacities, config, count, denials, events, line_starts, physical_lines, sessions,
};
use tally_plugin_sdk::{Batch, DenialKind, DiagnosticKind, EndReason, Importer, ServerEventKind};

const DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/corpus/rlm-reportlog"
);
const FILE: &str = "licenselogs__autoform_afrlm_reportlog_2025-09-04.rlog";
/// The log's own zone, UTC+7.
const OFFSET: i32 = 25_200;

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
        .collect();
    files.sort();
    assert_eq!(
        files,
        vec![FILE.to_string()],
        "the corpus has the known file"
    );
    let data = testing::fixture(dir.join(FILE));
    let b = testing::run::<RlmLog>(&data, &config(OFFSET, None), 64 * 1024);
    assert_eq!(b.lines, 913);
    assert_eq!(b.lines, physical_lines(&data));
    assert_eq!(b.sessions.len(), 311);
    assert_eq!(reasons(&b), [303, 8, 0, 0, 0, 0]);
    assert_eq!(b.denials.len(), 142);
    // Capacity: 18 PRODUCT lines after START (line 8, 00:00:04 local) and the same 18 again
    // after the REREAD (line 45, 00:00:06): `grep -n '^PRODUCT'`. Seats in two pools (7: 1,
    // 9: 2); count 0 (hostid "ANY") is uncounted.
    let caps = capacities(&b);
    assert_eq!(caps.len(), 36);
    assert_eq!(
        caps.iter()
            .filter(|c| c.starts_with("afrlm|af_autoform_seat_nu|"))
            .cloned()
            .collect::<Vec<_>>(),
        [
            "afrlm|af_autoform_seat_nu|5.0|7|1|2025-09-03T17:00:04Z|-|Server",
            "afrlm|af_autoform_seat_nu|5.0|9|2|2025-09-03T17:00:04Z|-|Server",
            "afrlm|af_autoform_seat_nu|5.0|7|1|2025-09-03T17:00:06Z|-|Server",
            "afrlm|af_autoform_seat_nu|5.0|9|2|2025-09-03T17:00:06Z|-|Server",
        ]
    );
    assert_eq!(
        caps[0],
        "afrlm|af_company_string|5.0|1|uncounted|2025-09-03T17:00:04Z|-|Server"
    );
    assert!(b.denials.iter().all(|d| {
        d.kind == DenialKind::Denied
            && d.code.map(|c| c.major) == Some(-22)
            && d.vendor == "afrlm"
            && d.requested_version.as_deref() == Some("5.0")
    }));
    let retried = b
        .denials
        .iter()
        .filter(|d| {
            d.reason.as_deref() == Some("All licenses in use (not the client's last attempt)")
        })
        .count();
    assert_eq!(retried, 22);
    assert!(b.queued.is_empty());
    let users: BTreeSet<&str> = b.sessions.iter().map(|s| s.user.as_str()).collect();
    assert_eq!(
        users.into_iter().collect::<Vec<_>>(),
        vec!["ah.autoform01", "apichart.c", "piyaphong.t", "system"]
    );
    assert!(
        b.sessions.iter().all(|s| s.vendor == "afrlm"
            && s.count == 1
            && s.project.is_none()
            && s.end >= s.start)
    );
    assert_eq!(count(&b, DiagnosticKind::Malformed), 4);
    assert_eq!(count(&b, DiagnosticKind::Unrecognised), 11);
    assert_eq!(count(&b, DiagnosticKind::Assumption), 0);
    let malformed: Vec<u64> = b
        .diagnostics
        .iter()
        .filter(|d| d.kind == DiagnosticKind::Malformed)
        .map(|d| d.line)
        .collect();
    assert_eq!(malformed, vec![725, 726, 728, 730]);
    let first = b.sessions.iter().map(|s| s.start).min().map(format_utc);
    let last = b.sessions.iter().map(|s| s.start).max().map(format_utc);
    assert_eq!(first.as_deref(), Some("2025-09-03T17:00:04Z"));
    assert_eq!(last.as_deref(), Some("2025-09-04T12:49:11Z"));
    assert_eq!(
        events(&b),
        vec![
            "2025-09-03T17:00:04Z|Other|afrlm|SWITCH from C:\\Users\\ahroot\\Documents\\Logfile.rlog.2025.09.03",
            "2025-09-03T17:00:04Z|Other|afrlm|START AITS25A1PC0040 09/04/2025 00:00:04",
            "2025-09-03T17:00:06Z|Reread|afrlm|REREAD automatic midnight 09/04 00:00:06",
            "2025-09-04T17:00:53Z|Other|afrlm|SWITCH to C:\\Users\\ahroot\\Documents\\Logfile.rlog",
            "2025-09-04T17:00:53Z|Other|afrlm|END 09/05/2025 00:00:53",
        ]
    );
    assert!(
        !b.server_events
            .iter()
            .any(|e| e.kind == ServerEventKind::DaemonStart),
        "a START after `SWITCH from` is a new file, not a new server"
    );
    assert!(RlmLog::sniff(&data[..data.len().min(4096)]) >= 0.9);
}

#[test]
fn corpus_timezone_line_beats_the_configuration() {
    let Some(dir) = testing::dir_or_skip(DIR) else {
        return;
    };
    let data = testing::fixture(dir.join(FILE));
    let ours = testing::run::<RlmLog>(&data, &config(OFFSET, None), 64 * 1024);
    let utc = testing::run::<RlmLog>(&data, &config(0, None), 64 * 1024);
    assert_eq!(sessions(&utc), sessions(&ours));
    assert_eq!(denials(&utc), denials(&ours));
    // The only difference: line 9 says the log's zone was used.
    assert_eq!(count(&utc, DiagnosticKind::Assumption), 1);
    let a = utc
        .diagnostics
        .iter()
        .find(|d| d.kind == DiagnosticKind::Assumption)
        .expect("assumption");
    assert_eq!(a.line, 9);
    assert!(a.text.contains("UTC+07:00"), "{}", a.text);
}

#[test]
fn corpus_resume_is_exact_at_every_line() {
    let Some(dir) = testing::dir_or_skip(DIR) else {
        return;
    };
    let data = testing::fixture(dir.join(FILE));
    let cfg = config(0, Some(1_757_000_000));
    let whole = testing::run::<RlmLog>(&data, &cfg, 64 * 1024);
    assert_eq!(
        testing::run::<RlmLog>(&data, &cfg, 1),
        whole,
        "one line per chunk"
    );
    for split in line_starts(&data) {
        assert_eq!(
            testing::run_split::<RlmLog>(&data, &cfg, 64 * 1024, split),
            whole,
            "split at byte {split}"
        );
    }
}

#[test]
fn corpus_sniff_separates_formats() {
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
        let rlm = sub.file_name().is_some_and(|n| n == "rlm-reportlog");
        for e in std::fs::read_dir(&sub).expect("corpus dir").flatten() {
            let data = std::fs::read(e.path()).expect("read");
            let score = RlmLog::sniff(&data[..data.len().min(4096)]);
            if rlm {
                assert!(score >= 0.9, "{}: {score}", e.path().display());
            } else {
                assert!(score < 0.5, "{}: {score}", e.path().display());
            }
            seen += 1;
        }
    }
    assert!(seen > 60, "only {seen} corpus files");
    println!("{seen} corpus files sniffed");
}

/// The fuzz target's body on every file of the corpus folder (`docs/fuzzing.md`).
#[test]
fn fuzz_body_holds_on_the_corpus() {
    testing::fuzz_import_dir::<RlmLog>(DIR);
}

/// Native throughput on a generated std-format log (1 M lines, OUT/IN/DENY):
/// `cargo test --release -p rlm-log --test corpus -- --ignored --nocapture throughput`.
#[test]
#[ignore]
fn throughput() {
    let mut log = String::from(
        "RLM Report Log Format 0, version 14.1, authenticated\nISV: demo, RLM version 14.1 BL3\n\
         START srv 01/02/2024 00:00:00\nTIMEZONE 0 0 # UTC\n",
    );
    let mut open: std::collections::VecDeque<(usize, usize, usize)> =
        std::collections::VecDeque::new();
    let mut secs = 0usize;
    let mut day = 2usize;
    for n in 1..1_000_000usize {
        secs += 1;
        if secs == 86_400 {
            secs = 0;
            day += 1;
        }
        let t = format!(
            "01/{day:02} {:02}:{:02}:{:02}",
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        );
        let (u, f) = (n * 7 % 300, n * 13 % 40);
        if n % 50 == 0 {
            log.push_str(&format!(
                "DENY feature_{f} 1.0 user{u} host{u}.example.org \"\" 1 -22 1 {n:x} {}\n",
                &t[..t.len() - 3]
            ));
        } else if open.len() < 400 && (n % 3 != 0 || open.is_empty()) {
            log.push_str(&format!(
                "OUT feature_{f} 1.0 1 user{u} host{u}.example.org \"\" 1 1 0 {n:x} {n:x} 4d2 \"\" \"\" \"\" {t}\n"
            ));
            open.push_back((u, f, n));
        } else if let Some((u, f, h)) = open.pop_front() {
            log.push_str(&format!(
                "IN 1 feature_{f} 1.0 user{u} host{u}.example.org \"\" 1 0 0 {h:x} {t}\n"
            ));
        }
    }
    let data = log.into_bytes();
    let lines = physical_lines(&data) as f64;
    let mut best = f64::MAX;
    for _ in 0..7 {
        let t = std::time::Instant::now();
        let b = testing::run::<RlmLog>(&data, &config(0, None), 1 << 20);
        best = best.min(t.elapsed().as_secs_f64());
        assert!(b.diagnostics.is_empty(), "{:?}", &b.diagnostics[..1]);
    }
    println!(
        "generated: {:.0} lines/s, {:.0} MB/s ({} bytes)",
        lines / best,
        data.len() as f64 / best / 1e6,
        data.len()
    );
}
