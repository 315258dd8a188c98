//! End-user agents: `/api/v1/agents…`.
//!
//! The agents' own routes take an agent-scoped token only ([`crate::auth::authenticate_agent`]);
//! their bodies are the protocol of `tally_core::agent`:
//! - `POST /api/v1/agents/enrol` — `EnrolRequest` → `{"agent_id"}` (201)
//! - `GET  /api/v1/agents/{id}/config` — the applications to watch and their policies
//! - `POST /api/v1/agents/{id}/reports` — a `Report` → `{"receipt", "orders"}`
//!
//! The operators' routes, behind the usual login:
//! - `GET /api/v1/agents`, `GET|PATCH|DELETE /api/v1/agents/{id}` (`{"harvesting": bool}`)
//! - `GET /api/v1/agents/applications`, `PUT|DELETE /api/v1/agents/applications/{name}`
//! - `GET /api/v1/agents/sessions`, `GET /api/v1/agents/harvests` (pages, newest first)
//! - `POST /api/v1/agents/servers/{name}/disable|enable`: a server's agent data off or on

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use tally_app::access::Actor;
use tally_app::agents::{self, AgentError, AgentView, ApplicationSettings};
use tally_core::agent::{AgentConfig, EnrolAnswer, EnrolRequest, Report, ReportAnswer};

use crate::openapi::{Routes, Shape, doc};
use crate::{Api, ApiError};

/// A report of 10,000 processes fits with room to spare.
const MAX_AGENT_BODY: usize = 8 << 20;
/// An application's settings are a few hundred bytes.
const MAX_SETTINGS_BODY: usize = 64 << 10;

/// The keys of an [`AgentView`].
pub const AGENT: &[&str] = &[
    "id",
    "host",
    "os",
    "version",
    "enrolled",
    "last_seen",
    "online",
    "harvesting",
    "errors",
    "watched",
];
const APPLICATION: &[&str] = &["name", "match", "license_server", "feature", "harvest"];
const SESSION: &[&str] = &[
    "id",
    "agent_id",
    "application",
    "user",
    "host",
    "pid",
    "first_seen",
    "last_seen",
    "ended",
    "checkout_id",
];
const HARVEST: &[&str] = &[
    "id",
    "agent_id",
    "server",
    "feature",
    "application",
    "user",
    "host",
    "pid",
    "method",
    "outcome",
    "time",
    "saved_secs",
];

/// The routes agents call.
pub fn agent_routes() -> Routes {
    Routes::new()
        .post(
            "/api/v1/agents/enrol",
            enrol,
            doc(
                "enrol an end-user agent (agent token)",
                201,
                Shape::Object(&["agent_id"]),
            ),
        )
        .get(
            "/api/v1/agents/{id}/config",
            config,
            doc(
                "the applications an agent watches and their harvesting policies (agent token)",
                200,
                Shape::Object(&["report_interval_secs", "applications"]),
            ),
        )
        .post(
            "/api/v1/agents/{id}/reports",
            report,
            doc(
                "an agent's report: heartbeat, watched processes, harvest results; answers the receipt (accepted or duplicate) and the harvest orders (agent token)",
                200,
                Shape::Object(&["receipt", "orders"]),
            ),
        )
        .map(|r| r.layer(DefaultBodyLimit::max(MAX_AGENT_BODY)))
}

/// The routes operators call.
pub fn routes() -> Routes {
    Routes::new()
        .get(
            "/api/v1/agents",
            list,
            doc(
                "every enrolled agent: host, version, last seen, harvesting, errors",
                200,
                Shape::List(AGENT),
            ),
        )
        .get(
            "/api/v1/agents/{id}",
            one,
            doc("one agent", 200, Shape::Object(AGENT)),
        )
        .patch(
            "/api/v1/agents/{id}",
            edit,
            doc(
                "enable or disable License Harvesting for an agent: {\"harvesting\": bool}",
                200,
                Shape::Object(AGENT),
            ),
        )
        .delete(
            "/api/v1/agents/{id}",
            remove,
            doc("remove an agent and what it reported", 204, Shape::Empty),
        )
        .get(
            "/api/v1/agents/applications",
            applications,
            doc(
                "the applications agents watch",
                200,
                Shape::List(APPLICATION),
            ),
        )
        .put(
            "/api/v1/agents/applications/{name}",
            put_application,
            doc(
                "watch an application: {\"match\": {\"name\"|\"path\": …}, \"license_server\", \"feature\", \"harvest\"?}",
                200,
                Shape::Object(APPLICATION),
            ),
        )
        .delete(
            "/api/v1/agents/applications/{name}",
            remove_application,
            doc("stop watching an application", 204, Shape::Empty),
        )
        .get(
            "/api/v1/agents/sessions",
            sessions,
            doc(
                "End User sessions, newest first: ?limit=&after=",
                200,
                Shape::Page(SESSION),
            ),
        )
        .get(
            "/api/v1/agents/harvests",
            harvests,
            doc(
                "harvests recorded (who, what, when, method, outcome, licence time saved), newest first: ?limit=&after=",
                200,
                Shape::Page(HARVEST),
            ),
        )
        .post(
            "/api/v1/agents/servers/{name}/disable",
            disable_server,
            doc(
                "stop recording agent data of a license server (its End User status: Disabled)",
                200,
                Shape::Object(END_USER_SOURCE),
            ),
        )
        .post(
            "/api/v1/agents/servers/{name}/enable",
            enable_server,
            doc(
                "record agent data of a license server again",
                200,
                Shape::Object(END_USER_SOURCE),
            ),
        )
        .map(|r| r.layer(DefaultBodyLimit::max(MAX_SETTINGS_BODY)))
}

