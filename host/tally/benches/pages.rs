//! Page and report latency (issues 18 and 23): every dashboard page's API calls, and every
//! report over any window, answer p95 <= 200 ms and add <= 64 MiB to the server; rollup-backed
//! calls answer p99 <= 50 ms with 100 clients while an import runs.
//!
//! 1. **Pages** (always): `tally gen` writes the history (default 3 years of 3,400 users on 4
//!    servers x 20 features: about 10 M sessions) into a fresh SQLite database, `tally serve`
//!    serves it, and 20 client threads call, round after round, what each page of the dashboard
//!    calls (the same paths and queries as `web/js/pages/*.js`, windows ending where the
//!    history ends). Printed per call: p50, p95, p99 and max, against the 200 ms target and
//!    against the baseline of the same run, the liveness probe (`/api/v1/health/live`:
//!    routing, auth and a JSON answer, no store).
//! 2. **Reports over windows** (always; `TALLY_BENCH_WINDOWS=0` skips): every report and the
//!    usage history over the last day, month (30 days), year (365 days) and all history, one
//!    client, `TALLY_BENCH_REPS` (default 5) calls each: p50, p95, max, and the most the server's
//!    resident memory grew during a call (its peak, `VmHWM`, reset before each call through
//!    `/proc/PID/clear_refs`, less its `VmRSS` before).
//! 3. **The 20x FlexNet database** (`TALLY_BENCH_20X=1`, needs `../shared/corpus`): the import
//!    bench's 20x file imported into a fresh database (`TALLY_BENCH_20X_DB=PATH` keeps and
//!    reuses it), then part 2 on it, then **under import**: 100 clients call the rollup-backed
//!    calls while `tally import` adds copies 20.. of the log (`TALLY_BENCH_IMPORT_COPIES`,
//!    default 40: the history carries on) into the same database; p50, p95, p99 and max per
//!    call, against the 50 ms p99 target.
//!
//! `cargo bench -p tally --bench pages [-- USERS [ROUNDS]]` (default 3400 users, 5 rounds per
//! client). `TALLY_BENCH_DB=PATH` keeps the generated database there and reuses it if present;
//! `TALLY_BENCH_TALLY=PATH` measures that `tally` binary.

#[path = "common/dated.rs"]
mod dated;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use tally_app::reports::ReportName;

const CLIENTS: usize = 20;
const LOADED_CLIENTS: usize = 100;
const TARGET_MS: f64 = 200.0;
const LOADED_TARGET_P99_MS: f64 = 50.0;
const TARGET_ADDED_MIB: f64 = 64.0;
const YEARS: u32 = 3;
/// Where `tally gen`'s history ends: 2026-01-01T00:00Z.
const END: i64 = 1_767_225_600;
const DAY: i64 = 86_400;
/// The server the 20x log is imported as.
const FLEX: &str = "flex20";

/// The `tally` measured: `TALLY_BENCH_TALLY` (e.g. a release build while the bench itself was
/// built for tests), else the one cargo built with the bench.
fn tally_bin() -> PathBuf {
    std::env::var_os("TALLY_BENCH_TALLY")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_tally")))
}

fn switch(name: &str, default: bool) -> bool {
    match std::env::var(name) {
        Ok(v) => !matches!(v.as_str(), "" | "0" | "false" | "no"),
        Err(_) => default,
    }
}

