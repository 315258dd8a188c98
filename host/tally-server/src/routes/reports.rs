//! Reports, every one of `tally report`:
//!
//! - `GET /api/v1/reports` — their names, what each shows and the options it takes
//! - `GET /api/v1/reports/{name}?server=&feature=&from=&to=&period=…` — `{"report", "columns",
//!   "rows"}`: the rows `tally report NAME` gives (see `tally_app::reports`), cells in column order

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use tally_app::reports::{self, Cell, ReportError, ReportName, ReportQuery, ReportRequest};

use crate::{Api, ApiError};

pub fn router() -> Router<Arc<Api>> {
    Router::new()
        .route("/api/v1/reports", get(list))
        .route("/api/v1/reports/{name}", get(answer))
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

/// A report that can be asked for.
#[derive(Debug, Serialize)]
pub struct ReportInfo {
    pub name: &'static str,
    pub about: &'static str,
    /// The query parameters it reads.
    pub options: Vec<&'static str>,
}

/// A report's answer.
#[derive(Debug, Serialize)]
pub struct ReportView {
    pub report: &'static str,
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Cell>>,
}

#[derive(Debug, Serialize)]
pub struct Column {
    pub name: String,
}

async fn list() -> Json<Vec<ReportInfo>> {
    Json(
        ReportName::ALL
            .into_iter()
            .map(|n| ReportInfo {
                name: n.as_str(),
                about: n.about(),
                options: n.options().to_vec(),
            })
            .collect(),
    )
}

async fn answer(
    State(api): State<Arc<Api>>,
    Path(name): Path<String>,
    Query(query): Query<ReportQuery>,
) -> Result<Json<ReportView>, ApiError> {
    let request = ReportRequest::parse(&name, &query)?;
    let rows = reports::run(&api.app.store, &request).await?;
    Ok(Json(ReportView {
        report: request.name.as_str(),
        columns: rows
            .columns
            .into_iter()
            .map(|name| Column { name })
            .collect(),
        rows: rows.rows,
    }))
}
