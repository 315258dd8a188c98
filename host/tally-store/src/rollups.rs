//! Hourly rollups, kept in the same transaction as the facts (DESIGN §4, tally-core `rollup`).
//!
//! Every write that adds, extends or removes facts ends with [`reroll`]: the hours those facts
//! touch ([`rollup::affected_hours`], per feature) are recomputed from *all* the facts
//! overlapping them and their rows replaced. Late, re-imported or removed data thus corrects
//! exactly its hours, and the rows always equal [`rollup::rollup`] over the stored facts. Imports
//! only add facts: [`plan_added`] gives the same rows, reading back only hours that already had
//! rows.
//!
//! **What counts.** Sessions (imported or polled), denials, and open checkouts: a checkout
//! still open counts from its start until the last poll that wrote its server's rollups
//! (`license_server.rolled_to`, at most an hour behind its last poll: `poll_rollups.rs`; a failed
//! poll extends it too, as its session will end no earlier), and when it ends it becomes a
//! session. So the current hour shows what was in use up to then, and nothing past the last poll.
//!
//! **Reading the facts of some hours stays bounded** on years of history: a session overlapping
//! `[a, b)` ends at or after `a`, so sessions up to [`LONG`] are found by `(feature_id, "end")`
//! within `[a, b + LONG)`; longer ones (rare: borrowed or forgotten licenses) are listed again in
//! `long_session`, read by end alone. Open checkouts are few; denials are read by time.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use serde::Serialize;
use tally_core::period::{DAY, HOUR, hour_ceil, hour_start};
use tally_core::rollup::{
    self, DenialFact, FeatureKey, Grain, HourRollup, Load, SessionFact, UserHour,
};

use crate::db::{Conn, Kind, Params, Pool, Row, SqlCache, Table, insert, query, query_built};
use crate::writer::Writer;
use crate::{ServerId, Store, StoreError};
use crate::{cells, coarse, totals};

/// Sessions longer than this are also listed in `long_session` (the migrations use 86400 too).
pub(crate) const LONG: i64 = DAY;

/// The most rows one read of rollups or refusals returns: a report over a window too long for
/// its grain fails with [`StoreError::TooManyRows`] instead of taking the process's memory
/// (rows are read one by one; a row read costs ~100 bytes held).
pub const MAX_READ_ROWS: usize = 250_000;

/// History re-rolled per transaction by [`Store::rebuild_rollups`].
const REBUILD_WINDOW: i64 = 7 * DAY;

pub(crate) const LONG_SESSION: Table = Table {
    name: "long_session",
    cols: &[
        "server_id",
        "feature_id",
        "user_id",
        "host_id",
        "count",
        "start",
        "\"end\"",
        "end_reason",
        "import_run_id",
    ],
    copy: false,
};

pub(crate) const HOUR_ROLLUP: Table = Table {
    name: "hour_rollup",
    cols: &[
        "feature_id",
        "hour",
        "server_id",
        "peak_in_use",
        "peak_desired",
        "used_seconds",
        "desired_seconds",
        "denials",
        "checkouts",
        "distinct_users",
        "distinct_hosts",
    ],
    copy: true,
};

pub(crate) const USER_HOUR: Table = Table {
    name: "user_hour",
    cols: &[
        "feature_id",
        "hour",
        "user_id",
        "host_id",
        "server_id",
        "peak_in_use",
        "peak_desired",
        "used_seconds",
        "desired_seconds",
        "denials",
        "checkouts",
    ],
    copy: true,
};

/// A session as it is written, for `long_session` and for [`reroll`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Written<'a> {
    pub(crate) fact: SessionFact,
    pub(crate) end_reason: &'a str,
    pub(crate) run: Option<i64>,
}

