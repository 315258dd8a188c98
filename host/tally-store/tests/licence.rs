//! Tally's own licence in the store, on every backend: the usage counted exactly as seeds 002
//! and 003 say, the database states of the violation rows (each story named after its row,
//! judged by tally-core's `licence`), server manager versions, incidents, licence files, and
//! the counting windows' edges as properties.

mod common;

use common::import;
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;
use tally_core::licence::*;
use tally_core::users::Counting;
use tally_core::{Batch, Denial, DenialKind, EndReason, RemoteStatus, Session};
use tally_store::{IncidentScope, ServerConfig, Store};

stories!(
    model_2019_counts_usernames_and_hosts_over_all_history_from_every_source,
    model_2013_counts_realtime_users_of_14_days_and_imported_users_of_all_history_never_denials,
    model_2013_counts_monitored_realtime_servers_and_servers_imported_in_3_months,
    model_2019_counts_monitored_servers_and_servers_with_imported_data_once,
    model_2019_startup_user_limit_exceeded_from_two_imported_users,
    model_2019_runtime_host_limit_exceeded_from_the_database,
    model_2019_startup_server_limit_exceeded_from_servers_with_imported_data,
    model_2019_startup_trial_data_before_start_from_the_database,
    model_2013_runtime_user_limit_exceeded_from_realtime_users,
    model_2013_startup_imported_user_limit_exceeded_from_the_database,
    model_2013_runtime_server_limit_exceeded_from_imports_of_3_months,
    model_2019_runtime_user_limit_about_to_exceed_skips_the_poll,
    model_2013_runtime_user_limit_about_to_exceed_counts_by_user_host,
    model_2019_runtime_server_version_after_maintenance_from_the_version_history,
    model_2013_runtime_new_server_past_limit_shows_license_exceeded,
    model_2019_runtime_new_server_past_limit_counts_imported_servers,
    model_2019_runtime_import_past_server_limit_refuses_a_new_server,
    model_2013_runtime_import_past_server_limit_refuses_a_new_server,
    incidents_are_recorded_once_while_a_violation_persists,
    licence_files_are_installed_and_removed,
    the_14_day_window_counts_hours_overlapping_it,
    the_3_month_window_counts_servers_imported_since,
    all_history_counts_every_fact,
);

const H: i64 = 3_600;
const DAY: i64 = 86_400;
/// 2024-03-01T00:00Z.
const T0: i64 = 1_709_251_200;

// String table: vendor, feature, users, hosts.
const STRINGS: [&str; 10] = [
    "acme", "solver", "ann", "bob", "cat", "dan", "ws1", "ws2", "ws3", "ws4",
];
const ANN: u32 = 2;
const BOB: u32 = 3;
const CAT: u32 = 4;
const DAN: u32 = 5;
const WS1: u32 = 6;
const WS2: u32 = 7;
const WS3: u32 = 8;

fn session(user: u32, host: u32, start: i64, end: i64) -> Session {
    Session {
        vendor: 0,
        feature: 1,
        user,
        host,
        count: 1,
        start,
        end,
        end_reason: EndReason::Checkin,
        project: None,
    }
}

fn denial(user: u32, host: u32, time: i64) -> Denial {
    Denial {
        vendor: 0,
        feature: 1,
        user,
        host,
        count: 1,
        time,
        kind: DenialKind::Denied,
        code: None,
        reason: None,
        requested_version: None,
        until: None,
    }
}

fn batch(sessions: Vec<Session>, denials: Vec<Denial>) -> Batch {
    Batch {
        strings: STRINGS.map(String::from).to_vec(),
        sessions,
        denials,
        lines: 1,
        ..Batch::default()
    }
}

fn polled(name: &str) -> ServerConfig {
    ServerConfig {
        host: Some("lic.example".into()),
        port: Some(27000),
        poll_format: Some("flexlm-lmstat".into()),
        ..ServerConfig::imported(name, "flexlm")
    }
}

/// A server fed by logs (created as an import creates it).
async fn imported_server(store: &Store, name: &str) -> i64 {
    store
        .ensure_server(name, "flexlm-debuglog")
        .await
        .expect("server")
}

/// Facts written into `server` (a polled server's facts count as realtime: what the licence
/// counts is which server they belong to).
async fn facts(
    store: &Store,
    server: i64,
    path: &str,
    sessions: Vec<Session>,
    denials: Vec<Denial>,
) {
    import(store, server, path, vec![batch(sessions, denials)]).await;
}

fn v(s: &str) -> DottedVersion {
    DottedVersion::parse(s).expect("version")
}

fn day(y: i32, m: u32, d: u32) -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(y, m, d).expect("date")
}

fn product() -> Product {
    Product {
        version: v("0.4.0"),
        released: day(2024, 1, 15),
    }
}

