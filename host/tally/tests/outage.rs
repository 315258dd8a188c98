//! The database server going away and coming back under the real binaries, on PostgreSQL and
//! MariaDB: `tally serve` polls a simulated FlexNet server and `tally import` reads a log, both
//! reaching the database through a TCP relay the test cuts (a restart, a network cut).
//!
//! While it is away: the import stops with a clear error naming no password, `tally serve` keeps
//! serving (liveness 200, readiness 503 "unreachable"). Once it is back: polls resume on their
//! own, the import run again continues from its checkpoint and ends equal to a clean import, and
//! no checkout of the polled server is recorded twice.

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;
use tally_store::testing::{Backend, Relay, TestDb, through};

mod common;
use common::{Env, Serving, until};

/// How long the database stays away: several poll intervals, and longer than a batch.
const AWAY: Duration = Duration::from_secs(4);

fn import_args(path: &str) -> Vec<&str> {
    vec![
        "import",
        "--utc-offset",
        "0",
        "--server",
        "plant",
        "--chunk-size",
        "16384",
        path,
    ]
}

/// The reports that show every fact of the imported server, as CSV.
fn reports(env: &Env) -> Vec<String> {
    ["usage", "users", "denials"]
        .iter()
        .map(|name| {
            let out = env.tally(&[
                "report",
                name,
                "--server",
                "plant",
                "--format",
                "csv",
                "--from",
                "2024-01-01",
                "--to",
                "2026-01-01",
            ]);
            assert!(
                out.status.success(),
                "report {name}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8(out.stdout).expect("utf-8")
        })
        .collect()
}

fn remote(serving: &Serving) -> Value {
    serving.json("/api/v1/license-servers/flex")["status"]["remote"].clone()
}

/// Every session of the polled server (the API's pages, followed to the end).
fn polled_sessions(serving: &Serving) -> Vec<Value> {
    let mut all = Vec::new();
    let mut after = String::new();
    loop {
        let page = serving.json(&format!("/api/v1/sessions?server=flex&limit=1000{after}"));
        all.extend(page["items"].as_array().expect("items").iter().cloned());
        match page["next"].as_str() {
            Some(next) => after = format!("&after={next}"),
            None => return all,
        }
    }
}

fn the_database_going_away_and_back(backend: Backend) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let Some(db) = runtime.block_on(TestDb::create(backend)) else {
        return;
    };
    let password = db
        .url
        .split_once("://")
        .and_then(|(_, rest)| rest.rsplit_once('@'))
        .and_then(|(credentials, _)| credentials.split_once(':'))
        .map(|(_, password)| password.to_string())
        .expect("a password in the test database's URL");
    let relay = runtime.block_on(Relay::start(through(&db.url, 0).0));
    let env = Env::on(&through(&db.url, relay.port).1);

    let tool = env.simulated_flexnet(5);
    let mut serving = env.serve(&["--tool", &tool]);
    until("a first answered poll", || {
        remote(&serving)["state"] == "Online"
    });

    // An import the cut stops half way.
    let (log, totals) = flexlm_log::synth::generate(60_000, 23);
    let path = env.write("lmgrd.log", &log);
    let path = path.to_str().expect("utf-8");
    let importing = env
        .command(&import_args(path))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tally import");
    std::thread::sleep(Duration::from_millis(500));
    runtime.block_on(relay.cut());

    let stopped = importing.wait_with_output().expect("tally import");
    let error = String::from_utf8_lossy(&stopped.stderr);
    assert!(
        !stopped.status.success(),
        "the import was meant to lose its database: {error}"
    );
    assert!(error.contains("database"), "a clear error: {error}");
    assert!(!error.contains(&password), "no password: {error}");

    // Away: the server lives and says so.
    let live = serving.anonymous("GET", "/api/v1/health/live", &[], b"");
    assert_eq!(live.0, 200, "{}", live.1);
    let ready = serving.anonymous("GET", "/api/v1/health", &[], b"");
    assert_eq!(ready.0, 503, "{}", ready.1);
    let ready: Value = serde_json::from_str(&ready.1).expect("JSON");
    assert_eq!(ready["store"], "unreachable", "{ready}");
    std::thread::sleep(AWAY);
    let live = serving.anonymous("GET", "/api/v1/health/live", &[], b"");
    assert_eq!(
        live.0, 200,
        "still serving after {AWAY:?} without its database"
    );

    // Back: readiness, then polls, on their own.
    relay.restore();
    let (back, restored) = (now_secs(), Instant::now());
    until("readiness once the database is back", || {
        serving.anonymous("GET", "/api/v1/health", &[], b"").0 == 200
    });
    until("a poll answered after the database came back", || {
        let remote = remote(&serving);
        remote["state"] == "Online"
            && remote["last_update"]
                .as_str()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .is_some_and(|t| t.timestamp() > back)
    });

    let polls_back = restored.elapsed();
    assert!(
        polls_back < Duration::from_secs(10),
        "polls came back {polls_back:?} after the database: more than a few intervals"
    );

    // The import run again continues where its last commit left it.
    let resumed = env.tally(&import_args(path));
    assert!(
        resumed.status.success(),
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    let clean = Env::new();
    let clean_path = clean.write("lmgrd.log", &log);
    let clean_out = clean.tally(&import_args(clean_path.to_str().expect("utf-8")));
    assert!(clean_out.status.success());
    assert_eq!(reports(&env), reports(&clean), "equal to a clean import");

    // No checkout of the polled server recorded twice.
    let sessions = polled_sessions(&serving);
    assert!(!sessions.is_empty(), "the polls saw checkouts end");
    let key = |s: &Value| (s["user"].clone(), s["host"].clone(), s["feature"].clone());
    // An open checkout has no end yet.
    let time = |v: &Value| v.as_str().unwrap_or("9999").to_string();
    for (i, a) in sessions.iter().enumerate() {
        for b in &sessions[i + 1..] {
            assert!(
                key(a) != key(b)
                    || time(&a["end"]) <= time(&b["start"])
                    || time(&b["end"]) <= time(&a["start"]),
                "a checkout recorded twice: {a} and {b}"
            );
        }
    }
    assert!(serving.terminate().success());
    eprintln!(
        "outage ({backend:?}): database away {AWAY:?}, the import stopped ({}) and resumed to a clean import's {} checkouts; polls back {:.1} s after the database; {} polled sessions, none twice",
        error.lines().last().unwrap_or_default(),
        totals.checkouts,
        polls_back.as_secs_f64(),
        sessions.len()
    );
    drop(serving);
    runtime.block_on(async {
        relay.cut().await;
        db.remove().await;
    });
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

#[test]
fn postgres_going_away_under_serve_and_import_loses_and_doubles_nothing() {
    the_database_going_away_and_back(Backend::Postgres);
}

#[test]
fn mariadb_going_away_under_serve_and_import_loses_and_doubles_nothing() {
    the_database_going_away_and_back(Backend::MySql);
}
