//! Reports, every one of `tally report`:
//!
//! - `GET /api/v1/reports` — their names, what each shows and the options it takes
//! - `GET /api/v1/reports/{name}?server=&feature=&from=&to=&period=…` — `{"report", "columns",
//!   "rows"}`: the rows `tally report NAME` gives (see `tally_app::reports`), cells in column order

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::Serialize;
use tally_app::reports::{self, Cell, ReportError, ReportName, ReportQuery, ReportRequest};

use crate::openapi::{Routes, Shape, doc};
use crate::{Api, ApiError};

pub fn routes() -> Routes {
    Routes::new()
        .get(
            "/api/v1/reports",
            list,
            doc(
                "the reports and their options",
                200,
                Shape::List(&["name", "about", "options"]),
            ),
        )
        .get(
            "/api/v1/reports/{name}",
            answer,
            doc(
                "a report: ?server=&feature=&from=&to=&sort=&top= and the report's own options \
                 (period, by, below, per_user, compact, counting, window, denied: GET \
                 /api/v1/reports says which)",
                200,
                Shape::Table(&["report", "columns", "rows"]),
            ),
        )
}

impl From<ReportError> for ApiError {
    fn from(e: ReportError) -> ApiError {
        match e {
            ReportError::Invalid(_) => ApiError::bad_request(e.to_string()),
            ReportError::TooLarge(_) => ApiError::unprocessable(e.to_string()),
            ReportError::UnknownServer { .. } | ReportError::UnknownFeature { .. } => {
                ApiError::not_found(e.to_string())
            }
            ReportError::Store(e) => ApiError::from(e),
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
