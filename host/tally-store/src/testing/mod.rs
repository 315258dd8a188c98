//! Fresh databases for tests and benches (cargo feature `testing`, which only dev-dependencies
//! enable):
//!
//! * SQLite: a file in a temporary directory, always;
//! * PostgreSQL: `CREATE DATABASE tally_t_…` through `TALLY_TEST_POSTGRES_URL`, dropped after;
//! * MariaDB/MySQL: the same through `TALLY_TEST_MYSQL_URL`.
//!
//! The URLs name an account that may create databases (`.ci/run` starts both servers and
//! exports them; `eval "$(bash .ci/run databases)"` does the same on a developer's machine).
//! Without a URL a test prints why it skips, except under CI (`CI` set), where it fails: CI
//! always runs all three.

mod facts;

pub use facts::{DenialRow, SessionRow, UsageSample};

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use sqlx::{AssertSqlSafe, ConnectOptions, Connection};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Runs the migrations in `dir` on the database at `url` the way [`crate::Store::open`] runs its
/// own (one transaction on SQLite and PostgreSQL, step by step on MariaDB).
pub async fn migrate_with(url: &str, dir: &std::path::Path) -> Result<(), crate::StoreError> {
    crate::migrate::run_dir(url, dir).await
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
    MySql,
}

impl Backend {
    /// The variable holding the admin URL of the backend's server (none for SQLite).
    pub fn env(self) -> Option<&'static str> {
        match self {
            Backend::Sqlite => None,
            Backend::Postgres => Some("TALLY_TEST_POSTGRES_URL"),
            Backend::MySql => Some("TALLY_TEST_MYSQL_URL"),
        }
    }

    /// The admin URL from the environment, or `None` with the reason printed; under CI a
    /// missing URL panics. Always `None` for SQLite (no server).
    pub fn admin_url(self) -> Option<String> {
        let var = self.env()?;
        match std::env::var(var) {
            Ok(url) if !url.is_empty() => Some(url),
            _ if in_ci() => panic!(
                "{var} is not set: CI runs the storage tests on every backend (.ci/run exports it)"
            ),
            _ => {
                eprintln!(
                    "skipping the {self:?} run: set {var} to an admin URL of a server whose account may \
                     CREATE DATABASE (`eval \"$(bash .ci/run databases)\"` starts one and sets it)"
                );
                None
            }
        }
    }
}

/// A fresh database, removed by [`TestDb::remove`].
pub struct TestDb {
    pub url: String,
    /// The server's admin URL and the database's name; `None` on SQLite.
    server: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

static NEXT: AtomicU32 = AtomicU32::new(0);

impl TestDb {
    /// A fresh database on `backend`, or `None` (with the reason printed) when its server is not
    /// configured outside CI.
    pub async fn create(backend: Backend) -> Option<TestDb> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let name = format!(
            "tally_t_{}_{}_{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        TestDb::named(backend, &name).await
    }

    /// A fresh database `name` on `backend` (one an earlier, failed run left is dropped first),
    /// or `None` as for [`TestDb::create`]. For a test that may panic between create and remove
    /// (`name` fixed per test: its next run cleans up).
    pub async fn named(backend: Backend, name: &str) -> Option<TestDb> {
        if backend == Backend::Sqlite {
            let dir = tempfile::tempdir().expect("temp dir");
            return Some(TestDb {
                url: format!(
                    "sqlite://{}",
                    dir.path().join(format!("{name}.db")).display()
                ),
                server: None,
                _dir: Some(dir),
            });
        }
        let admin = backend.admin_url()?;
        drop_database(&admin, name).await;
        admin_sql(&admin, &format!("CREATE DATABASE {name}")).await;
        Some(TestDb {
            url: with_database(&admin, name),
            server: Some((admin, name.to_string())),
            _dir: None,
        })
    }

    /// Drops the database (SQLite's directory goes with `self`).
    pub async fn remove(self) {
        if let Some((admin, name)) = &self.server {
            drop_database(admin, name).await;
        }
    }
}

/// Whether this runs under CI (`CI` set and not `false`/`0`).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// Runs `sql` on the server of `admin` (a `postgres://` or `mysql://` URL), on a connection of
/// its own; panics on failure.
pub async fn admin_sql(admin: &str, sql: &str) {
    let sql = AssertSqlSafe(sql.to_string());
    if admin.starts_with("postgres") {
        let mut c = admin
            .parse::<sqlx::postgres::PgConnectOptions>()
            .expect("a PostgreSQL URL")
            .disable_statement_logging()
            .connect()
            .await
            .expect("connecting to PostgreSQL");
        sqlx::raw_sql(sql).execute(&mut c).await.expect("admin SQL");
        let _ = c.close().await;
    } else {
        let mut c = admin
            .parse::<sqlx::mysql::MySqlConnectOptions>()
            .expect("a MySQL/MariaDB URL")
            .disable_statement_logging()
            .connect()
            .await
            .expect("connecting to MySQL/MariaDB");
        sqlx::raw_sql(sql).execute(&mut c).await.expect("admin SQL");
        let _ = c.close().await;
    }
}

/// Drops database `name` on the server of `admin` if it is there (on PostgreSQL even with
/// connections open).
pub async fn drop_database(admin: &str, name: &str) {
    let force = if admin.starts_with("postgres") {
        " WITH (FORCE)"
    } else {
        ""
    };
    admin_sql(admin, &format!("DROP DATABASE IF EXISTS {name}{force}")).await;
}

/// `url` naming database `name` instead of its own (query string kept).
pub fn with_database(url: &str, name: &str) -> String {
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

/// A database server going away and coming back, for outage tests: connections reach the
/// database through this relay to `target`. Cutting it drops every open connection and refuses
/// new ones (accepted, then closed at once) until it is restored.
pub struct Relay {
    pub port: u16,
    cut: Arc<AtomicBool>,
    links: Arc<tokio::sync::Mutex<Vec<JoinHandle<()>>>>,
}

impl Relay {
    pub async fn start(target: String) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("address").port();
        let cut = Arc::new(AtomicBool::new(false));
        let links: Arc<tokio::sync::Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let (is_cut, all) = (cut.clone(), links.clone());
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if is_cut.load(Ordering::SeqCst) {
                    continue; // dropped: closed at once
                }
                let target = target.clone();
                all.lock().await.push(tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                }));
            }
        });
        Relay { port, cut, links }
    }

    pub async fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        for link in self.links.lock().await.drain(..) {
            link.abort();
        }
    }

    pub fn restore(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
}

/// `url`'s `host:port`, and `url` with them replaced by the relay's.
pub fn through(url: &str, port: u16) -> (String, String) {
    let (scheme, rest) = url.split_once("://").expect("scheme");
    let (credentials, rest) = rest.rsplit_once('@').expect("credentials");
    let (address, path) = rest.split_once('/').unwrap_or((rest, ""));
    (
        address.to_string(),
        format!("{scheme}://{credentials}@127.0.0.1:{port}/{path}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(with_database("mysql://h", "t1"), "mysql://h/t1");
    }

    #[tokio::test]
    async fn a_sqlite_database_is_a_file_in_a_directory_of_its_own() {
        let a = TestDb::create(Backend::Sqlite).await.expect("sqlite");
        let b = TestDb::create(Backend::Sqlite).await.expect("sqlite");
        assert!(a.url.starts_with("sqlite://") && a.url.ends_with(".db"));
        assert_ne!(a.url, b.url);
        let dir = a._dir.as_ref().expect("a directory").path().to_path_buf();
        a.remove().await;
        assert!(!dir.exists(), "the directory goes with the database");
        b.remove().await;
    }
}
