//! Heatmap cells (migration 0022): per feature, the hourly rows folded per hour of the UTC week
//! within each UTC month (`month_cell`) and each UTC year (`year_cell`), so a heatmap over years
//! reads at most 168 rows per feature and year, not each of its hours (10 M sessions, all
//! history: 6 s). Weeks would fold nothing (a week's cells are its hours); months and years
//! leave a window of any length at 10^3-10^4 rows per feature: whole years, whole months at
//! either end, the hours left from the hourly rows.
//!
//! **Kept in the same transaction as the hourly rows, derived from them.** Whenever a write
//! changes hourly rows (polls, re-rolls, rebuilds, the stored hours an import re-rolls),
//! [`refresh`] recomputes the cells
//! holding those hours from the hourly rows, then their year cells from the month cells: each
//! row is always the fold of its current finer rows (peaks the largest, seconds and counts
//! added, distinct users and hosts the most of any one hour: `tally_core::report::heatmap`).
//! Only the cells touched are refolded, each from its four or five hours of the month, so a poll
//! touching one hour reads a few rows per feature.
//!
//! **Imports fold their new hours' cells in memory** ([`NewCells`]): hours after a feature's
//! last rolled one have no stored row, so no stored cell folds them, and a cell's new value is
//! its stored one folded with theirs ([`merge_new`], one upsert per cell). Refolding from SQL
//! instead read every touched month's hours and every month cell of its year again per batch
//! (20x FlexNet log: 790 ms of a 2.0 s import).

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use tally_core::period::{DAY, HOUR, Period, hour_ceil, hour_start};
use tally_core::rollup::{FeatureKey, Grain, HourRollup};

use crate::coarse;
use crate::db::{Conn, Kind, Table, insert_returning, query, query_built};
use crate::rollups::{
    FEATURES_PER_STATEMENT, RollupFilter, add_load, hour_rollup, load_totals, placeholders,
};
use crate::{Store, StoreError};

/// A week in seconds.
const WEEK: i64 = 7 * DAY;

/// Every cell of the week.
const CELLS: usize = (WEEK / HOUR) as usize;

/// The cell of `hour`: its offset in its UTC week from the epoch's Thursday 00:00, a timestamp
/// with the same weekday and hour of day.
pub(crate) fn cell_of(hour: i64) -> i64 {
    hour.rem_euclid(WEEK)
}

/// [`cell_of`] in SQL (floored for times before 1970 too).
fn cell_sql(col: &str) -> String {
    format!("((({col} % {WEEK}) + {WEEK}) % {WEEK})")
}

/// Cells touched in a period; `None` is all of them.
type Touched = Option<BTreeSet<i64>>;

fn touch(cells: &mut Touched, more: impl IntoIterator<Item = i64>) {
    if let Some(set) = cells {
        set.extend(more);
        if set.len() >= CELLS {
            *cells = None;
        }
    }
}

/// Recomputes the month and year cells holding `hours` (per feature, hours whose hourly rows the
/// transaction wrote) from the hourly rows. Runs inside that transaction.
pub(crate) async fn refresh(
    conn: &mut Conn,
    hours: &BTreeMap<FeatureKey, Vec<Range<i64>>>,
) -> Result<(), StoreError> {
    // Per month and feature, the cells touched.
    let mut months: BTreeMap<i64, BTreeMap<i64, Touched>> = BTreeMap::new();
    for (key, ranges) in hours {
        for r in ranges {
            let (a, b) = (hour_start(r.start), hour_ceil(r.end));
            if a >= b {
                continue;
            }
            let mut m = Grain::Month.start(a);
            while m < b {
                let next = Grain::Month.next(m);
                let (x, y) = (a.max(m), b.min(next));
                let cells = months
                    .entry(m)
                    .or_default()
                    .entry(key.feature)
                    .or_insert_with(|| Some(BTreeSet::new()));
                if y - x >= WEEK {
                    *cells = None;
                } else {
                    touch(cells, (x..y).step_by(HOUR as usize).map(cell_of));
                }
                m = next;
            }
        }
    }
    // Per year and feature, the cells of its months touched.
    let mut years: BTreeMap<i64, BTreeMap<i64, Touched>> = BTreeMap::new();
    for (&m, features) in &months {
        for (&feature, cells) in features {
            let year = years
                .entry(Period::Year.start(m))
                .or_default()
                .entry(feature)
                .or_insert_with(|| Some(BTreeSet::new()));
            match cells {
                None => *year = None,
                Some(c) => touch(year, c.iter().copied()),
            }
        }
    }
    let kind = conn.kind();
    for (m, groups) in by_cells(months) {
        for (cells, features) in groups {
            for ids in features.chunks(FEATURES_PER_STATEMENT) {
                refold_month(conn, kind, m, cells.as_ref(), ids).await?;
            }
        }
    }
    for (y, groups) in by_cells(years) {
        for (cells, features) in groups {
            for ids in features.chunks(FEATURES_PER_STATEMENT) {
                refold_year(conn, kind, y, cells.as_ref(), ids).await?;
            }
        }
    }
    Ok(())
}

