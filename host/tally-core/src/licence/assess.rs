//! The decisions: given the licence, the usage counted from the store and the moment, which
//! rows of the seeds' tables hold, and what each limit's usage is.
//!
//! | question | function |
//! | --- | --- |
//! | Which violations hold now (restricted access mode when any restricts)? | [`assess`] |
//! | The licence, its limits with usage and percentage, and the violations | [`status`] |
//! | May this poll's data be saved? | [`check_poll`] |
//! | Which enabled realtime servers are monitored, which show "License Exceeded"? | [`admit_servers`] |
//! | May this import run? | [`admit_import`] |
//! | Which agents may harvest, which show "No License"? | [`admit_harvesting`] |

use chrono::{Days, NaiveDate};
use serde::Serialize;

use super::file::{Licence, Limits, Limits2013, Limits2019, Model, Terms};
use super::rows::{Condition, Moment, Outcome, Row, RowSpec};
use super::version::DottedVersion;
use crate::Timestamp;
use crate::rollup::Id;

/// The running Tally: its version and release date (for the licence's version and
/// maintenance).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Product {
    pub version: DottedVersion,
    pub released: NaiveDate,
}

/// Model 2019's counts (seed 003).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Usage2019 {
    /// Unique usernames over all history, from every source, denials included.
    pub users: u64,
    /// Hosts over all history.
    pub hosts: u64,
    /// Realtime servers monitored now (enabled, polled, not "License Exceeded").
    pub monitored_servers: u64,
    /// Servers with imported data.
    pub imported_servers: u64,
    /// Servers counted against the limit: monitored or with imported data, each once.
    pub servers: u64,
    /// Agents online now with License Harvesting enabled.
    pub harvesting_agents: u64,
}

/// Model 2013's counts (seed 002).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Usage2013 {
    /// Users on realtime servers over the last 14 days, denials not counted.
    pub realtime_users: u64,
    /// Users on imported servers over all history, denials not counted.
    pub imported_users: u64,
    /// Realtime servers actively monitored now (disabled ones not counted).
    pub realtime_servers: u64,
    /// Imported servers with imports in the last 3 months.
    pub imported_servers: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "model")]
pub enum Counts {
    #[serde(rename = "2019")]
    Model2019(Usage2019),
    #[serde(rename = "2013")]
    Model2013(Usage2013),
}

/// What the store counted for a licence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Usage {
    pub counts: Counts,
    /// The earliest moment with data (a Trial's start is checked against it).
    pub earliest_data: Option<Timestamp>,
}

impl Usage {
    /// Zero counts for `model`, nothing in the database.
    pub fn empty(model: Model) -> Usage {
        Usage {
            counts: match model {
                Model::Model2019 => Counts::Model2019(Usage2019::default()),
                Model::Model2013 => Counts::Model2013(Usage2013::default()),
            },
            earliest_data: None,
        }
    }

    /// These counts with the users and hosts `counted` knows: a poller's set grows with each
    /// poll saved between two counts from the store, and a poll is judged on what is known now.
    pub fn with_counted(mut self, counted: &super::Counted) -> Usage {
        match &mut self.counts {
            Counts::Model2019(u) => {
                u.users = u.users.max(counted.users());
                u.hosts = u.hosts.max(counted.hosts());
            }
            Counts::Model2013(u) => u.realtime_users = u.realtime_users.max(counted.users()),
        }
        self
    }
}

/// Whom a violation is about: incidents are kept per row and subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", content = "id", rename_all = "kebab-case")]
pub enum Subject {
    Installation,
    Server(Id),
    Agent(Id),
}

impl Subject {
    /// `installation`, `server:7`, `agent:3`: how the store keeps it.
    pub fn key(&self) -> String {
        match self {
            Subject::Installation => "installation".into(),
            Subject::Server(id) => format!("server:{id}"),
            Subject::Agent(id) => format!("agent:{id}"),
        }
    }

    pub fn parse(key: &str) -> Option<Subject> {
        match key.split_once(':') {
            None if key == "installation" => Some(Subject::Installation),
            Some(("server", id)) => id.parse().ok().map(Subject::Server),
            Some(("agent", id)) => id.parse().ok().map(Subject::Agent),
            _ => None,
        }
    }
}

/// A row of a seed's table that holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    pub row: Row,
    pub subject: Subject,
    pub outcome: Outcome,
    /// The seed's Type column, e.g. "User limit exceeded".
    pub issue: &'static str,
    /// Names the violation with its numbers.
    pub message: String,
    /// The seed's "What to do next?".
    pub next: &'static [&'static str],
    /// The seed says a notification is sent (where configured).
    pub notify: bool,
}

