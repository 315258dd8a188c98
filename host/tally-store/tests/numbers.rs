//! Capacity by source and time, time zones, and refusals by cause, on every backend.

mod common;

use common::import;
use tally_core::capacity::{Capacity, CapacitySource, Issued};
use tally_core::refusal::RefusalCause;
use tally_core::rollup::FeatureKey;
use tally_core::zone::Zone;
use tally_core::{Batch, Denial, DenialKind, EndReason, ErrorCode, Session};
use tally_store::{OperatorCapacity, RollupFilter, Store, StoreError};

stories!(
    capacity_in_force_by_trust_and_time,
    operator_capacity_is_checked,
    time_zones_are_kept,
    only_capacity_refusals_roll_up,
);

const H: i64 = 3_600;
/// 2024-03-01T00:00Z.
const T0: i64 = 1_709_251_200;

fn strings() -> Vec<String> {
    [
        "demo", "solver", "mesher", "7", "9", "8", "2.0", "line 4", "ann", "ws1",
    ]
    .map(String::from)
    .to_vec()
}

fn cap(
    feature: u32,
    pool: u32,
    issued: Option<u32>,
    from: i64,
    source: CapacitySource,
) -> Capacity {
    Capacity {
        vendor: 0,
        feature,
        version: Some(6),
        pool: Some(pool),
        issued,
        from: Some(from),
        expiry: None,
        source,
    }
}

/// The key of `server`'s feature `name`, from its capacity statements.
async fn feature_id(store: &Store, server: i64, name: &str) -> FeatureKey {
    let rows = store.capacity_rows(server).await.expect("rows");
    rows.iter()
        .find(|r| r.name == name)
        .map(|r| r.feature)
        .unwrap_or_else(|| panic!("no capacity stated for {name}"))
}

async fn capacity_in_force_by_trust_and_time(store: Store) {
    let server = store.ensure_server("lic", "rlm").await.expect("server");
    // The server's log: solver in pools 7 (4) and 9 (2) at T0, restated at T0+10h as pools 7
    // (5) and 8 (3); a second import of the same log restates nothing new.
    let log = Batch {
        strings: strings(),
        capacities: vec![
            cap(1, 3, Some(4), T0, CapacitySource::Server),
            cap(1, 4, Some(2), T0, CapacitySource::Server),
            cap(1, 3, Some(5), T0 + 10 * H, CapacitySource::Server),
            cap(1, 5, Some(3), T0 + 10 * H, CapacitySource::Server),
        ],
        lines: 4,
        ..Batch::default()
    };
    import(&store, server, "report.rlog", vec![log.clone()]).await;
    import(&store, server, "report-again.rlog", vec![log]).await;
    // A license file: mesher, 6 licences from T0+5h until T0+20h, and solver (outranked).
    let file = Batch {
        strings: strings(),
        capacities: vec![
            Capacity {
                expiry: Some(T0 + 20 * H),
                ..cap(2, 7, Some(6), T0 + 5 * H, CapacitySource::LicenseFile)
            },
            cap(1, 7, Some(99), T0, CapacitySource::LicenseFile),
        ],
        lines: 2,
        ..Batch::default()
    };
    import(&store, server, "demo.lic", vec![file]).await;
    let rows = store.capacity_rows(server).await.expect("rows");
    assert_eq!(rows.len(), 6, "restatements kept once: {rows:#?}");

    let solver = feature_id(&store, server, "solver").await;
    let mesher = feature_id(&store, server, "mesher").await;
    // The operator's contract for mesher: 10 from T0 on; the license file outranks it while
    // in force.
    store
        .enter_capacity(
            server,
            OperatorCapacity {
                vendor: "demo".into(),
                feature: "mesher".into(),
                issued: Some(10),
                from: Some(T0),
                until: None,
            },
        )
        .await
        .expect("entered");
    // A feature nothing states: unknown, not zero.
    store
        .enter_capacity(
            server,
            OperatorCapacity {
                vendor: "demo".into(),
                feature: "viewer".into(),
                issued: Some(1),
                from: Some(T0 + 100 * H),
                until: Some(T0 + 101 * H),
            },
        )
        .await
        .expect("entered");

    let at = |t| {
        let store = store.clone();
        async move { store.capacity_at(server, t).await.expect("capacity") }
    };
    let c = at(T0 + H).await;
    assert_eq!(c[&solver], Issued::Count(6));
    assert_eq!(c[&mesher], Issued::Count(10));
    let viewer = feature_id(&store, server, "viewer").await;
    assert_eq!(c[&viewer], Issued::Unknown);
    let c = at(T0 + 12 * H).await;
    assert_eq!(
        (c[&solver], c[&mesher]),
        (Issued::Count(8), Issued::Count(6))
    );
    let c = at(T0 + 30 * H).await;
    assert_eq!(c[&mesher], Issued::Count(10));
    // Before anything was stated: unknown.
    assert_eq!(at(T0 - H).await[&solver], Issued::Unknown);
    // What feature_stats takes: counted features only.
    let issued = store
        .issued_at(&[server], T0 + 12 * H)
        .await
        .expect("issued");
    assert_eq!(issued.get(&solver), Some(&8));
    assert_eq!(issued.get(&viewer), None);

    // The license file renewed: mesher 7 until T0+40h. It replaces the file's earlier lines.
    let renewed = Batch {
        strings: strings(),
        capacities: vec![Capacity {
            expiry: Some(T0 + 40 * H),
            ..cap(2, 7, Some(7), T0 + 5 * H, CapacitySource::LicenseFile)
        }],
        lines: 1,
        ..Batch::default()
    };
    import(&store, server, "demo.lic", vec![renewed]).await;
    assert_eq!(
        store.capacity_rows(server).await.expect("rows").len(),
        4 + 1 + 2
    );
    let c = at(T0 + 30 * H).await;
    assert_eq!(
        (c[&solver], c[&mesher]),
        (Issued::Count(8), Issued::Count(7))
    );
}