fn key() -> IssuerKey {
    IssuerKey::from_seed([3; 32])
}

fn terms(kind: LicenceType, limits: Limits) -> Terms {
    Terms {
        licensee: "Example".into(),
        kind,
        start: day(2020, 1, 1),
        expiry: None,
        maintenance_end: Some(day(2024, 2, 29)),
        version: v("0.4"),
        limits,
    }
}

fn licence(terms: Terms) -> Licence {
    Licence::from_file(&terms.issue(&key()), &[key().public()]).expect("licence")
}

fn lic_2019(users: u64, servers: u64) -> Licence {
    licence(terms(
        LicenceType::Perpetual,
        Limits::Model2019(Limits2019 {
            users,
            servers,
            hpc: false,
            harvesting_agents: 0,
        }),
    ))
}

fn lic_2013(
    counting: Counting,
    realtime_users: u64,
    imported_users: u64,
    imported_servers: u64,
) -> Licence {
    licence(terms(
        LicenceType::Perpetual,
        Limits::Model2013(Limits2013 {
            counting,
            realtime_users: Some(realtime_users),
            realtime_servers: Some(2),
            import: true,
            imported_users: Some(imported_users),
            imported_servers: Some(imported_servers),
        }),
    ))
}

async fn usage(store: &Store, l: &Licence, now: i64) -> Usage {
    store.licence_usage(l, now, 0).await.expect("usage")
}

fn u2019(u: &Usage) -> Usage2019 {
    match u.counts {
        Counts::Model2019(c) => c,
        Counts::Model2013(_) => panic!("2013 counts for a 2019 licence"),
    }
}

fn u2013(u: &Usage) -> Usage2013 {
    match u.counts {
        Counts::Model2013(c) => c,
        Counts::Model2019(_) => panic!("2019 counts for a 2013 licence"),
    }
}

fn names(found: &[Violation]) -> Vec<String> {
    found.iter().map(|v| v.row.name()).collect()
}

/// Ann on two hosts, Bob, years apart, imported; Cat polled; Dan only ever refused.
async fn every_source(store: &Store) {
    let log = imported_server(store, "log1").await;
    let rt = store.add_server(polled("rt1")).await.expect("polled");
    facts(
        store,
        log,
        "old.log",
        vec![
            session(ANN, WS1, T0 - 900 * DAY, T0 - 900 * DAY + H),
            session(ANN, WS2, T0 - 2 * DAY, T0 - 2 * DAY + H),
            session(BOB, WS1, T0 - 400 * DAY, T0 - 400 * DAY + 60),
        ],
        vec![],
    )
    .await;
    facts(
        store,
        rt,
        "rt.log",
        vec![session(CAT, WS3, T0 - 3 * H, T0 - 2 * H)],
        vec![denial(DAN, WS3, T0 - H)],
    )
    .await;
}

async fn model_2019_counts_usernames_and_hosts_over_all_history_from_every_source(store: Store) {
    every_source(&store).await;
    let u = u2019(&usage(&store, &lic_2019(100, 10), T0).await);
    // ann, bob, cat and dan (denials count in 2019); hosts ws1, ws2, ws3.
    assert_eq!((u.users, u.hosts), (4, 3));
}

async fn model_2013_counts_realtime_users_of_14_days_and_imported_users_of_all_history_never_denials(
    store: Store,
) {
    every_source(&store).await;
    let rt = store.server("rt1").await.expect("read").expect("rt1").id;
    // Cat again on a second host 10 days ago, Bob 15 days ago (out of the window), on rt1.
    facts(
        &store,
        rt,
        "rt2.log",
        vec![
            session(CAT, WS1, T0 - 10 * DAY, T0 - 10 * DAY + H),
            session(BOB, WS1, T0 - 15 * DAY, T0 - 15 * DAY + H),
        ],
        vec![],
    )
    .await;
    let by_pair = u2013(&usage(&store, &lic_2013(Counting::UserHost, 10, 10, 1), T0).await);
    // Realtime: cat@ws3, cat@ws1 (Dan only refused, Bob too old). Imported: ann@ws1, ann@ws2, bob@ws1.
    assert_eq!((by_pair.realtime_users, by_pair.imported_users), (2, 3));
    let by_name = u2013(&usage(&store, &lic_2013(Counting::Username, 10, 10, 1), T0).await);
    assert_eq!((by_name.realtime_users, by_name.imported_users), (1, 2));
}

