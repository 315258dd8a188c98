//! Tally's own licence: `GET /api/v1/license` — the licence in force, each limit with its usage
//! and percentage, any violation, and whether restricted access mode is on (seeds 002/003).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use tally_core::licence::Status;

use crate::openapi::{Routes, Shape, doc};
use crate::{Api, ApiError};

pub fn routes() -> Routes {
    Routes::new().get(
        "/api/v1/license",
        show,
        doc(
            "the licence in force, its usage and violations",
            200,
            Shape::Object(&[]),
        ),
    )
}

#[derive(Serialize)]
struct Shown {
    #[serde(flatten)]
    status: Status,
    /// Why an installed licence file is not in force (no trusted key verifies it).
    refused_file: Option<String>,
}

async fn show(State(api): State<Arc<Api>>) -> Result<Json<Shown>, ApiError> {
    let (status, refused) =
        tally_app::licence::current_status(&api.app.store, &api.app.licence_keys).await?;
    Ok(Json(Shown {
        status,
        refused_file: refused.map(|e| e.to_string()),
    }))
}