/// The month and year cells of hours no stored row had, folded in memory: per (feature, month
/// or year, cell), each row's `hour` its cell.
#[derive(Debug, Default)]
pub(crate) struct NewCells {
    months: BTreeMap<(i64, i64, i64), HourRollup>,
    years: BTreeMap<(i64, i64, i64), HourRollup>,
}

impl NewCells {
    /// Folds in hourly rows of hours that had none (and no other call adds the same hour).
    pub(crate) fn add(&mut self, rows: &[HourRollup]) {
        // Hours come in order per feature: the month and year change rarely.
        let mut month = i64::MIN..i64::MIN;
        let mut year = i64::MIN;
        for r in rows {
            if !month.contains(&r.hour) {
                let m = Grain::Month.start(r.hour);
                month = m..Grain::Month.next(m);
                year = Period::Year.start(m);
            }
            let cell = cell_of(r.hour);
            fold_into(&mut self.months, (r.feature.feature, month.start, cell), r);
            fold_into(&mut self.years, (r.feature.feature, year, cell), r);
        }
    }
}

fn fold_into(
    cells: &mut BTreeMap<(i64, i64, i64), HourRollup>,
    key: (i64, i64, i64),
    r: &HourRollup,
) {
    cells
        .entry(key)
        .and_modify(|c| {
            c.load.add_hour(&r.load);
            c.distinct_users = c.distinct_users.max(r.distinct_users);
            c.distinct_hosts = c.distinct_hosts.max(r.distinct_hosts);
        })
        .or_insert(HourRollup { hour: key.2, ..*r });
}

