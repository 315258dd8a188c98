//! Page latency (issue 18): every dashboard page's API calls answer p95 <= 200 ms on a
//! generated multi-year history, 20 clients at once on loopback.
//!
//! `tally gen` writes the history (default 3 years of 3,400 users on 4 servers x 20 features:
//! about 10 M sessions) into a fresh SQLite database, `tally serve` serves it, and 20 client
//! threads call, round after round, what each page of the dashboard calls (the same paths and
//! queries as `web/js/pages/*.js`, windows ending where the history ends). Printed per call:
//! p50, p95 and max, against the 200 ms target and against the baseline of the same run, the
//! liveness probe (`/api/v1/health/live`: routing, auth and a JSON answer, no store).
//!
//! `cargo bench -p tally --bench pages [-- USERS [ROUNDS]]` (default 3400 users, 5 rounds per
//! client). `TALLY_BENCH_DB=PATH` keeps the generated database there and reuses it if present;
//! `TALLY_BENCH_TALLY=PATH` measures that `tally` binary.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const CLIENTS: usize = 20;
const TARGET_MS: f64 = 200.0;
const YEARS: u32 = 3;
/// Where `tally gen`'s history ends: 2026-01-01T00:00Z.
const END: i64 = 1_767_225_600;
const DAY: i64 = 86_400;

/// The `tally` measured: `TALLY_BENCH_TALLY` (e.g. a release build while the bench itself was
/// built for tests), else the one cargo built with the bench.
fn tally_bin() -> PathBuf {
    std::env::var_os("TALLY_BENCH_TALLY")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_tally")))
}

fn main() {
    let mut args = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse::<u64>().ok());
    let users = args.next().unwrap_or(3400);
    let rounds = args.next().unwrap_or(5) as usize;
    let dir = tempfile::tempdir().expect("temp dir");
    let kept = std::env::var_os("TALLY_BENCH_DB").map(PathBuf::from);
    let db_path = kept.clone().unwrap_or_else(|| dir.path().join("pages.db"));
    let db = format!("sqlite://{}", db_path.display());
    let tally = |args: &[&str], stdin: &str| -> String {
        let mut child = Command::new(tally_bin())
            .args(["--db", &db])
            .args(args)
            .env("XDG_DATA_HOME", dir.path().join("data"))
            .env("XDG_CACHE_HOME", dir.path().join("cache"))
            .env_remove("TALLY_CONFIG")
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
    };

    let fresh = !db_path.exists();
    let token_file = db_path.with_extension("token");
    if fresh {
        // The account and its token first: the history passes the Community licence's limits,
        // and restricted access mode refuses writes (reads, which the pages make, still work).
        tally(
            &["user", "add", "bench", "--role", "administrator"],
            "bench-password\n",
        );
        let token = tally(
            &["token", "create", "--user", "bench", "--name", "bench"],
            "",
        );
        std::fs::write(&token_file, token.trim()).expect("token file");
        let started = Instant::now();
        let summary = tally(
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
    let token = std::fs::read_to_string(&token_file).expect("the bench's token");

    let mut server = Command::new(tally_bin())
        .args(["--db", &db, "serve", "--listen", "127.0.0.1:0"])
        .env("XDG_DATA_HOME", dir.path().join("data"))
        .env("XDG_CACHE_HOME", dir.path().join("cache"))
        .env_remove("TALLY_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("tally serve");
    let mut line = String::new();
    BufReader::new(server.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("listening");
    let address = line
        .trim()
        .rsplit_once("http://")
        .map(|(_, a)| a.to_string())
        .expect("the address");

    let calls = Arc::new(page_calls());
    let client = Client {
        address,
        token: token.trim().to_string(),
    };
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
    let _ = server.kill();
    let _ = server.wait();

    let timings = timings.lock().expect("timings");
    let total: usize = timings.iter().map(Vec::len).sum();
    println!(
        "{CLIENTS} clients x {rounds} rounds: {total} requests in {:.1} s ({:.0}/s)",
        wall.as_secs_f64(),
        total as f64 / wall.as_secs_f64()
    );
    let base = stats(&timings[0]);
    println!(
        "{:<58} {:>8} {:>8} {:>8} {:>8}",
        "call (page)", "alone", "p50 ms", "p95 ms", "max ms"
    );
    println!(
        "{:<58} {:>8} {:>8.1} {:>8.1} {:>8.1}   baseline",
        "/api/v1/health/live", "", base.0, base.1, base.2
    );
    let mut over = 0;
    for (i, (page, path)) in calls.iter().enumerate() {
        let (p50, p95, max) = stats(&timings[i + 1]);
        let verdict = if p95 <= TARGET_MS { "ok" } else { "OVER" };
        if p95 > TARGET_MS {
            over += 1;
        }
        let short: String = path.split('?').next().unwrap_or(path).into();
        println!(
            "{:<58} {:>8.1} {p50:>8.1} {p95:>8.1} {max:>8.1}   {verdict} ({:.1}x baseline p95)",
            format!("{short} ({page})"),
            alone[i],
            p95 / base.1.max(0.001)
        );
    }
    println!(
        "{} of {} calls within p95 <= {TARGET_MS} ms",
        calls.len() - over,
        calls.len()
    );
    if kept.is_none() {
        let _ = std::fs::remove_file(&token_file);
    }
}

/// (p50, p95, max) in milliseconds.
fn stats(ms: &[f64]) -> (f64, f64, f64) {
    let mut v = ms.to_vec();
    v.sort_by(f64::total_cmp);
    let at = |q: f64| v[((v.len() as f64 * q).ceil() as usize).clamp(1, v.len()) - 1];
    (at(0.5), at(0.95), v[v.len() - 1])
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
    for report in [
        "usage",
        "features",
        "unused",
        "underused",
        "users",
        "hosts",
        "denials",
        "heatmap",
        "sflm",
        "user-count",
    ] {
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
