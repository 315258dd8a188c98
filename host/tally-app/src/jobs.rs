//! Import jobs: a file handed over (an API upload) is imported in the background while the
//! caller watches its progress. Jobs are stored, so they outlive the process that ran them (a
//! job whose process died is failed at the next start, see [`fail_abandoned`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use tally_store::{Job, JobId, StoreError};

use crate::App;
use crate::access::{AccessError, Actor};
use crate::import::{ImportOptions, Progress, import_open, open_log};

/// How often a running job's progress is written (and proves its process alive).
const PROGRESS_EVERY_SECS: i64 = 1;
/// A running job not heard of for this long belonged to a process that died.
const ABANDONED_AFTER_SECS: i64 = 60;

/// Progress of one job, written at most once a second.
struct JobProgress {
    app: Arc<App>,
    id: JobId,
    total: AtomicU64,
    done: AtomicU64,
    written: AtomicI64,
}

impl JobProgress {
    fn write(&self, force: bool) {
        let now = crate::now();
        let last = self.written.load(Ordering::Relaxed);
        if !force && now - last < PROGRESS_EVERY_SECS {
            return;
        }
        self.written.store(now, Ordering::Relaxed);
        let (app, id) = (self.app.clone(), self.id);
        let (done, total) = (
            self.done.load(Ordering::Relaxed),
            self.total.load(Ordering::Relaxed),
        );
        tokio::spawn(async move {
            if let Err(e) = app.store.job_progress(id, done, total, now).await {
                tracing::warn!(job = id, "cannot record the import job's progress: {e}");
            }
        });
    }
}

impl Progress for JobProgress {
    fn start(&self, _path: &Path, total: u64) {
        self.total.store(total, Ordering::Relaxed);
        self.write(true);
    }
    fn advance(&self, bytes: u64) {
        self.done.fetch_add(bytes, Ordering::Relaxed);
        self.write(false);
    }
}

/// Imports `spooled` (a file the caller wrote to the spool directory, removed when done) in the
/// background; `name` is the file's name as the caller knows it. Returns the job's id.
pub async fn start(
    app: &Arc<App>,
    by: &Actor,
    spooled: PathBuf,
    name: &str,
    options: ImportOptions,
) -> Result<JobId, AccessError> {
    if let Err(refused) = app.may_write(by, "importing a log") {
        let _ = tokio::fs::remove_file(&spooled).await;
        return Err(refused);
    }
    let id = app
        .store
        .add_job(name, options.server.as_deref(), &app.node, crate::now())
        .await?;
    let app = app.clone();
    let name = name.to_string();
    tokio::spawn(async move {
        let progress = JobProgress {
            app: app.clone(),
            id,
            total: AtomicU64::new(0),
            done: AtomicU64::new(0),
            written: AtomicI64::new(0),
        };
        // Imported under the uploader's name for it, not the spool's path (which would tell
        // every reader where the server keeps its data): the run, its summary and its errors
        // name it, and the same file uploaded again is recognised as imported.
        let result = match open_log(&spooled) {
            Ok(file) => import_open(&app, file, Path::new(&name), &options, &progress).await,
            Err(e) => Err(e),
        };
        let _ = tokio::fs::remove_file(&spooled).await;
        // What was imported counts against the licence: the gate judges it from now on.
        if let Err(e) = app.assess_licence().await {
            tracing::error!(job = id, "cannot assess the licence after an import: {e:#}");
        }
        let outcome = match result {
            Ok(summary) => serde_json::to_value(&summary).map_err(|e| e.to_string()),
            Err(error) => Err(format!("{error:#}")),
        };
        let bytes = (
            progress.done.load(Ordering::Relaxed),
            progress.total.load(Ordering::Relaxed),
        );
        if let Err(e) = app.store.finish_job(id, outcome, bytes, crate::now()).await {
            tracing::error!(job = id, "cannot record the end of an import job: {e}");
        }
    });
    Ok(id)
}

pub async fn get(app: &App, id: JobId) -> Result<Option<Job>, StoreError> {
    app.store.job(id).await
}

/// The newest jobs first (keyset paging on the id).
pub async fn list(app: &App, before: Option<JobId>, limit: u32) -> Result<Vec<Job>, StoreError> {
    app.store.jobs(before, limit).await
}

/// Fails the jobs of processes that died while running them; called when a server starts.
pub async fn fail_abandoned(app: &App) -> Result<u64, StoreError> {
    let now = crate::now();
    app.store
        .fail_abandoned_jobs(&app.node, now - ABANDONED_AFTER_SECS, now)
        .await
}