/// Lists the sessions longer than [`LONG`] in `long_session`.
pub(crate) async fn list_long(
    conn: &mut Conn,
    cache: &mut SqlCache,
    sessions: &[Written<'_>],
) -> Result<(), StoreError> {
    let long: Vec<&Written> = sessions
        .iter()
        .filter(|w| w.fact.end - w.fact.start > LONG)
        .collect();
    insert(conn, cache, &LONG_SESSION, &long, |p, w| {
        let s = &w.fact;
        p.add(s.server);
        p.add(s.feature);
        p.add(s.user);
        p.add(s.host);
        p.add(i64::from(s.count));
        p.add(s.start);
        p.add(s.end);
        p.add(w.end_reason);
        p.add(w.run);
    })
    .await
}

/// Recomputes the hours `sessions` and `denials` touch (facts added, extended or removed) from
/// every stored fact overlapping them. Runs inside the transaction that changed the facts.
pub(crate) async fn reroll(
    conn: &mut Conn,
    cache: &mut SqlCache,
    sessions: &[SessionFact],
    denials: &[DenialFact],
) -> Result<(), StoreError> {
    reroll_hours(conn, cache, rollup::affected_hours(sessions, denials)).await
}

/// Each feature of `sessions` and `denials` with its latest rolled hour ([`plan_added`]'s
/// first step); features without rows are left out. Read before the facts are added (they add
/// no rollup row).
pub(crate) async fn last_rolled(
    conn: &mut Conn,
    sessions: &[SessionFact],
    denials: &[DenialFact],
) -> Result<BTreeMap<i64, i64>, StoreError> {
    let features: BTreeSet<i64> = sessions
        .iter()
        .map(|s| s.feature)
        .chain(denials.iter().map(|d| d.feature))
        .collect();
    let features: Vec<i64> = features.into_iter().collect();
    last_rolled_hours(conn, &features).await
}

/// What [`plan_added`] computed: rows of the periods only the new facts fill, and what
/// [`write_added`] re-rolls or refolds from the stored rows.
#[derive(Debug, Default)]
pub(crate) struct Added {
    /// Hours at or before a feature's last rolled one: re-rolled from the stored facts.
    stored: BTreeMap<FeatureKey, Vec<Range<i64>>>,
    /// Hours whose day and month rows are refolded from the table below them (stored hours, and
    /// new ones sharing a day or month with stored ones), and the months refolded.
    refold_hours: BTreeMap<FeatureKey, Vec<Range<i64>>>,
    refold_months: BTreeMap<i64, BTreeSet<i64>>,
    rows: Rows,
    /// Day and month rows of periods holding new hours only: folded here, inserted.
    days: Rows,
    months: Rows,
    /// Heatmap cells of the new hours, merged into the stored ones; the cells of the stored
    /// hours (re-rolled) are refolded from the hourly rows last.
    cells: cells::NewCells,
}

/// Rolls up the facts the transaction *added*, nothing else having changed (the import write
/// path): same rows as [`reroll`], without reading back what it can know. In three steps, so
/// that this one, the computing, runs while the writer stores the facts: [`last_rolled`] (read
/// before the facts are added), `plan_added` (no database), [`write_added`] (after them).
///
/// **Why the hours after a feature's last rolled hour need no read-back.** The rows equal
/// `rollup` over the stored facts (this module's contract), and a fact that counts for anything
/// in an hour (time held, a checkout, an instant, a denial) gives that hour a row. So before this
/// batch no stored fact counts after the feature's latest `hour_rollup` row, and those hours are
/// `rollup` over the batch's own facts: computed here and inserted, no SELECT and no DELETE (they
/// have no rows). Only the hours at or before it are re-rolled from the stored facts: the hour a
/// batch shares with the previous one, late or re-imported data, hours a long session of an
/// earlier batch still covers. An import in time order reads back about one hour per feature
/// and batch.
pub(crate) fn plan_added(
    sessions: Vec<SessionFact>,
    denials: Vec<DenialFact>,
    last: &BTreeMap<i64, i64>,
) -> Added {
    let affected = rollup::affected_hours(&sessions, &denials);
    let mut own = Facts::new();
    for s in sessions {
        own.entry(s.feature).or_default().0.push(s);
    }
    for d in denials {
        own.entry(d.feature).or_default().1.push(d);
    }
    let mut a = Added::default();
    for (key, ranges) in affected {
        let fresh = last
            .get(&key.feature)
            .map_or(i64::MIN, |h| h.saturating_add(HOUR));
        let (old, new) = split_at(ranges, fresh);
        if !old.is_empty() {
            a.refold_hours
                .entry(key)
                .or_default()
                .extend(old.iter().cloned());
            a.stored.insert(key, old);
        }
        // One `rollup` over the new hours: the hours between its ranges hold no fact at all.
        let (Some(first), Some(last)) = (new.first(), new.last()) else {
            continue;
        };
        let (sessions, denials) = own.remove(&key.feature).unwrap_or_default();
        let hourly = rollup::rollup(key, first.start..last.end, &sessions, &denials);
        // A period starting at or after `fresh` has no stored hour: its rows are the fold of
        // the new ones alone (no row of it is stored either, as periods are folds of hours).
        let (first_day, first_month) = if fresh == i64::MIN {
            (i64::MIN, i64::MIN)
        } else {
            (Grain::Day.ceil(fresh), Grain::Month.ceil(fresh))
        };
        let before_day: Vec<Range<i64>> = split_at(new.clone(), first_day).0;
        if !before_day.is_empty() {
            a.refold_hours.entry(key).or_default().extend(before_day);
        }
        let day_rows = rollup::coarsen(Grain::Day, &hourly);
        a.days.add_from(&day_rows, first_day);
        for d in day_rows.hours.iter().filter(|d| d.hour < first_month) {
            a.refold_months
                .entry(Grain::Month.start(d.hour))
                .or_default()
                .insert(key.feature);
        }
        a.months
            .add_from(&rollup::coarsen(Grain::Month, &hourly), first_month);
        a.cells.add(&hourly.hours);
        a.rows.add(hourly);
    }
    a
}

/// Writes what [`plan_added`] computed, re-rolling the stored hours from the facts (the added
/// ones included, so after they are written) and refolding the shared days and months
/// ([`plan_added`]'s last step).
pub(crate) async fn write_added(
    conn: &mut Conn,
    cache: &mut SqlCache,
    a: Added,
) -> Result<(), StoreError> {
    let Added {
        stored,
        refold_hours,
        mut refold_months,
        mut rows,
        days,
        months,
        cells: new_cells,
    } = a;
    let rerolled = stored.clone();
    rows.extend(reroll_rows(conn, stored).await?);
    rows.insert(conn, cache, &HOUR_ROLLUP, &USER_HOUR).await?;
    // Days first: months refolded in SQL read them.
    days.insert(conn, cache, &coarse::DAY_ROLLUP, &coarse::USER_DAY)
        .await?;
    coarse::refold_days(conn, &refold_hours).await?;
    for (m, features) in coarse::months_of(&refold_hours) {
        refold_months.entry(m).or_default().extend(features);
    }
    // The user and host totals of every month written, inserted or refolded.
    let mut written = refold_months.clone();
    for m in &months.hours {
        written.entry(m.hour).or_default().insert(m.feature.feature);
    }
    months
        .insert(conn, cache, &coarse::MONTH_ROLLUP, &coarse::USER_MONTH)
        .await?;
    coarse::refold_months(conn, &refold_months).await?;
    totals::refresh(conn, &written).await?;
    // Merged before the refresh: it replaces the cells it touches by the fold of all their
    // hours, the new ones included.
    cells::merge_new(conn, &new_cells).await?;
    cells::refresh(conn, &rerolled).await
}

/// `ranges` (in order, not overlapping) split into the parts before `at` and from `at` on.
fn split_at(ranges: Vec<Range<i64>>, at: i64) -> (Vec<Range<i64>>, Vec<Range<i64>>) {
    let (mut before, mut after) = (Vec::new(), Vec::new());
    for r in ranges {
        if r.end <= at {
            before.push(r);
        } else if r.start >= at {
            after.push(r);
        } else {
            before.push(r.start..at);
            after.push(at..r.end);
        }
    }
    (before, after)
}

/// Each feature's latest hour with a rollup row; features without rows are left out. One
/// indexed lookup per feature (the primary key's last entry), in one round trip.
async fn last_rolled_hours(
    conn: &mut Conn,
    features: &[i64],
) -> Result<BTreeMap<i64, i64>, StoreError> {
    let mut last = BTreeMap::new();
    for keys in features.chunks(FEATURES_PER_STATEMENT) {
        let mut q = query_built(format!(
            "SELECT id, (SELECT max(hour) FROM hour_rollup WHERE feature_id = feature.id) FROM feature
             WHERE id IN ({})",
            placeholders(keys.len())
        ));
        for &k in keys {
            q = q.bind(k);
        }
        for r in &q.fetch_all(&mut *conn).await? {
            if let Some(hour) = r.get::<Option<i64>>(1)? {
                last.insert(r.get::<i64>(0)?, hour);
            }
        }
    }
    Ok(last)
}

async fn reroll_hours(
    conn: &mut Conn,
    cache: &mut SqlCache,
    affected: BTreeMap<FeatureKey, Vec<Range<i64>>>,
) -> Result<(), StoreError> {
    let rows = reroll_rows(conn, affected.clone()).await?;
    rows.insert(conn, cache, &HOUR_ROLLUP, &USER_HOUR).await?;
    coarse::refresh(conn, &affected).await?;
    cells::refresh(conn, &affected).await
}

/// Rollup rows to insert.
#[derive(Debug, Default)]
struct Rows {
    hours: Vec<HourRollup>,
    users: Vec<UserHour>,
}

impl Rows {
    fn add(&mut self, r: rollup::Rollup) {
        self.hours.extend(r.hours);
        self.users.extend(r.users);
    }

    /// The rows of `r` (a coarse grain's) of periods starting at or after `from`.
    fn add_from(&mut self, r: &rollup::Rollup, from: i64) {
        self.hours.extend(r.hours.iter().filter(|h| h.hour >= from));
        self.users.extend(r.users.iter().filter(|u| u.hour >= from));
    }

    fn extend(&mut self, other: Rows) {
        self.hours.extend(other.hours);
        self.users.extend(other.users);
    }

    /// Inserts the rows into a grain's tables (`HOUR_ROLLUP` and `USER_HOUR`, or the day or
    /// month ones: same columns in the same order).
    async fn insert(
        &self,
        conn: &mut Conn,
        cache: &mut SqlCache,
        features: &Table,
        users: &Table,
    ) -> Result<(), StoreError> {
        insert(conn, cache, features, &self.hours, |p, h| {
            p.add(h.feature.feature);
            p.add(h.hour);
            p.add(h.feature.server);
            add_load(p, &h.load);
            p.add(i64::from(h.distinct_users));
            p.add(i64::from(h.distinct_hosts));
        })
        .await?;
        insert(conn, cache, users, &self.users, |p, u| {
            p.add(u.feature.feature);
            p.add(u.hour);
            p.add(u.user);
            p.add(u.host);
            p.add(u.feature.server);
            add_load(p, &u.load);
        })
        .await
    }
}

/// The `affected` hours recomputed from every stored fact overlapping them, their old rows
/// deleted: the rows to insert in their place.
async fn reroll_rows(
    conn: &mut Conn,
    affected: BTreeMap<FeatureKey, Vec<Range<i64>>>,
) -> Result<Rows, StoreError> {
    // Features sharing a range are read and cleared together: a poll touches the same hour of
    // every feature it sees, and one statement per feature made polls slow.
    let mut by_range: BTreeMap<(i64, i64), Vec<FeatureKey>> = BTreeMap::new();
    for (key, ranges) in affected {
        for r in ranges {
            by_range.entry((r.start, r.end)).or_default().push(key);
        }
    }
    let mut rows = Rows::default();
    for ((a, b), keys) in by_range {
        for keys in keys.chunks(FEATURES_PER_STATEMENT) {
            let mut facts = features_facts(conn, keys, a..b).await?;
            for table in ["hour_rollup", "user_hour"] {
                let mut q = query_built(format!(
                    "DELETE FROM {table} WHERE feature_id IN ({}) AND hour >= ? AND hour < ?",
                    placeholders(keys.len())
                ));
                for k in keys {
                    q = q.bind(k.feature);
                }
                q.bind(a).bind(b).execute(&mut *conn).await?;
            }
            for key in keys {
                let (sessions, denials) = facts.remove(&key.feature).unwrap_or_default();
                rows.add(rollup::rollup(*key, a..b, &sessions, &denials));
            }
        }
    }
    Ok(rows)
}

/// Bound parameters stay far below every backend's limit (SQLite's is 32,766).
pub(crate) const FEATURES_PER_STATEMENT: usize = 500;

pub(crate) fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}

