//! Each user's and each host's totals per feature and UTC month (`user_month_total`,
//! `host_month_total`, migration 0025): `user_month` folded over hosts, or over users. The users
//! and hosts reports over years and the users and hosts pages read these, a third of
//! `user_month`'s rows, through keys that follow what they ask: a feature's months, or a user's
//! (host's) rows with their totals in the index.
//!
//! **Polls never write them.** Polls add to the current month's `user_month` rows in place
//! (`poll_rollups.rs`: sessions as they end, what is open once an hour); folding those again,
//! or keeping an index of totals up to date, would cost those polls. So a server's month in
//! `poll_open_month`, the month its polled rows stand in (`license_server.rolled_to`), may lag
//! here, and reads take the open months from `user_month` instead ([`open_months`],
//! [`around_open`]). Every other (server, month) is exact: imports, re-rolls and rebuilds fold
//! the months they write ([`refresh`], called where `coarse` writes month rows), and when a
//! server's polled rows move on to another month the months they leave are folded here
//! ([`after_poll`]), after which no poll rewrites them (polls write from where the rows stand on).

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use tally_core::rollup::{FeatureKey, Grain, UserHour};

use crate::db::{Conn, Kind, query, query_built};
use crate::pages::Party;
use crate::rollups::{
    FEATURES_PER_STATEMENT, MAX_READ_ROWS, RollupFilter, load_totals, placeholders, user_hour,
};
use crate::{ServerId, Store, StoreError};

const LOADS: &str = "peak_in_use, peak_desired, used_seconds, desired_seconds, denials, checkouts";

/// The months whose totals polls may have left behind: `server`'s open month, or every
/// server's when `None` (a feature's read, whose server is not at hand). At most one per
/// server, none for a history only imported. Read apart, once per read, so the reads of the
/// totals are plain ranges of their keys (a condition per row on `poll_open_month` tripled
/// their cost).
pub(crate) async fn open_months(
    store: &Store,
    server: Option<ServerId>,
) -> Result<BTreeSet<i64>, StoreError> {
    let rows = match server {
        Some(s) => {
            query("SELECT month FROM poll_open_month WHERE server_id = ?")
                .bind(s)
                .fetch_all(store.pool())
                .await?
        }
        None => {
            query("SELECT month FROM poll_open_month")
                .fetch_all(store.pool())
                .await?
        }
    };
    rows.iter().map(|r| r.get(0)).collect()
}

/// `window` (whole months) cut around the `open` months: the ranges to read from the totals,
/// and the open months within it, to read from `user_month`. Reading a month from `user_month`
/// is always exact (the totals are its fold), so an open month of another server than the one
/// read only costs a few more rows.
pub(crate) fn around_open(window: Range<i64>, open: &BTreeSet<i64>) -> (Vec<Range<i64>>, Vec<i64>) {
    let mut closed = Vec::new();
    let mut months = Vec::new();
    let mut start = window.start;
    for &m in open.range(window.clone()) {
        if start < m {
            closed.push(start..m);
        }
        months.push(m);
        start = Grain::Month.next(m);
    }
    if start < window.end {
        closed.push(start..window.end);
    }
    (closed, months)
}

/// The ranges of `window` (whole months) and the table each is read from: the totals of
/// `party`, or `user_month` for the open months.
pub(crate) fn month_sources(
    party: Party,
    window: Range<i64>,
    open: &BTreeSet<i64>,
) -> Vec<(&'static str, Range<i64>)> {
    let (closed, months) = around_open(window, open);
    closed
        .into_iter()
        .map(|r| (party.totals(), r))
        .chain(
            months
                .into_iter()
                .map(|m| ("user_month", m..Grain::Month.next(m))),
        )
        .collect()
}

impl Party {
    pub(crate) fn totals(self) -> &'static str {
        match self {
            Party::User => "user_month_total",
            Party::Host => "host_month_total",
        }
    }
}

/// Folds the totals of `months` (each with its features) again from their `user_month` rows.
/// Runs in the transaction that wrote those rows.
pub(crate) async fn refresh(
    conn: &mut Conn,
    months: &BTreeMap<i64, BTreeSet<i64>>,
) -> Result<(), StoreError> {
    let kind = conn.kind();
    let sums = format!(
        "max(peak_in_use), max(peak_desired), {}, {}, {}, {}",
        kind.sum("used_seconds"),
        kind.sum("desired_seconds"),
        kind.sum("denials"),
        kind.sum("checkouts")
    );
    for (&month, features) in months {
        let features: Vec<i64> = features.iter().copied().collect();
        for ids in features.chunks(FEATURES_PER_STATEMENT) {
            let list = placeholders(ids.len());
            for party in [Party::User, Party::Host] {
                let (table, col) = (party.totals(), party.column());
                let mut q = query_built(format!(
                    "DELETE FROM {table} WHERE feature_id IN ({list}) AND month = ?"
                ));
                for &id in ids {
                    q = q.bind(id);
                }
                q.bind(month).execute(&mut *conn).await?;
                let mut q = query_built(format!(
                    "INSERT INTO {table} (feature_id, month, {col}, server_id, {LOADS})
                     SELECT feature_id, month, {col}, max(server_id), {sums} FROM user_month
                     WHERE feature_id IN ({list}) AND month = ? GROUP BY feature_id, month, {col}"
                ));
                for &id in ids {
                    q = q.bind(id);
                }
                q.bind(month).execute(&mut *conn).await?;
            }
        }
    }
    Ok(())
}

