//! Tally's own licence in the store (tally-core `licence` decides; this counts and keeps):
//! the installed licence file, the usage counted exactly as seeds 002 and 003 say, each
//! server's license-manager version history, and the incidents recorded per violation.
//!
//! How usage is counted, from the hourly `user_hour` rollups (every source: polls, open
//! checkouts, imports, denials) through tally-core's `users` rules:
//!
//! | licence | count | servers | window |
//! | --- | --- | --- | --- |
//! | 2019 | unique usernames, and hosts | all | all history, denials included |
//! | 2013 | realtime users (User-Host or Username) | polled | the hours overlapping the last 14 days, denials never |
//! | 2013 | imported users | not polled | all history, denials never |
//! | 2013 | realtime servers | enabled, polled, not "License Exceeded" | now |
//! | 2013 | imported servers | not polled, an import run active in the last 3 months | 3 calendar months |
//! | 2019 | servers | monitored as above, or with imported data (sessions or denials) | now / all history |
//!
//! Counting from hourly rows makes the 14-day window exact to the hour: a user seen in an hour
//! that overlaps the window counts. A server is "polled" when it has a poller format.
//! License Harvesting agents are counted by their owner (online agents with harvesting on)
//! and passed in.

use std::collections::{BTreeMap, HashSet};

use serde::Serialize;
use tally_core::RemoteStatus;
use tally_core::licence::{
    Counted, Counts, ImportTarget, Licence, Limits, ManagerVersion, Model, PollCheck, Row,
    ServerCandidate, Subject, Usage, Usage2013, Usage2019, UserAtHost, Violation, day_end,
    imported_servers_since,
};
use tally_core::licence::{DottedVersion, REALTIME_USER_DAYS};
use tally_core::period::{DAY, hour_start};
use tally_core::rollup::Grain;
use tally_core::users::{self, Counting, Rule, Seen};

use crate::db::query_built;
use crate::db::{Row as DbRow, query};
use crate::writer::now as clock;
use crate::{ServerId, Store, StoreError};

/// A licence file as installed (its signature is checked by whoever reads it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstalledLicence {
    pub id: i64,
    pub text: String,
    pub installed_at: i64,
}

/// Which check found a violation: a later check of the same scope that no longer finds it
/// closes its incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", content = "server", rename_all = "kebab-case")]
pub enum IncidentScope {
    /// `licence::assess`: the installation's state.
    Assessment,
    /// `licence::check_poll` for one server.
    Poll(ServerId),
    /// `licence::admit_servers`.
    Servers,
    /// `licence::admit_import`.
    Import,
    /// `licence::admit_harvesting`.
    Harvesting,
}

impl IncidentScope {
    fn key(self) -> String {
        match self {
            IncidentScope::Assessment => "assessment".into(),
            IncidentScope::Poll(id) => format!("poll:{id}"),
            IncidentScope::Servers => "servers".into(),
            IncidentScope::Import => "import".into(),
            IncidentScope::Harvesting => "harvesting".into(),
        }
    }

    fn parse(key: &str) -> Option<IncidentScope> {
        match key {
            "assessment" => Some(IncidentScope::Assessment),
            "servers" => Some(IncidentScope::Servers),
            "import" => Some(IncidentScope::Import),
            "harvesting" => Some(IncidentScope::Harvesting),
            _ => key
                .strip_prefix("poll:")
                .and_then(|id| id.parse().ok())
                .map(IncidentScope::Poll),
        }
    }
}

/// A violation as recorded: one per row and subject while it persists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Incident {
    pub id: i64,
    pub scope: IncidentScope,
    pub row: Row,
    pub subject: Subject,
    /// The latest message.
    pub message: String,
    pub opened_at: i64,
    pub last_seen: i64,
    pub closed_at: Option<i64>,
    /// When its notification went out; `None`: due (where notifications are configured).
    pub notified_at: Option<i64>,
}

