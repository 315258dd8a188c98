//! # tally-server
//!
//! HTTP only: the REST API (`/api/v1`) translates requests into the verbs of `tally-app` and
//! their answers into JSON. One router module per resource under [`routes`], one error type
//! ([`ApiError`]).
#![forbid(unsafe_code)]

pub mod auth;
pub mod budget;
pub mod csv;
pub mod error;
pub mod openapi;
pub mod routes;
pub mod web;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use tally_app::App;

pub use auth::Token;
pub use error::ApiError;

/// What the routes share: the verbs' state and how callers are let in.
#[derive(Debug)]
pub struct Api {
    pub app: Arc<App>,
    /// The operator's admin tokens (`tally serve --admin-token-file`): administrators.
    pub admin_tokens: Vec<Token>,
    /// Reads need no login.
    pub anonymous_read: bool,
    /// Failed logins per address and account.
    pub logins: tally_app::access::LoginLimiter,
    /// What one read may cost ([`budget`]).
    pub read_budget: Arc<budget::ReadBudget>,
}

impl Api {
    pub fn new(app: Arc<App>) -> Api {
        Api {
            app,
            admin_tokens: Vec::new(),
            anonymous_read: false,
            logins: Default::default(),
            read_budget: Default::default(),
        }
    }
}

/// Every route of the API.
pub fn router(api: Arc<Api>) -> Router {
    routes::router(api)
}

/// Serves the API on `listener` and runs the scheduler until `shutdown` resolves.
pub async fn serve(
    api: Arc<Api>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop_scheduler, stopped) = tokio::sync::oneshot::channel::<()>();
    let scheduler = tokio::spawn(tally_app::scheduler::run(api.app.clone(), async {
        let _ = stopped.await;
    }));
    let service = router(api.clone()).into_make_service_with_connect_info::<std::net::SocketAddr>();
    let served = axum::serve(listener, service)
        .with_graceful_shutdown(shutdown)
        .await;
    // Polls and follows stop where they are: an import has committed each batch with its
    // checkpoint, so the next start continues from the last one.
    let _ = stop_scheduler.send(());
    let _ = scheduler.await;
    // Another node takes this one's servers over at once.
    if let Err(e) = api.app.store.release_polls(&api.app.node).await {
        tracing::warn!("cannot release this node's polls: {e}");
    }
    // The writes queued so far are made, then the database is closed (SQLite folds its
    // write-ahead log back into the database file).
    api.app.store.close().await;
    tracing::info!("stopped; the database is closed");
    served
}

/// Resolves on ctrl-c or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => return ctrl_c.await.unwrap_or(()),
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
