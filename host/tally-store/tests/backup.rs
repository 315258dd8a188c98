//! Backups while the store writes: `Store::backup` in the middle of a running import gives a
//! database that passes SQLite's integrity check, holds whole batches only (each with the
//! checkpoint that covers it), opens, and restores. SQLite only: PostgreSQL and MariaDB are
//! backed up with their own tools, which `Store::backup` names.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tally_core::{Batch, EndReason, Session};
use tally_store::testing::{Backend, TestDb};
use tally_store::{Checkpoint, FileIdentity, NewImport, RollupFilter, RunStatus, Store};

const SESSIONS_PER_BATCH: u64 = 200;
/// 2024-03-04T00:00:00Z.
const T0: i64 = 1_709_510_400;

/// Batch `i`: sessions of 20 users on 3 features, one every 37 s from where batch `i - 1` ended.
fn batch(i: u64) -> Batch {
    let mut strings: Vec<String> = ["acme", "solver", "mesher", "cad", "ws1", "ws2"]
        .map(String::from)
        .to_vec();
    strings.extend((0..20).map(|u| format!("user{u:02}")));
    let sessions = (0..SESSIONS_PER_BATCH)
        .map(|j| {
            let n = i * SESSIONS_PER_BATCH + j;
            let start = T0 + 37 * n as i64;
            Session {
                vendor: 0,
                feature: 1 + (n % 3) as u32,
                user: 6 + (n % 20) as u32,
                host: 4 + (n % 2) as u32,
                count: 1,
                start,
                end: start + 600 + (n % 7) as i64 * 300,
                end_reason: EndReason::Checkin,
                project: None,
            }
        })
        .collect();
    Batch {
        strings,
        sessions,
        ..Batch::default()
    }
}

fn checkpoint(i: u64) -> Checkpoint {
    Checkpoint {
        offset: (i + 1) * 10_000,
        last_line_hash: format!("line {i}"),
        state: Vec::new(),
        lines: (i + 1) * SESSIONS_PER_BATCH,
    }
}