async fn model_2013_counts_monitored_realtime_servers_and_servers_imported_in_3_months(
    store: Store,
) {
    let a = store.add_server(polled("rt-a")).await.expect("a");
    store.add_server(polled("rt-b")).await.expect("b");
    store
        .add_server(ServerConfig {
            enabled: false,
            ..polled("rt-off")
        })
        .await
        .expect("off");
    let log = imported_server(&store, "log1").await;
    imported_server(&store, "log-empty").await;
    facts(
        &store,
        log,
        "l.log",
        vec![session(ANN, WS1, T0, T0 + H)],
        vec![],
    )
    .await;
    let l = lic_2013(Counting::UserHost, 10, 10, 5);
    let now = now_secs();
    let u = u2013(&usage(&store, &l, now).await);
    // Disabled servers are not counted; a server with no import run is not imported.
    assert_eq!((u.realtime_servers, u.imported_servers), (2, 1));
    // A server shown "License Exceeded" is not monitored.
    store
        .set_licence_remote_status(a, RemoteStatus::LicenseExceeded, Some("over"))
        .await
        .expect("status");
    assert_eq!(u2013(&usage(&store, &l, now).await).realtime_servers, 1);
    // Four months on, the import is too old.
    assert_eq!(
        u2013(&usage(&store, &l, now + 122 * DAY).await).imported_servers,
        0
    );
}

async fn model_2019_counts_monitored_servers_and_servers_with_imported_data_once(store: Store) {
    let rt = store.add_server(polled("rt-a")).await.expect("a");
    store
        .add_server(ServerConfig {
            enabled: false,
            ..polled("rt-off")
        })
        .await
        .expect("off");
    let log = imported_server(&store, "log1").await;
    facts(
        &store,
        log,
        "l.log",
        vec![session(ANN, WS1, T0, T0 + H)],
        vec![],
    )
    .await;
    // Denials imported onto the polled server: it has imported data too, counted once.
    facts(&store, rt, "d.log", vec![], vec![denial(BOB, WS1, T0)]).await;
    let u = u2019(&usage(&store, &lic_2019(100, 10), T0).await);
    assert_eq!(
        (u.monitored_servers, u.imported_servers, u.servers),
        (1, 2, 2)
    );
}

async fn model_2019_startup_user_limit_exceeded_from_two_imported_users(store: Store) {
    let log = imported_server(&store, "log1").await;
    facts(
        &store,
        log,
        "l.log",
        vec![session(ANN, WS1, T0, T0 + H), session(BOB, WS1, T0, T0 + H)],
        vec![],
    )
    .await;
    let one = lic_2019(1, 10);
    let u = usage(&store, &one, T0).await;
    let s = status(&one, &product(), &u, Moment::StartUp, T0);
    assert!(s.restricted);
    assert_eq!(
        names(&s.violations),
        ["model_2019_startup_user_limit_exceeded"]
    );
    assert!(
        s.violations[0].message.contains("2 users"),
        "{}",
        s.violations[0].message
    );
    // A licence with a higher limit lifts it.
    let two = lic_2019(2, 10);
    assert!(
        !status(
            &two,
            &product(),
            &usage(&store, &two, T0).await,
            Moment::RunTime,
            T0
        )
        .restricted
    );
}

async fn model_2019_runtime_host_limit_exceeded_from_the_database(store: Store) {
    let log = imported_server(&store, "log1").await;
    // One user on three hosts: 3 hosts > 125 % of a 2-user limit (2).
    facts(
        &store,
        log,
        "l.log",
        vec![
            session(ANN, WS1, T0, T0 + H),
            session(ANN, WS2, T0, T0 + H),
            session(ANN, WS3, T0, T0 + H),
        ],
        vec![],
    )
    .await;
    let l = lic_2019(2, 10);
    let found = assess(
        &l,
        &product(),
        &usage(&store, &l, T0).await,
        Moment::RunTime,
        T0,
    );
    assert_eq!(names(&found), ["model_2019_runtime_host_limit_exceeded"]);
}

async fn model_2019_startup_server_limit_exceeded_from_servers_with_imported_data(store: Store) {
    for (i, name) in ["log1", "log2"].iter().enumerate() {
        let id = imported_server(&store, name).await;
        facts(
            &store,
            id,
            &format!("{i}.log"),
            vec![session(ANN, WS1, T0, T0 + H)],
            vec![],
        )
        .await;
    }
    // Polled servers past the limit are not a violation (they are not monitored).
    store.add_server(polled("rt-a")).await.expect("a");
    let one = lic_2019(10, 1);
    let found = assess(
        &one,
        &product(),
        &usage(&store, &one, T0).await,
        Moment::StartUp,
        T0,
    );
    assert_eq!(names(&found), ["model_2019_startup_server_limit_exceeded"]);
    // Removing an imported server lifts it.
    store.remove_server("log2").await.expect("remove");
    assert!(
        assess(
            &one,
            &product(),
            &usage(&store, &one, T0).await,
            Moment::RunTime,
            T0
        )
        .is_empty()
    );
}

