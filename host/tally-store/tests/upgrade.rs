//! Upgrades: a database the previous release wrote opens with this code, migrates forward and
//! reports the same figures, on every backend; a migration step that fails leaves the database
//! as it was (SQLite, PostgreSQL) or says what it left (MariaDB, whose DDL cannot roll back).
//!
//! The previous release's databases are kept as dumps in `tests/fixtures/release-f80905b/`
//! (`<backend>.sql`, schema, migrations table and data) with the figures that release reported
//! on them (`<backend>.figures.json`). Both were made by [`make_release_fixture`] run on that
//! release (main at f80905b, migrations 1-8): see its comment to make the next one.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use tally_core::snapshot::{
    Checkout, Feature, FeatureKind, LicenseServer, ServerStatus, Snapshot,
};
use tally_core::{
    Batch, Denial, DenialKind, EndReason, QueuedRequest, ServerEvent, ServerEventKind, Session,
};
use tally_store::testing::{Backend, TestDb};
use tally_store::{
    AfterFailure, Checkpoint, FileIdentity, NewImport, PollResult, RollupFilter, RunStatus,
    ServerConfig, Store, StoreError,
};

const RELEASE: &str = "release-f80905b";
/// The last migration of that release.
const RELEASE_SCHEMA: i64 = 8;
/// 2024-03-04T00:00:00Z, a Monday.
const T0: i64 = 1_709_510_400;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(RELEASE)
        .join(name)
}

fn file_stem(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
        Backend::MySql => "mysql",
    }
}

/// The history the fixture holds: a log imported in three batches over three days (sessions,
/// a denial, a queued request, server events), and a polled server seen by six polls.
async fn write_history(store: &Store) {
    let imported = store
        .ensure_server("lic-import", "flexlm")
        .await
        .expect("server");
    let run = store
        .start_import(NewImport {
            server_id: imported,
            format: "flexlm-debuglog".into(),
            plugin: "flexlm-log".into(),
            plugin_version: "0.1.0".into(),
            path: "/var/log/lmgrd.log".into(),
            identity: FileIdentity {
                head_len: 64,
                head_hash: "f".repeat(64),
            },
        })
        .await
        .expect("run");
    for day in 0..3_i64 {
        let at = |h: i64, m: i64| T0 + day * 86_400 + h * 3600 + m * 60;
        let users = ["ann", "bob", "cat", "dan"];
        let mut strings: Vec<String> = ["acme", "solver", "mesher", "ws1", "ws2", "full"]
            .map(String::from)
            .to_vec();
        strings.extend(users.map(String::from));
        let session = |feature, user, host, start, end, count| Session {
            vendor: 0,
            feature,
            user,
            host,
            count,
            start,
            end,
            end_reason: EndReason::CheckedIn,
            project: None,
        };
        let batch = Batch {
            sessions: vec![
                session(1, 6, 3, at(8, 0), at(12, 30), 1),
                session(1, 7, 4, at(9, 15), at(17, 45), 2),
                session(2, 8, 3, at(10, 0), at(10, 50), 1),
                session(1, 9, 4, at(23, 10), at(23, 10) + 7200, 1),
                session(2, 6, 3, at(13, 0), at(16, 0), 1),
            ],
            denials: vec![Denial {
                vendor: 0,
                feature: 1,
                user: 8,
                host: 4,
                count: 1,
                time: at(11, 5),
                kind: DenialKind::Denied,
                code: None,
                reason: Some(5),
                requested_version: None,
                until: None,
            }],
            queued: vec![QueuedRequest {
                vendor: 0,
                feature: 2,
                user: 9,
                host: 3,
                count: 1,
                time: at(10, 20),
            }],
            server_events: vec![ServerEvent {
                time: at(7, 0),
                kind: ServerEventKind::ServerStart,
                vendor: Some(0),
                detail: None,
            }],
            strings,
            ..Batch::default()
        };
        store
            .commit_batch(
                run,
                imported,
                batch,
                Checkpoint {
                    offset: 1000 * (day as u64 + 1),
                    last_line_hash: format!("line-{day}"),
                    state: vec![day as u8, 0xff],
                    lines: 100 * (day as u64 + 1),
                },
            )
            .await
            .expect("queued")
            .await
            .expect("writer")
            .expect("commit");
    }
    store
        .finish_import(run, RunStatus::Complete, None)
        .await
        .expect("finish");

    let polled = store
        .add_server(ServerConfig {
            host: Some("lic2.example".into()),
            port: Some(27000),
            poll_format: Some("flexlm-lmstat".into()),
            ..ServerConfig::imported("lic-poll", "flexlm")
        })
        .await
        .expect("polled server");
    let holders: [&[&str]; 6] = [
        &["ann"],
        &["ann", "bob"],
        &["bob"],
        &[],
        &["cat", "dan", "ann"],
        &["dan"],
    ];
    for (i, who) in holders.iter().enumerate() {
        let at = T0 + 3600 * 9 + 300 * i as i64;
        store
            .record_poll(polled, at, PollResult::Answered(snapshot(who)))
            .await
            .expect("poll");
    }
}

