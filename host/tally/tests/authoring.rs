//! docs/plugin-authoring.md, followed step by step: every `sh` block of the page runs, in
//! order, in one temporary home with the real `tally` on PATH — `tally plugin new` for both
//! worlds, `cargo test` and `cargo build --target wasm32-wasip2` of the scaffolded crates, `tally
//! plugin add` offline and to a running `tally serve`, `tally import` and `tally probe` through
//! the new plugins. Then the records they gave are checked. The page and the test cannot drift:
//! the test runs the page.
//!
//! The scaffolded crates build offline (`CARGO_NET_OFFLINE`) from the lockfile `tally plugin new`
//! copies in, into one target dir beside this test's (`<target>/authoring`), so the SDK and its
//! dependencies compile once per CI cache, not once per crate and run.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

mod common;
use common::Env;

const DOC: &str = include_str!("../../../docs/plugin-authoring.md");
/// The server address the page uses; the test's server listens on a free port instead.
const DOC_SERVER: &str = "http://127.0.0.1:8080";

/// The `sh` blocks of a Markdown page, in order.
fn sh_blocks(doc: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in doc.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```sh") => current = Some(String::new()),
            (Some(block), "```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            (Some(block), _) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    assert!(current.is_none(), "an unclosed ```sh block");
    blocks
}

/// Where the scaffolded crates build: one dir beside the test's own target dir.
fn shared_target() -> PathBuf {
    let tally = Path::new(env!("CARGO_BIN_EXE_tally"));
    // <target>/<profile>/tally
    tally
        .parent()
        .and_then(Path::parent)
        .expect("the target dir of tally")
        .join("authoring")
}

