//! What the end-to-end tests share: a temporary home for the real binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

pub struct Env {
    pub dir: tempfile::TempDir,
}

impl Env {
    pub fn new() -> Env {
        Env {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn db(&self) -> String {
        format!("sqlite://{}", self.dir.path().join("tally.db").display())
    }

    pub fn tally(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_tally"))
            .args(args)
            .env("TALLY_DB", self.db())
            .env("TALLY_PLUGIN_DIR", self.dir.path().join("plugins"))
            .env("XDG_CACHE_HOME", self.dir.path().join("cache"))
            .output()
            .expect("running tally")
    }

    /// `tally import --json --utc-offset 0 ARGS…`, which must succeed; returns its summary.
    pub fn import(&self, args: &[&str]) -> Value {
        let mut all = vec!["import", "--json", "--utc-offset", "0"];
        all.extend_from_slice(args);
        let out = self.tally(&all);
        assert!(
            out.status.success(),
            "tally {all:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("JSON summary")
    }

    pub fn write(&self, name: &str, content: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, content).expect("writing a test file");
        path
    }

    /// Rows per table, straight from the database file.
    pub fn rows(&self, table: &str) -> i64 {
        let conn = rusqlite::Connection::open(self.dir.path().join("tally.db")).expect("open db");
        conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .expect("count")
    }
}

/// A folder of the shared corpus, when it is there (CI always has it).
pub fn corpus_dir(folder: &str) -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpus")
        .join(folder);
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipping: the corpus ({}) is absent", dir.display());
        None
    }
}

pub fn corpus() -> Option<PathBuf> {
    corpus_dir("flexlm-debuglog")
}
