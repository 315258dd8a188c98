//! Store benchmark (PERF.md targets 3 and 5), from one run:
//!
//! 1. **Write path**: `tally gen` (the real binary: the model, then the import write path with
//!    its hourly rollups, one transaction per batch) into a fresh SQLite file, median of 5;
//!    baseline in the same run: rusqlite prepared statements inserting *the same rows the store
//!    ended with* (names, sessions, denials, long sessions, hour and user-hour rollups) into the
//!    same schema in one transaction. Rates are facts (sessions + denials) per second. Then the
//!    same `tally gen` on PostgreSQL (COPY) when `TALLY_TEST_POSTGRES_URL` is set.
//! 2. **Report latency** on a generated 3-year history (`--sessions`, default 10 M) on SQLite
//!    and on PostgreSQL: p50/p95 per report over 20 requests each (random features and servers,
//!    fixed seed), each request = the store reads `tally report` makes (hourly rows, or rows
//!    added up over the window for reports that fold it as one group) plus the
//!    `tally_core::report` fold.
//!    The generated database is cached under `target/tmp/store-bench/`, keyed by the gen
//!    parameters (on PostgreSQL: database `tally_bench_<key>`, with a marker file there), so a
//!    re-run does not regenerate; delete the files (or drop the database) to start over.
//!
//!    Baselines in the same run: the two reports over a server's month also answered from the
//!    hourly rows, as every report read them before they read the window added up in SQL.
//!
//! `cargo bench -p tally --bench store [-- --sessions N] [--write-sessions N] [--skip-write]`

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use rusqlite::types::Value as SqlValue;
use serde_json::Value;
use tally_core::period::{DAY, Logged, Period};
use tally_core::report::{self, By, sflm};
use tally_core::rollup::FeatureKey;
use tally_store::testing::{drop_database, with_database};
use tally_store::{RollupFilter, Store};

const REPS: usize = 5;
/// Requests timed per report kind (after one warm-up).
const REQUESTS: usize = 20;
/// The end of every generated history (`tally gen`).
const END: i64 = 1_767_225_600;
/// `tally gen`'s sessions per user and year, about.
const PER_USER_YEAR: u64 = 1_000;
const SCHEMA: [&str; 7] = [
    include_str!("../../tally-store/migrations/sqlite/0001_initial.sql"),
    include_str!("../../tally-store/migrations/sqlite/0002_servers_and_polls.sql"),
    include_str!("../../tally-store/migrations/sqlite/0003_rollups.sql"),
    include_str!("../../tally-store/migrations/sqlite/0004_logged_hours.sql"),
    include_str!("../../tally-store/migrations/sqlite/0005_open_checkout_end.sql"),
    include_str!("../../tally-store/migrations/sqlite/0006_rollups_without_foreign_keys.sql"),
    include_str!("../../tally-store/migrations/sqlite/0007_lasting_denials.sql"),
];
/// Tables the store writes for a generated history, parents first, with their columns.
const TABLES: [(&str, &str); 10] = [
    ("license_server", "id, name, manager, created_at"),
    (
        "import_run",
        "id, server_id, format, plugin, plugin_version, path, head_len, head_hash, status, started_at, updated_at, first_event, last_event",
    ),
    ("feature", "id, server_id, vendor, name, issued"),
    ("\"user\"", "id, name"),
    ("host", "id, name"),
    (
        "session",
        "server_id, feature_id, user_id, host_id, count, start, \"end\", end_reason, project, import_run_id",
    ),
    (
        "denial",
        "server_id, feature_id, user_id, host_id, count, time, until_time, kind, code, reason, requested_version, import_run_id",
    ),
    (
        "long_session",
        "server_id, feature_id, user_id, host_id, count, start, \"end\", end_reason, import_run_id",
    ),
    (
        "hour_rollup",
        "feature_id, hour, server_id, peak_in_use, peak_desired, used_seconds, desired_seconds, denials, checkouts, distinct_users, distinct_hosts",
    ),
    (
        "user_hour",
        "feature_id, hour, user_id, host_id, server_id, peak_in_use, peak_desired, used_seconds, desired_seconds, denials, checkouts",
    ),
];

