//! End-to-end: plugins replaced on a running `tally serve` while it polls a simulated FlexNet
//! server (tally-sim standing in for lmutil), and the same commands offline.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tally_plugin_host::sha256_hex;

mod common;
use common::Env;

/// `tally serve` on a free port, killed when dropped.
struct Serving(Child);

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The environment every `tally` of a test shares (database, plugins, data and cache dirs).
fn command(env: &Env) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tally"));
    cmd.env("TALLY_DB", env.db())
        .env("TALLY_PLUGIN_DIR", env.dir.path().join("plugins"))
        .env("XDG_CACHE_HOME", common::cache_home())
        .env("XDG_DATA_HOME", env.dir.path().join("data"))
        .env("USER", "tester")
        .env_remove("TALLY_ADMIN_TOKEN")
        .env_remove("TALLY_ADMIN_TOKEN_FILE")
        .env_remove("TALLY_SERVER_URL");
    cmd
}

fn tally(env: &Env, args: &[&str]) -> Output {
    command(env).args(args).output().expect("running tally")
}

fn ok(env: &Env, args: &[&str]) -> String {
    let out = tally(env, args);
    assert!(
        out.status.success(),
        "tally {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn json(env: &Env, args: &[&str]) -> Value {
    serde_json::from_str(&ok(env, args)).expect("JSON")
}

/// The plugin `id` in `tally plugin list --json` output.
fn plugin<'a>(list: &'a Value, id: &str) -> &'a Value {
    list.as_array()
        .expect("array")
        .iter()
        .find(|p| p["id"] == id)
        .unwrap_or_else(|| panic!("{id} in {list}"))
}

/// The tally-sim binary beside tally's (built on demand when only `tally` was built).
fn sim() -> PathBuf {
    let path = Path::new(env!("CARGO_BIN_EXE_tally")).with_file_name("tally-sim");
    if !path.exists() {
        let status = Command::new(env!("CARGO"))
            .args(["build", "-p", "tally-sim", "--bin", "tally-sim"])
            .status()
            .expect("cargo build -p tally-sim");
        assert!(status.success(), "building tally-sim failed");
    }
    path
}

/// The packaged flexlm-lmstat as version `version`, its component changed (a custom section
/// appended: still valid, another sha256), written to `dest`.
fn flexlm_lmstat(dest: &Path, version: &str) -> String {
    let source = Path::new(tally_plugin_artifacts::FLEXLM_LMSTAT);
    let manifest = std::fs::read_to_string(source.join("plugin.toml")).expect("manifest");
    let name = "flexlm_lmstat.wasm";
    let mut component = std::fs::read(source.join(name)).expect("component");
    let old = sha256_hex(&component);
    let tag = format!("\x04test{version}");
    component.push(0);
    component.push(tag.len() as u8);
    component.extend_from_slice(tag.as_bytes());
    let sha = sha256_hex(&component);
    std::fs::create_dir_all(dest).expect("dest");
    std::fs::write(dest.join(name), &component).expect("component");
    std::fs::write(
        dest.join("plugin.toml"),
        manifest
            .replace("version = \"0.1.0\"", &format!("version = \"{version}\""))
            .replace(&old, &sha),
    )
    .expect("manifest");
    sha
}

/// Waits until `check` holds.
fn until(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// (answered, failed) polls in the server's debug log.
fn polls(log: &Path) -> (usize, usize) {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    // Strip colour codes: the log is written as to a terminal.
    let mut plain = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            chars.by_ref().find(|&c| c == 'm');
        } else {
            plain.push(c);
        }
    }
    let polled = plain.lines().filter(|l| l.contains(" polled "));
    let (mut answered, mut failed) = (0, 0);
    for line in polled {
        if line.contains("ok=true") {
            answered += 1;
        } else {
            failed += 1;
        }
    }
    (answered, failed)
}