async fn model_2019_startup_trial_data_before_start_from_the_database(store: Store) {
    let log = imported_server(&store, "log1").await;
    facts(
        &store,
        log,
        "l.log",
        vec![session(ANN, WS1, T0 - 30 * 60, T0 + H)],
        vec![],
    )
    .await;
    let mut t = terms(
        LicenceType::Trial,
        Limits::Model2019(Limits2019 {
            users: 10,
            servers: 10,
            hpc: false,
            harvesting_agents: 0,
        }),
    );
    t.expiry = Some(day(2024, 12, 31));
    // The trial started on 2024-03-01; the session began at 23:30 the day before.
    t.start = day(2024, 3, 1);
    let trial = licence(t.clone());
    let u = usage(&store, &trial, T0).await;
    assert_eq!(u.earliest_data, Some(T0 - H));
    let found = assess(&trial, &product(), &u, Moment::StartUp, T0);
    assert_eq!(
        names(&found),
        ["model_2019_startup_trial_data_before_start"]
    );
    t.start = day(2024, 2, 29);
    assert!(assess(&licence(t), &product(), &u, Moment::StartUp, T0).is_empty());
}

async fn model_2013_runtime_user_limit_exceeded_from_realtime_users(store: Store) {
    let rt = store.add_server(polled("rt1")).await.expect("rt");
    facts(
        &store,
        rt,
        "rt.log",
        vec![
            session(ANN, WS1, T0 - DAY, T0 - DAY + H),
            session(BOB, WS1, T0 - DAY, T0 - DAY + H),
        ],
        vec![],
    )
    .await;
    let l = lic_2013(Counting::UserHost, 1, 10, 1);
    let found = assess(
        &l,
        &product(),
        &usage(&store, &l, T0).await,
        Moment::RunTime,
        T0,
    );
    assert_eq!(names(&found), ["model_2013_runtime_user_limit_exceeded"]);
    assert_eq!(found[0].outcome, Outcome::RestrictedAccessServersDisabled);
    // 14 days later Bob and Ann are out of the window: it lifts.
    let later = T0 + 14 * DAY;
    assert!(
        assess(
            &l,
            &product(),
            &usage(&store, &l, later).await,
            Moment::RunTime,
            later
        )
        .is_empty()
    );
}

async fn model_2013_startup_imported_user_limit_exceeded_from_the_database(store: Store) {
    let log = imported_server(&store, "log1").await;
    // Imported users count over all history; Dan, only refused, never.
    facts(
        &store,
        log,
        "l.log",
        vec![
            session(ANN, WS1, T0 - 2_000 * DAY, T0 - 2_000 * DAY + H),
            session(BOB, WS1, T0, T0 + H),
        ],
        vec![denial(DAN, WS1, T0)],
    )
    .await;
    let l = lic_2013(Counting::Username, 10, 2, 1);
    assert!(
        assess(
            &l,
            &product(),
            &usage(&store, &l, T0).await,
            Moment::StartUp,
            T0
        )
        .is_empty()
    );
    facts(
        &store,
        log,
        "m.log",
        vec![session(CAT, WS1, T0, T0 + H)],
        vec![],
    )
    .await;
    let found = assess(
        &l,
        &product(),
        &usage(&store, &l, T0).await,
        Moment::StartUp,
        T0,
    );
    assert_eq!(
        names(&found),
        ["model_2013_startup_imported_user_limit_exceeded"]
    );
}

async fn model_2013_runtime_server_limit_exceeded_from_imports_of_3_months(store: Store) {
    for (i, name) in ["log1", "log2"].iter().enumerate() {
        let id = imported_server(&store, name).await;
        facts(
            &store,
            id,
            &format!("{i}.log"),
            vec![session(ANN, WS1, T0, T0 + H)],
            vec![],
        )
        .await;
    }
    let l = lic_2013(Counting::UserHost, 10, 10, 1);
    let now = now_secs();
    let found = assess(
        &l,
        &product(),
        &usage(&store, &l, now).await,
        Moment::RunTime,
        now,
    );
    assert_eq!(names(&found), ["model_2013_runtime_server_limit_exceeded"]);
    let later = now + 100 * DAY;
    assert!(
        assess(
            &l,
            &product(),
            &usage(&store, &l, later).await,
            Moment::RunTime,
            later
        )
        .is_empty()
    );
}

fn at(user: &str, host: &str) -> UserAtHost {
    UserAtHost {
        user: user.into(),
        host: host.into(),
    }
}

