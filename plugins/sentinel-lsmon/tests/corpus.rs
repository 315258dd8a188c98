//! Every `lsmon` output of the shared corpus (`sentinel-lsmon/`). Skips with a message when
//! the corpus is absent; fails when a file appears that has no facts here.
//!
//! How the expected numbers were obtained, by reading the files, not from this parser:
//! * server: the host of `[Contacting … server on host "<host>"]`; up, since it lists features.
//! * features: `grep -c '|- Feature Information'`; issued / in use: its `Maximum concurrent
//!   user(s)` and `Unreserved tokens in use` (+ `Reserved tokens in use`, 0 here) lines;
//!   expiry: its `Expiration date` line.
//! * checkouts: `grep -c '|- Client Information'`. The AVEVA sample is a test input cut short:
//!   it shows 3 clients of the 13 tokens in use, so units are not compared with in use.
//! * diagnostics: no line is damaged (3 `License Information` blocks are read and not needed).
use sentinel_lsmon::Lsmon;
use tally_plugin_sdk::civil::format_utc;
use tally_plugin_sdk::testing;
use tally_plugin_sdk::testing::snapshot::count;
use tally_plugin_sdk::{DiagnosticKind, ServerStatus};

const DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/corpus/sentinel-lsmon"
);

struct Facts {
    file: &'static str,
    /// Host and status of the one server lsmon asks.
    server: (&'static str, ServerStatus),
    features: usize,
    /// (feature, issued, in use, expiry)
    named: &'static [(&'static str, Option<u32>, u32, &'static str)],
    checkouts: usize,
    /// (user, host, start) of the first checkout, when there is one.
    first: Option<(&'static str, &'static str, &'static str)>,
    malformed: usize,
    unrecognised: usize,
}

#[rustfmt::skip]
const FACTS: &[Facts] = &[
    Facts { file: "lsmon_to_json__aveva_rms_9.1.txt",
            server: ("999385-pc.samba.gazpromproject.ru", ServerStatus::Up), features: 2,
            named: &[("ARMS_ID", Some(99_999), 0, "2022-11-19T23:59:59Z"), ("AVEVA201", Some(130), 13, "2022-11-19T23:59:59Z")],
            checkouts: 3, first: Some(("enssap", "OENS-1-8222", "2020-11-03T11:34:40Z")),
            malformed: 0, unrecognised: 0 },
];

#[test]
fn every_corpus_file_has_facts() {
    let Some(dir) = testing::dir_or_skip(DIR) else {
        return;
    };
    let files = testing::file_names(&dir);
    let known: Vec<String> = FACTS.iter().map(|f| f.file.to_string()).collect();
    assert_eq!(
        files, known,
        "a corpus file was added or removed: give it facts here"
    );
}

#[test]
fn corpus_facts() {
    let Some(dir) = testing::dir_or_skip(DIR) else {
        return;
    };
    for f in FACTS {
        let name = f.file;
        let data = std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let s = testing::check_status::<Lsmon>(&data, 0).unwrap_or_else(|e| panic!("{name}: {e}"));

        let got: Vec<(&str, ServerStatus)> = s
            .servers
            .iter()
            .map(|v| (v.host.as_str(), v.status))
            .collect();
        assert_eq!(got, vec![f.server], "{name}: servers");

        assert_eq!(s.features.len(), f.features, "{name}: features");
        for &(feature, issued, in_use, expiry) in f.named {
            let x = s
                .features
                .iter()
                .find(|x| x.name == feature)
                .unwrap_or_else(|| panic!("{name}: no feature {feature}"));
            assert_eq!(
                (x.issued, x.in_use, x.expiry.map(format_utc)),
                (issued, in_use, Some(expiry.to_string())),
                "{name}: {feature}"
            );
        }

        assert_eq!(s.checkouts.len(), f.checkouts, "{name}: checkouts");
        let first = s.checkouts.first().map(|c| {
            (
                c.user.as_str(),
                c.host.as_str(),
                c.start.map(format_utc).unwrap_or_default(),
            )
        });
        assert_eq!(
            first,
            f.first.map(|(u, h, t)| (u, h, t.to_string())),
            "{name}: first checkout"
        );
        assert_eq!(
            count(&s, DiagnosticKind::Malformed),
            f.malformed,
            "{name}: malformed"
        );
        assert_eq!(
            count(&s, DiagnosticKind::Unrecognised),
            f.unrecognised,
            "{name}: unrecognised"
        );
    }
}

/// The fuzz target's body on every file of the corpus folder (other formats included).
#[test]
fn fuzz_body_holds_on_every_corpus_file() {
    testing::fuzz_status_dir::<Lsmon>(DIR);
}
