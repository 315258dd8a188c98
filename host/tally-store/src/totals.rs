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
//! here, and reads take that month of that server from `user_month` instead ([`OPEN_MONTH`]).
//! Every other (server, month) is exact: imports, re-rolls and rebuilds fold the months they
//! write ([`refresh`], called where `coarse` writes month rows), and when a server's polled
//! rows move on to another month the months they leave are folded here ([`after_poll`]), after
//! which no poll rewrites them (polls write from where the rows stand on).

use std::collections::{BTreeMap, BTreeSet};

use tally_core::rollup::{FeatureKey, Grain, UserHour};

use crate::db::{Conn, Kind, query, query_built};
use crate::pages::Party;
use crate::rollups::{
    FEATURES_PER_STATEMENT, MAX_READ_ROWS, RollupFilter, load_totals, placeholders, user_hour,
};
use crate::{ServerId, Store, StoreError};

const LOADS: &str = "peak_in_use, peak_desired, used_seconds, desired_seconds, denials, checkouts";

/// The condition keeping a totals row `t` out because its server's polls may have left it behind.
/// Their rows come from `user_month` instead, read from the open months (a `CROSS JOIN`, which
/// SQLite keeps in the order written: the few open months first, then their rows by key).
pub(crate) const OPEN_MONTH: &str = "NOT EXISTS (SELECT 1 FROM poll_open_month o WHERE o.server_id = t.server_id AND o.month = t.month)";

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
        let (user, host) = match party {
            Party::User => ("x.party", zero),
            Party::Host => (zero, "x.party"),
        };
        let mut out: BTreeMap<(FeatureKey, i64, i64), UserHour> = BTreeMap::new();
        let (from, to) = filter.hours();
        for (grain, window) in crate::coarse::pieces(from, to, Grain::Month) {
            let mut rows = Vec::new();
            if grain == Grain::Month {
                let cols = format!(
                    "t.server_id, t.feature_id, t.month, t.{col} AS party, {}",
                    {
                        LOADS
                            .split(", ")
                            .map(|c| format!("t.{c}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                );
                for (scope, args) in scopes(self, filter).await? {
                    let mut q = query_built(format!(
                        "SELECT x.server_id, x.feature_id, min(x.month), {totals}, {user}, {host} FROM (
                           SELECT {cols} FROM {table} t
                           WHERE {scope} AND t.month >= ? AND t.month < ? AND {OPEN_MONTH}
                           UNION ALL
                           SELECT {cols} FROM poll_open_month o CROSS JOIN user_month t
                           WHERE t.server_id = o.server_id AND t.month = o.month AND {scope}
                             AND o.month >= ? AND o.month < ?
                         ) x GROUP BY x.server_id, x.feature_id, x.party",
                        table = party.totals()
                    ));
                    for _ in 0..2 {
                        for &a in &args {
                            q = q.bind(a);
                        }
                        q = q.bind(window.start).bind(window.end);
                    }
                    let limit = MAX_READ_ROWS.saturating_sub(rows.len());
                    q.fetch_each(self.pool(), "the rollup rows", limit, |r| {
                        rows.push(user_hour(&r)?);
                        Ok(())
                    })
                    .await?;
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
        let (on_totals, on_open) = match server {
            Some(_) => (" AND t.server_id = ?", " AND o.server_id = ?"),
            None => ("", ""),
        };
        let mut q = query_built(format!(
            "SELECT x.party, {}, {} FROM (
               SELECT t.{col} AS party, t.checkouts, t.used_seconds FROM {table} t
               WHERE t.{col} IN ({list}){on_totals} AND {OPEN_MONTH}
               UNION ALL
               SELECT t.{col}, t.checkouts, t.used_seconds FROM poll_open_month o CROSS JOIN user_month t
               WHERE t.server_id = o.server_id AND t.month = o.month AND t.{col} IN ({list}){on_open}
             ) x GROUP BY x.party",
            kind.sum("x.checkouts"),
            kind.sum("x.used_seconds"),
            table = party.totals()
        ));
        for _ in 0..2 {
            for &id in ids {
                q = q.bind(id);
            }
            if let Some(s) = server {
                q = q.bind(s);
            }
        }
        for r in q.fetch_all(self.pool()).await? {
            out.insert(r.get::<i64>(0)?, (r.get_u64(1)?, r.get_u64(2)?));
        }
        Ok(out)
    }
}