/// The shell every block runs in: `tally` first on PATH, defaults under the test's home.
fn shell(env: &Env) -> Command {
    let tally_dir = Path::new(env!("CARGO_BIN_EXE_tally"))
        .parent()
        .expect("bin dir");
    let path = std::env::join_paths(std::iter::once(tally_dir.to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .expect("PATH");
    let mut cmd = Command::new("bash");
    cmd.env("PATH", path)
        .env("XDG_DATA_HOME", env.dir.path().join("data"))
        .env("XDG_CACHE_HOME", common::cache_home())
        .env("CARGO_TARGET_DIR", shared_target())
        .env("CARGO_NET_OFFLINE", "true")
        .env("USER", "author");
    // The outer cargo's and the caller's settings must not leak into the page's commands.
    for var in [
        "TALLY_DB",
        "TALLY_PLUGIN_DIR",
        "TALLY_SERVER_URL",
        "TALLY_ADMIN_TOKEN",
        "TALLY_ADMIN_TOKEN_FILE",
        "TALLY_SDK_PATH",
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_BUILD_TARGET",
        "RUSTC_WORKSPACE_WRAPPER",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

#[test]
fn the_authoring_guide_works_as_written() {
    let env = Env::new();
    let blocks = sh_blocks(DOC);
    assert!(blocks.len() >= 8, "the page lost its steps: {blocks:?}");

    // Section 7 adds to a running server: start it as the page says (another terminal), on a
    // free port, with the same home.
    let server = serve(&env);
    let mut cwd = env.dir.path().to_path_buf();
    let mut outputs = Vec::new();
    for (i, block) in blocks.iter().enumerate() {
        let script = block.replace(DOC_SERVER, &server.url);
        let cwd_file = env.dir.path().join("cwd");
        let out = shell(&env)
            .current_dir(&cwd)
            .arg("-c")
            .arg(format!(
                "set -euo pipefail\n{script}\npwd > {}",
                cwd_file.display()
            ))
            .output()
            .expect("running bash");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            out.status.success(),
            "block {} of docs/plugin-authoring.md failed:\n{block}\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
            i + 1
        );
        cwd = PathBuf::from(
            std::fs::read_to_string(&cwd_file)
                .expect("the block's last directory")
                .trim(),
        );
        outputs.push((block.clone(), stdout));
    }
    let output_of = |command: &str| -> &str {
        &outputs
            .iter()
            .find(|(block, _)| block.lines().any(|l| l == command))
            .unwrap_or_else(|| panic!("no block runs `{command}`"))
            .1
    };

    // Both crates were scaffolded where the page says, and their own tests ran and passed.
    let home = env.dir.path();
    let test_runs: Vec<&str> = outputs
        .iter()
        .filter(|(block, _)| block.lines().any(|l| l == "cargo test"))
        .map(|(_, out)| out.as_str())
        .collect();
    assert_eq!(test_runs.len(), 2, "a `cargo test` per world");
    for (out, passed) in test_runs.iter().zip(["3 passed", "4 passed"]) {
        assert!(out.contains(&format!("test result: ok. {passed}")), "{out}");
    }
    for krate in ["acme-log", "acme-stat"] {
        assert!(home.join(krate).join("src/lib.rs").is_file(), "{krate}");
    }

    // The importer imported the fixture: its sessions in the database, at UTC+1.
    let db = tally_db(home);
    assert_eq!(
        sessions(&db),
        [
            (
                "2025-03-04T08:15:02Z",
                "2025-03-04T08:47:30Z",
                "alice",
                "solver",
                2
            ),
            (
                "2025-03-04T08:20:40Z",
                "2025-03-04T10:40:00Z",
                "bob",
                "solver",
                1
            ),
            (
                "2025-03-04T09:05:09Z",
                "2025-03-04T09:31:12Z",
                "alice",
                "mesher",
                1
            ),
            (
                "2025-03-04T10:52:30Z",
                "2025-03-04T10:52:30Z",
                "carol",
                "mesher",
                1
            ),
        ]
        .map(|(s, e, u, f, c)| (
            s.to_string(),
            e.to_string(),
            u.to_string(),
            f.to_string(),
            c
        ))
    );
    let diagnostics = output_of("tally diagnostics 1");
    for line in [2, 7, 10] {
        assert!(
            diagnostics.contains(&format!("sample.log:{line}: ")),
            "line {line} not among the diagnostics:\n{diagnostics}"
        );
    }

    // The running server took version 0.1.1 of the importer and the poller; the plugin
    // directory (read offline) holds them too.
    let list: Value = serde_json::from_str(&run_tally(&env, &["plugin", "list", "--json"]))
        .expect("plugin list JSON");
    let plugin = |id: &str| -> Value {
        list.as_array()
            .expect("list")
            .iter()
            .find(|p| p["id"] == id)
            .unwrap_or_else(|| panic!("{id} not installed: {list}"))
            .clone()
    };
    assert_eq!(plugin("acme-log")["version"], "0.1.1");
    assert_eq!(plugin("acme-log")["world"], "importer");
    assert_eq!(plugin("acme-stat")["world"], "poller");
    assert_eq!(plugin("acme-stat")["needs"]["commands"][0], "acmestat");
    let server_list = output_of(&format!("tally plugin list --server-url {DOC_SERVER}"));
    assert!(
        server_list
            .lines()
            .any(|l| l.starts_with("acme-log ") && l.contains("0.1.1")),
        "{server_list}"
    );

    // The poller reads the fixture through its component: the page's probe, and in full.
    let probe = output_of("tally probe --format acme-stat tests/fixtures/up.txt");
    assert!(
        probe.contains("solver") && probe.contains("2 checkouts, 0 queued, 1 lines not understood"),
        "{probe}"
    );
    let stat_dir = home.join("acme-stat");
    let probe: Value = serde_json::from_str(&run_tally(
        &env,
        &[
            "probe",
            "--format",
            "acme-stat",
            "--json",
            stat_dir
                .join("tests/fixtures/up.txt")
                .to_str()
                .expect("path"),
        ],
    ))
    .expect("probe JSON");
    let text = probe.to_string();
    for fact in [
        "lic1.example.com",
        "solver",
        "mesher",
        "alice",
        "ws-17",
        "bob",
        "ws-03",
    ] {
        assert!(text.contains(fact), "{fact} not in the probe: {probe:#}");
    }

    // The audit log has every change, offline and through the admin API.
    let audit = output_of("tally plugin audit");
    for expected in [
        "cli-offline:author add acme-log 0.1.0",
        "admin add acme-log 0.1.1",
        "admin add acme-stat 0.1.0",
    ] {
        assert!(audit.contains(expected), "`{expected}` not in:\n{audit}");
    }
}

/// A running `tally serve`, killed when dropped.
struct Serving {
    child: Child,
    url: String,
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `tally serve` with the page's defaults (plugin dir, database, admin token under the test's
/// home), on a free port.
fn serve(env: &Env) -> Serving {
    let mut child = shell(env)
        .arg("-c")
        .arg("exec tally serve --listen 127.0.0.1:0")
        .stdout(Stdio::piped())
        .spawn()
        .expect("tally serve");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("tally serve's first line");
    let url = line
        .trim()
        .rsplit(' ')
        .next()
        .unwrap_or_default()
        .to_string();
    assert!(url.starts_with("http://"), "tally serve said: {line}");
    Serving { child, url }
}

fn run_tally(env: &Env, args: &[&str]) -> String {
    let out = shell(env)
        .arg("-c")
        .arg("tally \"$@\"")
        .arg("tally")
        .args(args)
        .output()
        .expect("tally");
    assert!(
        out.status.success(),
        "tally {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The database `tally` uses by default under the test's home.
fn tally_db(home: &Path) -> PathBuf {
    home.join("data/tally/tally.db")
}

/// Every session as (start, end, user, feature, count), by start.
fn sessions(db: &Path) -> Vec<(String, String, String, String, i64)> {
    let conn = rusqlite::Connection::open(db).expect("open the database");
    let mut q = conn
        .prepare(
            "SELECT s.start, s.\"end\", u.name, f.name, s.count FROM session s
             JOIN user u ON u.id = s.user_id JOIN feature f ON f.id = s.feature_id
             ORDER BY 1, 2, 3, 4",
        )
        .expect("query");
    q.query_map([], |r| {
        Ok((
            tally_plugin_sdk::civil::format_utc(r.get(0)?),
            tally_plugin_sdk::civil::format_utc(r.get(1)?),
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
        ))
    })
    .expect("rows")
    .collect::<Result<_, _>>()
    .expect("rows")
}