pub(crate) fn add_load(p: &mut Params<'_>, l: &Load) {
    for n in [
        l.peak_in_use,
        l.peak_desired,
        l.used_seconds,
        l.desired_seconds,
        l.denials,
        l.checkouts,
    ] {
        p.add(i64::try_from(n).unwrap_or(i64::MAX));
    }
}

/// Facts per feature id.
type Facts = BTreeMap<i64, (Vec<SessionFact>, Vec<DenialFact>)>;

/// Only capacity refusals are demand (tally-core `refusal`); denials not classified yet count
/// until the store classifies them.
pub(crate) const CAPACITY: &str = "COALESCE(cause, 'capacity') = 'capacity'";

/// Every fact of the features `keys` overlapping `range` (a superset is fine: `rollup` clips),
/// in one round trip. Sessions end in the sixth column, denials have none there and their
/// `until` (NULL for an instant) in the seventh. PostgreSQL types a UNION's columns pair by
/// pair from the left: the first two parts give both nullable columns their type.
async fn features_facts(
    conn: &mut Conn,
    keys: &[FeatureKey],
    range: Range<i64>,
) -> Result<Facts, StoreError> {
    let (a, b) = (range.start, range.end);
    let ids = placeholders(keys.len());
    let mut q = query_built(format!(
        "SELECT feature_id, user_id, host_id, count, start, \"end\", NULL FROM session
            WHERE feature_id IN ({ids}) AND \"end\" >= ? AND \"end\" < ? AND start < ? AND \"end\" - start <= ?
         UNION ALL
         SELECT feature_id, user_id, host_id, count, time, NULL, until_time FROM denial
            WHERE feature_id IN ({ids}) AND time >= ? AND time < ? AND {CAPACITY}
         UNION ALL
         SELECT feature_id, user_id, host_id, count, time, NULL, until_time FROM denial
            WHERE feature_id IN ({ids}) AND until_time >= ? AND time < ? AND {CAPACITY}
         UNION ALL
         SELECT feature_id, user_id, host_id, count, start, \"end\", NULL FROM long_session
            WHERE feature_id IN ({ids}) AND \"end\" >= ? AND start < ?
         UNION ALL
         SELECT o.feature_id, o.user_id, o.host_id, o.count, o.start, s.rolled_to, NULL
            FROM open_checkout o JOIN license_server s ON s.id = o.server_id
            WHERE o.feature_id IN ({ids}) AND s.rolled_to >= ? AND o.start < ? AND o.start <= s.rolled_to"
    ));
    // Denials: those starting in the range, then lasting ones that started before it.
    let bounds: [&[i64]; 5] = [
        &[a, b.saturating_add(LONG), b, LONG],
        &[a, b],
        &[a, a],
        &[a, b],
        &[a, b],
    ];
    for part in bounds {
        for k in keys {
            q = q.bind(k.feature);
        }
        for &v in part {
            q = q.bind(v);
        }
    }
    let server: BTreeMap<i64, ServerId> = keys.iter().map(|k| (k.feature, k.server)).collect();
    let mut facts = Facts::new();
    for r in &q.fetch_all(conn).await? {
        let feature: i64 = r.get(0)?;
        let (user, host, count, start) = (r.get(1)?, r.get(2)?, licences(r.get(3)?), r.get(4)?);
        let server = *server.get(&feature).ok_or_else(|| {
            StoreError::Inconsistent(format!("fact of unasked feature {feature}"))
        })?;
        let (sessions, denials) = facts.entry(feature).or_default();
        match r.get::<Option<i64>>(5)? {
            Some(end) => sessions.push(SessionFact {
                server,
                feature,
                user,
                host,
                count,
                start,
                end,
            }),
            None => denials.push(DenialFact {
                server,
                feature,
                user,
                host,
                count,
                time: start,
                until: r.get(6)?,
            }),
        }
    }
    Ok(facts)
}

