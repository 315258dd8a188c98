//! Day and month rollups beside the hourly ones (tally-core [`rollup::coarsen`]), so a report
//! over years reads a row per feature and day or month, not per hour: three years of a feature
//! are ~1,100 day rows or 36 month rows against ~26,000 hourly ones, and a report's cost should
//! follow the rows it shows, not the history behind them.
//!
//! **Kept in the same transaction as the hourly rows, derived from them.** Whenever the writer
//! replaces hourly rows (imports, full re-rolls, rebuilds), [`refresh`] recomputes the days those
//! hours fall in from *all* their hourly rows, then the months from their day rows: a period's
//! row is always the fold of its current finer rows, whoever wrote them. A poll extending its
//! hours in place (`poll_rollups`) adds the same delta to the day and month rows (seconds and
//! checkouts add, peaks take the larger) and counts their distinct users again ([`recount`])
//! where someone may have joined. Days are UTC days, months UTC calendar months; a
//! row's `day`/`month` is the period's first second.
//!
//! **Reads** ([`Store::rollups`], [`Store::user_rollups`]) cut the window into whole months,
//! whole days around them and hours at the ends, each read from its own table, never coarser
//! than the caller's period allows ([`Grain::within`]).

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use tally_core::period::DAY;
use tally_core::rollup::{FeatureKey, Grain, HourRollup, UserHour};
use tally_core::users::Seen;

use crate::db::{Conn, Kind, Row, Table, query, query_built};
use crate::pages::Party;
use crate::rollups::{
    FEATURES_PER_STATEMENT, MAX_READ_ROWS, RollupFilter, hour_rollup, load_totals, placeholders,
    user_hour,
};
use crate::{Store, StoreError};

/// The tables of a grain: per feature, and per user and host; the column holding the period.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tables {
    pub(crate) features: &'static str,
    pub(crate) users: &'static str,
    pub(crate) column: &'static str,
}

pub(crate) fn tables(grain: Grain) -> Tables {
    match grain {
        Grain::Hour => Tables {
            features: "hour_rollup",
            users: "user_hour",
            column: "hour",
        },
        Grain::Day => Tables {
            features: "day_rollup",
            users: "user_day",
            column: "day",
        },
        Grain::Month => Tables {
            features: "month_rollup",
            users: "user_month",
            column: "month",
        },
    }
}

