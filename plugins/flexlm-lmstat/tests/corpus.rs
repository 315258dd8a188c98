//! Every `lmutil lmstat` output of the shared corpus. Skips with a message when the corpus is
//! absent; fails when a file appears there without expectations here.
//!
//! How the expected numbers were obtained, independently of this parser (awk and grep on the
//! files, one trailing `\r` per line stripped):
//! * `servers`: the `port@host` entries of `License server status:` lines, each with the state
//!   of its `<host>: license server UP` / `<host>: Cannot connect …` line (the two case
//!   variants of `BVS15004` in `…server_up_win` name one entry); for the two whole-output
//!   errors, the `-c port@host` of the echoed command or nothing.
//! * `daemons`: `grep -E '^\s*[^ ]+: UP( v|$)' | grep -v 'license server'`.
//! * `features`: lines matching `^ *Users of [^ ]+:  \(.*\)$`, plus, per such block with n > 1
//!   pool headers (`^[ \t]*"[^"]+" v`), n − 1; for `lmstat -i`, the table's data rows.
//! * `named`: the `Users of` totals read by eye; per pool (`name|pool|issued|in use`), an awk
//!   sum over each header's user lines (`, N licenses` or 1) and `N RESERVATION` lines, the
//!   first pool taking the rest of the feature's total (it also carries all of `issued`).
//! * `checkouts`: lines matching `\(v[^)]*\) \([^ ]+/[^ ]+ [^)]+\), start `; `queued`:
//!   `\) queued for `; `reservations`: `RESERVATION`; `lingering`: `(linger:` (all of them a
//!   day or more, or `N / M`, hence borrowed).
//! * diagnostics: the `...` lines of the elided samples (Unrecognised), the cut last lines of
//!   the two TRUNCATED files, and the Assumptions listed beside each file.
mod common;

use common::*;
use flexlm_lmstat::FlexlmLmstat;
use tally_plugin_sdk::civil::DAY;
use tally_plugin_sdk::testing::snapshot::count;
use tally_plugin_sdk::testing::{self, strs};
use tally_plugin_sdk::{DiagnosticKind, Snapshot};

const DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/corpus/flexlm-lmstat"
);

struct Facts {
    file: &'static str,
    /// The poll time: the status line's (read as UTC), else a date of the sample's era.
    now: (i64, u32, u32, i64, i64),
    /// `host|port|status`.
    servers: &'static [&'static str],
    daemons: &'static [&'static str],
    features: usize,
    /// `name|pool|issued|in_use`.
    named: &'static [&'static str],
    checkouts: usize,
    queued: usize,
    reservations: usize,
    lingering: usize,
    malformed: usize,
    unrecognised: usize,
    assumptions: usize,
}

const NONE: &[&str] = &[];

