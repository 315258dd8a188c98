//! Upgrades: a database the previous release wrote opens with this code, migrates forward and
//! reports the same figures, on every backend; a migration step that fails leaves the database
//! as it was (SQLite, PostgreSQL) or says what it left (MariaDB, whose DDL cannot roll back).
//!
//! The previous release's databases are kept as dumps in `tests/fixtures/release-f80905b/`
//! (`<backend>.sql`, schema, migrations table and data) with the figures that release reported
//! on them (`figures.json`, the same on all three). Both were made by `release::make` run on that release
//! (main at f80905b, migrations 1-8): see there to make the next one. The dumps' denials give
//! the reason "all licenses in use" (edited in after the dump): since refusals have causes, only
//! capacity refusals count as denials, and a reason that release's test wrote ("full") would
//! now read as a cause not understood.

mod release;

use std::path::{Path, PathBuf};

use serde_json::Value;
use tally_core::PollResult;
use tally_store::testing::{Backend, TestDb};
use tally_store::{AfterFailure, Store, StoreError};

use release::{RELEASE, RELEASE_SCHEMA, T0, figures, file_stem, snapshot};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(RELEASE)
        .join(name)
}

/// `new` reports everything `old` did, the same (fields added since may be there too).
fn assert_reports_the_same(old: &Value, new: &Value, at: &str) {
    match (old, new) {
        (Value::Object(o), Value::Object(n)) => {
            for (k, v) in o {
                let there = n
                    .get(k)
                    .unwrap_or_else(|| panic!("{at}.{k} is no longer reported"));
                assert_reports_the_same(v, there, &format!("{at}.{k}"));
            }
        }
        (Value::Array(o), Value::Array(n)) => {
            assert_eq!(
                o.len(),
                n.len(),
                "{at}: {} rows then, {} now",
                o.len(),
                n.len()
            );
            for (i, (a, b)) in o.iter().zip(n).enumerate() {
                assert_reports_the_same(a, b, &format!("{at}[{i}]"));
            }
        }
        (o, n) => assert_eq!(o, n, "{at} differs after the upgrade"),
    }
}

/// Loads the release's dump of `backend` into the fresh database `db`.
async fn load_release(backend: Backend, db: &TestDb) {
    let dump = std::fs::read_to_string(fixture(&format!("{}.sql", file_stem(backend))))
        .expect("the release's dump");
    match backend {
        Backend::Sqlite => {
            let path = db.url.strip_prefix("sqlite://").expect("a SQLite URL");
            let conn = rusqlite::Connection::open(path).expect("open");
            conn.execute_batch(&dump).expect("load the SQLite dump");
        }
        Backend::Postgres => {
            // psql's meta-commands (`\restrict`) are not SQL.
            let sql: String = dump
                .lines()
                .filter(|l| !l.starts_with('\\'))
                .flat_map(|l| [l, "\n"])
                .collect();
            run_sql(&db.url, sql).await;
        }
        Backend::MySql => run_sql(&db.url, dump).await,
    }
}

async fn run_sql(url: &str, sql: String) {
    use sqlx::{ConnectOptions, Connection};
    let sql = sqlx::AssertSqlSafe(sql);
    if url.starts_with("postgres") {
        let mut c = url
            .parse::<sqlx::postgres::PgConnectOptions>()
            .expect("URL")
            .connect()
            .await
            .expect("connect");
        sqlx::raw_sql(sql)
            .execute(&mut c)
            .await
            .expect("load the dump");
        c.close().await.expect("close");
    } else {
        let mut c = url
            .parse::<sqlx::mysql::MySqlConnectOptions>()
            .expect("URL")
            .connect()
            .await
            .expect("connect");
        sqlx::raw_sql(sql)
            .execute(&mut c)
            .await
            .expect("load the dump");
        c.close().await.expect("close");
    }
}