impl Violation {
    fn new(spec: &RowSpec, subject: Subject, detail: String) -> Violation {
        Violation {
            row: spec.row,
            subject,
            outcome: spec.outcome,
            issue: spec.issue,
            message: format!("{}: {detail}", spec.issue),
            next: spec.next,
            notify: spec.notify,
        }
    }

    /// The message and what to do next, in one text (a 403's body, a status reason).
    pub fn explain(&self) -> String {
        format!("{} What to do next: {}", self.message, self.next.join(" "))
    }
}

/// UTC midnight starting `d`.
fn midnight(d: NaiveDate) -> Timestamp {
    d.and_time(chrono::NaiveTime::MIN).and_utc().timestamp()
}

/// The first second after day `d` (a licence is valid through its expiry day, maintenance
/// through its end day).
pub fn day_end(d: NaiveDate) -> Timestamp {
    d.checked_add_days(Days::new(1))
        .map_or(Timestamp::MAX, midnight)
}

/// The spec of `condition` at `moment`, if the seed has the row and it applies to `terms`.
/// At run time, a condition with no run-time row (Model 2013's invalid licence, a maintenance
/// or trial problem) is reported under its start-up row while it lasts.
fn spec(terms: &Terms, moment: Moment, condition: Condition) -> Option<&'static RowSpec> {
    let model = terms.model();
    let row = Row::find(model, moment, condition).or_else(|| match moment {
        Moment::RunTime => Row::find(model, Moment::StartUp, condition),
        Moment::StartUp => None,
    })?;
    let spec = row.spec();
    let imports = match terms.limits {
        Limits::Model2013(l) => {
            l.import || l.imported_users.is_some() || l.imported_servers.is_some()
        }
        Limits::Model2019(_) => true,
    };
    (spec.types.include(terms.kind) && (imports || !spec.import_only)).then_some(spec)
}

/// `used` past `limit`, described.
fn over(used: u64, limit: Option<u64>, what: &str) -> Option<String> {
    let limit = limit?;
    (used > limit).then(|| format!("{used} {what}; the licence allows {limit}."))
}

/// The violations that hold for the licence and the usage at `moment` (`now` for expiry).
/// Any whose outcome [`Outcome::restricts`] puts Tally in restricted access mode; it lifts
/// when a later assessment finds none (a licence installed, data removed).
pub fn assess(
    licence: &Licence,
    product: &Product,
    usage: &Usage,
    moment: Moment,
    now: Timestamp,
) -> Vec<Violation> {
    let terms = &licence.terms;
    let mut found: Vec<(Condition, String)> = Vec::new();
    if !terms.version.covers(&product.version) {
        found.push((
            Condition::VersionMismatch,
            format!(
                "Tally {} runs with a licence for version {}.",
                product.version, terms.version
            ),
        ));
    }
    if let Limits::Model2013(l) = terms.limits {
        if l.import_conflict() {
            found.push((
                Condition::InvalidLicence,
                if l.import {
                    "the Import add-on is on but the imported user and server limits are not both given.".into()
                } else {
                    "imported limits are given but the Import add-on is off.".into()
                },
            ));
        }
        if !l.has_realtime() {
            found.push((
                Condition::NoRealtimeLicence,
                "the licence gives no realtime user and license server limits.".into(),
            ));
        }
    }
    if let Some(end) = terms.maintenance_end
        && product.released > end
    {
        found.push((
            Condition::MaintenanceExpired,
            format!(
                "Tally {} was released on {}, after maintenance ended on {end}.",
                product.version, product.released
            ),
        ));
    }
    if let Some(first) = usage.earliest_data
        && first < midnight(terms.start)
    {
        found.push((
            Condition::TrialDataBeforeStart,
            format!(
                "the database holds data from before the trial started on {}.",
                terms.start
            ),
        ));
    }
    if let Some(expiry) = terms.expiry
        && now >= day_end(expiry)
    {
        found.push((
            Condition::LicenceExpired,
            format!("the licence expired at the end of {expiry}."),
        ));
    }
    match (terms.limits, usage.counts) {
        (Limits::Model2019(l), Counts::Model2019(u)) => {
            let pairs = [
                (
                    Condition::UserLimitExceeded,
                    over(
                        u.users,
                        Some(l.users),
                        "users in the database (unique usernames over all history, denials included)",
                    ),
                ),
                (
                    Condition::HostLimitExceeded,
                    over(
                        u.hosts,
                        l.hosts(),
                        "hosts in the database (125 % of the user limit without the HPC add-on)",
                    ),
                ),
                (
                    Condition::ServerLimitExceeded,
                    over(
                        u.imported_servers,
                        Some(l.servers),
                        "license servers with imported data",
                    ),
                ),
            ];
            found.extend(pairs.into_iter().filter_map(|(c, d)| Some((c, d?))));
        }
        (Limits::Model2013(l), Counts::Model2013(u)) => {
            let pairs = [
                (
                    Condition::UserLimitExceeded,
                    over(
                        u.realtime_users,
                        l.realtime_users,
                        "realtime users in the last 14 days",
                    ),
                ),
                (
                    Condition::ImportedUserLimitExceeded,
                    over(
                        u.imported_users,
                        l.imported_users,
                        "imported users over all history",
                    ),
                ),
                (
                    Condition::ServerLimitExceeded,
                    over(
                        u.imported_servers,
                        l.imported_servers,
                        "license servers imported in the last 3 months",
                    ),
                ),
            ];
            found.extend(pairs.into_iter().filter_map(|(c, d)| Some((c, d?))));
        }
        // Counts made for another model (a licence changed between counting and asking):
        // no limit can be judged; the caller counts again for this licence.
        _ => {}
    }
    found
        .into_iter()
        .filter_map(|(condition, detail)| {
            let spec = spec(terms, moment, condition)?;
            Some(Violation::new(spec, Subject::Installation, detail))
        })
        .collect()
}