#[rustfmt::skip]
const FACTS: &[Facts] = &[
    Facts { file: "arctic_monitor__arcgis_lmstat.txt", now: (2019, 7, 12, 11, 3),
            servers: &["myserver-GIS|27000|Up"], daemons: &["ARCGIS"], features: 11,
            named: &["ACT|-|1|0", "ARC/INFO|-|6|2", "VBA|-|4|1"],
            checkouts: 3, queued: 0, reservations: 0, lingering: 0, malformed: 0, unrecognised: 0, assumptions: 0 },
    // Assumptions: the anonymised `"feature0"` header under `Users of feature1`, and the
    // `John Doe …` / `Jane Doe Jr. …` lines whose split is a guess.
    Facts { file: "flexlm_exporter__lmstat_app1.txt", now: (2017, 10, 20, 17, 2),
            servers: &["host-1.domain.net|27002|Up", "host2.domain.net|27002|Up", "host3.domain.net|27002|Up"],
            daemons: &["VENDOR1"], features: 54,
            named: &["feature1|-|1814|1206", "feature100|-|10|2", "feature31|-|1814|299"],
            // Assumptions: 3, plus 7 starts whose printed weekday no year near the status date
            // (Fri 10/20/2017) agrees with (a Python pass: `%a` of M/D in 2017 or 2016).
            checkouts: 127, queued: 2, reservations: 332, lingering: 2, malformed: 0, unrecognised: 0, assumptions: 10 },
    Facts { file: "flexlm_exporter__lmstat_app2.txt", now: (2017, 10, 20, 17, 2),
            servers: &["host1|28000|Up", "host2|28000|Up", "host3|28000|Up"], daemons: &["vendor1"], features: 10,
            named: &["feature1|-|144|0", "feature2|-|144|22"],
            checkouts: 38, queued: 0, reservations: 0, lingering: 0, malformed: 0, unrecognised: 0, assumptions: 0 },
    Facts { file: "flexlm_exporter__lmstat_app3.txt", now: (2017, 10, 20, 17, 2),
            servers: &["host1|1999|Up", "host2|1999|Up", "host3|1999|Up"], daemons: &["daemon1", "DAEMON2"], features: 46,
            named: &["feature1|-|2|0", "feature7|-|600|163"],
            checkouts: 168, queued: 0, reservations: 0, lingering: 0, malformed: 0, unrecognised: 0, assumptions: 0 },
    // Assumptions: the two `(Error: 1 licenses, unsupported by licensed server)` features.
    Facts { file: "flexlm_exporter__lmstat_app4_comsol_windows.txt", now: (2025, 4, 22, 11, 8),
            servers: &["licensevm.domain.example|-|Up"], daemons: &["LMCOMSOL"], features: 60,
            named: &["ACDC|-|2|1", "SERIAL|-|-|1", "SUBSURFACEFLOW|-|0|0"],
            checkouts: 5, queued: 0, reservations: 0, lingering: 0, malformed: 0, unrecognised: 0, assumptions: 2 },
    Facts { file: "flexlm_exporter__lmstat_app5_matlab.txt", now: (2025, 2, 10, 11, 26),
            servers: &["host.example.com|27004|Up"], daemons: &["MLM"], features: 122,
            named: &["MATLAB|-|10000|61", "RoadRunner|-|-|0"],
            checkouts: 85, queued: 0, reservations: 0, lingering: 0, malformed: 0, unrecognised: 0, assumptions: 0 },
    Facts { file: "flexlm_exporter__lmstat_app6_matlab_blanklines.txt", now: (2026, 3, 16, 12, 16),
            servers: &["SERVER1|1713|Up"], daemons: &["MLM"], features: 62,
            named: &["MATLAB|1|420|1", "MATLAB|2|0|49", "MATLAB|3|0|10", "SIMULINK|2|0|30"],
            checkouts: 106, queued: 0, reservations: 6, lingering: 0, malformed: 0, unrecognised: 0, assumptions: 0 },
    Facts { file: "flexlm_exporter__lmstat_app7_synopsys.txt", now: (2026, 9, 25, 12, 15),
            servers: &["SERVER1|27020|Up"], daemons: &["snpslmd"], features: 3,
            named: &["DC-Expert|-|5|1", "TCM-1-Apex-Pkg|-|4|2"],
            checkouts: 5, queued: 0, reservations: 0, lingering: 0, malformed: 0, unrecognised: 0, assumptions: 0 },
    // One feature only.
    Facts { file: "flexlm_exporter__lmstat_app8_siemens_saltd.txt", now: (2026, 9, 25, 11, 44),
            servers: &["SERVER1|1717|Up"], daemons: &["saltd"], features: 1,
            named: &["msimhdlsim|-|125|4"],
            checkouts: 4, queued: 0, reservations: 0, lingering: 0, malformed: 0, unrecognised: 0, assumptions: 0 },
    Facts { file: "flexlm_exporter__lmstat_i_app1.txt", now: (2018, 6, 1, 0, 0),
            servers: NONE, daemons: NONE, features: 17,
            named: &["feature12|1|50|0", "feature12|2|2|0", "feature7|-|600|0"],
            checkouts: 0, queued: 0, reservations: 0, lingering: 0, malformed: 0, unrecognised: 0, assumptions: 0 },
    Facts { file: "flexlm_exporter__lmstat_i_app2.txt", now: (2020, 1, 1, 0, 0),
            servers: NONE, daemons: NONE, features: 9,
            named: &["feature_name_9|-|2|0", "FEATURE_NAME_5|-|1|0"],
            checkouts: 0, queued: 0, reservations: 0, lingering: 0, malformed: 0, unrecognised: 0, assumptions: 0 },
    Facts { file: "flexlm_exporter__lmstat_server_down.txt", now: (2017, 11, 23, 15, 8),
            servers: &["host1|28000|Up", "host2|28000|Up", "host3|28000|Down"], daemons: &["daemon"], features: 2,
            named: &["feature1|-|144|0", "feature2|-|144|39"],
            checkouts: 0, queued: 0, reservations: 0, lingering: 0, malformed: 0, unrecognised: 0, assumptions: 0 },
    Facts { file: "flexlm_exporter__lmstat_server_up_win.txt", now: (2018, 5, 15, 13, 41),
            servers: &["BVS15004|7788|Up"], daemons: &["ptc_d"], features: 0, named: NONE,
            checkouts: 0, queued: 0, reservations: 0, lingering: 0, malformed: 0, unrecognised: 0, assumptions: 0 },
    // `lmstat -v`: the banner and the version, nothing else.
    Facts { file: "flexlm_exporter__lmstat_version_new.txt", now: (2016, 6, 1, 0, 0),
            servers: NONE, daemons: NONE, features: 0, named: NONE,
            checkouts: 0, queued: 0, reservations: 0, lingering: 0, malformed: 0, unrecognised: 0, assumptions: 0 },
    Facts { file: "flexlm_exporter__lmstat_version_old.txt", now: (2005, 6, 1, 0, 0),
            servers: NONE, daemons: NONE, features: 0, named: NONE,
            checkouts: 0, queued: 0, reservations: 0, lingering: 0, malformed: 0, unrecognised: 0, assumptions: 0 },
    Facts { file: "flexlm_python_scripts__features_summary_anonymised.txt", now: (2021, 7, 26, 8, 10),
            servers: &["lic-server|1234|Up"], daemons: &["complic"], features: 5,
            named: &["feat2|-|5|1", "feat_opt|-|1|1"],
            checkouts: 0, queued: 0, reservations: 0, lingering: 0, malformed: 0, unrecognised: 0, assumptions: 0 },
    Facts { file: "flexlm_reporter__umich_matlab_lmstat.out", now: (2017, 7, 4, 8, 31),
            servers: &["flux-license1.miserver.it.umich.edu|1709|Up"], daemons: &["MLM"], features: 51,
            named: &["MATLAB_Distrib_Comp_Engine|-|600|48", "MATLAB|-|10000|107"],
            checkouts: 375, queued: 0, reservations: 0, lingering: 0, malformed: 0, unrecognised: 0, assumptions: 0 },
    // A fragment: no banner, no server, no daemon section.
    Facts { file: "flexlm_stat_json__autodesk_fragment_numeric_users.txt", now: (2020, 10, 15, 15, 45),
            servers: NONE, daemons: NONE, features: 3,
            named: &["87089AMECH_PP_2019_0F|-|240|0", "86839AMECH_PP_2018_0F|-|240|2"],
            checkouts: 2, queued: 0, reservations: 0, lingering: 1, malformed: 0, unrecognised: 0, assumptions: 0 },
    Facts { file: "flexlm_stat_json__autodesk_mapinfo_two_servers.txt", now: (2020, 10, 15, 15, 45),
            servers: &["iss.samba.gazpromproject.ru|27000|Up", "iss.samba.gazpromproject.ru|27002|Up"],
            daemons: &["adskflex", "unisw20"], features: 3,
            named: &["86815AECCOL_T_F|-|240|7", "MapInfo_License_Server|-|1|0"],
            checkouts: 2, queued: 0, reservations: 0, lingering: 1, malformed: 0, unrecognised: 0, assumptions: 0 },
    // Cut inside `  floating lic`: that last line is Unrecognised. One feature only.
    Facts { file: "issue_flexlm_exporter_60__dvtlmd_triad_TRUNCATED.txt", now: (2023, 8, 20, 12, 25),
            servers: &["mxxxx2|27096|Up", "mxxxx2-xxx01|27096|Up", "mxxxx2-xx02|27096|Up"], daemons: &["dvtlmd"], features: 1,
            named: &["dvt_e|-|10|10"],
            checkouts: 0, queued: 0, reservations: 0, lingering: 0, malformed: 0, unrecognised: 1, assumptions: 0 },
    // Cut inside `Users of CETIM-COBRA-DAT…`: that last line is Malformed.
    Facts { file: "issue_flexlm_exporter_6__cetim_combined_TRUNCATED.txt", now: (2018, 5, 15, 13, 25),
            servers: &["BVS15004|27000|Up"], daemons: &["cetim"], features: 4,
            named: &["CETIM-COBRA|-|1|0", "CETIM-COBRA-NFE250302|-|1|0"],
            checkouts: 0, queued: 0, reservations: 0, lingering: 0, malformed: 1, unrecognised: 0, assumptions: 0 },
    Facts { file: "issue_phplicensewatcher_187__arm_cannot_read_data.txt", now: (2025, 11, 11, 16, 3),
            servers: &["x.x.x.x|8224|Down"], daemons: NONE, features: 0, named: NONE,
            checkouts: 0, queued: 0, reservations: 0, lingering: 0, malformed: 0, unrecognised: 0, assumptions: 0 },
    // The omnivector samples are elided by hand: each `...` line is Unrecognised. One feature each.
    Facts { file: "license_manager_omnivector__flexlm_output_2_feature_eq.txt", now: (2024, 7, 3, 14, 36),
            servers: NONE, daemons: NONE, features: 1, named: &["TEST_FEATURE|-|42800|1600"],
            checkouts: 3, queued: 0, reservations: 0, lingering: 0, malformed: 0, unrecognised: 2, assumptions: 0 },
    Facts { file: "license_manager_omnivector__flexlm_output_3_two_pools.txt", now: (2024, 7, 3, 14, 36),
            servers: NONE, daemons: NONE, features: 2, named: &["ccmppower|1|40|1", "ccmppower|2|0|2"],
            checkouts: 3, queued: 0, reservations: 0, lingering: 0, malformed: 0, unrecognised: 2, assumptions: 0 },
    Facts { file: "license_manager_omnivector__flexlm_output_4_mscone.txt", now: (2024, 7, 3, 14, 36),
            servers: NONE, daemons: NONE, features: 1, named: &["MSCONE|-|750|18"],
            checkouts: 6, queued: 0, reservations: 0, lingering: 0, malformed: 0, unrecognised: 2, assumptions: 0 },
    Facts { file: "license_manager_omnivector__flexlm_output_5_single_license.txt", now: (2024, 7, 3, 14, 36),
            servers: NONE, daemons: NONE, features: 1, named: &["ADAMSTK_GG_Solver|-|6|1"],
            checkouts: 1, queued: 0, reservations: 0, lingering: 0, malformed: 0, unrecognised: 2, assumptions: 0 },
    Facts { file: "license_manager_omnivector__flexlm_output_abaqus_like.txt", now: (2024, 7, 3, 14, 36),
            servers: NONE, daemons: NONE, features: 1, named: &["TESTFEATURE|-|1000|93"],
            checkouts: 3, queued: 0, reservations: 0, lingering: 0, malformed: 0, unrecognised: 2, assumptions: 0 },
    // No server is named anywhere: the host knows whom it asked.
    Facts { file: "license_manager_omnivector__flexlm_output_bad_cannot_connect.txt", now: (2021, 3, 31, 9, 12),
            servers: &["|-|Down"], daemons: NONE, features: 0, named: NONE,
            checkouts: 0, queued: 0, reservations: 0, lingering: 0, malformed: 0, unrecognised: 0, assumptions: 0 },
    Facts { file: "license_manager_omnivector__flexlm_output_no_licenses.txt", now: (2024, 7, 3, 14, 36),
            servers: NONE, daemons: NONE, features: 1, named: &["TESTFEATURE|-|1000|0"],
            checkouts: 0, queued: 0, reservations: 0, lingering: 0, malformed: 0, unrecognised: 2, assumptions: 0 },
    Facts { file: "license_manager_omnivector__lm_output_2021_irregular_indent.txt", now: (2024, 7, 3, 14, 36),
            servers: NONE, daemons: NONE, features: 1, named: &["abaqus|-|1000|93"],
            checkouts: 3, queued: 0, reservations: 0, lingering: 0, malformed: 0, unrecognised: 2, assumptions: 0 },
    Facts { file: "lmstat_log_parser__ixia_ixialm.txt", now: (2018, 9, 24, 5, 52),
            servers: &["license-server-17|27000|Up"], daemons: &["ixialm"], features: 19,
            named: &["ixchariot_fs|1|186|13", "ixchariot_fs|4|0|16", "chr_pairs_fs|-|5000|2020",
                     "ixchariot_blank|-|2147483646|0", "IXFEATURE|-|-|0"],
            checkouts: 323, queued: 0, reservations: 0, lingering: 185, malformed: 0, unrecognised: 0, assumptions: 0 },
    Facts { file: "mstat__matlab_noaa_2015-02-02.txt", now: (2015, 2, 2, 17, 15),
            servers: &["ocs-s-lnxapp01.nos.noaa|27000|Up"], daemons: &["MLM"], features: 2,
            named: &["MATLAB|-|3|3", "Signal_Toolbox|-|2|1"],
            checkouts: 4, queued: 0, reservations: 0, lingering: 0, malformed: 0, unrecognised: 0, assumptions: 0 },
    Facts { file: "mstat__matlab_noaa_2015-02-03.txt", now: (2015, 2, 3, 16, 42),
            servers: &["ocs-s-lnxapp01.nos.noaa|27000|Up"], daemons: &["MLM"], features: 3,
            named: &["MATLAB|-|3|3", "Statistics_Toolbox|-|2|0"],
            checkouts: 3, queued: 0, reservations: 0, lingering: 0, malformed: 0, unrecognised: 0, assumptions: 0 },
];

