//! Rollups extended by a poll instead of recomputed (PERF.md target 4).
//!
//! A poll at `at` after the poll at `previous` changes the facts in one way only: every checkout
//! still open after `previous` (kept, or closed now: a session ending at `at`) now also holds
//! `[previous, at)`, and every new one holds `[start, at)` with `previous <= start <= at`
//! (`polls::diff` never gives an earlier start). When no other fact of these features reaches
//! into `[previous, at]`, the levels there are the poll's alone, so the stored hour rows become
//! exactly [`rollup::rollup`]'s over all facts by adding what this segment adds: seconds add,
//! peaks are the larger of the old one and the segment's (the old rows saw nothing after
//! `previous` but the poll's own instants at `previous`, which the segment's level covers),
//! checkouts add one in the hour a new session starts, and an hour's distinct users and hosts
//! are counted again from its `user_hour` rows when someone may have joined it. Upserts only: the
//! hour's facts are never read back.
//!
//! A failed poll extends what is open the same way (`opened` empty). Everything else (first
//! poll, polls resumed after a gap, a server down, imported sessions inside the interval, a
//! clock going backwards) takes the full re-roll of `rollups.rs`. Stored
//! denials are point denials: they count in `denials` only, which the upserts leave alone, and
//! never in levels, so one inside the interval does not stop the extension.

use std::collections::{BTreeMap, BTreeSet};

use tally_core::period::hour_start;
use tally_core::rollup::{self, FeatureKey, Grain, HourRollup, SessionFact, UserHour};

use crate::StoreError;
use crate::db::{Conn, Kind, Params, Table, insert_returning, query_built};
use crate::rollups::{HOUR_ROLLUP, USER_HOUR, add_load};
use crate::{cells, coarse, totals};

/// Whether the segment `[previous, at]` of `features` holds the poll's checkouts only: no
/// stored session (an import) ends after `previous` or is an instant at it and starts by `at`,
/// and no lasting denial (a partial grant, which raises the desired peak) overlaps it.
/// Sessions the previous poll closed end at `previous` and started before it. One indexed read.
pub(crate) async fn poll_alone(
    conn: &mut Conn,
    features: &BTreeSet<i64>,
    previous: i64,
    at: i64,
) -> Result<bool, StoreError> {
    if features.is_empty() {
        return Ok(true);
    }
    let ids = vec!["?"; features.len()].join(", ");
    let mut q = query_built(format!(
        "SELECT 1 FROM session WHERE feature_id IN ({ids}) AND \"end\" >= ? AND (\"end\" > ? OR start >= ?)
         AND start <= ?
         UNION ALL
         SELECT 1 FROM denial WHERE feature_id IN ({ids}) AND until_time > ? AND time < ?
         LIMIT 1"
    ));
    for &f in features {
        q = q.bind(f);
    }
    q = q.bind(previous).bind(previous).bind(previous).bind(at);
    for &f in features {
        q = q.bind(f);
    }
    let other = q.bind(previous).bind(at).fetch_optional(conn).await?;
    Ok(other.is_none())
}

/// What a poll adds to the rollups.
#[derive(Debug, Default, PartialEq, Eq)]
struct Delta {
    hours: Vec<HourRollup>,
    users: Vec<UserHour>,
    /// Hours (per feature) whose distinct users and hosts may have grown.
    recount: BTreeMap<i64, BTreeSet<i64>>,
}

/// The segment's load: `continued` are the checkouts open after `previous` (counted up to it
/// already), `opened` the new ones; both end at `at > previous`.
fn delta(previous: i64, at: i64, continued: &[SessionFact], opened: &[SessionFact]) -> Delta {
    let first_hour = hour_start(previous);
    let mut facts: BTreeMap<FeatureKey, Vec<SessionFact>> = BTreeMap::new();
    // Users and hosts already holding a license in the hour of `previous`: a piece before it
    // in that hour, or an instant at it.
    let mut present: BTreeSet<(i64, i64, i64)> = BTreeSet::new();
    for s in continued {
        if s.count > 0 && (s.start >= previous || previous > first_hour) {
            present.insert((s.feature, s.user, s.host));
        }
        let mut piece = *s;
        piece.start = previous.max(s.start);
        piece.end = at;
        facts.entry(s.key()).or_default().push(piece);
    }
    let mut checkouts: BTreeMap<(i64, i64, i64, i64), u64> = BTreeMap::new();
    for s in opened {
        let mut piece = *s;
        piece.end = at.max(s.start);
        facts.entry(s.key()).or_default().push(piece);
        *checkouts
            .entry((s.feature, hour_start(s.start), s.user, s.host))
            .or_default() += 1;
    }

    let mut out = Delta::default();
    for (key, facts) in facts {
        // `at + 1`: an instant at `at` belongs to its hour.
        let r = rollup::rollup(key, previous..at + 1, &facts, &[]);
        // `rollup` counts a checkout at every piece's start: only new sessions start here.
        let mut per_hour: BTreeMap<i64, u64> = BTreeMap::new();
        for mut u in r.users {
            u.load.checkouts = checkouts
                .get(&(key.feature, u.hour, u.user, u.host))
                .copied()
                .unwrap_or(0);
            *per_hour.entry(u.hour).or_default() += u.load.checkouts;
            let known = u.hour == first_hour && present.contains(&(key.feature, u.user, u.host));
            if u.load.used() && !known {
                out.recount.entry(key.feature).or_default().insert(u.hour);
            }
            out.users.push(u);
        }
        for mut h in r.hours {
            h.load.checkouts = per_hour.get(&h.hour).copied().unwrap_or(0);
            (h.distinct_users, h.distinct_hosts) = (0, 0);
            out.hours.push(h);
        }
    }
    out
}