fn licences(n: i64) -> u32 {
    u32::try_from(n).unwrap_or(0)
}

/// Which rollup rows or facts to read. Every part is optional; `from`/`to` are instants (rows
/// of the hours from `from`'s to before `to`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RollupFilter {
    pub server: Option<ServerId>,
    pub feature: Option<i64>,
    pub from: Option<i64>,
    pub to: Option<i64>,
}

impl RollupFilter {
    /// Hour starts: `[hour_start(from), hour_ceil(to))`.
    pub(crate) fn hours(&self) -> (i64, i64) {
        (
            self.from.map_or(i64::MIN, hour_start),
            self.to.map_or(i64::MAX, hour_ceil),
        )
    }
}

/// A feature of a license server, with what the latest poll said of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FeatureInfo {
    pub id: i64,
    pub server_id: ServerId,
    pub vendor: String,
    pub name: String,
    /// Licenses issued (sum over pools), when a poll said.
    pub issued: Option<u32>,
    /// What the latest poll that named it said (all `None` or zero for features known from
    /// logs only): expiry (Unix seconds), kind (`floating`, …), version.
    pub expiry: Option<i64>,
    pub kind: Option<String>,
    pub version: Option<String>,
    /// Licenses reserved for someone, borrowed, and the pools summed into `issued`.
    pub reserved: u32,
    pub borrowed: u32,
    pub pools: u32,
    /// The last poll that changed what is known of it.
    pub last_seen: Option<i64>,
}

