//! Reports: `GET /api/v1/reports/{name}?server=&feature=&from=&to=&period=…` answers what
//! `tally report NAME --format json` prints (see `tally_app::reports`).

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use tally_app::reports::{self, ReportError, ReportQuery, ReportRequest, ReportRows};

use crate::{Api, ApiError};

pub fn router() -> Router<Arc<Api>> {
    Router::new().route("/api/v1/reports/{name}", get(answer))
}

impl From<ReportError> for ApiError {
    fn from(e: ReportError) -> ApiError {
        match e {
            ReportError::Invalid(_) => ApiError::bad_request(e.to_string()),
            ReportError::UnknownServer { .. } | ReportError::UnknownFeature { .. } => {
                ApiError::not_found(e.to_string())
            }
            ReportError::Store(e) => ApiError::internal(e),
        }
    }
}

async fn answer(
    State(api): State<Arc<Api>>,
    Path(name): Path<String>,
    Query(query): Query<ReportQuery>,
) -> Result<Json<ReportRows>, ApiError> {
    let request = ReportRequest::parse(&name, &query)?;
    Ok(Json(reports::run(&api.app.store, &request).await?))
}
