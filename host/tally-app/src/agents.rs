//! End-user agents and License Harvesting: enrolment, the configuration the agents pull, their
//! reports, the harvest decisions, and what operators see and configure.
//!
//! - An agent enrols with an agent-scoped token and gets an id; it pulls the watched
//!   applications (the same for every agent) and reports every interval.
//! - A report is applied once ([`tally_store::Store::apply_agent_report`] stores its id with
//!   what it writes): a report sent again is answered `duplicate`. Its processes become End
//!   User sessions; one that a license manager's open checkout also shows (same server,
//!   feature, user and host) annotates that checkout instead of counting again.
//! - The server decides harvests ([`tally_core::harvest::decide`]) for the agents the licence
//!   admits ([`tally_core::licence::admit_harvesting`]: with harvesting enabled, online, in the
//!   order harvesting was enabled); an agent past the limit shows "No License" and gets no
//!   orders. A session is ordered once per release method.
//! - The End User status of a server (seed 001) counts the agents active within
//!   [`AgentSettings::online_secs`] when some watched application holds its licences.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use tally_core::EndUserStatus;
use tally_core::agent::{
    AgentConfig, AgentId, EnrolAnswer, EnrolRequest, ExecutableMatch, HarvestOrder, OrderId,
    PROTOCOL, Receipt, Report, ReportAnswer, WatchedApplication,
};
use tally_core::harvest::{self, CpuSample, Observation, Policy};
use tally_core::status::{AGENT_ONLINE_SECS, end_user_within};
use tally_store::{
    AgentRow, AgentRowId, AgentSessionRow, HarvestEventRow, NewOrder, NewWatched, ProcessWrite,
    ReportWrite, ResultWrite, ServerId, StoreError,
};

use crate::App;
use crate::access::{AccessError, Actor};

/// Watched processes one report may carry.
pub const MAX_PROCESSES: usize = 10_000;
/// Harvest results one report may carry.
pub const MAX_RESULTS: usize = 1_000;
/// Errors of a heartbeat kept, and the length of each.
pub const MAX_ERRORS: usize = 20;
const MAX_ERROR_CHARS: usize = 500;
/// Names, hosts, paths: longer is refused.
const MAX_TEXT: usize = 1024;
/// Watched applications.
pub const MAX_APPLICATIONS: usize = 1_000;
/// A page of sessions or harvests holds at most this many.
pub const MAX_PAGE: u32 = 1_000;
/// Agents enrolled at most: a leaked agent token cannot fill the database with enrolments.
pub const MAX_AGENTS: u64 = 100_000;

/// How the server treats its agents.
#[derive(Debug, Clone, Copy)]
pub struct AgentSettings {
    /// An agent whose latest report is this recent is online (seed 001: 2 minutes).
    pub online_secs: i64,
    /// The report interval the configuration gives agents.
    pub report_interval_secs: u64,
}

impl Default for AgentSettings {
    fn default() -> AgentSettings {
        AgentSettings {
            online_secs: AGENT_ONLINE_SECS,
            report_interval_secs: tally_core::agent::DEFAULT_REPORT_INTERVAL_SECS,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("no agent has id {0}")]
    NoSuchAgent(i64),
    #[error("no watched application is called `{0}`")]
    NoSuchApplication(String),
    #[error("no license server is called `{0}`")]
    NoSuchServer(String),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Refused(#[from] AccessError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Licence(String),
}

/// An application as operators configure it (`PUT /api/v1/agents/applications/{name}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplicationSettings {
    #[serde(rename = "match")]
    pub matcher: ExecutableMatch,
    pub license_server: String,
    pub feature: String,
    #[serde(default)]
    pub harvest: Option<Policy>,
}

/// What an agent's harvesting is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Harvesting {
    /// Not enabled: it watches only.
    Off,
    /// Enabled and admitted by the licence.
    On,
    /// Enabled but past the licence's harvesting-agent limit.
    #[serde(rename = "No License")]
    NoLicense,
}