impl Store {
    /// Hourly rows per feature (hours with activity only), by hour, then server and feature.
    /// Day, week, month and year views are `tally_core::report` folds of these.
    pub async fn hour_rollups(&self, filter: &RollupFilter) -> Result<Vec<HourRollup>, StoreError> {
        let select = "SELECT server_id, feature_id, hour, peak_in_use, peak_desired, used_seconds,
            desired_seconds, denials, checkouts, distinct_users, distinct_hosts FROM hour_rollup";
        let mut out = self.read(filter, select, "", hour_rollup).await?;
        out.sort_by_key(|h| (h.hour, h.feature));
        Ok(out)
    }

    /// Per user and host hourly rows, by hour, then feature, user and host: license-hours per
    /// user, host or group, and distinct users over any period (never add hourly counts).
    pub async fn user_hours(&self, filter: &RollupFilter) -> Result<Vec<UserHour>, StoreError> {
        let select = "SELECT server_id, feature_id, hour, peak_in_use, peak_desired, used_seconds,
            desired_seconds, denials, checkouts, user_id, host_id FROM user_hour";
        let mut out = self.read(filter, select, "", user_hour).await?;
        out.sort_by_key(|u| (u.hour, u.feature, u.user, u.host));
        Ok(out)
    }

    /// [`Store::hour_rollups`] added up over the filter's window in SQL, for the reports that
    /// fold a window as one group (`report::feature_stats`): one row per feature, by feature,
    /// its `hour` the feature's first hour with a row, its load that of all its hours (what
    /// [`Load::add_hour`] gives: peaks the largest, the rest summed), its distinct counts the
    /// largest hourly ones. Also the hours with a row of any feature, in order: hours logged
    /// (`Logged::with`) that the rows added up no longer show.
    pub async fn hour_totals(
        &self,
        filter: &RollupFilter,
    ) -> Result<(Vec<HourRollup>, Vec<i64>), StoreError> {
        let select = format!(
            "SELECT server_id, feature_id, min(hour), {}, max(distinct_users), max(distinct_hosts)
             FROM hour_rollup",
            load_totals(self.pool().kind())
        );
        let mut out = self
            .read(
                filter,
                &select,
                " GROUP BY server_id, feature_id",
                hour_rollup,
            )
            .await?;
        out.sort_by_key(|h| h.feature);
        let hours = self
            .read(filter, "SELECT DISTINCT hour FROM hour_rollup", "", |r| {
                r.get(0)
            })
            .await?;
        let hours: BTreeSet<i64> = hours.into_iter().collect();
        Ok((out, hours.into_iter().collect()))
    }