fn reps() -> usize {
    std::env::var("TALLY_BENCH_REPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n >= 1)
        .unwrap_or(5)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

/// A database and the directories `tally` runs with.
struct Db {
    url: String,
    dir: PathBuf,
}

impl Db {
    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(tally_bin());
        c.args(["--db", &self.url])
            .args(args)
            .env("XDG_DATA_HOME", self.dir.join("data"))
            .env("XDG_CACHE_HOME", self.dir.join("cache"))
            .env_remove("TALLY_CONFIG");
        c
    }

    /// Runs `tally ARGS` to its end with `stdin`; its standard output.
    fn run(&self, args: &[&str], stdin: &str) -> String {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("tally");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin.as_bytes())
            .expect("stdin");
        let out = child.wait_with_output().expect("tally");
        assert!(out.status.success(), "tally {args:?} failed");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// An administrator's token, made with the database (kept beside it).
    fn token(&self, token_file: &Path) -> String {
        if !token_file.exists() {
            self.run(
                &["user", "add", "bench", "--role", "administrator"],
                "bench-password\n",
            );
            let token = self.run(
                &["token", "create", "--user", "bench", "--name", "bench"],
                "",
            );
            std::fs::write(token_file, token.trim()).expect("token file");
        }
        std::fs::read_to_string(token_file)
            .expect("the bench's token")
            .trim()
            .to_string()
    }

    /// `tally serve` on a loopback port.
    fn serve(&self) -> Served {
        let mut child = self
            .command(&["serve", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("tally serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("listening");
        let address = line
            .trim()
            .rsplit_once("http://")
            .map(|(_, a)| a.to_string())
            .expect("the address");
        Served { child, address }
    }
}

struct Served {
    child: Child,
    address: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn main() {
    let mut args = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse::<u64>().ok());
    let users = args.next().unwrap_or(3400);
    let rounds = args.next().unwrap_or(5) as usize;
    let dir = tempfile::tempdir().expect("temp dir");
    println!("load: {}", load_average());

    let kept = std::env::var_os("TALLY_BENCH_DB").map(PathBuf::from);
    let db_path = kept.clone().unwrap_or_else(|| dir.path().join("pages.db"));
    let db = Db {
        url: format!("sqlite://{}", db_path.display()),
        dir: dir.path().to_path_buf(),
    };
    let fresh = !db_path.exists();
    let token_file = db_path.with_extension("token");
    // The account and its token first: the history passes the Community licence's limits,
    // and restricted access mode refuses writes (reads, which the pages make, still work).
    let token = db.token(&token_file);
    if fresh {
        let started = Instant::now();
        let summary = db.run(
            &[
                "gen",
                "--servers",
                "4",
                "--features",
                "20",
                "--users",
                &users.to_string(),
                "--years",
                &YEARS.to_string(),
                "--json",
            ],
            "",
        );
        println!(
            "generated in {:.0} s: {}",
            started.elapsed().as_secs_f64(),
            summary.trim()
        );
    } else {
        println!("reusing {}", db_path.display());
    }
    if let Ok(m) = std::fs::metadata(&db_path) {
        println!("database: {:.0} MB", m.len() as f64 / 1e6);
    }

    let served = db.serve();
    let client = Client {
        address: served.address.clone(),
        token: token.clone(),
    };
    let pid = served.child.id();
    println!(
        "\n== 1. pages: {CLIENTS} clients on the generated history (load {})",
        load_average()
    );
    pages(&client, rounds);
    if switch("TALLY_BENCH_WINDOWS", true) {
        println!(
            "\n== 2. reports over windows, the generated history (load {})",
            load_average()
        );
        windows(
            &client,
            pid,
            "gen-01",
            "solver",
            END,
            END - i64::from(YEARS) * 365 * DAY,
        );
    }
    drop(served);
    if kept.is_none() {
        let _ = std::fs::remove_file(&token_file);
    }
    if switch("TALLY_BENCH_20X", false) {
        flex_20x(dir.path());
    }
}

/// Part 1: what the pages call, 20 clients at once.
fn pages(client: &Client, rounds: usize) {
    let calls = Arc::new(page_calls());
    // One warm pass, one client: every call answers 200 (a page that errors is no page).
    let mut alone = Vec::new();
    for (page, path) in calls.iter() {
        let t = Instant::now();
        let (status, _) = client.get(path);
        alone.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(status, 200, "{page}: {path}");
    }
    let timings: Arc<Mutex<Vec<Vec<f64>>>> =
        Arc::new(Mutex::new(vec![Vec::new(); calls.len() + 1]));
    let started = Instant::now();
    let workers: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (calls, timings, client) = (calls.clone(), timings.clone(), client.clone());
            std::thread::spawn(move || {
                let mut mine = vec![Vec::new(); calls.len() + 1];
                for round in 0..rounds {
                    // Clients start at different pages so they do not march in step.
                    for k in 0..=calls.len() {
                        let i = (k + c * 3 + round) % (calls.len() + 1);
                        let path = match i {
                            0 => "/api/v1/health/live",
                            i => calls[i - 1].1.as_str(),
                        };
                        let t = Instant::now();
                        let (status, _) = client.get(path);
                        mine[i].push(t.elapsed().as_secs_f64() * 1000.0);
                        assert!(status == 200 || i == 0, "{path}: {status}");
                    }
                }
                let mut all = timings.lock().expect("timings");
                for (a, m) in all.iter_mut().zip(mine) {
                    a.extend(m);
                }
            })
        })
        .collect();
    for w in workers {
        w.join().expect("client");
    }
    let wall = started.elapsed();
    let timings = timings.lock().expect("timings");
    let total: usize = timings.iter().map(Vec::len).sum();
    println!(
        "{CLIENTS} clients x {rounds} rounds: {total} requests in {:.1} s ({:.0}/s), load {}",
        wall.as_secs_f64(),
        total as f64 / wall.as_secs_f64(),
        load_average()
    );
    let base = stats(&timings[0]);
    println!(
        "{:<50} {:>8} {:>8} {:>8} {:>8} {:>8}",
        "call (page)", "alone", "p50 ms", "p95 ms", "p99 ms", "max ms"
    );
    println!(
        "{:<50} {:>8} {:>8.1} {:>8.1} {:>8.1} {:>8.1}   baseline",
        "/api/v1/health/live", "", base.p50, base.p95, base.p99, base.max
    );
    let mut over = 0;
    for (i, (page, path)) in calls.iter().enumerate() {
        let s = stats(&timings[i + 1]);
        let verdict = if s.p95 <= TARGET_MS { "ok" } else { "OVER" };
        if s.p95 > TARGET_MS {
            over += 1;
        }
        let short: String = path.split('?').next().unwrap_or(path).into();
        println!(
            "{:<50} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>8.1}   {verdict} ({:.1}x baseline p95)",
            format!("{short} ({page})"),
            alone[i],
            s.p50,
            s.p95,
            s.p99,
            s.max,
            s.p95 / base.p95.max(0.001)
        );
    }
    println!(
        "{} of {} calls within p95 <= {TARGET_MS} ms",
        calls.len() - over,
        calls.len()
    );
}

/// Part 2: every report and the history over the last day, month, year and all history
/// (ending at `end`; `first` is where the history starts), one call at a time, with the
/// server's added memory.
fn windows(client: &Client, pid: u32, server: &str, feature: &str, end: i64, first: i64) {
    let reps = reps();
    println!(
        "{reps} calls each; added = the server's peak resident memory during the call less \
         its resident memory before"
    );
    println!(
        "{:<6} {:<44} {:>6} {:>8} {:>8} {:>8} {:>8} {:>10}",
        "window", "call", "status", "p50 ms", "p95 ms", "p99 ms", "max ms", "added MiB"
    );
    let (mut calls_over, mut calls_total) = (0, 0);
    for (label, from) in [
        ("day", Some(end - DAY)),
        ("month", Some(end - 30 * DAY)),
        ("year", Some(end - 365 * DAY)),
        ("all", None),
    ] {
        let span = end - from.unwrap_or(first);
        // As the pages choose it from the window.
        let period = match span / DAY {
            0..=3 => "hour",
            4..=180 => "day",
            181..=730 => "week",
            _ => "month",
        };
        let w = match from {
            Some(f) => format!("&from={}&to={}", date(f), date(end)),
            None => String::new(),
        };
        let hw = format!("&from={}&to={}", date(from.unwrap_or(first)), date(end));
        let s = server;
        let mut calls: Vec<(String, String)> = vec![
            (
                "history".into(),
                format!("/api/v1/license-servers/{s}/history?x=1{hw}"),
            ),
            (
                format!("history {feature}"),
                format!("/api/v1/license-servers/{s}/history?feature={feature}{hw}"),
            ),
        ];
        for report in ReportName::ALL.map(ReportName::as_str) {
            let period = match report {
                "usage" => format!("&period={period}"),
                // SFLM sums days at the finest.
                "sflm" if period == "hour" => "&period=day".into(),
                "sflm" => format!("&period={period}"),
                _ => String::new(),
            };
            calls.push((
                format!("reports/{report}"),
                format!("/api/v1/reports/{report}?server={s}{w}{period}"),
            ));
        }
        calls.push((
            "reports/usage, all servers".into(),
            format!("/api/v1/reports/usage?x=1{w}&period={period}"),
        ));
        for (name, path) in calls {
            let mut ms = Vec::new();
            let mut added: f64 = 0.0;
            let mut status = 0;
            for _ in 0..reps {
                reset_peak(pid);
                let before = memory_kib(pid, "VmRSS:");
                let t = Instant::now();
                let (s, _) = client.get(&path);
                ms.push(t.elapsed().as_secs_f64() * 1000.0);
                let peak = memory_kib(pid, "VmHWM:");
                added = added.max(peak.saturating_sub(before) as f64 / 1024.0);
                status = s;
            }
            let st = stats(&ms);
            calls_total += 1;
            let ok = status == 200 && st.p95 <= TARGET_MS && added <= TARGET_ADDED_MIB;
            if !ok {
                calls_over += 1;
            }
            println!(
                "{label:<6} {name:<44} {status:>6} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {added:>10.1}   {}",
                st.p50,
                st.p95,
                st.p99,
                st.max,
                if ok { "ok" } else { "OVER" }
            );
        }
    }
    println!(
        "{} of {calls_total} calls answered 200 within p95 <= {TARGET_MS} ms and <= \
         {TARGET_ADDED_MIB} MiB added (load {})",
        calls_total - calls_over,
        load_average()
    );
}

/// Part 3: the 20x FlexNet database, its reports over windows, then reads under import.
fn flex_20x(tmp: &Path) {
    let Some(corpus) = dated::corpus_log() else {
        println!(
            "\n== 3. skipped: the corpus log {} is not there",
            dated::CORPUS_LOG
        );
        return;
    };
    let original = std::fs::read(&corpus).expect("reading the corpus log");
    let kept = std::env::var_os("TALLY_BENCH_20X_DB").map(PathBuf::from);
    let db_path = kept.clone().unwrap_or_else(|| tmp.join("flex20.db"));
    let db = Db {
        url: format!("sqlite://{}", db_path.display()),
        dir: tmp.to_path_buf(),
    };
    let fresh = !db_path.exists();
    let token = db.token(&db_path.with_extension("token"));
    if fresh {
        let log = dated::twenty_times(&original);
        let hash = hex::encode(Sha256::digest(&log));
        assert_eq!(hash, dated::SHA256_20X, "the 20x file's sha256");
        let path = tmp.join("lmgrd-20x.log");
        std::fs::write(&path, &log).expect("the 20x file");
        let t = Instant::now();
        db.run(
            &[
                "import",
                "--server",
                FLEX,
                "--utc-offset",
                "0",
                path.to_str().expect("path"),
            ],
            "",
        );
        println!("\n20x file imported in {:.1} s", t.elapsed().as_secs_f64());
        let _ = std::fs::remove_file(&path);
    } else {
        println!("\nreusing {}", db_path.display());
    }
    if let Ok(m) = std::fs::metadata(&db_path) {
        println!("database: {:.0} MB", m.len() as f64 / 1e6);
    }
    let served = db.serve();
    let client = Client {
        address: served.address.clone(),
        token,
    };
    let (first, end) = history_span(&client, FLEX);
    let feature = busiest_feature(&client, FLEX);
    println!(
        "\n== 3a. reports over windows, the 20x FlexNet database ({} to {}, feature {feature}; load {})",
        date(first),
        date(end),
        load_average()
    );
    windows(&client, served.child.id(), FLEX, &feature, end, first);

    // Copies 20.. carry the history on: an import of new days while the pages are read.
    let copies: i64 = std::env::var("TALLY_BENCH_IMPORT_COPIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
    let path = tmp.join("lmgrd-more.log");
    let more = dated::copies(&original, dated::COPIES..dated::COPIES + copies);
    std::fs::write(&path, &more).expect("the log to import");
    let lines = memchr_lines(&more);
    drop(more);
    let w = format!("from={}&to={}", date(end - 30 * DAY), date(end));
    let y = format!("from={}&to={}", date(end - 365 * DAY), date(end));
    let calls: Vec<(String, String)> = vec![
        (
            "history 30 d".into(),
            format!("/api/v1/license-servers/{FLEX}/history?{w}"),
        ),
        (
            "history 1 y".into(),
            format!("/api/v1/license-servers/{FLEX}/history?feature={feature}&{y}"),
        ),
        (
            "reports/usage 30 d".into(),
            format!("/api/v1/reports/usage?server={FLEX}&{w}&period=day"),
        ),
        (
            "reports/usage 1 y".into(),
            format!("/api/v1/reports/usage?server={FLEX}&{y}&period=week"),
        ),
        (
            "reports/heatmap 30 d".into(),
            format!("/api/v1/reports/heatmap?server={FLEX}&{w}"),
        ),
        (
            "reports/features 30 d".into(),
            format!("/api/v1/reports/features?server={FLEX}&{w}"),
        ),
        (
            "reports/users 30 d".into(),
            format!("/api/v1/reports/users?server={FLEX}&{w}"),
        ),
        ("users page".into(), "/api/v1/users?limit=100".into()),
    ];
    println!(
        "\n== 3b. {LOADED_CLIENTS} clients on rollup-backed calls while `tally import` adds \
         {copies} copies ({lines} lines) to the same database (load {})",
        load_average()
    );
    let mut import = db
        .command(&[
            "import",
            "--server",
            FLEX,
            "--utc-offset",
            "0",
            path.to_str().expect("path"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("tally import");
    let done = Arc::new(AtomicBool::new(false));
    let timings: Arc<Mutex<Vec<Vec<f64>>>> = Arc::new(Mutex::new(vec![Vec::new(); calls.len()]));
    let calls = Arc::new(calls);
    let started = Instant::now();
    let workers: Vec<_> = (0..LOADED_CLIENTS)
        .map(|c| {
            let (calls, timings, client, done) =
                (calls.clone(), timings.clone(), client.clone(), done.clone());
            std::thread::spawn(move || {
                let mut mine = vec![Vec::new(); calls.len()];
                let mut k = c;
                while !done.load(Ordering::Relaxed) {
                    let i = k % calls.len();
                    let t = Instant::now();
                    let (status, _) = client.get(&calls[i].1);
                    mine[i].push(t.elapsed().as_secs_f64() * 1000.0);
                    assert_eq!(status, 200, "{}", calls[i].1);
                    k += 1;
                }
                let mut all = timings.lock().expect("timings");
                for (a, m) in all.iter_mut().zip(mine) {
                    a.extend(m);
                }
            })
        })
        .collect();
    let status = import.wait().expect("tally import");
    let import_s = started.elapsed().as_secs_f64();
    let load = load_average();
    done.store(true, Ordering::Relaxed);
    for w in workers {
        w.join().expect("client");
    }
    assert!(status.success(), "tally import failed");
    let _ = std::fs::remove_file(&path);
    println!(
        "import: {lines} lines in {import_s:.1} s ({:.0} k lines/s while serving), load {load}",
        lines as f64 / import_s / 1e3
    );
    println!(
        "{:<28} {:>7} {:>8} {:>8} {:>8} {:>8}",
        "call", "calls", "p50 ms", "p95 ms", "p99 ms", "max ms"
    );
    let timings = timings.lock().expect("timings");
    for ((name, _), ms) in calls.iter().zip(timings.iter()) {
        if ms.is_empty() {
            println!("{name:<28} {:>7}", 0);
            continue;
        }
        let s = stats(ms);
        println!(
            "{name:<28} {:>7} {:>8.1} {:>8.1} {:>8.1} {:>8.1}   {}",
            ms.len(),
            s.p50,
            s.p95,
            s.p99,
            s.max,
            if s.p99 <= LOADED_TARGET_P99_MS {
                "ok"
            } else {
                "OVER"
            }
        );
    }
    drop(served);
    if kept.is_none() {
        let _ = std::fs::remove_file(db_path.with_extension("token"));
    }
}

fn memchr_lines(data: &[u8]) -> usize {
    data.iter().filter(|&&b| b == b'\n').count()
}

/// The first and the end of the last day with data of `server`: from its yearly, monthly and
/// daily history.
fn history_span(client: &Client, server: &str) -> (i64, i64) {
    let starts = |from: i64, to: i64, resolution: &str| -> Vec<i64> {
        let path = format!(
            "/api/v1/license-servers/{server}/history?from={}&to={}&resolution={resolution}",
            date(from),
            date(to)
        );
        let (status, body) = client.get(&path);
        assert_eq!(status, 200, "{path}");
        let json: serde_json::Value = serde_json::from_slice(body_of(&body)).expect("JSON");
        let mut t: Vec<i64> = json["series"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|s| s["points"].as_array().cloned().unwrap_or_default())
            .filter_map(|p| {
                chrono::DateTime::parse_from_rfc3339(p["t"].as_str()?)
                    .ok()
                    .map(|d| d.timestamp())
            })
            .collect();
        t.sort_unstable();
        t
    };
    let years = starts(946_684_800, 4_102_444_800, "year");
    let (first, last) = (
        *years.first().expect("a history"),
        *years.last().expect("a history"),
    );
    let months = starts(last, last + 366 * DAY, "month");
    let last = *months.last().expect("months");
    let days = starts(last, last + 31 * DAY, "day");
    let last_day = *days.last().expect("days");
    let firsts = starts(first, first + 366 * DAY, "day");
    (*firsts.first().expect("days"), last_day + DAY)
}

/// The feature with the most license-hours of `server`.
fn busiest_feature(client: &Client, server: &str) -> String {
    let path = format!("/api/v1/reports/features?server={server}&sort=used_hours&top=1");
    let (status, body) = client.get(&path);
    assert_eq!(status, 200, "{path}");
    let json: serde_json::Value = serde_json::from_slice(body_of(&body)).expect("JSON");
    let column = json["columns"]
        .as_array()
        .and_then(|c| c.iter().position(|c| c["name"] == "feature"))
        .expect("a feature column");
    json["rows"][0][column]
        .as_str()
        .expect("a feature")
        .to_string()
}

/// The body of an HTTP/1.1 answer (`Connection: close`, no chunking expected of JSON).
fn body_of(answer: &[u8]) -> &[u8] {
    let at = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(0, |p| p + 4);
    &answer[at..]
}

/// Resets the process's peak resident memory (`VmHWM`) to its current one.
fn reset_peak(pid: u32) {
    let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
}

/// A `/proc/PID/status` memory line, in KiB.
fn memory_kib(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

struct Stats {
    p50: f64,
    p95: f64,
    p99: f64,
    max: f64,
}

/// Percentiles in milliseconds.
fn stats(ms: &[f64]) -> Stats {
    let mut v = ms.to_vec();
    v.sort_by(f64::total_cmp);
    let at = |q: f64| v[((v.len() as f64 * q).ceil() as usize).clamp(1, v.len()) - 1];
    Stats {
        p50: at(0.5),
        p95: at(0.95),
        p99: at(0.99),
        max: v[v.len() - 1],
    }
}

fn date(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .expect("time")
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// What each page calls, as `web/js/pages/*.js` calls it, windows ending with the history.
fn page_calls() -> Vec<(&'static str, String)> {
    let (from30, from24h, from3y, to) = (
        date(END - 30 * DAY),
        date(END - DAY),
        date(END - i64::from(YEARS) * 365 * DAY),
        date(END),
    );
    let s = "gen-01";
    let f = "solver";
    let w = format!("from={from30}&to={to}");
    let mut calls: Vec<(&'static str, String)> = vec![
        ("dashboard", "/api/v1/license-servers".into()),
        ("dashboard", "/api/v1/usage".into()),
        ("dashboard", format!("/api/v1/license-servers/{s}/features")),
        (
            "dashboard",
            format!("/api/v1/denials?from={from24h}&limit=1000"),
        ),
        ("server", format!("/api/v1/license-servers/{s}")),
        ("server usage", format!("/api/v1/license-servers/{s}/usage")),
        (
            "server history",
            format!("/api/v1/license-servers/{s}/history?feature={f}&{w}"),
        ),
        (
            "server history 3 y",
            format!("/api/v1/license-servers/{s}/history?feature={f}&from={from3y}&to={to}"),
        ),
        (
            "server history all",
            format!("/api/v1/license-servers/{s}/history?{w}"),
        ),
        (
            "utilisation",
            format!("/api/v1/license-servers/{s}/history?feature={f}&{w}&resolution=hour"),
        ),
        (
            "heatmap",
            format!("/api/v1/reports/heatmap?server={s}&feature={f}&{w}"),
        ),
        (
            "denials chart",
            format!("/api/v1/reports/usage?server={s}&feature={f}&{w}&period=day"),
        ),
        (
            "server sessions",
            format!("/api/v1/sessions?server={s}&{w}&limit=100"),
        ),
        (
            "server denials",
            format!("/api/v1/denials?server={s}&{w}&limit=100"),
        ),
        (
            "server users",
            format!("/api/v1/reports/users?server={s}&by=user&{w}"),
        ),
        ("users", "/api/v1/users?limit=100".into()),
        ("hosts", "/api/v1/hosts?limit=100".into()),
        ("licensing", "/api/v1/license".into()),
        ("reports", "/api/v1/reports".into()),
        ("admin", "/api/v1/accounts".into()),
        ("admin", "/api/v1/tokens".into()),
        ("admin", "/api/v1/admin/plugins".into()),
        ("admin", "/api/v1/imports".into()),
    ];
    for report in ReportName::ALL.map(ReportName::as_str) {
        let period = if report == "usage" { "&period=day" } else { "" };
        calls.push((
            "reports",
            format!("/api/v1/reports/{report}?server={s}&{w}{period}"),
        ));
    }
    calls.push((
        "reports 3 y",
        format!("/api/v1/reports/usage?from={from3y}&to={to}&period=month"),
    ));
    calls
}

/// HTTP/1.1 GETs with the bench's token, a connection each (loopback: the connect is cheap).
#[derive(Clone)]
struct Client {
    address: String,
    token: String,
}

impl Client {
    fn get(&self, path: &str) -> (u16, Vec<u8>) {
        let mut stream = TcpStream::connect(&self.address).expect("connect");
        // Far over any target: a call this slow fails the bench rather than hanging it.
        stream
            .set_read_timeout(Some(Duration::from_secs(600)))
            .expect("timeout");
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
            self.address, self.token
        )
        .expect("request");
        let mut answer = Vec::new();
        stream
            .read_to_end(&mut answer)
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        let status = std::str::from_utf8(&answer[..answer.len().min(12)])
            .ok()
            .and_then(|l| l.get(9..12))
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        (status, answer)
    }
}
