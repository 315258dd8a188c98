//! The one LM-X server log of the shared corpus (a start-up log) and the other formats' files.
//! Skips with a message when the corpus is absent.
//!
//! How the expected facts were obtained, independently of this parser (shell, on
//! `softing_edgeconnector__lmx_serv_startup_log.txt`):
//! * `lines`: `wc -l` = 23, and `tail -c1` is a newline.
//! * malformed = 0: `grep -cE '^\[[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\]( |$)'`
//!   = 23, every line.
//! * one `ServerStart`: `grep -c '\] LM-X License Server v'` = 1; one `DaemonStart` (SOFTING):
//!   `grep -c '\] Serving licenses for vendor '` = 1; one `WARNING:` line.
//! * one license file: awk counting `] /…` lines directly after `License file(s):`; one
//!   feature: awk counting `<name> (v…) (<n> license(s))` lines directly after `Serving
//!   following features:`.
//! * unrecognised = 0: read by eye, every other message is an informational line the parser
//!   knows (copyright, website, pid, three port lines, `Reading licenses...`, four
//!   configuration lines, HostId, the administration hint, `Ready to serve...`, and the two
//!   empty `[ts]` lines, `grep -cE '\]$'` = 2); `grep -ciE 'checkout|checkin|denied|shut'` = 0.

use lmx_log::LmxLog;
use tally_plugin_sdk::testing::{self, config, count, events, line_starts, physical_lines};
use tally_plugin_sdk::{DiagnosticKind, Importer};

const DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/corpus/lmx-log"
);
const SAMPLE: &str = "softing_edgeconnector__lmx_serv_startup_log.txt";

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
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
    assert_eq!(files, [SAMPLE], "the corpus has the one known file");
    let data = testing::fixture(dir.join(SAMPLE));
    let b = testing::run::<LmxLog>(&data, &config(0, None), 64 * 1024);
    assert_eq!(b.lines, 23);
    assert_eq!(b.lines, physical_lines(&data));
    assert_eq!(count(&b, DiagnosticKind::Malformed), 0);
    assert_eq!(
        count(&b, DiagnosticKind::Unrecognised),
        0,
        "{:?}",
        b.diagnostics
    );
    assert_eq!(count(&b, DiagnosticKind::Assumption), 0);
    assert_eq!(
        events(&b),
        strs(&[
            "2021-05-26T13:38:30Z|ServerStart|lmx-serv|LM-X License Server v4.9.23 build 74220bf8 on softing_licsrv (Linux_x64)",
            "2021-05-26T13:38:30Z|DaemonStart|SOFTING|Serving licenses for vendor SOFTING.",
            "2021-05-26T13:38:30Z|Other|lmx-serv|WARNING: It is not recommended to run license server as root.",
            "2021-05-26T13:38:30Z|Other|lmx-serv|License file: /licsrv/licenses/<license_file>.lic",
            "2021-05-26T13:38:30Z|Other|lmx-serv|Serving feature: edgeConnector (v1.0) (5 license(s)) shared on: HOST USER VIRTUAL license type: additive",
        ])
    );
    assert!(b.sessions.is_empty() && b.denials.is_empty() && b.queued.is_empty());
    // Docker's host time zone is not known: the offset moves every time alike.
    let shifted = testing::run::<LmxLog>(&data, &config(7200, None), 64 * 1024);
    assert!(
        shifted
            .server_events
            .iter()
            .zip(&b.server_events)
            .all(|(s, e)| s.time == e.time - 7200)
    );
    let score = LmxLog::sniff(&data[..data.len().min(4096)]);
    assert!(score >= 0.9, "sniff {score}");
}

#[test]
fn corpus_resume_is_exact_at_every_line() {
    let Some(dir) = testing::dir_or_skip(DIR) else {
        return;
    };
    let data = testing::fixture(dir.join(SAMPLE));
    let cfg = config(0, None);
    let whole = testing::run::<LmxLog>(&data, &cfg, 64 * 1024);
    assert_eq!(testing::run::<LmxLog>(&data, &cfg, 1), whole);
    for split in line_starts(&data) {
        assert_eq!(
            testing::run_split::<LmxLog>(&data, &cfg, 64 * 1024, split),
            whole,
            "split at byte {split}"
        );
    }
}

#[test]
fn other_formats_sniff_low() {
    let Some(dir) = testing::dir_or_skip(DIR) else {
        return;
    };
    let root = dir.parent().expect("corpus root").to_path_buf();
    let mut seen = 0;
    for sub in std::fs::read_dir(&root).expect("corpus root").flatten() {
        if !sub.path().is_dir() || sub.file_name() == "lmx-log" {
            continue;
        }
        for e in std::fs::read_dir(sub.path())
            .expect("corpus folder")
            .flatten()
        {
            let data = std::fs::read(e.path()).expect("read");
            let score = LmxLog::sniff(&data[..data.len().min(4096)]);
            assert!(score < 0.5, "{}: {score}", e.path().display());
            seen += 1;
        }
    }
    assert!(seen > 50, "only {seen} files of other formats");
    println!("{seen} files of other formats sniffed below 0.5");
}

/// The fuzz target's body on every file of the corpus folder (`docs/fuzzing.md`).
#[test]
fn fuzz_body_holds_on_the_corpus() {
    testing::fuzz_import_dir::<LmxLog>(DIR);
}
