//! Health, public (no login) for service managers and load balancers:
//!
//! - `GET /api/v1/health` — readiness: `{"status": "ok"|"degraded"|"down", "store",
//!   "scheduler", "plugins", "quarantined_plugins"}`; 503 when `down` (the store does not answer)
//! - `GET /api/v1/health/live` — liveness: 200 `{"status": "ok"}` while the process serves
//!   requests, without asking anything else

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use tally_app::health;

use crate::Api;

pub fn router() -> Router<Arc<Api>> {
    Router::new()
        .route("/api/v1/health", get(ready))
        .route("/api/v1/health/live", get(live))
}

async fn ready(State(api): State<Arc<Api>>) -> (StatusCode, Json<Value>) {
    let health = health::check(&api.app).await;
    let mut body = serde_json::to_value(&health).unwrap_or_else(|_| json!({}));
    if health.ready() {
        return (StatusCode::OK, Json(body));
    }
    // Every error answer of the API carries `error`; the parts say which is not well.
    body["error"] = json!("Tally is not ready: its database does not answer");
    (StatusCode::SERVICE_UNAVAILABLE, Json(body))
}

async fn live() -> Json<Value> {
    Json(json!({"status": "ok"}))
}
