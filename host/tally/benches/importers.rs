//! Import throughput of every importer (issue 4), end to end through the real `tally import`
//! (read → wasm parse → pairing → SQLite commit), and each one's ratio to the FlexNet importer
//! in the same run.
//!
//! One simulated workload (tally-sim: the same users, features, arrivals and denials) is written
//! in every log format: FlexNet debug log, RLM report log and LM-X log by the simulator itself,
//! the DSLS LicenseServer log and the SFLM day log from its sessions here. So each importer reads
//! the same facts, and the ratios compare the parsers, not the workloads.
//!
//! `cargo bench -p tally --bench importers [-- DAYS]` (default 120 simulated days).

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::DateTime;
use tally_sim::{Scenario, Workload};

const REPS: usize = 5;
/// Seconds from 0001-01-01 to 1970-01-01: SFLM writes seconds since the start of the Common Era.
const CE_TO_UNIX: i64 = 62_135_596_800;

fn main() {
    let days: i64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(120);
    let scenario = Scenario::parse(&format!(
        r#"seed = 42
[clock]
real_start = 1767225600
speed = 1.0
duration = {}
[[server]]
name = "flex"
manager = "flexlm"
users = 200
arrivals_per_hour = 120
mean_session = 1800
[[server.feature]]
name = "CAD"
issued = 40
[[server.feature]]
name = "SOLVER"
issued = 8
[[server]]
name = "rlm"
manager = "rlm"
users = 200
arrivals_per_hour = 120
mean_session = 1800
[[server.feature]]
name = "CAD"
issued = 40
[[server.feature]]
name = "SOLVER"
issued = 8
[[server]]
name = "lmx"
manager = "lmx"
users = 200
arrivals_per_hour = 120
mean_session = 1800
[[server.feature]]
name = "CAD"
issued = 40
[[server.feature]]
name = "SOLVER"
issued = 8
"#,
        days * 86_400
    ))
    .expect("scenario");
    let server = |name| scenario.server(name).expect("server");
    let flex = Workload::simulate(&scenario, server("flex"), None);

    let dir = tempfile::tempdir().expect("temp dir");
    let logs = [
        (
            "flexlm-debuglog",
            tally_sim::log(&scenario, server("flex"), None),
        ),
        (
            "rlm-reportlog",
            tally_sim::log(&scenario, server("rlm"), None),
        ),
        ("lmx-log", tally_sim::log(&scenario, server("lmx"), None)),
        ("dsls-log", dsls_log(&flex)),
        ("sflm-log", sflm_log(&flex)),
    ];

    println!(
        "{days} simulated days, {} checkouts on the FlexNet server",
        flex.sessions.len()
    );
    println!();
    println!(
        "{:<16} {:>10} {:>8} {:>10} {:>9} {:>14} {:>10}",
        "format", "lines", "MB", "sessions", "time", "lines/s", "vs FlexNet"
    );
    let mut flexnet_rate = None;
    for (format, log) in &logs {
        let path = dir.path().join(format!("{format}.log"));
        std::fs::write(&path, log).expect("writing the log");
        let lines = log.lines().count() as f64;
        let mut sessions = 0;
        let mut rep = 0;
        let time = median(|| {
            rep += 1;
            let db = dir.path().join(format!("{format}-{rep}.db"));
            let (elapsed, summary) = import(dir.path(), &db, format, &path);
            sessions = summary["sessions"].as_u64().expect("sessions");
            assert_eq!(
                summary["malformed"].as_u64(),
                Some(0),
                "{format}: the simulated log is well formed: {summary}"
            );
            elapsed
        });
        let rate = lines / time.as_secs_f64();
        let flexnet = *flexnet_rate.get_or_insert(rate);
        println!(
            "{format:<16} {lines:>10} {:>8.1} {sessions:>10} {:>7.0}ms {:>10.0} k/s {:>9.2}x",
            log.len() as f64 / 1e6,
            time.as_secs_f64() * 1e3,
            rate / 1e3,
            rate / flexnet,
        );
    }
    println!();
    println!(
        "(end-to-end `tally import --format F`, fresh SQLite database, warm plugin cache, median of {REPS})"
    );
    println!(
        "(lmx-log: no public sample shows LM-X checkout lines, so the importer counts the simulator's as unrecognised)"
    );
}

