//! Hand-made license files (`tests/fixtures/`), written from the vendors' documentation (the
//! shared corpus holds no license file: `grep -rl '^FEATURE\|^INCREMENT\|^LICENSE '` finds only
//! an RLM report log's `LICENSE FILE` lines and lmstat outputs). Each test asserts every record.

use license_file::LicenseFile;
use tally_plugin_sdk::testing::{self, capacities, config, diags, strs};
use tally_plugin_sdk::{Batch, Importer};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

fn parse(name: &str, utc_offset: i32) -> Batch {
    let data = testing::fixture(format!("{DIR}/{name}"));
    testing::check_import::<LicenseFile>(&data, &config(utc_offset, None))
}

#[test]
fn flexnet_features_increments_continuations_and_counts() {
    // The server is at UTC−5: dates are its local days.
    let b = parse("flexnet_counted.lic", -5 * 3600);
    assert_eq!(b.lines, 19);
    assert_eq!(
        capacities(&b),
        strs(&[
            // Continued with `\`: one licence; it holds through 31 Dec 2026 local.
            "demo|solver|2023.1|line 6|10|-|2027-01-01T05:00:00Z|LicenseFile",
            "demo|mesher|2.0|line 8|4|-|-|LicenseFile",
            // START= is a local day too.
            "demo|mesher|2.0|line 10|2|2026-03-01T05:00:00Z|2026-07-01T05:00:00Z|LicenseFile",
            // `1-jan-0` is permanent; `uncounted` and `0` are uncounted.
            "demo|viewer|1.0|line 11|uncounted|-|-|LicenseFile",
            "demo|post|1.0|line 12|uncounted|-|-|LicenseFile",
        ])
    );
    assert_eq!(
        diags(&b),
        strs(&[
            "14|Assumption",   // the second FEATURE solver
            "16|Assumption",   // UPGRADE
            "17|Malformed",    // 31-feb-2026
            "18|Malformed",    // too few fields
            "19|Unrecognised", // BOGUS
        ])
    );
    let texts: Vec<&str> = b.diagnostics.iter().map(|d| d.text.as_str()).collect();
    assert!(texts[0].contains("only the first counts"), "{}", texts[0]);
    assert!(
        texts[2].contains("expiry date `31-feb-2026`"),
        "{}",
        texts[2]
    );
    assert!(texts[3].contains("at least 6 fields"), "{}", texts[3]);
}

#[test]
fn rlm_licenses() {
    let b = parse("rlm_license.lic", 0);
    assert_eq!(b.lines, 10);
    assert_eq!(
        capacities(&b),
        strs(&[
            "demo|solver|2.0|line 4|5|-|-|LicenseFile",
            "demo|solver|2.0|line 6|3|2026-02-01T00:00:00Z|2026-08-16T00:00:00Z|LicenseFile",
            "demo|viewer|1.0|line 7|uncounted|-|-|LicenseFile",
            "demo|post|1.0|line 8|1|-|-|LicenseFile",
            // Keywords in any case.
            "demo|lower|1.0|line 9|2|-|2031-01-01T00:00:00Z|LicenseFile",
        ])
    );
    assert_eq!(diags(&b), strs(&["10|Malformed"]));
}

#[test]
fn sniff_names_the_format() {
    for (name, format) in [
        ("flexnet_counted.lic", "flexlm-license"),
        ("rlm_license.lic", "rlm-license"),
    ] {
        let data = testing::fixture(format!("{DIR}/{name}"));
        let s = LicenseFile::sniff_format(testing::head(&data, 4096)).expect(name);
        assert_eq!(s.format, format);
        assert!(s.confidence >= 0.9);
    }
}

#[test]
fn a_continuation_at_the_end_of_the_file_is_read() {
    let data = b"FEATURE f demo 1.0 permanent 2 SIGN=\"AB \\";
    let b = testing::check_import::<LicenseFile>(data, &config(0, None));
    assert_eq!(
        capacities(&b),
        strs(&["demo|f|1.0|line 1|2|-|-|LicenseFile"])
    );
    assert_eq!(diags(&b), strs(&["1|Assumption"]));
}

#[test]
fn fuzzed_inputs_never_fail() {
    for name in ["flexnet_counted.lic", "rlm_license.lic"] {
        testing::fuzz_import::<LicenseFile>(&testing::fixture(format!("{DIR}/{name}")));
    }
}