    /// The hours of the filter's window with a rollup row, in order.
    pub async fn hours_with_rows(&self, filter: &RollupFilter) -> Result<Vec<i64>, StoreError> {
        let hours = self
            .read(filter, "SELECT DISTINCT hour FROM hour_rollup", "", |r| {
                r.get(0)
            })
            .await?;
        let hours: BTreeSet<i64> = hours.into_iter().collect();
        Ok(hours.into_iter().collect())
    }

    /// [`Store::user_hours`] added up over the filter's window in SQL: one row per feature, user
    /// and host, by feature, user and host, its `hour` the first with a row and its load that of
    /// all its hours ([`Load::add_hour`]). Enough for license-hours per user, host or group
    /// (`report::usage_by`) and for distinct users over the whole window
    /// (`report::feature_stats`), in a few thousand rows where the hourly ones are tens of
    /// thousands: crossing from the database, not adding up, is what a report's time goes to.
    pub async fn user_totals(&self, filter: &RollupFilter) -> Result<Vec<UserHour>, StoreError> {
        let select = format!(
            "SELECT server_id, feature_id, min(hour), {}, user_id, host_id FROM user_hour",
            load_totals(self.pool().kind())
        );
        let group = " GROUP BY server_id, feature_id, user_id, host_id";
        let mut out = self.read(filter, &select, group, user_hour).await?;
        out.sort_by_key(|u| (u.feature, u.user, u.host));
        Ok(out)
    }

    /// Runs `select` for the filter's scope and window (then `tail`), each row through `row`.
    async fn read<T>(
        &self,
        filter: &RollupFilter,
        select: &str,
        tail: &str,
        row: impl Fn(&Row) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        let (from, to) = filter.hours();
        self.read_window(filter, select, "hour", from..to, tail, row)
            .await
    }

    /// Runs `select` for the filter's scope with `column` (a period start) in `window`, then
    /// `tail`, each row through `row`.
    pub(crate) async fn read_window<T>(
        &self,
        filter: &RollupFilter,
        select: &str,
        column: &str,
        window: Range<i64>,
        tail: &str,
        row: impl Fn(&Row) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        let mut out = Vec::new();
        for (sql, args) in scoped(self.pool(), filter, select, column, window).await? {
            let mut q = query_built(sql + tail);
            for a in args {
                q = q.bind(a);
            }
            let limit = MAX_READ_ROWS.saturating_sub(out.len());
            q.fetch_each(self.pool(), "the rollup rows", limit, |r| {
                out.push(row(&r)?);
                Ok(())
            })
            .await?;
        }
        Ok(out)
    }

    /// The raw facts rollups are computed from, overlapping the filter's window: sessions, open
    /// checkouts (ending at the last poll that saw them) and denials. For checks and tools;
    /// reports read rollups.
    pub async fn rollup_facts(
        &self,
        filter: &RollupFilter,
    ) -> Result<(Vec<SessionFact>, Vec<DenialFact>), StoreError> {
        let (from, to) = (
            filter.from.unwrap_or(i64::MIN),
            filter.to.unwrap_or(i64::MAX),
        );
        let rows = query(
            "SELECT server_id, feature_id, user_id, host_id, count, start, \"end\", NULL FROM session
                WHERE (? IS NULL OR server_id = ?) AND (? IS NULL OR feature_id = ?) AND \"end\" >= ? AND start < ?
             UNION ALL
             SELECT server_id, feature_id, user_id, host_id, count, time, NULL, until_time FROM denial
                WHERE (? IS NULL OR server_id = ?) AND (? IS NULL OR feature_id = ?) AND COALESCE(until_time, time) >= ? AND time < ?
                  AND COALESCE(cause, 'capacity') = 'capacity'
             UNION ALL
             SELECT o.server_id, o.feature_id, o.user_id, o.host_id, o.count, o.start, s.rolled_to, NULL
                FROM open_checkout o JOIN license_server s ON s.id = o.server_id
                WHERE (? IS NULL OR o.server_id = ?) AND (? IS NULL OR o.feature_id = ?) AND s.rolled_to >= ? AND o.start < ?
                  AND o.start <= s.rolled_to",
        );
        let mut q = rows;
        for (a, b) in [(from, to); 3] {
            q = q
                .bind(filter.server)
                .bind(filter.server)
                .bind(filter.feature)
                .bind(filter.feature)
                .bind(a)
                .bind(b);
        }
        let mut sessions = Vec::new();
        let mut denials = Vec::new();
        for r in q.fetch_all(self.pool()).await? {
            let (server, feature, user, host, count, start) = (
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                licences(r.get(4)?),
                r.get(5)?,
            );
            match r.get::<Option<i64>>(6)? {
                Some(end) => sessions.push(SessionFact {
                    server,
                    feature,
                    user,
                    host,
                    count,
                    start,
                    end,
                }),
                None => denials.push(DenialFact {
                    server,
                    feature,
                    user,
                    host,
                    count,
                    time: start,
                    until: r.get(7)?,
                }),
            }
        }
        Ok((sessions, denials))
    }

