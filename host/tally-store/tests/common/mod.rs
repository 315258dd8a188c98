//! One storage story, every backend. Each story is an `async fn(Store)`; [`stories!`] makes a
//! test of it per backend, each on a fresh database:
//!
//! * SQLite: a file in a temporary directory, always;
//! * PostgreSQL: `CREATE DATABASE tally_t_…` through `TALLY_TEST_POSTGRES_URL`, dropped after;
//! * MariaDB/MySQL: the same through `TALLY_TEST_MYSQL_URL`.
//!
//! The URLs name an account that may create databases (`.ci/run` starts both servers and
//! exports them; `eval "$(bash .ci/run databases)"` does the same on a developer's machine).
//! Without a URL the test prints why it skips, except under CI (`CI` set), where it fails: CI
//! always runs all three.
#![allow(dead_code)]

use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::{AssertSqlSafe, ConnectOptions, Connection};
use tally_store::Store;

#[derive(Debug, Clone, Copy)]
pub enum Backend {
    Sqlite,
    Postgres,
    MySql,
}

impl Backend {
    fn env(self) -> Option<&'static str> {
        match self {
            Backend::Sqlite => None,
            Backend::Postgres => Some("TALLY_TEST_POSTGRES_URL"),
            Backend::MySql => Some("TALLY_TEST_MYSQL_URL"),
        }
    }
}

/// A fresh database, removed by [`TestDb::remove`].
pub struct TestDb {
    pub url: String,
    backend: Backend,
    admin: Option<String>,
    name: String,
    _dir: Option<tempfile::TempDir>,
}

static NEXT: AtomicU32 = AtomicU32::new(0);

impl TestDb {
    /// A fresh database on `backend`, or `None` (with the reason printed) when its server is not
    /// configured outside CI.
    pub async fn create(backend: Backend) -> Option<TestDb> {
        let Some(var) = backend.env() else {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!("sqlite://{}", dir.path().join("tally.db").display());
            return Some(TestDb {
                url,
                backend,
                admin: None,
                name: String::new(),
                _dir: Some(dir),
            });
        };
        let admin = match std::env::var(var) {
            Ok(url) if !url.is_empty() => url,
            _ if in_ci() => panic!(
                "{var} is not set: CI runs the storage tests on every backend (.ci/run exports it)"
            ),
            _ => {
                eprintln!(
                    "skipping the {backend:?} run: set {var} to an admin URL of a server whose account may \
                     CREATE DATABASE (`eval \"$(bash .ci/run databases)\"` starts one and sets it)"
                );
                return None;
            }
        };
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let name = format!(
            "tally_t_{}_{}_{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        admin_sql(backend, &admin, &format!("CREATE DATABASE {name}")).await;
        Some(TestDb {
            url: with_database(&admin, &name),
            backend,
            admin: Some(admin),
            name,
            _dir: None,
        })
    }

    pub async fn remove(self) {
        if let Some(admin) = &self.admin {
            let force = match self.backend {
                Backend::Postgres => " WITH (FORCE)",
                _ => "",
            };
            admin_sql(
                self.backend,
                admin,
                &format!("DROP DATABASE IF EXISTS {}{force}", self.name),
            )
            .await;
        }
    }
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

async fn admin_sql(backend: Backend, admin: &str, sql: &str) {
    let sql = AssertSqlSafe(sql.to_string());
    match backend {
        Backend::Postgres => {
            let mut c = admin
                .parse::<sqlx::postgres::PgConnectOptions>()
                .expect("TALLY_TEST_POSTGRES_URL")
                .disable_statement_logging()
                .connect()
                .await
                .expect("connecting to TALLY_TEST_POSTGRES_URL");
            sqlx::raw_sql(sql).execute(&mut c).await.expect("admin SQL");
            let _ = c.close().await;
        }
        Backend::MySql => {
            let mut c = admin
                .parse::<sqlx::mysql::MySqlConnectOptions>()
                .expect("TALLY_TEST_MYSQL_URL")
                .disable_statement_logging()
                .connect()
                .await
                .expect("connecting to TALLY_TEST_MYSQL_URL");
            sqlx::raw_sql(sql).execute(&mut c).await.expect("admin SQL");
            let _ = c.close().await;
        }
        Backend::Sqlite => {}
    }
}

/// `url` naming database `name` instead of its own (query string kept).
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let authority = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[authority..]
        .find('/')
        .map_or(base.len(), |i| authority + i);
    format!("{}/{name}{query}", &base[..host_end])
}

/// Runs `story` on a fresh database of `backend`, then removes the database, even when the
/// story fails.
pub async fn run<Fut>(backend: Backend, story: fn(Store) -> Fut)
where
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    let store = Store::open(&db.url).await.expect("open");
    let outcome = tokio::spawn(story(store.clone())).await;
    store.close().await;
    db.remove().await;
    if let Err(e) = outcome {
        match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(e) => panic!("story cancelled: {e}"),
        }
    }
}

/// A test per backend for each story: `story::sqlite`, `story::postgres`, `story::mysql`.
#[macro_export]
macro_rules! stories {
    ($($story:ident),* $(,)?) => {
        $(
            mod $story {
                use super::common::{Backend, run};

                #[tokio::test]
                async fn sqlite() {
                    run(Backend::Sqlite, super::$story).await;
                }

                #[tokio::test]
                async fn postgres() {
                    run(Backend::Postgres, super::$story).await;
                }

                #[tokio::test]
                async fn mysql() {
                    run(Backend::MySql, super::$story).await;
                }
            }
        )*
    };
}

#[test]
fn urls_get_the_fresh_database() {
    assert_eq!(
        with_database("postgres://u:p@127.0.0.1:5432/postgres", "t1"),
        "postgres://u:p@127.0.0.1:5432/t1"
    );
    assert_eq!(
        with_database("mysql://u:p@h:3306?ssl-mode=disabled", "t1"),
        "mysql://u:p@h:3306/t1?ssl-mode=disabled"
    );
}

/// Imports `batches` as one run of the file `path` (a run per distinct path), one checkpoint per
/// batch, and returns the run.
pub async fn import(
    store: &Store,
    server: i64,
    path: &str,
    batches: Vec<tally_core::Batch>,
) -> i64 {
    let run = store
        .start_import(tally_store::NewImport {
            server_id: server,
            format: "flexlm-debuglog".into(),
            plugin: "flexlm-log".into(),
            plugin_version: "0.1.0".into(),
            path: path.into(),
            identity: tally_store::FileIdentity {
                head_len: 1,
                head_hash: path.into(),
            },
        })
        .await
        .expect("run");
    for (i, b) in batches.into_iter().enumerate() {
        let cp = tally_store::Checkpoint {
            offset: i as u64,
            ..tally_store::Checkpoint::default()
        };
        store
            .commit_batch(run, server, b, cp)
            .await
            .expect("queued")
            .await
            .expect("writer")
            .expect("commit");
    }
    run
}
