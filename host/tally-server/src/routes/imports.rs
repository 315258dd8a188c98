//! Imports: `/api/v1/imports`.
//!
//! - `POST /api/v1/imports?server=&format=&utc_offset=&denials_only=&replace=&name=` — a log file as the
//!   raw body or as the `file` field of a multipart form; answers `202 {"job": id}`
//! - `GET  /api/v1/imports` — this process's jobs; `GET /api/v1/imports/{id}` — one job's
//!   state, progress and summary
//! - `GET  /api/v1/import-runs?server=&limit=` — every import run so far, newest first (command
//!   line, followed logs and uploads alike)

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::{
    DefaultBodyLimit, FromRequest, Multipart, Path as UrlPath, Query, Request, State,
};
use axum::http::{StatusCode, header};
use axum::{Extension, Json};
use futures_util::{Stream, StreamExt};
use serde::Deserialize;
use tally_app::access::Actor;
use tally_app::import::{ImportOptions, default_server_name};
use tally_app::jobs;
use tally_app::runs::{RunView, RunsError};
use tally_app::spool::{Spool, SpoolError};
use tally_core::time::UtcOffset;
use tally_store::Job;

use crate::openapi::{Routes, Shape, doc};
use crate::{Api, ApiError};

/// Uploads spooled by this process, numbering their files.
static SPOOLED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

const JOB: &[&str] = &[
    "id",
    "state",
    "name",
    "server",
    "bytes_total",
    "bytes_done",
    "created",
];

pub fn routes() -> Routes {
    Routes::new()
        .get(
            "/api/v1/imports",
            list,
            doc("the import jobs", 200, Shape::List(JOB)),
        )
        .post(
            "/api/v1/imports",
            start,
            doc(
                "import a log (raw body or multipart `file`): ?server=&format=&utc_offset=&denials_only=&replace=",
                202,
                Shape::Object(&["job"]),
            ),
        )
        .get(
            "/api/v1/imports/{id}",
            one,
            doc("one import job", 200, Shape::Object(JOB)),
        )
        .get(
            "/api/v1/import-runs",
            runs,
            doc(
                "every import run so far, newest first: ?server=&limit= (default 100, at most 1000)",
                200,
                Shape::List(RUN),
            ),
        )
        // The spool bounds an upload's size (`tally serve --max-upload-mb`).
        .map(|r| r.layer(DefaultBodyLimit::disable()))
}

const RUN: &[&str] = &[
    "id", "server", "format", "plugin", "path", "status", "lines", "counts", "error", "started",
    "finished",
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RunsQuery {
    server: Option<String>,
    limit: Option<u32>,
}

async fn runs(
    State(api): State<Arc<Api>>,
    Query(query): Query<RunsQuery>,
) -> Result<Json<Vec<RunView>>, ApiError> {
    let limit = query.limit.unwrap_or(100);
    let listed = tally_app::runs::list(&api.app.store, query.server.as_deref(), limit).await;
    listed.map(Json).map_err(|e| match e {
        RunsError::UnknownServer(_) => ApiError::not_found(e.to_string()),
        RunsError::Limit(_) => ApiError::bad_request(e.to_string()),
        RunsError::Store(e) => e.into(),
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportQuery {
    server: Option<String>,
    format: Option<String>,
    /// The license server's offset from UTC, as `-5` or `+5:30`.
    utc_offset: Option<UtcOffset>,
    #[serde(default)]
    denials_only: bool,
    /// Replace what earlier imports of this file wrote (a correction of offset or format).
    #[serde(default)]
    replace: bool,
    /// The file's name, for messages and the server's default name (raw bodies have none).
    name: Option<String>,
}

async fn start(
    State(api): State<Arc<Api>>,
    Extension(actor): Extension<Actor>,
    Query(query): Query<ImportQuery>,
    request: Request,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let app = &api.app;
    // Refused before the upload is read, not after (the verb asks again).
    app.may_write(&actor, "importing a log")?;
    // Names the spooled file until the job has its id.
    let id = SPOOLED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let mut name = query
        .name
        .clone()
        .unwrap_or_else(|| format!("upload-{id}.log"));
    let spooled;
    if multipart {
        let mut form = Multipart::from_request(request, &())
            .await
            .map_err(|e| ApiError::bad_request(e.body_text()))?;
        loop {
            let Some(field) = form
                .next_field()
                .await
                .map_err(|e| ApiError::bad_request(e.body_text()))?
            else {
                return Err(ApiError::bad_request("the form has no `file` field"));
            };
            if field.name() == Some("file") {
                if let Some(file_name) = field.file_name().filter(|_| query.name.is_none()) {
                    name = file_name.to_string();
                }
                spooled = spool(&app.spool, id, &name, declared, field).await?;
                break;
            }
        }
    } else {
        spooled = spool(
            &app.spool,
            id,
            &name,
            declared,
            request.into_body().into_data_stream(),
        )
        .await?;
    }
    let options = ImportOptions {
        server: Some(
            query
                .server
                .unwrap_or_else(|| default_server_name(Path::new(&name))),
        ),
        format: query.format,
        utc_offset: query.utc_offset.map(UtcOffset::seconds),
        denials_only: query.denials_only,
        replace: query.replace,
        ..ImportOptions::default()
    };
    let job = jobs::start(app, &actor, spooled, &name, options).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(serde_json::json!({ "job": job })),
    ))
}

/// Writes an upload to the spool (its file goes if the upload breaks off or passes a bound).
async fn spool<E: std::fmt::Display>(
    spool: &Spool,
    id: u64,
    name: &str,
    declared: Option<u64>,
    mut body: impl Stream<Item = Result<axum::body::Bytes, E>> + Unpin,
) -> Result<PathBuf, ApiError> {
    let mut file = spool.create(id, name, declared).await?;
    while let Some(chunk) = body.next().await {
        let chunk =
            chunk.map_err(|e| ApiError::bad_request(format!("the upload broke off: {e}")))?;
        file.write(&chunk).await?;
    }
    Ok(file.finish().await?)
}

impl From<SpoolError> for ApiError {
    fn from(e: SpoolError) -> ApiError {
        match e {
            SpoolError::TooLarge { .. } => ApiError::payload_too_large(e.to_string()),
            SpoolError::NoSpace { .. } => ApiError::insufficient_storage(e.to_string()),
            SpoolError::Io(e) => ApiError::internal(format!("spool: {e}")),
        }
    }
}

async fn list(State(api): State<Arc<Api>>) -> Result<Json<Vec<Job>>, ApiError> {
    Ok(Json(jobs::list(&api.app, None, 100).await?))
}

async fn one(
    State(api): State<Arc<Api>>,
    UrlPath(id): UrlPath<i64>,
) -> Result<Json<Job>, ApiError> {
    jobs::get(&api.app, id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no import job {id}")))
}