/// `name|pool|issued|in_use` of every feature.
fn named(s: &Snapshot) -> Vec<String> {
    s.features
        .iter()
        .map(|f| {
            let opt = |v: Option<String>| v.unwrap_or_else(|| "-".into());
            format!(
                "{}|{}|{}|{}",
                f.name,
                opt(f.pool.clone()),
                opt(f.issued.map(|n| n.to_string())),
                f.in_use
            )
        })
        .collect()
}

#[test]
fn every_corpus_file_has_expectations() {
    let Some(dir) = testing::dir_or_skip(DIR) else {
        return;
    };
    let files = testing::file_names(&dir);
    let known: Vec<String> = FACTS.iter().map(|f| f.file.to_string()).collect();
    assert_eq!(
        files, known,
        "a corpus file without expectations (or one gone)"
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
        let (y, m, d, h, min) = f.now;
        let now = at(y, m, d, h, min);
        let s = parse(&data, now);
        let got: Vec<String> = s
            .servers
            .iter()
            .map(|x| {
                let port = x.port.map_or("-".into(), |p| p.to_string());
                format!("{}|{port}|{:?}", x.host, x.status)
            })
            .collect();
        assert_eq!(got, strs(f.servers), "{name}: servers");
        let daemons: Vec<&str> = s
            .servers
            .iter()
            .flat_map(|x| &x.vendor_daemons)
            .map(|d| d.name.as_str())
            .collect();
        assert_eq!(daemons, f.daemons, "{name}: daemons");
        assert_eq!(s.features.len(), f.features, "{name}: features");
        let all = named(&s);
        for want in f.named {
            assert!(
                all.iter().any(|g| g == want),
                "{name}: no {want} in {all:?}"
            );
        }
        assert_eq!(s.checkouts.len(), f.checkouts, "{name}: checkouts");
        assert_eq!(s.queued.len(), f.queued, "{name}: queued");
        let reserved: u32 = s.reservations.iter().map(|r| r.count).sum();
        let reservation_lines = s.reservations.len();
        assert_eq!(
            reservation_lines, f.reservations,
            "{name}: reservations ({reserved} licenses)"
        );
        let lingering = s.checkouts.iter().filter(|c| c.linger.is_some()).count();
        assert_eq!(lingering, f.lingering, "{name}: lingering");
        let borrowed = s.checkouts.iter().filter(|c| c.borrowed).count();
        assert_eq!(borrowed, f.lingering, "{name}: borrowed");
        // Every start in the corpus is readable and lies before the poll (plus the zone's day):
        // within a year of an output's own date; in an undated output, in the latest year whose
        // calendar has the printed weekday.
        let dated = data.windows(10).any(|w| w == b"status on ");
        let back = if dated { 400 * DAY } else { 29 * 366 * DAY };
        for c in &s.checkouts {
            let start = c
                .start
                .unwrap_or_else(|| panic!("{name}: no start for {c:?}"));
            assert!(start <= now + DAY && start > now - back, "{name}: {c:?}");
        }
        let diag = |k| count(&s, k);
        assert_eq!(
            diag(DiagnosticKind::Malformed),
            f.malformed,
            "{name}: malformed {:?}",
            s.diagnostics
        );
        assert_eq!(
            diag(DiagnosticKind::Unrecognised),
            f.unrecognised,
            "{name}: unrecognised {:?}",
            s.diagnostics
        );
        assert_eq!(
            diag(DiagnosticKind::Assumption),
            f.assumptions,
            "{name}: assumptions {:?}",
            s.diagnostics
        );
    }
}