/// An agent as operators see it.
#[derive(Debug, Clone, Serialize)]
pub struct AgentView {
    #[serde(flatten)]
    pub agent: AgentRow,
    pub online: bool,
    pub harvesting: Harvesting,
    /// Why it may not harvest, in the licence's words.
    pub harvesting_reason: Option<String>,
    /// The applications it watches (the same for every agent).
    pub watched: Vec<String>,
}

fn check_text(what: &str, text: &str) -> Result<(), AgentError> {
    if text.trim().is_empty() || text.len() > MAX_TEXT || text.chars().any(char::is_control) {
        return Err(AgentError::Invalid(format!(
            "{what} must be 1 to {MAX_TEXT} bytes of printable text"
        )));
    }
    Ok(())
}

/// Enrols an agent.
pub async fn enrol(
    app: &App,
    by: &Actor,
    request: &EnrolRequest,
) -> Result<EnrolAnswer, AgentError> {
    app.may_report(by, "enrolling an agent")?;
    if request.protocol != PROTOCOL {
        return Err(AgentError::Invalid(format!(
            "this server speaks agent protocol {PROTOCOL}, the agent {}: upgrade the older one",
            request.protocol
        )));
    }
    check_text("the host", &request.host)?;
    check_text("the OS", &request.os)?;
    check_text("the agent version", &request.agent_version)?;
    if app.store.agent_count().await? >= MAX_AGENTS {
        return Err(AgentError::Invalid(format!(
            "{MAX_AGENTS} agents are enrolled already: remove those no longer in use"
        )));
    }
    let id = app
        .store
        .enrol_agent(
            &request.host,
            &request.os,
            &request.agent_version,
            crate::now(),
        )
        .await?;
    tracing::info!(agent = id, host = %request.host, "agent enrolled");
    Ok(EnrolAnswer {
        agent_id: AgentId(id),
    })
}

async fn agent(app: &App, id: i64) -> Result<AgentRow, AgentError> {
    app.store
        .agent(id)
        .await?
        .ok_or(AgentError::NoSuchAgent(id))
}

/// The watched applications as the protocol carries them.
async fn applications(app: &App) -> Result<Vec<WatchedApplication>, AgentError> {
    Ok(watched_on(app).await?.into_iter().map(|(_, w)| w).collect())
}

/// The watched applications with the id of the server each holds licences of.
async fn watched_on(app: &App) -> Result<Vec<(ServerId, WatchedApplication)>, AgentError> {
    app.store
        .watched_applications()
        .await?
        .into_iter()
        .map(|w| {
            let matcher = match w.match_kind.as_str() {
                "path" => ExecutableMatch::Path(w.pattern),
                _ => ExecutableMatch::Name(w.pattern),
            };
            let harvest = w
                .policy
                .as_deref()
                .map(serde_json::from_str::<Policy>)
                .transpose()
                .map_err(|e| {
                    AgentError::Store(StoreError::Inconsistent(format!(
                        "the harvesting policy of `{}`: {e}",
                        w.name
                    )))
                })?;
            Ok((
                w.server_id,
                WatchedApplication {
                    name: w.name,
                    matcher,
                    license_server: w.server,
                    feature: w.feature,
                    harvest,
                },
            ))
        })
        .collect()
}

/// The configuration an agent pulls.
pub async fn config(app: &App, by: &Actor, id: i64) -> Result<AgentConfig, AgentError> {
    app.may_report(by, "an agent's configuration")?;
    agent(app, id).await?;
    Ok(AgentConfig {
        report_interval_secs: app.agents.report_interval_secs,
        applications: applications(app).await?,
    })
}

/// The watched applications, for operators.
pub async fn watched(app: &App) -> Result<Vec<WatchedApplication>, AgentError> {
    applications(app).await
}

