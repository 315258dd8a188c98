//! Every `lmxendutil -licstat` output of the shared corpus (`lmx-status/`). Skips with a
//! message when the corpus is absent; fails when a file appears that has no facts here.
//!
//! How the expected numbers were obtained, by reading the files, not from this parser:
//! * servers: the `LM-X License Server on <port>@<host>:` lines; the two error outputs
//!   (`Cannot connect to server.`, `There are no license server(s) available.`) name no host.
//! * features: `grep -c '^Feature:'`; issued / in use: the `<used> of <total> license(s) used`
//!   line of the named feature.
//! * checkouts: `grep -c 'license(s) used by'`; units: the sum of the numbers opening those
//!   lines (`grep -o '^[0-9]* license(s) used by' | awk`).
//! * diagnostics: no line is damaged.
use lmx_status::LmxStatus;
use tally_plugin_sdk::testing;
use tally_plugin_sdk::testing::snapshot::count;
use tally_plugin_sdk::{DiagnosticKind, ServerStatus};

const DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/corpus/lmx-status"
);

struct Facts {
    file: &'static str,
    /// `host:port` and status of each server.
    servers: &'static [(&'static str, ServerStatus)],
    features: usize,
    /// (feature, vendor, issued, in use)
    named: &'static [(&'static str, &'static str, u32, u32)],
    checkouts: usize,
    units: u32,
    malformed: usize,
    unrecognised: usize,
}

use ServerStatus::{Down, Up};

#[rustfmt::skip]
const FACTS: &[Facts] = &[
    Facts { file: "license_manager_omnivector__lmx_cannot_connect.txt",
            servers: &[(":", Down)], features: 0, named: &[], checkouts: 0, units: 0, malformed: 0, unrecognised: 0 },
    Facts { file: "license_manager_omnivector__lmx_licstat_2_femfat.txt",
            servers: &[("licserv0003.scom:6300", Up)], features: 1,
            named: &[("FEMFAT_VISUALIZER", "abc", 2, 2)],
            checkouts: 2, units: 2, malformed: 0, unrecognised: 0 },
    Facts { file: "license_manager_omnivector__lmx_licstat_altair_trailing_spaces.txt",
            servers: &[("licserv0013.com:6200", Up)], features: 7,
            named: &[("CatiaV5Reader", "ALTAIR", 3, 0), ("GlobalZoneEU", "ALTAIR", 1_000_003, 40_000),
                     ("HWFlux2D", "ALTAIR", 2_147_483_647, 30_000), ("HyperWorks", "ALTAIR", 1_000_000, 25_000)],
            checkouts: 5, units: 95_000, malformed: 0, unrecognised: 0 },
    Facts { file: "license_manager_omnivector__lmx_licstat_no_licenses.txt",
            servers: &[("licserv0013.com:6200", Up)], features: 7,
            named: &[("GlobalZoneEU", "ALTAIR", 1_000_003, 0), ("HWAWPF", "ALTAIR", 2_147_483_647, 0)],
            checkouts: 0, units: 0, malformed: 0, unrecognised: 0 },
    Facts { file: "license_manager_omnivector__lmx_licstat_no_servers.txt",
            servers: &[(":", Down)], features: 0, named: &[], checkouts: 0, units: 0, malformed: 0, unrecognised: 0 },
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
        let s =
            testing::check_status::<LmxStatus>(&data, 0).unwrap_or_else(|e| panic!("{name}: {e}"));

        let got: Vec<(String, ServerStatus)> = s
            .servers
            .iter()
            .map(|v| {
                let port = v.port.map_or(String::new(), |p| p.to_string());
                (format!("{}:{port}", v.host), v.status)
            })
            .collect();
        let want: Vec<(String, ServerStatus)> = f
            .servers
            .iter()
            .map(|(h, st)| (h.to_string(), *st))
            .collect();
        assert_eq!(got, want, "{name}: servers");
        assert!(
            s.servers
                .iter()
                .all(|v| v.status == Up || v.message.is_some()),
            "{name}: a down server says why"
        );

        assert_eq!(s.features.len(), f.features, "{name}: features");
        for &(feature, vendor, issued, in_use) in f.named {
            let x = s
                .features
                .iter()
                .find(|x| x.name == feature)
                .unwrap_or_else(|| panic!("{name}: no feature {feature}"));
            assert_eq!(
                (x.vendor.as_str(), x.issued, x.in_use),
                (vendor, Some(issued), in_use),
                "{name}: {feature}"
            );
        }
        assert!(
            s.features.iter().all(|x| x.expiry.is_some()),
            "{name}: every feature shows its expiry"
        );

        assert_eq!(s.checkouts.len(), f.checkouts, "{name}: checkouts");
        assert_eq!(
            s.checkouts.iter().map(|c| c.count).sum::<u32>(),
            f.units,
            "{name}: checked-out units"
        );
        assert!(
            s.checkouts.iter().all(|c| c.start.is_some()),
            "{name}: every checkout has its time"
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
    testing::fuzz_status_dir::<LmxStatus>(DIR);
}