/// Whose sightings to read.
#[derive(Debug, Clone, Copy)]
enum Servers {
    All,
    Polled,
    NotPolled,
}

/// A server monitored now: enabled, polled, not refused for the server limit.
const MONITORED: &str =
    "s.enabled = ? AND s.poll_format IS NOT NULL AND s.remote_status <> 'License Exceeded'";
/// A server with imported data.
const IMPORTED_DATA: &str = "EXISTS (SELECT 1 FROM import_run r WHERE r.server_id = s.id AND (r.sessions > 0 OR r.denials > 0))";
/// Its import runs with data: a BIGINT on every backend (PostgreSQL decodes no narrower
/// integer as i64, and a CASE gives one).
const IMPORTED_RUNS: &str = "(SELECT count(*) FROM import_run r WHERE r.server_id = s.id AND (r.sessions > 0 OR r.denials > 0))";

impl Store {
    /// Installs a licence file (the caller has verified it): it is in force from now on.
    pub async fn install_licence(&self, text: &str) -> Result<i64, StoreError> {
        let text = text.to_string();
        self.write(move |w| {
            Box::pin(async move {
                w.transaction(async |w| {
                    let now = clock();
                    query("UPDATE licence_file SET retired_at = ? WHERE retired_at IS NULL")
                        .bind(now)
                        .execute(&mut w.conn)
                        .await?;
                    query(
                        "INSERT INTO licence_file (text, installed_at) VALUES (?, ?) RETURNING id",
                    )
                    .bind(&text)
                    .bind(now)
                    .scalar(&mut w.conn)
                    .await
                })
                .await
            })
        })
        .await
    }

    /// Retires the installed licence file: the Community licence is in force. Whether one was.
    pub async fn remove_licence(&self) -> Result<bool, StoreError> {
        self.write(move |w| {
            Box::pin(async move {
                let n = query("UPDATE licence_file SET retired_at = ? WHERE retired_at IS NULL")
                    .bind(clock())
                    .execute(&mut w.conn)
                    .await?;
                Ok(n > 0)
            })
        })
        .await
    }