async fn model_2019_runtime_user_limit_about_to_exceed_skips_the_poll(store: Store) {
    every_source(&store).await;
    let rt = store.server("rt1").await.expect("read").expect("rt1").id;
    let l = lic_2019(5, 10);
    let mut counted = store.licence_counted(&l, T0).await.expect("counted");
    assert_eq!((counted.users(), counted.hosts()), (4, 3));
    let u = usage(&store, &l, T0).await;
    // Ann on a new host and Eve: one new user, one new host; 5 users fit.
    let poll = [at("ann", "ws9"), at("eve", "ws1")];
    let check = store
        .licence_poll_check(&l, &counted, rt, &poll)
        .await
        .expect("check");
    assert_eq!((check.new_users, check.new_hosts), (1, 1));
    assert!(check_poll(&l, &u, &check).is_empty());
    for p in &poll {
        counted.add(p);
    }
    // Then Fay and Gus: 7 > 5.
    let poll = [at("fay", "ws1"), at("gus", "ws1")];
    let check = store
        .licence_poll_check(&l, &counted, rt, &poll)
        .await
        .expect("check");
    let u = Usage {
        counts: Counts::Model2019(Usage2019 {
            users: counted.users(),
            hosts: counted.hosts(),
            ..u2019(&u)
        }),
        ..u
    };
    let found = check_poll(&l, &u, &check);
    assert_eq!(
        names(&found),
        ["model_2019_runtime_user_limit_about_to_exceed"]
    );
    store
        .set_licence_remote_status(rt, RemoteStatus::Offline, Some(&found[0].message))
        .await
        .expect("offline");
    let server = store.server("rt1").await.expect("read").expect("rt1");
    assert_eq!(server.remote_status, RemoteStatus::Offline);
    assert!(
        server
            .remote_reason
            .expect("reason")
            .contains("User limit about to exceed")
    );
}

async fn model_2013_runtime_user_limit_about_to_exceed_counts_by_user_host(store: Store) {
    let rt = store.add_server(polled("rt1")).await.expect("rt");
    facts(
        &store,
        rt,
        "rt.log",
        vec![
            session(ANN, WS1, T0 - DAY, T0 - DAY + H),
            session(BOB, WS1, T0 - 20 * DAY, T0 - 20 * DAY + H),
        ],
        vec![],
    )
    .await;
    let l = lic_2013(Counting::UserHost, 2, 10, 1);
    let counted = store.licence_counted(&l, T0).await.expect("counted");
    // Bob is out of the 14 days: counted again when he comes back.
    assert_eq!(counted.users(), 1);
    let u = usage(&store, &l, T0).await;
    let fits = store
        .licence_poll_check(&l, &counted, rt, &[at("ann", "ws1"), at("bob", "ws1")])
        .await
        .expect("check");
    assert_eq!(fits.new_users, 1);
    assert!(check_poll(&l, &u, &fits).is_empty());
    // Ann on a second host is a second user under User-Host counting.
    let over = store
        .licence_poll_check(&l, &counted, rt, &[at("ann", "ws2"), at("bob", "ws1")])
        .await
        .expect("check");
    assert_eq!(
        names(&check_poll(&l, &u, &over)),
        ["model_2013_runtime_user_limit_about_to_exceed"]
    );
}

async fn model_2019_runtime_server_version_after_maintenance_from_the_version_history(
    store: Store,
) {
    // A server's history starts when it is created (now): maintenance ends the day after
    // tomorrow, and the versions are recorded at the times a poll would give.
    let now = now_secs();
    let today = chrono::DateTime::from_timestamp(now, 0)
        .expect("now")
        .date_naive();
    let mut t = terms(
        LicenceType::Perpetual,
        Limits::Model2019(Limits2019 {
            users: 10,
            servers: 10,
            hpc: false,
            harvesting_agents: 0,
        }),
    );
    t.maintenance_end = today.checked_add_days(chrono::Days::new(2));
    let l = licence(t);
    let end = day_end(l.terms.maintenance_end.expect("set"));
    let old = store.add_server(polled("rt-old")).await.expect("old");
    assert_eq!(store.manager_version(old, &l).await.expect("none"), None);
    assert!(
        store
            .record_manager_version(old, "v11.16.2", now + 10)
            .await
            .expect("first")
    );
    assert!(
        !store
            .record_manager_version(old, "v11.16.2", now + 20)
            .await
            .expect("same")
    );
    let check = |server, mv| PollCheck {
        server,
        new_users: 0,
        new_hosts: 0,
        manager_version: mv,
    };
    let u = usage(&store, &l, now).await;
    let mv = store.manager_version(old, &l).await.expect("read");
    assert!(check_poll(&l, &u, &check(old, mv)).is_empty());
    // Updated after maintenance ended.
    assert!(
        store
            .record_manager_version(old, "v11.19.0", end + DAY)
            .await
            .expect("changed")
    );
    let mv = store
        .manager_version(old, &l)
        .await
        .expect("read")
        .expect("known");
    assert_eq!(mv.before_maintenance_end, Some(v("11.16.2")));
    let found = check_poll(&l, &u, &check(old, Some(mv)));
    assert_eq!(
        names(&found),
        ["model_2019_runtime_server_version_after_maintenance"]
    );
    assert_eq!(found[0].outcome, Outcome::PollSkippedServerOffline);
    // Reverted: fine again.
    store
        .record_manager_version(old, "v11.16.2", end + 2 * DAY)
        .await
        .expect("reverted");
    let mv = store.manager_version(old, &l).await.expect("read");
    assert!(check_poll(&l, &u, &check(old, mv)).is_empty());
    // A server whose first version shows after, newer than its manager's before: the same row.
    let new = store.add_server(polled("rt-new")).await.expect("new");
    store
        .record_manager_version(new, "11.18", end + 3 * DAY)
        .await
        .expect("first");
    let mv = store
        .manager_version(new, &l)
        .await
        .expect("read")
        .expect("known");
    assert_eq!(mv.before_maintenance_end, Some(v("11.16.2")));
    let found = check_poll(&l, &u, &check(new, Some(mv)));
    assert_eq!(
        names(&found),
        ["model_2019_runtime_server_version_after_maintenance"]
    );
}