fn snapshot(holders: &[&str]) -> Snapshot {
    Snapshot {
        servers: vec![LicenseServer {
            host: "lic2.example".into(),
            port: Some(27000),
            status: ServerStatus::Up,
            version: Some("v11.19.0".into()),
            vendor_daemons: vec![],
            message: None,
        }],
        features: vec![Feature {
            name: "cad".into(),
            vendor: "acme".into(),
            version: None,
            pool: None,
            issued: Some(4),
            in_use: holders.len() as u32,
            expiry: None,
            kind: FeatureKind::Floating,
        }],
        checkouts: holders
            .iter()
            .map(|u| Checkout {
                feature: "cad".into(),
                vendor: "acme".into(),
                user: (*u).into(),
                host: format!("pc-{u}"),
                display: None,
                count: 1,
                start: None,
                handle: None,
                linger: None,
                borrowed: false,
            })
            .collect(),
        ..Snapshot::default()
    }
}

/// What the store reports on the history: row counts, hourly and per-user rollups, the hours
/// logging was on, the runs and the polled server's sessions and samples.
async fn figures(store: &Store) -> Value {
    let all = RollupFilter::default();
    let mut servers = serde_json::Map::new();
    for name in ["lic-import", "lic-poll"] {
        let server = store
            .server(name)
            .await
            .expect("read server")
            .expect("the fixture's server");
        let logged = store
            .logged_hours(server.id, None, None)
            .await
            .expect("logged hours");
        servers.insert(
            name.into(),
            json!({
                "id": server.id,
                "logged_hours": logged.hours().collect::<Vec<_>>(),
                "runs": store.import_runs(server.id).await.expect("runs"),
                "sessions": store.sessions(server.id).await.expect("sessions"),
                "samples": store.usage_samples(server.id).await.expect("samples"),
            }),
        );
    }
    let (hour_totals, hour_keys) = store.hour_totals(&all).await.expect("hour totals");
    json!({
        "totals": store.totals().await.expect("totals"),
        "hour_rollups": store.hour_rollups(&all).await.expect("hour rollups"),
        "hour_totals": hour_totals,
        "hour_total_keys": hour_keys,
        "user_totals": store.user_totals(&all).await.expect("user totals"),
        "features": store.features(None).await.expect("features"),
        "servers": servers,
    })
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
            assert_eq!(o.len(), n.len(), "{at}: {} rows then, {} now", o.len(), n.len());
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
        sqlx::raw_sql(sql).execute(&mut c).await.expect("load the dump");
        c.close().await.expect("close");
    } else {
        let mut c = url
            .parse::<sqlx::mysql::MySqlConnectOptions>()
            .expect("URL")
            .connect()
            .await
            .expect("connect");
        sqlx::raw_sql(sql).execute(&mut c).await.expect("load the dump");
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
        &std::fs::read_to_string(fixture(&format!("{}.figures.json", file_stem(backend))))
            .expect("the release's figures"),
    )
    .expect("JSON");

    let store = Store::open(&db.url).await.expect("the new code opens it");
    let now = figures(&store).await;
    assert_reports_the_same(&then, &now, file_stem(backend));
    // Every migration of this code is applied, the release's first.
    let versions = applied(&db.url).await;
    assert!(versions.len() as i64 >= RELEASE_SCHEMA, "{versions:?}");
    assert_eq!(versions[..RELEASE_SCHEMA as usize], (1..=RELEASE_SCHEMA).collect::<Vec<_>>());

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
            PollResult::Answered(snapshot(&["eve", "ann"])),
        )
        .await
        .expect("a poll after the upgrade");
    let totals = store.totals().await.expect("totals");
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

