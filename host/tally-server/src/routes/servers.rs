//! License servers: `/api/v1/license-servers`.
//!
//! - `GET    /api/v1/license-servers` — every server with its per-source statuses
//! - `POST   /api/v1/license-servers` — add one (`{"name", "manager", "host", "port", …}`); 201
//! - `GET    /api/v1/license-servers/{name}`
//! - `PATCH  /api/v1/license-servers/{name}` — change the settings given
//! - `DELETE /api/v1/license-servers/{name}` — remove it and its history; 204
//! - `POST   /api/v1/license-servers/{name}/enable`, `…/disable`, `…/hide`, `…/unhide`
//! - its facts, current usage and history: [`super::facts`], [`super::usage`]

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use tally_app::access::Actor;
use tally_app::servers::{self, Overview, ServerError, Settings};
use tally_core::{EndUserStatus, ImportStatus, RemoteStatus};

use crate::openapi::{Routes, Shape, doc};
use crate::{Api, ApiError};

/// The keys of a [`ServerView`].
pub const SERVER: &[&str] = &[
    "id",
    "name",
    "manager",
    "host",
    "port",
    "interval_secs",
    "enabled",
    "hidden",
    "follow",
    "vendor_daemons",
    "status",
    "last_update",
    "has_realtime",
];

pub fn routes() -> Routes {
    let server = |summary| doc(summary, 200, Shape::Object(SERVER));
    Routes::new()
        .get(
            "/api/v1/license-servers",
            list,
            doc(
                "every license server with its statuses",
                200,
                Shape::List(SERVER),
            ),
        )
        .post(
            "/api/v1/license-servers",
            add,
            doc("add a license server", 201, Shape::Object(SERVER)),
        )
        .get(
            "/api/v1/license-servers/{name}",
            one,
            server("one license server"),
        )
        .patch(
            "/api/v1/license-servers/{name}",
            edit,
            server("change the settings given"),
        )
        .delete(
            "/api/v1/license-servers/{name}",
            remove,
            doc("remove a license server and its history", 204, Shape::Empty),
        )
        .post(
            "/api/v1/license-servers/{name}/enable",
            enable,
            server("monitor and import it again"),
        )
        .post(
            "/api/v1/license-servers/{name}/disable",
            disable,
            server("stop monitoring and importing it"),
        )
        .post(
            "/api/v1/license-servers/{name}/hide",
            hide,
            server("leave it out of the grid"),
        )
        .post(
            "/api/v1/license-servers/{name}/unhide",
            unhide,
            server("show it in the grid again"),
        )
}

impl From<ServerError> for ApiError {
    fn from(e: ServerError) -> ApiError {
        match e {
            ServerError::NotFound(_) => ApiError::not_found(e.to_string()),
            ServerError::Exists(_) => ApiError::conflict(e.to_string()),
            ServerError::Invalid(_) => ApiError::unprocessable(e.to_string()),
            ServerError::Refused(e) => e.into(),
            ServerError::Store(e) => ApiError::internal(e),
        }
    }
}

/// A license server as the API shows it.
#[derive(Debug, Serialize)]
pub struct ServerView {
    pub id: i64,
    pub name: String,
    pub manager: String,
    pub vendor: Option<String>,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub poll_format: Option<String>,
    pub interval_secs: u32,
    pub enabled: bool,
    pub hidden: bool,
    pub follow: Vec<String>,
    pub import_format: Option<String>,
    /// Its offset from UTC, `+01:00`.
    pub time_zone: Option<String>,
    pub vendor_daemons: Vec<DaemonView>,
    pub status: Statuses,
    /// The last poll, RFC 3339.
    pub last_update: Option<String>,
    pub manager_version: Option<String>,
    /// Whether it is polled (the pages of current usage need polls).
    pub has_realtime: bool,
    /// Its clock against Tally's; `null` before any of its time stamps was seen.
    pub clock: Option<ClockStatus>,
}

/// A license server's clock skew (server minus Tally) as its time stamps bound it.
#[derive(Debug, Serialize)]
pub struct ClockStatus {
    /// `in-sync`, `ahead`, `behind` (by at least `secs`), or `unknown` (too few stamps yet).
    #[serde(flatten)]
    pub verdict: tally_core::clock::SkewVerdict,
    /// The middle of the bounds, when both are known.
    pub estimate_secs: Option<i64>,
    pub at_least_secs: i64,
    pub at_most_secs: Option<i64>,
    /// The latest stamp seen, RFC 3339.
    pub as_of: String,
    /// Past the threshold: what to tell the operator.
    pub warning: Option<String>,
}

impl From<tally_app::clock::ClockView> for ClockStatus {
    fn from(v: tally_app::clock::ClockView) -> ClockStatus {
        ClockStatus {
            verdict: v.verdict,
            estimate_secs: v.estimate,
            at_least_secs: v.skew.at_least,
            at_most_secs: v.skew.at_most,
            as_of: tally_core::time::rfc3339(v.skew.as_of),
            warning: v.warning,
        }
    }
}

/// A vendor daemon as the latest answered poll showed it.
#[derive(Debug, Serialize)]
pub struct DaemonView {
    pub name: String,
    /// `up`, `down` or `unknown`.
    pub status: String,
    pub version: Option<String>,
    pub message: Option<String>,
}

/// Per data source (seed 001).
#[derive(Debug, Serialize)]
pub struct Statuses {
    pub remote: SourceStatus<RemoteStatus>,
    pub import: SourceStatus<ImportStatus>,
    pub end_user: EndUserView,
}

