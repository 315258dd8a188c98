//! The database server going away and coming back (a restart, a network cut), on PostgreSQL and
//! MariaDB: the store reaches it through a TCP relay the test cuts. While it is away each write
//! fails with a clear error (nothing half-written); once it is back, writes resume on a new
//! connection without restarting Tally, and what was committed before and after is all there,
//! once.

use tally_core::{Batch, EndReason, Session};
use tally_store::testing::{Backend, Relay, TestDb, through};
use tally_store::{Checkpoint, FileIdentity, NewImport, Store};

fn batch(start: i64) -> Batch {
    Batch {
        strings: ["acme", "solver", "ann", "ws1"].map(String::from).to_vec(),
        sessions: vec![Session {
            vendor: 0,
            feature: 1,
            user: 2,
            host: 3,
            count: 1,
            start,
            end: start + 600,
            end_reason: EndReason::Checkin,
            project: None,
        }],
        lines: 2,
        ..Batch::default()
    }
}

async fn commit(store: &Store, run: i64, server: i64, start: i64) -> Result<(), String> {
    let checkpoint = Checkpoint {
        offset: start as u64,
        last_line_hash: format!("{start}"),
        state: vec![],
        lines: 2,
    };
    let answer = store
        .commit_batch(run, server, batch(start), checkpoint)
        .await
        .map_err(|e| e.to_string())?;
    match answer.await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("the writer dropped the answer".into()),
    }
}

async fn the_database_going_away_and_back(backend: Backend) {
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    let relay = Relay::start(through(&db.url, 0).0).await;
    let (_, url) = through(&db.url, relay.port);
    let store = Store::open(url.as_str())
        .await
        .expect("open through the relay");
    let server = store
        .ensure_server("lic1", "flexlm-debuglog")
        .await
        .expect("server");
    let run = store
        .start_import(NewImport {
            server_id: server,
            format: "flexlm-debuglog".into(),
            plugin: "flexlm-log".into(),
            plugin_version: "0.1.0".into(),
            path: "/var/log/lmgrd.log".into(),
            identity: FileIdentity {
                head_len: 4,
                head_hash: "h".into(),
            },
        })
        .await
        .expect("run");
    commit(&store, run, server, 1_000).await.expect("before");

    relay.cut().await;
    let away = commit(&store, run, server, 2_000).await;
    let error = away.expect_err("the database is away");
    assert!(error.contains("database error"), "{error}");
    assert!(!error.contains(&db.url), "no URL, no password: {error}");
    // Still away: failing again, at once.
    assert!(commit(&store, run, server, 2_000).await.is_err());

    relay.restore();
    let mut outcome = Err(String::new());
    for _ in 0..3 {
        outcome = commit(&store, run, server, 2_000).await;
        if outcome.is_ok() {
            break;
        }
    }
    outcome.expect("writes resume once the database is back");
    commit(&store, run, server, 3_000).await.expect("and go on");

    let sessions = store.sessions(server).await.expect("sessions");
    let starts: Vec<i64> = sessions.iter().map(|s| s.start).collect();
    assert_eq!(starts, [1_000, 2_000, 3_000], "each batch once");
    store.close().await;
    relay.cut().await;
    db.remove().await;
}

/// An import that fails because the database went away drops its claim, whose release fails
/// too: once the database is back, the same process takes the file up again at once instead of
/// waiting for the claim's lease to run out.
async fn a_claim_given_up_while_the_database_was_away(backend: Backend) {
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    let relay = Relay::start(through(&db.url, 0).0).await;
    let (_, url) = through(&db.url, relay.port);
    let store = Store::open(url.as_str()).await.expect("open");
    let server = store
        .ensure_server("lic1", "flexlm-debuglog")
        .await
        .expect("server");
    let claim = store
        .claim_file(server, "head", "/var/log/lmgrd.log")
        .await
        .expect("free");

    relay.cut().await;
    drop(claim);
    // The release in the background fails.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    relay.restore();
    let mut again = store.claim_file(server, "head", "/var/log/lmgrd.log").await;
    for _ in 0..3 {
        match &again {
            Err(e) if e.is_out_of_reach() => {
                again = store.claim_file(server, "head", "/var/log/lmgrd.log").await;
            }
            _ => break,
        }
    }
    again
        .expect("taken up again at once")
        .release()
        .await
        .expect("released");
    store.close().await;
    relay.cut().await;
    db.remove().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_claim_given_up_while_away_is_taken_up_again_at_once() {
    a_claim_given_up_while_the_database_was_away(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn mariadb_claim_given_up_while_away_is_taken_up_again_at_once() {
    a_claim_given_up_while_the_database_was_away(Backend::MySql).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_going_away_and_back_loses_and_doubles_nothing() {
    the_database_going_away_and_back(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn mariadb_going_away_and_back_loses_and_doubles_nothing() {
    the_database_going_away_and_back(Backend::MySql).await;
}