/// `tally gen` parameters.
#[derive(Debug, Clone, Copy)]
struct Gen {
    servers: u32,
    features: u32,
    users: u32,
    years: u32,
    seed: u64,
}

impl Gen {
    /// About `sessions` sessions over `years`.
    fn sized(sessions: u64, servers: u32, features: u32, years: u32) -> Gen {
        Gen {
            servers,
            features,
            users: u32::try_from(sessions.div_ceil(PER_USER_YEAR * u64::from(years)))
                .unwrap_or(u32::MAX)
                .max(1),
            years,
            seed: 1,
        }
    }

    fn key(&self) -> String {
        format!(
            "s{}-f{}-u{}-y{}-seed{}",
            self.servers, self.features, self.users, self.years, self.seed
        )
    }

    /// Runs `tally gen --json` into `url`; returns its summary and the wall time.
    fn run(&self, url: &str, scratch: &Path) -> (Value, Duration) {
        let t = Instant::now();
        let out = Command::new(env!("CARGO_BIN_EXE_tally"))
            .args(["--db", url, "gen", "--json"])
            .args(["--servers", &self.servers.to_string()])
            .args(["--features", &self.features.to_string()])
            .args(["--users", &self.users.to_string()])
            .args(["--years", &self.years.to_string()])
            .args(["--seed", &self.seed.to_string()])
            .env("TALLY_PLUGIN_DIR", scratch.join("no-plugins"))
            .output()
            .expect("running tally gen");
        let elapsed = t.elapsed();
        assert!(
            out.status.success(),
            "tally gen: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        (
            serde_json::from_slice(&out.stdout).expect("gen summary"),
            elapsed,
        )
    }
}

struct Options {
    sessions: u64,
    write_sessions: u64,
    skip_write: bool,
}

fn options() -> Options {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .map(|v| v.replace('_', "").parse().expect("a number of sessions"))
    };
    Options {
        sessions: value("--sessions").unwrap_or(10_000_000),
        write_sessions: value("--write-sessions").unwrap_or(300_000),
        skip_write: args.iter().any(|a| a == "--skip-write"),
    }
}