/// The features' in-use counts add up to lmstat's own totals, pools included (a name listed
/// twice, like `feature42` in `…app1`, adds up over both).
#[test]
fn pools_sum_to_the_feature_totals() {
    let Some(dir) = testing::dir_or_skip(DIR) else {
        return;
    };
    for f in FACTS {
        let data = std::fs::read(dir.join(f.file)).expect("corpus file");
        let text = String::from_utf8_lossy(&data);
        let mut totals = std::collections::BTreeMap::<&str, u32>::new();
        for l in text.lines().map(str::trim) {
            let Some(rest) = l.strip_prefix("Users of ") else {
                continue;
            };
            let Some((name, counts)) = rest.split_once(":  (Total of ") else {
                continue;
            };
            let in_use: u32 = counts
                .split("Total of ")
                .nth(1)
                .and_then(|t| t.split(' ').next())
                .and_then(|n| n.parse().ok())
                .expect("in use");
            *totals.entry(name).or_default() += in_use;
        }
        let (y, m, d, h, min) = f.now;
        let s = parse(&data, at(y, m, d, h, min));
        for (name, in_use) in totals {
            let sum: u32 = s
                .features
                .iter()
                .filter(|x| x.name == name)
                .map(|x| x.in_use)
                .sum();
            assert_eq!(sum, in_use, "{}: {name}", f.file);
        }
    }
}

/// The fuzz target's body on every file of the corpus folder (other formats included).
#[test]
fn fuzz_body_holds_on_every_corpus_file() {
    testing::fuzz_status_dir::<FlexlmLmstat>(DIR);
}
