//! Hourly rollups stay equal to a recomputation from the raw facts, on every backend, through
//! imports, late data, re-imports, reopened runs, polls and open checkouts.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::import;
use tally_core::PollResult;
use tally_core::period::{DAY, HOUR, hour_ceil, hour_start};
use tally_core::rollup::{FeatureKey, Grain, HourRollup, Load, Rollup, UserHour, coarsen, rollup};
use tally_core::snapshot::{Checkout, Feature, FeatureKind, LicenseServer, ServerStatus};
use tally_core::{Batch, Denial, DenialKind, EndReason, Session, Snapshot};
use tally_store::{Party, RollupFilter, RunStatus, ServerConfig, Store};

stories!(
    rollups_equal_a_recomputation_from_the_facts,
    polls_extend_rollups_exactly,
    batches_in_time_order_late_and_again_roll_up_exactly,
    new_hours_merge_into_stored_cells_exactly,
);

const H: i64 = 3_600;
const D: i64 = 24 * H;
/// 2024-03-01T00:00Z.
const T0: i64 = 1_709_251_200;

const STRINGS: [&str; 8] = [
    "acme", "solver", "mesher", "ann", "bob", "cat", "ws1", "ws2",
];

fn session(feature: u32, user: u32, host: u32, count: u32, start: i64, end: i64) -> Session {
    Session {
        vendor: 0,
        feature,
        user,
        host,
        count,
        start,
        end,
        end_reason: EndReason::Checkin,
        project: None,
    }
}

fn denial(feature: u32, user: u32, time: i64) -> Denial {
    Denial {
        vendor: 0,
        feature,
        user,
        host: 6,
        count: 1,
        time,
        kind: DenialKind::Denied,
        code: None,
        reason: None,
        requested_version: None,
        until: None,
    }
}