const MONTH_CELL: Table = Table {
    name: "month_cell",
    cols: &[
        "feature_id",
        "month",
        "cell",
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
    copy: false,
};

const YEAR_CELL: Table = Table {
    name: "year_cell",
    cols: &[
        "feature_id",
        "year",
        "cell",
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
    copy: false,
};

/// Merges cells of new hours into the stored cells, month and year: a stored cell folds
/// other hours only, so the fold of both is the cell of all of them. Runs inside the
/// transaction that wrote those hours' rows, before any [`refresh`] of it (which replaces the
/// cells it touches by their fold from the hourly rows, new ones included).
pub(crate) async fn merge_new(conn: &mut Conn, cells: &NewCells) -> Result<(), StoreError> {
    let kind = conn.kind();
    for (table, rows) in [(&MONTH_CELL, &cells.months), (&YEAR_CELL, &cells.years)] {
        let rows: Vec<(&(i64, i64, i64), &HourRollup)> = rows.iter().collect();
        if rows.is_empty() {
            continue;
        }
        let clause = merge_clause(kind, table);
        insert_returning(
            conn,
            table,
            &rows,
            &clause,
            |p, ((feature, period, cell), c)| {
                p.add(*feature);
                p.add(*period);
                p.add(*cell);
                p.add(c.feature.server);
                add_load(p, &c.load);
                p.add(i64::from(c.distinct_users));
                p.add(i64::from(c.distinct_hosts));
            },
        )
        .await?;
    }
    Ok(())
}

/// The upsert clause folding a cell into the stored one: peaks and distinct counts the larger,
/// seconds and counts added (as [`folded`] does over hours).
fn merge_clause(kind: Kind, table: &Table) -> String {
    const ADD: [&str; 4] = ["used_seconds", "desired_seconds", "denials", "checkouts"];
    const MAX: [&str; 4] = [
        "peak_in_use",
        "peak_desired",
        "distinct_users",
        "distinct_hosts",
    ];
    kind.upsert_folding(table.name, &table.cols[..3].join(", "), &ADD, &MAX)
}

/// The hours of `rows` per feature, for [`refresh`].
pub(crate) fn hours_of(rows: &[HourRollup]) -> BTreeMap<FeatureKey, Vec<Range<i64>>> {
    let mut hours: BTreeMap<FeatureKey, Vec<Range<i64>>> = BTreeMap::new();
    for r in rows {
        hours
            .entry(r.feature)
            .or_default()
            .push(r.hour..r.hour + HOUR);
    }
    hours
}

/// Per period, the features grouped by the cells they touch: a poll touches the same cell of
/// every feature it sees, refolded in one statement.
fn by_cells(
    periods: BTreeMap<i64, BTreeMap<i64, Touched>>,
) -> BTreeMap<i64, BTreeMap<Touched, Vec<i64>>> {
    periods
        .into_iter()
        .map(|(start, features)| {
            let mut groups: BTreeMap<Touched, Vec<i64>> = BTreeMap::new();
            for (feature, cells) in features {
                groups.entry(cells).or_default().push(feature);
            }
            (start, groups)
        })
        .collect()
}

/// The folded columns, in the tables' order after `server_id`.
fn folded(kind: Kind) -> String {
    format!(
        "{}, max(distinct_users), max(distinct_hosts)",
        load_totals(kind)
    )
}

const COLUMNS: &str = "server_id, peak_in_use, peak_desired, used_seconds, desired_seconds, \
                       denials, checkouts, distinct_users, distinct_hosts";

/// Replaces month `m`'s cells `cells` (all when `None`) of features `ids` by the fold of their
/// hourly rows: the hours of those cells in the month, by the hourly rows' primary key.
async fn refold_month(
    conn: &mut Conn,
    kind: Kind,
    m: i64,
    cells: Option<&BTreeSet<i64>>,
    ids: &[i64],
) -> Result<(), StoreError> {
    if cells.is_some_and(BTreeSet::is_empty) {
        return Ok(());
    }
    let next = Grain::Month.next(m);
    let hours: Vec<i64> = match cells {
        None => Vec::new(),
        Some(cells) => {
            let mut hours = Vec::new();
            for &c in cells {
                let mut h = m + (c - cell_of(m)).rem_euclid(WEEK);
                while h < next {
                    hours.push(h);
                    h += WEEK;
                }
            }
            hours
        }
    };
    let list = placeholders(ids.len());
    let only_cells = cells.map_or(String::new(), |c| {
        format!(" AND cell IN ({})", placeholders(c.len()))
    });
    let mut q = query_built(format!(
        "DELETE FROM month_cell WHERE feature_id IN ({list}) AND month = ?{only_cells}"
    ));
    for &id in ids {
        q = q.bind(id);
    }
    q = q.bind(m);
    for &c in cells.into_iter().flatten() {
        q = q.bind(c);
    }
    q.execute(&mut *conn).await?;

    let only_hours = if cells.is_some() {
        format!(" AND hour IN ({})", placeholders(hours.len()))
    } else {
        String::new()
    };
    let cell = cell_sql("hour");
    let mut q = query_built(format!(
        "INSERT INTO month_cell (feature_id, month, cell, {COLUMNS})
         SELECT feature_id, ?, {cell}, max(server_id), {}
         FROM hour_rollup WHERE feature_id IN ({list}) AND hour >= ? AND hour < ?{only_hours}
         GROUP BY feature_id, {cell}",
        folded(kind)
    ))
    .bind(m);
    for &id in ids {
        q = q.bind(id);
    }
    q = q.bind(m).bind(next);
    for &h in &hours {
        q = q.bind(h);
    }
    q.execute(conn).await?;
    Ok(())
}

/// Replaces year `y`'s cells `cells` (all when `None`) of features `ids` by the fold of its
/// months' cells.
async fn refold_year(
    conn: &mut Conn,
    kind: Kind,
    y: i64,
    cells: Option<&BTreeSet<i64>>,
    ids: &[i64],
) -> Result<(), StoreError> {
    if cells.is_some_and(BTreeSet::is_empty) {
        return Ok(());
    }
    let list = placeholders(ids.len());
    let only_cells = cells.map_or(String::new(), |c| {
        format!(" AND cell IN ({})", placeholders(c.len()))
    });
    let bind = |mut q: crate::db::Query<'static>, months: &[i64]| {
        for &id in ids {
            q = q.bind(id);
        }
        for &m in months {
            q = q.bind(m);
        }
        for &c in cells.into_iter().flatten() {
            q = q.bind(c);
        }
        q
    };
    let q = query_built(format!(
        "DELETE FROM year_cell WHERE feature_id IN ({list}) AND year = ?{only_cells}"
    ));
    bind(q, &[y]).execute(&mut *conn).await?;
    // The year's month starts, probed by the month cells' primary key.
    let mut months = Vec::with_capacity(12);
    let mut m = y;
    while m < Period::Year.next(y) {
        months.push(m);
        m = Grain::Month.next(m);
    }
    let q = query_built(format!(
        "INSERT INTO year_cell (feature_id, year, cell, {COLUMNS})
         SELECT feature_id, ?, cell, max(server_id), {}
         FROM month_cell WHERE feature_id IN ({list}) AND month IN ({}){only_cells}
         GROUP BY feature_id, cell",
        folded(kind),
        placeholders(months.len())
    ))
    .bind(y);
    bind(q, &months).execute(conn).await?;
    Ok(())
}

/// Recomputes every cell from the hourly rows, a month of every feature per transaction: for a
/// history written before cells existed (migration 0022), or edited by hand.
pub(crate) async fn rebuild(w: &mut crate::writer::Writer) -> Result<(), StoreError> {
    let rows = query("SELECT server_id, feature_id, min(hour), max(hour) FROM hour_rollup GROUP BY server_id, feature_id")
        .fetch_all(&mut w.conn)
        .await?;
    w.transaction(async |w| {
        for table in ["month_cell", "year_cell"] {
            query_built(format!("DELETE FROM {table}"))
                .execute(&mut w.conn)
                .await?;
        }
        Ok(())
    })
    .await?;
    // Per month, the features with hours in it.
    let mut months: BTreeMap<i64, BTreeMap<FeatureKey, Vec<Range<i64>>>> = BTreeMap::new();
    for r in &rows {
        let key = FeatureKey {
            server: r.get(0)?,
            feature: r.get(1)?,
        };
        let (first, last): (i64, i64) = (r.get(2)?, r.get(3)?);
        let mut m = Grain::Month.start(first);
        while m <= last {
            let next = Grain::Month.next(m);
            months.entry(m).or_default().insert(key, vec![m..next]);
            m = next;
        }
    }
    for (_, hours) in months {
        w.transaction(async |w| refresh(&mut w.conn, &hours).await)
            .await?;
    }
    query("UPDATE store_state SET value = 'ok' WHERE name = 'cell_rollups'")
        .execute(&mut w.conn)
        .await?;
    Ok(())
}

/// Which table a piece of a window is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Years,
    Months,
    Hours,
}

