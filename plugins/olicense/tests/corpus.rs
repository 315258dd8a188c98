//! Every `olixtool` output of the shared corpus (`other/*olicense*`). Skips with a message when
//! the corpus is absent.
//!
//! How the expected numbers were obtained, independently of this parser (shell, on the raw
//! files): `grep -n -e FloatsLockedBy -e '#[0-9]' -e ';' -e Server -e OlComm -e License-ID`,
//! read by eye: one feature per module row (`ftire_adams` in two licenses, told apart by
//! their `License-ID`), issued = the FloatCount column, in use = the sum of the
//! `N FloatsLockedBy:` lines under it, one checkout per `user@host #n` line.
use olicense::OLicense;
use tally_plugin_sdk::testing;
use tally_plugin_sdk::testing::snapshot::{count, diags};
use tally_plugin_sdk::{DiagnosticKind, PluginError, ServerStatus, Snapshot};

/// The poll time the tests pass (2025-01-01T00:00:00Z); olixtool outputs never need it.
const NOW: i64 = 1_735_689_600;

fn parse(output: &[u8]) -> Result<Snapshot, PluginError> {
    testing::check_status::<OLicense>(output, NOW)
}

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/corpus/other");
const MARK: &str = "olicense";
const FIRST: &str = "cosin-faf71fdc@cos550218";
const SECOND: &str = "cosin-faf71fdc@cos558164";

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
    /// (module, pool, issued, in use)
    named: &'static [(&'static str, &'static str, u32, u32)],
    /// (user, host) of each checkout, in order.
    checkouts: &'static [(&'static str, &'static str)],
    malformed: usize,
}

const UP: (&str, Option<u16>, ServerStatus, Option<&str>) =
    ("138.106.32.97", Some(31212), ServerStatus::Up, None);
const CLIENTS: &[(&str, &str)] = &[
    ("sbhyma", "RD0087712"),
    ("sbhyma", "RD0087713"),
    ("user22", "RD0087713"),
];

#[rustfmt::skip]
const FACTS: &[Facts] = &[
    Facts { file: "license_manager_omnivector__olicense_olixtool.txt", server: UP, features: 2,
            named: &[("ftire_adams", FIRST, 3, 3), ("ftire_adams", SECOND, 1, 0)],
            checkouts: CLIENTS, malformed: 0 },
    Facts { file: "license_manager_omnivector__olicense_olixtool_2022.txt", server: UP, features: 2,
            named: &[("ftire_adams", FIRST, 3, 3), ("ftire_adams", SECOND, 1, 0)],
            checkouts: CLIENTS, malformed: 0 },
    Facts { file: "license_manager_omnivector__olicense_olixtool_bad.txt",
            server: ("123", Some(80), ServerStatus::Down, Some("OlComm 454 Request cannot connect to target")),
            features: 0, named: &[], checkouts: &[], malformed: 0 },
    Facts { file: "license_manager_omnivector__olicense_olixtool_no_licenses.txt", server: UP, features: 2,
            named: &[("ftire_adams", FIRST, 3, 0), ("ftire_adams", SECOND, 1, 0)],
            checkouts: &[], malformed: 0 },
];

#[test]
fn every_olicense_output_has_expectations() {
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
        "an olixtool output without expectations (or one gone)"
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
        for &(name, pool, issued, in_use) in f.named {
            let got: Vec<_> = s
                .features
                .iter()
                .filter(|x| x.name == name && x.pool.as_deref() == Some(pool))
                .collect();
            assert_eq!(got.len(), 1, "{}: {name} {pool}", f.file);
            assert_eq!(
                (got[0].issued, got[0].in_use),
                (Some(issued), in_use),
                "{}: {name}",
                f.file
            );
            assert_eq!(got[0].vendor, "cosin", "{}", f.file);
        }
        let who: Vec<(&str, &str)> = s
            .checkouts
            .iter()
            .map(|c| (c.user.as_str(), c.host.as_str()))
            .collect();
        assert_eq!(who, f.checkouts, "{}", f.file);
        // One float per client: the checkouts add up to what is in use.
        let held: u32 = s.checkouts.iter().map(|c| c.count).sum();
        let in_use: u32 = s.features.iter().map(|x| x.in_use).sum();
        assert_eq!(held, in_use, "{}", f.file);
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
    testing::fuzz_status_dir::<OLicense>(DIR);
}
