//! `tally gen` (the real binary): one history per seed, on every backend; its counts are the
//! summary's, its rollups a recomputation from its facts, and it leaves the reports something to
//! find (denials, unused licences).
//!
//! PostgreSQL and MariaDB runs use `TALLY_TEST_POSTGRES_URL` / `TALLY_TEST_MYSQL_URL` (an account
//! that may create databases: `eval "$(bash .ci/run databases)"`); without them they skip with
//! the reason, except under CI, where they fail.

use std::collections::BTreeSet;
use std::process::Command;

use serde_json::Value;
use tally_core::rollup::{FeatureKey, HourRollup, UserHour, rollup};
use tally_core::status::ImportStatus;
use tally_store::testing::{Backend, TestDb};
use tally_store::testing::{DenialRow, SessionRow};
use tally_store::{RollupFilter, Store};

mod common;

const SMALL: [&str; 8] = [
    "--servers",
    "4",
    "--features",
    "5",
    "--users",
    "12",
    "--years",
    "1",
];

fn tally_gen(url: &str, seed: &str) -> Value {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = Command::new(env!("CARGO_BIN_EXE_tally"))
        .args(["--db", url, "gen", "--json", "--seed", seed])
        .args(SMALL)
        .env("TALLY_PLUGIN_DIR", dir.path().join("plugins"))
        .env("XDG_CACHE_HOME", common::cache_home())
        .output()
        .expect("running tally gen");
    assert!(
        out.status.success(),
        "tally gen failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("about "),
        "the estimate is printed"
    );
    serde_json::from_slice(&out.stdout).expect("JSON summary")
}

type History = Vec<(String, Vec<SessionRow>, Vec<DenialRow>)>;

/// Every server's sessions and denials, by name.
async fn history(store: &Store) -> History {
    let mut out = Vec::new();
    for s in store.servers().await.expect("servers") {
        out.push((
            s.config.name.clone(),
            store.sessions(s.id).await.expect("sessions"),
            store.denials(s.id).await.expect("denials"),
        ));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Writes the seed-7 history into `url` and checks it; returns what it wrote.
async fn generate_and_check(url: &str) -> History {
    let summary = tally_gen(url, "7");
    let store = Store::open(url).await.expect("open");
    let totals = store.row_counts().await.expect("totals");
    assert_eq!(Some(totals.sessions), summary["sessions"].as_u64());
    assert_eq!(Some(totals.denials), summary["denials"].as_u64());
    assert_eq!(totals.servers, 4);
    assert!(totals.sessions > 10_000, "{summary}");
    assert!(totals.denials > 0, "full features deny: {summary}");
    assert!(summary["rows_per_second"].as_f64() > Some(0.0));

    // Rollups equal a recomputation from the facts.
    let all = RollupFilter::default();
    let stored = (
        store.hour_rollups(&all).await.expect("hour rollups"),
        store.user_hours(&all).await.expect("user hours"),
    );
    assert!(!stored.0.is_empty());
    assert_eq!(stored, recomputed(&store).await);

    // Licence counts for every feature, unused ones included, from the import itself (no
    // poll: the servers read Import Success, not polled); some features go unused.
    let features = store.features(None).await.expect("features");
    assert_eq!(features.len(), 20);
    for server in store.servers().await.expect("servers") {
        assert_eq!(
            server.import_status,
            ImportStatus::Success,
            "{}",
            server.config.name
        );
        assert_eq!(server.last_poll, None, "{}", server.config.name);
        let capacity = store
            .capacity_at(server.id, tally_core::time::now())
            .await
            .expect("capacity");
        let counted = capacity.values().filter(|c| c.count().is_some()).count();
        assert_eq!(counted, 5, "{}: {capacity:?}", server.config.name);
    }
    let used: BTreeSet<i64> = stored.0.iter().map(|h| h.feature.feature).collect();
    assert!(
        features.iter().any(|f| !used.contains(&f.id)),
        "some feature is never used"
    );

    let written = history(&store).await;
    store.close().await;
    written
}

async fn recomputed(store: &Store) -> (Vec<HourRollup>, Vec<UserHour>) {
    let (sessions, denials) = store
        .rollup_facts(&RollupFilter::default())
        .await
        .expect("facts");
    let keys: BTreeSet<FeatureKey> = sessions
        .iter()
        .map(|s| s.key())
        .chain(denials.iter().map(|d| d.key()))
        .collect();
    let first = sessions.iter().map(|s| s.start).min().unwrap_or(0) - 86_400;
    let last = sessions.iter().map(|s| s.end).max().unwrap_or(0) + 86_400;
    let mut hours = Vec::new();
    let mut users = Vec::new();
    for key in keys {
        let mine = |k: FeatureKey| k == key;
        let s: Vec<_> = sessions.iter().copied().filter(|s| mine(s.key())).collect();
        let d: Vec<_> = denials.iter().copied().filter(|d| mine(d.key())).collect();
        let r = rollup(key, first..last, &s, &d);
        hours.extend(r.hours);
        users.extend(r.users);
    }
    hours.sort_by_key(|h| (h.hour, h.feature));
    users.sort_by_key(|u| (u.hour, u.feature, u.user, u.host));
    (hours, users)
}

fn sqlite_url(dir: &tempfile::TempDir, name: &str) -> String {
    format!("sqlite://{}", dir.path().join(name).display())
}

#[tokio::test]
async fn sqlite_one_history_per_seed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let a = generate_and_check(&sqlite_url(&dir, "a.db")).await;
    let b = generate_and_check(&sqlite_url(&dir, "b.db")).await;
    assert!(a == b, "the same seed writes the same history");

    let other = sqlite_url(&dir, "c.db");
    tally_gen(&other, "8");
    let store = Store::open(&other).await.expect("open");
    assert!(history(&store).await != a, "another seed, another history");
    store.close().await;

    // A second history on top of the first is refused, naming what to do.
    let out = Command::new(env!("CARGO_BIN_EXE_tally"))
        .args(["--db", &other, "gen"])
        .args(SMALL)
        .output()
        .expect("tally gen");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("already holds") && err.contains("new --db"),
        "{err}"
    );
}

#[tokio::test]
async fn postgres_gets_the_same_history() {
    same_history_on(Backend::Postgres).await;
}

#[tokio::test]
async fn mariadb_gets_the_same_history() {
    same_history_on(Backend::MySql).await;
}

/// Generates on `backend`, in a fresh database dropped after, and compares with SQLite's
/// history for the same seed.
async fn same_history_on(backend: Backend) {
    // A fixed name: a failed run's database goes with the next run.
    let Some(db) = TestDb::named(backend, "tally_t_gen").await else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let expected = generate_and_check(&sqlite_url(&dir, "ref.db")).await;
    let got = generate_and_check(&db.url).await;
    let url = db.url.clone();
    db.remove().await;
    assert!(got == expected, "{url}: the same history as on SQLite");
}