/// The pieces a window of hours `[from, to)` is read in: whole UTC years, whole months at
/// either end, the hours left (`i64::MIN`/`i64::MAX` unbounded).
fn pieces(from: i64, to: i64) -> Vec<(Source, Range<i64>)> {
    let year_ceil = |t: i64| {
        let y = Period::Year.start(t);
        if y == t { y } else { Period::Year.next(y) }
    };
    let a = if from == i64::MIN {
        from
    } else {
        year_ceil(from)
    };
    let b = if to == i64::MAX {
        to
    } else {
        Period::Year.start(to)
    };
    let mut out = Vec::new();
    if a < b {
        months_and_hours(from, a, &mut out);
        out.push((Source::Years, a..b));
        months_and_hours(b, to, &mut out);
    } else {
        months_and_hours(from, to, &mut out);
    }
    out
}

/// Whole months of `[from, to)` from the month cells, the rest from the hourly rows (a day's
/// cells are its hours), adjacent hours merged.
fn months_and_hours(from: i64, to: i64, out: &mut Vec<(Source, Range<i64>)>) {
    for (grain, r) in coarse::pieces(from, to, Grain::Month) {
        let what = match grain {
            Grain::Month => Source::Months,
            Grain::Day | Grain::Hour => Source::Hours,
        };
        match out.last_mut() {
            Some((Source::Hours, last)) if what == Source::Hours && last.end == r.start => {
                last.end = r.end;
            }
            _ => out.push((what, r)),
        }
    }
}