/// Adds the segment `[previous, at)` of a poll to the stored rollups (see the module comment
/// for when that is exact). Runs inside the poll's transaction.
pub(crate) async fn extend(
    conn: &mut Conn,
    previous: i64,
    at: i64,
    continued: &[SessionFact],
    opened: &[SessionFact],
) -> Result<(), StoreError> {
    let d = delta(previous, at, continued, opened);
    let kind = conn.kind();
    upsert(
        conn,
        &HOUR_ROLLUP,
        "feature_id, hour",
        &d.hours,
        kind,
        |p, h| {
            p.add(h.feature.feature);
            p.add(h.hour);
            p.add(h.feature.server);
            add_load(p, &h.load);
            p.add(0i64);
            p.add(0i64);
        },
    )
    .await?;
    upsert(
        conn,
        &USER_HOUR,
        "feature_id, hour, user_id, host_id",
        &d.users,
        kind,
        |p, u| {
            p.add(u.feature.feature);
            p.add(u.hour);
            p.add(u.user);
            p.add(u.host);
            p.add(u.feature.server);
            add_load(p, &u.load);
        },
    )
    .await?;
    recount(conn, &d.recount).await?;

    // The day and month rows take the same delta, folded to their periods.
    let hourly = rollup::Rollup {
        hours: d.hours,
        users: d.users,
    };
    for (grain, features, users) in [
        (Grain::Day, &coarse::DAY_ROLLUP, &coarse::USER_DAY),
        (Grain::Month, &coarse::MONTH_ROLLUP, &coarse::USER_MONTH),
    ] {
        let folded = rollup::coarsen(grain, &hourly);
        let key = |t: &Table| t.cols[..2].join(", ");
        upsert(
            conn,
            features,
            &key(features),
            &folded.hours,
            kind,
            |p, h| {
                p.add(h.feature.feature);
                p.add(h.hour);
                p.add(h.feature.server);
                add_load(p, &h.load);
                p.add(0i64);
                p.add(0i64);
            },
        )
        .await?;
        let user_key = format!("{}, user_id, host_id", key(users));
        upsert(conn, users, &user_key, &folded.users, kind, |p, u| {
            p.add(u.feature.feature);
            p.add(u.hour);
            p.add(u.user);
            p.add(u.host);
            p.add(u.feature.server);
            add_load(p, &u.load);
        })
        .await?;
        for (start, features) in coarse::periods_of(grain, &d.recount) {
            coarse::recount(conn, coarse::tables(grain), &features, start).await?;
        }
    }
    // Heatmap cells: refolded from the hours written (and recounted) above.
    cells::refresh(conn, &cells::hours_of(&hourly.hours)).await?;
    // The months' user and host totals are left behind, the server's open month from now on.
    if let Some(server) = continued.iter().chain(opened).map(|s| s.server).next() {
        let months = hourly
            .hours
            .iter()
            .map(|h| Grain::Month.start(h.hour))
            .collect();
        totals::after_poll(conn, server, at, months).await?;
    }
    Ok(())
}

async fn upsert<'r, T>(
    conn: &mut Conn,
    table: &Table,
    key: &str,
    rows: &'r [T],
    kind: Kind,
    row: impl FnMut(&mut Params<'r>, &'r T),
) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    insert_returning(conn, table, rows, &merge(kind, table.name, key), row).await?;
    Ok(())
}