    /// The licence file in force; `None`: the built-in Community licence.
    pub async fn installed_licence(&self) -> Result<Option<InstalledLicence>, StoreError> {
        let row = query(
            "SELECT id, text, installed_at FROM licence_file WHERE retired_at IS NULL ORDER BY id DESC LIMIT 1",
        )
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| {
            Ok(InstalledLicence {
                id: r.get(0)?,
                text: r.get(1)?,
                installed_at: r.get(2)?,
            })
        })
        .transpose()
    }

    /// The usage `licence` is judged on at `now` (see the module's table).
    /// `harvesting_agents`: agents online now with License Harvesting enabled.
    pub async fn licence_usage(
        &self,
        licence: &Licence,
        now: i64,
        harvesting_agents: u64,
    ) -> Result<Usage, StoreError> {
        let earliest_data = query(
            "SELECT min(m) FROM (SELECT (SELECT min(hour) FROM hour_rollup h WHERE h.feature_id = f.id) AS m
             FROM feature f) x",
        )
        .scalar::<Option<i64>>(self.pool())
        .await?;
        let counts = match licence.terms.limits {
            Limits::Model2019(_) => {
                let seen = self.named_sightings(Servers::All, None, now).await?;
                let c = users::count(seen.iter().map(|s| s.seen), &Rule::model_2019());
                let servers = self.server_counts().await?;
                Counts::Model2019(Usage2019 {
                    users: c.users,
                    hosts: c.hosts,
                    monitored_servers: servers.monitored,
                    imported_servers: servers.imported,
                    servers: servers.either,
                    harvesting_agents,
                })
            }
            Limits::Model2013(l) => {
                let (from, rule) = realtime_2013(l.counting, now);
                let realtime = self
                    .named_sightings(Servers::Polled, Some(from), now)
                    .await?;
                let imported = self.named_sightings(Servers::NotPolled, None, now).await?;
                let servers = self.server_counts().await?;
                let imported_servers = query(
                    "SELECT count(DISTINCT r.server_id) FROM import_run r JOIN license_server s ON s.id = r.server_id
                     WHERE s.poll_format IS NULL AND r.updated_at >= ?",
                )
                .bind(imported_servers_since(now))
                .scalar::<i64>(self.pool())
                .await?;
                Counts::Model2013(Usage2013 {
                    realtime_users: users::count(realtime.iter().map(|s| s.seen), &rule).users,
                    imported_users: users::count(
                        imported.iter().map(|s| s.seen),
                        &Rule::model_2013_imported(l.counting),
                    )
                    .users,
                    realtime_servers: servers.monitored,
                    imported_servers: u64::try_from(imported_servers).unwrap_or(0),
                })
            }
        };
        Ok(Usage {
            counts,
            earliest_data,
        })
    }

    /// Who counts against the user limit a poll could exceed, by name: Model 2019, every
    /// username and host over all history; Model 2013, the realtime users of the last 14 days.
    /// Keep it and [`Counted::add`] each saved poll's users; read it again now and then (the
    /// 14-day window slides, data is removed).
    pub async fn licence_counted(
        &self,
        licence: &Licence,
        now: i64,
    ) -> Result<Counted, StoreError> {
        let (servers, from, rule, counting) = match licence.terms.limits {
            Limits::Model2019(_) => (Servers::All, None, Rule::model_2019(), Counting::Username),
            Limits::Model2013(l) => {
                let (from, rule) = realtime_2013(l.counting, now);
                (Servers::Polled, Some(from), rule, l.counting)
            }
        };
        let mut counted = Counted::new(counting);
        for s in self.named_sightings(servers, from, now).await? {
            if rule.counts(&s.seen) {
                counted.add(&s.names);
            }
        }
        Ok(counted)
    }

    /// What the poll of `server` about to be saved brings: its users not counted yet (by
    /// `counted`, from [`Store::licence_counted`]) and the server's manager version.
    pub async fn licence_poll_check(
        &self,
        licence: &Licence,
        counted: &Counted,
        server: ServerId,
        users: &[UserAtHost],
    ) -> Result<PollCheck, StoreError> {
        let version = self.manager_version(server, licence).await?;
        Ok(poll_check(licence, counted, server, users, version))
    }

    /// Shows a licence decision in `server`'s Remote status (`tally_core::status::under_licence`
    /// decides): "License Exceeded" (not monitored, past the server limit), Disabled (Model
    /// 2013's run-time restricted access mode), or Verifying once the licence frees it. A
    /// server shown "License Exceeded" is not counted as monitored.
    pub async fn set_licence_remote_status(
        &self,
        server: ServerId,
        status: RemoteStatus,
        reason: Option<&str>,
    ) -> Result<(), StoreError> {
        let reason = reason.map(str::to_string);
        self.write(move |w| {
            Box::pin(async move {
                let n = query(
                    "UPDATE license_server SET remote_status = ?, remote_reason = ? WHERE id = ?",
                )
                .bind(status.as_str())
                .bind(&reason)
                .bind(server)
                .execute(&mut w.conn)
                .await?;
                if n == 0 {
                    return Err(StoreError::NoSuchServerId(server));
                }
                Ok(())
            })
        })
        .await
    }

    /// Records the license-manager version `server` shows at `at`; whether it is new (the
    /// first seen, or a change).
    pub async fn record_manager_version(
        &self,
        server: ServerId,
        version: &str,
        at: i64,
    ) -> Result<bool, StoreError> {
        let version = version.trim().to_string();
        self.write(move |w| {
            Box::pin(async move {
                w.transaction(async |w| {
                    let latest: Option<String> = query(
                        "SELECT v.version FROM server_manager_version v JOIN license_server s ON s.id = v.server_id
                         WHERE v.server_id = ? AND v.since >= s.created_at ORDER BY v.since DESC LIMIT 1",
                    )
                    .bind(server)
                    .scalar_optional(&mut w.conn)
                    .await?;
                    if latest.as_deref() == Some(version.as_str()) {
                        return Ok(false);
                    }
                    query("INSERT INTO server_manager_version (server_id, version, since) VALUES (?, ?, ?)")
                        .bind(server)
                        .bind(&version)
                        .bind(at)
                        .execute(&mut w.conn)
                        .await?;
                    Ok(true)
                })
                .await
            })
        })
        .await
    }

    /// The manager version each server showed last, by server.
    pub async fn latest_manager_versions(&self) -> Result<BTreeMap<ServerId, String>, StoreError> {
        let rows = query(
            "SELECT v.server_id, v.version FROM server_manager_version v JOIN license_server s ON s.id = v.server_id
             WHERE v.since >= s.created_at ORDER BY v.since",
        )
        .fetch_all(self.pool())
        .await?;
        let mut latest = BTreeMap::new();
        for r in &rows {
            latest.insert(r.get::<ServerId>(0)?, r.get::<String>(1)?);
        }
        Ok(latest)
    }

    /// `server`'s manager version now, since when, and what it ran when the licence's
    /// maintenance ended (for a server created after, the highest version of its manager
    /// monitored on any server before). `None` when no readable version was recorded.
    pub async fn manager_version(
        &self,
        server: ServerId,
        licence: &Licence,
    ) -> Result<Option<ManagerVersion>, StoreError> {
        let rows = query(
            "SELECT v.version, v.since FROM server_manager_version v JOIN license_server s ON s.id = v.server_id
             WHERE v.server_id = ? AND v.since >= s.created_at ORDER BY v.since",
        )
        .bind(server)
        .fetch_all(self.pool())
        .await?;
        let mut history = Vec::with_capacity(rows.len());
        for r in &rows {
            history.push((r.get::<String>(0)?, r.get::<i64>(1)?));
        }
        let Some((current, since)) = history.last().cloned() else {
            return Ok(None);
        };
        let Some(current) = DottedVersion::parse(&current) else {
            return Ok(None);
        };
        let Some(end) = licence.terms.maintenance_end.map(day_end) else {
            return Ok(Some(ManagerVersion {
                current,
                since,
                before_maintenance_end: None,
            }));
        };
        let own = history
            .iter()
            .rev()
            .find(|(_, t)| *t < end)
            .and_then(|(v, _)| DottedVersion::parse(v));
        let before = match own {
            Some(v) => Some(v),
            None => {
                let rows = query(
                    "SELECT v.version FROM server_manager_version v JOIN license_server s ON s.id = v.server_id
                     WHERE s.manager = (SELECT manager FROM license_server WHERE id = ?)
                       AND v.since < ? AND v.since >= s.created_at",
                )
                .bind(server)
                .bind(end)
                .fetch_all(self.pool())
                .await?;
                let mut best: Option<DottedVersion> = None;
                for r in &rows {
                    if let Some(v) = DottedVersion::parse(&r.get::<String>(0)?) {
                        best = Some(best.map_or(v.clone(), |b| b.max(v)));
                    }
                }
                best
            }
        };
        Ok(Some(ManagerVersion {
            current,
            since,
            before_maintenance_end: before,
        }))
    }

    /// The enabled polled servers, oldest first, for `licence::admit_servers`; counted when
    /// they have imported data (Model 2019 counts those already).
    pub async fn licence_server_candidates(
        &self,
        licence: &Licence,
    ) -> Result<Vec<ServerCandidate>, StoreError> {
        let rows = query_built(format!(
            "SELECT s.id, {IMPORTED_RUNS} FROM license_server s
             WHERE s.enabled = ? AND s.poll_format IS NOT NULL ORDER BY s.created_at, s.id"
        ))
        .bind(true)
        .fetch_all(self.pool())
        .await?;
        let model = licence.terms.model();
        rows.iter()
            .map(|r| {
                Ok(ServerCandidate {
                    server: r.get(0)?,
                    counted: model == Model::Model2019 && r.get::<i64>(1)? > 0,
                })
            })
            .collect()
    }

    /// What an import into the server called `name` (created if missing) is to the licence at
    /// `now`, for `licence::admit_import`.
    pub async fn licence_import_target(
        &self,
        licence: &Licence,
        name: &str,
        denials_only: bool,
        now: i64,
    ) -> Result<ImportTarget, StoreError> {
        let row = query_built(format!(
            "SELECT s.poll_format, s.enabled, s.remote_status, {IMPORTED_RUNS},
                    (SELECT max(r.updated_at) FROM import_run r WHERE r.server_id = s.id)
             FROM license_server s WHERE s.name = ?"
        ))
        .bind(name)
        .fetch_optional(self.pool())
        .await?;
        let Some(r) = row else {
            return Ok(ImportTarget::Uncounted);
        };
        let polled = r.get::<Option<String>>(0)?.is_some();
        // As `MONITORED`.
        let monitored = polled
            && r.get::<bool>(1)?
            && r.get::<String>(2)? != RemoteStatus::LicenseExceeded.as_str();
        let imported = r.get::<i64>(3)? > 0;
        let last_import: Option<i64> = r.get(4)?;
        if polled && denials_only {
            return Ok(ImportTarget::DenialsOntoRealtime);
        }
        let counted = match licence.terms.model() {
            Model::Model2019 => monitored || imported,
            Model::Model2013 => {
                !polled && last_import.is_some_and(|t| t >= imported_servers_since(now))
            }
        };
        Ok(if counted {
            ImportTarget::Counted
        } else {
            ImportTarget::Uncounted
        })
    }

    /// Records what a check of `scope` found at `now`: an incident per violation (row and
    /// subject), kept while it persists; the scope's open incidents it no longer finds are
    /// closed. Returns the incidents opened now: the notifications due.
    pub async fn record_licence_incidents(
        &self,
        scope: IncidentScope,
        found: &[Violation],
        now: i64,
    ) -> Result<Vec<Incident>, StoreError> {
        let found: Vec<(String, String, String)> = found
            .iter()
            .map(|v| (v.row.name(), v.subject.key(), v.message.clone()))
            .collect();
        let scope_key = scope.key();
        let opened_ids = self
            .write(move |w| {
                Box::pin(async move {
                    w.transaction(async |w| {
                        let open = query(
                            "SELECT id, row_name, subject FROM licence_incident WHERE scope = ? AND closed_at IS NULL",
                        )
                        .bind(&scope_key)
                        .fetch_all(&mut w.conn)
                        .await?;
                        let mut kept = HashSet::new();
                        let mut opened = Vec::new();
                        for (row, subject, message) in &found {
                            let existing = open.iter().find_map(|r| {
                                let same = r.get::<String>(1).ok().as_ref() == Some(row)
                                    && r.get::<String>(2).ok().as_ref() == Some(subject);
                                same.then(|| r.get::<i64>(0).ok()).flatten()
                            });
                            match existing {
                                Some(id) => {
                                    kept.insert(id);
                                    query("UPDATE licence_incident SET last_seen = ?, message = ? WHERE id = ?")
                                        .bind(now)
                                        .bind(message)
                                        .bind(id)
                                        .execute(&mut w.conn)
                                        .await?;
                                }
                                None => {
                                    let id: i64 = query(
                                        "INSERT INTO licence_incident (scope, row_name, subject, message, opened_at, last_seen)
                                         VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                                    )
                                    .bind(&scope_key)
                                    .bind(row)
                                    .bind(subject)
                                    .bind(message)
                                    .bind(now)
                                    .bind(now)
                                    .scalar(&mut w.conn)
                                    .await?;
                                    kept.insert(id);
                                    opened.push(id);
                                }
                            }
                        }
                        for r in &open {
                            let id: i64 = r.get(0)?;
                            if !kept.contains(&id) {
                                query("UPDATE licence_incident SET closed_at = ? WHERE id = ?")
                                    .bind(now)
                                    .bind(id)
                                    .execute(&mut w.conn)
                                    .await?;
                            }
                        }
                        Ok(opened)
                    })
                    .await
                })
            })
            .await?;
        let mut out = Vec::with_capacity(opened_ids.len());
        for id in opened_ids {
            let r = query_built(format!("{INCIDENT_COLUMNS} WHERE id = ?"))
                .bind(id)
                .fetch_one(self.pool())
                .await?;
            out.push(incident(&r)?);
        }
        Ok(out)
    }

    /// Incidents, newest first: the open ones only, or all; at most `limit`.
    pub async fn licence_incidents(
        &self,
        open_only: bool,
        limit: i64,
    ) -> Result<Vec<Incident>, StoreError> {
        let rows = query_built(format!(
            "{INCIDENT_COLUMNS} WHERE (? = 0 OR closed_at IS NULL) ORDER BY id DESC LIMIT ?"
        ))
        .bind(i64::from(open_only))
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(incident).collect()
    }

    /// Marks an incident's notification sent.
    pub async fn mark_licence_incident_notified(&self, id: i64, at: i64) -> Result<(), StoreError> {
        self.write(move |w| {
            Box::pin(async move {
                query("UPDATE licence_incident SET notified_at = ? WHERE id = ?")
                    .bind(at)
                    .bind(id)
                    .execute(&mut w.conn)
                    .await?;
                Ok(())
            })
        })
        .await
    }

    /// One sighting per user-host pair of `servers`' hourly rows from `from` (an instant; the
    /// rows of the hours overlapping it on) to `now`, with the names. All history (`from`
    /// `None`) is read from the month rows before `now`'s month and the hourly rows of that
    /// month: the same pairs and peaks from a row per user, host, feature and month instead of
    /// one per hour (every import ends with this read); its sightings' start and end are then
    /// those of months, which an all-history rule does not look at.
    async fn named_sightings(
        &self,
        servers: Servers,
        from: Option<i64>,
        now: i64,
    ) -> Result<Vec<Named>, StoreError> {
        let polled = match servers {
            Servers::All => None,
            Servers::Polled => Some("IS NOT NULL"),
            Servers::NotPolled => Some("IS NULL"),
        };
        // Hourly rows are read as their features' ranges of the primary key, `(feature_id,
        // hour, …)`: no index leads with the server.
        let rows_of = |table: &str, col: &str, window: &str| {
            let scope = match (polled, col) {
                (None, _) => String::new(),
                (Some(polled), "hour") => format!(
                    " AND x.feature_id IN (SELECT f.id FROM feature f JOIN license_server s ON s.id = f.server_id
                       WHERE s.poll_format {polled})"
                ),
                (Some(polled), _) => format!(
                    " AND x.server_id IN (SELECT id FROM license_server WHERE poll_format {polled})"
                ),
            };
            format!(
                "SELECT x.user_id, x.host_id, x.{col} AS p, x.peak_in_use FROM {table} x WHERE {window}{scope}"
            )
        };
        let (sql, bounds) = match from {
            Some(from) => (
                rows_of("user_hour", "hour", "x.hour >= ? AND x.hour <= ?"),
                vec![hour_start(from), now],
            ),
            None => {
                let month = Grain::Month.start(now);
                (
                    format!(
                        "{} UNION ALL {}",
                        rows_of("user_month", "month", "x.month < ?"),
                        rows_of("user_hour", "hour", "x.hour >= ? AND x.hour <= ?")
                    ),
                    vec![month, month, now],
                )
            }
        };
        // Grouped by ids first, then named: grouping by the names too sorted every row by text.
        let mut q = query_built(format!(
            "SELECT s.user_id, s.host_id, s.a, s.b, s.peak, u.name, h.name
             FROM (SELECT y.user_id, y.host_id, min(y.p) AS a, max(y.p) AS b, max(y.peak_in_use) AS peak
                   FROM ({sql}) y GROUP BY y.user_id, y.host_id) s
             JOIN \"user\" u ON u.id = s.user_id JOIN host h ON h.id = s.host_id"
        ));
        for b in bounds {
            q = q.bind(b);
        }
        let rows = q.fetch_all(self.pool()).await?;
        rows.iter()
            .map(|r| {
                Ok(Named {
                    seen: Seen {
                        user: r.get(0)?,
                        host: r.get(1)?,
                        start: r.get(2)?,
                        end: r.get::<i64>(3)?.saturating_add(tally_core::period::HOUR),
                        denied_only: r.get::<i64>(4)? == 0,
                    },
                    names: UserAtHost {
                        user: r.get(5)?,
                        host: r.get(6)?,
                    },
                })
            })
            .collect()
    }

    async fn server_counts(&self) -> Result<ServerCounts, StoreError> {
        let r = query_built(format!(
            "SELECT (SELECT count(*) FROM license_server s WHERE {MONITORED}),
                    (SELECT count(*) FROM license_server s WHERE {IMPORTED_DATA}),
                    (SELECT count(*) FROM license_server s WHERE ({MONITORED}) OR {IMPORTED_DATA})"
        ))
        .bind(true)
        .bind(true)
        .fetch_one(self.pool())
        .await?;
        Ok(ServerCounts {
            monitored: r.get_u64(0)?,
            imported: r.get_u64(1)?,
            either: r.get_u64(2)?,
        })
    }
}

