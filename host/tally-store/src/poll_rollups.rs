//! Rollups extended by a poll instead of recomputed (a poll must cost little beside the parse
//! of its answer), and written once an hour for what stays open.
//!
//! A poll at `at` after the poll at `previous` changes the facts in one way only: every checkout
//! still open after `previous` (kept, or closed now: a session ending at `at`) now also holds
//! `[previous, at)`, and every new one holds `[start, at)` with `previous <= start <= at`
//! (`polls::diff` never gives an earlier start). When no other fact of these features reaches
//! into the interval, the levels there are the poll's alone, so the stored rows become exactly
//! [`rollup::rollup`]'s over the facts by adding what the poll adds ([`added`]): seconds add,
//! peaks are the larger of the old one and the new level's, checkouts add one in the hour a
//! session starts, and an hour's distinct users and hosts are counted again from its
//! `user_hour` rows when someone may have joined it. Upserts only: the hour's facts are never
//! read back.
//!
//! **What is open is written once an hour.** Rewriting every open checkout's user rows at every
//! poll (hour, day and month: three rows per holder) was most of a poll's cost. So an open
//! checkout counts in the rollups up to its server's `rolled_to` (migration 0026; every
//! recomputation from the facts stops there too, `rollups.rs`), which the first poll of each
//! hour moves to itself, writing what was open since. A session that ends is written at once,
//! its part after `rolled_to`; the writer keeps those parts ([`Rolled`]) so the peaks of
//! the hour are those of all of them together. A poll that only extends what is open writes no
//! rollup row; the rows lag the last poll by an hour at most, never disagree with the facts.
//!
//! A failed poll extends what is open the same way. Everything else (first poll, polls resumed
//! after a gap, a server down, imported sessions inside the interval, a clock going backwards, a
//! writer that did not poll the server last) takes the full re-roll of `rollups.rs`, which
//! brings `rolled_to` to the poll. Stored denials are point denials: they count in `denials`
//! only, which the upserts leave alone, and never in levels, so one inside the interval does not
//! stop the extension.

use std::collections::{BTreeMap, BTreeSet};

use tally_core::period::hour_start;
use tally_core::rollup::{self, FeatureKey, Grain, HourRollup, SessionFact, UserHour};

use crate::StoreError;
use crate::db::{Conn, Kind, Params, Table, insert_returning, query_built};
use crate::rollups::{HOUR_ROLLUP, USER_HOUR, add_load};
use crate::{cells, coarse};

/// Whether the segment `[previous, at]` of `features` holds the poll's checkouts only: no
/// stored session (an import) ends after `previous` or is an instant at it and starts by `at`,
/// and no lasting denial (a partial grant, which raises the desired peak) overlaps it.
/// The server's own polled sessions are left out: those ending after `previous` (the rows'
/// `rolled_to`) are the writer's [`Rolled::ended`], written already. One indexed read.
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
         AND start <= ? AND source <> 'poll'
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

/// Sessions ended since a server's rollups were last written whose parts after it this writer
/// keeps before it writes them all: beyond, the next poll writes (one hour's at most anyway).
const ENDED_KEPT: usize = 4_096;

/// Where a polled server's rollups stand after its poll at `polled`: written up to `to`
/// (`license_server.rolled_to`) for what is open, and `ended` the parts after `to` of the
/// sessions ended since (written when they ended). Kept by the writer: a poll whose copy is
/// not of the server's last poll (a new process, another node polled it) recomputes instead.
#[derive(Debug)]
pub(crate) struct Rolled {
    pub(crate) polled: i64,
    pub(crate) to: i64,
    pub(crate) ended: Vec<SessionFact>,
}

/// Whether a poll at `at` writes rollups standing at `from`: when sessions `ended`, or at the
/// first poll of an hour.
pub(crate) fn writes(from: i64, at: i64, ended: bool) -> bool {
    ended || hour_start(at) != hour_start(from)
}