    /// Features, of one server or all, by server and name.
    pub async fn features(&self, server: Option<ServerId>) -> Result<Vec<FeatureInfo>, StoreError> {
        let rows = query(
            "SELECT id, server_id, vendor, name, issued, expiry, kind, version, reserved, borrowed, pools, last_seen
             FROM feature WHERE (? IS NULL OR server_id = ?)
             ORDER BY server_id, name, vendor",
        )
        .bind(server)
        .bind(server)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(FeatureInfo {
                    id: r.get(0)?,
                    server_id: r.get(1)?,
                    vendor: r.get(2)?,
                    name: r.get(3)?,
                    issued: r.get::<Option<i64>>(4)?.map(licences),
                    expiry: r.get(5)?,
                    kind: r.get(6)?,
                    version: r.get(7)?,
                    reserved: licences(r.get(8)?),
                    borrowed: licences(r.get(9)?),
                    pools: licences(r.get(10)?),
                    last_seen: r.get(11)?,
                })
            })
            .collect()
    }

    /// User names by id.
    pub async fn user_names(&self) -> Result<BTreeMap<i64, String>, StoreError> {
        self.names_of(query("SELECT id, name FROM \"user\"")).await
    }

    /// Host names by id.
    pub async fn host_names(&self) -> Result<BTreeMap<i64, String>, StoreError> {
        self.names_of(query("SELECT id, name FROM host")).await
    }

    async fn names_of(
        &self,
        sql: crate::db::Query<'static>,
    ) -> Result<BTreeMap<i64, String>, StoreError> {
        sql.fetch_all(self.pool())
            .await?
            .iter()
            .map(|r| Ok((r.get(0)?, r.get(1)?)))
            .collect()
    }

    /// Recomputes every rollup from the raw facts, feature by feature and a week per
    /// transaction. The store does it by itself when a migration asks (rollups added to an
    /// existing history); it is also the repair for a database edited by hand.
    pub async fn rebuild_rollups(&self) -> Result<(), StoreError> {
        self.write(|w| Box::pin(async move { rebuild(w).await }))
            .await
    }

    /// Rebuilds the rollups if a migration asked for it.
    pub(crate) async fn rebuild_rollups_if_asked(&self) -> Result<(), StoreError> {
        if self.asked("rollups", "rebuild").await? {
            tracing::info!("computing the hourly rollups of the stored history");
            self.rebuild_rollups().await?;
        }
        Ok(())
    }
}

/// The statements reading a rollup table for `filter`, each with its bound values: by feature,
/// by server, or server by server. A server's rows are read as its features' ranges of the
/// primary key, `(feature_id, hour, …)`: through the `(server_id, hour)` index every row took a
/// second lookup in the table (SQLite, 10 M sessions: a server's month of `user_hour`, 80-96 k
/// rows, read in 14-25 ms instead of 54-71 ms).
async fn scoped(
    pool: &Pool,
    filter: &RollupFilter,
    select: &str,
    column: &str,
    window: Range<i64>,
) -> Result<Vec<(String, Vec<i64>)>, StoreError> {
    let (from, to) = (window.start, window.end);
    let window = format!("{column} >= ? AND {column} < ?");
    Ok(match (filter.feature, filter.server) {
        (Some(feature), Some(server)) => vec![(
            format!("{select} WHERE feature_id = ? AND server_id = ? AND {window}"),
            vec![feature, server, from, to],
        )],
        (Some(feature), None) => vec![(
            format!("{select} WHERE feature_id = ? AND {window}"),
            vec![feature, from, to],
        )],
        (None, server) => {
            let servers: Vec<i64> = match server {
                Some(s) => vec![s],
                None => query("SELECT id FROM license_server")
                    .fetch_all(pool)
                    .await?
                    .iter()
                    .map(|r| r.get(0))
                    .collect::<Result<_, _>>()?,
            };
            servers
                .into_iter()
                .map(|s| {
                    (
                        format!(
                            "{select} WHERE feature_id IN (SELECT id FROM feature WHERE server_id = ?)
                             AND {window}"
                        ),
                        vec![s, from, to],
                    )
                })
                .collect()
        }
    })
}

/// The load columns of a rollup table added up over hours, as [`Load::add_hour`] does.
pub(crate) fn load_totals(kind: Kind) -> String {
    format!(
        "max(peak_in_use), max(peak_desired), {}, {}, {}, {}",
        kind.sum("used_seconds"),
        kind.sum("desired_seconds"),
        kind.sum("denials"),
        kind.sum("checkouts")
    )
}

/// `server_id, feature_id, hour`, the load, `distinct_users, distinct_hosts`.
pub(crate) fn hour_rollup(r: &Row) -> Result<HourRollup, StoreError> {
    Ok(HourRollup {
        feature: FeatureKey {
            server: r.get(0)?,
            feature: r.get(1)?,
        },
        hour: r.get(2)?,
        load: load(r, 3)?,
        distinct_users: licences(r.get(9)?),
        distinct_hosts: licences(r.get(10)?),
    })
}