impl Store {
    /// The filter's hourly rows folded per hour of the UTC week (a heatmap's cells), per
    /// feature: each row's `hour` its cell ([`cell_of`]: a timestamp with the cell's weekday and
    /// hour of day), its load that of the cell's hours in the window ([`Load::add_hour`]), its
    /// distinct users and hosts the most of any one of those hours. Read from the year and
    /// month cells for the window's whole years and months and from the hourly rows for the
    /// rest, each piece folded in SQL: at most 168 rows per feature and piece. By cell, then
    /// server and feature.
    ///
    /// [`Load::add_hour`]: tally_core::rollup::Load::add_hour
    pub async fn week_cells(&self, filter: &RollupFilter) -> Result<Vec<HourRollup>, StoreError> {
        let (from, to) = filter.hours();
        let folded = folded(self.pool().kind());
        let mut cells: BTreeMap<(FeatureKey, i64), HourRollup> = BTreeMap::new();
        for (what, window) in pieces(from, to) {
            let (table, column, cell) = match what {
                Source::Years => ("year_cell", "year", "cell".to_string()),
                Source::Months => ("month_cell", "month", "cell".to_string()),
                Source::Hours => ("hour_rollup", "hour", cell_sql("hour")),
            };
            let select = format!("SELECT server_id, feature_id, {cell}, {folded} FROM {table}");
            let tail = format!(" GROUP BY server_id, feature_id, {cell}");
            let rows = self
                .read_window(filter, &select, column, window, &tail, hour_rollup)
                .await?;
            for r in rows {
                cells
                    .entry((r.feature, r.hour))
                    .and_modify(|c| {
                        c.load.add_hour(&r.load);
                        c.distinct_users = c.distinct_users.max(r.distinct_users);
                        c.distinct_hosts = c.distinct_hosts.max(r.distinct_hosts);
                    })
                    .or_insert(r);
            }
        }
        let mut out: Vec<HourRollup> = cells.into_values().collect();
        out.sort_by_key(|h| (h.hour, h.feature));
        Ok(out)
    }

