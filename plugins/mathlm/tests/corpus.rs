//! Every file of the shared corpus's `mathlm` folder. Skips with a message when the corpus is
//! absent.
//!
//! The folder holds one fragment (phpLicenseWatcher issue #143): ten lines a site's cron job
//! appended from `monitorlm <server> -template <its own file>`, each `D-M-YYYY, HH:MM:SS,
//! <count>` (read with `cat -A`: no `MathLM` header, no table, no final newline). What the
//! count is depends on that site's template, so it is no `monitorlm -format text` report:
//! the poller must refuse it rather than guess, and must not claim it when sniffing.
use mathlm::MathLm;
use tally_plugin_sdk::testing;
use tally_plugin_sdk::{PluginError, Poller, Snapshot};

/// The poll time the tests pass (2025-01-01T00:00:00Z): checkout starts are reckoned from it.
const NOW: i64 = 1_735_689_600;

fn parse(output: &[u8]) -> Result<Snapshot, PluginError> {
    testing::check_status::<MathLm>(output, NOW)
}

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/corpus/mathlm");

enum Expect {
    /// Refused, with a reason naming the site template.
    NotAReport,
}

const FACTS: &[(&str, Expect)] = &[(
    "issue_phplicensewatcher_143__monitorlm_template_output_TRUNCATED.txt",
    Expect::NotAReport,
)];

#[test]
fn every_mathlm_file_has_expectations() {
    let Some(dir) = testing::dir_or_skip(DIR) else {
        return;
    };
    let files = testing::file_names(&dir);
    let known: Vec<&str> = FACTS.iter().map(|f| f.0).collect();
    assert_eq!(
        files, known,
        "a MathLM file without expectations (or one gone)"
    );
}

#[test]
fn corpus_facts() {
    let Some(dir) = testing::dir_or_skip(DIR) else {
        return;
    };
    for (file, expect) in FACTS {
        let data = std::fs::read(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        match expect {
            Expect::NotAReport => {
                match parse(&data) {
                    Err(PluginError::BadInput(why)) => assert!(why.contains("-template"), "{why}"),
                    other => panic!("{file}: {other:?}"),
                }
                assert!(MathLm::sniff(&data) < 0.5, "{file}");
            }
        }
    }
}

/// The fuzz target's body on every file of the corpus folder (other formats included).
#[test]
fn fuzz_body_holds_on_every_corpus_file() {
    testing::fuzz_status_dir::<MathLm>(DIR);
}