/// The upsert clause adding a segment's load to a stored row: seconds and checkouts add, peaks
/// take the larger; denials and distinct counts stay.
fn merge(kind: Kind, table: &str, key: &str) -> String {
    const ADD: [&str; 3] = ["used_seconds", "desired_seconds", "checkouts"];
    const MAX: [&str; 2] = ["peak_in_use", "peak_desired"];
    kind.upsert_folding(table, key, &ADD, &MAX)
}

/// Counts again the distinct users and hosts holding a license in the given hours, from their
/// `user_hour` rows: one statement for the features' span of hours (a superset is exact too).
async fn recount(conn: &mut Conn, hours: &BTreeMap<i64, BTreeSet<i64>>) -> Result<(), StoreError> {
    let span = hours.values().flatten();
    let (Some(&first), Some(&last)) = (span.clone().min(), span.max()) else {
        return Ok(());
    };
    let count = |col: &str| {
        format!(
            "(SELECT count(DISTINCT u.{col}) FROM user_hour u WHERE u.feature_id = hour_rollup.feature_id
              AND u.hour = hour_rollup.hour AND u.peak_in_use > 0)"
        )
    };
    let mut q = query_built(format!(
        "UPDATE hour_rollup SET distinct_users = {}, distinct_hosts = {}
         WHERE feature_id IN ({}) AND hour >= ? AND hour <= ?",
        count("user_id"),
        count("host_id"),
        vec!["?"; hours.len()].join(", ")
    ));
    for &f in hours.keys() {
        q = q.bind(f);
    }
    q.bind(first).bind(last).execute(conn).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tally_core::period::HOUR;
    use tally_core::rollup::Rollup;

    const T0: i64 = 1_709_251_200;
    const F1: FeatureKey = FeatureKey {
        server: 1,
        feature: 10,
    };

    fn s(feature: i64, user: i64, count: u32, start: i64, end: i64) -> SessionFact {
        SessionFact {
            server: 1,
            feature,
            user,
            host: 100 + user % 2,
            count,
            start,
            end,
        }
    }

    /// Rows keyed for merging.
    type Rows = (
        BTreeMap<(FeatureKey, i64), HourRollup>,
        BTreeMap<(FeatureKey, i64, i64, i64), UserHour>,
    );

    fn full(keys: &[FeatureKey], facts: &[SessionFact]) -> Rows {
        let mut out = Rows::default();
        for &k in keys {
            let Rollup { hours, users } =
                rollup::rollup(k, T0 - 3 * HOUR..T0 + 9 * HOUR, facts, &[]);
            out.0
                .extend(hours.into_iter().map(|h| ((h.feature, h.hour), h)));
            out.1.extend(
                users
                    .into_iter()
                    .map(|u| ((u.feature, u.hour, u.user, u.host), u)),
            );
        }
        out
    }

    /// What `extend` does to the stored rows, in memory; distinct counts recounted everywhere
    /// (the recount set is checked separately).
    fn merged(mut rows: Rows, d: &Delta) -> Rows {
        for u in &d.users {
            rows.1
                .entry((u.feature, u.hour, u.user, u.host))
                .and_modify(|o| add(&mut o.load, &u.load))
                .or_insert(*u);
        }
        for h in &d.hours {
            rows.0
                .entry((h.feature, h.hour))
                .and_modify(|o| add(&mut o.load, &h.load))
                .or_insert(*h);
        }
        for h in rows.0.values_mut() {
            let used = rows
                .1
                .values()
                .filter(|u| u.feature == h.feature && u.hour == h.hour && u.load.used());
            let users: BTreeSet<i64> = used.clone().map(|u| u.user).collect();
            let hosts: BTreeSet<i64> = used.map(|u| u.host).collect();
            h.distinct_users = users.len() as u32;
            h.distinct_hosts = hosts.len() as u32;
        }
        rows
    }

    fn add(o: &mut rollup::Load, n: &rollup::Load) {
        o.used_seconds += n.used_seconds;
        o.desired_seconds += n.desired_seconds;
        o.checkouts += n.checkouts;
        o.peak_in_use = o.peak_in_use.max(n.peak_in_use);
        o.peak_desired = o.peak_desired.max(n.peak_desired);
    }

    /// Polls over a few hours: each poll's extension of the previous poll's exact rows equals
    /// the recomputation over the facts after it.
    #[test]
    fn extending_equals_recomputing_poll_after_poll() {
        let f2 = FeatureKey {
            server: 1,
            feature: 11,
        };
        // (user, feature, count, first poll index seen, last poll index seen, reported start
        // offset before its first poll)
        let holders: [(i64, i64, u32, usize, usize, i64); 8] = [
            (1, 10, 1, 0, 6, 0),
            (2, 10, 2, 1, 1, 30),
            (3, 10, 1, 1, 4, 0),
            (4, 11, 1, 2, 9, 59),
            (5, 10, 3, 3, 3, 0),
            (1, 11, 1, 4, 5, 10),
            (6, 10, 1, 5, 8, 0),
            (7, 10, 1, 7, 9, 0),
        ];
        // Across hour boundaries, one poll exactly on one, uneven gaps.
        let polls = [
            T0 - 600,
            T0 - 60,
            T0 + 1_200,
            T0 + HOUR,
            T0 + HOUR + 60,
            T0 + 3 * HOUR - 30,
            T0 + 3 * HOUR + 5,
            T0 + 4 * HOUR,
            T0 + 4 * HOUR + 1,
            T0 + 5 * HOUR + 100,
        ];
        let start = |first: usize, back: i64| {
            if first == 0 {
                polls[0] - back
            } else {
                polls[first] - back.min(polls[first] - polls[first - 1])
            }
        };
        let facts_at = |k: usize| -> Vec<SessionFact> {
            holders
                .iter()
                .filter(|h| h.3 <= k)
                .map(|&(user, feature, count, first, last, back)| {
                    let end = polls[k.min(last + 1)];
                    s(feature, user, count, start(first, back), end)
                })
                .collect()
        };
        let mut rows = full(&[F1, f2], &facts_at(0));
        for k in 1..polls.len() {
            let (previous, at) = (polls[k - 1], polls[k]);
            let continued: Vec<SessionFact> = holders
                .iter()
                .filter(|h| h.3 < k && h.4 >= k - 1)
                .map(|&(user, feature, count, first, _, back)| {
                    s(feature, user, count, start(first, back), at)
                })
                .collect();
            let opened: Vec<SessionFact> = holders
                .iter()
                .filter(|h| h.3 == k)
                .map(|&(user, feature, count, first, _, back)| {
                    s(feature, user, count, start(first, back), at)
                })
                .collect();
            let d = delta(previous, at, &continued, &opened);
            rows = merged(rows, &d);
            assert_eq!(rows, full(&[F1, f2], &facts_at(k)), "after poll {k}");
        }
    }

    #[test]
    fn only_hours_someone_may_have_joined_are_recounted() {
        let held = [s(10, 1, 1, T0 - 100, T0 + 600)];
        // Within one hour, the same holder: nothing to recount.
        let d = delta(T0 + 60, T0 + 600, &held, &[]);
        assert!(d.recount.is_empty());
        assert_eq!(d.hours[0].load.used_seconds, 540);
        assert_eq!(d.hours[0].load.checkouts, 0);
        // A newcomer, and an hour crossed.
        let new = [s(10, 2, 1, T0 + 300, T0 + 600)];
        let d = delta(T0 + 60, T0 + 600, &held, &new);
        assert_eq!(d.recount[&10], BTreeSet::from([T0]));
        assert_eq!(d.hours[0].load.checkouts, 1);
        let d = delta(T0 + HOUR - 60, T0 + HOUR + 60, &held, &[]);
        assert_eq!(d.recount[&10], BTreeSet::from([T0 + HOUR]));
        // A poll exactly at the hour: its holders had no time in the new hour yet.
        let d = delta(T0 + HOUR, T0 + HOUR + 60, &held, &[]);
        assert_eq!(d.recount[&10], BTreeSet::from([T0 + HOUR]));
    }

    #[test]
    fn upsert_clauses_per_backend() {
        assert_eq!(
            merge(Kind::Sqlite, "hour_rollup", "feature_id, hour"),
            "ON CONFLICT (feature_id, hour) DO UPDATE SET used_seconds = used_seconds + excluded.used_seconds, \
             desired_seconds = desired_seconds + excluded.desired_seconds, checkouts = checkouts + excluded.checkouts, \
             peak_in_use = max(peak_in_use, excluded.peak_in_use), peak_desired = max(peak_desired, excluded.peak_desired)"
        );
        let pg = merge(Kind::Postgres, "user_hour", "k");
        assert!(pg.contains("used_seconds = user_hour.used_seconds + EXCLUDED.used_seconds"));
        assert!(pg.contains("peak_in_use = GREATEST(user_hour.peak_in_use, EXCLUDED.peak_in_use)"));
        let my = merge(Kind::MySql, "user_hour", "k");
        assert!(my.starts_with(
            "ON DUPLICATE KEY UPDATE used_seconds = used_seconds + VALUES(used_seconds)"
        ));
    }
}