/// Adds or replaces the watched application `name`.
pub async fn put_application(
    app: &App,
    by: &Actor,
    name: &str,
    settings: ApplicationSettings,
) -> Result<WatchedApplication, AgentError> {
    app.may_write(by, "changing the applications agents watch")?;
    check_text("an application's name", name)?;
    check_text("the feature", &settings.feature)?;
    let candidate = WatchedApplication {
        name: name.to_string(),
        matcher: settings.matcher.clone(),
        license_server: settings.license_server.clone(),
        feature: settings.feature.clone(),
        harvest: settings.harvest.clone(),
    };
    let (ExecutableMatch::Name(pattern) | ExecutableMatch::Path(pattern)) = &settings.matcher;
    if pattern.len() > MAX_TEXT {
        return Err(AgentError::Invalid(format!(
            "an executable name or path pattern has at most {MAX_TEXT} bytes"
        )));
    }
    AgentConfig {
        report_interval_secs: app.agents.report_interval_secs,
        applications: vec![candidate.clone()],
    }
    .validate()
    .map_err(|e| AgentError::Invalid(e.to_string()))?;
    let server = app
        .store
        .server(&settings.license_server)
        .await?
        .ok_or_else(|| {
            AgentError::Invalid(format!(
                "no license server is called `{}`",
                settings.license_server
            ))
        })?;
    let existing = app.store.watched_applications().await?;
    if existing.len() >= MAX_APPLICATIONS && !existing.iter().any(|w| w.name == name) {
        return Err(AgentError::Invalid(format!(
            "agents watch at most {MAX_APPLICATIONS} applications"
        )));
    }
    let kind = match settings.matcher {
        ExecutableMatch::Name(_) => "name",
        ExecutableMatch::Path(_) => "path",
    };
    app.store
        .put_watched_application(NewWatched {
            name: name.to_string(),
            match_kind: kind.into(),
            pattern: pattern.clone(),
            server_id: server.id,
            feature: settings.feature,
            policy: settings
                .harvest
                .as_ref()
                .map(|p| serde_json::to_string(p).unwrap_or_default()),
        })
        .await?;
    Ok(candidate)
}

pub async fn remove_application(app: &App, by: &Actor, name: &str) -> Result<(), AgentError> {
    app.may_write(by, "changing the applications agents watch")?;
    if app.store.remove_watched_application(name).await? {
        Ok(())
    } else {
        Err(AgentError::NoSuchApplication(name.to_string()))
    }
}

/// Enables or disables License Harvesting for an agent.
pub async fn set_harvesting(
    app: &App,
    by: &Actor,
    id: i64,
    enabled: bool,
) -> Result<AgentView, AgentError> {
    app.may_write(by, "changing an agent's harvesting")?;
    if !app
        .store
        .set_agent_harvesting(id, enabled, crate::now())
        .await?
    {
        return Err(AgentError::NoSuchAgent(id));
    }
    app.licence_data_added();
    one(app, id).await
}

pub async fn remove(app: &App, by: &Actor, id: i64) -> Result<(), AgentError> {
    app.may_write(by, "removing an agent")?;
    if app.store.remove_agent(id).await? {
        Ok(())
    } else {
        Err(AgentError::NoSuchAgent(id))
    }
}

fn online(app: &App, agent: &AgentRow, now: i64) -> bool {
    agent
        .last_seen
        .is_some_and(|t| now - t <= app.agents.online_secs)
}

/// The agents with harvesting enabled and online, in the order harvesting was enabled.
fn harvest_candidates(app: &App, agents: &[AgentRow], now: i64) -> Vec<AgentRowId> {
    let mut candidates: Vec<&AgentRow> = agents
        .iter()
        .filter(|a| a.harvesting_since.is_some() && online(app, a, now))
        .collect();
    candidates.sort_by_key(|a| (a.harvesting_since, a.id));
    candidates.iter().map(|a| a.id).collect()
}

/// How many agents count against the licence's harvesting-agent limit.
pub async fn harvesting_agents(app: &App) -> Result<u64, StoreError> {
    let agents = app.store.harvesting_agent_rows().await?;
    Ok(harvest_candidates(app, &agents, crate::now()).len() as u64)
}