fn main() {
    let opts = options();
    let scratch = tempfile::tempdir().expect("temp dir");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let postgres = std::env::var("TALLY_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty());
    if postgres.is_none() {
        println!(
            "PostgreSQL runs skipped: set TALLY_TEST_POSTGRES_URL (`eval \"$(bash .ci/run databases)\"`)"
        );
    }
    if !opts.skip_write {
        write_path(
            &runtime,
            scratch.path(),
            opts.write_sessions,
            postgres.as_deref(),
        );
        println!();
    }
    reports(&runtime, scratch.path(), opts.sessions, postgres.as_deref());
}

// ---------------------------------------------------------------------------------------------
// 1. Write path

fn write_path(runtime: &tokio::runtime::Runtime, scratch: &Path, sessions: u64, pg: Option<&str>) {
    let g = Gen::sized(sessions, 4, 20, 1);
    println!(
        "write path: `tally gen` {} ({} users, 1 year), fresh database per repetition",
        g.key(),
        g.users
    );
    let mut facts = 0u64;
    let mut rep = 0;
    let mut first = None;
    let gen_sqlite = median(|| {
        rep += 1;
        let path = scratch.join(format!("write-{rep}.db"));
        let (summary, took) = g.run(&sqlite_url(&path), scratch);
        facts =
            summary["sessions"].as_u64().unwrap_or(0) + summary["denials"].as_u64().unwrap_or(0);
        first.get_or_insert(path);
        took
    });
    let source = first.expect("a generated database");
    let rows = read_rows(&source);
    let all_rows: usize = rows.iter().map(|(_, _, r)| r.len()).sum();
    let mut rep = 0;
    let baseline = median(|| {
        rep += 1;
        rusqlite_insert(&scratch.join(format!("baseline-{rep}.db")), &rows)
    });

    let gen_pg = pg.map(|admin| {
        let mut rep = 0;
        median(|| {
            rep += 1;
            let name = format!("tally_bench_write_{}_{rep}", std::process::id());
            let (_, took) = g.run(&with_database(admin, &name), scratch);
            runtime.block_on(drop_database(admin, &name));
            took
        })
    });

    let rate = |d: Duration| facts as f64 / d.as_secs_f64();
    println!("{facts} facts (sessions + denials); {all_rows} rows in all with names and rollups\n");
    println!(
        "{:<62} {:>9} {:>16}",
        "write (median of 5)", "time", "facts/s"
    );
    let line = |what: &str, d: Duration| {
        println!("{what:<62} {:>7.0}ms {:>12.0} k/s", ms(d), rate(d) / 1e3);
    };
    line(
        "`tally gen` -> SQLite (model + write path + rollups, process)",
        gen_sqlite,
    );
    line(
        "baseline: rusqlite prepared, the same rows, one transaction",
        baseline,
    );
    if let Some(d) = gen_pg {
        line("`tally gen` -> PostgreSQL (COPY + rollups, process)", d);
    }
    println!();
    let ratio = |d: Duration| baseline.as_secs_f64() / d.as_secs_f64();
    println!(
        "target 3  SQLite write rate / rusqlite       {:>5.2}x  (target >= 0.6x)",
        ratio(gen_sqlite)
    );
    if let Some(d) = gen_pg {
        println!(
            "          PostgreSQL write rate / rusqlite   {:>5.2}x  (same baseline)",
            ratio(d)
        );
    }
}

type TableRows = (&'static str, &'static str, Vec<Vec<SqlValue>>);

fn read_rows(path: &Path) -> Vec<TableRows> {
    let conn = rusqlite::Connection::open(path).expect("open generated db");
    TABLES
        .iter()
        .map(|&(table, cols)| {
            let mut q = conn
                .prepare(&format!("SELECT {cols} FROM {table}"))
                .expect("select");
            let n = q.column_count();
            let rows = q
                .query_map([], |r| (0..n).map(|i| r.get::<_, SqlValue>(i)).collect())
                .expect("rows")
                .collect::<Result<Vec<Vec<SqlValue>>, _>>()
                .expect("rows");
            (table, cols, rows)
        })
        .collect()
}

/// The fastest plain way to store the rows: prepared statements in one transaction, the store's
/// schema and pragmas. Returns the time of the inserts and the commit.
fn rusqlite_insert(path: &Path, tables: &[TableRows]) -> Duration {
    let mut conn = rusqlite::Connection::open(path).expect("open");
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")
        .expect("pragmas");
    for sql in SCHEMA {
        conn.execute_batch(sql).expect("schema");
    }
    let t = Instant::now();
    let tx = conn.transaction().expect("tx");
    for (table, cols, rows) in tables {
        let marks = vec!["?"; cols.split(',').count()].join(", ");
        let mut stmt = tx
            .prepare(&format!("INSERT INTO {table} ({cols}) VALUES ({marks})"))
            .expect("prepare");
        for row in rows {
            stmt.execute(rusqlite::params_from_iter(row))
                .expect("insert");
        }
    }
    tx.commit().expect("commit");
    t.elapsed()
}

// ---------------------------------------------------------------------------------------------
// 2. Report latency

fn reports(runtime: &tokio::runtime::Runtime, scratch: &Path, sessions: u64, pg: Option<&str>) {
    let g = Gen::sized(sessions, 10, 30, 3);
    let cache = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("store-bench");
    std::fs::create_dir_all(&cache).expect("cache dir");
    println!(
        "reports: a generated 3-year history of about {} M sessions ({}), cached in {}",
        sessions as f64 / 1e6,
        g.key(),
        cache.display()
    );

    let db = cache.join(format!("{}.db", g.key()));
    let url = sqlite_url(&db);
    let marker = cache.join(format!("{}.json", g.key()));
    let summary = cached(runtime, &url, &marker, || {
        for ext in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{ext}", db.display()));
        }
        g.run(&url, scratch)
    });
    println!(
        "  SQLite: {} sessions, {} denials; {:.1} GB",
        summary["sessions"],
        summary["denials"],
        std::fs::metadata(&db).map_or(0, |m| m.len()) as f64 / 1e9
    );
    let mut results = vec![("SQLite", runtime.block_on(time_reports(&url)))];

    if let Some(admin) = pg {
        let name = format!("tally_bench_{}", g.key().replace('-', "_"));
        let url = with_database(admin, &name);
        let marker = cache.join(format!("{}.postgres.json", g.key()));
        let summary = cached(runtime, &url, &marker, || {
            runtime.block_on(drop_database(admin, &name));
            g.run(&url, scratch)
        });
        println!(
            "  PostgreSQL: {} sessions, {} denials (database {name})",
            summary["sessions"], summary["denials"]
        );
        results.push(("PostgreSQL", runtime.block_on(time_reports(&url))));
    }

    println!();
    println!(
        "{:<58} {:>10} {:>10} {:>10}",
        "report (20 requests each)", "rows read", "p50", "p95"
    );
    for (backend, kinds) in &results {
        let mut all: Vec<Duration> = Vec::new();
        for k in kinds {
            println!(
                "{:<58} {:>10} {:>8.1}ms {:>8.1}ms",
                format!("{backend}: {}", k.name),
                k.rows / k.times.len(),
                ms(pct(&k.times, 50)),
                ms(pct(&k.times, 95))
            );
            if !k.baseline {
                all.extend(&k.times);
            }
        }
        println!(
            "{:<58} {:>10} {:>8.1}ms {:>8.1}ms",
            format!("{backend}: all (without the baselines)"),
            "",
            ms(pct(&all, 50)),
            ms(pct(&all, 95))
        );
    }
    println!();
    for (backend, kinds) in &results {
        let all: Vec<Duration> = kinds
            .iter()
            .filter(|k| !k.baseline)
            .flat_map(|k| k.times.clone())
            .collect();
        println!(
            "target 5  {backend:<10} report p95 {:>7.1}ms  (target <= 200 ms on a 3-year, 100 M-session history; this one: {} M)",
            ms(pct(&all, 95)),
            sessions as f64 / 1e6
        );
    }
}