async fn model_2013_runtime_new_server_past_limit_shows_license_exceeded(store: Store) {
    let mut ids = Vec::new();
    for name in ["rt-a", "rt-b", "rt-c"] {
        ids.push(store.add_server(polled(name)).await.expect("add"));
    }
    store
        .add_server(ServerConfig {
            enabled: false,
            ..polled("rt-off")
        })
        .await
        .expect("off");
    // lic_2013 allows 2 realtime servers.
    let l = lic_2013(Counting::UserHost, 10, 10, 1);
    let u = usage(&store, &l, T0).await;
    let candidates = store
        .licence_server_candidates(&l)
        .await
        .expect("candidates");
    assert_eq!(candidates.iter().map(|c| c.server).collect::<Vec<_>>(), ids);
    let admitted = admit_servers(&l, &u, &candidates);
    assert_eq!(
        admitted.iter().map(|a| a.monitored).collect::<Vec<_>>(),
        [true, true, false]
    );
    let v = admitted[2].violation.clone().expect("refused");
    assert_eq!(v.row.name(), "model_2013_runtime_new_server_past_limit");
    store
        .set_licence_remote_status(ids[2], RemoteStatus::LicenseExceeded, Some(&v.message))
        .await
        .expect("status");
    assert_eq!(
        store
            .server("rt-c")
            .await
            .expect("read")
            .expect("c")
            .remote_status,
        RemoteStatus::LicenseExceeded
    );
}

async fn model_2019_runtime_new_server_past_limit_counts_imported_servers(store: Store) {
    let log = imported_server(&store, "log1").await;
    facts(
        &store,
        log,
        "l.log",
        vec![session(ANN, WS1, T0, T0 + H)],
        vec![],
    )
    .await;
    let a = store.add_server(polled("rt-a")).await.expect("a");
    let b = store.add_server(polled("rt-b")).await.expect("b");
    let l = lic_2019(10, 2);
    let u = usage(&store, &l, T0).await;
    let admitted = admit_servers(
        &l,
        &u,
        &store.licence_server_candidates(&l).await.expect("c"),
    );
    assert_eq!(
        admitted
            .iter()
            .map(|x| (x.server, x.monitored))
            .collect::<Vec<_>>(),
        [(a, true), (b, false)]
    );
    assert_eq!(
        admitted[1]
            .violation
            .as_ref()
            .map(|v| v.row.name())
            .as_deref(),
        Some("model_2019_runtime_new_server_past_limit")
    );
}

async fn model_2019_runtime_import_past_server_limit_refuses_a_new_server(store: Store) {
    let log = imported_server(&store, "log1").await;
    facts(
        &store,
        log,
        "l.log",
        vec![session(ANN, WS1, T0, T0 + H)],
        vec![],
    )
    .await;
    store.add_server(polled("rt-a")).await.expect("a");
    let l = lic_2019(10, 2);
    let u = usage(&store, &l, T0).await;
    let now = now_secs();
    let target = |name: &'static str, denials: bool| {
        let store = store.clone();
        let l = l.clone();
        async move {
            store
                .licence_import_target(&l, name, denials, now)
                .await
                .expect("target")
        }
    };
    assert_eq!(target("log1", false).await, ImportTarget::Counted);
    assert_eq!(
        target("rt-a", true).await,
        ImportTarget::DenialsOntoRealtime
    );
    assert_eq!(target("rt-a", false).await, ImportTarget::Counted);
    assert_eq!(target("log2", false).await, ImportTarget::Uncounted);
    let refused = admit_import(&l, &u, target("log2", false).await).expect_err("full");
    assert_eq!(
        refused.row.name(),
        "model_2019_runtime_import_past_server_limit"
    );
    assert_eq!(
        store.server("log2").await.expect("read"),
        None,
        "nothing created"
    );
}