/// Each agent's harvesting as the licence admits it.
async fn admissions(
    app: &App,
    agents: &[AgentRow],
    now: i64,
) -> Result<HashMap<AgentRowId, (Harvesting, Option<String>)>, AgentError> {
    let candidates = harvest_candidates(app, agents, now);
    let standing = app
        .licence()
        .await
        .map_err(|e| AgentError::Licence(format!("the licence cannot be judged: {e}")))?;
    let decisions = tally_core::licence::admit_harvesting(&standing.licence, &candidates);
    Ok(decisions
        .into_iter()
        .map(|d| {
            let harvesting = if d.harvest {
                Harvesting::On
            } else {
                Harvesting::NoLicense
            };
            let reason = match (d.harvest, d.violation) {
                (true, _) => None,
                (false, Some(v)) => Some(v.explain()),
                (false, None) => Some("this licence has no License Harvesting".into()),
            };
            (d.agent, (harvesting, reason))
        })
        .collect())
}

/// Every agent, as operators see them.
pub async fn list(app: &App) -> Result<Vec<AgentView>, AgentError> {
    let agents = app.store.agents().await?;
    let now = crate::now();
    let admitted = admissions(app, &agents, now).await?;
    let watched: Vec<String> = app
        .store
        .watched_applications()
        .await?
        .into_iter()
        .map(|w| w.name)
        .collect();
    Ok(agents
        .into_iter()
        .map(|agent| {
            let (harvesting, reason) = match admitted.get(&agent.id) {
                Some((h, r)) => (*h, r.clone()),
                None if agent.harvesting_since.is_none() => (Harvesting::Off, None),
                // Enabled but offline: it holds no licence place until it reports again.
                None => (
                    Harvesting::On,
                    Some("offline: the licence admits it again when it reports".into()),
                ),
            };
            AgentView {
                online: online(app, &agent, now),
                harvesting,
                harvesting_reason: reason,
                watched: watched.clone(),
                agent,
            }
        })
        .collect())
}

pub async fn one(app: &App, id: i64) -> Result<AgentView, AgentError> {
    list(app)
        .await?
        .into_iter()
        .find(|a| a.agent.id == id)
        .ok_or(AgentError::NoSuchAgent(id))
}

