//! The shared corpus has no SFLM usage log (FORMATS.md §10); this checks that no file of any
//! other format is taken for one. Skips with a message when the corpus is absent.

use std::path::PathBuf;

use sflm_log::SflmLog;
use tally_plugin_sdk::Importer;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/corpus");

#[test]
fn other_formats_sniff_low() {
    let root = PathBuf::from(ROOT);
    let Ok(dirs) = std::fs::read_dir(&root) else {
        println!("corpus absent ({ROOT}): skipping");
        return;
    };
    let mut seen = 0;
    for dir in dirs.flatten().filter(|d| d.path().is_dir()) {
        for e in std::fs::read_dir(dir.path())
            .expect("corpus folder")
            .flatten()
        {
            let data = std::fs::read(e.path()).expect("read");
            let score = SflmLog::sniff(&data[..data.len().min(4096)]);
            assert!(score < 0.5, "{}: {score}", e.path().display());
            seen += 1;
        }
    }
    assert!(seen > 50, "only {seen} corpus files found");
    println!("{seen} files of other formats sniffed below 0.5");
}