#[test]
fn a_new_version_replaces_the_running_one_while_polls_run() {
    let env = Env::new();
    let root = env.dir.path();
    let scenario = root.join("scenario.toml");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    std::fs::write(
        &scenario,
        format!(
            "seed = 7\n[clock]\nreal_start = {now}\nduration = 3600\n\
             [[server]]\nname = \"flex1\"\nmanager = \"flexlm\"\nhost = \"flex1.example\"\nport = 27000\n\
             vendor = \"acme\"\nusers = 5\narrivals_per_hour = 600\n\
             [[server.feature]]\nname = \"solver\"\nissued = 5\n"
        ),
    )
    .expect("scenario");
    ok(
        &env,
        &[
            "server",
            "add",
            "lic1",
            "--manager",
            "flexlm",
            "--host",
            "flex1.example",
            "--port",
            "27000",
            "--interval",
            "1",
        ],
    );
    // Pollers installed by the operator need the tool granted (built-ins have theirs).
    std::fs::create_dir_all(root.join("plugins")).expect("plugin dir");
    std::fs::write(
        root.join("plugins/grants.toml"),
        "[flexlm-lmstat]\ncommands = [\"lmutil\"]\n",
    )
    .expect("grants");

    let log = root.join("serve.log");
    let tool = format!(
        "lmutil={} --scenario {} lmutil",
        sim().display(),
        scenario.display()
    );
    let mut child = command(&env)
        .args(["serve", "--listen", "127.0.0.1:0", "--tool", &tool])
        .env("TALLY_LOG", "tally_app::scheduler=debug")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).expect("log"))
        .spawn()
        .expect("tally serve");
    let stdout = child.stdout.take().expect("stdout");
    let serving = Serving(child);
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("first line");
    let url = line.trim().rsplit(' ').next().expect("address").to_string();
    assert!(url.starts_with("http://"), "{line}");

    // The generated admin token is the operator's alone.
    let token = root.join("data/tally/admin-token");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&token)
            .expect("token")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let remote = |args: &[&str]| -> Vec<String> {
        let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        all.extend(["--server-url".into(), url.clone()]);
        all
    };
    let run = |args: &[&str]| {
        tally(
            &env,
            &remote(args).iter().map(String::as_str).collect::<Vec<_>>(),
        )
    };
    let list = || -> Value {
        let out = run(&["plugin", "list", "--json"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("list")
    };

    until("two polls through the built-in poller", || {
        polls(&log).0 >= 2
    });
    let before = list();
    let builtin = plugin(&before, "flexlm-lmstat");
    assert_eq!(
        (&builtin["version"], &builtin["source"]),
        (&Value::from("0.1.0"), &Value::from("built-in"))
    );

    // A new version, added while polls run.
    let v2 = flexlm_lmstat(&root.join("v0.1.1"), "0.1.1");
    let out = run(&[
        "plugin",
        "add",
        root.join("v0.1.1").to_str().expect("utf-8"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with(&format!(
            "added flexlm-lmstat 0.1.1 (sha256 {}) from ",
            &v2[..12]
        )),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let answered_at_swap = polls(&log).0;
    until("the new version to answer two polls", || {
        let list = list();
        let p = plugin(&list, "flexlm-lmstat");
        assert_eq!(p["version"], "0.1.1");
        assert_eq!(p["sha256"], Value::from(v2.as_str()));
        p["health"]["answers"].as_u64().expect("answers") >= 2
    });

    // A tampered version is refused; the running one keeps answering.
    let v3 = flexlm_lmstat(&root.join("v0.1.2"), "0.1.2");
    let wasm = root.join("v0.1.2/flexlm_lmstat.wasm");
    let mut bytes = std::fs::read(&wasm).expect("wasm");
    *bytes.last_mut().expect("bytes") ^= 0xff;
    std::fs::write(&wasm, &bytes).expect("tamper");
    let out = run(&[
        "plugin",
        "add",
        root.join("v0.1.2").to_str().expect("utf-8"),
    ]);
    assert!(!out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        format!(
            "error: plugin `flexlm-lmstat`: component sha256 mismatch (manifest says {v3}, file is {}); refusing a tampered or stale component (422 Unprocessable Entity)",
            sha256_hex(&bytes)
        )
    );
    let answers = plugin(&list(), "flexlm-lmstat")["health"]["answers"]
        .as_u64()
        .expect("answers");
    until("the running version to answer on", || {
        let list = list();
        let p = plugin(&list, "flexlm-lmstat");
        assert_eq!(p["version"], "0.1.1");
        p["health"]["answers"].as_u64().expect("answers") >= answers + 2
    });

    // No token, no admin API.
    let out = command(&env)
        .args(remote(&["plugin", "list"]))
        .env("TALLY_ADMIN_TOKEN", "guess")
        .output()
        .expect("tally");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "error: a login or an API token is required (401 Unauthorized)"
    );

    let audit: Value =
        serde_json::from_slice(&run(&["plugin", "audit", "--json"]).stdout).expect("audit");
    let rows: Vec<(String, String, String, String)> = audit
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap_or("-").to_string();
            (s("who"), s("action"), s("version"), s("outcome"))
        })
        .collect();
    let row = |who: &str, action: &str, version: &str, outcome: &str| {
        (who.into(), action.into(), version.into(), outcome.into())
    };
    assert_eq!(
        rows,
        [
            row("admin", "add", "0.1.1", "ok"),
            row("admin", "add", "0.1.2", "refused")
        ]
    );
    assert_eq!(audit[0]["sha256"], Value::from(v2.as_str()));
    drop(serving);

    let (answered, failed) = polls(&log);
    assert_eq!(
        failed,
        0,
        "no poll failed: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    assert!(answered > answered_at_swap, "polls ran after the swap");
    eprintln!("{answered} polls answered, {failed} failed; swap after {answered_at_swap}");
}

#[test]
fn offline_changes_go_to_the_plugin_directory_and_the_audit_log() {
    let env = Env::new();
    let root = env.dir.path();
    let dir = root.join("new");
    let sha = flexlm_lmstat(&dir, "0.2.0");
    let dir = dir.to_str().expect("utf-8");

    // No grant yet: refused, naming it.
    let out = tally(&env, &["plugin", "add", dir]);
    assert!(!out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "error: plugin `flexlm-lmstat` needs command `lmutil`, not granted to it (the operator grants it under [flexlm-lmstat] in grants.toml)"
    );
    std::fs::create_dir_all(root.join("plugins")).expect("plugin dir");
    std::fs::write(
        root.join("plugins/grants.toml"),
        "[flexlm-lmstat]\ncommands = [\"lmutil\"]\n",
    )
    .expect("grants");
    let out = ok(&env, &["plugin", "add", dir]);
    assert!(out.starts_with("added flexlm-lmstat 0.2.0"), "{out}");
    let list = json(&env, &["plugin", "list", "--json"]);
    let p = plugin(&list, "flexlm-lmstat");
    assert_eq!(p["sha256"], Value::from(sha.as_str()));
    assert_eq!(p["enabled"], true);
    assert_eq!(p["health"]["consecutive_traps"], 0);

    ok(&env, &["plugin", "disable", "flexlm-lmstat"]);
    let list = json(&env, &["plugin", "list", "--json"]);
    assert_eq!(plugin(&list, "flexlm-lmstat")["enabled"], false);
    let table = ok(&env, &["plugin", "list"]);
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("flexlm-lmstat") && l.contains(" no ")),
        "{table}"
    );
    ok(&env, &["plugin", "enable", "flexlm-lmstat"]);
    ok(&env, &["plugin", "reload", "flexlm-lmstat"]);
    let out = ok(&env, &["plugin", "remove", "flexlm-lmstat"]);
    assert_eq!(
        out.trim(),
        "removed flexlm-lmstat; the built-in version 0.1.0 is used again"
    );
    let out = tally(&env, &["plugin", "remove", "flexlm-lmstat"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "error: plugin `flexlm-lmstat` is built in and cannot be removed (disable it instead)"
    );

    let audit = json(&env, &["plugin", "audit", "--json"]);
    let rows: Vec<(&str, &str, &str)> = audit
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| {
            (
                e["who"].as_str().expect("who"),
                e["action"].as_str().expect("action"),
                e["outcome"].as_str().expect("outcome"),
            )
        })
        .collect();
    let who = "cli-offline:tester";
    assert_eq!(
        rows,
        [
            (who, "add", "refused"),
            (who, "add", "ok"),
            (who, "disable", "ok"),
            (who, "enable", "ok"),
            (who, "reload", "ok"),
            (who, "remove", "ok"),
            (who, "remove", "refused"),
        ]
    );
}
