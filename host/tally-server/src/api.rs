//! The REST API, `/api/v1`.
//!
//! - `GET  /api/v1/health`
//! - `GET  /api/v1/servers`, `GET /api/v1/servers/{name}` — configuration and statuses (seed 001)
//! - `GET  /api/v1/servers/{name}/sessions`, `…/samples` — history
//! - `POST /api/v1/imports?server=&format=&utc_offset=&denials_only=` — a log file as the raw
//!   body or as the `file` field of a multipart form; answers `202 {"job": id}`
//! - `GET  /api/v1/imports/{job}` — the job's state, progress and summary
//! - `GET  /api/v1/reports/{name}?server=&feature=&from=&to=&period=…` — a report, as `tally
//!   report NAME --format json` prints it (see [`crate::reports`])
//! - `/api/v1/admin/…` — plugin administration, token required (see [`crate::admin`])

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{FromRequest, Multipart, Path as UrlPath, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;

use crate::App;
use crate::import::{FileSummary, ImportOptions, Progress, import_file};

/// Largest log accepted through the API.
pub const MAX_UPLOAD: usize = 4 << 30;

pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route(
            "/api/v1/health",
            get(|| async { Json(serde_json::json!({"ok": true})) }),
        )
        .route("/api/v1/servers", get(servers))
        .route("/api/v1/servers/{name}", get(server))
        .route("/api/v1/servers/{name}/sessions", get(sessions))
        .route("/api/v1/servers/{name}/samples", get(samples))
        .route("/api/v1/imports", post(start_import))
        .route("/api/v1/imports/{job}", get(job))
        .route("/api/v1/reports/{name}", get(crate::reports::answer))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_UPLOAD))
        .with_state(app.clone())
        .merge(crate::admin::router(app))
}

/// An error answer: `{"error": "..."}` with its status.
struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(serde_json::json!({ "error": self.1 }))).into_response()
    }
}

impl From<tally_store::StoreError> for ApiError {
    fn from(e: tally_store::StoreError) -> Self {
        ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
    }
}

fn not_found(name: &str) -> ApiError {
    ApiError(
        StatusCode::NOT_FOUND,
        format!("no license server is called `{name}`"),
    )
}

/// A server as the API shows it: the Remote status as of now (Unmonitored when polls stopped).
#[derive(Serialize)]
struct ServerView {
    #[serde(flatten)]
    server: tally_store::Server,
    remote_status_now: tally_core::RemoteStatus,
}

fn view(server: tally_store::Server) -> ServerView {
    ServerView {
        remote_status_now: server.remote_status_now(),
        server,
    }
}

async fn servers(State(app): State<Arc<App>>) -> Result<Json<Vec<ServerView>>, ApiError> {
    Ok(Json(
        app.store.servers().await?.into_iter().map(view).collect(),
    ))
}

async fn find(app: &App, name: &str) -> Result<tally_store::Server, ApiError> {
    app.store.server(name).await?.ok_or_else(|| not_found(name))
}

async fn server(
    State(app): State<Arc<App>>,
    UrlPath(name): UrlPath<String>,
) -> Result<Json<ServerView>, ApiError> {
    Ok(Json(view(find(&app, &name).await?)))
}

async fn sessions(
    State(app): State<Arc<App>>,
    UrlPath(name): UrlPath<String>,
) -> Result<Json<Vec<tally_store::SessionRow>>, ApiError> {
    let server = find(&app, &name).await?;
    Ok(Json(app.store.sessions(server.id).await?))
}

async fn samples(
    State(app): State<Arc<App>>,
    UrlPath(name): UrlPath<String>,
) -> Result<Json<Vec<tally_store::UsageSample>>, ApiError> {
    let server = find(&app, &name).await?;
    Ok(Json(app.store.usage_samples(server.id).await?))
}

// ---- imports ---------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
struct ImportQuery {
    server: Option<String>,
    format: Option<String>,
    /// Seconds east of UTC.
    utc_offset: Option<i32>,
    #[serde(default)]
    denials_only: bool,
    /// The file's name, for messages and the server's default name (raw bodies have none).
    name: Option<String>,
}

/// What `GET /api/v1/imports/{job}` shows.
#[derive(Debug, Clone, Serialize)]
pub struct Job {
    pub id: u64,
    /// `running`, `done` or `failed`.
    pub state: &'static str,
    pub name: String,
    pub bytes_total: u64,
    pub bytes_done: u64,
    pub summary: Option<FileSummary>,
    pub error: Option<String>,
}