/// After a poll of `server` added to the `user_month` rows of `months` in place
/// (`poll_rollups::extend`), its rows now standing at `at` (`rolled_to`): the server's open
/// month becomes `at`'s, and every other month polls may have left behind (those written, the
/// open month before) is folded. A poll within its server's open month, nearly all of those
/// that write, reads one row and writes nothing.
pub(crate) async fn after_poll(
    conn: &mut Conn,
    server: ServerId,
    at: i64,
    mut months: BTreeSet<i64>,
) -> Result<(), StoreError> {
    let open = Grain::Month.start(at);
    let stored: Option<i64> = query("SELECT month FROM poll_open_month WHERE server_id = ?")
        .bind(server)
        .scalar_optional(&mut *conn)
        .await?;
    months.extend(stored);
    months.remove(&open);
    if !months.is_empty() {
        let features: BTreeSet<i64> = query("SELECT id FROM feature WHERE server_id = ?")
            .bind(server)
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect::<Result<_, _>>()?;
        let stale = months.into_iter().map(|m| (m, features.clone())).collect();
        refresh(conn, &stale).await?;
    }
    if stored != Some(open) {
        query("DELETE FROM poll_open_month WHERE server_id = ?")
            .bind(server)
            .execute(&mut *conn)
            .await?;
        query("INSERT INTO poll_open_month (server_id, month) VALUES (?, ?)")
            .bind(server)
            .bind(open)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// The conditions on a rollup row `t` for the filter's scope, each with its parameters: one per
/// server when no server or feature is given, so every read is a range of its features' keys.
async fn scopes(
    store: &Store,
    filter: &RollupFilter,
) -> Result<Vec<(&'static str, Vec<i64>)>, StoreError> {
    const OF_SERVER: &str = "t.feature_id IN (SELECT id FROM feature WHERE server_id = ?)";
    Ok(match (filter.feature, filter.server) {
        (Some(f), Some(s)) => vec![("t.feature_id = ? AND t.server_id = ?", vec![f, s])],
        (Some(f), None) => vec![("t.feature_id = ?", vec![f])],
        (None, Some(s)) => vec![(OF_SERVER, vec![s])],
        (None, None) => query("SELECT id FROM license_server")
            .fetch_all(store.pool())
            .await?
            .iter()
            .map(|r| Ok((OF_SERVER, vec![r.get::<i64>(0)?])))
            .collect::<Result<_, StoreError>>()?,
    })
}

impl Store {
    /// The filter's per-user (or per-host) rows added up over its window, per feature: whole
    /// months from the month totals (each server's open month from `user_month`), whole days
    /// around them and the hours at the ends from the day and hourly rows, each piece added up
    /// in SQL. By feature and user (host); the other of the two is 0, a row's `hour` the start
    /// of its first period with a row. What [`Store::user_period_totals`] gives, added up per
    /// user or host: the users and hosts reports in a row per feature and user or host.
    pub async fn party_period_totals(
        &self,
        filter: &RollupFilter,
        party: Party,
    ) -> Result<Vec<UserHour>, StoreError> {
        let totals = load_totals(self.pool().kind());
        let col = party.column();
        // The other of user and host: 0, a 64-bit integer in every dialect.
        let zero = match self.pool().kind() {
            Kind::Sqlite => "0",
            Kind::Postgres => "CAST(0 AS BIGINT)",
            Kind::MySql => "CAST(0 AS SIGNED)",
        };
        let party_col = format!("t.{col}");
        let (user, host) = match party {
            Party::User => (party_col.as_str(), zero),
            Party::Host => (zero, party_col.as_str()),
        };
        let mut out: BTreeMap<(FeatureKey, i64, i64), UserHour> = BTreeMap::new();
        let (from, to) = filter.hours();
        for (grain, window) in crate::coarse::pieces(from, to, Grain::Month) {
            let mut rows = Vec::new();
            if grain == Grain::Month {
                let open = open_months(self, filter.server).await?;
                for (table, range) in month_sources(party, window, &open) {
                    for (scope, args) in scopes(self, filter).await? {
                        let mut q = query_built(format!(
                            "SELECT t.server_id, t.feature_id, min(t.month), {totals}, {user}, {host}
                             FROM {table} t WHERE {scope} AND t.month >= ? AND t.month < ?
                             GROUP BY t.server_id, t.feature_id, t.{col}"
                        ));
                        for &a in &args {
                            q = q.bind(a);
                        }
                        q = q.bind(range.start).bind(range.end);
                        let limit = MAX_READ_ROWS.saturating_sub(rows.len());
                        q.fetch_each(self.pool(), "the rollup rows", limit, |r| {
                            rows.push(user_hour(&r)?);
                            Ok(())
                        })
                        .await?;
                    }
                }
            } else {
                let t = crate::coarse::tables(grain);
                let select = format!(
                    "SELECT server_id, feature_id, min({}), {totals}, {}, {} FROM {}",
                    t.column,
                    if party == Party::User { col } else { zero },
                    if party == Party::Host { col } else { zero },
                    t.users
                );
                let group = format!(" GROUP BY server_id, feature_id, {col}");
                rows = self
                    .read_window(filter, &select, t.column, window, &group, user_hour)
                    .await?;
            }
            crate::coarse::fold_party_rows(&mut out, rows)?;
        }
        Ok(out.into_values().collect())
    }

    /// Checkouts and license-seconds of each of `ids` (users or hosts) over all history, of
    /// `server` only when given: from the month totals' index by user (host), server and month,
    /// each server's open month from `user_month`'s.
    pub async fn party_totals(
        &self,
        party: Party,
        ids: &[i64],
        server: Option<ServerId>,
    ) -> Result<BTreeMap<i64, (u64, u64)>, StoreError> {
        let mut out = BTreeMap::new();
        if ids.is_empty() {
            return Ok(out);
        }
        let kind = self.pool().kind();
        let col = party.column();
        let list = placeholders(ids.len());
        let open: Vec<i64> = open_months(self, server).await?.into_iter().collect();
        let on_server = if server.is_some() {
            " AND t.server_id = ?"
        } else {
            ""
        };
        // Through the totals' index by user (host), server and month, in its order; the open
        // months, if any, from `user_month`'s.
        let table = party.totals();
        let (checkouts, seconds) = (kind.sum("x.checkouts"), kind.sum("x.used_seconds"));
        let sql = if open.is_empty() {
            format!(
                "SELECT x.{col}, {checkouts}, {seconds} FROM {table} x
                 WHERE x.{col} IN ({list}){on_server} GROUP BY x.{col}",
                on_server = on_server.replace("t.", "x.")
            )
        } else {
            let months = placeholders(open.len());
            format!(
                "SELECT x.party, {checkouts}, {seconds} FROM (
                   SELECT t.{col} AS party, t.checkouts, t.used_seconds FROM {table} t
                   WHERE t.{col} IN ({list}){on_server} AND t.month NOT IN ({months})
                   UNION ALL
                   SELECT t.{col}, t.checkouts, t.used_seconds FROM user_month t
                   WHERE t.{col} IN ({list}){on_server} AND t.month IN ({months})
                 ) x GROUP BY x.party"
            )
        };
        let mut q = query_built(sql);
        let reads = if open.is_empty() { 1 } else { 2 };
        for _ in 0..reads {
            for &id in ids {
                q = q.bind(id);
            }
            if let Some(s) = server {
                q = q.bind(s);
            }
            for &m in &open {
                q = q.bind(m);
            }
        }
        for r in q.fetch_all(self.pool()).await? {
            out.insert(r.get::<i64>(0)?, (r.get_u64(1)?, r.get_u64(2)?));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_is_cut_around_its_open_months() {
        let m = |i: i64| {
            let mut t = 1_704_067_200; // 2024-01-01T00:00Z
            for _ in 0..i {
                t = Grain::Month.next(t);
            }
            t
        };
        let open = BTreeSet::from([m(2), m(5), m(20)]);
        assert_eq!(
            around_open(m(0)..m(12), &open),
            (vec![m(0)..m(2), m(3)..m(5), m(6)..m(12)], vec![m(2), m(5)])
        );
        // An open month at either end; none at all; unbounded.
        assert_eq!(
            around_open(m(2)..m(6), &open),
            (vec![m(3)..m(5)], vec![m(2), m(5)])
        );
        assert_eq!(around_open(m(6)..m(9), &open), (vec![m(6)..m(9)], vec![]));
        assert_eq!(
            around_open(i64::MIN..i64::MAX, &BTreeSet::from([m(1)])),
            (vec![i64::MIN..m(1), m(2)..i64::MAX], vec![m(1)])
        );
        assert_eq!(
            month_sources(Party::Host, m(0)..m(3), &open),
            vec![("host_month_total", m(0)..m(2)), ("user_month", m(2)..m(3))]
        );
    }
}
