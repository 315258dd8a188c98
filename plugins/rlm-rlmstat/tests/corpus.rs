//! Every `rlmutil rlmstat` output of the shared corpus (`rlm-rlmstat/`). Skips with a message
//! when the corpus is absent; fails when a file appears that has no facts here.
//!
//! How the expected numbers were obtained, by reading the files, not from this parser:
//! * servers: the `rlm status on <host> (port <p>)` line; without one (`-i isv` output, the
//!   elided exa fixture) the first `port@host` of `Setting license file path to`; the error
//!   output names port 5053 and an empty host. ISVs: the ISV table rows and the `<isv> …
//!   status on` headers.
//! * features: `grep -c 'count:'` (one per pool); issued / in use: the `count:` and `inuse:`
//!   values under the named pool header.
//! * checkouts: `grep -cE 'v[^ ]+: .*@.* at [0-9]{2}/[0-9]{2}'`; units: the sum of the
//!   numbers before `/0` on those lines.
//! * diagnostics: no line is damaged; the exa fixture lists 17 pools before any `<isv> license
//!   pool status` header (its head was cut), which yields the one Assumption.
use rlm_rlmstat::RlmStat;
use tally_plugin_sdk::civil::{DAY, days_from_civil};
use tally_plugin_sdk::testing;
use tally_plugin_sdk::testing::snapshot::count;
use tally_plugin_sdk::{DiagnosticKind, ServerStatus};

const DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/corpus/rlm-rlmstat"
);

struct Facts {
    file: &'static str,
    /// Poll time (UTC): the day of the output's `Recent Statistics` line when it has one.
    now: (i64, u32, u32),
    /// `host:port`, status and ISV names of each server.
    servers: &'static [(&'static str, ServerStatus, &'static [&'static str])],
    features: usize,
    /// (product, version, pool or "", issued, in use, vendor)
    named: &'static [(
        &'static str,
        &'static str,
        &'static str,
        u32,
        u32,
        &'static str,
    )],
    checkouts: usize,
    units: u32,
    malformed: usize,
    unrecognised: usize,
    assumptions: usize,
}

use ServerStatus::{Down, Up};

