//! License servers, statuses and sessions from polls, on every backend.

mod common;

use tally_core::PollResult;
use tally_core::snapshot::{Checkout, Feature, FeatureKind, LicenseServer, ServerStatus};
use tally_core::{ImportStatus, RemoteStatus, Snapshot};
use tally_store::{ServerConfig, Store, StoreError};

stories!(
    servers_are_configured_and_named_once,
    consecutive_polls_make_sessions,
    names_are_written_as_polled
);

fn polled(name: &str) -> ServerConfig {
    ServerConfig {
        host: Some("lic1.example".into()),
        port: Some(27000),
        poll_format: Some("flexlm-lmstat".into()),
        ..ServerConfig::imported(name, "flexlm")
    }
}

fn snapshot(up: bool, holders: &[&str]) -> Snapshot {
    Snapshot {
        servers: vec![LicenseServer {
            host: "lic1.example".into(),
            port: Some(27000),
            status: if up {
                ServerStatus::Up
            } else {
                ServerStatus::Down
            },
            version: None,
            vendor_daemons: vec![],
            message: (!up).then(|| "Cannot connect to license server system (-15,570:115)".into()),
        }],
        features: if up {
            vec![Feature {
                name: "solver".into(),
                vendor: "ansyslmd".into(),
                version: None,
                pool: None,
                issued: Some(5),
                in_use: holders.len() as u32,
                expiry: None,
                kind: FeatureKind::Floating,
            }]
        } else {
            vec![]
        },
        checkouts: holders
            .iter()
            .map(|u| Checkout {
                feature: "solver".into(),
                vendor: "ansyslmd".into(),
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

async fn servers_are_configured_and_named_once(store: Store) {
    // The configuration version moves with every change and only then.
    let version = async || store.config_version().await.expect("version");
    let v0 = version().await;
    let id = store.add_server(polled("lic1")).await.expect("add");
    let v1 = version().await;
    assert_ne!(v1, v0, "added");
    let err = store.add_server(polled("lic1")).await.expect_err("twice");
    assert!(matches!(err, StoreError::ServerExists(_)), "{err}");
    let server = store.server("lic1").await.expect("read").expect("exists");
    assert_eq!(server.remote_status, RemoteStatus::Verifying);
    assert_eq!(server.import_status, ImportStatus::Ready);
    assert_eq!(server.config, polled("lic1"));
    store
        .record_poll(
            id,
            1_700_000_000,
            PollResult::Answered(snapshot(true, &["ann"])).into(),
        )
        .await
        .expect("poll");
    assert_eq!(version().await, v1, "not added twice, polled");

    let mut changed = polled("lic2");
    changed.enabled = false;
    store
        .update_server("lic1", changed.clone())
        .await
        .expect("rename");
    let v2 = version().await;
    assert_ne!(v2, v1, "renamed");
    let server = store.server("lic2").await.expect("read").expect("renamed");
    assert_eq!(server.remote_status, RemoteStatus::Disabled);
    assert_eq!(server.import_status, ImportStatus::Disabled);
    store.remove_server("lic2").await.expect("remove");
    let v3 = version().await;
    assert!(v3 != v2 && v3 != v1, "removed");
    assert!(store.servers().await.expect("list").is_empty());
    let err = store.remove_server("lic2").await.expect_err("gone");
    assert_eq!(version().await, v3, "nothing removed");
    assert!(
        err.to_string()
            .contains("no license server is called `lic2`"),
        "{err}"
    );
}

async fn consecutive_polls_make_sessions(store: Store) {
    let id = store.add_server(polled("lic1")).await.expect("add");
    let poll = |t: i64, s: Snapshot| store.record_poll(id, t, PollResult::Answered(s).into());
    poll(1000, snapshot(true, &["ann", "bob"]))
        .await
        .expect("poll 1");
    assert_eq!(
        store.server_by_id(id).await.expect("read").remote_status,
        RemoteStatus::Online
    );
    poll(1060, snapshot(true, &["bob"])).await.expect("poll 2");
    poll(1120, snapshot(false, &[])).await.expect("down");
    let server = store.server_by_id(id).await.expect("read");
    assert_eq!(server.remote_status, RemoteStatus::Offline);
    assert!(
        server
            .remote_reason
            .as_deref()
            .is_some_and(|r| r.contains("Cannot connect")),
        "{server:?}"
    );
    poll(1180, snapshot(true, &["cat"]))
        .await
        .expect("up again");
    // Tally stops for an hour: cat's session ends when monitoring stopped.
    poll(5000, snapshot(true, &[])).await.expect("after a gap");

    let sessions: Vec<_> = store
        .sessions(id)
        .await
        .expect("sessions")
        .into_iter()
        .map(|s| (s.user, s.start, s.end, s.end_reason, s.source))
        .collect();
    let row = |u: &str, a, b, r: &str| (u.to_string(), a, b, r.to_string(), "poll".to_string());
    assert_eq!(
        sessions,
        vec![
            row("ann", 1000, 1060, "checkin"),
            row("bob", 1000, 1120, "server-restart"),
            row("cat", 1180, 1180, "monitor-stopped"),
        ]
    );
    let samples = store.usage_samples(id).await.expect("samples");
    let in_use: Vec<_> = samples.iter().map(|s| (s.time, s.in_use)).collect();
    assert_eq!(in_use, vec![(1000, 2), (1060, 1), (1180, 1), (5000, 0)]);

    let failed = store
        .record_poll(
            id,
            5060,
            PollResult::Failed("lmutil timed out after 10 s".into()).into(),
        )
        .await
        .expect("failed poll");
    assert_eq!(failed.closed, 0, "an unreadable poll does not end sessions");
    let server = store.server_by_id(id).await.expect("read");
    assert_eq!(
        server.remote_reason.as_deref(),
        Some("lmutil timed out after 10 s")
    );
}

/// The writer keeps each server's open checkouts between polls; another process polling the
/// same server in between (two `tally serve` on one database) makes it read them back.
#[tokio::test]
async fn open_checkouts_kept_in_memory_follow_other_writers() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("tally.db").display());
    let (a, b) = (
        Store::open(&url).await.expect("open a"),
        Store::open(&url).await.expect("open b"),
    );
    let id = a.add_server(polled("lic1")).await.expect("add");
    let poll = async |store: &Store, t: i64, holders: &[&str]| {
        store
            .record_poll(id, t, PollResult::Answered(snapshot(true, holders)).into())
            .await
            .expect("poll")
    };
    poll(&a, 1000, &["ann", "bob"]).await;
    // b closes bob and opens cat; a's copy (ann, bob) is stale.
    poll(&b, 1060, &["ann", "cat"]).await;
    let third = poll(&a, 1120, &["ann", "cat"]).await;
    assert_eq!((third.opened, third.closed), (0, 0));
    poll(&a, 1180, &["cat"]).await;
    // So are the features a poll wrote (a poll saying the same as the last one writes none):
    // b changes the issued count, a's next poll says what a wrote before, and must write it.
    let issued = async |store: &Store, t: i64, n: u32| {
        let mut s = snapshot(true, &["cat"]);
        s.features[0].issued = Some(n);
        store
            .record_poll(id, t, PollResult::Answered(s).into())
            .await
            .expect("poll");
        let features = a.features(Some(id)).await.expect("features");
        assert_eq!(features[0].issued, Some(n), "after the poll at {t}");
    };
    issued(&b, 1240, 9).await;
    issued(&a, 1300, 5).await;
    issued(&a, 1360, 5).await;
    issued(&a, 1420, 6).await;
    let sessions: Vec<_> = a
        .sessions(id)
        .await
        .expect("sessions")
        .into_iter()
        .map(|s| (s.user, s.start, s.end))
        .collect();
    assert_eq!(
        sessions,
        [("ann".into(), 1000, 1180), ("bob".into(), 1000, 1060)],
        "cat still holds it"
    );
    a.close().await;
    b.close().await;
}

/// A poll's new names are created together: quotes, backslashes, control characters and
/// non-ASCII letters come back as written, and a holder named twice is one user.
async fn names_are_written_as_polled(store: Store) {
    let id = store.add_server(polled("lic1")).await.expect("add");
    let odd = ["o\"brien \\ x", "zoë", "tab\there", "zoë"];
    let first = store
        .record_poll(id, 1000, PollResult::Answered(snapshot(true, &odd)).into())
        .await
        .expect("poll 1");
    assert_eq!(first.opened, 4);
    store
        .record_poll(id, 1060, PollResult::Answered(snapshot(true, &[])).into())
        .await
        .expect("poll 2");
    let mut users: Vec<_> = store
        .sessions(id)
        .await
        .expect("sessions")
        .into_iter()
        .map(|s| (s.user, s.host, s.start, s.end))
        .collect();
    users.sort();
    let mut want: Vec<_> = odd
        .iter()
        .map(|u| (u.to_string(), format!("pc-{u}"), 1000, 1060))
        .collect();
    want.sort();
    assert_eq!(users, want);
}