async fn model_2013_runtime_import_past_server_limit_refuses_a_new_server(store: Store) {
    let log = imported_server(&store, "log1").await;
    facts(
        &store,
        log,
        "l.log",
        vec![session(ANN, WS1, T0, T0 + H)],
        vec![],
    )
    .await;
    let l = lic_2013(Counting::UserHost, 10, 10, 1);
    let now = now_secs();
    let u = usage(&store, &l, now).await;
    assert_eq!(
        store
            .licence_import_target(&l, "log1", false, now)
            .await
            .expect("t"),
        ImportTarget::Counted
    );
    // Four months on, log1 no longer counts: importing into it takes the licence again.
    assert_eq!(
        store
            .licence_import_target(&l, "log1", false, now + 122 * DAY)
            .await
            .expect("t"),
        ImportTarget::Uncounted
    );
    let t = store
        .licence_import_target(&l, "log2", false, now)
        .await
        .expect("t");
    let refused = admit_import(&l, &u, t).expect_err("full");
    assert_eq!(
        refused.row.name(),
        "model_2013_runtime_import_past_server_limit"
    );
}

async fn incidents_are_recorded_once_while_a_violation_persists(store: Store) {
    let l = lic_2019(1, 10);
    let log = imported_server(&store, "log1").await;
    facts(
        &store,
        log,
        "l.log",
        vec![session(ANN, WS1, T0, T0 + H), session(BOB, WS1, T0, T0 + H)],
        vec![],
    )
    .await;
    let u = usage(&store, &l, T0).await;
    let found = assess(&l, &product(), &u, Moment::RunTime, T0);
    let opened = store
        .record_licence_incidents(IncidentScope::Assessment, &found, T0)
        .await
        .expect("record");
    assert_eq!(opened.len(), 1);
    assert_eq!(
        opened[0].row.name(),
        "model_2019_runtime_user_limit_exceeded"
    );
    assert_eq!(opened[0].notified_at, None);
    // Found again: the same incident, seen later, no new notification.
    let again = store
        .record_licence_incidents(IncidentScope::Assessment, &found, T0 + 60)
        .await
        .expect("record");
    assert!(again.is_empty());
    let open = store.licence_incidents(true, 10).await.expect("list");
    assert_eq!(open.len(), 1);
    assert_eq!((open[0].opened_at, open[0].last_seen), (T0, T0 + 60));
    store
        .mark_licence_incident_notified(open[0].id, T0 + 61)
        .await
        .expect("notified");
    // Another scope's check leaves it open.
    store
        .record_licence_incidents(IncidentScope::Poll(log), &[], T0 + 90)
        .await
        .expect("record");
    assert_eq!(
        store.licence_incidents(true, 10).await.expect("list").len(),
        1
    );
    // Gone: closed; back: a new incident.
    store
        .record_licence_incidents(IncidentScope::Assessment, &[], T0 + 120)
        .await
        .expect("record");
    assert!(
        store
            .licence_incidents(true, 10)
            .await
            .expect("list")
            .is_empty()
    );
    let all = store.licence_incidents(false, 10).await.expect("list");
    assert_eq!(
        (all[0].closed_at, all[0].notified_at),
        (Some(T0 + 120), Some(T0 + 61))
    );
    let back = store
        .record_licence_incidents(IncidentScope::Assessment, &found, T0 + 180)
        .await
        .expect("record");
    assert_eq!(back.len(), 1);
    assert_ne!(back[0].id, all[0].id);
}

async fn licence_files_are_installed_and_removed(store: Store) {
    assert_eq!(store.installed_licence().await.expect("read"), None);
    let first = terms(
        LicenceType::Perpetual,
        Limits::Model2019(Limits2019 {
            users: 1,
            servers: 1,
            hpc: false,
            harvesting_agents: 0,
        }),
    )
    .issue(&key());
    let second = lic_2019(50, 5).terms.issue(&key());
    store.install_licence(&first).await.expect("install");
    let id = store.install_licence(&second).await.expect("install");
    let installed = store.installed_licence().await.expect("read").expect("one");
    assert_eq!(
        (installed.id, installed.text.as_str()),
        (id, second.as_str())
    );
    let back = Licence::from_file(&installed.text, &[key().public()]).expect("verifies");
    assert_eq!(back.terms, lic_2019(50, 5).terms);
    assert!(store.remove_licence().await.expect("remove"));
    assert_eq!(store.installed_licence().await.expect("read"), None);
    assert!(!store.remove_licence().await.expect("nothing"));
}

/// Values drawn from `strategy`, reproducibly (the seed is proptest's default).
fn draws<T: std::fmt::Debug>(strategy: impl Strategy<Value = T>, n: usize) -> Vec<T> {
    let mut runner = TestRunner::deterministic();
    (0..n)
        .map(|_| strategy.new_tree(&mut runner).expect("value").current())
        .collect()
}

