//! Recorded facts, keyset-paged (`limit` up to 1,000, default 100; `after` = the `next` of the
//! page before):
//!
//! - `GET /api/v1/sessions`, `GET /api/v1/denials` — `?server=&feature=&user=&host=&from=&to=`
//! - `GET /api/v1/users`, `GET /api/v1/hosts` — `?server=`
//! - `GET /api/v1/license-servers/{name}/sessions|denials|users|hosts` — the same, of one server
//! - `GET /api/v1/license-servers/{name}/samples?feature=` — its usage samples, per feature

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::Serialize;
use tally_app::facts::{self, FactError, FactQuery, Page};
use tally_core::refusal::RefusalCause;
use tally_core::time::rfc3339;
use tally_store::{DenialEntry, Party, PartyEntry, SampleEntry, SessionEntry};

use crate::openapi::{Routes, Shape, doc};
use crate::{Api, ApiError};

const SESSION: &[&str] = &[
    "id", "server", "feature", "user", "host", "count", "start", "end", "source",
];
const DENIAL: &[&str] = &[
    "id", "server", "feature", "user", "host", "count", "time", "reason", "cause",
];
const PARTY: &[&str] = &["name", "sessions", "license_hours", "last_seen"];
const SAMPLE: &[&str] = &["feature", "time", "issued", "in_use", "queued"];

pub fn routes() -> Routes {
    let page = |summary, keys| doc(summary, 200, Shape::Page(keys));
    Routes::new()
        .get(
            "/api/v1/sessions",
            sessions,
            page(
                "sessions: ?server=&feature=&user=&host=&from=&to=&limit=&after=",
                SESSION,
            ),
        )
        .get(
            "/api/v1/denials",
            denials,
            page(
                "denials: ?server=&feature=&user=&host=&from=&to=&limit=&after=",
                DENIAL,
            ),
        )
        .get(
            "/api/v1/users",
            users,
            page("users by name: ?server=&limit=&after=", PARTY),
        )
        .get(
            "/api/v1/hosts",
            hosts,
            page("hosts by name: ?server=&limit=&after=", PARTY),
        )
        .get(
            "/api/v1/license-servers/{name}/sessions",
            sessions,
            page("its sessions (filters as /sessions)", SESSION),
        )
        .get(
            "/api/v1/license-servers/{name}/denials",
            denials,
            page("its denials (filters as /denials)", DENIAL),
        )
        .get(
            "/api/v1/license-servers/{name}/users",
            users,
            page("its users", PARTY),
        )
        .get(
            "/api/v1/license-servers/{name}/hosts",
            hosts,
            page("its hosts", PARTY),
        )
        .get(
            "/api/v1/license-servers/{name}/samples",
            samples,
            page(
                "usage samples of one feature: ?feature=&from=&to=&limit=&after=",
                SAMPLE,
            ),
        )
}

impl From<FactError> for ApiError {
    fn from(e: FactError) -> ApiError {
        match e {
            FactError::Invalid(_) => ApiError::bad_request(e.to_string()),
            FactError::UnknownServer(_) => ApiError::not_found(e.to_string()),
            FactError::Store(e) => ApiError::internal(e),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct SessionView {
    pub id: i64,
    pub server: String,
    pub vendor: String,
    pub feature: String,
    pub user: String,
    pub host: String,
    pub count: u32,
    pub start: String,
    pub end: Option<String>,
    pub end_reason: String,
    pub source: String,
}

impl From<SessionEntry> for SessionView {
    fn from(s: SessionEntry) -> SessionView {
        SessionView {
            id: s.id,
            server: s.server,
            vendor: s.vendor,
            feature: s.feature,
            user: s.user,
            host: s.host,
            count: s.count,
            start: rfc3339(s.start),
            end: Some(rfc3339(s.end)),
            end_reason: s.end_reason,
            source: s.source,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct DenialView {
    pub id: i64,
    pub server: String,
    pub vendor: String,
    pub feature: String,
    pub user: String,
    pub host: String,
    pub count: u32,
    pub time: String,
    /// The end of a lasting shortfall.
    pub until: Option<String>,
    pub kind: String,
    pub code: Option<String>,
    pub reason: Option<String>,
    pub cause: RefusalCause,
}

impl From<DenialEntry> for DenialView {
    fn from(d: DenialEntry) -> DenialView {
        DenialView {
            cause: d.cause,
            id: d.id,
            server: d.server,
            vendor: d.vendor,
            feature: d.feature,
            user: d.user,
            host: d.host,
            count: d.count,
            time: rfc3339(d.time),
            until: d.until.map(rfc3339),
            kind: d.kind,
            code: d.code,
            reason: d.reason,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct PartyView {
    pub name: String,
    pub sessions: u64,
    pub license_hours: f64,
    /// The last UTC day it held a license.
    pub last_seen: Option<String>,
}

impl From<PartyEntry> for PartyView {
    fn from(p: PartyEntry) -> PartyView {
        PartyView {
            name: p.name,
            sessions: p.sessions,
            license_hours: p.license_hours,
            last_seen: p.last_seen.map(rfc3339),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct SampleView {
    pub vendor: String,
    pub feature: String,
    pub time: String,
    pub issued: Option<u32>,
    pub in_use: u32,
    pub queued: u32,
}

impl From<SampleEntry> for SampleView {
    fn from(s: SampleEntry) -> SampleView {
        SampleView {
            vendor: s.vendor,
            feature: s.feature,
            time: rfc3339(s.time),
            issued: s.issued,
            in_use: s.in_use,
            queued: s.queued,
        }
    }
}

fn view<T, V: From<T>>(page: Page<T>) -> Json<Page<V>> {
    Json(Page {
        items: page.items.into_iter().map(V::from).collect(),
        next: page.next,
    })
}

/// `query`, narrowed to the server of the path on the `/license-servers/{name}/…` routes.
fn scoped(server: Option<Path<String>>, mut query: FactQuery) -> FactQuery {
    if let Some(Path(name)) = server {
        query.server = Some(name);
    }
    query
}

async fn sessions(
    State(api): State<Arc<Api>>,
    server: Option<Path<String>>,
    Query(query): Query<FactQuery>,
) -> Result<Json<Page<SessionView>>, ApiError> {
    Ok(view(
        facts::sessions(&api.app, &scoped(server, query)).await?,
    ))
}

async fn denials(
    State(api): State<Arc<Api>>,
    server: Option<Path<String>>,
    Query(query): Query<FactQuery>,
) -> Result<Json<Page<DenialView>>, ApiError> {
    Ok(view(
        facts::denials(&api.app, &scoped(server, query)).await?,
    ))
}

async fn users(
    State(api): State<Arc<Api>>,
    server: Option<Path<String>>,
    Query(query): Query<FactQuery>,
) -> Result<Json<Page<PartyView>>, ApiError> {
    let query = scoped(server, query);
    Ok(view(facts::parties(&api.app, Party::User, &query).await?))
}

async fn hosts(
    State(api): State<Arc<Api>>,
    server: Option<Path<String>>,
    Query(query): Query<FactQuery>,
) -> Result<Json<Page<PartyView>>, ApiError> {
    let query = scoped(server, query);
    Ok(view(facts::parties(&api.app, Party::Host, &query).await?))
}

async fn samples(
    State(api): State<Arc<Api>>,
    Path(name): Path<String>,
    Query(query): Query<FactQuery>,
) -> Result<Json<Page<SampleView>>, ApiError> {
    Ok(view(facts::samples(&api.app, &name, &query).await?))
}
