//! End-user agents in the store, on every backend: a report is applied once whatever the
//! number of times it is sent, its processes become End User sessions that end when a later
//! report no longer has them, a session annotates the license manager's matching open
//! checkout, and harvest orders and their results are recorded once.

mod common;

use tally_core::harvest::CpuSample;
use tally_core::snapshot::{Checkout, Feature, FeatureKind, LicenseServer, ServerStatus};
use tally_core::{PollResult, Snapshot};
use tally_store::{NewOrder, NewWatched, ProcessWrite, ReportWrite, ResultWrite, Store};

stories!(
    a_report_is_applied_once_and_its_processes_become_sessions,
    harvest_orders_and_results_are_recorded_once,
    a_use_a_poll_saw_is_annotated_not_counted_again,
);

const T0: i64 = 1_796_637_600;

fn process(server: i64, pid: u32, time: i64, percent: f64) -> ProcessWrite {
    ProcessWrite {
        server_id: server,
        feature: "MATLAB".into(),
        application: "matlab".into(),
        user: Some("ann".into()),
        pid,
        started: T0 - 100,
        cpu_time_ms: 1000,
        cpu: CpuSample {
            from: time - 30,
            to: time,
            percent,
        },
        input_idle_secs: Some(5),
        suspended: false,
        window_secs: 120,
    }
}

fn report(agent: i64, seq: u64, time: i64, processes: Vec<ProcessWrite>) -> ReportWrite {
    ReportWrite {
        agent,
        seq,
        host: "ws1".into(),
        time,
        received: time + 1,
        version: "0.1.0".into(),
        errors: vec!["a problem".into()],
        queued: 1,
        dropped: 0,
        processes,
        results: vec![],
    }
}

async fn watched(store: &Store) -> i64 {
    let server = store.ensure_server("lic1", "flexlm").await.expect("server");
    store
        .put_watched_application(NewWatched {
            name: "matlab".into(),
            match_kind: "name".into(),
            pattern: "matlab".into(),
            server_id: server,
            feature: "MATLAB".into(),
            policy: None,
        })
        .await
        .expect("watched");
    server
}