/// The summary of the generated database at `url`, generating it first unless `marker` (written
/// after a complete generation) says it is there and the database agrees.
fn cached(
    runtime: &tokio::runtime::Runtime,
    url: &str,
    marker: &Path,
    generate: impl FnOnce() -> (Value, Duration),
) -> Value {
    if let Some(summary) = std::fs::read(marker)
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
    {
        let stored = runtime.block_on(async {
            let store = Store::open(url).await.ok()?;
            let totals = store.row_counts().await.ok();
            store.close().await;
            totals
        });
        if stored.is_some_and(|t| Some(t.sessions) == summary["sessions"].as_u64()) {
            println!(
                "  reusing {url} (generated before; remove {} to regenerate)",
                marker.display()
            );
            return summary;
        }
    }
    println!("  generating {url} (cached for later runs) ...");
    let (summary, took) = generate();
    let facts =
        summary["sessions"].as_u64().unwrap_or(0) + summary["denials"].as_u64().unwrap_or(0);
    println!(
        "  generated in {:.0} s: {:.0} facts/s",
        took.as_secs_f64(),
        facts as f64 / took.as_secs_f64()
    );
    std::fs::write(marker, summary.to_string()).expect("writing the cache marker");
    summary
}

/// One kind of report request and its timings.
struct Kind {
    name: &'static str,
    times: Vec<Duration>,
    /// Rollup rows read, over all requests.
    rows: usize,
    /// Not a report as `tally report` runs it: left out of "all" and target 5.
    baseline: bool,
}