/// The migrations applied to the database at `url`, in order.
async fn applied(url: &str) -> Vec<i64> {
    let store_free = |sql: &str| sqlx::AssertSqlSafe(sql.to_string());
    let sql = "SELECT version FROM _sqlx_migrations WHERE success ORDER BY version";
    if let Some(path) = url.strip_prefix("sqlite://") {
        let conn = rusqlite::Connection::open(path).expect("open");
        let mut s = conn.prepare(sql).expect("query");
        return s
            .query_map([], |r| r.get(0))
            .expect("rows")
            .collect::<Result<_, _>>()
            .expect("versions");
    }
    use sqlx::{ConnectOptions, Connection};
    if url.starts_with("postgres") {
        let mut c = url
            .parse::<sqlx::postgres::PgConnectOptions>()
            .expect("URL")
            .connect()
            .await
            .expect("connect");
        let v: Vec<i64> = sqlx::query_scalar(store_free(sql))
            .fetch_all(&mut c)
            .await
            .expect("versions");
        c.close().await.expect("close");
        v
    } else {
        let mut c = url
            .parse::<sqlx::mysql::MySqlConnectOptions>()
            .expect("URL")
            .connect()
            .await
            .expect("connect");
        let v: Vec<i64> = sqlx::query_scalar(store_free(sql))
            .fetch_all(&mut c)
            .await
            .expect("versions");
        c.close().await.expect("close");
        v
    }
}

/// Whether table `name` exists in the database at `url`.
async fn has_table(url: &str, name: &str) -> bool {
    if let Some(path) = url.strip_prefix("sqlite://") {
        let conn = rusqlite::Connection::open(path).expect("open");
        return conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name = ?1",
                [name],
                |r| r.get::<_, i64>(0),
            )
            .expect("query")
            > 0;
    }
    use sqlx::{ConnectOptions, Connection};
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = '{name}' \
         AND table_schema = {}",
        if url.starts_with("postgres") {
            "current_schema()"
        } else {
            "database()"
        }
    ));
    let n: i64 = if url.starts_with("postgres") {
        let mut c = url
            .parse::<sqlx::postgres::PgConnectOptions>()
            .expect("URL")
            .connect()
            .await
            .expect("connect");
        let n = sqlx::query_scalar(sql).fetch_one(&mut c).await.expect("n");
        c.close().await.expect("close");
        n
    } else {
        let mut c = url
            .parse::<sqlx::mysql::MySqlConnectOptions>()
            .expect("URL")
            .connect()
            .await
            .expect("connect");
        let n = sqlx::query_scalar(sql).fetch_one(&mut c).await.expect("n");
        c.close().await.expect("close");
        n
    };
    n > 0
}

async fn the_previous_release_upgrades_with_the_same_figures(backend: Backend) {
    let name = format!("tally_upgrade_{}", file_stem(backend));
    let Some(db) = TestDb::named(backend, &name).await else {
        return;
    };
    load_release(backend, &db).await;
    assert_eq!(
        applied(&db.url).await.last(),
        Some(&RELEASE_SCHEMA),
        "the fixture is the release's schema"
    );
    let then: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("figures.json")).expect("the release's figures"),
    )
    .expect("JSON");

    let store = Store::open(&db.url).await.expect("the new code opens it");
    let now = figures(&store).await;
    assert_reports_the_same(&then, &now, file_stem(backend));
    // Every migration of this code is applied, the release's first.
    let versions = applied(&db.url).await;
    assert!(versions.len() as i64 >= RELEASE_SCHEMA, "{versions:?}");
    assert_eq!(
        versions[..RELEASE_SCHEMA as usize],
        (1..=RELEASE_SCHEMA).collect::<Vec<_>>()
    );

    // And it takes new history: ids continue after the release's rows (PostgreSQL's identity
    // sequences came with the dump).
    let polled = store
        .server("lic-poll")
        .await
        .expect("read")
        .expect("server");
    store
        .record_poll(
            polled.id,
            T0 + 86_400 * 5,
            PollResult::Answered(snapshot(&["eve", "ann"])).into(),
        )
        .await
        .expect("a poll after the upgrade");
    let totals = store.row_counts().await.expect("totals");
    assert_eq!(
        totals.users,
        then["totals"]["users"].as_u64().expect("users") + 1,
        "eve is new"
    );
    store.close().await;
    // Opening again migrates nothing and changes nothing.
    let again = Store::open(&db.url).await.expect("reopen");
    assert_eq!(applied(&db.url).await, versions);
    again.close().await;
    db.remove().await;
}