    /// Rebuilds the heatmap cells if a migration asked for it.
    pub(crate) async fn rebuild_cells_if_asked(&self) -> Result<(), StoreError> {
        if self.asked("cell_rollups", "rebuild").await? {
            tracing::info!("computing the heatmap cells of the stored history");
            self.write(|w| Box::pin(async move { rebuild(w).await }))
                .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2024-03-01T00:00Z.
    const MAR: i64 = 1_709_251_200;
    /// 2024-01-01T00:00Z, 2025-01-01T00:00Z.
    const Y2024: i64 = 1_704_067_200;
    const Y2025: i64 = 1_735_689_600;

    #[test]
    fn a_window_is_read_as_years_then_months_then_hours() {
        let from = MAR + 5 * DAY + 7 * HOUR;
        let to = Y2025 + 40 * DAY + 2 * HOUR;
        let apr = Grain::Month.next(MAR);
        let feb25 = Grain::Month.next(Y2025);
        assert_eq!(
            pieces(from, to),
            vec![
                (Source::Hours, from..apr),
                (Source::Months, apr..feb25),
                (Source::Hours, feb25..to),
            ]
        );
        assert_eq!(
            pieces(Y2024 - 3 * HOUR, Y2025 + HOUR),
            vec![
                (Source::Hours, Y2024 - 3 * HOUR..Y2024),
                (Source::Years, Y2024..Y2025),
                (Source::Hours, Y2025..Y2025 + HOUR),
            ]
        );
        assert_eq!(
            pieces(i64::MIN, i64::MAX),
            vec![(Source::Years, i64::MIN..i64::MAX)]
        );
        assert_eq!(
            pieces(MAR + HOUR, MAR + 3 * HOUR),
            vec![(Source::Hours, MAR + HOUR..MAR + 3 * HOUR)]
        );
    }

    #[test]
    fn merged_cells_fold_as_hours_do_per_backend() {
        let sqlite = merge_clause(Kind::Sqlite, &MONTH_CELL);
        assert!(sqlite.starts_with("ON CONFLICT (feature_id, month, cell) DO UPDATE SET "));
        assert!(sqlite.contains("denials = denials + excluded.denials"));
        assert!(sqlite.contains("distinct_users = max(distinct_users, excluded.distinct_users)"));
        let pg = merge_clause(Kind::Postgres, &YEAR_CELL);
        assert!(pg.starts_with("ON CONFLICT (feature_id, year, cell) DO UPDATE SET "));
        assert!(pg.contains("used_seconds = year_cell.used_seconds + EXCLUDED.used_seconds"));
        assert!(pg.contains("peak_in_use = GREATEST(year_cell.peak_in_use, EXCLUDED.peak_in_use)"));
        let mysql = merge_clause(Kind::MySql, &MONTH_CELL);
        assert!(mysql.starts_with("ON DUPLICATE KEY UPDATE "));
        assert!(
            mysql.contains("distinct_hosts = GREATEST(distinct_hosts, VALUES(distinct_hosts))")
        );
        // Every folded column, none of the key's, and the server (a feature's own) kept.
        for clause in [sqlite, pg, mysql] {
            for col in &MONTH_CELL.cols[4..] {
                assert_eq!(
                    clause.matches(&format!("{col} = ")).count(),
                    1,
                    "{col}: {clause}"
                );
            }
            assert!(!clause.contains("server_id ="), "{clause}");
        }
    }

    #[test]
    fn new_hours_fold_per_month_and_year_cell() {
        let key = FeatureKey {
            server: 1,
            feature: 7,
        };
        let hour = |t: i64, used: u64, users: u32| HourRollup {
            feature: key,
            hour: t,
            load: tally_core::rollup::Load {
                peak_in_use: u64::from(users),
                used_seconds: used,
                checkouts: 1,
                ..Default::default()
            },
            distinct_users: users,
            distinct_hosts: 1,
        };
        let apr = Grain::Month.next(MAR);
        // Two Fridays 09:00 of March, one of April (four weeks on), and 10:00.
        let mut cells = NewCells::default();
        cells.add(&[
            hour(MAR + 9 * HOUR, 100, 1),
            hour(MAR + WEEK + 9 * HOUR, 200, 3),
            hour(MAR + 10 * HOUR, 50, 1),
        ]);
        cells.add(&[hour(MAR + 5 * WEEK + 9 * HOUR, 400, 2)]);
        assert!(MAR + 5 * WEEK + 9 * HOUR >= apr);
        let nine = cell_of(MAR + 9 * HOUR);
        let march = &cells.months[&(7, MAR, nine)];
        assert_eq!(
            (
                march.load.used_seconds,
                march.load.checkouts,
                march.load.peak_in_use
            ),
            (300, 2, 3)
        );
        assert_eq!((march.distinct_users, march.hour), (3, nine));
        assert_eq!(cells.months[&(7, apr, nine)].load.used_seconds, 400);
        let year = &cells.years[&(7, Y2024, nine)];
        assert_eq!((year.load.used_seconds, year.distinct_users), (700, 3));
        assert_eq!((cells.months.len(), cells.years.len()), (3, 2));
    }

    #[test]
    fn cells_are_hours_of_the_week_floored_before_1970_too() {
        for t in [-WEEK - HOUR, -HOUR, 0, HOUR, MAR + 5 * HOUR] {
            let sql_like = ((t % WEEK) + WEEK) % WEEK;
            assert_eq!(sql_like, cell_of(t), "{t}");
            assert_eq!(
                tally_core::period::Weekday::of(cell_of(t)),
                tally_core::period::Weekday::of(t)
            );
            assert_eq!(
                tally_core::period::hour_of_day(cell_of(t)),
                tally_core::period::hour_of_day(t)
            );
        }
    }
}