const fn feature_table(name: &'static str, cols: &'static [&'static str]) -> Table {
    Table {
        name,
        cols,
        copy: false,
    }
}

/// The day and month tables as a poll upserts them (`poll_rollups`), columns as in
/// `rollups::HOUR_ROLLUP` and `rollups::USER_HOUR`.
pub(crate) const DAY_ROLLUP: Table = feature_table(
    "day_rollup",
    &[
        "feature_id",
        "day",
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
);
pub(crate) const USER_DAY: Table = feature_table(
    "user_day",
    &[
        "feature_id",
        "day",
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
);
pub(crate) const MONTH_ROLLUP: Table = feature_table(
    "month_rollup",
    &[
        "feature_id",
        "month",
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
);
pub(crate) const USER_MONTH: Table = feature_table(
    "user_month",
    &[
        "feature_id",
        "month",
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
);

const LOADS: &str = "peak_in_use, peak_desired, used_seconds, desired_seconds, denials, checkouts";

/// Recomputes the day and month rows covering `hours` (per feature, hours whose hourly rows the
/// transaction replaced) from the hourly rows, and the months' user and host totals
/// (`totals`). Runs inside that transaction.
pub(crate) async fn refresh(
    conn: &mut Conn,
    hours: &BTreeMap<FeatureKey, Vec<Range<i64>>>,
) -> Result<(), StoreError> {
    refold_days(conn, hours).await?;
    let months = months_of(hours);
    refold_months(conn, &months).await?;
    crate::totals::refresh(conn, &months).await
}

/// The months (with their features) holding `hours`.
pub(crate) fn months_of(
    hours: &BTreeMap<FeatureKey, Vec<Range<i64>>>,
) -> BTreeMap<i64, BTreeSet<i64>> {
    let mut months: BTreeMap<i64, BTreeSet<i64>> = BTreeMap::new();
    for (key, ranges) in hours {
        for span in merged(ranges.iter().map(|r| widen(Grain::Day, r))) {
            let mut m = Grain::Month.start(span.start);
            while m < span.end {
                months.entry(m).or_default().insert(key.feature);
                m = Grain::Month.next(m);
            }
        }
    }
    months
}

/// Recomputes the day rows covering `hours` from the hourly rows.
pub(crate) async fn refold_days(
    conn: &mut Conn,
    hours: &BTreeMap<FeatureKey, Vec<Range<i64>>>,
) -> Result<(), StoreError> {
    // Features whose spans of days overlap are refreshed together over the union of those
    // spans (an import batch in time order: all of them, a few statements): refolding a day
    // with no rows of a feature costs an index probe, and the result is exact on any superset.
    let mut spans: Vec<(Range<i64>, i64)> = Vec::new();
    for (key, ranges) in hours {
        for span in merged(ranges.iter().map(|r| widen(Grain::Day, r))) {
            spans.push((span, key.feature));
        }
    }
    spans.sort_by_key(|(span, _)| span.start);
    let mut days: Vec<(Range<i64>, BTreeSet<i64>)> = Vec::new();
    for (span, feature) in spans {
        match days.last_mut() {
            Some((union, features)) if span.start <= union.end => {
                union.end = union.end.max(span.end);
                features.insert(feature);
            }
            _ => days.push((span, BTreeSet::from([feature]))),
        }
    }
    for (span, features) in days {
        let features: Vec<i64> = features.into_iter().collect();
        for ids in features.chunks(FEATURES_PER_STATEMENT) {
            refold(conn, Grain::Day, ids, span.clone()).await?;
        }
    }
    Ok(())
}

/// Recomputes the rows of `months` (each with its features) from the day rows.
pub(crate) async fn refold_months(
    conn: &mut Conn,
    months: &BTreeMap<i64, BTreeSet<i64>>,
) -> Result<(), StoreError> {
    for (&m, features) in months {
        let features: Vec<i64> = features.iter().copied().collect();
        for ids in features.chunks(FEATURES_PER_STATEMENT) {
            refold(conn, Grain::Month, ids, m..Grain::Month.next(m)).await?;
        }
    }
    Ok(())
}

/// `r` widened to whole periods of `grain`.
fn widen(grain: Grain, r: &Range<i64>) -> Range<i64> {
    grain.start(r.start)..grain.ceil(r.end)
}

fn merged(ranges: impl Iterator<Item = Range<i64>>) -> Vec<Range<i64>> {
    let mut all: Vec<Range<i64>> = ranges.collect();
    all.sort_by_key(|r| r.start);
    let mut out: Vec<Range<i64>> = Vec::with_capacity(all.len());
    for r in all {
        match out.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => out.push(r),
        }
    }
    out
}

/// The SQL for the start of the period holding `col`: days computed in SQL (UTC, so plain
/// arithmetic, floored for times before 1970), months bound as the one month refolded.
fn bucket(grain: Grain, col: &str) -> String {
    match grain {
        Grain::Day => format!("{col} - ((({col} % {DAY}) + {DAY}) % {DAY})"),
        // One month per statement: its start, bound.
        Grain::Hour | Grain::Month => "?".into(),
    }
}

/// Replaces the rows of `grain` of features `ids` over `span` (whole periods) by the fold of the
/// next finer grain's rows: per user and host first, then per feature with its distinct users
/// and hosts counted from those.
async fn refold(
    conn: &mut Conn,
    grain: Grain,
    ids: &[i64],
    span: Range<i64>,
) -> Result<(), StoreError> {
    let finer = match grain {
        Grain::Day => tables(Grain::Hour),
        Grain::Month => tables(Grain::Day),
        Grain::Hour => return Ok(()),
    };
    let to = tables(grain);
    let (col, src) = (to.column, finer.column);
    let list = placeholders(ids.len());
    let bucket = bucket(grain, src);
    // A month's rows all fall in the one month bound: grouped without it.
    let grouped = match grain {
        Grain::Day => format!(", {bucket}"),
        Grain::Hour | Grain::Month => String::new(),
    };
    // Months bind their start where the bucket is.
    let month = (grain == Grain::Month).then_some(span.start);
    let kind = conn.kind();
    let sum = |c: &str| kind.sum(c);
    let loads = format!(
        "max(peak_in_use), max(peak_desired), {}, {}, {}, {}",
        sum("used_seconds"),
        sum("desired_seconds"),
        sum("denials"),
        sum("checkouts")
    );
    let bind_ids = |mut q: crate::db::Query<'static>| {
        for &id in ids {
            q = q.bind(id);
        }
        q
    };

    for table in [to.users, to.features] {
        let q = query_built(format!(
            "DELETE FROM {table} WHERE feature_id IN ({list}) AND {col} >= ? AND {col} < ?"
        ));
        bind_ids(q)
            .bind(span.start)
            .bind(span.end)
            .execute(&mut *conn)
            .await?;
    }

    let mut q = query_built(format!(
        "INSERT INTO {users} (feature_id, {col}, user_id, host_id, server_id, {LOADS})
         SELECT feature_id, {bucket}, user_id, host_id, max(server_id), {loads}
         FROM {finer_users} WHERE feature_id IN ({list}) AND {src} >= ? AND {src} < ?
         GROUP BY feature_id{grouped}, user_id, host_id",
        users = to.users,
        finer_users = finer.users,
    ));
    if let Some(m) = month {
        q = q.bind(m);
    }
    bind_ids(q)
        .bind(span.start)
        .bind(span.end)
        .execute(&mut *conn)
        .await?;

    let mut q = query_built(format!(
        "INSERT INTO {features} (feature_id, {col}, server_id, {LOADS}, distinct_users, distinct_hosts)
         SELECT h.feature_id, h.p, h.server_id, h.a, h.b, h.c, h.d, h.e, h.f,
                COALESCE(u.du, 0), COALESCE(u.dh, 0)
         FROM (SELECT feature_id, {bucket} AS p, max(server_id) AS server_id,
                  max(peak_in_use) AS a, max(peak_desired) AS b, {c} AS c, {d} AS d, {e} AS e, {f} AS f
               FROM {finer_features} WHERE feature_id IN ({list}) AND {src} >= ? AND {src} < ?
               GROUP BY feature_id{grouped}) h
         LEFT JOIN (SELECT feature_id, {col} AS p, count(DISTINCT user_id) AS du,
                       count(DISTINCT host_id) AS dh
                    FROM {users} WHERE feature_id IN ({list}) AND {col} >= ? AND {col} < ?
                       AND peak_in_use > 0
                    GROUP BY feature_id, {col}) u
         ON u.feature_id = h.feature_id AND u.p = h.p",
        features = to.features,
        finer_features = finer.features,
        users = to.users,
        c = sum("used_seconds"),
        d = sum("desired_seconds"),
        e = sum("denials"),
        f = sum("checkouts"),
    ));
    if let Some(m) = month {
        q = q.bind(m);
    }
    q = bind_ids(q).bind(span.start).bind(span.end);
    bind_ids(q)
        .bind(span.start)
        .bind(span.end)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The periods of `grain` holding the given hours (per feature), for [`recount`].
pub(crate) fn periods_of(
    grain: Grain,
    hours: &BTreeMap<i64, BTreeSet<i64>>,
) -> BTreeMap<i64, Vec<i64>> {
    let mut periods: BTreeMap<i64, BTreeSet<i64>> = BTreeMap::new();
    for (&feature, hours) in hours {
        for &h in hours {
            periods.entry(grain.start(h)).or_default().insert(feature);
        }
    }
    periods
        .into_iter()
        .map(|(start, features)| (start, features.into_iter().collect()))
        .collect()
}

/// Counts again the distinct users and hosts of one period's rows of `features`.
pub(crate) async fn recount(
    conn: &mut Conn,
    t: Tables,
    features: &[i64],
    start: i64,
) -> Result<(), StoreError> {
    let (table, users, col) = (t.features, t.users, t.column);
    let count = |who: &str| {
        format!(
            "(SELECT count(DISTINCT u.{who}) FROM {users} u WHERE u.feature_id = {table}.feature_id
              AND u.{col} = {table}.{col} AND u.peak_in_use > 0)"
        )
    };
    let mut q = query_built(format!(
        "UPDATE {table} SET distinct_users = {}, distinct_hosts = {}
         WHERE feature_id IN ({}) AND {col} = ?",
        count("user_id"),
        count("host_id"),
        placeholders(features.len())
    ));
    for &f in features {
        q = q.bind(f);
    }
    q.bind(start).execute(conn).await?;
    Ok(())
}

/// Recomputes every day and month row from the hourly rows, a month per transaction: for a
/// history written before day and month rows existed (migration 0013), or edited by hand.
pub(crate) async fn rebuild(w: &mut crate::writer::Writer) -> Result<(), StoreError> {
    let rows = query("SELECT server_id, feature_id, min(hour), max(hour) FROM hour_rollup GROUP BY server_id, feature_id")
        .fetch_all(&mut w.conn)
        .await?;
    w.transaction(async |w| {
        for table in [
            "user_day",
            "day_rollup",
            "user_month",
            "month_rollup",
            "user_month_total",
            "host_month_total",
            "poll_open_month",
        ] {
            query_built(format!("DELETE FROM {table}"))
                .execute(&mut w.conn)
                .await?;
        }
        Ok(())
    })
    .await?;
    for r in &rows {
        let key = FeatureKey {
            server: r.get(0)?,
            feature: r.get(1)?,
        };
        let (first, last): (i64, i64) = (r.get(2)?, r.get(3)?);
        let mut m = Grain::Month.start(first);
        while m <= last {
            let next = Grain::Month.next(m);
            w.transaction(async |w| {
                refresh(
                    &mut w.conn,
                    &BTreeMap::from([(key, std::iter::once(m..next).collect())]),
                )
                .await
            })
            .await?;
            m = next;
        }
    }
    query("UPDATE store_state SET value = 'ok' WHERE name = 'coarse_rollups'")
        .execute(&mut w.conn)
        .await?;
    Ok(())
}

/// The pieces a window of hours `[from, to)` is read in: whole periods of `coarsest` inside it,
/// then finer grains for what is left at either end. `i64::MIN`/`i64::MAX` mean unbounded.
pub(crate) fn pieces(from: i64, to: i64, coarsest: Grain) -> Vec<(Grain, Range<i64>)> {
    let mut out = Vec::new();
    cut(from, to, coarsest, &mut out);
    out
}

fn cut(from: i64, to: i64, grain: Grain, out: &mut Vec<(Grain, Range<i64>)>) {
    if from >= to {
        return;
    }
    let finer = match grain {
        Grain::Hour => {
            out.push((Grain::Hour, from..to));
            return;
        }
        Grain::Day => Grain::Hour,
        Grain::Month => Grain::Day,
    };
    let a = if from == i64::MIN {
        from
    } else {
        grain.ceil(from)
    };
    let b = if to == i64::MAX { to } else { grain.start(to) };
    if a >= b {
        cut(from, to, finer, out);
        return;
    }
    cut(from, a, finer, out);
    out.push((grain, a..b));
    cut(b, to, finer, out);
}

impl Store {
    /// Per-feature rows over the filter's window, each whole month of it read as one row per
    /// feature, whole days around those as day rows and the hours at either end as hourly rows,
    /// never coarser than `within` ([`Grain::within`] of a report's period: day rows fold into
    /// days and weeks, month rows into months and years). A row's `hour` is its period's start;
    /// rows by that, then server and feature. Folding them as hourly rows
    /// (`tally_core::report`, `Load::add_hour`) gives what folding every hour gives.
    pub async fn rollups(
        &self,
        filter: &RollupFilter,
        within: Grain,
    ) -> Result<Vec<HourRollup>, StoreError> {
        let mut out = Vec::new();
        for (grain, window) in self.pieces(filter, within) {
            let t = tables(grain);
            let select = format!(
                "SELECT server_id, feature_id, {}, {LOADS}, distinct_users, distinct_hosts FROM {}",
                t.column, t.features
            );
            out.extend(
                self.read_window(filter, &select, t.column, window, "", hour_rollup)
                    .await?,
            );
        }
        out.sort_by_key(|h| (h.hour, h.feature));
        Ok(out)
    }

    /// Per user and host rows over the filter's window, cut as [`Store::rollups`] cuts it; by
    /// period start, then feature, user and host.
    pub async fn user_rollups(
        &self,
        filter: &RollupFilter,
        within: Grain,
    ) -> Result<Vec<UserHour>, StoreError> {
        let mut out = Vec::new();
        for (grain, window) in self.pieces(filter, within) {
            let t = tables(grain);
            let select = format!(
                "SELECT server_id, feature_id, {}, {LOADS}, user_id, host_id FROM {}",
                t.column, t.users
            );
            out.extend(
                self.read_window(filter, &select, t.column, window, "", user_hour)
                    .await?,
            );
        }
        out.sort_by_key(|u| (u.hour, u.feature, u.user, u.host));
        Ok(out)
    }

    /// [`Store::user_totals`] read from the coarsest rows the window allows (cut as
    /// [`Store::rollups`] cuts it: whole months as month rows, whole days as day rows, hours at
    /// the ends), each piece added up in SQL and the pieces here: a window of years in as many
    /// rows as it has features, users and hosts, whatever the hours behind them. By feature,
    /// user and host; a row's `hour` is the start of its first period with a row, not its
    /// first hour.
    pub async fn user_period_totals(
        &self,
        filter: &RollupFilter,
    ) -> Result<Vec<UserHour>, StoreError> {
        let totals = load_totals(self.pool().kind());
        let mut out: BTreeMap<(FeatureKey, i64, i64), UserHour> = BTreeMap::new();
        for (grain, window) in self.pieces(filter, Grain::Month) {
            let t = tables(grain);
            let select = format!(
                "SELECT server_id, feature_id, min({}), {totals}, user_id, host_id FROM {}",
                t.column, t.users
            );
            let group = " GROUP BY server_id, feature_id, user_id, host_id";
            let rows = self
                .read_window(filter, &select, t.column, window, group, user_hour)
                .await?;
            fold_party_rows(&mut out, rows)?;
        }
        Ok(out.into_values().collect())
    }

    /// Who was seen where within the filter's hours, for counting users (tally-core `users`):
    /// one sighting per user and host, from the start of the first period it has a row in to
    /// the end of the last, "denied only" if it never held a license. Read as
    /// [`Store::rollups`] cuts the window (whole months from the month rows, whole days from
    /// the day rows, the hours at the ends from the hourly rows), one grouped read per piece:
    /// the rows are as many as the user-host pairs. A sighting's start and end are those of
    /// periods within the window, which the rules' windows (the filter's) never cut.
    pub async fn sightings(&self, filter: &RollupFilter) -> Result<Vec<Seen>, StoreError> {
        let mut out: BTreeMap<(i64, i64), Seen> = BTreeMap::new();
        for (grain, window) in self.pieces(filter, Grain::Month) {
            let t = tables(grain);
            let select = format!(
                "SELECT user_id, host_id, min({c}), max({c}), max(peak_in_use) FROM {}",
                t.users,
                c = t.column
            );
            let end = window.end;
            let rows = self
                .read_window(
                    filter,
                    &select,
                    t.column,
                    window,
                    " GROUP BY user_id, host_id",
                    |r| {
                        Ok(Seen {
                            user: r.get(0)?,
                            host: r.get(1)?,
                            start: r.get(2)?,
                            end: grain.next(r.get::<i64>(3)?).min(end),
                            denied_only: r.get::<i64>(4)? == 0,
                        })
                    },
                )
                .await?;
            for s in rows {
                out.entry((s.user, s.host))
                    .and_modify(|c| {
                        c.start = c.start.min(s.start);
                        c.end = c.end.max(s.end);
                        c.denied_only &= s.denied_only;
                    })
                    .or_insert(s);
            }
        }
        Ok(out.into_values().collect())
    }

    /// The distinct users and hosts holding a license in the filter's window, per feature:
    /// counted in SQL over the per-user rows of the window's pieces (cut as [`Store::rollups`]
    /// cuts it), one statement, so no per-user row leaves the database.
    pub async fn distinct_users(
        &self,
        filter: &RollupFilter,
    ) -> Result<BTreeMap<FeatureKey, (u64, u64)>, StoreError> {
        let (from, to) = filter.hours();
        Ok(self
            .distinct_users_per_period(filter, &[from..to])
            .await?
            .into_iter()
            .map(|((key, _), n)| (key, n))
            .collect())
    }

    /// [`Store::distinct_users`] of each of `periods` (hour-aligned windows, within the filter's
    /// scope; its window is not read), per feature and period start: a report's weeks or years
    /// counted in one statement per user and host (a few for hundreds of periods), not one
    /// each. Whole months are counted from the month totals of users and of hosts
    /// (`crate::totals`), a third of the month rows; open months from `user_month`.
    pub async fn distinct_users_per_period(
        &self,
        filter: &RollupFilter,
        periods: &[Range<i64>],
    ) -> Result<BTreeMap<(FeatureKey, i64), (u64, u64)>, StoreError> {
        // Each period as read (widened where that reads the same rows: see `widened`) and the
        // start its counts are reported under.
        let mut read: Vec<(Range<i64>, i64)> = Vec::with_capacity(periods.len());
        for p in periods {
            read.push((self.widened(filter, p.clone()).await?, p.start));
        }
        // Periods holding a whole month count users and hosts apart, each from its own month
        // totals; the others (weeks, days, a month cut by the window) both at once from the
        // day and hourly rows, which read once serve both.
        let (with_months, finer): (Vec<(Range<i64>, i64)>, Vec<(Range<i64>, i64)>) =
            read.into_iter().partition(|(p, _)| {
                pieces(p.start, p.end, Grain::Month)
                    .iter()
                    .any(|(g, _)| *g == Grain::Month)
            });
        let mut out = self.distinct_in_finer_rows(filter, &finer).await?;
        let users = self
            .distinct_per_period(filter, &with_months, Party::User)
            .await?;
        let mut hosts = self
            .distinct_per_period(filter, &with_months, Party::Host)
            .await?;
        out.extend(
            users
                .into_iter()
                .map(|(key, u)| (key, (u, hosts.remove(&key).unwrap_or(0)))),
        );
        Ok(out)
    }

    /// `period` widened at either end to the start (end) of its month, else of its day, when
    /// the filter's scope has no hourly row in what that adds: the same users, counted from
    /// coarser rows (a window starting before the history or ending after it cuts a month that
    /// holds no more than the window does). A probe or two by key per end.
    async fn widened(
        &self,
        filter: &RollupFilter,
        period: Range<i64>,
    ) -> Result<Range<i64>, StoreError> {
        let (scope, id) = match (filter.feature, filter.server) {
            (Some(f), _) => ("feature_id = ?", f),
            (None, Some(s)) => (
                "feature_id IN (SELECT id FROM feature WHERE server_id = ?)",
                s,
            ),
            // No key to probe by.
            (None, None) => return Ok(period),
        };
        let empty = async |added: Range<i64>| -> Result<bool, StoreError> {
            let any = query_built(format!(
                "SELECT 1 FROM hour_rollup WHERE {scope} AND hour >= ? AND hour < ? LIMIT 1"
            ))
            .bind(id)
            .bind(added.start)
            .bind(added.end)
            .fetch_optional(self.pool())
            .await?;
            Ok(any.is_none())
        };
        let mut out = period.clone();
        if period.start != i64::MIN {
            for a in [Grain::Month, Grain::Day].map(|g| g.start(period.start)) {
                if a < period.start && empty(a..period.start).await? {
                    out.start = a;
                    break;
                }
            }
        }
        if period.end != i64::MAX {
            for b in [Grain::Month, Grain::Day].map(|g| g.ceil(period.end)) {
                if b > period.end && empty(period.end..b).await? {
                    out.end = b;
                    break;
                }
            }
        }
        Ok(out)
    }

    /// Distinct users and hosts of periods without a whole month, counted together in one
    /// statement from their day and hourly rows (which hold both).
    async fn distinct_in_finer_rows(
        &self,
        filter: &RollupFilter,
        periods: &[(Range<i64>, i64)],
    ) -> Result<BTreeMap<(FeatureKey, i64), (u64, u64)>, StoreError> {
        // SQLite joins at most 500 selects in one compound statement.
        const PARTS_PER_STATEMENT: usize = 400;
        let (scope, id) = match (filter.feature, filter.server) {
            (Some(f), _) => ("feature_id = ?", Some(f)),
            (None, Some(s)) => (
                "feature_id IN (SELECT id FROM feature WHERE server_id = ?)",
                Some(s),
            ),
            (None, None) => ("1 = 1", None),
        };
        let kind = self.pool().kind();
        let mut parts = Vec::new();
        for (i, (period, _)) in periods.iter().enumerate() {
            // The period's index, written in (ours, not the caller's text) as a 64-bit integer.
            let tag = match kind {
                Kind::Sqlite => i.to_string(),
                Kind::Postgres => format!("CAST({i} AS BIGINT)"),
                Kind::MySql => format!("CAST({i} AS SIGNED)"),
            };
            for (grain, window) in pieces(period.start, period.end, Grain::Month) {
                let t = tables(grain);
                parts.push((
                    format!(
                        "SELECT {tag} AS p, server_id, feature_id, user_id, host_id FROM {} WHERE {scope}
                         AND {c} >= ? AND {c} < ? AND peak_in_use > 0",
                        t.users,
                        c = t.column
                    ),
                    window,
                ));
            }
        }
        let count = |n: i64| u64::try_from(n).unwrap_or(0);
        let mut out = BTreeMap::new();
        for chunk in parts.chunks(PARTS_PER_STATEMENT) {
            let sql: Vec<&str> = chunk.iter().map(|(sql, _)| sql.as_str()).collect();
            let mut q = query_built(format!(
                "SELECT p, server_id, feature_id, count(DISTINCT user_id), count(DISTINCT host_id)
                 FROM ({}) x GROUP BY p, server_id, feature_id",
                sql.join(" UNION ALL ")
            ));
            for (_, window) in chunk {
                if let Some(id) = id {
                    q = q.bind(id);
                }
                q = q.bind(window.start).bind(window.end);
            }
            for r in q.fetch_all(self.pool()).await? {
                let (key, period) = counted_period(&r, periods)?;
                out.insert((key, period), (count(r.get(3)?), count(r.get(4)?)));
            }
        }
        Ok(out)
    }

    /// The distinct users (or hosts) holding a license in each of `periods`, per feature and
    /// period start.
    async fn distinct_per_period(
        &self,
        filter: &RollupFilter,
        periods: &[(Range<i64>, i64)],
        party: Party,
    ) -> Result<BTreeMap<(FeatureKey, i64), u64>, StoreError> {
        // SQLite joins at most 500 selects in one compound statement.
        const SELECTS_PER_STATEMENT: usize = 400;
        let (scope, id) = match (filter.feature, filter.server) {
            (Some(f), _) => ("t.feature_id = ?", Some(f)),
            (None, Some(s)) => (
                "t.feature_id IN (SELECT id FROM feature WHERE server_id = ?)",
                Some(s),
            ),
            (None, None) => ("1 = 1", None),
        };
        let who = party.column();
        let kind = self.pool().kind();
        let open = if periods.is_empty() {
            BTreeSet::new()
        } else {
            crate::totals::open_months(self, filter.server).await?
        };
        // (the selects, and each one's window)
        let mut parts: Vec<(String, Vec<Range<i64>>)> = Vec::new();
        for (i, (period, _)) in periods.iter().enumerate() {
            // The period's index, written in (ours, not the caller's text) as a 64-bit integer.
            let tag = match kind {
                Kind::Sqlite => i.to_string(),
                Kind::Postgres => format!("CAST({i} AS BIGINT)"),
                Kind::MySql => format!("CAST({i} AS SIGNED)"),
            };
            let cols = format!("{tag} AS p, t.server_id, t.feature_id, t.{who} AS who");
            for (grain, window) in pieces(period.start, period.end, Grain::Month) {
                if grain == Grain::Month {
                    for (table, range) in crate::totals::month_sources(party, window, &open) {
                        parts.push((
                            format!(
                                "SELECT {cols} FROM {table} t WHERE {scope} AND t.month >= ? AND t.month < ?
                                 AND t.peak_in_use > 0"
                            ),
                            vec![range],
                        ));
                    }
                } else {
                    let t = tables(grain);
                    parts.push((
                        format!(
                            "SELECT {cols} FROM {} t WHERE {scope} AND t.{c} >= ? AND t.{c} < ?
                             AND t.peak_in_use > 0",
                            t.users,
                            c = t.column
                        ),
                        vec![window],
                    ));
                }
            }
        }
        let mut out = BTreeMap::new();
        let mut rest = &parts[..];
        while !rest.is_empty() {
            // As many parts as fit, at least one.
            let mut n = 0;
            let mut selects = 0;
            while n < rest.len() && (n == 0 || selects + rest[n].1.len() <= SELECTS_PER_STATEMENT) {
                selects += rest[n].1.len();
                n += 1;
            }
            let (chunk, next) = rest.split_at(n);
            rest = next;
            let sql: Vec<&str> = chunk.iter().map(|(sql, _)| sql.as_str()).collect();
            let mut q = query_built(format!(
                "SELECT p, server_id, feature_id, count(DISTINCT who)
                 FROM ({}) x GROUP BY p, server_id, feature_id",
                sql.join(" UNION ALL ")
            ));
            for window in chunk.iter().flat_map(|(_, windows)| windows) {
                if let Some(id) = id {
                    q = q.bind(id);
                }
                q = q.bind(window.start).bind(window.end);
            }
            for r in q.fetch_all(self.pool()).await? {
                let (key, period) = counted_period(&r, periods)?;
                out.insert((key, period), u64::try_from(r.get::<i64>(3)?).unwrap_or(0));
            }
        }
        Ok(out)
    }

    fn pieces(&self, filter: &RollupFilter, within: Grain) -> Vec<(Grain, Range<i64>)> {
        let (from, to) = filter.hours();
        pieces(from, to, within)
    }

    /// Rebuilds the day and month rows if a migration asked for it.
    pub(crate) async fn rebuild_coarse_if_asked(&self) -> Result<(), StoreError> {
        if self.asked("coarse_rollups", "rebuild").await? {
            tracing::info!("computing the day and month rollups of the stored history");
            self.write(|w| Box::pin(async move { rebuild(w).await }))
                .await?;
        }
        Ok(())
    }
}

/// The feature and period start of a distinct count's row (`p, server_id, feature_id, …`, `p`
/// the period's index in `periods`, each a range read and the start it is reported under).
fn counted_period(r: &Row, periods: &[(Range<i64>, i64)]) -> Result<(FeatureKey, i64), StoreError> {
    let key = FeatureKey {
        server: r.get(1)?,
        feature: r.get(2)?,
    };
    let period = usize::try_from(r.get::<i64>(0)?)
        .ok()
        .and_then(|i| periods.get(i))
        .ok_or_else(|| StoreError::Inconsistent("a count of no period asked".into()))?;
    Ok((key, period.1))
}

/// Adds `rows` (user rows of one piece of a window) into `out`, one row per feature, user and
/// host: loads added, the earliest period kept. Bounded like every rollup read.
pub(crate) fn fold_party_rows(
    out: &mut BTreeMap<(FeatureKey, i64, i64), UserHour>,
    rows: Vec<UserHour>,
) -> Result<(), StoreError> {
    for u in rows {
        out.entry((u.feature, u.user, u.host))
            .and_modify(|c| {
                c.hour = c.hour.min(u.hour);
                c.load.add_hour(&u.load);
            })
            .or_insert(u);
    }
    if out.len() > MAX_READ_ROWS {
        return Err(StoreError::TooManyRows {
            what: "the rollup rows",
            limit: MAX_READ_ROWS,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tally_core::period::HOUR;

    /// 2024-03-01T00:00Z.
    const MAR: i64 = 1_709_251_200;
    const APR: i64 = MAR + 31 * DAY;
    const MAY: i64 = APR + 30 * DAY;

    #[test]
    fn a_window_is_read_as_months_then_days_then_hours() {
        let from = MAR + 27 * DAY + 5 * HOUR;
        let to = MAY + 2 * DAY + 3 * HOUR;
        assert_eq!(
            pieces(from, to, Grain::Month),
            vec![
                (Grain::Hour, from..MAR + 28 * DAY),
                (Grain::Day, MAR + 28 * DAY..APR),
                (Grain::Month, APR..MAY),
                (Grain::Day, MAY..MAY + 2 * DAY),
                (Grain::Hour, MAY + 2 * DAY..to),
            ]
        );
        // Never coarser than asked; a window within one day is hours only.
        assert_eq!(
            pieces(from, to, Grain::Day),
            vec![
                (Grain::Hour, from..MAR + 28 * DAY),
                (Grain::Day, MAR + 28 * DAY..MAY + 2 * DAY),
                (Grain::Hour, MAY + 2 * DAY..to),
            ]
        );
        assert_eq!(
            pieces(MAR + HOUR, MAR + 5 * HOUR, Grain::Month),
            vec![(Grain::Hour, MAR + HOUR..MAR + 5 * HOUR)]
        );
        // All history: one piece of the coarsest grain.
        assert_eq!(
            pieces(i64::MIN, i64::MAX, Grain::Month),
            vec![(Grain::Month, i64::MIN..i64::MAX)]
        );
        assert_eq!(
            pieces(i64::MIN, APR + HOUR, Grain::Month),
            vec![
                (Grain::Month, i64::MIN..APR),
                (Grain::Hour, APR..APR + HOUR)
            ]
        );
    }

    #[test]
    fn days_are_floored_for_times_before_1970_too() {
        // The SQL bucket's arithmetic, checked here against the calendar's.
        for t in [-DAY - 1, -1, 0, 1, MAR + 5 * HOUR] {
            let sql_like = t - (((t % DAY) + DAY) % DAY);
            assert_eq!(sql_like, Grain::Day.start(t), "{t}");
        }
        assert_eq!(
            merged([0..2, 5..7, 1..3, 7..8].into_iter()),
            vec![0..3, 5..8]
        );
    }
}
