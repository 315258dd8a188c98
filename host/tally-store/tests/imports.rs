//! Imports: batches, checkpoints, diagnostics and reopening, on every backend.

mod common;

use tally_core::{
    Batch, Denial, DenialKind, Diagnostic, DiagnosticKind, EndReason, ErrorCode, ServerEvent,
    ServerEventKind, Session,
};
use tally_store::{
    Checkpoint, FactCounts, FileIdentity, NewImport, RollupFilter, RunStatus, Store, StoreError,
};

stories!(
    a_batch_and_its_checkpoint_land_together,
    diagnostics_are_all_counted_but_only_the_first_thousand_kept,
    reopening_takes_back_the_sessions_closed_at_the_old_end_of_file,
    missing_runs_are_named,
    names_are_exact,
    a_replacing_run_takes_away_what_the_run_it_replaces_wrote,
);

async fn new_run(store: &Store) -> (i64, i64) {
    let server = store
        .ensure_server("lic1", "flexlm-debuglog")
        .await
        .expect("server");
    let identity = FileIdentity {
        head_len: 4,
        head_hash: "h".into(),
    };
    let new = NewImport {
        server_id: server,
        format: "flexlm-debuglog".into(),
        plugin: "flexlm-log".into(),
        plugin_version: "0.1.0".into(),
        path: "/var/log/lmgrd.log".into(),
        identity,
    };
    (server, store.start_import(new).await.expect("run"))
}

/// Two sessions of one user on one feature, a denial, an event, one malformed line.
fn batch(lines: u64, end_reason: EndReason) -> Batch {
    let strings = [
        "acme", "solver", "John Doe", "ws1", "started", "lmgrd", "full",
    ]
    .map(String::from)
    .to_vec();
    let session = |start| Session {
        vendor: 0,
        feature: 1,
        user: 2,
        host: 3,
        count: 2,
        start,
        end: start + 60,
        end_reason,
        project: None,
    };
    Batch {
        strings,
        sessions: vec![session(1_000), session(2_000)],
        denials: vec![Denial {
            vendor: 0,
            feature: 1,
            user: 2,
            host: 3,
            count: 1,
            time: 1_500,
            kind: DenialKind::Denied,
            code: Some(ErrorCode {
                major: -4,
                minor: Some(342),
                errno: None,
            }),
            reason: Some(6),
            requested_version: None,
            until: None,
        }],
        queued: vec![],
        server_events: vec![ServerEvent {
            time: 900,
            kind: ServerEventKind::ServerStart,
            daemon: 5,
            text: 4,
        }],
        diagnostics: vec![Diagnostic {
            line: lines,
            kind: DiagnosticKind::Malformed,
            text: "bad time".into(),
        }],
        capacities: vec![],
        lines,
    }
}

async fn commit(store: &Store, run: i64, server: i64, batch: Batch, offset: u64) -> FactCounts {
    let lines = batch.lines;
    let checkpoint = Checkpoint {
        offset,
        last_line_hash: format!("line{lines}"),
        state: vec![1, 2, 3],
        lines,
    };
    let receiver = store
        .commit_batch(run, server, batch, checkpoint)
        .await
        .expect("queued");
    receiver.await.expect("writer").expect("commit")
}

async fn a_batch_and_its_checkpoint_land_together(store: Store) {
    let (server, run) = new_run(&store).await;
    assert_eq!(
        store
            .ensure_server("lic1", "flexlm-debuglog")
            .await
            .expect("again"),
        server,
        "servers are found by name"
    );

    let counts = commit(&store, run, server, batch(10, EndReason::Checkin), 400).await;
    assert_eq!(
        counts,
        FactCounts {
            sessions: 2,
            denials: 1,
            queued: 0,
            server_events: 1,
            malformed: 1,
            diagnostics: 1
        }
    );
    commit(&store, run, server, batch(20, EndReason::Checkin), 800).await;

    let totals = store.row_counts().await.expect("totals");
    assert_eq!(
        (totals.sessions, totals.denials, totals.server_events),
        (4, 2, 2)
    );
    assert_eq!(
        (totals.users, totals.hosts, totals.features),
        (1, 1, 1),
        "names are stored once"
    );

    let stored = store.import_run(run).await.expect("run");
    assert_eq!(
        stored.checkpoint,
        Checkpoint {
            offset: 800,
            last_line_hash: "line20".into(),
            state: vec![1, 2, 3],
            lines: 20
        }
    );
    assert_eq!((stored.counts.sessions, stored.counts.malformed), (4, 2));
    assert_eq!(stored.status, RunStatus::Running);

    let sessions = store.sessions(server).await.expect("sessions");
    assert_eq!(
        (
            sessions[0].user.as_str(),
            sessions[0].count,
            sessions[0].start,
            sessions[0].source.as_str()
        ),
        ("John Doe", 2, 1_000, "import")
    );
    let denials = store.denials(server).await.expect("denials");
    assert_eq!(
        (
            denials[0].user.as_str(),
            denials[0].code.as_deref(),
            denials[0].reason.as_deref()
        ),
        ("John Doe", Some("-4,342"), Some("full"))
    );

    let diagnostics = store
        .diagnostics(run, Some(DiagnosticKind::Malformed), 10)
        .await
        .expect("diagnostics");
    assert_eq!(
        diagnostics.iter().map(|d| d.line).collect::<Vec<_>>(),
        [10, 20]
    );

    store
        .finish_import(run, RunStatus::Complete, None)
        .await
        .expect("finish");
    assert_eq!(
        store.import_runs(server).await.expect("runs")[0].status,
        RunStatus::Complete
    );
}