/// Each limit with its current usage (the gauges of `tally license show` and the API).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LimitUsage {
    pub limit: LimitKind,
    /// `None`: unlimited.
    pub allowed: Option<u64>,
    pub used: u64,
    /// `used` as a percentage of `allowed`, to one decimal; `None` when unlimited or 0 allowed.
    pub percent: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LimitKind {
    Users,
    Hosts,
    Servers,
    HarvestingAgents,
    RealtimeUsers,
    ImportedUsers,
    RealtimeServers,
    ImportedServers,
}

impl LimitKind {
    /// What the limit counts, in the seeds' words.
    pub fn label(self) -> &'static str {
        match self {
            LimitKind::Users => "users (unique usernames, all history, denials included)",
            LimitKind::Hosts => "hosts (all history)",
            LimitKind::Servers => "license servers (monitored or with imported data)",
            LimitKind::HarvestingAgents => "License Harvesting agents (online)",
            LimitKind::RealtimeUsers => "realtime users (last 14 days)",
            LimitKind::ImportedUsers => "imported users (all history)",
            LimitKind::RealtimeServers => "realtime license servers (monitored now)",
            LimitKind::ImportedServers => "imported license servers (last 3 months)",
        }
    }
}

fn gauge(limit: LimitKind, allowed: Option<u64>, used: u64) -> LimitUsage {
    let percent = allowed
        .filter(|a| *a > 0)
        .map(|a| (used as f64 * 1000.0 / a as f64).round() / 10.0);
    LimitUsage {
        limit,
        allowed,
        used,
        percent,
    }
}

/// Each limit of the licence with its usage. Counts made for another model show as zero.
pub fn usage_view(licence: &Licence, usage: &Usage) -> Vec<LimitUsage> {
    match licence.terms.limits {
        Limits::Model2019(l) => {
            let u = match usage.counts {
                Counts::Model2019(u) => u,
                Counts::Model2013(_) => Usage2019::default(),
            };
            vec![
                gauge(LimitKind::Users, Some(l.users), u.users),
                gauge(LimitKind::Hosts, l.hosts(), u.hosts),
                gauge(LimitKind::Servers, Some(l.servers), u.servers),
                gauge(
                    LimitKind::HarvestingAgents,
                    Some(l.harvesting_agents),
                    u.harvesting_agents,
                ),
            ]
        }
        Limits::Model2013(l) => {
            let u = match usage.counts {
                Counts::Model2013(u) => u,
                Counts::Model2019(_) => Usage2013::default(),
            };
            let imported = |n: Option<u64>| if l.import { n } else { Some(0) };
            vec![
                gauge(
                    LimitKind::RealtimeUsers,
                    Some(l.realtime_users.unwrap_or(0)),
                    u.realtime_users,
                ),
                gauge(
                    LimitKind::RealtimeServers,
                    Some(l.realtime_servers.unwrap_or(0)),
                    u.realtime_servers,
                ),
                gauge(
                    LimitKind::ImportedUsers,
                    imported(l.imported_users),
                    u.imported_users,
                ),
                gauge(
                    LimitKind::ImportedServers,
                    imported(l.imported_servers),
                    u.imported_servers,
                ),
            ]
        }
    }
}