/// Writes what a poll at `at` adds to rollups standing at `from` with `ended` (see
/// [`Rolled`]): `closed` the sessions the poll ended, `open` what it leaves open, each up to
/// `at`. The sessions' parts are written now; what is open, once an hour (at the first poll of
/// the next one), so a poll that only extends what is open writes no rollup. Returns where the
/// rows stand after it, `ended` updated, and the months whose `user_month` rows it wrote (see
/// [`write`]). Runs inside the poll's transaction.
pub(crate) async fn extend(
    conn: &mut Conn,
    from: i64,
    ended: &mut Vec<SessionFact>,
    at: i64,
    closed: &[SessionFact],
    open: &[SessionFact],
    new: &[SessionFact],
) -> Result<(i64, BTreeSet<i64>), StoreError> {
    let mut months = BTreeSet::new();
    // `new`: checkouts of `open` new at this poll reported starting at `from` or at `at` (the
    // caller recomputes instead when the hour ends with one).
    let full = ended.len() + closed.len() > ENDED_KEPT && new.is_empty();
    if writes(from, at, false) || full {
        let all: Vec<SessionFact> = closed.iter().chain(open).copied().collect();
        write(conn, added(from, ended, &all), &mut months).await?;
        ended.clear();
        return Ok((at, months));
    }
    // What stands at `from` besides: checkouts still open that started there count as an
    // instant in the rows, in the level the ended sessions' parts meet there.
    let instant = |o: &SessionFact| SessionFact { end: from, ..*o };
    let instants = open
        .iter()
        .filter(|o| o.start == from && !new.contains(o))
        .map(instant);
    let mut standing: Vec<SessionFact> = ended.iter().copied().chain(instants).collect();
    write(conn, added(from, &standing, closed), &mut months).await?;
    let parts = closed.iter().map(|c| SessionFact {
        start: c.start.max(from),
        ..*c
    });
    ended.extend(parts.clone());
    // A new checkout reported starting at `from` counts there as an instant at once (rows
    // standing at `from` hold what started by then), its checkout with it.
    let late: Vec<SessionFact> = new
        .iter()
        .filter(|o| o.start == from)
        .map(instant)
        .collect();
    if !late.is_empty() {
        standing.extend(parts);
        write(conn, added(from - 1, &standing, &late), &mut months).await?;
    }
    Ok((from, months))
}

/// What a poll adds to the rollups.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Delta {
    hours: Vec<HourRollup>,
    users: Vec<UserHour>,
    /// Hours (per feature) whose distinct users and hosts may have grown.
    recount: BTreeMap<i64, BTreeSet<i64>>,
}

impl Delta {
    pub(crate) fn is_empty(&self) -> bool {
        self.hours.is_empty() && self.users.is_empty()
    }
}

/// What `new` adds to rows that hold every fact up to `from` and the pieces `old` after it.
/// `new` are facts as stored (a session, or an open checkout up to a poll); only their parts
/// after `from` are added, and a checkout counts in its start's hour when it starts after
/// `from` (one starting by then was written already: the caller recomputes instead when a
/// checkout reported starting by `from` is new, and when writing what is open up to a poll
/// that shows a new one starting at it). `old` are such parts of sessions written since
/// `from`, so the peaks of the hours after `from` are those of `old` and `new` together: seconds
/// add, peaks are the larger of the stored one and the new level's (the rows saw nothing after
/// `from` but `old`, whose level the new one covers), and an hour's distinct users and hosts
/// are counted again from its `user_hour` rows when someone may have joined it.
pub(crate) fn added(from: i64, old: &[SessionFact], new: &[SessionFact]) -> Delta {
    let mut pieces: BTreeMap<FeatureKey, (Vec<SessionFact>, Vec<SessionFact>)> = BTreeMap::new();
    let mut checkouts: BTreeMap<(i64, i64, i64, i64), u64> = BTreeMap::new();
    // Users and hosts already holding a license in the hour of `from`, before it.
    let first_hour = hour_start(from);
    let mut present: BTreeSet<(i64, i64, i64)> = BTreeSet::new();
    for s in new {
        if s.count > 0 && s.start < from && first_hour < from {
            present.insert((s.feature, s.user, s.host));
        }
        let piece = SessionFact {
            start: s.start.max(from),
            ..*s
        };
        if piece.end < piece.start {
            continue;
        }
        pieces.entry(s.key()).or_default().1.push(piece);
        if s.start > from {
            *checkouts
                .entry((s.feature, hour_start(s.start), s.user, s.host))
                .or_default() += 1;
        }
    }
    for s in old {
        if let Some(p) = pieces.get_mut(&s.key()) {
            p.0.push(*s);
        }
    }
    let mut out = Delta::default();
    for (key, (old, mut all)) in pieces {
        let end = all.iter().chain(&old).map(|p| p.end).max().unwrap_or(from);
        let before = rollup::rollup(key, from..end + 1, &old, &[]);
        all.extend_from_slice(&old);
        let after = rollup::rollup(key, from..end + 1, &all, &[]);
        let was_hours: BTreeMap<i64, rollup::Load> =
            before.hours.iter().map(|h| (h.hour, h.load)).collect();
        let was_users: BTreeMap<(i64, i64, i64), rollup::Load> = before
            .users
            .iter()
            .map(|u| ((u.hour, u.user, u.host), u.load))
            .collect();
        let mut per_hour: BTreeMap<i64, u64> = BTreeMap::new();
        for mut u in after.users {
            let was = was_users.get(&(u.hour, u.user, u.host));
            u.load = grown(was, &u.load);
            u.load.checkouts = checkouts
                .get(&(key.feature, u.hour, u.user, u.host))
                .copied()
                .unwrap_or(0);
            *per_hour.entry(u.hour).or_default() += u.load.checkouts;
            let known = u.hour == first_hour && present.contains(&(key.feature, u.user, u.host));
            if u.load.used() && !was.is_some_and(rollup::Load::used) && !known {
                out.recount.entry(key.feature).or_default().insert(u.hour);
            }
            if u.load != rollup::Load::default() {
                out.users.push(u);
            }
        }
        for mut h in after.hours {
            h.load = grown(was_hours.get(&h.hour), &h.load);
            h.load.checkouts = per_hour.get(&h.hour).copied().unwrap_or(0);
            (h.distinct_users, h.distinct_hosts) = (0, 0);
            if h.load != rollup::Load::default() {
                out.hours.push(h);
            }
        }
    }
    out
}