/// Applies a report and answers the harvest orders the agent should carry out.
pub async fn report(
    app: &App,
    by: &Actor,
    id: i64,
    report: &Report,
) -> Result<ReportAnswer, AgentError> {
    app.may_report(by, "an agent's report")?;
    if report.id.agent.0 != id {
        return Err(AgentError::Invalid(format!(
            "the report is agent {}'s, sent as agent {id}'s",
            report.id.agent
        )));
    }
    if report.processes.len() > MAX_PROCESSES || report.harvests.len() > MAX_RESULTS {
        return Err(AgentError::Invalid(format!(
            "a report carries at most {MAX_PROCESSES} processes and {MAX_RESULTS} harvest results"
        )));
    }
    check_text("the host", &report.host)?;
    check_text("the agent version", &report.heartbeat.agent_version)?;
    let now = crate::now();
    let agent = agent(app, id).await?;
    let watched_on = watched_on(app).await?;
    let off: HashSet<ServerId> = app.store.agent_data_off().await?.into_iter().collect();
    let by_name: HashMap<&str, (ServerId, &WatchedApplication)> = watched_on
        .iter()
        .map(|(server, w)| (w.name.as_str(), (*server, w)))
        .collect();
    let watched: Vec<WatchedApplication> = watched_on.iter().map(|(_, w)| w.clone()).collect();

    let mut processes = Vec::with_capacity(report.processes.len());
    for p in &report.processes {
        if p.application.len() > MAX_TEXT
            || p.executable.len() > MAX_TEXT
            || p.user.as_ref().is_some_and(|u| u.len() > MAX_TEXT)
            || !p.cpu_percent.is_finite()
            || p.cpu_percent < 0.0
        {
            return Err(AgentError::Invalid(format!(
                "process {} of the report is malformed",
                p.pid
            )));
        }
        // An application no longer watched (the agent had an older configuration), or of a
        // server whose agent data is off: not recorded.
        let Some(&(server_id, w)) = by_name.get(p.application.as_str()) else {
            continue;
        };
        if off.contains(&server_id) {
            continue;
        }
        processes.push(ProcessWrite {
            server_id,
            feature: w.feature.clone(),
            application: w.name.clone(),
            user: p.user.clone(),
            pid: p.pid,
            started: p.started,
            cpu_time_ms: p.cpu_time_ms,
            cpu: CpuSample {
                from: p.cpu_since,
                to: report.time,
                percent: p.cpu_percent,
            },
            input_idle_secs: p.input_idle_secs,
            suspended: p.suspended,
            window_secs: w.harvest.as_ref().map_or(0, Policy::cpu_window_secs),
        });
    }
    // Results may come after their process ended: every order of the agent.
    let orders = if report.harvests.is_empty() {
        Vec::new()
    } else {
        app.store.agent_orders(id, false).await?
    };
    let results = report
        .harvests
        .iter()
        .map(|h| {
            let reasons = orders
                .iter()
                .find(|o| o.id == h.order.0)
                .and_then(|o| serde_json::from_str::<harvest::Reasons>(&o.reasons_json).ok());
            ResultWrite {
                order_id: h.order.0,
                outcome: h.outcome.kind().into(),
                reason: match &h.outcome {
                    tally_core::agent::HarvestOutcome::Failed { reason } => {
                        Some(reason.chars().take(MAX_ERROR_CHARS).collect())
                    }
                    _ => None,
                },
                time: h.time,
                saved_secs: reasons.map_or(0, |r| harvest::saved_secs(&r, h.outcome.released())),
            }
        })
        .collect();
    let write = ReportWrite {
        agent: id,
        seq: report.id.sequence,
        host: report.host.clone(),
        time: report.time,
        received: now,
        version: report.heartbeat.agent_version.clone(),
        errors: report
            .heartbeat
            .errors
            .iter()
            .rev()
            .take(MAX_ERRORS)
            .rev()
            .map(|e| e.chars().take(MAX_ERROR_CHARS).collect())
            .collect(),
        queued: report.heartbeat.queued,
        dropped: report.heartbeat.dropped,
        processes,
        results,
    };
    let duplicate = app.store.apply_agent_report(write).await?;
    if !duplicate {
        decide_harvests(app, &agent, report, &watched, now).await?;
    }
    let pending = app
        .store
        .agent_orders(id, true)
        .await?
        .into_iter()
        .filter(|o| o.outcome.is_none())
        .filter_map(|o| {
            Some(HarvestOrder {
                id: OrderId(o.id),
                pid: o.pid,
                started: o.started,
                application: o.application,
                method: serde_json::from_str(&o.release_json).ok()?,
                reasons: serde_json::from_str(&o.reasons_json).ok()?,
            })
        })
        .collect();
    Ok(ReportAnswer {
        receipt: if duplicate {
            Receipt::Duplicate
        } else {
            Receipt::Accepted
        },
        orders: pending,
    })
}

/// Orders the harvests the policies call for, when the licence admits this agent.
async fn decide_harvests(
    app: &App,
    agent: &AgentRow,
    report: &Report,
    watched: &[WatchedApplication],
    now: i64,
) -> Result<(), AgentError> {
    if agent.harvesting_since.is_none() || !watched.iter().any(|w| w.harvest.is_some()) {
        return Ok(());
    }
    // The rows as read may predate this report: the agent is online now that it reported.
    let mut agents = app.store.harvesting_agent_rows().await?;
    for a in agents.iter_mut().filter(|a| a.id == agent.id) {
        a.last_seen = Some(now);
    }
    let admitted = admissions(app, &agents, now).await?;
    if !matches!(admitted.get(&agent.id), Some((Harvesting::On, _))) {
        return Ok(());
    }
    let sessions: Vec<AgentSessionRow> = app.store.open_agent_sessions(Some(agent.id)).await?;
    let mut orders = Vec::new();
    for s in sessions.iter().filter(|s| !s.suspended) {
        let Some(policy) = watched
            .iter()
            .find(|w| w.name == s.application)
            .and_then(|w| w.harvest.as_ref())
        else {
            continue;
        };
        let observation = Observation {
            cpu: s.cpu_samples.clone(),
            input_idle_secs: s.input_idle_secs,
            utc_offset_secs: report.utc_offset_secs,
        };
        if let Some(order) = harvest::decide(policy, &observation, report.time) {
            orders.push(NewOrder {
                session_id: s.id,
                method: order.method.kind().into(),
                release_json: serde_json::to_string(&order.method).unwrap_or_default(),
                reasons_json: serde_json::to_string(&order.reasons).unwrap_or_default(),
            });
        }
    }
    if !orders.is_empty() {
        let added = app.store.add_harvest_orders(agent.id, orders, now).await?;
        if !added.is_empty() {
            tracing::info!(agent = agent.id, orders = added.len(), "harvest ordered");
        }
    }
    Ok(())
}