const END_USER_SOURCE: &[&str] = &["server", "receiving", "state", "agents"];

async fn disable_server(
    State(api): State<Arc<Api>>,
    Extension(actor): Extension<Actor>,
    Path(name): Path<String>,
) -> Result<Json<agents::EndUserSource>, ApiError> {
    Ok(Json(
        agents::set_agent_data(&api.app, &actor, &name, false).await?,
    ))
}

async fn enable_server(
    State(api): State<Arc<Api>>,
    Extension(actor): Extension<Actor>,
    Path(name): Path<String>,
) -> Result<Json<agents::EndUserSource>, ApiError> {
    Ok(Json(
        agents::set_agent_data(&api.app, &actor, &name, true).await?,
    ))
}

impl From<AgentError> for ApiError {
    fn from(e: AgentError) -> ApiError {
        match e {
            AgentError::NoSuchAgent(_)
            | AgentError::NoSuchApplication(_)
            | AgentError::NoSuchServer(_) => ApiError::not_found(e.to_string()),
            AgentError::Invalid(_) => ApiError::unprocessable(e.to_string()),
            AgentError::Refused(e) => e.into(),
            AgentError::Store(e) => ApiError::internal(e),
            AgentError::Licence(e) => ApiError::internal(e),
        }
    }
}

async fn enrol(
    State(api): State<Arc<Api>>,
    Extension(actor): Extension<Actor>,
    Json(request): Json<EnrolRequest>,
) -> Result<(StatusCode, Json<EnrolAnswer>), ApiError> {
    let answer = agents::enrol(&api.app, &actor, &request).await?;
    Ok((StatusCode::CREATED, Json(answer)))
}

async fn config(
    State(api): State<Arc<Api>>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<i64>,
) -> Result<Json<AgentConfig>, ApiError> {
    Ok(Json(agents::config(&api.app, &actor, id).await?))
}

async fn report(
    State(api): State<Arc<Api>>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<i64>,
    Json(report): Json<Report>,
) -> Result<Json<ReportAnswer>, ApiError> {
    Ok(Json(agents::report(&api.app, &actor, id, &report).await?))
}

async fn list(State(api): State<Arc<Api>>) -> Result<Json<Vec<AgentView>>, ApiError> {
    Ok(Json(agents::list(&api.app).await?))
}

async fn one(
    State(api): State<Arc<Api>>,
    Path(id): Path<i64>,
) -> Result<Json<AgentView>, ApiError> {
    Ok(Json(agents::one(&api.app, id).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AgentChange {
    harvesting: bool,
}

async fn edit(
    State(api): State<Arc<Api>>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<i64>,
    Json(change): Json<AgentChange>,
) -> Result<Json<AgentView>, ApiError> {
    Ok(Json(
        agents::set_harvesting(&api.app, &actor, id, change.harvesting).await?,
    ))
}

async fn remove(
    State(api): State<Arc<Api>>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    agents::remove(&api.app, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn applications(
    State(api): State<Arc<Api>>,
) -> Result<Json<Vec<tally_core::agent::WatchedApplication>>, ApiError> {
    Ok(Json(agents::watched(&api.app).await?))
}

async fn put_application(
    State(api): State<Arc<Api>>,
    Extension(actor): Extension<Actor>,
    Path(name): Path<String>,
    Json(settings): Json<ApplicationSettings>,
) -> Result<Json<tally_core::agent::WatchedApplication>, ApiError> {
    Ok(Json(
        agents::put_application(&api.app, &actor, &name, settings).await?,
    ))
}

async fn remove_application(
    State(api): State<Arc<Api>>,
    Extension(actor): Extension<Actor>,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    agents::remove_application(&api.app, &actor, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PageQuery {
    limit: Option<u32>,
    /// The `next` of the page before.
    after: Option<String>,
}

impl PageQuery {
    fn parse(&self) -> Result<(Option<i64>, u32), ApiError> {
        let before = self
            .after
            .as_deref()
            .map(|a| {
                a.parse::<i64>()
                    .map_err(|_| ApiError::bad_request("`after` is the `next` of the page before"))
            })
            .transpose()?;
        let limit = self.limit.unwrap_or(100);
        if !(1..=agents::MAX_PAGE).contains(&limit) {
            return Err(ApiError::bad_request(format!(
                "`limit` is 1 to {}",
                agents::MAX_PAGE
            )));
        }
        Ok((before, limit))
    }
}

#[derive(Debug, Serialize)]
struct Page<T> {
    items: Vec<T>,
    next: Option<String>,
}

fn page<T>(items: Vec<T>, limit: u32, id: impl Fn(&T) -> i64) -> Page<T> {
    let next = (items.len() as u32 == limit)
        .then(|| items.last().map(|i| id(i).to_string()))
        .flatten();
    Page { items, next }
}

async fn sessions(
    State(api): State<Arc<Api>>,
    Query(q): Query<PageQuery>,
) -> Result<Json<Page<tally_store::AgentSessionRow>>, ApiError> {
    let (before, limit) = q.parse()?;
    let items = agents::sessions(&api.app, before, limit).await?;
    Ok(Json(page(items, limit, |s| s.id)))
}

async fn harvests(
    State(api): State<Arc<Api>>,
    Query(q): Query<PageQuery>,
) -> Result<Json<Page<tally_store::HarvestEventRow>>, ApiError> {
    let (before, limit) = q.parse()?;
    let items = agents::harvests(&api.app, before, limit).await?;
    Ok(Json(page(items, limit, |e| e.id)))
}
