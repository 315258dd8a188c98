//! Continuous import: the log files (or directories of them) a license server names are read as
//! they grow. A file is held open, so when the log is rotated (renamed away, a new file in its
//! place: the inode changes) the rest of the old file is still read before the new one, and when
//! it is truncated (copytruncate: the size falls below what was read) the new content is read
//! from its start. Either way the importer's state carries over, so a checkout in the old file
//! pairs with its check-in in the new one. Lines are committed with their checkpoint, so a line
//! is never imported twice nor skipped, across restarts of Tally too.
//!
//! The newest line each read brings is also a stamp of the license server's clock
//! ([`crate::clock`]): written after the previous read of the file started, and before this one
//! ended.

use std::collections::BTreeMap;
use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use tally_core::clock::{ClockObservation, log_observation};
use tally_core::{ImportStatus, Timestamp};
use tally_store::{RunStatus, Server};
use tokio::task::JoinHandle;

use crate::App;
use crate::import::{FileSummary, ImportOptions, checkpoint_holds, import_open, open_log};

/// How long listing and looking at a server's followed files may take before its Import
/// status says the file system does not answer (a stale network mount hangs in the kernel).
pub const FS_TIMEOUT: Duration = Duration::from_secs(10);

/// The files of one server being followed.
#[derive(Debug, Default)]
pub struct Follower {
    files: BTreeMap<PathBuf, Held>,
    /// A look at the files that has not come back: waited for at the next tick, not repeated.
    stuck: Option<JoinHandle<Vec<PathBuf>>>,
}

#[derive(Debug)]
struct Held {
    file: File,
    inode: u64,
    run: i64,
    /// When the last read of the file started: lines it did not show were written after.
    read_from: Timestamp,
}

impl Follower {
    /// Reads what the server's followed files gained since the last call. A file that cannot be
    /// read is reported (Import status Failure, with the reason) and the others go on.
    pub async fn tick(&mut self, app: &App, server: &Server) -> anyhow::Result<Vec<FileSummary>> {
        let options = ImportOptions {
            server: Some(server.config.name.clone()),
            format: server.config.import_format.clone(),
            utc_offset: server.config.utc_offset,
            follow: true,
            ..ImportOptions::default()
        };
        let paths = match self.look(&server.config.follow, FS_TIMEOUT).await {
            Ok(paths) => paths,
            Err(error) => {
                tracing::warn!(server = %server.config.name, "{error:#}");
                app.store
                    .set_import_status(server.id, ImportStatus::Failure, Some(format!("{error:#}")))
                    .await?;
                return Ok(vec![]);
            }
        };
        let mut done = Vec::new();
        let mut failure = None;
        let mut observations = Vec::new();
        for path in paths {
            match self.follow(app, &path, &options, &mut observations).await {
                Ok(summaries) => done.extend(summaries),
                Err(error) => {
                    tracing::warn!(server = %server.config.name, path = %path.display(), "{error:#}");
                    failure = Some(format!("{}: {error:#}", path.display()));
                }
            }
        }
        if let Err(error) = app.clocks.observe(&app.store, server, &observations).await {
            tracing::warn!(server = %server.config.name, "cannot record the clock skew: {error}");
        }
        if done.iter().any(|s| s.lines > 0) {
            app.licence_data_added();
        }
        if let Some(reason) = failure {
            app.store
                .set_import_status(server.id, ImportStatus::Failure, Some(reason))
                .await?;
        }
        Ok(done)
    }

    /// The files `follow` names, listed and looked at on a blocking thread: a file system that
    /// hangs holds that thread, not the server's other work, and this server's follow waits
    /// for it (reported) without starting a second look.
    async fn look(&mut self, follow: &[String], timeout: Duration) -> anyhow::Result<Vec<PathBuf>> {
        let follow = follow.to_vec();
        self.blocking(timeout, move || {
            let paths = files(&follow);
            for path in &paths {
                let _ = std::fs::metadata(path);
            }
            paths
        })
        .await
    }

    /// `look` on a blocking thread within `timeout`; while an earlier one has not come back,
    /// that one is waited for instead.
    async fn blocking(
        &mut self,
        timeout: Duration,
        look: impl FnOnce() -> Vec<PathBuf> + Send + 'static,
    ) -> anyhow::Result<Vec<PathBuf>> {
        let mut running = match self.stuck.take() {
            Some(running) => running,
            None => tokio::task::spawn_blocking(look),
        };
        match tokio::time::timeout(timeout, &mut running).await {
            Ok(paths) => Ok(paths?),
            Err(_) => {
                self.stuck = Some(running);
                anyhow::bail!(
                    "the file system holding the followed logs did not answer within {} s (a stale network mount?); following resumes when it does",
                    timeout.as_secs_f64()
                )
            }
        }
    }