/// A partial grant's shortfall of `count` licences over `[time, until)` (SFLM).
fn lasting(feature: u32, user: u32, count: u32, time: i64, until: i64) -> Denial {
    Denial {
        count,
        until: Some(until),
        ..denial(feature, user, time)
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

fn snapshot(holders: &[&str]) -> Snapshot {
    Snapshot {
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
            issued: Some(10),
            in_use: holders.len() as u32,
            expiry: None,
            kind: FeatureKind::Floating,
        }],
        checkouts: holders
            .iter()
            .map(|u| Checkout {
                feature: "solver".into(),
                vendor: "acme".into(),
                user: (*u).into(),
                host: "ws9".into(),
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

/// What the stored rollups must be: `rollup` over every fact read back, feature by feature.
async fn recomputed(store: &Store) -> (Vec<HourRollup>, Vec<UserHour>) {
    let (sessions, denials) = store
        .rollup_facts(&RollupFilter::default())
        .await
        .expect("facts");
    let keys: BTreeSet<FeatureKey> = sessions
        .iter()
        .map(|s| s.key())
        .chain(denials.iter().map(|d| d.key()))
        .collect();
    let first = sessions
        .iter()
        .map(|s| s.start)
        .chain(denials.iter().map(|d| d.time))
        .min()
        .unwrap_or(0);
    let last = sessions
        .iter()
        .map(|s| s.end)
        .chain(
            denials
                .iter()
                .map(|d| d.until.unwrap_or(d.time).max(d.time)),
        )
        .max()
        .unwrap_or(0);
    let mut hours = Vec::new();
    let mut users = Vec::new();
    for key in keys {
        let r = rollup(key, first..last + H, &sessions, &denials);
        hours.extend(r.hours);
        users.extend(r.users);
    }
    hours.sort_by_key(|h| (h.hour, h.feature));
    users.sort_by_key(|u| (u.hour, u.feature, u.user, u.host));
    (hours, users)
}

async fn assert_rollups_exact(store: &Store, when: &str) {
    let all = RollupFilter::default();
    let stored = (
        store.hour_rollups(&all).await.expect("hour rollups"),
        store.user_hours(&all).await.expect("user hours"),
    );
    let expected = recomputed(store).await;
    assert_eq!(stored.0, expected.0, "hour rollups {when}");
    assert_eq!(stored.1, expected.1, "user hours {when}");
    assert_totals_add_up(store, &stored.0, when).await;
    assert_coarse_rollups_exact(store, &stored.0, &stored.1, when).await;
    assert_cells_exact(store, &stored.0, when).await;
}

/// The hourly rows folded per hour of the UTC week as the heatmap's cells are (loads added,
/// distinct users and hosts the most of one hour), each row's `hour` its cell.
fn cells_of(hours: &[HourRollup]) -> Vec<HourRollup> {
    let mut cells: BTreeMap<(FeatureKey, i64), HourRollup> = BTreeMap::new();
    for h in hours {
        let cell = h.hour.rem_euclid(7 * 24 * H);
        cells
            .entry((h.feature, cell))
            .and_modify(|c| {
                c.load.add_hour(&h.load);
                c.distinct_users = c.distinct_users.max(h.distinct_users);
                c.distinct_hosts = c.distinct_hosts.max(h.distinct_hosts);
            })
            .or_insert(HourRollup { hour: cell, ..*h });
    }
    let mut out: Vec<HourRollup> = cells.into_values().collect();
    out.sort_by_key(|h| (h.hour, h.feature));
    out
}

/// The heatmap cells read for a window (year and month cells, the hours at the ends) equal the
/// window's hourly rows folded per cell: over all history (year cells, folded from the month
/// cells), whole months with hours around them, and a window cut at an hour; all servers and
/// each.
async fn assert_cells_exact(store: &Store, hours: &[HourRollup], when: &str) {
    let (Some(first), Some(last)) = (hours.first(), hours.last()) else {
        return;
    };
    let mut windows = vec![
        (None, None),
        (Some(first.hour + H + 1), Some(last.hour + 1)),
        (
            Some(Grain::Month.start(first.hour) - 3 * H),
            Some(Grain::Month.next(Grain::Month.start(last.hour)) + 5 * H),
        ),
    ];
    windows.push((
        Some(first.hour - 400 * 24 * H),
        Some(last.hour + 400 * 24 * H),
    ));
    let servers: BTreeSet<i64> = hours.iter().map(|h| h.feature.server).collect();
    for (from, to) in windows {
        for server in std::iter::once(None).chain(servers.iter().copied().map(Some)) {
            let filter = RollupFilter {
                server,
                from,
                to,
                ..RollupFilter::default()
            };
            let inside = store.hour_rollups(&filter).await.expect("hour rollups");
            assert_eq!(
                store.week_cells(&filter).await.expect("cells"),
                cells_of(&inside),
                "cells of {filter:?} {when}"
            );
        }
    }
}

/// The day and month rows equal the hourly ones folded to days and months (so, through the
/// hourly check, a recomputation from the facts at every grain); and a window cut at any hour,
/// read at the coarsest grains that fit in it, folds to what its hourly rows fold to.
async fn assert_coarse_rollups_exact(
    store: &Store,
    hours: &[HourRollup],
    users: &[UserHour],
    when: &str,
) {
    let hourly = Rollup {
        hours: hours.to_vec(),
        users: users.to_vec(),
    };
    let all = RollupFilter::default();
    for grain in [Grain::Day, Grain::Month] {
        let expected = coarsen(grain, &hourly);
        let stored = Rollup {
            hours: store.rollups(&all, grain).await.expect("rollups"),
            users: store.user_rollups(&all, grain).await.expect("user rollups"),
        };
        assert_eq!(stored.hours, expected.hours, "{grain:?} rollups {when}");
        assert_eq!(
            stored.users, expected.users,
            "{grain:?} user rollups {when}"
        );
    }
    let (Some(first), Some(last)) = (hours.first(), hours.last()) else {
        return;
    };
    // From an hour into the first day to past the last hour, and one day-aligned window.
    let windows = [
        (first.hour + H + 1, last.hour + 1),
        (
            first.hour - first.hour.rem_euclid(24 * H),
            last.hour + 2 * H,
        ),
    ];
    for (from, to) in windows {
        let window = RollupFilter {
            from: Some(from),
            to: Some(to),
            ..RollupFilter::default()
        };
        let inside = Rollup {
            hours: store.hour_rollups(&window).await.expect("hour rollups"),
            users: store.user_hours(&window).await.expect("user hours"),
        };
        for within in [Grain::Day, Grain::Month] {
            let read = Rollup {
                hours: store.rollups(&window, within).await.expect("rollups"),
                users: store
                    .user_rollups(&window, within)
                    .await
                    .expect("user rollups"),
            };
            assert_eq!(
                coarsen(within, &read),
                coarsen(within, &inside),
                "window {from}..{to} read within {within:?} {when}"
            );
        }
    }
}

/// The rows added up in SQL over a window equal the hourly rows added up here, over all
/// history, each server, one feature, and a window cutting through the middle hour.
async fn assert_totals_add_up(store: &Store, hours: &[HourRollup], when: &str) {
    let mut filters = vec![RollupFilter::default()];
    let servers: BTreeSet<i64> = hours.iter().map(|h| h.feature.server).collect();
    for server in servers {
        filters.push(RollupFilter {
            server: Some(server),
            ..RollupFilter::default()
        });
    }
    if let (Some(first), Some(last)) = (hours.first(), hours.last()) {
        let middle = hours[hours.len() / 2].hour;
        filters.push(RollupFilter {
            server: Some(first.feature.server),
            feature: Some(first.feature.feature),
            ..RollupFilter::default()
        });
        // Instants within hours: the window is their hours, `middle`'s included.
        filters.push(RollupFilter {
            from: Some(middle + 1),
            to: Some(last.hour + 1),
            ..RollupFilter::default()
        });
    }
    for f in filters {
        let hourly = store.hour_rollups(&f).await.expect("hour rollups");
        let users = store.user_hours(&f).await.expect("user hours");
        let mut expected: BTreeMap<FeatureKey, HourRollup> = BTreeMap::new();
        for h in &hourly {
            let t = expected.entry(h.feature).or_insert(HourRollup {
                load: Load::default(),
                distinct_users: 0,
                distinct_hosts: 0,
                ..*h
            });
            t.load.add_hour(&h.load);
            t.distinct_users = t.distinct_users.max(h.distinct_users);
            t.distinct_hosts = t.distinct_hosts.max(h.distinct_hosts);
        }
        let active: BTreeSet<i64> = hourly.iter().map(|h| h.hour).collect();
        let mut expected_users: BTreeMap<(FeatureKey, i64, i64), UserHour> = BTreeMap::new();
        for u in &users {
            expected_users
                .entry((u.feature, u.user, u.host))
                .or_insert(UserHour {
                    load: Load::default(),
                    ..*u
                })
                .load
                .add_hour(&u.load);
        }
        let (totals, hours_with_rows) = store.hour_totals(&f).await.expect("hour totals");
        assert_eq!(
            totals,
            expected.into_values().collect::<Vec<_>>(),
            "hour totals of {f:?} {when}"
        );
        assert_eq!(
            hours_with_rows,
            active.into_iter().collect::<Vec<_>>(),
            "hours with rows in {f:?} {when}"
        );
        assert_eq!(
            store.user_totals(&f).await.expect("user totals"),
            expected_users.values().copied().collect::<Vec<_>>(),
            "user totals of {f:?} {when}"
        );
        // Read from the coarsest rows of the window: the same loads; a row's hour is the start
        // of its first period, not its first hour.
        let coarse = store
            .user_period_totals(&f)
            .await
            .expect("user period totals");
        let without_hour = |u: &UserHour| (u.feature, u.user, u.host, u.load);
        assert_eq!(
            coarse.iter().map(without_hour).collect::<Vec<_>>(),
            expected_users
                .values()
                .map(without_hour)
                .collect::<Vec<_>>(),
            "user period totals of {f:?} {when}"
        );
        // Per user and per host alone: from their month totals (each server's open month from
        // the month rows), the same loads added up.
        for party in [Party::User, Party::Host] {
            let mut expected: BTreeMap<(FeatureKey, i64), Load> = BTreeMap::new();
            for u in &users {
                let id = if party == Party::User { u.user } else { u.host };
                expected
                    .entry((u.feature, id))
                    .or_default()
                    .add_hour(&u.load);
            }
            let read = store
                .party_period_totals(&f, party)
                .await
                .expect("party period totals");
            assert_eq!(
                read.iter()
                    .map(|u| {
                        let (id, other) = match party {
                            Party::User => (u.user, u.host),
                            Party::Host => (u.host, u.user),
                        };
                        assert_eq!(other, 0, "{party:?} totals of {f:?} {when}");
                        ((u.feature, id), u.load)
                    })
                    .collect::<BTreeMap<_, _>>(),
                expected,
                "{party:?} period totals of {f:?} {when}"
            );
            // The users and hosts pages' totals: all history, all features of a server or all.
            if f.from.is_none() && f.to.is_none() && f.feature.is_none() {
                let mut sums: BTreeMap<i64, (u64, u64)> = BTreeMap::new();
                for ((_, id), load) in &expected {
                    let e = sums.entry(*id).or_default();
                    e.0 += load.checkouts;
                    e.1 += load.used_seconds;
                }
                let ids: Vec<i64> = sums.keys().copied().collect();
                assert_eq!(
                    store
                        .party_totals(party, &ids, f.server)
                        .await
                        .expect("party totals"),
                    sums,
                    "{party:?} page totals of {f:?} {when}"
                );
            }
        }
        // Distinct users and hosts holding a license, counted in SQL.
        let mut distinct: BTreeMap<FeatureKey, (BTreeSet<i64>, BTreeSet<i64>)> = BTreeMap::new();
        for u in users.iter().filter(|u| u.load.used()) {
            let (us, hs) = distinct.entry(u.feature).or_default();
            us.insert(u.user);
            hs.insert(u.host);
        }
        let distinct: BTreeMap<FeatureKey, (u64, u64)> = distinct
            .into_iter()
            .map(|(k, (us, hs))| (k, (us.len() as u64, hs.len() as u64)))
            .collect();
        assert_eq!(
            store.distinct_users(&f).await.expect("distinct users"),
            distinct,
            "distinct users of {f:?} {when}"
        );
        // Sightings: a user-host pair per pair with rows, denied only where it never held one.
        let mut pairs: BTreeMap<(i64, i64), bool> = BTreeMap::new();
        for u in &users {
            *pairs.entry((u.user, u.host)).or_insert(true) &= !u.load.used();
        }
        let seen = store.sightings(&f).await.expect("sightings");
        assert_eq!(
            seen.iter()
                .map(|s| ((s.user, s.host), s.denied_only))
                .collect::<BTreeMap<_, _>>(),
            pairs,
            "sightings of {f:?} {when}"
        );
        // Each from the start of a period at or before its first hour to the end of one at or
        // after its last, within the window.
        let mut spans: BTreeMap<(i64, i64), (i64, i64)> = BTreeMap::new();
        for u in &users {
            let e = spans.entry((u.user, u.host)).or_insert((u.hour, u.hour));
            *e = (e.0.min(u.hour), e.1.max(u.hour));
        }
        let (from, to) = (
            f.from.map_or(i64::MIN, hour_start),
            f.to.map_or(i64::MAX, hour_ceil),
        );
        for s in &seen {
            let (first, last) = spans[&(s.user, s.host)];
            assert!(
                from <= s.start && s.start <= first && last + HOUR <= s.end && s.end <= to,
                "sighting {s:?} of {f:?} {when}"
            );
        }
        // Counted per period, periods reaching past either end of the history included (read
        // as the whole months or days around them where those add no rows).
        let (first, last) = (
            users.iter().map(|u| u.hour).min(),
            users.iter().map(|u| u.hour).max(),
        );
        if let (Some(first), Some(last), Some(_), None) = (first, last, f.server, f.from) {
            let middle = hour_start(first + (last - first) / 2);
            let periods = [
                first - 40 * DAY - 5 * HOUR..middle,
                middle..last + HOUR,
                last + HOUR..last + 40 * DAY,
            ];
            let mut expected: BTreeMap<(FeatureKey, i64), (BTreeSet<i64>, BTreeSet<i64>)> =
                BTreeMap::new();
            for u in users.iter().filter(|u| u.load.used()) {
                for p in periods.iter().filter(|p| p.contains(&u.hour)) {
                    let (us, hs) = expected.entry((u.feature, p.start)).or_default();
                    us.insert(u.user);
                    hs.insert(u.host);
                }
            }
            let expected: BTreeMap<(FeatureKey, i64), (u64, u64)> = expected
                .into_iter()
                .map(|(k, (us, hs))| (k, (us.len() as u64, hs.len() as u64)))
                .collect();
            assert_eq!(
                store
                    .distinct_users_per_period(&f, &periods)
                    .await
                    .expect("distinct users per period"),
                expected,
                "distinct users per period of {f:?} {when}"
            );
        }
    }
}

async fn rollups_equal_a_recomputation_from_the_facts(store: Store) {
    let server = store.ensure_server("lic1", "flexlm").await.expect("server");

    // A first log: two features, sessions within and across hours and midnight, one of two
    // days, denials.
    let day1 = vec![
        batch(
            vec![
                session(1, 3, 6, 1, T0 + 9 * H, T0 + 9 * H + 1_800),
                session(1, 4, 7, 2, T0 + 9 * H + 600, T0 + 11 * H),
                session(2, 3, 6, 1, T0 + 23 * H + 1_800, T0 + 25 * H),
            ],
            vec![denial(1, 5, T0 + 10 * H + 5)],
        ),
        batch(
            vec![
                session(1, 5, 7, 1, T0 + 12 * H, T0 + 12 * H),
                session(2, 4, 7, 1, T0 + 8 * H, T0 + 56 * H),
            ],
            vec![],
        ),
    ];
    import(&store, server, "/logs/day1.log", day1).await;
    assert_rollups_exact(&store, "after the first import").await;
    let nine = store
        .hour_rollups(&RollupFilter {
            feature: None,
            server: Some(server),
            from: Some(T0 + 9 * H),
            to: Some(T0 + 9 * H + 1),
        })
        .await
        .expect("hour 9");
    // Hour 9: ann 1 × 30 min + bob 2 × 50 min = 1 800 + 6 000 license-seconds on `solver`.
    let solver = nine
        .iter()
        .find(|h| h.load.checkouts == 2)
        .expect("solver at 9");
    assert_eq!(
        (
            solver.load.used_seconds,
            solver.load.peak_in_use,
            solver.distinct_users
        ),
        (7_800, 3, 2)
    );

    // Late data: another log of the same server, overlapping hours already rolled up.
    let late = vec![batch(
        vec![
            session(1, 5, 6, 1, T0 + 8 * H, T0 + 9 * H + 900),
            session(2, 5, 7, 3, T0 + 10 * H, T0 + 10 * H + 60),
        ],
        vec![denial(2, 3, T0 + 9 * H + 10), denial(1, 4, T0 + 11 * H)],
    )];
    import(&store, server, "/logs/late.log", late).await;
    assert_rollups_exact(&store, "after late data").await;
    let nine_again = store
        .hour_rollups(&RollupFilter {
            server: Some(server),
            from: Some(T0 + 9 * H),
            to: Some(T0 + 10 * H),
            ..RollupFilter::default()
        })
        .await
        .expect("hour 9");
    assert_ne!(nine, nine_again, "late data corrected hour 9");

    // A file imported again (as a new run), then a run reopened: its end-of-log sessions go.
    let again = vec![batch(
        vec![session(1, 3, 6, 1, T0 + 9 * H, T0 + 9 * H + 1_800)],
        vec![],
    )];
    import(&store, server, "/logs/day1-copy.log", again).await;
    let mut tail = batch(vec![session(1, 4, 6, 1, T0 + 30 * H, T0 + 33 * H)], vec![]);
    tail.sessions[0].end_reason = EndReason::EndOfLog;
    let run = import(&store, server, "/logs/growing.log", vec![tail]).await;
    store
        .finish_import(run, RunStatus::Complete, None)
        .await
        .expect("finish");
    assert_rollups_exact(&store, "before reopening").await;
    store.reopen_import(run).await.expect("reopen");
    assert_rollups_exact(&store, "after reopening").await;

    // A polled server: open checkouts count until the last poll, then become sessions.
    let polled = store
        .add_server(ServerConfig {
            poll_format: Some("flexlm-lmstat".into()),
            query_interval: 3_600,
            ..ServerConfig::imported("lic2", "flexlm")
        })
        .await
        .expect("polled server");
    for (t, holders) in [
        (T0 + 10 * H - 60, vec!["ann", "bob"]),
        (T0 + 10 * H + 1_200, vec!["bob"]),
        (T0 + 11 * H + 300, vec!["bob", "cat"]),
    ] {
        store
            .record_poll(polled, t, PollResult::Answered(snapshot(&holders)).into())
            .await
            .expect("poll");
        assert_rollups_exact(&store, "after a poll").await;
    }
    let open = store
        .hour_rollups(&RollupFilter {
            server: Some(polled),
            from: Some(T0 + 11 * H),
            to: Some(T0 + 12 * H),
            ..RollupFilter::default()
        })
        .await
        .expect("open hour");
    // bob since 09:59 and cat since 11:05 are still held at 11:05: bob 300 s in hour 11.
    assert_eq!(open.iter().map(|h| h.load.used_seconds).sum::<u64>(), 300);
    // Tally stops for hours: what was open ended at the last poll that saw it.
    store
        .record_poll(
            polled,
            T0 + 20 * H,
            PollResult::Answered(snapshot(&[])).into(),
        )
        .await
        .expect("poll after a gap");
    assert_rollups_exact(&store, "after a gap in polling").await;

    // Rebuilding from scratch gives the same rows.
    let before = store
        .hour_rollups(&RollupFilter::default())
        .await
        .expect("rollups");
    store.rebuild_rollups().await.expect("rebuild");
    assert_eq!(
        store
            .hour_rollups(&RollupFilter::default())
            .await
            .expect("rollups"),
        before
    );
    assert_rollups_exact(&store, "after a rebuild").await;

    // Removing a server removes its rollups.
    store.remove_server("lic2").await.expect("remove");
    let left = store
        .hour_rollups(&RollupFilter::default())
        .await
        .expect("rollups");
    assert!(left.iter().all(|h| h.feature.server == server));
    assert_rollups_exact(&store, "after removing a server").await;
}

/// The import path rolls hours after a feature's last rolled hour from the batch alone and
/// re-reads the others: every way a batch can meet stored hours, checked against a
/// recomputation after each batch.
async fn batches_in_time_order_late_and_again_roll_up_exactly(store: Store) {
    let server = store.ensure_server("lic1", "flexlm").await.expect("server");
    let hour = |h: i64| RollupFilter {
        server: Some(server),
        from: Some(T0 + h * H),
        to: Some(T0 + h * H + 1),
        ..RollupFilter::default()
    };
    let batches = vec![
        // Up to 10:30 on `solver`; `mesher` only has a denial. A session of no licence spans
        // 13:00-16:00: it counts (a checkout) in hour 13 only.
        batch(
            vec![
                session(1, 3, 6, 1, T0 + 9 * H, T0 + 10 * H + 1_800),
                session(1, 4, 7, 1, T0 + 10 * H, T0 + 10 * H),
                session(1, 5, 7, 0, T0 + 13 * H, T0 + 16 * H),
            ],
            vec![denial(2, 4, T0 + 9 * H + 30)],
        ),
        // Shares hour 10 (a second session and a denial there) and hour 13-16 of the session
        // of no licence; goes on to hour 15 on `solver`, hour 12 on `mesher`.
        batch(
            vec![
                session(1, 4, 7, 2, T0 + 10 * H + 2_700, T0 + 12 * H),
                session(1, 3, 6, 1, T0 + 14 * H, T0 + 15 * H + 60),
                session(2, 5, 6, 1, T0 + 11 * H, T0 + 12 * H + 10),
            ],
            vec![denial(1, 5, T0 + 10 * H + 2_800)],
        ),
        // A long session (three days, listed in long_session) from hour 16, and a partial
        // grant's shortfall of 2 licences from hour 30 to 45.
        batch(
            vec![session(2, 3, 6, 1, T0 + 16 * H, T0 + 88 * H)],
            vec![lasting(2, 4, 2, T0 + 30 * H, T0 + 45 * H)],
        ),
        // Within the long session's hours (re-rolled: the shortfall that started before them
        // is read back), then past them.
        batch(
            vec![
                session(2, 4, 7, 1, T0 + 40 * H, T0 + 41 * H),
                session(2, 5, 7, 1, T0 + 87 * H, T0 + 90 * H),
            ],
            vec![denial(2, 5, T0 + 89 * H)],
        ),
        // Days and months after the last rolled hour, folded from the batch alone: across the
        // end of March into April, a day in May, and the day of the last rolled hour again.
        batch(
            vec![
                session(1, 3, 6, 1, T0 + 89 * H, T0 + 92 * H),
                session(1, 4, 7, 1, T0 + 30 * D + 20 * H, T0 + 31 * D + 2 * H),
                session(2, 5, 6, 2, T0 + 62 * D, T0 + 62 * D + H),
            ],
            vec![denial(1, 5, T0 + 31 * D + 5 * H)],
        ),
        // The hour of May's session again, and June.
        batch(
            vec![
                session(2, 3, 6, 1, T0 + 62 * D + 1_800, T0 + 62 * D + 2 * H),
                session(1, 3, 7, 1, T0 + 92 * D, T0 + 92 * D + 3 * H),
            ],
            vec![],
        ),
    ];
    import(&store, server, "/logs/a.log", batches.clone()).await;
    assert_rollups_exact(&store, "after the batches in time order").await;
    let ten = store.hour_rollups(&hour(10)).await.expect("hour 10");
    let solver = ten.iter().find(|h| h.load.checkouts > 0).expect("solver");
    // Hour 10: ann 1 × 30 min, bob's instant, bob 2 × 15 min; one denial of each batch.
    assert_eq!(
        (
            solver.load.used_seconds,
            solver.load.peak_in_use,
            solver.load.checkouts,
            solver.load.denials
        ),
        (1_800 + 2 * 900, 2, 2, 1)
    );
    // Hour 40: the long session and bob's hour used; 2 more wanted all hour.
    let forty = store.hour_rollups(&hour(40)).await.expect("hour 40");
    assert_eq!(
        forty
            .iter()
            .map(|h| (
                h.load.used_seconds,
                h.load.desired_seconds,
                h.load.peak_desired
            ))
            .collect::<Vec<_>>(),
        [(2 * H as u64, 4 * H as u64, 4)]
    );

    // Late data, one batch: old hours only, across the last rolled hour, and hours after it.
    let late = batch(
        vec![
            session(1, 5, 6, 1, T0 + 8 * H, T0 + 9 * H),
            session(1, 5, 6, 1, T0 + 15 * H, T0 + 18 * H),
            session(2, 4, 6, 1, T0 + 2 * H, T0 + 100 * H),
        ],
        vec![denial(1, 3, T0 + 20 * H)],
    );
    import(&store, server, "/logs/late.log", vec![late]).await;
    assert_rollups_exact(&store, "after late data").await;

    // The first file again, as a new run: every fact twice.
    import(&store, server, "/logs/a-again.log", batches).await;
    assert_rollups_exact(&store, "after importing a file again").await;
    let ten_again = store.hour_rollups(&hour(10)).await.expect("hour 10");
    let solver_again = ten_again
        .iter()
        .find(|h| h.load.checkouts > 0)
        .expect("solver");
    assert_eq!(solver_again.load.used_seconds, 2 * solver.load.used_seconds);
}

/// The import path folds the cells of hours no stored row had in memory and merges them into
/// the stored month and year cells: batches and imports adding hours to a cell that already
/// folds others (same month, a later month of its year, a later year), with a re-rolled hour
/// of the same cell in the same batch, each checked against a recomputation.
async fn new_hours_merge_into_stored_cells_exactly(store: Store) {
    let server = store.ensure_server("lic1", "flexlm").await.expect("server");
    const W: i64 = 7 * D;
    // Friday 2024-03-01 09:00, one cell, week after week.
    let nine = |week: i64| T0 + week * W + 9 * H;
    // One run of two batches: the second adds a week later's 09:00 to the cell of the first.
    let first = vec![
        batch(
            vec![
                session(1, 3, 6, 1, nine(0), nine(0) + 1_800),
                session(1, 4, 7, 2, nine(0) + 600, nine(0) + 3_000),
                session(2, 3, 6, 1, nine(0) + 2 * H, nine(0) + 3 * H),
            ],
            vec![denial(1, 5, nine(0) + 100)],
        ),
        batch(
            vec![session(1, 5, 6, 1, nine(1), nine(1) + 900)],
            vec![denial(1, 3, nine(1) + 200), denial(1, 4, nine(1) + 300)],
        ),
    ];
    import(&store, server, "/logs/first.log", first).await;
    assert_rollups_exact(&store, "after two batches sharing a cell").await;

    let later = vec![
        // The last rolled hour again (re-rolled, refolded) and the same cell two weeks on
        // (new, merged) in one batch; three users at once, the most of any hour so far.
        batch(
            vec![
                session(1, 4, 7, 1, nine(1) + 1_000, nine(1) + 2_000),
                session(1, 3, 6, 1, nine(2), nine(2) + H),
                session(1, 4, 6, 1, nine(2), nine(2) + H),
                session(1, 5, 7, 1, nine(2) + 60, nine(2) + 120),
            ],
            vec![],
        ),
        // May (a new month of the year: its year cell folds March's), an hour across the cell
        // and the next.
        batch(
            vec![session(1, 3, 7, 1, nine(9) + 1_800, nine(9) + H + 1_800)],
            vec![denial(2, 4, nine(9) + 5)],
        ),
        // 2025: a new year, the same cell.
        batch(
            vec![session(1, 4, 6, 2, nine(52) + 600, nine(52) + 1_200)],
            vec![],
        ),
    ];
    for (i, b) in later.into_iter().enumerate() {
        import(&store, server, &format!("/logs/later-{i}.log"), vec![b]).await;
        assert_rollups_exact(&store, &format!("after later import {i}")).await;
    }

    // The cell over all history, read from the year cells: every 09:00 of `solver` above.
    let cells = store
        .week_cells(&RollupFilter {
            server: Some(server),
            ..RollupFilter::default()
        })
        .await
        .expect("cells");
    let solver = cells
        .iter()
        .find(|c| c.hour == nine(0).rem_euclid(W) && c.load.checkouts > 1)
        .expect("the cell of 09:00 on Fridays");
    assert_eq!(
        (
            solver.load.used_seconds,
            solver.load.checkouts,
            solver.load.denials,
            solver.load.peak_in_use,
            solver.distinct_users,
        ),
        (
            1_800 + 2 * 2_400 + 900 + 1_000 + 2 * 3_600 + 60 + 1_800 + 2 * 600,
            2 + 2 + 3 + 1 + 1,
            1 + 2,
            3,
            3,
        )
    );
}

/// A history written before rollups existed gets them when the store opens: the migration asks
/// for a rebuild (simulated here by emptying the rollups and asking again).
#[tokio::test]
async fn rollups_are_rebuilt_when_a_migration_asks() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("tally.db").display());
    let store = Store::open(&url).await.expect("open");
    let server = store.ensure_server("lic1", "flexlm").await.expect("server");
    let b = batch(
        vec![session(1, 3, 6, 2, T0 + 9 * H, T0 + 30 * H)],
        vec![denial(1, 4, T0 + 10 * H)],
    );
    import(&store, server, "/logs/a.log", vec![b]).await;
    let all = RollupFilter::default();
    let before = store.hour_rollups(&all).await.expect("rollups");
    assert_eq!(before.len(), 21);
    store.close().await;

    use sqlx::{ConnectOptions, Connection};
    let mut raw = url
        .parse::<sqlx::sqlite::SqliteConnectOptions>()
        .expect("url")
        .connect()
        .await
        .expect("raw connection");
    sqlx::raw_sql(
        "DELETE FROM hour_rollup; DELETE FROM user_hour; UPDATE store_state SET value = 'rebuild'",
    )
    .execute(&mut raw)
    .await
    .expect("forget rollups");
    raw.close().await.expect("close");

    let store = Store::open(&url).await.expect("reopen");
    assert_eq!(store.hour_rollups(&all).await.expect("rollups"), before);
    assert_rollups_exact(&store, "after the rebuild at open").await;
}

/// A history written before day and month rollups (or heatmap cells) existed gets them from its
/// hourly rows when the store opens (migrations 0013 and 0022 ask; simulated by emptying them
/// and asking again).
#[tokio::test]
async fn day_and_month_rollups_are_rebuilt_when_a_migration_asks() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("tally.db").display());
    let store = Store::open(&url).await.expect("open");
    let server = store.ensure_server("lic1", "flexlm").await.expect("server");
    // Across a month's end: two months, three days.
    let b = batch(
        vec![session(1, 3, 6, 2, T0 - 2 * H, T0 + 30 * H)],
        vec![denial(1, 4, T0 + 10 * H)],
    );
    import(&store, server, "/logs/a.log", vec![b]).await;
    let all = RollupFilter::default();
    let months = store.rollups(&all, Grain::Month).await.expect("months");
    assert_eq!(months.len(), 2);
    assert_eq!(
        store.rollups(&all, Grain::Day).await.expect("days").len(),
        3
    );
    store.close().await;

    use sqlx::{ConnectOptions, Connection};
    let mut raw = url
        .parse::<sqlx::sqlite::SqliteConnectOptions>()
        .expect("url")
        .connect()
        .await
        .expect("raw connection");
    sqlx::raw_sql(
        "DELETE FROM day_rollup; DELETE FROM user_day; DELETE FROM month_rollup; DELETE FROM user_month;
         DELETE FROM month_cell; DELETE FROM year_cell;
         UPDATE store_state SET value = 'rebuild' WHERE name IN ('coarse_rollups', 'cell_rollups')",
    )
    .execute(&mut raw)
    .await
    .expect("forget day and month rollups");
    raw.close().await.expect("close");

    let store = Store::open(&url).await.expect("reopen");
    assert_eq!(
        store.rollups(&all, Grain::Month).await.expect("months"),
        months
    );
    assert_rollups_exact(&store, "after the day and month rebuild at open").await;
}

