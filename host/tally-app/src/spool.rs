//! Uploads waiting to be imported, in the spool directory: an upload is refused before it is
//! read when the disk lacks room for it, stopped when it passes the size limit or the disk
//! fills, and its file removed whatever ends it early (a broken-off upload, an error); files
//! left by a process that died are removed at the next start ([`Spool::clean_up`]).

use std::path::{Path, PathBuf};

use tokio::io::AsyncWriteExt;

/// Largest upload accepted by default (`tally serve --max-upload-mb`).
pub const DEFAULT_MAX_UPLOAD: u64 = 4 << 30;
/// Room always left free on the spool's file system: the database usually shares it, and a
/// full disk fails its next commit.
pub const MIN_FREE: u64 = 256 << 20;
/// Free space is checked again after this many bytes written (a check is one `statvfs`).
const CHECK_EVERY: u64 = 64 << 20;

/// Why an upload was not spooled.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    #[error("the upload is larger than the limit of {} MiB", limit >> 20)]
    TooLarge { limit: u64 },
    #[error("not enough disk space for the upload: {} MiB free, {} MiB needed", free >> 20, needed >> 20)]
    NoSpace { free: u64, needed: u64 },
    #[error("cannot write the upload: {0}")]
    Io(#[from] std::io::Error),
}

/// Where uploads wait, and their bounds.
#[derive(Debug, Clone)]
pub struct Spool {
    pub dir: PathBuf,
    pub max_upload: u64,
}

impl Spool {
    pub fn new(dir: PathBuf) -> Spool {
        Spool {
            dir,
            max_upload: DEFAULT_MAX_UPLOAD,
        }
    }

    /// A new upload file named after `name` (its stem stays readable in messages). `declared`
    /// is the size the client announced, if any: refused at once when it cannot fit.
    pub async fn create(
        &self,
        id: u64,
        name: &str,
        declared: Option<u64>,
    ) -> Result<SpoolFile, SpoolError> {
        if let Some(size) = declared
            && size > self.max_upload
        {
            return Err(SpoolError::TooLarge {
                limit: self.max_upload,
            });
        }
        tokio::fs::create_dir_all(&self.dir).await?;
        room(&self.dir, declared.unwrap_or(0))?;
        let safe: String = name
            .chars()
            .map(|c| match c {
                'a'..='z' | 'A'..='Z' | '0'..='9' | '.' | '-' | '_' => c,
                _ => '_',
            })
            .collect();
        let path = self.dir.join(format!("{id}-{safe}"));
        let file = tokio::fs::File::create(&path).await?;
        Ok(SpoolFile {
            file: Some(file),
            path,
            written: 0,
            checked: 0,
            limit: self.max_upload,
        })
    }

    /// Removes the files an earlier process left (its jobs are failed at start: nothing will
    /// read them). Returns how many. Called once at start, before the API listens.
    pub fn clean_up(&self) -> std::io::Result<usize> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(e),
        };
        let mut removed = 0;
        for entry in entries {
            let entry = entry?;
            if entry.file_type()?.is_file() {
                std::fs::remove_file(entry.path())?;
                removed += 1;
            }
        }
        Ok(removed)
    }
}

/// An upload being written; removed when dropped before [`SpoolFile::finish`].
#[derive(Debug)]
pub struct SpoolFile {
    file: Option<tokio::fs::File>,
    path: PathBuf,
    written: u64,
    checked: u64,
    limit: u64,
}

impl SpoolFile {
    pub async fn write(&mut self, chunk: &[u8]) -> Result<(), SpoolError> {
        self.written += chunk.len() as u64;
        if self.written > self.limit {
            return Err(SpoolError::TooLarge { limit: self.limit });
        }
        if self.written - self.checked >= CHECK_EVERY {
            room(&self.path, 0)?;
            self.checked = self.written;
        }
        match &mut self.file {
            Some(file) => Ok(file.write_all(chunk).await?),
            None => Ok(()),
        }
    }

    /// The whole upload is written: keep it, and hand its path to the import job (which
    /// removes it when done).
    pub async fn finish(mut self) -> Result<PathBuf, SpoolError> {
        if let Some(mut file) = self.file.take() {
            file.flush().await?;
            file.sync_all().await?;
        }
        Ok(std::mem::take(&mut self.path))
    }
}

impl Drop for SpoolFile {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Whether the file system holding `path` has `needed` bytes beyond [`MIN_FREE`].
fn room(path: &Path, needed: u64) -> Result<(), SpoolError> {
    let Some(free) = free_space(path) else {
        return Ok(()); // unknown here: the write errors will tell
    };
    let needed = needed.saturating_add(MIN_FREE);
    if free < needed {
        return Err(SpoolError::NoSpace { free, needed });
    }
    Ok(())
}

#[cfg(unix)]
fn free_space(path: &Path) -> Option<u64> {
    let at = if path.is_dir() { path } else { path.parent()? };
    let s = rustix::fs::statvfs(at).ok()?;
    Some(s.f_bavail.saturating_mul(s.f_frsize))
}

#[cfg(not(unix))]
fn free_space(_: &Path) -> Option<u64> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spool(limit: u64) -> (tempfile::TempDir, Spool) {
        let dir = tempfile::tempdir().expect("temp dir");
        let spool = Spool {
            dir: dir.path().join("spool"),
            max_upload: limit,
        };
        (dir, spool)
    }

    fn files(spool: &Spool) -> usize {
        std::fs::read_dir(&spool.dir).map_or(0, |d| d.count())
    }

    #[tokio::test]
    async fn an_upload_broken_off_leaves_no_file_and_a_finished_one_stays() {
        let (_dir, spool) = spool(1 << 20);
        let mut broken = spool.create(1, "a b/../c.log", None).await.expect("create");
        broken
            .write(b"9:00:00 (lmgrd) started\n")
            .await
            .expect("write");
        assert_eq!(files(&spool), 1);
        drop(broken);
        assert_eq!(files(&spool), 0);

        let mut whole = spool.create(2, "lmgrd.log", None).await.expect("create");
        whole.write(b"line\n").await.expect("write");
        let path = whole.finish().await.expect("finish");
        assert_eq!(
            path.file_name().and_then(|n| n.to_str()),
            Some("2-lmgrd.log")
        );
        assert_eq!(std::fs::read(&path).expect("read"), b"line\n");
        assert_eq!(spool.clean_up().expect("clean up"), 1);
        assert_eq!(files(&spool), 0);
    }

    #[tokio::test]
    async fn past_the_limit_the_upload_stops_and_its_file_goes() {
        let (_dir, spool) = spool(10);
        assert!(matches!(
            spool.create(1, "big.log", Some(11)).await,
            Err(SpoolError::TooLarge { limit: 10 })
        ));
        let mut file = spool.create(2, "big.log", None).await.expect("create");
        file.write(&[b'x'; 8]).await.expect("within");
        assert!(matches!(
            file.write(&[b'x'; 8]).await,
            Err(SpoolError::TooLarge { .. })
        ));
        drop(file);
        assert_eq!(files(&spool), 0);
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn an_upload_larger_than_the_free_space_is_refused_before_it_is_read() {
        let (_dir, spool) = spool(u64::MAX);
        let error = spool.create(1, "huge.log", Some(u64::MAX / 2)).await.err();
        assert!(
            matches!(error, Some(SpoolError::NoSpace { .. })),
            "{error:?}"
        );
        assert_eq!(files(&spool), 0);
    }
}
