//! The hours logging was on, on every backend: import runs from their first to their last
//! event, polled servers from poll to poll until a gap of missed polls (Tally not running).

mod common;

use common::import;
use tally_core::PollResult;
use tally_core::period::Logged;
use tally_core::snapshot::{Checkout, Feature, FeatureKind, LicenseServer, ServerStatus};
use tally_core::{Batch, Denial, DenialKind, EndReason, ServerEvent, ServerEventKind, Session};
use tally_store::{ServerConfig, Store};

stories!(
    logged_hours_of_imports_and_polls,
    a_first_poll_logs_from_the_checkouts_it_finds_open
);

const H: i64 = 3_600;
/// 2024-03-01T00:00Z.
const T0: i64 = 1_709_251_200;

fn session(start: i64, end: i64) -> Session {
    Session {
        vendor: 0,
        feature: 1,
        user: 2,
        host: 3,
        count: 1,
        start,
        end,
        end_reason: EndReason::Checkin,
        project: None,
    }
}

fn batch(sessions: Vec<Session>, denials: Vec<i64>, events: Vec<i64>) -> Batch {
    Batch {
        strings: ["acme", "solver", "ann", "ws1", "lmgrd", "TIMESTAMP"]
            .map(String::from)
            .to_vec(),
        sessions,
        denials: denials
            .into_iter()
            .map(|time| Denial {
                vendor: 0,
                feature: 1,
                user: 2,
                host: 3,
                count: 1,
                time,
                kind: DenialKind::Denied,
                code: None,
                reason: None,
                requested_version: None,
                until: None,
            })
            .collect(),
        server_events: events
            .into_iter()
            .map(|time| ServerEvent {
                time,
                kind: ServerEventKind::Other,
                daemon: 4,
                text: 5,
            })
            .collect(),
        lines: 1,
        ..Batch::default()
    }
}

fn answered() -> PollResult {
    answered_with(vec![])
}

/// An answer showing `checkouts` of solver open (user, start).
fn answered_with(checkouts: Vec<(&str, i64)>) -> PollResult {
    PollResult::Answered(tally_core::Snapshot {
        checkouts: checkouts
            .into_iter()
            .map(|(user, start)| Checkout {
                feature: "solver".into(),
                vendor: "acme".into(),
                user: user.into(),
                host: format!("{user}-ws"),
                display: None,
                count: 1,
                start: Some(start),
                handle: None,
                linger: None,
                borrowed: false,
            })
            .collect(),
        servers: vec![LicenseServer {
            host: "lic2".into(),
            port: Some(27000),
            status: ServerStatus::Up,
            version: None,
            vendor_daemons: vec![],
            message: None,
        }],
        features: vec![Feature {
            name: "solver".into(),
            vendor: "acme".into(),
            version: None,
            pool: None,
            issued: Some(4),
            in_use: 0,
            expiry: None,
            kind: FeatureKind::Floating,
        }],
        ..tally_core::Snapshot::default()
    })
}

/// Hours as offsets from `T0`, for readable assertions.
fn hours(l: &Logged) -> Vec<i64> {
    l.hours().map(|h| (h - T0) / H).collect()
}

async fn logged_hours_of_imports_and_polls(store: Store) {
    let imported = store.ensure_server("lic1", "flexlm").await.expect("server");
    // Run 1: a session at 09:00-09:30 and, in a later batch, a denial at 12:00:05 → hours 9-12.
    import(
        &store,
        imported,
        "/logs/a.log",
        vec![
            batch(
                vec![session(T0 + 9 * H, T0 + 9 * H + 1_800)],
                vec![],
                vec![],
            ),
            batch(vec![], vec![T0 + 12 * H + 5], vec![]),
        ],
    )
    .await;
    // Run 2: a TIMESTAMP event at 30:00 and a short session at 31:00:10 → hours 30-31. The hours
    // between the two files were not logged.
    import(
        &store,
        imported,
        "/logs/b.log",
        vec![batch(
            vec![session(T0 + 31 * H + 10, T0 + 31 * H + 20)],
            vec![],
            vec![T0 + 30 * H],
        )],
    )
    .await;
    let all = store
        .logged_hours(imported, None, None)
        .await
        .expect("logged");
    assert_eq!(hours(&all), [9, 10, 11, 12, 30, 31]);
    // A window: the hours from 10:00:05's to before 31:00.
    let window = store
        .logged_hours(imported, Some(T0 + 10 * H + 5), Some(T0 + 31 * H))
        .await
        .expect("logged window");
    assert_eq!(hours(&window), [10, 11, 12, 30]);

    // A server polled every minute: 09:59, 10:01, 10:02 are one span (hours 9-10); then Tally
    // stops for 4 hours (more than 3 missed polls + 1 min), and 14:00:30-14:01:30 is another.
    let polled = store
        .add_server(ServerConfig {
            poll_format: Some("flexlm-lmstat".into()),
            query_interval: 60,
            ..ServerConfig::imported("lic2", "flexlm")
        })
        .await
        .expect("polled server");
    for t in [
        T0 + 10 * H - 60,
        T0 + 10 * H + 60,
        T0 + 10 * H + 120,
        T0 + 14 * H + 30,
        T0 + 14 * H + 90,
    ] {
        store
            .record_poll(polled, t, answered().into())
            .await
            .expect("poll");
    }
    let polls = store
        .logged_hours(polled, None, None)
        .await
        .expect("polled");
    assert_eq!(hours(&polls), [9, 10, 14]);
    // Each server has its own hours.
    assert_eq!(
        hours(
            &store
                .logged_hours(imported, None, None)
                .await
                .expect("again")
        ),
        [9, 10, 11, 12, 30, 31]
    );

    // A removed server takes its spans along.
    store.remove_server("lic2").await.expect("remove");
    assert!(
        store
            .logged_hours(polled, None, None)
            .await
            .expect("removed")
            .is_empty()
    );
}

