//! Continuous import: the log files (or directories of them) a license server names are read as
//! they grow. A file is held open, so when the log is rotated (renamed away, a new file in its
//! place: the inode changes) the rest of the old file is still read before the new one, and when
//! it is truncated (copytruncate: the size falls below what was read) the new content is read
//! from its start. Either way the importer's state carries over, so a checkout in the old file
//! pairs with its check-in in the new one. Lines are committed with their checkpoint, so a line
//! is never imported twice nor skipped, across restarts of Tally too.

use std::collections::BTreeMap;
use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use tally_core::ImportStatus;
use tally_plugin_host::Registry;
use tally_store::{RunStatus, Server, Store};

use crate::import::{FileSummary, ImportOptions, checkpoint_holds, import_open, open_log};

/// The files of one server being followed.
#[derive(Debug, Default)]
pub struct Follower {
    files: BTreeMap<PathBuf, Held>,
}

#[derive(Debug)]
struct Held {
    file: File,
    inode: u64,
    run: i64,
}

impl Follower {
    /// Reads what the server's followed files gained since the last call. A file that cannot be
    /// read is reported (Import status Failure, with the reason) and the others go on.
    pub async fn tick(
        &mut self,
        store: &Store,
        registry: &Registry,
        server: &Server,
    ) -> anyhow::Result<Vec<FileSummary>> {
        let options = ImportOptions {
            server: Some(server.config.name.clone()),
            format: server.config.import_format.clone(),
            utc_offset: server.config.utc_offset,
            follow: true,
            ..ImportOptions::default()
        };
        let mut done = Vec::new();
        let mut failure = None;
        for path in files(&server.config.follow) {
            match self.follow(store, registry, &path, &options).await {
                Ok(summaries) => done.extend(summaries),
                Err(error) => {
                    tracing::warn!(server = %server.config.name, path = %path.display(), "{error:#}");
                    failure = Some(format!("{}: {error:#}", path.display()));
                }
            }
        }
        if let Some(reason) = failure {
            store
                .set_import_status(server.id, ImportStatus::Failure, Some(reason))
                .await?;
        }
        Ok(done)
    }

    async fn follow(
        &mut self,
        store: &Store,
        registry: &Registry,
        path: &Path,
        options: &ImportOptions,
    ) -> anyhow::Result<Vec<FileSummary>> {
        let meta = match std::fs::metadata(path) {
            Ok(meta) => meta,
            // Between a rotation's rename and the new file's creation, or not created yet.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        let mut out = Vec::new();
        let mut carry = None;
        if let Some(held) = self.files.get(path) {
            let checkpoint = store.import_run(held.run).await?.checkpoint;
            // Same file, and it still holds the last line read: it grew (or not).
            let same = held.inode == meta.ino()
                && meta.len() >= checkpoint.offset
                && checkpoint_holds(&mut open_log(path)?, meta.len(), &checkpoint)?;
            if same {
                if meta.len() == checkpoint.offset {
                    return Ok(out); // nothing new
                }
            } else {
                // Rotated or truncated. A rotated file may have gained lines before the switch.
                let held = self.files.remove(path).context("held file")?;
                if held.inode != meta.ino() {
                    let rest = import_open(store, registry, held.file, path, options, &()).await?;
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
        let summary = import_open(store, registry, file, path, &options, &()).await?;
        self.files.insert(
            path.to_path_buf(),
            Held {
                file: handle,
                inode,
                run: summary.run,
            },
        );
        out.push(summary);
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
