//! # tally-server
//!
//! Everything a running Tally does besides storing: imports of log files (one code path for the
//! CLI, the API and followed files), polls of license servers through their poller plugins,
//! the scheduler that runs both, the reports (one assembly for the CLI, the API and benches) and
//! the REST API.
#![forbid(unsafe_code)]

pub mod admin;
pub mod api;
pub mod follow;
pub mod import;
pub mod poll;
pub mod reports;
pub mod scheduler;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tally_plugin_host::Registry;
use tally_store::Store;

/// What the server's parts share.
#[derive(Debug)]
pub struct App {
    pub store: Store,
    pub registry: Arc<Registry>,
    pub tools: poll::Tools,
    /// Uploads wait here while they are imported.
    pub spool: PathBuf,
    /// How often followed files are looked at.
    pub follow_every: Duration,
    /// Shortest poll interval honoured (tests and the demo poll fast).
    pub min_interval: Duration,
    pub jobs: api::Jobs,
    /// The admin API's plugin directory and tokens; `None` turns the admin API off.
    pub admin: Option<admin::Admin>,
}

impl App {
    pub fn new(store: Store, registry: Arc<Registry>, tools: poll::Tools, spool: PathBuf) -> App {
        App {
            store,
            registry,
            tools,
            spool,
            follow_every: Duration::from_secs(1),
            min_interval: Duration::from_secs(1),
            jobs: api::Jobs::default(),
            admin: None,
        }
    }
}

/// Serves the API on `listen` and runs the scheduler until ctrl-c (or SIGTERM).
pub async fn serve(app: Arc<App>, listen: SocketAddr) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    tracing::info!("listening on http://{}", listener.local_addr()?);
    // Tests and scripts read the address from here (port 0 picks a free one).
    println!("tally: listening on http://{}", listener.local_addr()?);
    let scheduler = tokio::spawn(scheduler::run(app.clone()));
    axum::serve(listener, api::router(app))
        .with_graceful_shutdown(shutdown())
        .await?;
    scheduler.abort();
    Ok(())
}

async fn shutdown() {
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

/// Seconds since 1970, now.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
