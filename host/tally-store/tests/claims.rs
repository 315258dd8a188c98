//! Import claims: one file is imported onto one server by one process at a time, on every
//! backend; a dead holder's claim is taken over once it expires.

mod common;

use std::time::Duration;

use tally_core::{Batch, EndReason, Session};
use tally_store::{Checkpoint, FileIdentity, NewImport, RunStatus, Store, StoreError};

stories!(
    a_claimed_file_is_refused_to_another_importer_naming_the_holder,
    two_concurrent_imports_of_one_file_write_it_once,
    an_expired_claim_is_taken_over,
);

const HEAD: &str = "5d41402abc4b2a76b9719d911017c592";
const PATH: &str = "/var/log/flexlm/big.log";

async fn server(store: &Store) -> i64 {
    store
        .ensure_server("lic1", "flexlm-debuglog")
        .await
        .expect("server")
}

async fn a_claimed_file_is_refused_to_another_importer_naming_the_holder(store: Store) {
    let server = server(&store).await;
    let first = store.claim_file(server, HEAD, PATH).await.expect("free");
    let refused = store
        .claim_file(server, HEAD, "/mnt/copy/big.log")
        .await
        .expect_err("held");
    let StoreError::FileClaimed { ref path, ref held } = refused else {
        panic!("{refused:?}");
    };
    assert_eq!(path, "/mnt/copy/big.log");
    assert_eq!(held.path, PATH);
    assert!(
        held.holder.contains(&format!(":{}:", std::process::id())),
        "{held:?}"
    );
    assert_eq!(
        held.expires - held.since,
        tally_store::LEASE.as_secs() as i64
    );
    assert_eq!(
        refused.to_string(),
        format!(
            "file /mnt/copy/big.log is being imported by another process ({}, reading {PATH}) since {}; try again when it is done",
            held.holder,
            tally_core::time::rfc3339(held.since)
        )
    );
    // Another file of the server, and the same file of another server, are free.
    let other_file = store
        .claim_file(server, "other-head", PATH)
        .await
        .expect("free");
    let other_server = store
        .ensure_server("lic2", "flexlm-debuglog")
        .await
        .expect("server");
    let other_server = store
        .claim_file(other_server, HEAD, PATH)
        .await
        .expect("free");
    assert!(first.held());
    first.release().await.expect("released");
    assert_eq!(store.claim_of(server, HEAD).await.expect("read"), None);
    let second = store
        .claim_file(server, HEAD, "/mnt/copy/big.log")
        .await
        .expect("free again");
    for claim in [second, other_file, other_server] {
        claim.release().await.expect("released");
    }
}

/// Three batches of two sessions.
fn batch(n: u64) -> Batch {
    let session = |start| Session {
        vendor: 0,
        feature: 1,
        user: 2,
        host: 3,
        count: 1,
        start,
        end: start + 60,
        end_reason: EndReason::Checkin,
        project: None,
    };
    let start = 1_600_000_000 + n as i64 * 3_600;
    Batch {
        strings: ["acme", "solver", "alice", "ws1"]
            .map(String::from)
            .to_vec(),
        sessions: vec![session(start), session(start + 600)],
        lines: n * 10,
        ..Batch::default()
    }
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    Imported,
    Unchanged,
    Refused,
}

/// What the import path does: claim the file, skip it when a run completed it, else import
/// it batch by batch, then give the claim up.
async fn import(store: Store, server: i64) -> Result<Outcome, StoreError> {
    let claim = match store.claim_file(server, HEAD, PATH).await {
        Ok(claim) => claim,
        Err(StoreError::FileClaimed { .. }) => return Ok(Outcome::Refused),
        Err(e) => return Err(e),
    };
    let done = store
        .import_runs(server)
        .await?
        .iter()
        .any(|r| r.identity.head_hash == HEAD && r.status == RunStatus::Complete);
    if done {
        claim.release().await?;
        return Ok(Outcome::Unchanged);
    }
    let run = store
        .start_import(NewImport {
            server_id: server,
            format: "flexlm-debuglog".into(),
            plugin: "flexlm-log".into(),
            plugin_version: "0.1.0".into(),
            path: PATH.into(),
            identity: FileIdentity {
                head_len: 4096,
                head_hash: HEAD.into(),
            },
        })
        .await?;
    for n in 1..=3 {
        claim.check(PATH)?;
        let checkpoint = Checkpoint {
            offset: n * 1000,
            last_line_hash: format!("line {n}"),
            state: vec![],
            lines: n * 10,
        };
        store
            .commit_batch(run, server, batch(n), checkpoint)
            .await?
            .await
            .map_err(|_| StoreError::WriterGone)??;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    store.finish_import(run, RunStatus::Complete, None).await?;
    claim.release().await?;
    Ok(Outcome::Imported)
}

async fn two_concurrent_imports_of_one_file_write_it_once(store: Store) {
    let server = server(&store).await;
    let a = tokio::spawn(import(store.clone(), server));
    let b = tokio::spawn(import(store.clone(), server));
    let mut outcomes = vec![
        a.await.expect("task").expect("import"),
        b.await.expect("task").expect("import"),
    ];
    outcomes.sort();
    assert!(
        outcomes == [Outcome::Imported, Outcome::Refused]
            || outcomes == [Outcome::Imported, Outcome::Unchanged],
        "{outcomes:?}"
    );
    // The refused one, run again when the first is done, finds nothing to add.
    assert_eq!(
        import(store.clone(), server).await.expect("import"),
        Outcome::Unchanged
    );
    let totals = store.row_counts().await.expect("row counts");
    assert_eq!((totals.sessions, totals.import_runs), (6, 1));
    assert_eq!(store.claim_of(server, HEAD).await.expect("read"), None);
}

async fn an_expired_claim_is_taken_over(store: Store) {
    let server = server(&store).await;
    let dead = store
        .claim_file_for(server, HEAD, PATH, Duration::from_secs(1))
        .await
        .expect("free");
    // Killed mid-import: nobody renews or releases it.
    dead.abandon();
    assert!(matches!(
        store.claim_file(server, HEAD, PATH).await,
        Err(StoreError::FileClaimed { .. })
    ));
    // Expired once its second is over (times are whole seconds).
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let taken = store
        .claim_file(server, HEAD, PATH)
        .await
        .expect("taken over");
    assert!(taken.held());
    taken.release().await.expect("released");

    // A live holder's claim is renewed and never expires under it.
    let live = store
        .claim_file_for(server, HEAD, PATH, Duration::from_secs(1))
        .await
        .expect("free");
    tokio::time::sleep(Duration::from_millis(2_600)).await;
    assert!(live.held());
    assert!(matches!(
        store.claim_file(server, HEAD, PATH).await,
        Err(StoreError::FileClaimed { .. })
    ));
    live.release().await.expect("released");
}
