//! Import benchmark: end-to-end speed, the plugin parse, the write path and peak memory, on the
//! 20× FlexNet log when the corpus is there.
//!
//! The input: 20 copies of `flexlm-debuglog/flexlm_reporter__umich_ansyslmd_2017-02-18.log` from
//! `../shared/corpus`, copy k with every `M/D/YYYY` and `Dow Mon DD YYYY` date moved k × 111 days
//! on (sha256 checked), else a generated FlexNet debug log of `LINES` lines (say so on stdout).
//!
//! Prints, from one run, medians of `TALLY_BENCH_REPS` (default 5) repetitions of:
//! - native parse → records (the plugin crate called directly),
//! - the same parse through the wasm component (boundary and string table included),
//! - the store's write path (facts, rollups, checkpoints on the writer) for the parsed batches,
//!   committed [`CHUNKS_PER_COMMIT`] chunks at a time as `tally import` does,
//! - end-to-end `tally import` (the real binary, fresh SQLite database each time): lines/s,
//!   MB/s and the child process's peak RSS (its own `VmHWM`, sampled while it runs),
//! - the baseline: native parse + rusqlite prepared-statement bulk insert into the same schema.
//!
//! Then the ratios against the baselines of the same run: end to end ÷ baseline, component ÷
//! native parse, write path ÷ rusqlite insert (a shared machine's absolute times vary too much
//! to compare across runs).
//!
//! Then the peak RSS of `tally import` at 1× and 20× of the corpus log, and at the scales listed
//! in `TALLY_BENCH_RSS_SCALES` (say `40,100`: big files, written to the temp dir one at a time).
//!
//! `cargo bench -p tally --bench import [-- LINES]`

#[path = "common/dated.rs"]
mod dated;

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;
use std::time::{Duration, Instant};

use flexlm_log::FlexlmLog;
use sha2::{Digest, Sha256};
use tally_app::import::CHUNKS_PER_COMMIT;
use tally_plugin_host::{ImportConfig, ImportRun, PluginEngine, Registry};
use tally_plugin_sdk::{Batch as SdkBatch, ImportConfig as SdkConfig, Importer};
use tally_store::{Checkpoint, FileIdentity, NewImport, Store};

use dated::{COPIES, CORPUS_LOG, SHA256_20X, twenty_times};

const CHUNK: usize = 1 << 20;
const SCHEMA: &str = include_str!("../../tally-store/migrations/sqlite/0001_initial.sql");

fn reps() -> usize {
    match std::env::var("TALLY_BENCH_REPS") {
        Ok(v) => v
            .parse::<usize>()
            .ok()
            .filter(|&n| n >= 1)
            .unwrap_or_else(|| panic!("TALLY_BENCH_REPS={v}: expected a count of at least 1")),
        Err(_) => 5,
    }
}

