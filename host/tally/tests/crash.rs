//! Crash test: `tally import` SIGKILLed at random points, again and again, then run to the end,
//! leaves the database intact and equal to one clean import — the same sessions, denials and
//! rollups, nothing lost and nothing doubled. `TALLY_CRASH_KILLS` sets how many kills (3 by
//! default, so CI stays quick; a few hundred for a soak), `TALLY_CRASH_SEED` the random points.

use std::process::Stdio;
use std::time::{Duration, Instant};

mod common;
use common::Env;

/// The tables whose every row must equal a clean run's (ids included: they are given in order).
const COMPARED: [&str; 8] = [
    "session",
    "denial",
    "server_event",
    "hour_rollup",
    "user_hour",
    "day_rollup",
    "month_rollup",
    "long_session",
];

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// xorshift64*: random kill points without a crate, reproducible from the seed.
struct Points(u64);

impl Points {
    fn next_below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

fn integrity(env: &Env) -> String {
    let conn = rusqlite::Connection::open(env.dir.path().join("tally.db")).expect("open db");
    conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity check")
}

#[test]
fn imports_killed_at_random_points_end_equal_to_a_clean_import() {
    let kills = setting("TALLY_CRASH_KILLS", 3);
    let seed = setting("TALLY_CRASH_SEED", 0x7A11_C0DE);
    let (log, totals) = flexlm_log::synth::generate(40_000, 13);
    let import = |env: &Env| -> Vec<String> {
        let path = env.dir.path().join("lmgrd.log");
        vec![
            "import".into(),
            "--utc-offset".into(),
            "0".into(),
            "--server".into(),
            "X".into(),
            "--chunk-size".into(),
            "16384".into(),
            path.display().to_string(),
        ]
    };

    let clean = Env::new();
    clean.write("lmgrd.log", &log);
    let started = Instant::now();
    let args = import(&clean);
    let out = clean.tally(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Kill points spread over the clean import's duration (start-up included): each attempt
    // gets twice its share, so that on average the kills cover the whole import.
    let span = started.elapsed().as_millis().max(50) as u64;
    let window = (span * 2 / kills.max(1)).max(200);
    assert_eq!(clean.rows("session") as u64, totals.checkouts);

    let crashed = Env::new();
    crashed.write("lmgrd.log", &log);
    let args = import(&crashed);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut points = Points(seed | 1);
    let (mut killed, mut finished_first) = (0, 0);
    for _ in 0..kills {
        let mut child = crashed
            .command(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("tally import");
        std::thread::sleep(Duration::from_millis(points.next_below(window)));
        match child.try_wait().expect("wait") {
            Some(_) => finished_first += 1,
            None => {
                child.kill().expect("SIGKILL");
                killed += 1;
            }
        }
        let _ = child.wait();
        assert_eq!(integrity(&crashed), "ok", "after kill {killed}");
    }
    let out = crashed.tally(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!(
        "crash test: {killed} SIGKILLs ({finished_first} imports ended before their kill point) \
         over {span} ms of import, seed {seed:#x}; integrity ok"
    );
    assert!(
        killed > 0 || kills == 0,
        "no import was killed: every kill point came too late"
    );

    assert_eq!(integrity(&crashed), "ok");
    for table in COMPARED {
        assert_eq!(crashed.dump(table), clean.dump(table), "{table}");
    }
    // One run per file at the end, however many times it was started.
    let runs = crashed.dump("import_run");
    assert_eq!(runs.len(), 1, "{runs:?}");
}

/// The disk filling up under an import (a file-size limit on the process stands in for a full
/// file system: writes past it fail with EFBIG): the import stops with a clear error, the
/// database stays intact with whole batches only, and once there is room again the import
/// resumes to what a clean one gives.
#[cfg(unix)]
#[test]
fn an_import_that_fills_the_disk_stops_cleanly_and_resumes_when_there_is_room() {
    let (log, totals) = flexlm_log::synth::generate(40_000, 17);
    let env = Env::new();
    let path = env.write("lmgrd.log", &log);
    let path = path.to_str().expect("utf-8");
    let tally = env!("CARGO_BIN_EXE_tally");
    // 3 MB for the database; SIGXFSZ ignored so that writes fail instead of killing.
    let script = format!(
        "trap '' XFSZ; ulimit -f 6000; exec {tally} import --utc-offset 0 --server X --chunk-size 16384 {path}"
    );
    let mut full = std::process::Command::new("sh");
    full.args(["-c", &script]);
    for (key, value) in env.command(&[]).get_envs() {
        match value {
            Some(value) => full.env(key, value),
            None => full.env_remove(key),
        };
    }
    let out = full.output().expect("sh");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "the disk was meant to fill: {stderr}"
    );
    assert!(
        stderr.contains("the disk may be full")
            || stderr.contains("the disk holding the database is full"),
        "a clear error: {stderr}"
    );
    assert_eq!(integrity(&env), "ok");
    let partial = env.rows("session") as u64;
    assert!(partial < totals.checkouts, "stopped midway: {partial}");

    let resumed = env.tally(&[
        "import",
        "--utc-offset",
        "0",
        "--server",
        "X",
        "--chunk-size",
        "16384",
        path,
    ]);
    assert!(
        resumed.status.success(),
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    assert_eq!(env.rows("session") as u64, totals.checkouts);
    let clean = Env::new();
    let clean_path = clean.write("lmgrd.log", &log);
    clean.import(&[
        "--server",
        "X",
        "--chunk-size",
        "16384",
        clean_path.to_str().expect("utf-8"),
    ]);
    for table in COMPARED {
        assert_eq!(env.dump(table), clean.dump(table), "{table}");
    }
}

/// `tally serve` polling a simulated FlexNet server, SIGKILLed at random points and started
/// again: the database stays intact, no checkout is recorded twice (no two sessions of one
/// user, host and feature overlap), and the rollups equal those computed afresh from the facts.
#[test]
fn serve_killed_while_polling_keeps_its_facts_and_rollups_whole() {
    let kills = setting("TALLY_CRASH_KILLS", 3);
    let seed = setting("TALLY_CRASH_SEED", 0x7A11_C0DE);
    let env = Env::new();
    let tool = env.simulated_flexnet(7);
    let mut points = Points(seed | 1);
    for _ in 0..kills {
        let serving = env.serve(&["--tool", &tool]);
        std::thread::sleep(Duration::from_millis(2_000 + points.next_below(2_000)));
        drop(serving); // SIGKILL
        assert_eq!(integrity(&env), "ok");
    }
    let mut serving = env.serve(&["--tool", &tool]);
    std::thread::sleep(Duration::from_secs(2));
    assert!(serving.terminate().success());
    assert_eq!(integrity(&env), "ok");

    let conn = rusqlite::Connection::open(env.dir.path().join("tally.db")).expect("open db");
    let overlapping: i64 = conn
        .query_row(
            "SELECT count(*) FROM session a JOIN session b
               ON a.id < b.id AND a.feature_id = b.feature_id AND a.user_id = b.user_id
              AND a.host_id = b.host_id AND a.start < b.\"end\" AND b.start < a.\"end\"",
            [],
            |r| r.get(0),
        )
        .expect("overlaps");
    assert_eq!(overlapping, 0, "a checkout recorded twice");
    let sessions: i64 = conn
        .query_row("SELECT count(*) FROM session", [], |r| r.get(0))
        .expect("sessions");
    assert!(sessions > 0, "the polls saw checkouts end");

    // The rollups as kept, against the rollups computed afresh from the facts: a copy of the
    // database asks the store to rebuild them when it is opened.
    let kept: Vec<Vec<String>> = ROLLUPS.iter().map(|t| env.dump(t)).collect();
    conn.execute(
        "UPDATE store_state SET value = 'rebuild' WHERE name IN ('rollups', 'coarse_rollups')",
        [],
    )
    .expect("ask for a rebuild");
    drop(conn);
    let rebuilt = env.tally(&["server", "list"]);
    assert!(
        rebuilt.status.success(),
        "{}",
        String::from_utf8_lossy(&rebuilt.stderr)
    );
    for (table, kept) in ROLLUPS.iter().zip(kept) {
        assert_eq!(env.dump(table), kept, "{table}");
    }
    eprintln!(
        "serve crash test: {kills} SIGKILLs while polling, {sessions} sessions, integrity ok, rollups equal a rebuild"
    );
}

const ROLLUPS: [&str; 6] = [
    "hour_rollup",
    "user_hour",
    "day_rollup",
    "user_day",
    "month_rollup",
    "user_month",
];