/// Import jobs of this process.
#[derive(Debug, Default)]
pub struct Jobs {
    next: AtomicU64,
    jobs: Mutex<HashMap<u64, Job>>,
}

impl Jobs {
    fn update(&self, id: u64, f: impl FnOnce(&mut Job)) {
        if let Some(job) = self
            .jobs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(&id)
        {
            f(job);
        }
    }

    fn get(&self, id: u64) -> Option<Job> {
        self.jobs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&id)
            .cloned()
    }
}

/// Progress of one job, for [`import_file`].
struct JobProgress {
    app: Arc<App>,
    id: u64,
}

impl Progress for JobProgress {
    fn start(&self, _path: &Path, total: u64) {
        self.app.jobs.update(self.id, |j| j.bytes_total = total);
    }
    fn advance(&self, bytes: u64) {
        self.app.jobs.update(self.id, |j| j.bytes_done += bytes);
    }
}

async fn start_import(
    State(app): State<Arc<App>>,
    Query(query): Query<ImportQuery>,
    request: Request,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let id = app.jobs.next.fetch_add(1, Ordering::Relaxed) + 1;
    let bad = |m: String| ApiError(StatusCode::BAD_REQUEST, m);
    let multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    std::fs::create_dir_all(&app.spool)
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, format!("spool: {e}")))?;
    let mut name = query
        .name
        .clone()
        .unwrap_or_else(|| format!("upload-{id}.log"));
    let spooled;
    if multipart {
        let mut form = Multipart::from_request(request, &())
            .await
            .map_err(|e| bad(e.to_string()))?;
        loop {
            let Some(field) = form.next_field().await.map_err(|e| bad(e.to_string()))? else {
                return Err(bad("the form has no `file` field".into()));
            };
            if field.name() == Some("file") {
                if let Some(file_name) = field.file_name().filter(|_| query.name.is_none()) {
                    name = file_name.to_string();
                }
                spooled = spool(&app.spool, id, &name, field).await?;
                break;
            }
        }
    } else {
        spooled = spool(
            &app.spool,
            id,
            &name,
            request.into_body().into_data_stream(),
        )
        .await?;
    }
    app.jobs
        .jobs
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(
            id,
            Job {
                id,
                state: "running",
                name: name.clone(),
                bytes_total: 0,
                bytes_done: 0,
                summary: None,
                error: None,
            },
        );
    let options = ImportOptions {
        server: Some(
            query
                .server
                .unwrap_or_else(|| crate::import::default_server_name(Path::new(&name))),
        ),
        format: query.format,
        utc_offset: query.utc_offset,
        denials_only: query.denials_only,
        ..ImportOptions::default()
    };
    let task_app = app.clone();
    tokio::spawn(async move {
        let progress = JobProgress {
            app: task_app.clone(),
            id,
        };
        let result = import_file(
            &task_app.store,
            &task_app.registry,
            &spooled,
            &options,
            &progress,
        )
        .await;
        let _ = std::fs::remove_file(&spooled);
        task_app.jobs.update(id, |job| match result {
            Ok(summary) => {
                job.state = "done";
                job.summary = Some(summary);
            }
            Err(error) => {
                job.state = "failed";
                job.error = Some(format!("{error:#}"));
            }
        });
    });
    Ok((StatusCode::ACCEPTED, Json(serde_json::json!({ "job": id }))))
}

/// Writes an upload to the spool directory, keeping the file name's extension-less stem
/// recognisable in messages.
async fn spool<E: std::fmt::Display>(
    dir: &Path,
    id: u64,
    name: &str,
    mut body: impl Stream<Item = Result<axum::body::Bytes, E>> + Unpin,
) -> Result<PathBuf, ApiError> {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let path = dir.join(format!("{id}-{safe}"));
    let io = |e: std::io::Error| ApiError(StatusCode::INTERNAL_SERVER_ERROR, format!("spool: {e}"));
    let mut file = tokio::fs::File::create(&path).await.map_err(io)?;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| ApiError(StatusCode::BAD_REQUEST, e.to_string()))?;
        file.write_all(&chunk).await.map_err(io)?;
    }
    file.flush().await.map_err(io)?;
    Ok(path)
}

async fn job(
    State(app): State<Arc<App>>,
    UrlPath(id): UrlPath<u64>,
) -> Result<Json<Job>, ApiError> {
    app.jobs
        .get(id)
        .map(Json)
        .ok_or_else(|| ApiError(StatusCode::NOT_FOUND, format!("no import job {id}")))
}