async fn a_report_is_applied_once_and_its_processes_become_sessions(store: Store) {
    let server = watched(&store).await;
    // Replacing keeps one row.
    store
        .put_watched_application(NewWatched {
            name: "matlab".into(),
            match_kind: "path".into(),
            pattern: "/opt/**/matlab".into(),
            server_id: server,
            feature: "MATLAB".into(),
            policy: Some("{}".into()),
        })
        .await
        .expect("replaced");
    let apps = store.watched_applications().await.expect("apps");
    assert_eq!(apps.len(), 1);
    assert_eq!(
        (apps[0].match_kind.as_str(), apps[0].server.as_str()),
        ("path", "lic1")
    );

    let agent = store
        .enrol_agent("ws1", "linux", "0.1.0", T0)
        .await
        .expect("enrol");
    let first = report(
        agent,
        1,
        T0,
        vec![process(server, 10, T0, 1.0), process(server, 11, T0, 2.0)],
    );
    assert!(
        !store
            .apply_agent_report(first.clone())
            .await
            .expect("apply")
    );
    assert!(
        store.apply_agent_report(first).await.expect("again"),
        "sent again: a duplicate"
    );
    let open = store.open_agent_sessions(Some(agent)).await.expect("open");
    assert_eq!(open.len(), 2);
    assert!(open.iter().all(|s| s.reports == 1 && s.ended.is_none()));
    assert_eq!(open[0].checkout_id, None, "no poll saw it: counted alone");

    // The second report has pid 10 only: 11 ended then.
    let second = report(agent, 2, T0 + 30, vec![process(server, 10, T0 + 30, 3.0)]);
    assert!(
        !store
            .apply_agent_report(second.clone())
            .await
            .expect("apply")
    );
    assert!(store.apply_agent_report(second).await.expect("again"));
    let open = store.open_agent_sessions(Some(agent)).await.expect("open");
    assert_eq!(open.len(), 1);
    assert_eq!((open[0].pid, open[0].reports), (10, 2));
    assert_eq!(open[0].cpu_samples.len(), 2);
    assert_eq!(open[0].cpu_centi, 300);
    let all = store.agent_sessions(None, 10).await.expect("all");
    assert_eq!(all.len(), 2);
    let ended = all.iter().find(|s| s.pid == 11).expect("11");
    assert_eq!(ended.ended, Some(T0 + 30));

    let row = store.agent(agent).await.expect("agent").expect("exists");
    assert_eq!((row.reports, row.duplicates), (2, 2));
    assert_eq!(row.last_seen, Some(T0 + 31), "when the server received it");
    assert_eq!(row.errors, ["a problem"]);
    assert_eq!(store.agents_last_seen().await.expect("seen"), vec![T0 + 31]);

    assert!(
        store
            .set_agent_harvesting(agent, true, T0)
            .await
            .expect("on")
    );
    assert!(
        store
            .set_agent_harvesting(agent, true, T0 + 9)
            .await
            .expect("on")
    );
    let row = store.agent(agent).await.expect("agent").expect("exists");
    assert_eq!(row.harvesting_since, Some(T0), "the first enabling counts");
    assert!(
        !store
            .set_agent_harvesting(999, true, T0)
            .await
            .expect("none")
    );

    assert_eq!(
        store
            .harvesting_agent_rows()
            .await
            .expect("rows")
            .iter()
            .map(|a| a.id)
            .collect::<Vec<_>>(),
        [agent]
    );
    store.set_agent_data(server, false, T0).await.expect("off");
    store
        .set_agent_data(server, false, T0)
        .await
        .expect("off again");
    assert_eq!(store.agent_data_off().await.expect("off"), [server]);
    store.set_agent_data(server, true, T0).await.expect("on");
    assert!(store.agent_data_off().await.expect("off").is_empty());

    assert!(store.remove_agent(agent).await.expect("removed"));
    assert!(store.agents().await.expect("agents").is_empty());
    assert!(
        store
            .agent_sessions(None, 10)
            .await
            .expect("sessions")
            .is_empty()
    );
    assert!(
        store
            .remove_watched_application("matlab")
            .await
            .expect("rm")
    );
    assert!(
        !store
            .remove_watched_application("matlab")
            .await
            .expect("rm")
    );
}

