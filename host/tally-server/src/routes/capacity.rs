//! Capacity the operator enters per feature: `/api/v1/license-servers/{name}/capacity`.
//!
//! - `GET    …/capacity` — every capacity statement of the server (entered, logged, license
//!   files), with its source and validity range
//! - `POST   …/capacity` — enter one (`{"feature", "vendor"?, "issued", "from"?, "until"?}`); 201
//! - `DELETE …/capacity/{id}` — remove one the operator entered; 204

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use tally_app::access::Actor;
use tally_app::capacity::{self, CapacityEntry};
use tally_core::time::rfc3339;
use tally_store::CapacityRow;

use crate::openapi::{Routes, Shape, doc};
use crate::{Api, ApiError};

/// The keys of a [`CapacityView`].
const CAPACITY: &[&str] = &[
    "id", "vendor", "feature", "source", "pool", "version", "issued", "from", "until",
];

pub fn routes() -> Routes {
    Routes::new()
        .get(
            "/api/v1/license-servers/{name}/capacity",
            list,
            doc(
                "the server's capacity statements: entered, logged, from license files",
                200,
                Shape::List(CAPACITY),
            ),
        )
        .post(
            "/api/v1/license-servers/{name}/capacity",
            enter,
            doc(
                "enter the licences issued of a feature over a validity range",
                201,
                Shape::Object(CAPACITY),
            ),
        )
        .delete(
            "/api/v1/license-servers/{name}/capacity/{id}",
            remove,
            doc("remove capacity the operator entered", 204, Shape::Empty),
        )
}

/// A capacity statement as the API shows it.
#[derive(Debug, Serialize)]
struct CapacityView {
    id: i64,
    vendor: String,
    feature: String,
    /// `server` (its own records), `license-file` or `operator`: the most trusted in force wins.
    source: &'static str,
    pool: String,
    version: Option<String>,
    /// `null`: uncounted.
    issued: Option<u32>,
    /// RFC 3339; `null`: since ever.
    from: Option<String>,
    /// RFC 3339, excluded; `null`: open-ended.
    until: Option<String>,
}

impl From<CapacityRow> for CapacityView {
    fn from(r: CapacityRow) -> CapacityView {
        CapacityView {
            id: r.id,
            vendor: r.vendor,
            feature: r.name,
            source: r.range.source.as_str(),
            pool: r.range.pool,
            version: r.range.version,
            issued: r.range.issued,
            from: r.range.from.map(rfc3339),
            until: r.range.until.map(rfc3339),
        }
    }
}

async fn list(
    State(api): State<Arc<Api>>,
    Path(name): Path<String>,
) -> Result<Json<Vec<CapacityView>>, ApiError> {
    let rows = capacity::list(&api.app, &name).await?;
    Ok(Json(rows.into_iter().map(CapacityView::from).collect()))
}

async fn enter(
    State(api): State<Arc<Api>>,
    Extension(actor): Extension<Actor>,
    Path(name): Path<String>,
    Json(body): Json<serde_json::Value>,
) -> Result<(StatusCode, Json<CapacityView>), ApiError> {
    let entry = CapacityEntry::deserialize(body)
        .map_err(|e| ApiError::unprocessable(format!("invalid capacity: {e}")))?;
    let row = capacity::enter(&api.app, &actor, &name, entry).await?;
    Ok((StatusCode::CREATED, Json(row.into())))
}

async fn remove(
    State(api): State<Arc<Api>>,
    Extension(actor): Extension<Actor>,
    Path((name, id)): Path<(String, i64)>,
) -> Result<StatusCode, ApiError> {
    capacity::remove(&api.app, &actor, &name, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