/// `tally import` of one file into a fresh database: elapsed time and the JSON summary.
fn import(dir: &Path, db: &Path, format: &str, log: &Path) -> (Duration, serde_json::Value) {
    let t = Instant::now();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tally"))
        .args(["--db", &format!("sqlite://{}", db.display())])
        .args(["import", "--json", "--utc-offset", "0", "--format", format])
        .arg(log)
        .env("TALLY_PLUGIN_DIR", dir.join("no-plugins"))
        // The first repetition compiles the plugins into this cache; the median is warm.
        .env("XDG_CACHE_HOME", dir.join("cache"))
        .output()
        .expect("running tally");
    let elapsed = t.elapsed();
    assert!(
        out.status.success(),
        "{format}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = serde_json::from_slice(&out.stdout).expect("JSON summary");
    (elapsed, summary)
}

fn median(mut f: impl FnMut() -> Duration) -> Duration {
    let mut times: Vec<Duration> = (0..REPS).map(|_| f()).collect();
    times.sort();
    times[REPS / 2]
}

fn utc(t: i64) -> chrono::NaiveDateTime {
    DateTime::from_timestamp(t, 0).expect("time").naive_utc()
}

/// The workload's sessions and denials as a DSLS LicenseServer log (`USGTRACING` Grant and
/// Detachment lines, `not granted` warnings), in time order.
fn dsls_log(w: &Workload<'_>) -> String {
    let client = |user: u32| {
        let host = w.host(user).to_uppercase();
        format!(
            "{host} (41E418F750065C2E-0a0a{user:04x}.1)!10.0.0.1!{u}!{U}@EXAMPLE.S-1-5-21-7!C:\\P\\CNEXT.exe",
            u = w.user(user),
            U = w.user(user).to_uppercase(),
        )
    };
    let feature = |k: usize| w.server.features[k].name.as_str();
    let mut events: Vec<(i64, u32, String)> = Vec::new();
    for s in &w.sessions {
        let usage = |what: &str| {
            format!(
                "I USGTRACING  {what}!!{}!R100!{:X}!Dassault Systemes V5!ConcurrentUser!{}!STD!{}!5.34!ALC",
                feature(s.feature),
                s.id,
                s.count,
                client(s.user)
            )
        };
        events.push((s.start, s.arrival, usage("Grant")));
        events.push((s.end, s.arrival, usage("Detachment")));
    }
    for d in &w.denials {
        let host = w.host(d.user).to_uppercase();
        let line = format!(
            "W LICENSESERV {} not granted, no more available license ( from client {host} (41E418F750065C2E-0a0a{:04x}.1)/10.0.0.1|{}|{}@EXAMPLE|C:\\P\\CNEXT.exe )",
            feature(d.feature),
            d.user,
            w.user(d.user),
            w.user(d.user).to_uppercase()
        );
        events.push((d.time, d.arrival, line));
    }
    events.sort_by_key(|(t, arrival, _)| (*t, *arrival));
    let mut log = format!(
        "{} I STARTSERVER Server version 6.426.0 built on Sep 5, 2023 8:04:34 PM\n",
        utc(w.start).format("%Y/%m/%d %H:%M:%S:000")
    );
    for (t, _, line) in events {
        let _ = writeln!(log, "{} {line}", utc(t).format("%Y/%m/%d %H:%M:%S:000"));
    }
    log
}

/// The workload's sessions as SFLM day logs (seed 004): one tab-separated line per session and
/// day, a session crossing midnight split at it (`24:00:00` ends the first day's part).
fn sflm_log(w: &Workload<'_>) -> String {
    let mut log = String::from(
        "UserName\tHostName\tProcessId\tProductId\tProductName\tStartTime(InSeconds)\tEndTime(inSeconds)\tNumberDesired\tNumberGranted\tDate\tStartTime\tEndTime\n",
    );
    let mut parts: Vec<(i64, i64, &tally_sim::workload::Session)> = Vec::new();
    for s in &w.sessions {
        let mut start = s.start;
        while start < s.end {
            let midnight = (start.div_euclid(86_400) + 1) * 86_400;
            let end = s.end.min(midnight);
            parts.push((start, end, s));
            start = end;
        }
    }
    // Day files list a day's lines in start order.
    parts.sort_by_key(|(start, _, s)| (*start, s.arrival));
    for (start, end, s) in parts {
        let end_clock = if end % 86_400 == 0 {
            "24:00:00".to_string()
        } else {
            utc(end).format("%H:%M:%S").to_string()
        };
        let _ = writeln!(
            log,
            "{user}\t{host}\t{pid}\t{pid_product}\t{product}\t{start_ce}\t{end_ce}\t{n}\t{n}\t{date}\t{start_clock}\t{end_clock}",
            user = w.user(s.user),
            host = w.host(s.user),
            pid = 1000 + s.id,
            pid_product = 1001 + s.feature,
            product = w.server.features[s.feature].name,
            start_ce = start + CE_TO_UNIX,
            end_ce = end + CE_TO_UNIX,
            n = s.count,
            date = utc(start).format("%Y/%m/%d"),
            start_clock = utc(start).format("%H:%M:%S"),
        );
    }
    log
}
