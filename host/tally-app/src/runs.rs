//! The import runs so far, newest first — what `tally imports` and `GET /api/v1/import-runs`
//! list: what was read (a path, or an upload's name), as what, into which server, and how it
//! ended. Command-line imports, followed logs and uploads alike.

use serde::Serialize;
use tally_store::{FactCounts, RunStatus, Store, StoreError};

/// The most runs one listing returns.
pub const MAX_LIMIT: u32 = 1000;

/// An import run as people read it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunView {
    pub id: i64,
    pub server: String,
    pub format: String,
    pub plugin: String,
    pub path: String,
    pub status: RunStatus,
    /// Lines read so far.
    pub lines: u64,
    pub counts: FactCounts,
    pub error: Option<String>,
    /// Unix seconds.
    pub started: i64,
    pub finished: Option<i64>,
}

#[derive(Debug, thiserror::Error)]
pub enum RunsError {
    #[error("no license server is called `{0}`")]
    UnknownServer(String),
    #[error("the limit is 1 to {MAX_LIMIT} runs, not {0}")]
    Limit(u32),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The latest `limit` runs of every server, or of the server called `server`.
pub async fn list(
    store: &Store,
    server: Option<&str>,
    limit: u32,
) -> Result<Vec<RunView>, RunsError> {
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(RunsError::Limit(limit));
    }
    let servers = store.servers().await?;
    let only = match server {
        Some(name) => match servers.iter().find(|s| s.config.name == name) {
            Some(s) => Some(s.id),
            None => return Err(RunsError::UnknownServer(name.to_string())),
        },
        None => None,
    };
    let runs = store.recent_import_runs(only, limit).await?;
    Ok(runs
        .into_iter()
        .map(|r| RunView {
            id: r.id,
            server: servers
                .iter()
                .find(|s| s.id == r.server_id)
                .map_or_else(|| "?".into(), |s| s.config.name.clone()),
            format: r.format,
            plugin: r.plugin,
            path: r.path,
            status: r.status,
            lines: r.checkpoint.lines,
            counts: r.counts,
            error: r.error,
            started: r.started,
            finished: r.finished,
        })
        .collect())
}
