//! The API's routes, one module per resource.
//!
//! | prefix | module |
//! | --- | --- |
//! | `/api/v1/health` | [`health`] (public) |
//! | `/api/v1/session` | [`session`] (public: logging in) |
//! | `/api/v1/accounts`, `/api/v1/tokens` | [`accounts`] |
//! | `/api/v1/license` | [`licence`] |
//! | `/api/v1/license-servers` | [`servers`] |
//! | a server's capacity entered by hand | [`capacity`] |
//! | `/api/v1/sessions`, `/denials`, `/users`, `/hosts`, a server's facts | [`facts`] |
//! | `/api/v1/usage`, a server's features, usage and history | [`usage`] |
//! | `/metrics` (Prometheus text, read like any read) | [`metrics`] |
//! | `/api/v1/openapi.json` (public) | here, from the route tables ([`crate::openapi`]) |
//! | `/api/v1/imports`, `/api/v1/import-runs` | [`imports`] |
//! | `/api/v1/reports` | [`reports`] |
//! | `/api/v1/plugins`, `/api/v1/admin/plugins`, `/api/v1/admin/audit` | [`plugins`] |
//! | `/api/v1/agents…` (the agents' own routes take an agent token only) | [`agents`] |
//!
//! The dashboard's pages and assets ([`crate::web`]) are public: they hold no data, and every
//! number on them comes from these routes. Every route but the public ones passes [`crate::auth::authenticate`],
//! and each of their reads runs within [`crate::budget`].

pub mod accounts;
pub mod agents;
pub mod capacity;
pub mod facts;
pub mod health;
pub mod imports;
pub mod licence;
pub mod metrics;
pub mod plugins;
pub mod reports;
pub mod servers;
pub mod session;
pub mod usage;

use std::sync::Arc;

use axum::http::Method;
use axum::routing::get;
use axum::{Json, Router};

use crate::Api;
use crate::openapi::{Operation, Routes, Shape, doc};

/// The route tables: those served without a login, those behind it, and the agents' own.
fn tables() -> (Routes, Routes, Routes) {
    let public = session::routes();
    let protected = servers::routes()
        .merge(capacity::routes())
        .merge(facts::routes())
        .merge(usage::routes())
        .merge(imports::routes())
        .merge(reports::routes())
        .merge(plugins::routes())
        .merge(accounts::routes())
        .merge(licence::routes())
        .merge(metrics::routes())
        .merge(agents::routes());
    (public, protected, agents::agent_routes())
}

/// The API's own description.
pub const OPENAPI: &str = "/api/v1/openapi.json";

/// Routes served beside the tables: health (its own router) and the API's description.
fn beside() -> [Operation; 3] {
    [
        Operation {
            method: Method::GET,
            path: "/api/v1/health",
            public: true,
            doc: doc(
                "readiness: whether the store, the scheduler and the plugins are well (503 when the store does not answer)",
                200,
                Shape::Object(&["status", "store", "scheduler", "plugins"]),
            ),
        },
        Operation {
            method: Method::GET,
            path: "/api/v1/health/live",
            public: true,
            doc: doc(
                "liveness: answers while the process serves requests",
                200,
                Shape::Object(&["status"]),
            ),
        },
        Operation {
            method: Method::GET,
            path: OPENAPI,
            public: true,
            doc: doc(
                "this API as OpenAPI 3.1",
                200,
                Shape::Object(&["openapi", "paths"]),
            ),
        },
    ]
}

/// Every operation the API serves, documented.
pub fn operations() -> Vec<Operation> {
    let (public, protected, agent) = tables();
    let mut all = public.operations;
    all.extend(protected.operations);
    all.extend(agent.operations);
    all.extend(beside());
    all
}

pub fn router(api: Arc<Api>) -> Router {
    let document = Arc::new(crate::openapi::document(&operations()));
    let (public, protected, agent) = tables();
    let agent = agent
        .router
        .route_layer(axum::middleware::from_fn_with_state(
            api.clone(),
            crate::auth::authenticate_agent,
        ));
    let protected = protected
        .router
        .route_layer(axum::middleware::from_fn(crate::csv::negotiate))
        .route_layer(axum::middleware::from_fn_with_state(
            api.read_budget.clone(),
            crate::budget::limit,
        ))
        .route_layer(axum::middleware::from_fn_with_state(
            api.clone(),
            crate::auth::authenticate,
        ));
    Router::new()
        .merge(crate::web::router())
        .merge(health::router())
        .route(
            OPENAPI,
            get(move || {
                let document = document.clone();
                async move { Json((*document).clone()) }
            }),
        )
        .merge(public.router)
        .merge(protected)
        .merge(agent)
        .layer(axum::middleware::from_fn(crate::error::plain_rejections))
        .layer(axum::middleware::from_fn(metrics::count))
        .with_state(api)
}