#[derive(Debug, Serialize)]
pub struct SourceStatus<S> {
    pub state: S,
    pub reason: Option<String>,
    pub last_update: Option<String>,
}

/// The End User (agent) source: `agents` online beside Online.
#[derive(Debug, Serialize)]
pub struct EndUserView {
    pub state: EndUserStatus,
    pub agents: Option<usize>,
    pub reason: Option<String>,
    pub last_update: Option<String>,
}

impl From<Overview> for ServerView {
    fn from(o: Overview) -> ServerView {
        let s = o.server;
        let remote = s.remote_status_now();
        let clock = tally_app::clock::ClockView::of(&s).map(ClockStatus::from);
        let c = s.config;
        let (end_user, agents, agents_seen) = o.end_user;
        let time = |t: Option<i64>| t.map(tally_core::time::rfc3339);
        ServerView {
            id: s.id,
            has_realtime: c.poll_format.is_some(),
            name: c.name,
            manager: c.manager,
            vendor: c.vendor,
            host: c.host,
            port: c.port,
            poll_format: c.poll_format,
            interval_secs: c.query_interval,
            enabled: c.enabled,
            hidden: s.hidden,
            follow: c.follow,
            import_format: c.import_format,
            time_zone: s.time_zone.clone().or_else(|| {
                c.utc_offset
                    .and_then(tally_core::time::UtcOffset::from_seconds)
                    .map(|o| o.to_string())
            }),
            vendor_daemons: o
                .vendor_daemons
                .into_iter()
                .map(|d| DaemonView {
                    name: d.name,
                    status: d.status,
                    version: d.version,
                    message: d.message,
                })
                .collect(),
            status: Statuses {
                remote: SourceStatus {
                    state: remote,
                    reason: s.remote_reason,
                    last_update: time(s.last_poll),
                },
                import: SourceStatus {
                    state: s.import_status,
                    reason: s.import_reason,
                    last_update: time(s.last_import),
                },
                end_user: EndUserView {
                    state: end_user,
                    agents,
                    reason: None,
                    last_update: time(agents_seen),
                },
            },
            // The newest data from any source: an imported-only server is fresh after an import.
            last_update: time(s.last_poll.max(s.last_import)),
            manager_version: o.manager_version,
            clock,
        }
    }
}

/// The view of a server just changed.
async fn view(api: &Api, server: tally_store::Server) -> Result<ServerView, ApiError> {
    Ok(servers::overview(&api.app, &server.config.name)
        .await?
        .into())
}

async fn list(State(api): State<Arc<Api>>) -> Result<Json<Vec<ServerView>>, ApiError> {
    let servers = servers::overviews(&api.app, None).await?;
    Ok(Json(servers.into_iter().map(ServerView::from).collect()))
}

async fn one(
    State(api): State<Arc<Api>>,
    Path(name): Path<String>,
) -> Result<Json<ServerView>, ApiError> {
    Ok(Json(servers::overview(&api.app, &name).await?.into()))
}

/// `POST` body: `name` and the settings (unknown keys refused, naming the key).
async fn add(
    State(api): State<Arc<Api>>,
    Extension(actor): Extension<Actor>,
    Json(mut body): Json<serde_json::Map<String, serde_json::Value>>,
) -> Result<(StatusCode, Json<ServerView>), ApiError> {
    let name = match body.remove("name") {
        Some(serde_json::Value::String(name)) => name,
        _ => {
            return Err(ApiError::unprocessable(
                "a new server needs a `name` (a string)",
            ));
        }
    };
    let settings = Settings::deserialize(serde_json::Value::Object(body))
        .map_err(|e| ApiError::unprocessable(format!("invalid settings: {e}")))?;
    let server = servers::add(&api.app, &actor, &name, settings).await?;
    Ok((StatusCode::CREATED, Json(view(&api, server).await?)))
}

async fn edit(
    State(api): State<Arc<Api>>,
    Extension(actor): Extension<Actor>,
    Path(name): Path<String>,
    Json(settings): Json<Settings>,
) -> Result<Json<ServerView>, ApiError> {
    let server = servers::edit(&api.app, &actor, &name, settings).await?;
    Ok(Json(view(&api, server).await?))
}

async fn remove(
    State(api): State<Arc<Api>>,
    Extension(actor): Extension<Actor>,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    servers::remove(&api.app, &actor, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn enable(
    State(api): State<Arc<Api>>,
    Extension(actor): Extension<Actor>,
    Path(name): Path<String>,
) -> Result<Json<ServerView>, ApiError> {
    let server = servers::set_enabled(&api.app, &actor, &name, true).await?;
    Ok(Json(view(&api, server).await?))
}

async fn disable(
    State(api): State<Arc<Api>>,
    Extension(actor): Extension<Actor>,
    Path(name): Path<String>,
) -> Result<Json<ServerView>, ApiError> {
    let server = servers::set_enabled(&api.app, &actor, &name, false).await?;
    Ok(Json(view(&api, server).await?))
}

async fn hide(
    State(api): State<Arc<Api>>,
    Extension(actor): Extension<Actor>,
    Path(name): Path<String>,
) -> Result<Json<ServerView>, ApiError> {
    let server = servers::set_hidden(&api.app, &actor, &name, true).await?;
    Ok(Json(view(&api, server).await?))
}

async fn unhide(
    State(api): State<Arc<Api>>,
    Extension(actor): Extension<Actor>,
    Path(name): Path<String>,
) -> Result<Json<ServerView>, ApiError> {
    let server = servers::set_hidden(&api.app, &actor, &name, false).await?;
    Ok(Json(view(&api, server).await?))
}