/// Everything `tally license show` and `GET /api/v1/license` show.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Status {
    pub title: String,
    pub licence: Licence,
    pub limits: Vec<LimitUsage>,
    pub violations: Vec<Violation>,
    /// Restricted access mode: some violation restricts.
    pub restricted: bool,
}

pub fn status(
    licence: &Licence,
    product: &Product,
    usage: &Usage,
    moment: Moment,
    now: Timestamp,
) -> Status {
    let violations = assess(licence, product, usage, moment, now);
    Status {
        title: licence.title(),
        licence: licence.clone(),
        limits: usage_view(licence, usage),
        restricted: violations.iter().any(|v| v.outcome.restricts()),
        violations,
    }
}

/// A server's license-manager version, as the store tracks it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ManagerVersion {
    pub current: DottedVersion,
    /// When the server first showed `current`.
    pub since: Timestamp,
    /// The version it had when maintenance ended; for a server created after, the highest of
    /// its manager's versions monitored before; `None` when none was.
    pub before_maintenance_end: Option<DottedVersion>,
}

/// What a poll is about to save.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollCheck {
    pub server: Id,
    /// Users in the poll not counted yet (by the licence's counting and window).
    pub new_users: u64,
    /// Hosts in the poll not counted yet (Model 2019).
    pub new_hosts: u64,
    pub manager_version: Option<ManagerVersion>,
}

/// The run-time rows a poll can trip: its data is then skipped and the server shows Offline
/// with the violation's message.
pub fn check_poll(licence: &Licence, usage: &Usage, poll: &PollCheck) -> Vec<Violation> {
    let terms = &licence.terms;
    let subject = Subject::Server(poll.server);
    let mut found = Vec::new();
    let mut push = |condition: Condition, detail: String| {
        if let Some(spec) = spec(terms, Moment::RunTime, condition) {
            found.push(Violation::new(spec, subject, detail));
        }
    };
    if let (Some(end), Some(mv)) = (terms.maintenance_end, &poll.manager_version)
        && mv.since >= day_end(end)
        && let Some(before) = &mv.before_maintenance_end
        && mv.current > *before
    {
        push(
            Condition::ServerVersionAfterMaintenance,
            format!(
                "the license server runs version {} since after maintenance ended on {end}; it had {before} before.",
                mv.current
            ),
        );
    }
    let about = |used: u64, new: u64, limit: Option<u64>, what: &str| {
        let limit = limit?;
        (new > 0 && used.saturating_add(new) > limit).then(|| {
            format!(
                "this poll would add {new} {what} to {used}; the licence allows {limit}. The poll's data was not saved."
            )
        })
    };
    match (terms.limits, usage.counts) {
        (Limits::Model2019(l), Counts::Model2019(u)) => {
            if let Some(d) = about(u.users, poll.new_users, Some(l.users), "users") {
                push(Condition::UserLimitAboutToExceed, d);
            }
            if let Some(d) = about(u.hosts, poll.new_hosts, l.hosts(), "hosts") {
                push(Condition::HostLimitAboutToExceed, d);
            }
        }
        (Limits::Model2013(l), Counts::Model2013(u)) => {
            if let Some(d) = about(
                u.realtime_users,
                poll.new_users,
                l.realtime_users,
                "realtime users",
            ) {
                push(Condition::UserLimitAboutToExceed, d);
            }
        }
        _ => {}
    }
    found
}

/// An enabled realtime server asking to be monitored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerCandidate {
    pub server: Id,
    /// Already counted against the limit without being monitored (Model 2019: it has
    /// imported data).
    pub counted: bool,
}

/// Whether a server is monitored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Admission {
    pub server: Id,
    pub monitored: bool,
    /// Why not: shown with the "License Exceeded" status.
    pub violation: Option<Violation>,
}

/// Which of the enabled realtime servers `candidates` (oldest first: a new server never
/// displaces one monitored before) are monitored; the rest show "License Exceeded".
pub fn admit_servers(
    licence: &Licence,
    usage: &Usage,
    candidates: &[ServerCandidate],
) -> Vec<Admission> {
    let terms = &licence.terms;
    let (limit, taken) = match (terms.limits, usage.counts) {
        (Limits::Model2019(l), Counts::Model2019(u)) => (l.servers, u.imported_servers),
        (Limits::Model2019(l), _) => (l.servers, 0),
        (Limits::Model2013(l), _) => (l.realtime_servers.unwrap_or(0), 0),
    };
    let spec = spec(terms, Moment::RunTime, Condition::NewServerPastLimit);
    let mut free = limit.saturating_sub(taken);
    let why = if terms.model() == Model::Model2019 {
        " (servers with imported data included)"
    } else {
        ""
    };
    candidates
        .iter()
        .map(|c| {
            let slot = (c.counted && terms.model() == Model::Model2019) || {
                let has = free > 0;
                free = free.saturating_sub(1);
                has
            };
            let violation = match (slot, spec) {
                (false, Some(spec)) => Some(Violation::new(
                    spec,
                    Subject::Server(c.server),
                    format!(
                        "the licence allows {limit} monitored license servers{why}, all in use."
                    ),
                )),
                // No row for this licence type (a Trial): no limit enforced.
                _ => None,
            };
            Admission {
                server: c.server,
                monitored: violation.is_none(),
                violation,
            }
        })
        .collect()
}

