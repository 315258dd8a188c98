//! Pages of facts and what the latest polls said, on every backend.

mod common;

use tally_core::PollResult;
use tally_core::snapshot::{
    Checkout, Feature, FeatureKind, LicenseServer, Reservation, ReservationTarget, ServerStatus,
    VendorDaemon,
};
use tally_core::{Batch, EndReason, Session, Snapshot};
use tally_store::{FactFilter, Party, ServerConfig, Store};

stories!(
    polled_facts_page_and_show_now,
    a_window_pages_past_thousands_of_sessions
);

const T0: i64 = 1_700_000_000;

fn snapshot(holders: &[&str]) -> Snapshot {
    Snapshot {
        servers: vec![LicenseServer {
            host: "lic1.example".into(),
            port: Some(27000),
            status: ServerStatus::Up,
            version: Some("v11.19".into()),
            vendor_daemons: vec![VendorDaemon {
                name: "ansyslmd".into(),
                status: ServerStatus::Up,
                version: Some("v11.19".into()),
                message: None,
            }],
            message: None,
        }],
        features: ["a", "b"]
            .iter()
            .map(|pool| Feature {
                name: "solver".into(),
                vendor: "ansyslmd".into(),
                version: None,
                pool: Some((*pool).into()),
                issued: Some(5),
                in_use: holders.len() as u32,
                expiry: Some(T0 + 86_400),
                kind: FeatureKind::Floating,
            })
            .collect(),
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
                borrowed: *u == "bob",
            })
            .collect(),
        reservations: vec![Reservation {
            feature: "solver".into(),
            vendor: "ansyslmd".into(),
            count: 1,
            target_kind: ReservationTarget::User,
            target: "dan".into(),
        }],
        ..Snapshot::default()
    }
}

async fn polled_facts_page_and_show_now(store: Store) {
    let config = ServerConfig {
        host: Some("lic1.example".into()),
        port: Some(27000),
        poll_format: Some("flexlm-lmstat".into()),
        ..ServerConfig::imported("lic1", "flexlm")
    };
    let id = store.add_server(config).await.expect("add");
    let polls = [
        (T0, vec!["ann", "bob"]),
        (T0 + 60, vec!["bob", "cat"]),
        (T0 + 120, vec!["cat"]),
        (T0 + 180, vec!["ann", "cat"]),
        (T0 + 240, vec![]),
    ];
    for (t, holders) in &polls {
        let answer = PollResult::Answered(snapshot(holders));
        store
            .record_poll(id, *t, answer.into())
            .await
            .expect("poll");
    }
    store
        .record_poll(
            id,
            T0 + 300,
            PollResult::Answered(snapshot(&["dan"])).into(),
        )
        .await
        .expect("poll");

    // Sessions a page at a time, in id order, each once.
    let all = FactFilter {
        server: Some(id),
        ..FactFilter::default()
    };
    let every = store.session_page(&all, 0, 100).await.expect("page");
    assert_eq!(every.len(), 4, "dan's is still open: {every:?}");
    let mut after = 0;
    let mut paged = Vec::new();
    loop {
        let page = store.session_page(&all, after, 2).await.expect("page");
        let Some(last) = page.last() else { break };
        after = last.id;
        paged.extend(page);
    }
    assert_eq!(paged, every);
    let ann = store.party_id(Party::User, "ann").await.expect("id");
    let by_ann = FactFilter {
        user: ann,
        ..all.clone()
    };
    let anns = store.session_page(&by_ann, 0, 100).await.expect("ann");
    assert_eq!(anns.len(), 2);
    assert!(anns.iter().all(|s| s.user == "ann" && s.server == "lic1"));
    let late = FactFilter {
        from: Some(T0 + 150),
        ..all.clone()
    };
    let late = store.session_page(&late, 0, 100).await.expect("late");
    assert!(late.iter().all(|s| s.end > T0 + 150), "{late:?}");
    assert_eq!(late.len(), 2, "cat's and ann's second");
    let none = FactFilter {
        features: Some(vec![]),
        ..all.clone()
    };
    assert!(
        store
            .session_page(&none, 0, 100)
            .await
            .expect("none")
            .is_empty()
    );
    assert!(
        store
            .denial_page(&all, 0, 100)
            .await
            .expect("denials")
            .is_empty()
    );

    // Users by name with their license-hours from the rollups.
    let users = store
        .party_page(Party::User, Some(id), "", 2)
        .await
        .expect("users");
    let names: Vec<&str> = users.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(names, ["ann", "bob"]);
    assert!(
        users[0].license_hours > 0.0 && users[0].sessions == 2,
        "{users:?}"
    );
    assert!(users[0].last_seen.is_some());
    let rest = store
        .party_page(Party::User, None, "bob", 10)
        .await
        .expect("rest");
    assert_eq!(rest.first().map(|u| u.name.as_str()), Some("cat"));
    let hosts = store
        .party_page(Party::Host, None, "", 10)
        .await
        .expect("hosts");
    assert!(hosts.iter().any(|h| h.name == "pc-ann"));

    // Samples through the feature's index, keyset by time.
    let features = store.features(Some(id)).await.expect("features");
    assert_eq!(features.len(), 1);
    let solver = &features[0];
    assert_eq!(
        (solver.issued, solver.pools, solver.reserved),
        (Some(10), 2, 1)
    );
    assert_eq!(solver.expiry, Some(T0 + 86_400));
    let first = store
        .sample_page(&[solver.id], (None, None), None, 4)
        .await
        .expect("samples");
    assert_eq!(
        first.iter().map(|s| s.time).collect::<Vec<_>>(),
        [T0, T0 + 60, T0 + 120, T0 + 180]
    );
    let last = first.last().map(|s| (s.time, s.feature_id));
    let second = store
        .sample_page(&[solver.id], (None, Some(T0 + 300)), last, 4)
        .await
        .expect("samples");
    assert_eq!(
        second.iter().map(|s| s.time).collect::<Vec<_>>(),
        [T0 + 240]
    );

    // Now: the latest sample, the checkouts open, the daemons, the manager's version.
    let latest = store.latest_samples(Some(id)).await.expect("latest");
    assert_eq!(latest.len(), 1);
    assert_eq!((latest[0].time, latest[0].in_use), (T0 + 300, 2));
    let open = store.open_sessions(None).await.expect("open");
    assert_eq!(
        open.iter().map(|o| o.user.as_str()).collect::<Vec<_>>(),
        ["dan"]
    );
    let daemons = store.vendor_daemons(Some(id)).await.expect("daemons");
    assert_eq!(daemons.len(), 1);
    assert_eq!(
        (daemons[0].name.as_str(), daemons[0].status.as_str()),
        ("ansyslmd", "up")
    );
    let server = store.server("lic1").await.expect("read").expect("lic1");
    assert_eq!(server.last_import, None);
    store.remove_server("lic1").await.expect("remove");
    assert!(
        store
            .vendor_daemons(None)
            .await
            .expect("daemons")
            .is_empty()
    );
}