    /// Reads what `path` gained; the stamp of its newest line goes to `observations`.
    async fn follow(
        &mut self,
        app: &App,
        path: &Path,
        options: &ImportOptions,
        observations: &mut Vec<ClockObservation>,
    ) -> anyhow::Result<Vec<FileSummary>> {
        let read_from = crate::now();
        let meta = match tokio::task::block_in_place(|| std::fs::metadata(path)) {
            Ok(meta) => meta,
            // Between a rotation's rename and the new file's creation, or not created yet.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        let store = &app.store;
        let mut out = Vec::new();
        let mut carry = None;
        // Only a file read before bounds its lines from below: a file met for the first time
        // holds lines of any age.
        let previous_read = self.files.get(path).map(|held| held.read_from);
        if let Some(held) = self.files.get_mut(path) {
            let checkpoint = store.import_run(held.run).await?.checkpoint;
            // Same file, and it still holds the last line read: it grew (or not).
            let same = held.inode == meta.ino()
                && meta.len() >= checkpoint.offset
                && checkpoint_holds(&mut open_log(path)?, meta.len(), &checkpoint)?;
            if same {
                if meta.len() == checkpoint.offset {
                    held.read_from = read_from;
                    return Ok(out); // nothing new
                }
            } else {
                // Rotated or truncated. A rotated file may have gained lines before the switch.
                let held = self.files.remove(path).context("held file")?;
                if held.inode != meta.ino() {
                    let rest = import_open(app, held.file, path, options, &()).await?;
                    out.push(rest);
                }
                let old = store.import_run(held.run).await?;
                store
                    .finish_import(held.run, RunStatus::Complete, None)
                    .await?;
                carry = Some(old.checkpoint.state);
            }
        }
        let file = open_log(path)?;
        let inode = file.metadata()?.ino();
        let handle = file.try_clone()?;
        let options = ImportOptions {
            carry,
            ..options.clone()
        };
        let summary = import_open(app, file, path, &options, &()).await?;
        self.files.insert(
            path.to_path_buf(),
            Held {
                file: handle,
                inode,
                run: summary.run,
                read_from,
            },
        );
        out.push(summary);
        if let Some(newest) = out.iter().filter_map(|s| s.latest).max() {
            observations.push(log_observation(newest, crate::now(), previous_read));
        }
        Ok(out)
    }
}

/// The files a follow list names: files as given, directories by their regular files (sorted,
/// so rotated generations are read in a stable order).
fn files(follow: &[String]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in follow {
        let path = PathBuf::from(entry);
        match std::fs::read_dir(&path) {
            Ok(dir) => {
                let mut inside: Vec<PathBuf> = dir
                    .filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.is_file())
                    .collect();
                inside.sort();
                out.extend(inside);
            }
            Err(_) => out.push(path),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn a_file_system_that_hangs_is_reported_and_waited_for_not_looked_at_twice() {
        let mut follower = Follower::default();
        let looks = Arc::new(AtomicUsize::new(0));
        let hanging = {
            let looks = looks.clone();
            move || {
                looks.fetch_add(1, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(400));
                vec![PathBuf::from("/mnt/nfs/lmgrd.log")]
            }
        };
        let error = follower
            .blocking(Duration::from_millis(50), hanging)
            .await
            .expect_err("hangs");
        assert!(
            error.to_string().contains("did not answer within 0.05 s"),
            "{error}"
        );
        let mut waited = false;
        for _ in 0..40 {
            let again = looks.clone();
            let result = follower
                .blocking(Duration::from_millis(50), move || {
                    again.fetch_add(1, Ordering::SeqCst);
                    vec![]
                })
                .await;
            if let Ok(paths) = result {
                assert_eq!(
                    paths,
                    [PathBuf::from("/mnt/nfs/lmgrd.log")],
                    "the stuck look's answer"
                );
                waited = true;
                break;
            }
        }
        assert!(waited, "the stuck look came back");
        let answer = follower.blocking(Duration::from_secs(5), Vec::new).await;
        assert!(
            answer.is_ok_and(|p| p.is_empty()),
            "a new look once the old one came back"
        );
        assert_eq!(looks.load(Ordering::SeqCst), 1, "never two looks at once");
    }
}
