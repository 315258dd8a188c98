//! Tally's own licence (seeds 002 and 003):
//!
//! - `GET    /api/v1/license` — the licence in force, each limit with its usage and percentage,
//!   any violation, and whether restricted access mode is on
//! - `PUT    /api/v1/license` — install a licence file (its TOML text as the body); allowed to
//!   administrators in restricted access mode, which it lifts when it resolves the violation
//! - `DELETE /api/v1/license` — remove the installed licence: the Community licence is in force

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::{Extension, Json};
use serde::Serialize;
use tally_app::access::Actor;
use tally_app::licence::{self, LicenceChangeError, Standing};
use tally_core::licence::Status;

use crate::openapi::{Routes, Shape, doc};
use crate::{Api, ApiError};

/// A licence file is a few hundred bytes; nothing bigger is read.
const MAX_LICENCE_BYTES: usize = 64 * 1024;

pub fn routes() -> Routes {
    Routes::new()
        .get(
            "/api/v1/license",
            show,
            doc(
                "the licence in force, its usage and violations",
                200,
                Shape::Object(&[]),
            ),
        )
        .put(
            "/api/v1/license",
            install,
            doc(
                "install a licence file (its TOML text as the body)",
                200,
                Shape::Object(&[]),
            ),
        )
        .delete(
            "/api/v1/license",
            remove,
            doc(
                "remove the installed licence: the Community licence is in force",
                200,
                Shape::Object(&[]),
            ),
        )
        .map(|r| r.layer(DefaultBodyLimit::max(MAX_LICENCE_BYTES)))
}

#[derive(Serialize)]
struct Shown<'a> {
    #[serde(flatten)]
    status: &'a Status,
    /// Why an installed licence file is not in force (no trusted key verifies it).
    refused_file: Option<&'a str>,
}

fn shown(standing: &Standing) -> Json<Shown<'_>> {
    Json(Shown {
        status: &standing.status,
        refused_file: standing.refused_file.as_deref(),
    })
}

async fn show(State(api): State<Arc<Api>>) -> Result<axum::response::Response, ApiError> {
    let standing = licence::current_status(&api.app).await?;
    Ok(axum::response::IntoResponse::into_response(shown(
        &standing,
    )))
}

impl From<LicenceChangeError> for ApiError {
    fn from(e: LicenceChangeError) -> ApiError {
        match e {
            LicenceChangeError::Access(e) => e.into(),
            LicenceChangeError::Refused(_) => ApiError::unprocessable(e.to_string()),
            LicenceChangeError::Other(e) => e.into(),
        }
    }
}

async fn install(
    State(api): State<Arc<Api>>,
    Extension(actor): Extension<Actor>,
    body: Bytes,
) -> Result<axum::response::Response, ApiError> {
    let text = std::str::from_utf8(&body)
        .map_err(|_| ApiError::bad_request("a licence file is UTF-8 text"))?;
    let standing = licence::install(&api.app, &actor, text).await?;
    Ok(axum::response::IntoResponse::into_response(shown(
        &standing,
    )))
}

async fn remove(
    State(api): State<Arc<Api>>,
    Extension(actor): Extension<Actor>,
) -> Result<axum::response::Response, ApiError> {
    let (_, standing) = licence::remove(&api.app, &actor).await?;
    Ok(axum::response::IntoResponse::into_response(shown(
        &standing,
    )))
}