/// The server an import writes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ImportTarget {
    /// Already counted against the server limit (Model 2019: monitored or with imported
    /// data; Model 2013: imported in the last 3 months).
    Counted,
    /// A server the import would create, or one not counted yet.
    Uncounted,
    /// Denials only, onto a polled server: Model 2013's realtime licence allows it.
    DenialsOntoRealtime,
}

/// Whether an import may run: one that needs a server past the limit is refused and creates
/// nothing.
pub fn admit_import(
    licence: &Licence,
    usage: &Usage,
    target: ImportTarget,
) -> Result<(), Violation> {
    let terms = &licence.terms;
    let Some(spec) = Row::find(
        terms.model(),
        Moment::RunTime,
        Condition::ImportPastServerLimit,
    )
    .map(|r| r.spec())
    .filter(|s| s.types.include(terms.kind)) else {
        return Ok(());
    };
    let refuse = |detail: String| Err(Violation::new(spec, Subject::Installation, detail));
    match (terms.limits, usage.counts, target) {
        (_, _, ImportTarget::Counted) if terms.model() == Model::Model2019 => Ok(()),
        (_, _, ImportTarget::DenialsOntoRealtime) if terms.model() == Model::Model2019 => Ok(()),
        (Limits::Model2019(l), Counts::Model2019(u), ImportTarget::Uncounted) => {
            if u.servers >= l.servers {
                refuse(format!(
                    "{} of {} license servers are in use (monitored or with imported data); the import would need another. Nothing was imported.",
                    u.servers, l.servers
                ))
            } else {
                Ok(())
            }
        }
        (Limits::Model2013(_), _, ImportTarget::DenialsOntoRealtime) => Ok(()),
        (Limits::Model2013(Limits2013 { import: false, .. }), _, _) => refuse(
            "the licence has no Import add-on, so no license server can be imported. Nothing was imported.".into(),
        ),
        (Limits::Model2013(_), _, ImportTarget::Counted) => Ok(()),
        (Limits::Model2013(l), Counts::Model2013(u), ImportTarget::Uncounted) => {
            let limit = l.imported_servers.unwrap_or(0);
            if u.imported_servers >= limit {
                refuse(format!(
                    "{} of {limit} imported license servers (last 3 months) are in use; the import would need another. Nothing was imported.",
                    u.imported_servers
                ))
            } else {
                Ok(())
            }
        }
        // Counts for another model: judge nothing rather than refuse on stale numbers.
        _ => Ok(()),
    }
}

/// Whether an agent harvests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HarvestDecision {
    pub agent: Id,
    pub harvest: bool,
    /// Why not (the agent shows "No License"); `None` under Model 2013, which has no License
    /// Harvesting at all.
    pub violation: Option<Violation>,
}

/// Which online agents with License Harvesting enabled (`agents`, in the order harvesting was
/// enabled: a new agent never displaces an earlier one) may harvest.
pub fn admit_harvesting(licence: &Licence, agents: &[Id]) -> Vec<HarvestDecision> {
    let terms = &licence.terms;
    let limit: Option<Limits2019> = match terms.limits {
        Limits::Model2019(l) => Some(l),
        Limits::Model2013(_) => None,
    };
    let spec = spec(terms, Moment::RunTime, Condition::HarvestingAgentsExceeded);
    agents
        .iter()
        .enumerate()
        .map(|(i, &agent)| {
            let Some(l) = limit else {
                return HarvestDecision {
                    agent,
                    harvest: false,
                    violation: None,
                };
            };
            let harvest = spec.is_none() || (i as u64) < l.harvesting_agents;
            HarvestDecision {
                agent,
                harvest,
                violation: match (harvest, spec) {
                    (false, Some(spec)) => Some(Violation::new(
                        spec,
                        Subject::Agent(agent),
                        format!(
                            "the licence allows {} agents with License Harvesting, all in use.",
                            l.harvesting_agents
                        ),
                    )),
                    _ => None,
                },
            }
        })
        .collect()
}
