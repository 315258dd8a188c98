//! docs/operations.md, run as written: every `sh` block runs in order in one temporary home
//! with the built `tally` first on PATH. Blocks tagged `sh needs=FEATURE` run once the binary
//! has that feature (before, the test prints why it skips them); `sh root` blocks are run by
//! `.ci/package` after installing the package, `sh systemd` blocks need a running systemd (no
//! test runs them), `sh slow` blocks are full release builds, run here with `TALLY_DOC_SLOW=1`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

mod common;
use common::Env;

const DOC: &str = include_str!("../../../docs/operations.md");
/// The address the page's commands use; the test's servers take a free port instead.
const DOC_LISTEN: &str = "127.0.0.1:8080";

/// Who runs a block, from its fence's info string.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Runner {
    Here,
    Needs(Feature),
    Root,
    Systemd,
    Slow,
}

/// Features the page describes ahead of the binary having them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Feature {
    /// `tally serve --config` / `--check` and the configuration file.
    Config,
    /// `tally backup` and `tally restore`.
    Backup,
    /// `GET /metrics`.
    Metrics,
}

impl Feature {
    fn parse(name: &str) -> Feature {
        match name {
            "config" => Feature::Config,
            "backup" => Feature::Backup,
            "metrics" => Feature::Metrics,
            other => panic!("docs/operations.md: unknown feature `needs={other}`"),
        }
    }
}

struct Block {
    runner: Runner,
    script: String,
}

/// The shell blocks of the page (`sh` plus tags), in order; other fences are prose.
fn blocks(doc: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut current: Option<(Option<Runner>, String)> = None;
    for line in doc.lines() {
        let trimmed = line.trim_end();
        match &mut current {
            None => {
                if let Some(info) = trimmed.strip_prefix("```") {
                    let mut words = info.split_whitespace();
                    let runner = match (words.next(), words.next()) {
                        (Some("sh"), None) => Some(Runner::Here),
                        (Some("sh"), Some("root")) => Some(Runner::Root),
                        (Some("sh"), Some("systemd")) => Some(Runner::Systemd),
                        (Some("sh"), Some("slow")) => Some(Runner::Slow),
                        (Some("sh"), Some(tag)) => match tag.strip_prefix("needs=") {
                            Some(f) => Some(Runner::Needs(Feature::parse(f))),
                            None => panic!("docs/operations.md: unknown block tag `{tag}`"),
                        },
                        (Some("bash" | "shell" | "console"), _) => {
                            panic!("docs/operations.md: shell blocks are `sh`, not {info}")
                        }
                        _ => None,
                    };
                    current = Some((runner, String::new()));
                }
            }
            Some((runner, script)) => {
                if trimmed == "```" {
                    if let Some(runner) = runner.take() {
                        out.push(Block {
                            runner,
                            script: std::mem::take(script),
                        });
                    }
                    current = None;
                } else {
                    script.push_str(line);
                    script.push('\n');
                }
            }
        }
    }
    assert!(current.is_none(), "docs/operations.md: an unclosed block");
    out
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The shell a block runs in: `tally` first on PATH, everything under the test's home.
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
        .env("HOME", env.dir.path())
        .env("XDG_DATA_HOME", env.dir.path().join("data"))
        .env("XDG_CACHE_HOME", common::cache_home());
    for var in [
        "TALLY_DB",
        "TALLY_PLUGIN_DIR",
        "TALLY_CONFIG",
        "TALLY_SERVER_URL",
        "TALLY_ADMIN_TOKEN",
        "TALLY_ADMIN_TOKEN_FILE",
        "TALLY_LOG",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// Which features the built binary has.
fn has(feature: Feature, env: &Env) -> bool {
    let help = |args: &[&str]| {
        let out = env.tally(args);
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    match feature {
        Feature::Config => help(&["serve", "--help"]).contains("--config"),
        Feature::Backup => help(&["--help"])
            .lines()
            .any(|l| l.trim_start().starts_with("backup ")),
        Feature::Metrics => serves_metrics(env),
    }
}

/// Starts `tally serve` and asks it for `/metrics`.
fn serves_metrics(env: &Env) -> bool {
    env.serve(&[]).get("/metrics").0 == 200
}

#[test]
fn the_operations_guide_works_as_written() {
    let env = Env::new();
    let all = blocks(DOC);
    assert!(
        all.iter().filter(|b| b.runner == Runner::Here).count() >= 3,
        "the page lost its steps"
    );
    assert!(
        all.iter().any(|b| b.runner == Runner::Root),
        "the package's check runs the `sh root` blocks: keep one"
    );
    let slow = std::env::var("TALLY_DOC_SLOW").is_ok_and(|v| v == "1");
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut ran = Vec::new();
    for (i, block) in all.iter().enumerate() {
        let cwd: PathBuf = match &block.runner {
            Runner::Here => env.dir.path().to_path_buf(),
            Runner::Needs(feature) if has(*feature, &env) => env.dir.path().to_path_buf(),
            Runner::Needs(feature) => {
                eprintln!(
                    "skipping block {} (needs {feature:?}, which this tally has not yet):\n{}",
                    i + 1,
                    block.script
                );
                continue;
            }
            Runner::Slow if slow => repo.clone(),
            Runner::Slow | Runner::Root | Runner::Systemd => continue,
        };
        let listen = format!("127.0.0.1:{}", free_port());
        let script = block.script.replace(DOC_LISTEN, &listen);
        let out = shell(&env)
            .current_dir(&cwd)
            .arg("-c")
            .arg(format!("set -euo pipefail\n{script}"))
            .stdin(Stdio::null())
            .output()
            .expect("running bash");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "block {} of docs/operations.md failed:\n{}\n--- stdout\n{stdout}\n--- stderr\n{}",
            i + 1,
            block.script,
            String::from_utf8_lossy(&out.stderr)
        );
        ran.push((block.script.clone(), stdout));
    }

    // What the blocks that always run showed.
    let output_of = |command: &str| -> &str {
        &ran.iter()
            .rfind(|(script, _)| script.lines().any(|l| l == command))
            .unwrap_or_else(|| panic!("no block ran `{command}`"))
            .1
    };
    assert!(
        output_of("tally server list").contains("lic1"),
        "the server added is listed"
    );
    let health = ran
        .iter()
        .find(|(script, _)| script.contains("/api/v1/health"))
        .map(|(_, out)| out.as_str())
        .expect("a block asks for health");
    // The last line: `tally serve` printed where it listens first.
    let health = health.lines().last().unwrap_or_default();
    let health: serde_json::Value = serde_json::from_str(health).expect("health is JSON");
    assert!(health.is_object(), "{health}");
    assert!(output_of("tally plugin list").contains("flexlm"));
}

#[test]
fn blocks_are_read_with_their_runners() {
    let doc =
        "text\n```sh\na\n```\n```sh needs=backup\nb\n```\n```sh root\nc\n```\n```yaml\nd: 1\n```\n";
    let b = blocks(doc);
    let runners: Vec<&Runner> = b.iter().map(|b| &b.runner).collect();
    assert_eq!(
        runners,
        [
            &Runner::Here,
            &Runner::Needs(Feature::Backup),
            &Runner::Root
        ]
    );
    assert_eq!(b[1].script, "b\n");
}
