//! One storage story, every backend. Each story is an `async fn(Store)`; [`stories!`] makes a
//! test of it per backend, each on a fresh database (`tally_store::testing`: a SQLite file
//! always; PostgreSQL and MariaDB through `TALLY_TEST_POSTGRES_URL` / `TALLY_TEST_MYSQL_URL`,
//! skipped with the reason when unset outside CI).
#![allow(dead_code)]

use std::future::Future;

use tally_store::Store;
pub use tally_store::testing::Backend;
use tally_store::testing::TestDb;

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
    // Closed before the database is dropped: MariaDB waits for a connection's open transaction.
    store.close().await;
    db.remove().await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
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