async fn diagnostics_are_all_counted_but_only_the_first_thousand_kept(store: Store) {
    let (server, run) = new_run(&store).await;
    let b = Batch {
        diagnostics: (1..=1200)
            .map(|line| Diagnostic {
                line,
                kind: DiagnosticKind::Malformed,
                text: "x".into(),
            })
            .collect(),
        lines: 1200,
        ..Batch::default()
    };
    commit(&store, run, server, b, 10).await;
    assert_eq!(
        store.import_run(run).await.expect("run").counts.diagnostics,
        1200
    );
    let kept = store.diagnostics(run, None, 5000).await.expect("kept");
    assert_eq!(
        (kept.len(), kept.last().map(|d| d.line)),
        (1000, Some(1000))
    );
}

async fn reopening_takes_back_the_sessions_closed_at_the_old_end_of_file(store: Store) {
    let (server, run) = new_run(&store).await;
    commit(&store, run, server, batch(10, EndReason::Checkin), 400).await;
    commit(&store, run, server, batch(10, EndReason::EndOfLog), 400).await;
    store
        .finish_import(run, RunStatus::Complete, None)
        .await
        .expect("finish");

    store.reopen_import(run).await.expect("reopen");
    let stored = store.import_run(run).await.expect("run");
    assert_eq!(
        (stored.status, stored.counts.sessions),
        (RunStatus::Running, 2)
    );
    assert_eq!(store.row_counts().await.expect("totals").sessions, 2);
}

async fn missing_runs_are_named(store: Store) {
    assert!(matches!(
        store.import_run(42).await,
        Err(StoreError::NoSuchRun(42))
    ));
    assert!(matches!(
        store.finish_import(42, RunStatus::Failed, None).await,
        Err(StoreError::NoSuchRun(42))
    ));
}

/// Names are compared exactly on every backend (MySQL's default collations would merge these).
async fn names_are_exact(store: Store) {
    let (server, run) = new_run(&store).await;
    let strings = ["acme", "solver", "ann", "Ann", "ann ", "ws1"]
        .map(String::from)
        .to_vec();
    let session = |user| Session {
        vendor: 0,
        feature: 1,
        user,
        host: 5,
        count: 1,
        start: 10,
        end: 20,
        end_reason: EndReason::Checkin,
        project: Some(0),
    };
    let b = Batch {
        strings,
        sessions: vec![session(2), session(3), session(4)],
        lines: 3,
        ..Batch::default()
    };
    commit(&store, run, server, b, 30).await;
    assert_eq!(store.row_counts().await.expect("totals").users, 3);
    let mut users: Vec<String> = store
        .sessions(server)
        .await
        .expect("sessions")
        .into_iter()
        .map(|s| s.user)
        .collect();
    users.sort();
    assert_eq!(users, ["Ann", "ann", "ann "]);
}

#[tokio::test]
async fn sqlite_files_are_created_with_their_directories() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!(
        "sqlite://{}",
        dir.path().join("nested/dir/tally.db").display()
    );
    let store = Store::open(&url)
        .await
        .expect("open creates the file and its directories");
    assert_eq!(store.row_counts().await.expect("totals").servers, 0);
}

#[tokio::test]
async fn unknown_urls_are_refused_without_their_password() {
    let err = Store::open("redis://tally:secret@localhost/0")
        .await
        .expect_err("not a database we speak");
    assert!(
        err.to_string()
            .starts_with("unsupported database URL `redis://tally:***@localhost/0`"),
        "{err}"
    );
}

async fn a_replacing_run_takes_away_what_the_run_it_replaces_wrote(store: Store) {
    let (server, run) = new_run(&store).await;
    commit(&store, run, server, batch(10, EndReason::Checkin), 400).await;
    store
        .finish_import(run, RunStatus::Complete, None)
        .await
        .expect("finish");
    let all = RollupFilter::default();
    assert!(!store.hour_rollups(&all).await.expect("rollups").is_empty());

    let again = store.import_run(run).await.expect("run");
    let new = NewImport {
        server_id: server,
        format: "flexlm-debuglog".into(),
        plugin: "flexlm-log".into(),
        plugin_version: "0.1.0".into(),
        path: again.path.clone(),
        identity: again.identity.clone(),
    };
    let other = store
        .ensure_server("lic2", "flexlm-debuglog")
        .await
        .expect("server");
    let refused = store
        .start_import_replacing(
            NewImport {
                server_id: other,
                ..new.clone()
            },
            vec![run],
        )
        .await;
    assert!(
        matches!(refused, Err(StoreError::NoSuchRun(r)) if r == run),
        "another server's run"
    );

    let replacing = store
        .start_import_replacing(new, vec![run])
        .await
        .expect("replacing run");
    let totals = store.row_counts().await.expect("totals");
    assert_eq!(
        (totals.sessions, totals.denials, totals.server_events),
        (0, 0, 0)
    );
    assert!(store.hour_rollups(&all).await.expect("rollups").is_empty());
    assert!(matches!(
        store.import_run(run).await,
        Err(StoreError::NoSuchRun(_))
    ));
    let runs = store.import_runs(server).await.expect("runs");
    assert_eq!(runs.iter().map(|r| r.id).collect::<Vec<_>>(), [replacing]);

    commit(
        &store,
        replacing,
        server,
        batch(10, EndReason::Checkin),
        400,
    )
    .await;
    let totals = store.row_counts().await.expect("totals");
    assert_eq!((totals.sessions, totals.denials), (2, 1));
}