/// Which request: the report, its scope and window.
#[derive(Debug, Clone, Copy)]
enum Request {
    /// Daily usage of one feature over 90 days (a dashboard chart).
    UsageDaily { feature: FeatureKey },
    /// Hour-of-day x weekday heatmap of one feature over 90 days.
    Heatmap { feature: FeatureKey },
    /// SFLM monthly summary of one feature over the whole 3 years.
    SflmMonthly { feature: FeatureKey },
    /// Peak, average, utilisation and unused/under-used features of one server over 30 days;
    /// `hourly`: from the hourly rows (the baseline), else from the window added up in SQL.
    ServerFeatureStats { server: i64, hourly: bool },
    /// License-hours per user on one server over 30 days (`hourly` likewise).
    ServerUsageByUser { server: i64, hourly: bool },
}

async fn time_reports(url: &str) -> Vec<Kind> {
    let store = Store::open(url).await.expect("open");
    let features = store.features(None).await.expect("features");
    let issued: BTreeMap<FeatureKey, u32> = features
        .iter()
        .filter_map(|f| {
            let key = FeatureKey {
                server: f.server_id,
                feature: f.id,
            };
            Some((key, f.issued?))
        })
        .collect();
    let keys: Vec<FeatureKey> = issued.keys().copied().collect();
    let servers: Vec<i64> = {
        let mut s: Vec<i64> = keys.iter().map(|k| k.server).collect();
        s.dedup();
        s
    };
    // Fixed picks: every backend answers the same requests.
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let mut pick = |n: usize| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % n as u64) as usize
    };
    let names = [
        "usage over time, 1 feature, 90 days, daily",
        "heatmap, 1 feature, 90 days",
        "SFLM monthly summary, 1 feature, 3 years",
        "feature stats + unused/under-used, 1 server, 30 days",
        "license-hours per user, 1 server, 30 days",
    ];
    let mut kinds: Vec<(&str, Vec<Request>)> = names
        .into_iter()
        .enumerate()
        .map(|(k, name)| {
            let requests = (0..=REQUESTS)
                .map(|_| match k {
                    0 => Request::UsageDaily {
                        feature: keys[pick(keys.len())],
                    },
                    1 => Request::Heatmap {
                        feature: keys[pick(keys.len())],
                    },
                    2 => Request::SflmMonthly {
                        feature: keys[pick(keys.len())],
                    },
                    3 => Request::ServerFeatureStats {
                        server: servers[pick(servers.len())],
                        hourly: false,
                    },
                    _ => Request::ServerUsageByUser {
                        server: servers[pick(servers.len())],
                        hourly: false,
                    },
                })
                .collect();
            (name, requests)
        })
        .collect();
    // Baselines: the same requests from the hourly rows, as every report read them before.
    let hourly = |r: &Request| match *r {
        Request::ServerFeatureStats { server, .. } => Request::ServerFeatureStats {
            server,
            hourly: true,
        },
        Request::ServerUsageByUser { server, .. } => Request::ServerUsageByUser {
            server,
            hourly: true,
        },
        other => other,
    };
    let baselines = [
        ("baseline: feature stats from hourly rows", 3),
        ("baseline: license-hours per user from hourly rows", 4),
    ]
    .map(|(name, k)| (name, kinds[k].1.iter().map(hourly).collect()));
    kinds.extend(baselines);
    let mut out = Vec::new();
    for (name, requests) in kinds {
        let mut times = Vec::new();
        let mut rows = 0;
        for (i, request) in requests.into_iter().enumerate() {
            let t = Instant::now();
            let n = run_request(&store, request, &issued).await;
            // The first request warms the pool and the page cache.
            if i > 0 {
                times.push(t.elapsed());
                rows += n;
            }
        }
        out.push(Kind {
            name,
            times,
            rows,
            baseline: name.starts_with("baseline"),
        });
    }
    store.close().await;
    out
}