async fn harvest_orders_and_results_are_recorded_once(store: Store) {
    let server = watched(&store).await;
    let agent = store
        .enrol_agent("ws1", "linux", "0.1.0", T0)
        .await
        .expect("enrol");
    store
        .apply_agent_report(report(agent, 1, T0, vec![process(server, 10, T0, 0.0)]))
        .await
        .expect("apply");
    let session = store.open_agent_sessions(Some(agent)).await.expect("open")[0].id;
    let order = |method: &str| NewOrder {
        session_id: session,
        method: method.into(),
        release_json: format!(r#"{{"kind":"{method}"}}"#),
        reasons_json: r#"{"user_idle_secs":700}"#.into(),
    };
    let added = store
        .add_harvest_orders(agent, vec![order("graceful")], T0)
        .await
        .expect("order");
    assert_eq!(added.len(), 1);
    let again = store
        .add_harvest_orders(agent, vec![order("graceful"), order("force")], T0 + 1)
        .await
        .expect("order");
    assert_eq!(again.len(), 1, "graceful was given already");
    let orders = store.agent_orders(agent, true).await.expect("orders");
    assert_eq!(orders.len(), 2);
    assert_eq!((orders[0].pid, orders[0].outcome.as_deref()), (10, None));

    let mut with_result = report(agent, 2, T0 + 30, vec![process(server, 10, T0 + 30, 0.0)]);
    with_result.results = vec![ResultWrite {
        order_id: added[0],
        outcome: "still-running".into(),
        reason: None,
        time: T0 + 20,
        saved_secs: 0,
    }];
    store
        .apply_agent_report(with_result.clone())
        .await
        .expect("apply");
    store.apply_agent_report(with_result).await.expect("again");
    let mut killed = report(agent, 3, T0 + 60, vec![]);
    killed.results = vec![ResultWrite {
        order_id: again[0],
        outcome: "killed".into(),
        reason: None,
        time: T0 + 50,
        saved_secs: 700,
    }];
    store.apply_agent_report(killed).await.expect("apply");
    let events = store.harvest_events(None, 10).await.expect("events");
    let seen: Vec<(&str, &str, u64, &str)> = events
        .iter()
        .map(|e| {
            (
                e.method.as_str(),
                e.outcome.as_str(),
                e.saved_secs,
                e.server.as_str(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("force", "killed", 700, "lic1"),
            ("graceful", "still-running", 0, "lic1")
        ]
    );
    assert_eq!(events[0].user.as_deref(), Some("ann"));
    // The process is gone: no order is pending for it any more, and both are on record.
    assert!(
        store
            .agent_orders(agent, true)
            .await
            .expect("orders")
            .is_empty()
    );
    let all = store.agent_orders(agent, false).await.expect("orders");
    let outcomes: Vec<Option<&str>> = all.iter().map(|o| o.outcome.as_deref()).collect();
    assert_eq!(outcomes, [Some("still-running"), Some("killed")]);
}

async fn a_use_a_poll_saw_is_annotated_not_counted_again(store: Store) {
    let server = watched(&store).await;
    let checkout = |user: &str| Checkout {
        feature: "MATLAB".into(),
        vendor: "MLM".into(),
        user: user.into(),
        host: "ws1".into(),
        display: None,
        count: 1,
        start: None,
        handle: None,
        linger: None,
        borrowed: false,
    };
    let snapshot = Snapshot {
        servers: vec![LicenseServer {
            host: "lic1".into(),
            port: Some(27000),
            status: ServerStatus::Up,
            version: None,
            vendor_daemons: vec![],
            message: None,
        }],
        features: vec![Feature {
            name: "MATLAB".into(),
            vendor: "MLM".into(),
            version: None,
            pool: None,
            issued: Some(5),
            in_use: 2,
            expiry: None,
            kind: FeatureKind::Floating,
        }],
        checkouts: vec![checkout("ann"), checkout("bob")],
        ..Snapshot::default()
    };
    store
        .record_poll(server, T0 - 10, PollResult::Answered(snapshot).into())
        .await
        .expect("poll");
    let agent = store
        .enrol_agent("ws1", "linux", "0.1.0", T0)
        .await
        .expect("enrol");
    // Ann runs two processes: one annotates her checkout, the other counts alone; Cat has no
    // checkout at all.
    let mut cat = process(server, 12, T0, 0.0);
    cat.user = Some("cat".into());
    store
        .apply_agent_report(report(
            agent,
            1,
            T0,
            vec![
                process(server, 10, T0, 0.0),
                process(server, 11, T0, 0.0),
                cat,
            ],
        ))
        .await
        .expect("apply");
    let open = store.open_agent_sessions(Some(agent)).await.expect("open");
    let annotated: Vec<(u32, bool)> = open
        .iter()
        .map(|s| (s.pid, s.checkout_id.is_some()))
        .collect();
    assert_eq!(annotated, [(10, true), (11, false), (12, false)]);

    // All three end: the two that counted alone become End User sessions, rolled up; Ann's
    // first is her checkout's, counted by the poll's session.
    store
        .apply_agent_report(report(agent, 2, T0 + 3_600, vec![]))
        .await
        .expect("apply");
    let sessions: Vec<(String, i64, i64, String)> = store
        .sessions(server)
        .await
        .expect("sessions")
        .into_iter()
        .filter(|s| s.source == "end-user")
        .map(|s| (s.user, s.start, s.end, s.feature))
        .collect();
    let alone = |user: &str| (user.to_string(), T0 - 100, T0 + 3_600, "MATLAB".to_string());
    assert_eq!(sessions, [alone("ann"), alone("cat")]);
    let hours = store
        .hour_rollups(&tally_store::RollupFilter {
            server: Some(server),
            feature: None,
            from: Some(T0),
            to: Some(T0 + 3_600),
        })
        .await
        .expect("rollups");
    assert!(
        hours.iter().any(|h| h.load.used_seconds >= 2 * 3_500),
        "both End User sessions are rolled up: {hours:?}"
    );
}
