//! `GET /api/v1/health`: whether the store answers.

use std::sync::Arc;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use crate::Api;

pub fn router() -> Router<Arc<Api>> {
    Router::new().route("/api/v1/health", get(health))
}

#[derive(Serialize)]
struct Health {
    ok: bool,
    store: &'static str,
}

async fn health(State(api): State<Arc<Api>>) -> Json<Health> {
    let store_ok = api.app.store.config_version().await.is_ok();
    Json(Health {
        ok: store_ok,
        store: if store_ok { "ok" } else { "unreachable" },
    })
}