async fn operator_capacity_is_checked(store: Store) {
    let server = store.ensure_server("lic", "flexlm").await.expect("server");
    let entry = |from, until, issued| OperatorCapacity {
        vendor: "demo".into(),
        feature: "solver".into(),
        issued,
        from,
        until,
    };
    let e = store
        .enter_capacity(server, entry(Some(T0), Some(T0), Some(1)))
        .await
        .expect_err("empty range");
    assert!(e.to_string().contains("ends"), "{e}");
    let e = store
        .enter_capacity(server, entry(None, None, Some(u32::MAX)))
        .await
        .expect_err("too many");
    assert!(e.to_string().contains("licences is more than"), "{e}");
    assert!(matches!(
        store
            .enter_capacity(9_999, entry(None, None, Some(1)))
            .await,
        Err(StoreError::NoSuchServerId(9_999))
    ));
    // Uncounted by hand, then removed.
    let id = store
        .enter_capacity(server, entry(None, None, None))
        .await
        .expect("entered");
    let c = store.capacity_at(server, T0).await.expect("capacity");
    assert_eq!(c.values().copied().collect::<Vec<_>>(), [Issued::Uncounted]);
    store.remove_capacity(id).await.expect("removed");
    assert!(store.remove_capacity(id).await.is_err());
    let c = store.capacity_at(server, T0).await.expect("capacity");
    assert_eq!(c.values().copied().collect::<Vec<_>>(), [Issued::Unknown]);
}

async fn time_zones_are_kept(store: Store) {
    let server = store.ensure_server("lic", "flexlm").await.expect("server");
    assert_eq!(store.time_zone(server).await.expect("zone"), None);
    let ny = Zone::parse("America/New_York").expect("zone");
    store.set_time_zone("lic", Some(ny)).await.expect("set");
    assert_eq!(store.time_zone(server).await.expect("zone"), Some(ny));
    let india = Zone::parse("+05:30").expect("zone");
    store.set_time_zone("lic", Some(india)).await.expect("set");
    assert_eq!(store.time_zone(server).await.expect("zone"), Some(india));
    store.set_time_zone("lic", None).await.expect("cleared");
    assert_eq!(store.time_zone(server).await.expect("zone"), None);
    assert!(matches!(
        store.set_time_zone("nope", Some(ny)).await,
        Err(StoreError::NoSuchServer(_))
    ));
}

fn denial(time: i64, code: Option<(i32, i32)>, kind: DenialKind, reason: u32) -> Denial {
    Denial {
        vendor: 0,
        feature: 1,
        user: 8,
        host: 9,
        count: 1,
        time,
        kind,
        code: code.map(|(major, minor)| ErrorCode {
            major,
            minor: Some(minor),
            errno: None,
        }),
        reason: Some(reason),
        requested_version: None,
        until: None,
    }
}

async fn only_capacity_refusals_roll_up(store: Store) {
    let server = store.ensure_server("nx", "flexlm").await.expect("server");
    let mut strings = strings();
    strings.extend(
        [
            "Licensed number of users already reached.",
            "License server system does not support this version of this feature.",
            "No such feature exists.",
        ]
        .map(String::from),
    );
    let batch = Batch {
        strings,
        sessions: vec![Session {
            vendor: 0,
            feature: 1,
            user: 8,
            host: 9,
            count: 1,
            start: T0,
            end: T0 + H,
            end_reason: EndReason::Checkin,
            project: None,
        }],
        denials: vec![
            denial(T0 + 60, Some((-4, 342)), DenialKind::Denied, 10),
            denial(T0 + 120, Some((-25, 334)), DenialKind::Denied, 11),
            denial(T0 + 180, Some((-25, 334)), DenialKind::Denied, 11),
            denial(T0 + 240, Some((-5, 346)), DenialKind::Unsupported, 12),
        ],
        lines: 5,
        ..Batch::default()
    };
    import(&store, server, "nx.log", vec![batch]).await;
    let filter = RollupFilter {
        server: Some(server),
        ..RollupFilter::default()
    };
    let records = store.refusals(&filter).await.expect("refusals");
    let causes: Vec<RefusalCause> = records.iter().map(|r| r.cause).collect();
    use RefusalCause::*;
    assert_eq!(
        causes,
        [Capacity, Configuration, Configuration, Configuration]
    );
    assert_eq!(
        records[0].reason.as_deref(),
        Some("Licensed number of users already reached.")
    );
    // The rollups count the capacity refusal only.
    let hours = store.hour_rollups(&filter).await.expect("hours");
    assert_eq!(hours.iter().map(|h| h.load.denials).sum::<u64>(), 1);
    let (_, denials) = store.rollup_facts(&filter).await.expect("facts");
    assert_eq!(denials.len(), 1);
    // Summaries per cause and reason, most refused first.
    let rows = tally_core::refusal::summarise(&records);
    let got: Vec<(RefusalCause, u64)> = rows.iter().map(|r| (r.cause, r.refusals)).collect();
    assert_eq!(got, [(Configuration, 2), (Capacity, 1), (Configuration, 1)]);
    // A window without them.
    let later = RollupFilter {
        from: Some(T0 + 200),
        ..filter
    };
    assert_eq!(store.refusals(&later).await.expect("refusals").len(), 1);
}