#[rustfmt::skip]
const FACTS: &[Facts] = &[
    Facts { file: "check_rlm__simio_rlmstat_a_i_v15.1.txt", now: (2024, 5, 20),
            servers: &[("srvdf2.uab.cat:5053", Up, &["simio"])], features: 1,
            named: &[("simio-academic", "2025.01", "1", 100, 0, "simio")],
            checkouts: 0, units: 0, malformed: 0, unrecognised: 0, assumptions: 0 },
    Facts { file: "license_manager_omnivector__rlm_output_2021_tabs_original.txt", now: (2021, 11, 3),
            servers: &[("licserv0011.scania.com:35015", Up, &["csci"])], features: 5,
            named: &[("converge_super", "3.0", "", 1000, 93, "csci"), ("converge_gui", "1.0", "", 45, 0, "csci")],
            checkouts: 3, units: 93, malformed: 0, unrecognised: 0, assumptions: 0 },
    Facts { file: "license_manager_omnivector__rlm_output_bad_error_connecting.txt", now: (2021, 11, 3),
            servers: &[(":5053", Down, &[])], features: 0, named: &[],
            checkouts: 0, units: 0, malformed: 0, unrecognised: 0, assumptions: 0 },
    Facts { file: "license_manager_omnivector__rlm_output_csci_converge.txt", now: (2021, 11, 3),
            servers: &[("licserv.com:35015", Up, &["csci"])], features: 5,
            named: &[("converge_super", "3.0", "", 1000, 93, "csci"), ("converge_tecplot", "1.0", "", 45, 0, "csci")],
            checkouts: 3, units: 93, malformed: 0, unrecognised: 0, assumptions: 0 },
    Facts { file: "license_manager_omnivector__rlm_output_exa_powerflow.txt", now: (2023, 8, 24),
            servers: &[("licserv0001.com:1234", Up, &["tainc", "exacorp"])], features: 22,
            named: &[("powercase", "1.0", "", 5, 3, "exacorp"), ("powerdelta", "1.0", "", 1, 1, "exacorp"),
                     ("powerdelta-translate2", "1.0", "", 1_000_000, 0, "exacorp"), ("powertherm-mp", "2023.1", "", 3, 0, "tainc")],
            checkouts: 4, units: 4, malformed: 0, unrecognised: 0, assumptions: 1 },
    Facts { file: "license_manager_omnivector__rlm_output_no_licenses.txt", now: (2021, 11, 8),
            servers: &[("licserv0011.com:35015", Up, &["csci"])], features: 5,
            named: &[("converge_super", "3.0", "", 1000, 0, "csci")],
            checkouts: 0, units: 0, malformed: 0, unrecognised: 0, assumptions: 0 },
    Facts { file: "license_manager_omnivector__rlm_output_no_licenses_tabs_nbsp.txt", now: (2021, 11, 8),
            servers: &[("licserv0011.com:35015", Up, &["csci"])], features: 5,
            named: &[("converge_super", "3.0", "", 1000, 0, "csci"), ("converge_gui", "1.0", "", 45, 0, "csci")],
            checkouts: 0, units: 0, malformed: 0, unrecognised: 0, assumptions: 0 },
    Facts { file: "prometheus_rlm_exporter__rlmstat_foundry_nuke.txt", now: (2024, 3, 31),
            servers: &[("RLM-SERVER.domain.domain:4101", Up, &["foundry"])], features: 12,
            named: &[("nuke_i", "2024.0701", "6", 22, 3, "foundry"), ("nuke_r", "2024.0701", "10", 16, 0, "foundry"),
                     ("nuke_r", "2024.0701", "12", 4, 0, "foundry"), ("nukex_i", "2024.0701", "8", 3, 1, "foundry")],
            checkouts: 12, units: 12, malformed: 0, unrecognised: 0, assumptions: 0 },
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
        let (y, m, d) = f.now;
        let now = days_from_civil(y, m, d) * DAY + 12 * 3600;
        let s =
            testing::check_status::<RlmStat>(&data, now).unwrap_or_else(|e| panic!("{name}: {e}"));

        let got: Vec<(String, ServerStatus, Vec<&str>)> = s
            .servers
            .iter()
            .map(|v| {
                let port = v.port.map_or(String::new(), |p| p.to_string());
                let isvs = v.vendor_daemons.iter().map(|d| d.name.as_str()).collect();
                (format!("{}:{port}", v.host), v.status, isvs)
            })
            .collect();
        let want: Vec<(String, ServerStatus, Vec<&str>)> = f
            .servers
            .iter()
            .map(|(h, st, isvs)| (h.to_string(), *st, isvs.to_vec()))
            .collect();
        assert_eq!(got, want, "{name}: servers");
        assert!(
            s.servers
                .iter()
                .all(|v| v.status == Up || v.message.is_some()),
            "{name}: a down server says why"
        );

        assert_eq!(s.features.len(), f.features, "{name}: features");
        for &(product, version, pool, issued, in_use, vendor) in f.named {
            let matching: Vec<_> = s
                .features
                .iter()
                .filter(|x| {
                    x.name == product
                        && x.version.as_deref() == Some(version)
                        && x.pool.as_deref().unwrap_or("") == pool
                })
                .collect();
            assert_eq!(
                matching.len(),
                1,
                "{name}: one pool {product} v{version} {pool}"
            );
            let x = matching[0];
            assert_eq!(
                (x.issued, x.in_use, x.vendor.as_str()),
                (Some(issued), in_use, vendor),
                "{name}: {product} v{version} {pool}"
            );
        }

        assert_eq!(s.checkouts.len(), f.checkouts, "{name}: checkouts");
        assert_eq!(
            s.checkouts.iter().map(|c| c.count).sum::<u32>(),
            f.units,
            "{name}: checked-out units"
        );
        assert!(
            s.checkouts
                .iter()
                .all(|c| c.start.is_some_and(|t| t <= now)),
            "{name}: every checkout starts before the poll"
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
        assert_eq!(
            count(&s, DiagnosticKind::Assumption),
            f.assumptions,
            "{name}: assumptions"
        );
    }
}

/// The fuzz target's body on every file of the corpus folder (other formats included).
#[test]
fn fuzz_body_holds_on_every_corpus_file() {
    testing::fuzz_status_dir::<RlmStat>(DIR);
}
