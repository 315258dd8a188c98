//! Import jobs as stored: started through the API, watched by their id, kept across restarts.

use serde::Serialize;

use crate::db::{Row, query, query_built};
use crate::{Store, StoreError};

pub type JobId = i64;

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    Running,
    Done,
    Failed,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Failed => "failed",
        }
    }

    fn parse(text: &str) -> Result<JobState, StoreError> {
        match text {
            "running" => Ok(JobState::Running),
            "done" => Ok(JobState::Done),
            "failed" => Ok(JobState::Failed),
            other => Err(StoreError::Inconsistent(format!(
                "import job state `{other}`"
            ))),
        }
    }
}

/// An import job.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Job {
    pub id: JobId,
    pub state: JobState,
    /// The uploaded file's name.
    pub name: String,
    /// The license server it goes to.
    pub server: Option<String>,
    pub bytes_total: u64,
    pub bytes_done: u64,
    /// What the import did, as JSON (`tally import --json` prints the same per file).
    pub summary: Option<serde_json::Value>,
    pub error: Option<String>,
    pub created: i64,
    pub finished: Option<i64>,
}

const JOB_COLUMNS: &str = "SELECT id, state, name, server, bytes_total, bytes_done, summary, error, created, finished FROM import_job";

fn job(r: &Row) -> Result<Job, StoreError> {
    let summary: Option<String> = r.get(6)?;
    Ok(Job {
        id: r.get(0)?,
        state: JobState::parse(&r.get::<String>(1)?)?,
        name: r.get(2)?,
        server: r.get(3)?,
        bytes_total: r.get_u64(4)?,
        bytes_done: r.get_u64(5)?,
        summary: summary
            .map(|s| serde_json::from_str(&s))
            .transpose()
            .map_err(|e| StoreError::Inconsistent(format!("import job summary: {e}")))?,
        error: r.get(7)?,
        created: r.get(8)?,
        finished: r.get(9)?,
    })
}

impl Store {
    /// Records a new running job of `holder` (this process).
    pub async fn add_job(
        &self,
        name: &str,
        server: Option<&str>,
        holder: &str,
        now: i64,
    ) -> Result<JobId, StoreError> {
        let (name, server, holder) = (
            name.to_string(),
            server.map(String::from),
            holder.to_string(),
        );
        self.write(move |w| {
            Box::pin(async move {
                query(
                    "INSERT INTO import_job (state, name, server, holder, created, updated) VALUES ('running', ?, ?, ?, ?, ?) RETURNING id",
                )
                .bind(&name)
                .bind(server)
                .bind(&holder)
                .bind(now)
                .bind(now)
                .scalar(&mut w.conn)
                .await
            })
        })
        .await
    }

    /// Records how far a running job got: only ever forward, and never after it ended (progress
    /// is written from tasks that may land out of order).
    pub async fn job_progress(
        &self,
        id: JobId,
        bytes_done: u64,
        bytes_total: u64,
        now: i64,
    ) -> Result<(), StoreError> {
        self.write(move |w| {
            Box::pin(async move {
                query(
                    "UPDATE import_job SET bytes_done = ?, bytes_total = ?, updated = ?
                     WHERE id = ? AND state = 'running' AND bytes_done <= ?",
                )
                .bind(bytes_done as i64)
                .bind(bytes_total as i64)
                .bind(now)
                .bind(id)
                .bind(bytes_done as i64)
                .execute(&mut w.conn)
                .await?;
                Ok(())
            })
        })
        .await
    }

    /// Ends a job: done with its summary, or failed with the reason, and the bytes it read.
    pub async fn finish_job(
        &self,
        id: JobId,
        outcome: Result<serde_json::Value, String>,
        (bytes_done, bytes_total): (u64, u64),
        now: i64,
    ) -> Result<(), StoreError> {
        let (state, summary, error) = match outcome {
            Ok(summary) => (JobState::Done, Some(summary.to_string()), None),
            Err(error) => (JobState::Failed, None, Some(error)),
        };
        self.write(move |w| {
            Box::pin(async move {
                query(
                    "UPDATE import_job SET state = ?, summary = ?, error = ?, bytes_done = ?, bytes_total = ?, updated = ?, finished = ? WHERE id = ?",
                )
                .bind(state.as_str())
                .bind(summary)
                .bind(error)
                .bind(bytes_done as i64)
                .bind(bytes_total as i64)
                .bind(now)
                .bind(now)
                .bind(id)
                .execute(&mut w.conn)
                .await?;
                Ok(())
            })
        })
        .await
    }

    /// Fails the running jobs of holders other than `holder` not heard of since `stale_before`:
    /// their process died. Returns how many.
    pub async fn fail_abandoned_jobs(
        &self,
        holder: &str,
        stale_before: i64,
        now: i64,
    ) -> Result<u64, StoreError> {
        let holder = holder.to_string();
        self.write(move |w| {
            Box::pin(async move {
                query(
                    "UPDATE import_job SET state = 'failed', error = 'interrupted: the process importing it stopped; import the file again (it resumes where it stopped)', finished = ?
                     WHERE state = 'running' AND holder <> ? AND updated < ?",
                )
                .bind(now)
                .bind(&holder)
                .bind(stale_before)
                .execute(&mut w.conn)
                .await
            })
        })
        .await
    }

    pub async fn job(&self, id: JobId) -> Result<Option<Job>, StoreError> {
        let row = query_built(format!("{JOB_COLUMNS} WHERE id = ?"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(job).transpose()
    }

    /// The newest jobs first, at most `limit`, before id `before` when given (keyset paging).
    pub async fn jobs(&self, before: Option<JobId>, limit: u32) -> Result<Vec<Job>, StoreError> {
        let rows = query_built(format!(
            "{JOB_COLUMNS} WHERE (? IS NULL OR id < ?) ORDER BY id DESC LIMIT ?"
        ))
        .bind(before)
        .bind(before)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(job).collect()
    }
}