/// More sessions than a page reads by id, a few long ones among them: a window's pages come
/// through the index by feature and end, or past a few rounds of it (a filter few sessions
/// pass) from all the window's sessions; either way every match once, in id order.
async fn a_window_pages_past_thousands_of_sessions(store: Store) {
    let id = store
        .add_server(ServerConfig::imported("big", "flexlm"))
        .await
        .expect("add");
    let sessions = (0..6_000i64)
        .map(|i| {
            let start = T0 + i * 600;
            Session {
                vendor: 0,
                feature: 1 + (i % 2) as u32,
                user: 3 + (i % 3) as u32,
                host: 6,
                count: 1,
                start,
                end: start + if i % 997 == 0 { 3_000_000 } else { 300 },
                end_reason: EndReason::Checkin,
                project: None,
            }
        })
        .collect();
    let batch = Batch {
        strings: ["acme", "solver", "mesher", "ann", "bob", "cat", "ws1"]
            .map(String::from)
            .to_vec(),
        sessions,
        lines: 6_000,
        ..Batch::default()
    };
    common::import(&store, id, "big.log", vec![batch]).await;
    let pages = async |filter: &FactFilter, size: u32| {
        let mut out = Vec::new();
        loop {
            let after = out.last().map_or(0, |s: &tally_store::SessionEntry| s.id);
            let page = store.session_page(filter, after, size).await.expect("page");
            if page.is_empty() {
                return out;
            }
            out.extend(page);
        }
    };
    let server = FactFilter {
        server: Some(id),
        ..FactFilter::default()
    };
    let all = pages(&server, 1_000).await;
    assert_eq!(all.len(), 6_000);
    let bob = store
        .party_id(Party::User, "bob")
        .await
        .expect("bob")
        .expect("bob's id");
    for (from, to, user) in [
        (T0 + 3_000_000, None, None),
        (T0 + 3_000_000, Some(T0 + 3_200_000), Some(bob)),
        // Two sessions among thousands ending after `from`.
        (T0 + 100, Some(T0 + 700), None),
    ] {
        let filter = FactFilter {
            from: Some(from),
            to,
            user,
            ..server.clone()
        };
        let expected: Vec<i64> = all
            .iter()
            .filter(|s| s.end > from && to.is_none_or(|t| s.start < t))
            .filter(|s| user.is_none() || s.user == "bob")
            .map(|s| s.id)
            .collect();
        assert!(!expected.is_empty());
        let paged: Vec<i64> = pages(&filter, 100).await.iter().map(|s| s.id).collect();
        assert_eq!(paged, expected, "{filter:?}");
    }
}
