//! Every `DSLicSrv -admin` status output of the shared corpus (`dsls/license_manager_omnivector__dsls_*`;
//! the LicenseServer log and the cloud JSON there are the `dsls-log` importer's). Skips with a
//! message when the corpus is absent.
//!
//! How the expected numbers were obtained, independently of this parser (shell, on the raw
//! files): `rows` = `grep -c '^Dassault'`; `features` = those rows' first 12 columns,
//! `cut -d, -f1-12 | sort -u | wc -l` (a feature's pool repeats once per user); `checkouts` =
//! rows whose User column (17) is not empty, `awk -F, '$17!=""'`; issued/in use of named
//! features and tokens per user read off columns 12, 13 and 14 by eye; server name and
//! version from `grep -n -e 'version:' -e 'Server name'`.
use dsls_status::DslsStatus;
use tally_plugin_sdk::testing;
use tally_plugin_sdk::testing::snapshot::{count, diags};
use tally_plugin_sdk::{DiagnosticKind, PluginError, ServerStatus, Snapshot};

/// The poll time the tests pass (2025-01-01T00:00:00Z); DSLS outputs never need it.
const NOW: i64 = 1_735_689_600;

fn parse(output: &[u8]) -> Result<Snapshot, PluginError> {
    testing::check_status::<DslsStatus>(output, NOW)
}

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/corpus/dsls");
const PREFIX: &str = "license_manager_omnivector__dsls_";

struct Facts {
    file: &'static str,
    /// (host, port, status, version)
    server: (
        &'static str,
        Option<u16>,
        ServerStatus,
        Option<&'static str>,
    ),
    message: Option<&'static str>,
    features: usize,
    /// (feature, issued, in use)
    named: &'static [(&'static str, u32, u32)],
    checkouts: usize,
    /// Tokens of each checkout, in order.
    tokens: &'static [u32],
    malformed: usize,
}

#[rustfmt::skip]
const FACTS: &[Facts] = &[
    Facts { file: "license_manager_omnivector__dsls_bad_cannot_connect.txt",
            server: ("localhost", Some(1234), ServerStatus::Down, None),
            message: Some("Cannot connect to server localhost on port 1234"),
            features: 0, named: &[], checkouts: 0, tokens: &[], malformed: 0 },
    Facts { file: "license_manager_omnivector__dsls_getLicenseUsage_csv.txt",
            server: ("localhost", None, ServerStatus::Up, Some("6.425.4")), message: None,
            features: 10, named: &[("PAC", 1, 0), ("PV6", 7, 0), ("PW7", 2000, 2), ("PW8", 2000, 0), ("SRU", 2374, 1559)],
            checkouts: 4, tokens: &[2, 493, 533, 533], malformed: 0 },
    Facts { file: "license_manager_omnivector__dsls_no_licenses.txt",
            server: ("localhost", None, ServerStatus::Up, Some("6.425.4")), message: None,
            features: 10, named: &[("PAC", 1, 0), ("PW7", 2000, 0), ("SRU", 2374, 0)],
            checkouts: 0, tokens: &[], malformed: 0 },
    Facts { file: "license_manager_omnivector__dsls_with_warning.txt",
            server: ("localhost", None, ServerStatus::Up, Some("6.425.4")),
            message: Some("Warning: restricted connection, some operations are not permitted; due to an existing connection in full access from localhost(127.0.0.1)"),
            features: 22, named: &[("PD8", 10_000, 0), ("PW7", 2000, 0), ("SRU", 2374, 493)],
            checkouts: 1, tokens: &[493], malformed: 0 },
];

#[test]
fn every_status_output_has_expectations() {
    let Some(dir) = testing::dir_or_skip(DIR) else {
        return;
    };
    let files: Vec<String> = testing::file_names(&dir)
        .into_iter()
        .filter(|n| n.starts_with(PREFIX))
        .collect();
    let known: Vec<&str> = FACTS.iter().map(|f| f.file).collect();
    assert_eq!(
        files, known,
        "a DSLS status output without expectations (or one gone)"
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
        let (host, port, status, version) = f.server;
        assert_eq!(
            (v.host.as_str(), v.port, v.status, v.version.as_deref()),
            (host, port, status, version),
            "{}",
            f.file
        );
        assert_eq!(v.message.as_deref(), f.message, "{}", f.file);
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
        let tokens: Vec<u32> = s.checkouts.iter().map(|c| c.count).collect();
        assert_eq!(tokens, f.tokens, "{}", f.file);
        assert_eq!(
            count(&s, DiagnosticKind::Malformed),
            f.malformed,
            "{}",
            f.file
        );
        assert!(s.diagnostics.is_empty(), "{}: {:?}", f.file, diags(&s));
        // Every pool has one row per feature name here: no pool names needed.
        assert!(s.features.iter().all(|x| x.pool.is_none()), "{}", f.file);
        // The tokens held add up to what the table says is in use.
        for x in &s.features {
            let held: u32 = s
                .checkouts
                .iter()
                .filter(|c| c.feature == x.name)
                .map(|c| c.count)
                .sum();
            assert_eq!(held, x.in_use, "{}: {}", f.file, x.name);
        }
    }
}

#[test]
fn the_importer_files_are_not_status_outputs() {
    let Some(dir) = testing::dir_or_skip(DIR) else {
        return;
    };
    for file in [
        "licenselogs__dsls_LicenseServer_log_2025-08.log",
        "licenselogs__dsls_cloud_getlogs.json",
    ] {
        let data = std::fs::read(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(parse(&data).is_err(), "{file}");
    }
}

/// The fuzz target's body on every file of the corpus folder (other formats included).
#[test]
fn fuzz_body_holds_on_every_corpus_file() {
    testing::fuzz_status_dir::<DslsStatus>(DIR);
}