#[tokio::test]
async fn a_backup_taken_during_an_import_is_consistent_and_restores() {
    let db = TestDb::create(Backend::Sqlite).await.expect("SQLite");
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open(&db.url).await.expect("open");
    let server = store.ensure_server("lic1", "flexlm").await.expect("server");
    let run = store
        .start_import(NewImport {
            server_id: server,
            format: "flexlm-debuglog".into(),
            plugin: "flexlm-log".into(),
            plugin_version: "0.1.0".into(),
            path: "/var/log/lmgrd.log".into(),
            identity: FileIdentity {
                head_len: 64,
                head_hash: "h".into(),
            },
        })
        .await
        .expect("run");

    // The import: batches one after the other until told to stop, then 20 more.
    let committed = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let importer = {
        let (store, committed, stop) = (store.clone(), committed.clone(), stop.clone());
        tokio::spawn(async move {
            let mut i = 0;
            let mut after_stop = 0;
            while after_stop < 20 {
                store
                    .commit_batch(run, server, batch(i), checkpoint(i))
                    .await
                    .expect("queued")
                    .await
                    .expect("writer")
                    .expect("commit");
                i += 1;
                committed.store(i, Ordering::SeqCst);
                if stop.load(Ordering::SeqCst) {
                    after_stop += 1;
                }
            }
            store
                .finish_import(run, RunStatus::Complete, None)
                .await
                .expect("finish");
            i
        })
    };
    while committed.load(Ordering::SeqCst) < 30 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let file = dir.path().join("backup.db");
    let before = committed.load(Ordering::SeqCst);
    let report = store.backup(&file).await.expect("backup");
    let after = committed.load(Ordering::SeqCst);
    stop.store(true, Ordering::SeqCst);
    let batches = importer.await.expect("import");

    // SQLite's own check, on the file as written.
    let conn = rusqlite::Connection::open(&file).expect("open backup");
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity_check");
    assert_eq!(check, "ok");
    let journal: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .expect("journal mode");
    assert_eq!(journal, "delete", "one self-contained file");
    // Whole batches only, each with its checkpoint: the run's counts, its checkpoint and the
    // session rows agree, at a batch the import had reached while the backup ran.
    let (sessions_counted, offset, status): (i64, i64, String) = conn
        .query_row(
            "SELECT sessions, \"offset\", status FROM import_run WHERE id = ?1",
            [run],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .expect("run");
    let rows: i64 = conn
        .query_row(
            "SELECT count(*) FROM session WHERE import_run_id = ?1",
            [run],
            |r| r.get(0),
        )
        .expect("sessions");
    drop(conn);
    assert_eq!(status, "running", "taken in the middle of the import");
    assert_eq!(rows, sessions_counted);
    let in_backup = u64::try_from(rows).expect("count") / SESSIONS_PER_BATCH;
    assert_eq!(rows as u64 % SESSIONS_PER_BATCH, 0, "whole batches");
    assert!(
        (before..=after).contains(&in_backup),
        "{in_backup} batches, the import was at {before}..{after}"
    );
    assert_eq!(offset as u64, checkpoint(in_backup - 1).offset);
    assert_eq!(report.check.sessions, rows as u64);
    assert_eq!(report.check.pending_migrations, 0);
    assert_eq!(report.bytes, std::fs::metadata(&file).expect("file").len());

    // Backups never overwrite.
    let again = store.backup(&file).await.expect_err("exists");
    assert!(again.to_string().contains("exists already"), "{again}");
    store.close().await;

    // It restores into a new database, which opens with the same history and rollups as the
    // backup, and lets the interrupted import resume at its checkpoint.
    let restored_url = format!(
        "sqlite://{}",
        dir.path().join("restored/tally.db").display()
    );
    let check = Store::restore(&restored_url, &file).await.expect("restore");
    assert_eq!(check, report.check);
    let restored = Store::open(&restored_url).await.expect("open restored");
    let totals = restored.row_counts().await.expect("totals");
    assert_eq!(totals.sessions, rows as u64);
    let rollups = restored
        .user_totals(&RollupFilter::default())
        .await
        .expect("rollups");
    assert!(!rollups.is_empty(), "the rollups came with the facts");
    let resumed = restored.import_run(run).await.expect("the run");
    assert_eq!(resumed.status, RunStatus::Running);
    assert_eq!(resumed.checkpoint, checkpoint(in_backup - 1));
    restored.close().await;

    // The backup's own store (the original) sees all the batches.
    let original = Store::open(&db.url).await.expect("reopen");
    assert_eq!(
        original.row_counts().await.expect("totals").sessions,
        batches * SESSIONS_PER_BATCH
    );
    original.close().await;
    db.remove().await;
}

#[tokio::test]
async fn a_corrupted_backup_is_refused_and_the_database_left_alone() {
    let db = TestDb::create(Backend::Sqlite).await.expect("SQLite");
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open(&db.url).await.expect("open");
    store.ensure_server("lic1", "flexlm").await.expect("server");
    let file = dir.path().join("b.db");
    store.backup(&file).await.expect("backup");
    store.close().await;

    // Damage the headers of a few tables' pages: SQLite's integrity check sees it.
    let mut bytes = std::fs::read(&file).expect("read");
    let page = 4096;
    assert!(bytes.len() > 6 * page, "a few pages");
    for p in 2..6 {
        bytes[p * page..p * page + 8].fill(0xA5);
    }
    std::fs::write(&file, &bytes).expect("write");
    let target = format!("sqlite://{}", dir.path().join("t.db").display());
    let e = Store::restore(&target, &file).await.expect_err("refused");
    assert!(e.to_string().contains("cannot be restored"), "{e}");
    assert!(
        !dir.path().join("t.db").exists(),
        "nothing written to the target"
    );
    db.remove().await;
}

#[tokio::test]
async fn other_backends_name_their_tools() {
    for (backend, tool) in [
        (Backend::Postgres, "pg_dump"),
        (Backend::MySql, "mariadb-dump"),
    ] {
        let Some(db) = TestDb::create(backend).await else {
            continue;
        };
        let store = Store::open(&db.url).await.expect("open");
        let e = store
            .backup(std::path::Path::new("never-written.db"))
            .await
            .expect_err("not for this backend");
        assert!(e.to_string().contains(tool), "{e}");
        assert!(!std::path::Path::new("never-written.db").exists());
        store.close().await;
        db.remove().await;
    }
}
