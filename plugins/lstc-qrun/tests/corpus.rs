//! Every `lstc_qrun` output of the shared corpus (`other/*lstc_qrun*`). Skips with a message
//! when the corpus is absent.
//!
//! How the expected numbers were obtained, independently of this parser (shell, on the raw
//! files): `features` = lines holding `|` minus the header, the rule and `LICENSE GROUP`
//! (`grep '|' | grep -v -e '^PROGRAM' -e '^-' -e 'LICENSE GROUP' | wc -l`); issued = the MAX
//! column and in use = the USED column (`awk '{print $(NF-4), $(NF-2)}'`), or for a `-` the
//! sum of the CPUs of the user lines under it (`grep -E '^ +[^ ]+ +[0-9]+@[^ ]+ +[0-9]+$'`,
//! `awk '{s+=$3}'`), which is also the `LICENSE GROUP` total; `checkouts` = those user lines;
//! server and error from `grep -n -e '^Using' -e ERROR`.
use lstc_qrun::LstcQrun;
use tally_plugin_sdk::testing;
use tally_plugin_sdk::testing::snapshot::{count, diags};
use tally_plugin_sdk::{DiagnosticKind, PluginError, ServerStatus, Snapshot};

/// The poll time the tests pass (2025-01-01T00:00:00Z); lstc_qrun outputs never need it.
const NOW: i64 = 1_735_689_600;

fn parse(output: &[u8]) -> Result<Snapshot, PluginError> {
    testing::check_status::<LstcQrun>(output, NOW)
}

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/corpus/other");
const MARK: &str = "lstc_qrun";

struct Facts {
    file: &'static str,
    /// (host, port, status, message)
    server: (
        &'static str,
        Option<u16>,
        ServerStatus,
        Option<&'static str>,
    ),
    features: usize,
    /// (feature, issued, in use)
    named: &'static [(&'static str, u32, u32)],
    checkouts: usize,
    /// Host of the first checkout.
    first_host: Option<&'static str>,
    malformed: usize,
}

const BUSY: &[(&str, u32, u32)] = &[
    ("MPPDYNA", 500, 440),
    ("MPPDYNA_971", 500, 0),
    ("LS-DYNA", 500, 0),
    ("LS-DYNA_960", 500, 0),
];
const DOWN: (&str, Option<u16>, ServerStatus, Option<&str>) = (
    "localhost",
    Some(31010),
    ServerStatus::Down,
    Some("failed to open server localhost"),
);
const UP: (&str, Option<u16>, ServerStatus, Option<&str>) =
    ("licserv0004.com", Some(31010), ServerStatus::Up, None);

#[rustfmt::skip]
const FACTS: &[Facts] = &[
    Facts { file: "license_manager_omnivector__lsdyna_lstc_qrun.txt", server: UP,
            features: 8, named: BUSY, checkouts: 6, first_host: Some("n-c13.com"), malformed: 0 },
    Facts { file: "license_manager_omnivector__lsdyna_lstc_qrun_2024_fqdn.txt", server: UP,
            features: 8, named: BUSY, checkouts: 6, first_host: Some("n-c13.maas.rnd.com"), malformed: 0 },
    Facts { file: "license_manager_omnivector__lsdyna_lstc_qrun_bad.txt", server: DOWN,
            features: 0, named: &[], checkouts: 0, first_host: None, malformed: 0 },
    Facts { file: "license_manager_omnivector__lsdyna_lstc_qrun_bad_2022_trailing_tabs.txt", server: DOWN,
            features: 0, named: &[], checkouts: 0, first_host: None, malformed: 0 },
    Facts { file: "license_manager_omnivector__lsdyna_lstc_qrun_no_licenses.txt", server: UP,
            features: 8, named: &[("MPPDYNA", 500, 0), ("MPPDYNA_970", 500, 0), ("LS-DYNA_960", 500, 0)],
            checkouts: 0, first_host: None, malformed: 0 },
];

#[test]
fn every_lstc_output_has_expectations() {
    let Some(dir) = testing::dir_or_skip(DIR) else {
        return;
    };
    let files: Vec<String> = testing::file_names(&dir)
        .into_iter()
        .filter(|n| n.contains(MARK))
        .collect();
    let known: Vec<&str> = FACTS.iter().map(|f| f.file).collect();
    assert_eq!(
        files, known,
        "an lstc_qrun output without expectations (or one gone)"
    );
}

#[test]
fn corpus_facts() {
    let Some(dir) = testing::dir_or_skip(DIR) else {
        return;
    };
    for f in FACTS {
        let data = std::fs::read(dir.join(f.file)).unwrap_or_else(|e| panic!("{}: {e}", f.file));
        let s = parse(&data).unwrap_or_else(|e| panic!("{}: {e}", f.file));
        assert_eq!(s.servers.len(), 1, "{}", f.file);
        let v = &s.servers[0];
        assert_eq!(
            (v.host.as_str(), v.port, v.status, v.message.as_deref()),
            f.server,
            "{}",
            f.file
        );
        assert_eq!(s.features.len(), f.features, "{}", f.file);
        for &(name, issued, in_use) in f.named {
            let got: Vec<_> = s.features.iter().filter(|x| x.name == name).collect();
            assert_eq!(got.len(), 1, "{}: {name}", f.file);
            assert_eq!(
                (got[0].issued, got[0].in_use),
                (Some(issued), in_use),
                "{}: {name}",
                f.file
            );
        }
        assert_eq!(s.checkouts.len(), f.checkouts, "{}", f.file);
        assert_eq!(
            s.checkouts.first().map(|c| c.host.as_str()),
            f.first_host,
            "{}",
            f.file
        );
        assert!(
            s.checkouts.iter().all(|c| c.feature == "MPPDYNA"),
            "{}",
            f.file
        );
        assert!(s.queued.is_empty(), "{}", f.file);
        assert_eq!(
            count(&s, DiagnosticKind::Malformed),
            f.malformed,
            "{}",
            f.file
        );
        assert!(s.diagnostics.is_empty(), "{}: {:?}", f.file, diags(&s));
    }
}

/// The fuzz target's body on every file of the corpus folder (other formats included).
#[test]
fn fuzz_body_holds_on_every_corpus_file() {
    testing::fuzz_status_dir::<LstcQrun>(DIR);
}