/// The migrations of this code for `backend`, copied into a directory with two more steps: one
/// that works, then one that fails halfway (after creating a table).
fn migrations_with_a_broken_step(backend: Backend) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("dir");
    let ours = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(file_stem(backend));
    for entry in std::fs::read_dir(ours).expect("migrations") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).expect("copy");
    }
    std::fs::write(
        dir.path().join("9980_good_step.sql"),
        "CREATE TABLE upgrade_good (x INTEGER);\n",
    )
    .expect("write");
    std::fs::write(
        dir.path().join("9990_broken_step.sql"),
        "CREATE TABLE upgrade_probe (x INTEGER);\n\
         INSERT INTO upgrade_probe (x) VALUES (1);\n\
         INSERT INTO no_such_table (x) VALUES (1);\n",
    )
    .expect("write");
    dir
}

async fn a_failed_step_is_named_and_rolled_back_where_the_backend_can(backend: Backend) {
    let name = format!("tally_upgrade_fail_{}", file_stem(backend));
    let Some(db) = TestDb::named(backend, &name).await else {
        return;
    };
    load_release(backend, &db).await;
    let before = applied(&db.url).await;
    let dir = migrations_with_a_broken_step(backend);

    let e = tally_store::testing::migrate_with(&db.url, dir.path())
        .await
        .expect_err("the broken step fails");
    let text = e.to_string();
    assert!(
        text.contains("migration 9990 (broken step) failed"),
        "names the step: {text}"
    );
    assert!(text.contains("no_such_table"), "says why: {text}");
    let StoreError::MigrationStep { version, after, .. } = &e else {
        panic!("not a failed step: {e:?}");
    };
    assert_eq!(*version, 9990);
    match backend {
        Backend::Sqlite | Backend::Postgres => {
            assert_eq!(*after, AfterFailure::Untouched, "{text}");
            // Untouched: not even the steps that came before the broken one in this upgrade.
            assert_eq!(applied(&db.url).await, before);
            assert!(!has_table(&db.url, "upgrade_probe").await);
            assert!(!has_table(&db.url, "upgrade_good").await);
            // The release's data is all there: the release's figures.
            let store = Store::open(&db.url).await.expect("opens after the failure");
            let then: Value = serde_json::from_str(
                &std::fs::read_to_string(fixture("figures.json")).expect("figures"),
            )
            .expect("JSON");
            assert_reports_the_same(&then, &figures(&store).await, file_stem(backend));
            store.close().await;
        }
        Backend::MySql => {
            assert_eq!(*after, AfterFailure::PartlyApplied, "{text}");
            assert!(text.contains("cannot roll schema changes back"), "{text}");
            // DDL committed itself: the table of the broken step is there, and the next run
            // refuses to go on, naming the step.
            assert!(has_table(&db.url, "upgrade_probe").await);
            assert!(has_table(&db.url, "upgrade_good").await);
            assert_eq!(
                applied(&db.url).await.last(),
                Some(&9980),
                "the good step stays"
            );
            let again = tally_store::testing::migrate_with(&db.url, dir.path())
                .await
                .expect_err("a half-applied step blocks the next run");
            assert!(
                matches!(again, StoreError::MigrationDirty { version: 9990, .. }),
                "{again:?}"
            );
            assert!(again.to_string().contains("broken step"), "{again}");
        }
    }
    db.remove().await;
}

macro_rules! per_backend {
    ($($story:ident),*) => {$(
        mod $story {
            use tally_store::testing::Backend;
            #[tokio::test]
            async fn sqlite() { super::$story(Backend::Sqlite).await }
            #[tokio::test]
            async fn postgres() { super::$story(Backend::Postgres).await }
            #[tokio::test]
            async fn mysql() { super::$story(Backend::MySql).await }
        }
    )*};
}

per_backend!(
    the_previous_release_upgrades_with_the_same_figures,
    a_failed_step_is_named_and_rolled_back_where_the_backend_can
);

/// Makes the fixture of a release: see `release::make`. On the release's code:
///
/// ```sh
/// TALLY_FIXTURE_DIR=$PWD/host/tally-store/tests/fixtures/release-<commit> \
///   cargo test -p tally-store --test upgrade make_release_fixture -- --ignored
/// ```
#[tokio::test]
#[ignore = "makes the fixture; run on the release it stands for"]
async fn make_release_fixture() {
    let out = std::env::var("TALLY_FIXTURE_DIR").expect("TALLY_FIXTURE_DIR");
    release::make(Path::new(&out)).await;
}