/// `server_id, feature_id, hour`, the load, `user_id, host_id`.
pub(crate) fn user_hour(r: &Row) -> Result<UserHour, StoreError> {
    Ok(UserHour {
        feature: FeatureKey {
            server: r.get(0)?,
            feature: r.get(1)?,
        },
        hour: r.get(2)?,
        load: load(r, 3)?,
        user: r.get(9)?,
        host: r.get(10)?,
    })
}

fn load(r: &Row, first: usize) -> Result<Load, StoreError> {
    Ok(Load {
        peak_in_use: r.get_u64(first)?,
        peak_desired: r.get_u64(first + 1)?,
        used_seconds: r.get_u64(first + 2)?,
        desired_seconds: r.get_u64(first + 3)?,
        denials: r.get_u64(first + 4)?,
        checkouts: r.get_u64(first + 5)?,
    })
}

/// The hours of facts spanning `span`, a [`REBUILD_WINDOW`] at a time, so that re-rolling a
/// long history reads one window's facts at once. Instants included: the hour of the last fact
/// is rolled too.
fn windows(span: Range<i64>) -> impl Iterator<Item = Range<i64>> {
    let end = hour_ceil(span.end.saturating_add(1));
    let mut a = hour_start(span.start);
    std::iter::from_fn(move || {
        (a < end).then(|| {
            let b = a.saturating_add(REBUILD_WINDOW).min(end);
            let window = a..b;
            a = b;
            window
        })
    })
}

/// Re-rolls the hours of each feature's span, a window at a time, in the caller's transaction:
/// after facts were removed, when reading them all back at once is not bounded.
pub(crate) async fn reroll_spans(
    conn: &mut Conn,
    cache: &mut SqlCache,
    spans: BTreeMap<FeatureKey, Range<i64>>,
) -> Result<(), StoreError> {
    for (key, span) in spans {
        for window in windows(span) {
            reroll_hours(conn, cache, BTreeMap::from([(key, vec![window])])).await?;
        }
    }
    Ok(())
}

/// Every feature's rollups recomputed over the span of its facts.
async fn rebuild(w: &mut Writer) -> Result<(), StoreError> {
    let rows = query(
        "SELECT server_id, feature_id, min(start), max(\"end\") FROM session GROUP BY server_id, feature_id
         UNION ALL
         SELECT o.server_id, o.feature_id, min(o.start), max(s.rolled_to)
            FROM open_checkout o JOIN license_server s ON s.id = o.server_id WHERE o.start <= s.rolled_to
            GROUP BY o.server_id, o.feature_id
         UNION ALL
         SELECT server_id, feature_id, min(time), max(COALESCE(until_time, time)) FROM denial GROUP BY server_id, feature_id",
    )
    .fetch_all(&mut w.conn)
    .await?;
    let mut spans: BTreeMap<FeatureKey, Range<i64>> = BTreeMap::new();
    for r in &rows {
        let key = FeatureKey {
            server: r.get(0)?,
            feature: r.get(1)?,
        };
        let (a, b): (i64, i64) = (r.get(2)?, r.get(3)?);
        let span = spans.entry(key).or_insert(a..b);
        *span = span.start.min(a)..span.end.max(b);
    }
    w.transaction(async |w| {
        for table in [
            "user_hour",
            "hour_rollup",
            "user_day",
            "day_rollup",
            "user_month",
            "month_rollup",
            "user_month_total",
            "host_month_total",
            "poll_open_month",
            "month_cell",
            "year_cell",
        ] {
            query_built(format!("DELETE FROM {table}"))
                .execute(&mut w.conn)
                .await?;
        }
        Ok(())
    })
    .await?;
    for (key, span) in spans {
        for window in windows(span) {
            w.transaction(async |w| {
                let Writer { conn, sql, .. } = w;
                reroll_hours(conn, sql, BTreeMap::from([(key, vec![window])])).await
            })
            .await?;
        }
    }
    query("UPDATE store_state SET value = 'ok' WHERE name = 'rollups'")
        .execute(&mut w.conn)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_split_at_the_first_fresh_hour() {
        let h = HOUR;
        let ranges = vec![0..2 * h, 3 * h..6 * h, 7 * h..8 * h];
        assert_eq!(
            split_at(ranges.clone(), 4 * h),
            (
                vec![0..2 * h, 3 * h..4 * h],
                vec![4 * h..6 * h, 7 * h..8 * h]
            )
        );
        assert_eq!(
            split_at(ranges.clone(), 3 * h),
            (
                vec![Range {
                    start: 0,
                    end: 2 * h
                }],
                vec![3 * h..6 * h, 7 * h..8 * h]
            )
        );
        assert_eq!(split_at(ranges.clone(), i64::MIN), (vec![], ranges.clone()));
        assert_eq!(split_at(ranges.clone(), 9 * h), (ranges, vec![]));
    }
}