/// The migrations of this code for `backend`, copied into a directory with one more step that
/// fails halfway (after creating a table).
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
            // Untouched: not even the steps of this code that came before the broken one.
            assert_eq!(applied(&db.url).await, before);
            assert!(!has_table(&db.url, "upgrade_probe").await);
            // The release's data is all there: the release's figures.
            let store = Store::open(&db.url).await.expect("opens after the failure");
            let then: Value = serde_json::from_str(
                &std::fs::read_to_string(fixture(&format!(
                    "{}.figures.json",
                    file_stem(backend)
                )))
                .expect("figures"),
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

/// Makes the fixture of a release: run on that release's code (this file copied into its
/// `host/tally-store/tests/`), with the three backends up (`eval "$(bash .ci/run databases)"`):
///
/// ```sh
/// TALLY_FIXTURE_DIR=$PWD/host/tally-store/tests/fixtures/release-<commit> \
///   cargo test -p tally-store --test upgrade make_release_fixture -- --ignored
/// ```
///
/// Each backend gets the history of [`write_history`]; its dump (`sqlite3 .dump`, `pg_dump`,
/// `mariadb-dump`) and the figures that release reports on it are written to the directory.
#[tokio::test]
#[ignore = "makes the fixture; run on the release it stands for"]
async fn make_release_fixture() {
    let out = PathBuf::from(std::env::var("TALLY_FIXTURE_DIR").expect("TALLY_FIXTURE_DIR"));
    std::fs::create_dir_all(&out).expect("fixture dir");
    for backend in [Backend::Sqlite, Backend::Postgres, Backend::MySql] {
        let name = format!("tally_fixture_{}", file_stem(backend));
        let db = TestDb::named(backend, &name).await.expect("every backend");
        let store = Store::open(&db.url).await.expect("open");
        write_history(&store).await;
        let figures = figures(&store).await;
        store.close().await;
        std::fs::write(
            out.join(format!("{}.figures.json", file_stem(backend))),
            serde_json::to_string_pretty(&figures).expect("JSON") + "\n",
        )
        .expect("write figures");
        let dump = dump(backend, &db.url);
        std::fs::write(out.join(format!("{}.sql", file_stem(backend))), dump).expect("write dump");
        db.remove().await;
    }
}

fn dump(backend: Backend, url: &str) -> String {
    use std::process::Command;
    let mut cmd = match backend {
        Backend::Sqlite => {
            let mut c = Command::new("sqlite3");
            c.arg(url.strip_prefix("sqlite://").expect("path")).arg(".dump");
            c
        }
        Backend::Postgres => {
            let mut c = Command::new("pg_dump");
            c.args(["--no-owner", "--no-privileges", "--no-comments", "--inserts"])
                .arg(format!("--dbname={url}"));
            c
        }
        Backend::MySql => {
            // mysql://USER:PASSWORD@HOST:PORT/DATABASE, as tally_store::testing makes them.
            let rest = url.strip_prefix("mysql://").expect("a mysql:// URL");
            let (login, place) = rest.rsplit_once('@').expect("USER:PASSWORD@");
            let (user, password) = login.split_once(':').unwrap_or((login, ""));
            let (host_port, database) = place.split_once('/').expect("/DATABASE");
            let (host, port) = host_port.split_once(':').unwrap_or((host_port, "3306"));
            let mut c = Command::new("mariadb-dump");
            c.args([
                "--protocol=tcp",
                "--skip-comments",
                "--skip-dump-date",
                "--hex-blob",
                "--skip-add-locks",
                "--skip-disable-keys",
                "--skip-set-charset",
                "--skip-tz-utc",
            ])
            .arg(format!("--host={host}"))
            .arg(format!("--port={port}"))
            .arg(format!("--user={user}"))
            .arg(format!("--password={password}"))
            .arg(database.split('?').next().unwrap_or(database));
            c
        }
    };
    let out = cmd.output().expect("running the dump tool");
    assert!(
        out.status.success(),
        "{:?}: {}",
        cmd.get_program(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 dump")
}