/// A checkout in a poll: feature, user, host, count, reported start.
type Held = (&'static str, &'static str, &'static str, u32, Option<i64>);

fn answer(up: bool, held: &[Held]) -> Snapshot {
    let features = ["solver", "mesher"].map(|name| Feature {
        name: name.into(),
        vendor: "acme".into(),
        version: None,
        pool: None,
        issued: Some(20),
        in_use: held.iter().filter(|h| h.0 == name).map(|h| h.3).sum(),
        expiry: None,
        kind: FeatureKind::Floating,
    });
    Snapshot {
        servers: vec![LicenseServer {
            host: "lic3".into(),
            port: Some(27000),
            status: if up {
                ServerStatus::Up
            } else {
                ServerStatus::Down
            },
            version: None,
            vendor_daemons: vec![],
            message: None,
        }],
        features: if up { features.to_vec() } else { vec![] },
        checkouts: held
            .iter()
            .map(|&(feature, user, host, count, start)| Checkout {
                feature: feature.into(),
                vendor: "acme".into(),
                user: user.into(),
                host: host.into(),
                display: None,
                count,
                start,
                handle: None,
                linger: None,
                borrowed: false,
            })
            .collect(),
        ..Snapshot::default()
    }
}

/// Polls extend the rollups of their interval in place when only their own checkouts lie in
/// it, and recompute otherwise; either way the rows equal a recomputation after every poll.
async fn polls_extend_rollups_exactly(store: Store) {
    let server = store
        .add_server(ServerConfig {
            poll_format: Some("flexlm-lmstat".into()),
            query_interval: 3_600,
            ..ServerConfig::imported("lic3", "flexlm")
        })
        .await
        .expect("polled server");
    let t = T0 + 10 * H - 200;
    let ann: Held = ("solver", "ann", "ws1", 1, None);
    let bob2: Held = ("solver", "bob", "ws2", 2, None);
    let cat: Held = ("mesher", "cat", "ws1", 1, None);
    let poll = async |at: i64, up: bool, held: &[Held]| {
        let counts = store
            .record_poll(server, at, PollResult::Answered(answer(up, held)).into())
            .await
            .expect("poll");
        assert_rollups_exact(&store, &format!("after the poll at T0{:+}", at - T0)).await;
        counts.extended
    };

    // The first poll has nothing to extend; a reported start is kept.
    assert!(
        !poll(
            t,
            true,
            &[("solver", "ann", "ws1", 1, Some(t - 500)), bob2, cat]
        )
        .await
    );
    // Then: the same user holding two identical licenses; one of them goes.
    assert!(poll(t + 60, true, &[ann, ann, bob2, cat]).await);
    assert!(poll(t + 120, true, &[ann, bob2, cat]).await);
    // Across the hour (10:00 lies inside the interval), a start reported within it, cat gone.
    let dan: Held = ("mesher", "dan", "ws2", 3, Some(t + 150));
    assert!(poll(t + 240, true, &[ann, bob2, dan]).await);
    // A poll exactly on an hour; one that appears at its own instant and is gone at the next.
    let at = T0 + 11 * H;
    let eve: Held = ("solver", "eve", "ws1", 1, Some(at));
    // (The first poll of an hour writes what is open; one starting at it is recomputed.)
    assert!(!poll(at, true, &[ann, bob2, dan, eve]).await);
    assert!(poll(at + 60, true, &[ann, bob2, dan]).await);
    // Everyone leaves, then comes back.
    assert!(poll(at + 120, true, &[]).await);
    assert!(poll(at + 180, true, &[ann, cat]).await);

    // A denial imported inside the next interval counts in `denials` only: still extended.
    let lic3 = store
        .server("lic3")
        .await
        .expect("server")
        .expect("lic3")
        .id;
    import(
        &store,
        lic3,
        "/logs/lic3-denials.log",
        vec![batch(vec![], vec![denial(1, 4, at + 200)])],
    )
    .await;
    assert_rollups_exact(&store, "after the denial").await;
    assert!(poll(at + 240, true, &[ann, cat, bob2]).await);
    // An imported session inside the next interval: its hours are recomputed instead.
    import(
        &store,
        lic3,
        "/logs/lic3-sessions.log",
        vec![batch(vec![session(1, 5, 7, 1, at + 250, at + 290)], vec![])],
    )
    .await;
    assert_rollups_exact(&store, "after the imported session").await;
    // A poll that only extends what is open writes no rollup: the next one that writes (a
    // session ends) recomputes the hours instead.
    assert!(poll(at + 300, true, &[ann, cat, bob2]).await);
    assert!(!poll(at + 360, true, &[ann, cat]).await);
    // A partial grant's shortfall imported across the next two polls: it raises the desired
    // peak there, which extending cannot know, so those hours are recomputed.
    import(
        &store,
        lic3,
        "/logs/lic3-partial.log",
        vec![batch(vec![], vec![lasting(1, 4, 2, at + 380, at + 430)])],
    )
    .await;
    assert_rollups_exact(&store, "after the partial grant").await;
    assert!(!poll(at + 420, true, &[ann]).await);
    assert!(poll(at + 480, true, &[ann, cat]).await);
    assert!(!poll(at + 540, true, &[ann]).await);
    assert!(poll(at + 600, true, &[ann, cat]).await);

    // A failed poll, in the next hour: what is open counts up to it too.
    let failed = store
        .record_poll(
            server,
            T0 + 12 * H + 10,
            PollResult::Failed("timed out".into()).into(),
        )
        .await
        .expect("failed poll");
    assert!(failed.extended);
    assert_rollups_exact(&store, "after a failed poll").await;
    assert!(poll(T0 + 12 * H + 100, true, &[ann, cat]).await);
    assert!(poll(T0 + 12 * H + 160, true, &[ann, cat, dan]).await);

    // The license server goes down (all sessions end), comes back, then polls stop for hours.
    assert!(!poll(T0 + 12 * H + 220, false, &[]).await);
    // Back up: nothing was left open, so the answer only adds.
    assert!(poll(T0 + 12 * H + 280, true, &[ann]).await);
    assert!(poll(T0 + 12 * H + 340, true, &[ann, bob2]).await);
    assert!(!poll(T0 + 20 * H, true, &[ann]).await);
    assert!(poll(T0 + 20 * H + 60, true, &[ann]).await);

    // Polls across the end of the month: the month they leave is folded into the user and host
    // month totals, which reads take it from from then on; the new month is read from the
    // month rows the polls add to. The first poll of April writes what was open through the
    // end of March (March's rows are final then); a session ending in April is written at once.
    let april = T0 + 31 * 24 * H;
    assert!(!poll(april - 90, true, &[ann, bob2]).await);
    assert!(poll(april - 30, true, &[ann, bob2]).await);
    assert!(poll(april + 30, true, &[ann, bob2]).await);
    assert!(poll(april + 90, true, &[ann, cat]).await);
    // Across the next month's end: a session ending in April's last hour is written at once,
    // what stays open through the month's end at May's first poll, which folds April.
    let may = april + 30 * 24 * H;
    assert!(!poll(may - 60, true, &[ann, cat]).await);
    assert!(poll(may - 30, true, &[ann]).await);
    assert!(poll(may + 30, true, &[ann]).await);
    assert!(poll(may + 90, true, &[ann, bob2]).await);

    let sessions = store.sessions(server).await.expect("sessions");
    assert!(
        sessions
            .iter()
            .any(|s| s.user == "eve" && s.start == at && s.end == at + 60)
    );
}