/// End User sessions, newest first.
pub async fn sessions(
    app: &App,
    before: Option<i64>,
    limit: u32,
) -> Result<Vec<AgentSessionRow>, AgentError> {
    Ok(app
        .store
        .agent_sessions(before, limit.clamp(1, MAX_PAGE))
        .await?)
}

/// Harvests recorded, newest first.
pub async fn harvests(
    app: &App,
    before: Option<i64>,
    limit: u32,
) -> Result<Vec<HarvestEventRow>, AgentError> {
    Ok(app
        .store
        .harvest_events(before, limit.clamp(1, MAX_PAGE))
        .await?)
}

/// What the End User status of every server is computed from.
#[derive(Debug, Clone, Default)]
pub struct EndUserBoard {
    /// Servers some watched application holds licences of.
    watched: HashSet<ServerId>,
    /// Servers whose agent data the operator turned off.
    off: HashSet<ServerId>,
    last_seen: Vec<i64>,
    window: i64,
}

impl EndUserBoard {
    pub async fn load(app: &App) -> Result<EndUserBoard, StoreError> {
        Ok(EndUserBoard {
            watched: app
                .store
                .watched_applications()
                .await?
                .into_iter()
                .map(|w| w.server_id)
                .collect(),
            off: app.store.agent_data_off().await?.into_iter().collect(),
            last_seen: app.store.agents_last_seen().await?,
            window: app.agents.online_secs,
        })
    }

    /// A server's End User status, the agents online, and the latest agent activity. N/A
    /// where no agent watches for it: no watched application holds its licences, or no agent
    /// ever reported; Disabled when the server is, or its agent data was turned off.
    pub fn status(
        &self,
        server: ServerId,
        enabled: bool,
        now: i64,
    ) -> (EndUserStatus, Option<usize>, Option<i64>) {
        let applies = self.watched.contains(&server) && !self.last_seen.is_empty();
        let seen = applies.then_some(self.last_seen.as_slice());
        let receiving = enabled && !self.off.contains(&server);
        let (state, agents) = end_user_within(receiving, seen, now, self.window);
        let latest = seen.and_then(|s| s.iter().max().copied());
        (state, agents, latest)
    }
}

/// A server's End User source, after turning it on or off.
#[derive(Debug, Clone, Serialize)]
pub struct EndUserSource {
    pub server: String,
    /// Whether its agents' data is recorded.
    pub receiving: bool,
    pub state: EndUserStatus,
    pub agents: Option<usize>,
}

/// Turns the agent data of the server `name` on or off (seed 001: End User "Disabled",
/// receiving data from agents disabled by the user).
pub async fn set_agent_data(
    app: &App,
    by: &Actor,
    name: &str,
    on: bool,
) -> Result<EndUserSource, AgentError> {
    app.may_write(by, "turning a server's agent data on or off")?;
    let server = app
        .store
        .server(name)
        .await?
        .ok_or_else(|| AgentError::NoSuchServer(name.to_string()))?;
    app.store
        .set_agent_data(server.id, on, crate::now())
        .await?;
    let board = EndUserBoard::load(app).await?;
    let (state, agents, _) = board.status(server.id, server.config.enabled, crate::now());
    Ok(EndUserSource {
        server: name.to_string(),
        receiving: on,
        state,
        agents,
    })
}