/// What a row's load `now` adds to the same row's load `was` under [`merge`]: the seconds
/// since, the peaks when they grew (none: a merge keeps the stored one). Checkouts are set by
/// the caller.
fn grown(was: Option<&rollup::Load>, now: &rollup::Load) -> rollup::Load {
    let was = was.copied().unwrap_or_default();
    let peak = |a: u64, b: u64| if b > a { b } else { 0 };
    rollup::Load {
        peak_in_use: peak(was.peak_in_use, now.peak_in_use),
        peak_desired: peak(was.peak_desired, now.peak_desired),
        used_seconds: now.used_seconds.saturating_sub(was.used_seconds),
        desired_seconds: now.desired_seconds.saturating_sub(was.desired_seconds),
        denials: 0,
        checkouts: 0,
    }
}

/// Adds `d` (from [`added`]) to the stored rollups, every grain, and refreshes the heatmap
/// cells of its hours; `months` gains the months whose `user_month` rows it wrote (their user
/// and host totals are left behind: `totals::after_poll`). Runs inside the poll's transaction.
pub(crate) async fn write(
    conn: &mut Conn,
    d: Delta,
    months: &mut BTreeSet<i64>,
) -> Result<(), StoreError> {
    if d.is_empty() {
        return Ok(());
    }
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
    months.extend(
        hourly
            .hours
            .iter()
            .map(|h| h.hour)
            .chain(hourly.users.iter().map(|u| u.hour))
            .map(|h| Grain::Month.start(h)),
    );
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

    /// What `write` does to the stored rows, in memory: distinct counts recounted in the
    /// hours of the recount set only, so a missing hour shows.
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
            if !d
                .recount
                .get(&h.feature.feature)
                .is_some_and(|r| r.contains(&h.hour))
            {
                continue;
            }
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

    /// Polls over a few hours, the rollups written at every poll or only when an hour ends
    /// (sessions that end written at once): after each poll the rows equal the recomputation
    /// over the facts with open checkouts cut where they were last written.
    #[test]
    fn deferring_equals_recomputing_poll_after_poll() {
        let f2 = FeatureKey {
            server: 1,
            feature: 11,
        };
        // (user, feature, count, first poll index seen, last poll index seen, reported start
        // offset before its first poll)
        let holders: [(i64, i64, u32, usize, usize, i64); 11] = [
            (1, 10, 1, 0, 6, 0),
            (2, 10, 2, 1, 1, 30),
            (3, 10, 1, 1, 4, 0),
            (4, 11, 1, 2, 9, 59),
            (5, 10, 3, 3, 3, 0),
            (1, 11, 1, 4, 5, 10),
            (6, 10, 1, 5, 8, 0),
            (7, 10, 1, 7, 9, 0),
            (8, 10, 2, 2, 3, 10_000),
            // Two sessions ending at two polls of an hour whose open checkouts wait.
            (9, 10, 1, 8, 10, 0),
            (10, 10, 2, 9, 11, 0),
        ];
        // Across hour boundaries, one poll exactly on one, uneven gaps.
        let polls = [
            T0 - 600,
            T0 - 60,
            T0 + 1_200,
            T0 + 1_500,
            T0 + HOUR,
            T0 + HOUR + 60,
            T0 + 3 * HOUR - 30,
            T0 + 3 * HOUR + 5,
            T0 + 4 * HOUR,
            T0 + 4 * HOUR + 1,
            T0 + 5 * HOUR + 100,
            T0 + 5 * HOUR + 200,
            T0 + 5 * HOUR + 300,
        ];
        let start = |first: usize, back: i64| {
            if first == 0 {
                polls[0] - back
            } else {
                polls[first] - back.min(polls[first] - polls[first - 1])
            }
        };
        let fact = |h: &(i64, i64, u32, usize, usize, i64), end: i64| {
            s(h.1, h.0, h.2, start(h.3, h.5), end)
        };
        // The facts after poll `k`, open checkouts cut at `rolled`.
        let facts_at = |k: usize, rolled: i64| -> Vec<SessionFact> {
            holders
                .iter()
                .filter(|h| h.3 <= k)
                .filter_map(|h| {
                    let end = if h.4 < k { polls[h.4 + 1] } else { rolled };
                    let f = fact(h, end);
                    (f.start <= f.end).then_some(f)
                })
                .collect()
        };
        for every_poll in [true, false] {
            let mut rolled = polls[0];
            let mut rows = full(&[F1, f2], &facts_at(0, rolled));
            let mut old: Vec<SessionFact> = Vec::new();
            for k in 1..polls.len() {
                let at = polls[k];
                let closed: Vec<SessionFact> = holders
                    .iter()
                    .filter(|h| h.4 + 1 == k)
                    .map(|h| fact(h, at))
                    .collect();
                let flush = every_poll || hour_start(at) != hour_start(rolled);
                let late = holders.iter().any(|h| {
                    let s = start(h.3, h.5);
                    h.3 == k && (s <= rolled || (s == at && flush))
                });
                if late {
                    // A new checkout reported starting by where the rows stand: recomputed.
                    (rolled, old) = (at, Vec::new());
                    rows = full(&[F1, f2], &facts_at(k, rolled));
                    continue;
                }
                let d = if flush {
                    let open = holders.iter().filter(|h| h.3 <= k && h.4 >= k);
                    let new: Vec<SessionFact> = closed
                        .iter()
                        .copied()
                        .chain(open.map(|h| fact(h, at)))
                        .collect();
                    let d = added(rolled, &old, &new);
                    (rolled, old) = (at, Vec::new());
                    d
                } else {
                    let instants = holders
                        .iter()
                        .filter(|h| h.3 <= k && h.4 >= k && start(h.3, h.5) == rolled)
                        .map(|h| fact(h, rolled));
                    let standing: Vec<SessionFact> = old.iter().copied().chain(instants).collect();
                    let d = added(rolled, &standing, &closed);
                    old.extend(closed.iter().map(|c| SessionFact {
                        start: c.start.max(rolled),
                        ..*c
                    }));
                    d
                };
                rows = merged(rows, &d);
                assert_eq!(
                    rows,
                    full(&[F1, f2], &facts_at(k, rolled)),
                    "after poll {k}, written every poll: {every_poll}"
                );
            }
        }
    }

    #[test]
    fn only_hours_someone_may_have_joined_are_recounted() {
        let held = [s(10, 1, 1, T0 - 100, T0 + 600)];
        // Within one hour, the same holder: nothing to recount, no checkout.
        let d = added(T0 + 60, &[], &held);
        assert!(d.recount.is_empty(), "{d:?}");
        assert_eq!(d.hours[0].load.used_seconds, 540);
        assert_eq!(d.hours[0].load.checkouts, 0);
        // A newcomer, and an hour crossed.
        let new = [held[0], s(10, 2, 1, T0 + 300, T0 + 600)];
        let d = added(T0 + 60, &[], &new);
        assert_eq!(d.recount[&10], BTreeSet::from([T0]));
        assert_eq!(d.hours[0].load.checkouts, 1);
        let crossing = [s(10, 1, 1, T0 - 100, T0 + HOUR + 60)];
        let d = added(T0 + HOUR - 60, &[], &crossing);
        assert_eq!(d.recount[&10], BTreeSet::from([T0 + HOUR]));
        // A session written since: its seconds are not added again, the level over both is.
        let old = [s(10, 2, 1, T0 + 300, T0 + 600)];
        let d = added(T0 + 60, &old, &[s(10, 1, 1, T0 - 100, T0 + 900)]);
        assert_eq!(d.hours[0].load.used_seconds, 840);
        assert_eq!(d.hours[0].load.peak_in_use, 2);
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