fn main() {
    let reps = reps();
    let lines_arg: Option<u64> = std::env::args().skip(1).find_map(|a| a.parse().ok());
    let dir = tempfile::tempdir().expect("temp dir");
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpus")
        .join(CORPUS_LOG);
    let mut original = None;
    let (log, expected_sessions): (Vec<u8>, Option<u64>) = match (lines_arg, corpus.is_file()) {
        (None, true) => {
            let log = twenty_times(
                original.insert(std::fs::read(&corpus).expect("reading the corpus log")),
            );
            let hash = hex::encode(Sha256::digest(&log));
            assert_eq!(
                hash,
                SHA256_20X,
                "the 20x file built from {} does not hash to the published sha256",
                corpus.display()
            );
            println!("input: 20x {CORPUS_LOG} (sha256 {}…, checked)", &hash[..12]);
            (log, None)
        }
        (lines, found) => {
            let lines = lines.unwrap_or(1_000_000);
            if !found {
                println!(
                    "input: generated log ({} not found: the 20x corpus file cannot be built)",
                    corpus.display()
                );
            } else {
                println!("input: generated log of {lines} lines (asked for on the command line)");
            }
            let (log, totals) = flexlm_log::synth::generate(lines, 42);
            (log.into_bytes(), Some(totals.checkouts))
        }
    };
    let log_path = dir.path().join("lmgrd.log");
    std::fs::write(&log_path, &log).expect("writing the log");
    let lines = memchr::memchr_iter(b'\n', &log).count() as u64;
    let mb = log.len() as f64 / 1e6;
    let chunks = whole_line_chunks(&log);
    let sessions = native_parse(&chunks).sessions.len() as u64;
    if let Some(expected) = expected_sessions {
        assert_eq!(sessions, expected, "native parse of the generated log");
    }
    println!(
        "{lines} lines, {mb:.1} MB, {sessions} sessions; medians of {reps} repetitions; load: {}",
        load_average()
    );
    let median = |f: &mut dyn FnMut() -> Duration| -> Duration {
        let mut times: Vec<Duration> = (0..reps).map(|_| f()).collect();
        times.sort();
        times[reps / 2]
    };

    // 1. Native parse → owned records.
    let native = median(&mut || {
        let t = Instant::now();
        let batch = native_parse(&chunks);
        assert_eq!(batch.sessions.len() as u64, sessions);
        t.elapsed()
    });

    // 2. The same parse through the component.
    let registry = Registry::new(PluginEngine::new(None).expect("engine"));
    let plugin = registry
        .add_dir(Path::new(tally_plugin_artifacts::FLEXLM_LOG))
        .expect("flexlm-log");
    let mut parsed = Vec::new();
    let component = median(&mut || {
        let t = Instant::now();
        let mut run = ImportRun::begin(plugin.clone(), &ImportConfig::default()).expect("begin");
        let mut batches: Vec<_> = chunks.iter().map(|c| run.feed(c).expect("feed")).collect();
        batches.push(run.finish().expect("finish"));
        let elapsed = t.elapsed();
        assert_eq!(
            batches.iter().map(|b| b.sessions.len() as u64).sum::<u64>(),
            sessions
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
    let write = median(&mut || {
        rep += 1;
        let url = format!(
            "sqlite://{}",
            dir.path().join(format!("write-{rep}.db")).display()
        );
        let batches = grouped(parsed.clone());
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
    drop(parsed);

    // 4. End to end: the real binary, its peak RSS as the kernel counted it.
    let mut rep = 0;
    let mut peaks = Vec::new();
    let e2e = median(&mut || {
        rep += 1;
        let t = Instant::now();
        let run = import(dir.path(), &format!("e2e-{rep}"), &log_path);
        let elapsed = t.elapsed();
        assert!(run.success, "tally import failed: {}", run.stderr);
        let summary: serde_json::Value = serde_json::from_slice(&run.stdout).expect("json");
        assert_eq!(summary["sessions"].as_u64(), Some(sessions));
        peaks.push(run.peak_rss_kib);
        elapsed
    });
    peaks.sort_unstable();
    let peak_mib = peaks[peaks.len() / 2] as f64 / 1024.0;

    // 5. Baseline: native parse + rusqlite prepared statements, one transaction, same schema.
    let mut rep = 0;
    let mut insert_only = Vec::new();
    let baseline = median(&mut || {
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

    let rate = |d: Duration| lines as f64 / d.as_secs_f64();
    let row_rate = |d: Duration| rows as f64 / d.as_secs_f64();
    let mbs = |d: Duration| mb / d.as_secs_f64();
    println!();
    println!(
        "{:<52} {:>9} {:>16} {:>9}",
        format!("stage (median of {reps})"),
        "time",
        "rate",
        "MB/s"
    );
    let line = |name: &str, d: Duration, rate: String| {
        println!("{name:<52} {:>7.0}ms {rate:>16} {:>9.1}", ms(d), mbs(d));
    };
    line(
        "native parse -> records",
        native,
        format!("{:.2} M lines/s", rate(native) / 1e6),
    );
    line(
        "component parse (wasm, records across the boundary)",
        component,
        format!("{:.2} M lines/s", rate(component) / 1e6),
    );
    line(
        "store write path (writer thread, rollups included)",
        write,
        format!("{:.2} M rows/s", row_rate(write) / 1e6),
    );
    line(
        "baseline insert alone (rusqlite prepared)",
        insert_only,
        format!("{:.2} M rows/s", row_rate(insert_only) / 1e6),
    );
    line(
        "end-to-end `tally import` (process, SQLite)",
        e2e,
        format!("{:.2} M lines/s", rate(e2e) / 1e6),
    );
    line(
        "baseline: native parse + rusqlite insert",
        baseline,
        format!("{:.2} M lines/s", rate(baseline) / 1e6),
    );
    println!(
        "peak RSS of `tally import`: {peak_mib:.1} MiB (median; all: {})",
        peaks
            .iter()
            .map(|k| format!("{:.1}", *k as f64 / 1024.0))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!();
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
    println!(
        "target 1  end-to-end / baseline         {:>5.2}x  (target <= 1.3x; and >= 1.2 M lines/s: {:.2})",
        ratio(e2e, baseline),
        rate(e2e) / 1e6
    );
    println!(
        "target 2  component / native parse      {:>5.2}x  (target <= 2.0x)",
        ratio(component, native)
    );
    println!(
        "target 3  write path rate / rusqlite     {:>5.2}x  (target >= 0.8x)",
        ratio(insert_only, write)
    );
    println!("target 7  peak RSS of `tally import`    {peak_mib:>5.1} MiB (target <= 64 MiB)");

    // Peak RSS by the size of the log: flat, whatever the file's length.
    let Some(original) = original else {
        return;
    };
    drop(log);
    println!();
    println!(
        "peak RSS of `tally import` by log size (one run each; load: {})",
        load_average()
    );
    let mut scales = vec![1];
    scales.extend(extra_scales());
    scales.sort_unstable();
    scales.dedup();
    for scale in scales {
        if scale == COPIES {
            println!("  {scale:>4}x  {peak_mib:>6.1} MiB (above)");
            continue;
        }
        let path = dir.path().join(format!("lmgrd-{scale}x.log"));
        let lines = write_copies(&original, scale, &path);
        let t = Instant::now();
        let run = import(dir.path(), &format!("rss-{scale}x"), &path);
        let elapsed = t.elapsed();
        assert!(run.success, "tally import failed: {}", run.stderr);
        println!(
            "  {scale:>4}x  {:>6.1} MiB  ({lines} lines, {:.2} M lines/s)",
            run.peak_rss_kib as f64 / 1024.0,
            lines as f64 / elapsed.as_secs_f64() / 1e6
        );
        let _ = std::fs::remove_file(&path);
        let _ = std::fs::remove_file(dir.path().join(format!("rss-{scale}x.db")));
        let _ = std::fs::remove_file(dir.path().join(format!("rss-{scale}x.db-wal")));
    }
}

/// `tally import` of `log` into a fresh SQLite database `<name>.db` in `dir`, measured.
fn import(dir: &Path, name: &str, log: &Path) -> Measured {
    let db = format!("sqlite://{}", dir.join(format!("{name}.db")).display());
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_tally"));
    command
        .args(["--db", &db, "import", "--json", "--utc-offset", "0"])
        .arg(log)
        .env("TALLY_PLUGIN_DIR", dir.join("no-plugins"))
        // The first run compiles the plugin into this cache; the median is warm.
        .env("XDG_CACHE_HOME", dir.join("cache"));
    run_measured(&mut command)
}

/// Writes `log` `copies` times to `path` as [`twenty_times`] does, a copy at a time (the big
/// scales never whole in memory).
fn write_copies(log: &[u8], copies: i64, path: &Path) -> u64 {
    use std::io::Write;
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).expect("creating a log"));
    let mut lines = 0;
    for k in 0..copies {
        let copy = dated::copies(log, k..k + 1);
        lines += memchr::memchr_iter(b'\n', &copy).count() as u64;
        file.write_all(&copy).expect("writing a log");
    }
    file.flush().expect("writing a log");
    lines
}

/// Scales of the corpus log whose peak RSS is measured besides 1× and 20×.
fn extra_scales() -> Vec<i64> {
    match std::env::var("TALLY_BENCH_RSS_SCALES") {
        Ok(v) => v
            .split(',')
            .filter(|s| !s.trim().is_empty())
            .map(|s| {
                s.trim()
                    .parse::<i64>()
                    .ok()
                    .filter(|&n| n >= 1)
                    .unwrap_or_else(|| {
                        panic!("TALLY_BENCH_RSS_SCALES={v}: expected copy counts such as 40,100")
                    })
            })
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// What a child process did: its output, and its own peak resident set.
struct Measured {
    success: bool,
    stdout: Vec<u8>,
    stderr: String,
    peak_rss_kib: u64,
}

/// Runs `command` to its end. Its peak RSS is its own `VmHWM`, sampled every millisecond while it
/// runs: the kernel's `ru_maxrss` of a child also counts the pages of the process that forked
/// it, here the bench's (the log and its parsed records, ~80 MiB more).
// Reaped by `waitpid` below, which clippy cannot see.
#[allow(clippy::zombie_processes)]
fn run_measured(command: &mut std::process::Command) -> Measured {
    use std::process::Stdio;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting tally");
    let pid = libc::pid_t::try_from(child.id()).expect("pid");
    let done = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicU64::new(0));
    let sampler = {
        let (done, peak) = (done.clone(), peak.clone());
        let status = format!("/proc/{pid}/status");
        std::thread::spawn(move || {
            // The pid stays this child's until it is reaped, after `done`.
            while !done.load(Ordering::Acquire) {
                if let Some(kib) = std::fs::read_to_string(&status)
                    .ok()
                    .and_then(|s| vm_hwm_kib(&s))
                {
                    peak.fetch_max(kib, Ordering::AcqRel);
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        })
    };
    let mut stdout_pipe = child.stdout.take().expect("stdout");
    let mut stderr_pipe = child.stderr.take().expect("stderr");
    let stderr = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = stderr_pipe.read_to_end(&mut s);
        s
    });
    let mut stdout = Vec::new();
    stdout_pipe
        .read_to_end(&mut stdout)
        .expect("reading stdout");
    // SAFETY: `waitid` with WNOWAIT waits for our own child's exit and leaves it unreaped (its
    // pid stays valid for the sampler); an all-zero `siginfo_t` is a valid value to write into.
    #[allow(unsafe_code)]
    let waited = unsafe {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        libc::waitid(
            libc::P_PID,
            pid as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOWAIT,
        )
    };
    assert_eq!(waited, 0, "waitid: {}", std::io::Error::last_os_error());
    done.store(true, Ordering::Release);
    sampler.join().expect("sampler");
    let mut status: libc::c_int = 0;
    // SAFETY: reaps our own child, which nothing else waits for (`child` is never waited on
    // through std); the sampler has stopped reading its /proc entry.
    #[allow(unsafe_code)]
    let reaped = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(reaped, pid, "waitpid: {}", std::io::Error::last_os_error());
    let stderr = String::from_utf8_lossy(&stderr.join().expect("stderr thread")).into_owned();
    Measured {
        success: libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        stdout,
        stderr,
        peak_rss_kib: peak.load(Ordering::Acquire),
    }
}

/// `VmHWM` (peak resident set, KiB) from a `/proc/<pid>/status` text; none for a zombie.
fn vm_hwm_kib(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// `/proc/loadavg`'s three figures, or why there are none.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|e| format!("unknown ({e})"))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
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

/// The batches of [`CHUNKS_PER_COMMIT`] consecutive chunks appended into one, as `tally import`
/// commits them.
fn grouped(batches: Vec<tally_core::Batch>) -> Vec<tally_core::Batch> {
    let mut out: Vec<tally_core::Batch> = Vec::new();
    for (i, batch) in batches.into_iter().enumerate() {
        match out.last_mut() {
            Some(last) if i % CHUNKS_PER_COMMIT != 0 => last.append(batch).expect("room"),
            _ => out.push(batch),
        }
    }
    out
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