/// Runs one request as an API handler would: store reads, then the report fold. Returns the
/// rollup rows read.
async fn run_request(store: &Store, request: Request, issued: &BTreeMap<FeatureKey, u32>) -> usize {
    let window = |days: i64| (END - days * DAY, END);
    let filter = |server: Option<i64>, feature: Option<i64>, (from, to): (i64, i64)| RollupFilter {
        server,
        feature,
        from: Some(from),
        to: Some(to),
    };
    let logged = |(from, to): (i64, i64)| {
        Logged::from_ranges([std::ops::Range {
            start: from,
            end: to,
        }])
    };
    match request {
        Request::UsageDaily { feature } => {
            let w = window(90);
            let f = filter(Some(feature.server), Some(feature.feature), w);
            let hours = store.hour_rollups(&f).await.expect("hours");
            let users = store.user_hours(&f).await.expect("users");
            let r = report::usage_over_time(Period::Day, &hours, &users, &logged(w));
            std::hint::black_box(r);
            hours.len() + users.len()
        }
        Request::Heatmap { feature } => {
            let w = window(90);
            let f = filter(Some(feature.server), Some(feature.feature), w);
            let hours = store.hour_rollups(&f).await.expect("hours");
            std::hint::black_box(report::heatmap(&hours, &logged(w)));
            hours.len()
        }
        Request::SflmMonthly { feature } => {
            let w = window(3 * 365);
            let f = filter(Some(feature.server), Some(feature.feature), w);
            let hours = store.hour_rollups(&f).await.expect("hours");
            let lines = sflm::summary(sflm::Mode::Month, &hours, None, &logged(w));
            std::hint::black_box(lines);
            hours.len()
        }
        Request::ServerFeatureStats { server, hourly } => {
            let w = window(30);
            let f = filter(Some(server), None, w);
            let mine: BTreeMap<FeatureKey, u32> = issued
                .iter()
                .filter(|(k, _)| k.server == server)
                .map(|(k, v)| (*k, *v))
                .collect();
            let (stats, rows) = if hourly {
                let hours = store.hour_rollups(&f).await.expect("hours");
                let users = store.user_hours(&f).await.expect("users");
                let stats = report::feature_stats(&hours, &users, &logged(w), &mine);
                (stats, hours.len() + users.len())
            } else {
                // As `tally report features` reads: the window added up in SQL.
                let (hours, active) = store.hour_totals(&f).await.expect("hours");
                let users = store.user_totals(&f).await.expect("users");
                let logged = logged(w).with(active.iter().copied());
                let stats = report::feature_stats(&hours, &users, &logged, &mine);
                (stats, hours.len() + active.len() + users.len())
            };
            std::hint::black_box((
                report::unused(&stats).len(),
                report::underused(&stats, 50.0).len(),
            ));
            rows
        }
        Request::ServerUsageByUser { server, hourly } => {
            let f = filter(Some(server), None, window(30));
            let users = if hourly {
                store.user_hours(&f).await.expect("users")
            } else {
                store.user_totals(&f).await.expect("users")
            };
            std::hint::black_box(report::usage_by(&users, By::User));
            users.len()
        }
    }
}

// ---------------------------------------------------------------------------------------------

fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn median(mut f: impl FnMut() -> Duration) -> Duration {
    let mut times: Vec<Duration> = (0..REPS).map(|_| f()).collect();
    times.sort();
    times[REPS / 2]
}

/// The `p`th percentile (nearest rank).
fn pct(times: &[Duration], p: usize) -> Duration {
    let mut t = times.to_vec();
    t.sort();
    let rank = (p * t.len()).div_ceil(100).max(1);
    t[rank - 1]
}
