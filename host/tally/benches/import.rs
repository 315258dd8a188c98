//! Import benchmark on a generated 1 M-line FlexNet debug log (PERF.md targets 1-3).
//!
//! Prints, from one run, medians of 5 repetitions of:
//! - native parse → records (the plugin crate called directly),
//! - the same parse through the wasm component (boundary and string table included),
//! - the store's write path (multi-row inserts on the writer thread) for the parsed batches,
//! - end-to-end `tally import` (the real binary, fresh SQLite database each time),
//! - the baseline: native parse + rusqlite prepared-statement bulk insert into the same schema.
//!
//! Then the ratios PERF.md sets targets for.
//!
//! `cargo bench -p tally --bench import [-- LINES]`

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use flexlm_log::FlexlmLog;
use tally_plugin_host::{ImportConfig, ImportRun, PluginEngine, Registry};
use tally_plugin_sdk::{Batch as SdkBatch, ImportConfig as SdkConfig, Importer};
use tally_store::{Checkpoint, FileIdentity, NewImport, Store};

const REPS: usize = 5;
const CHUNK: usize = 1 << 20;
const SCHEMA: &str = include_str!("../../tally-store/migrations/sqlite/0001_initial.sql");

fn main() {
    let lines: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let (log, totals) = flexlm_log::synth::generate(lines, 42);
    let log_path = dir.path().join("lmgrd.log");
    std::fs::write(&log_path, &log).expect("writing the log");
    let mb = log.len() as f64 / 1e6;
    println!(
        "generated FlexNet debug log: {} lines, {mb:.1} MB, {} checkouts, {} denials",
        totals.lines, totals.checkouts, totals.denials
    );
    let chunks = whole_line_chunks(log.as_bytes());

    // 1. Native parse → owned records.
    let native = median(|| {
        let t = Instant::now();
        let batch = native_parse(&chunks);
        assert_eq!(batch.sessions.len() as u64, totals.checkouts);
        t.elapsed()
    });

    // 2. The same parse through the component.
    let registry = Registry::new(PluginEngine::new(None).expect("engine"));
    let plugin = registry
        .add_dir(Path::new(tally_plugin_artifacts::FLEXLM_LOG))
        .expect("flexlm-log");
    let mut parsed = Vec::new();
    let component = median(|| {
        let t = Instant::now();
        let mut run = ImportRun::begin(plugin.clone(), &ImportConfig::default()).expect("begin");
        let mut batches: Vec<_> = chunks.iter().map(|c| run.feed(c).expect("feed")).collect();
        batches.push(run.finish().expect("finish"));
        let elapsed = t.elapsed();
        assert_eq!(
            batches.iter().map(|b| b.sessions.len() as u64).sum::<u64>(),
            totals.checkouts
        );
        parsed = batches;
        elapsed
    });
    let rows: u64 = parsed
        .iter()
        .map(|b| (b.sessions.len() + b.denials.len() + b.server_events.len()) as u64)
        .sum();

    // 3. The store's write path alone, for the batches the component produced.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut rep = 0;
    let write = median(|| {
        rep += 1;
        let url = format!(
            "sqlite://{}",
            dir.path().join(format!("write-{rep}.db")).display()
        );
        let batches = parsed.clone();
        runtime.block_on(async {
            let store = Store::open(&url).await.expect("store");
            let server = store
                .ensure_server("bench", "flexlm-debuglog")
                .await
                .expect("server");
            let identity = FileIdentity {
                head_len: 0,
                head_hash: String::new(),
            };
            let new = NewImport {
                server_id: server,
                format: "f".into(),
                plugin: "p".into(),
                plugin_version: "0".into(),
                path: "p".into(),
                identity,
            };
            let run = store.start_import(new).await.expect("run");
            let t = Instant::now();
            let mut pending = Vec::new();
            for batch in batches {
                pending.push(
                    store
                        .commit_batch(run, server, batch, Checkpoint::default())
                        .await
                        .expect("queued"),
                );
            }
            for p in pending {
                p.await.expect("writer").expect("commit");
            }
            t.elapsed()
        })
    });

    // 4. End to end: the real binary.
    let mut rep = 0;
    let e2e = median(|| {
        rep += 1;
        let db = format!(
            "sqlite://{}",
            dir.path().join(format!("e2e-{rep}.db")).display()
        );
        let t = Instant::now();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_tally"))
            .args(["--db", &db, "import", "--json", "--utc-offset", "0"])
            .arg(&log_path)
            .env("TALLY_PLUGIN_DIR", dir.path().join("no-plugins"))
            // The first repetition compiles the plugin into this cache; the median is warm.
            .env("XDG_CACHE_HOME", dir.path().join("cache"))
            .output()
            .expect("running tally");
        let elapsed = t.elapsed();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        assert_eq!(summary["sessions"].as_u64(), Some(totals.checkouts));
        elapsed
    });

    // 5. Baseline: native parse + rusqlite prepared statements, one transaction, same schema.
    let mut rep = 0;
    let mut insert_only = Vec::new();
    let baseline = median(|| {
        rep += 1;
        let t = Instant::now();
        let batch = native_parse(&chunks);
        let parsed_at = t.elapsed();
        rusqlite_insert(&dir.path().join(format!("baseline-{rep}.db")), &batch);
        let elapsed = t.elapsed();
        insert_only.push(elapsed - parsed_at);
        elapsed
    });
    insert_only.sort();
    let insert_only = insert_only[insert_only.len() / 2];

    let rate = |d: Duration| totals.lines as f64 / d.as_secs_f64();
    let row_rate = |d: Duration| rows as f64 / d.as_secs_f64();
    println!();
    println!(
        "{:<48} {:>10} {:>14}",
        "stage (median of 5)", "time", "rate"
    );
    println!(
        "{:<48} {:>8.0}ms {:>10.2} M lines/s",
        "native parse -> records",
        ms(native),
        rate(native) / 1e6
    );
    println!(
        "{:<48} {:>8.0}ms {:>10.2} M lines/s",
        "component parse (wasm, records across the boundary)",
        ms(component),
        rate(component) / 1e6
    );
    println!(
        "{:<48} {:>8.0}ms {:>10.2} M rows/s",
        "store write path (multi-row, writer thread)",
        ms(write),
        row_rate(write) / 1e6
    );
    println!(
        "{:<48} {:>8.0}ms {:>10.2} M rows/s",
        "baseline insert alone (rusqlite prepared)",
        ms(insert_only),
        row_rate(insert_only) / 1e6
    );
    println!(
        "{:<48} {:>8.0}ms {:>10.2} M lines/s",
        "end-to-end `tally import` (process, SQLite)",
        ms(e2e),
        rate(e2e) / 1e6
    );
    println!(
        "{:<48} {:>8.0}ms {:>10.2} M lines/s",
        "baseline: native parse + rusqlite insert",
        ms(baseline),
        rate(baseline) / 1e6
    );
    println!();
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
    println!(
        "target 1  end-to-end / baseline         {:>5.2}x  (target <= 1.5x, stretch 1.2x; and >= 1.2 M lines/s: {:.2})",
        ratio(e2e, baseline),
        rate(e2e) / 1e6
    );
    println!(
        "target 2  component / native parse      {:>5.2}x  (target <= 2.0x)",
        ratio(component, native)
    );
    println!(
        "target 3  write path rate / rusqlite     {:>5.2}x  (target >= 0.6x)",
        ratio(insert_only, write)
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn median(mut f: impl FnMut() -> Duration) -> Duration {
    let mut times: Vec<Duration> = (0..REPS).map(|_| f()).collect();
    times.sort();
    times[REPS / 2]
}

/// Chunks of ≤ 1 MiB cut after a newline, as `tally import` feeds them.
fn whole_line_chunks(log: &[u8]) -> Vec<&[u8]> {
    let mut chunks = Vec::new();
    let mut rest = log;
    while !rest.is_empty() {
        let end = if rest.len() <= CHUNK {
            rest.len()
        } else {
            memchr::memrchr(b'\n', &rest[..CHUNK]).map_or(CHUNK, |i| i + 1)
        };
        chunks.push(&rest[..end]);
        rest = &rest[end..];
    }
    chunks
}

fn native_parse(chunks: &[&[u8]]) -> SdkBatch {
    let mut parser = FlexlmLog::default();
    parser.begin(&SdkConfig::default()).expect("begin");
    let mut all = SdkBatch::default();
    for chunk in chunks {
        let mut batch = SdkBatch::default();
        parser.feed(chunk, &mut batch).expect("feed");
        all.append(batch);
    }
    parser.finish(&mut all).expect("finish");
    all
}

/// The fastest plain way to store the same rows: prepared statements in one transaction.
fn rusqlite_insert(path: &Path, batch: &SdkBatch) {
    let mut conn = rusqlite::Connection::open(path).expect("open");
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")
        .expect("pragmas");
    conn.execute_batch(SCHEMA).expect("schema");
    conn.execute(
        "INSERT INTO license_server (name, manager, created_at) VALUES ('bench', 'f', 0)",
        [],
    )
    .expect("server");
    let tx = conn.transaction().expect("tx");
    {
        let mut users: HashMap<&str, i64> = HashMap::new();
        let mut hosts: HashMap<&str, i64> = HashMap::new();
        let mut features: HashMap<(&str, &str), i64> = HashMap::new();
        let mut user_stmt = tx
            .prepare("INSERT INTO user (name) VALUES (?1)")
            .expect("prepare");
        let mut host_stmt = tx
            .prepare("INSERT INTO host (name) VALUES (?1)")
            .expect("prepare");
        let mut feature_stmt = tx
            .prepare("INSERT INTO feature (server_id, vendor, name) VALUES (1, ?1, ?2)")
            .expect("prepare");
        let id = |cache: &mut HashMap<_, i64>, key, insert: &mut dyn FnMut() -> i64| {
            *cache.entry(key).or_insert_with(insert)
        };
        let mut session = tx
            .prepare("INSERT INTO session (server_id, feature_id, user_id, host_id, count, start, \"end\", end_reason, project, import_run_id) VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, NULL)")
            .expect("prepare");
        for s in &batch.sessions {
            let f = id(
                &mut features,
                (s.vendor.as_str(), s.feature.as_str()),
                &mut || {
                    feature_stmt
                        .execute((&s.vendor, &s.feature))
                        .expect("feature");
                    tx.last_insert_rowid()
                },
            );
            let u = *users.entry(s.user.as_str()).or_insert_with(|| {
                user_stmt.execute([&s.user]).expect("user");
                tx.last_insert_rowid()
            });
            let h = *hosts.entry(s.host.as_str()).or_insert_with(|| {
                host_stmt.execute([&s.host]).expect("host");
                tx.last_insert_rowid()
            });
            let reason = format!("{:?}", s.end_reason).to_lowercase();
            session
                .execute((f, u, h, s.count, s.start, s.end, reason, &s.project))
                .expect("session");
        }
        let mut denial = tx
            .prepare("INSERT INTO denial (server_id, feature_id, user_id, host_id, count, time, kind, code, reason, requested_version) VALUES (1, ?1, ?2, ?3, ?4, ?5, 'denied', ?6, ?7, NULL)")
            .expect("prepare");
        for d in &batch.denials {
            let f = id(
                &mut features,
                (d.vendor.as_str(), d.feature.as_str()),
                &mut || {
                    feature_stmt
                        .execute((&d.vendor, &d.feature))
                        .expect("feature");
                    tx.last_insert_rowid()
                },
            );
            let u = *users.entry(d.user.as_str()).or_insert_with(|| {
                user_stmt.execute([&d.user]).expect("user");
                tx.last_insert_rowid()
            });
            let h = *hosts.entry(d.host.as_str()).or_insert_with(|| {
                host_stmt.execute([&d.host]).expect("host");
                tx.last_insert_rowid()
            });
            let code = d
                .code
                .map(|c| format!("{},{}", c.major, c.minor.unwrap_or(0)));
            denial
                .execute((f, u, h, d.count, d.time, code, &d.reason))
                .expect("denial");
        }
        let mut event = tx
            .prepare("INSERT INTO server_event (server_id, time, kind, daemon, text) VALUES (1, ?1, ?2, ?3, ?4)")
            .expect("prepare");
        for e in &batch.server_events {
            event
                .execute((e.time, format!("{:?}", e.kind), &e.daemon, &e.text))
                .expect("event");
        }
    }
    tx.commit().expect("commit");
}