/// A server first polled at 15:09 that already holds checkouts since 14:50 and 15:05: their
/// license-seconds before the poll are in the rollups, so the hour of the first poll is logged
/// from 15:00 (the earlier hour has data and counts whole in reports), and a server whose
/// checkouts began in the poll's hour is logged from the earliest of them.
async fn a_first_poll_logs_from_the_checkouts_it_finds_open(store: Store) {
    let polled = |name: &str| ServerConfig {
        poll_format: Some("flexlm-lmstat".into()),
        query_interval: 60,
        ..ServerConfig::imported(name, "flexlm")
    };
    let since_last_hour = store.add_server(polled("lic3")).await.expect("server");
    let since_this_hour = store.add_server(polled("lic4")).await.expect("server");
    let (first, second) = (T0 + 15 * H + 540, T0 + 15 * H + 600);
    for (server, open) in [
        (
            since_last_hour,
            vec![("ann", T0 + 14 * H + 3_000), ("bob", T0 + 15 * H + 300)],
        ),
        (since_this_hour, vec![("bob", T0 + 15 * H + 300)]),
    ] {
        for t in [first, second] {
            store
                .record_poll(server, t, answered_with(open.clone()).into())
                .await
                .expect("poll");
        }
    }
    let seconds = |l: Logged| {
        l.seconds()
            .map(|(h, s)| ((h - T0) / H, s))
            .collect::<Vec<_>>()
    };
    let logged = |server| store.logged_hours(server, None, None);
    assert_eq!(
        seconds(logged(since_last_hour).await.expect("a")),
        [(15, 600)]
    );
    assert_eq!(
        seconds(logged(since_this_hour).await.expect("b")),
        [(15, 300)]
    );
}

/// A history written before the spans were kept gets them when the store opens.
#[tokio::test]
async fn logged_hours_are_rebuilt_when_a_migration_asks() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("tally.db").display());
    let store = Store::open(&url).await.expect("open");
    let imported = store.ensure_server("lic1", "flexlm").await.expect("server");
    import(
        &store,
        imported,
        "/logs/a.log",
        vec![batch(
            vec![session(T0 + 9 * H, T0 + 11 * H)],
            vec![T0 + 13 * H],
            vec![],
        )],
    )
    .await;
    let polled = store
        .add_server(ServerConfig {
            poll_format: Some("flexlm-lmstat".into()),
            query_interval: 60,
            ..ServerConfig::imported("lic2", "flexlm")
        })
        .await
        .expect("polled server");
    for t in [T0 + 5 * H, T0 + 5 * H + 60, T0 + 20 * H] {
        store
            .record_poll(polled, t, answered().into())
            .await
            .expect("poll");
    }
    let before = (
        store.logged_hours(imported, None, None).await.expect("a"),
        store.logged_hours(polled, None, None).await.expect("b"),
    );
    assert_eq!(hours(&before.0), [9, 10, 11, 12, 13]);
    assert_eq!(hours(&before.1), [5, 20]);
    store.close().await;

    use sqlx::{ConnectOptions, Connection};
    let mut raw = url
        .parse::<sqlx::sqlite::SqliteConnectOptions>()
        .expect("url")
        .connect()
        .await
        .expect("raw connection");
    sqlx::raw_sql(
        "UPDATE import_run SET first_event = NULL, last_event = NULL; DELETE FROM poll_span;
         UPDATE store_state SET value = 'rebuild' WHERE name = 'logged'",
    )
    .execute(&mut raw)
    .await
    .expect("forget spans");
    raw.close().await.expect("close");

    let store = Store::open(&url).await.expect("reopen");
    let after = (
        store.logged_hours(imported, None, None).await.expect("a"),
        store.logged_hours(polled, None, None).await.expect("b"),
    );
    assert_eq!(after, before);
}
