//! The API's routes, one module per resource.
//!
//! | prefix | module |
//! | --- | --- |
//! | `/api/v1/health` | [`health`] (public) |
//! | `/api/v1/session` | [`session`] (public: logging in) |
//! | `/api/v1/accounts`, `/api/v1/tokens` | [`accounts`] |
//! | `/api/v1/license` | [`licence`] |
//! | `/api/v1/license-servers` | [`servers`] |
//! | `/api/v1/sessions`, `/denials`, `/users`, `/hosts`, a server's facts | [`facts`] |
//! | `/api/v1/usage`, a server's features, usage and history | [`usage`] |
//! | `/api/v1/imports` | [`imports`] |
//! | `/api/v1/reports` | [`reports`] |
//! | `/api/v1/plugins`, `/api/v1/admin/plugins`, `/api/v1/admin/audit` | [`plugins`] |
//!
//! The dashboard's pages and assets ([`crate::web`]) are public: they hold no data, and every
//! number on them comes from these routes. Every route but the public ones passes [`crate::auth::authenticate`].

pub mod accounts;
pub mod facts;
pub mod health;
pub mod imports;
pub mod licence;
pub mod plugins;
pub mod reports;
pub mod servers;
pub mod session;
pub mod usage;

use std::sync::Arc;

use axum::Router;

use crate::Api;

pub fn router(api: Arc<Api>) -> Router {
    let protected = Router::new()
        .merge(servers::router())
        .merge(facts::router())
        .merge(usage::router())
        .merge(imports::router())
        .merge(reports::router())
        .merge(plugins::router())
        .merge(accounts::router())
        .merge(licence::router())
        .route_layer(axum::middleware::from_fn(crate::csv::negotiate))
        .route_layer(axum::middleware::from_fn_with_state(
            api.clone(),
            crate::auth::authenticate,
        ));
    Router::new()
        .merge(crate::web::router())
        .merge(health::router())
        .merge(session::router())
        .merge(protected)
        .with_state(api)
}