/// The start of Model 2013's realtime window at `now`, and its rule.
fn realtime_2013(counting: Counting, now: i64) -> (i64, Rule) {
    (
        now - i64::from(REALTIME_USER_DAYS) * DAY,
        Rule::model_2013_realtime(counting, now),
    )
}

struct Named {
    seen: Seen,
    names: UserAtHost,
}

struct ServerCounts {
    monitored: u64,
    imported: u64,
    either: u64,
}

const INCIDENT_COLUMNS: &str =
    "SELECT id, scope, row_name, subject, message, opened_at, last_seen, closed_at, notified_at
    FROM licence_incident";

fn incident(r: &DbRow) -> Result<Incident, StoreError> {
    let text = |i: usize| r.get::<String>(i);
    let bad =
        |what: &str, v: String| StoreError::Inconsistent(format!("licence incident {what} `{v}`"));
    Ok(Incident {
        id: r.get(0)?,
        scope: IncidentScope::parse(&text(1)?)
            .ok_or_else(|| bad("scope", text(1).unwrap_or_default()))?,
        row: Row::parse(&text(2)?).ok_or_else(|| bad("row", text(2).unwrap_or_default()))?,
        subject: Subject::parse(&text(3)?)
            .ok_or_else(|| bad("subject", text(3).unwrap_or_default()))?,
        message: text(4)?,
        opened_at: r.get(5)?,
        last_seen: r.get(6)?,
        closed_at: r.get(7)?,
        notified_at: r.get(8)?,
    })
}

/// [`Store::licence_poll_check`] with the server's manager version already read (by
/// [`Store::manager_version`]): a poller that keeps it between polls reads nothing per poll.
pub fn poll_check(
    licence: &Licence,
    counted: &Counted,
    server: ServerId,
    users: &[UserAtHost],
    manager_version: Option<ManagerVersion>,
) -> PollCheck {
    let newcomers = counted.newcomers(users);
    PollCheck {
        server,
        new_users: newcomers.users,
        new_hosts: match licence.terms.model() {
            Model::Model2019 => newcomers.hosts,
            Model::Model2013 => 0,
        },
        manager_version,
    }
}