/// Sessions of users 0..n on a polled server (each its own user), at hours around T0.
async fn sessions_around(store: &Store, server: i64, spans: &[(i64, i64)]) {
    let mut b = Batch {
        strings: vec!["acme".into(), "solver".into(), "ws".into()],
        lines: 1,
        ..Batch::default()
    };
    for (i, (start, end)) in spans.iter().enumerate() {
        b.strings.push(format!("user{i}"));
        let user = u32::try_from(b.strings.len() - 1).expect("small");
        b.sessions.push(Session {
            user,
            host: 2,
            ..session(0, 0, *start, *end)
        });
    }
    import(store, server, "spans.log", vec![b]).await;
}

async fn the_14_day_window_counts_hours_overlapping_it(store: Store) {
    let rt = store.add_server(polled("rt1")).await.expect("rt");
    // Sessions starting within a few hours of T0, lasting 1 s to 3 h.
    let spans: Vec<(i64, i64)> = draws((-4 * H..4 * H, 1..3 * H), 12)
        .into_iter()
        .map(|(s, len)| (T0 + s, T0 + s + len))
        .collect();
    sessions_around(&store, rt, &spans).await;
    let l = lic_2013(Counting::Username, 100, 100, 1);
    // `now` 14 days after, within a few hours either side: every edge is crossed.
    let nows = draws(-5 * H..5 * H, 24)
        .into_iter()
        .map(|d| T0 + 14 * DAY + d);
    for now in nows {
        // A user counts when one of the hours holding the session overlaps [now - 14 d, now].
        let from_hour = (now - 14 * DAY).div_euclid(H) * H;
        let expected = spans
            .iter()
            .filter(|(s, e)| {
                let last = (*e - 1).max(*s).div_euclid(H) * H;
                last >= from_hour && s.div_euclid(H) * H <= now
            })
            .count() as u64;
        let got = u2013(&usage(&store, &l, now).await).realtime_users;
        assert_eq!(got, expected, "now = T0 + 14 d {:+} s", now - T0 - 14 * DAY);
        let counted = store.licence_counted(&l, now).await.expect("counted");
        assert_eq!(counted.users(), expected);
    }
}

async fn the_3_month_window_counts_servers_imported_since(store: Store) {
    let log = imported_server(&store, "log1").await;
    facts(
        &store,
        log,
        "l.log",
        vec![session(ANN, WS1, T0, T0 + H)],
        vec![],
    )
    .await;
    let imported_at = now_secs();
    let l = lic_2013(Counting::UserHost, 10, 10, 5);
    // Around 3 months later (89 to 93 days): counted exactly while the import is at most 3
    // calendar months old, and never again once it is older.
    let mut offsets = draws(89 * DAY..93 * DAY, 16);
    offsets.sort_unstable();
    let mut was_counted = true;
    for d in offsets {
        let now = imported_at + d;
        let counted = u2013(&usage(&store, &l, now).await).imported_servers == 1;
        let since = imported_servers_since(now);
        // The run's time is when it last wrote, a second or two after `imported_at`.
        if since <= imported_at - 60 {
            assert!(counted, "{d} s after the import");
        }
        if since > imported_at {
            assert!(!counted, "{d} s after the import");
        }
        assert!(was_counted || !counted, "counted again at {d} s");
        was_counted = counted;
    }
}

async fn all_history_counts_every_fact(store: Store) {
    let log = imported_server(&store, "log1").await;
    let rt = store.add_server(polled("rt1")).await.expect("rt");
    // Sessions anywhere in the last 30 years, and one in the future of `now`'s hour.
    let spans: Vec<(i64, i64)> = draws(-30 * 365 * DAY..0, 10)
        .into_iter()
        .map(|s| (T0 + s, T0 + s + 60))
        .collect();
    sessions_around(&store, log, &spans).await;
    let imported =
        u2013(&usage(&store, &lic_2013(Counting::Username, 1, 1, 1), T0).await).imported_users;
    assert_eq!(imported, spans.len() as u64);
    let all = u2019(&usage(&store, &lic_2019(1, 1), T0).await).users;
    assert_eq!(all, spans.len() as u64);
    // Denied-only users: counted by 2019 over all history, never by 2013.
    facts(
        &store,
        rt,
        "d.log",
        vec![],
        vec![denial(DAN, WS1, T0 - 5_000 * DAY)],
    )
    .await;
    assert_eq!(
        u2019(&usage(&store, &lic_2019(1, 1), T0).await).users,
        spans.len() as u64 + 1
    );
    assert_eq!(
        u2013(&usage(&store, &lic_2013(Counting::Username, 1, 1, 1), T0).await).realtime_users,
        0
    );
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0))
}
