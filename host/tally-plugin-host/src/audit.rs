//! The audit log of plugin changes: one JSON object per line, appended, never rewritten. Who
//! changed which plugin to which component (by sha256), when, and whether it was refused.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// One change, or one refused attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// UTC, RFC 3339.
    pub time: String,
    /// The admin token's name, or `cli-offline:$USER`.
    pub who: String,
    /// `add`, `remove`, `reload`, `enable` or `disable`.
    pub action: String,
    pub plugin: String,
    pub version: Option<String>,
    pub sha256: Option<String>,
    /// `ok` or `refused`.
    pub outcome: String,
    /// Why it was refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone)]
pub struct AuditLog {
    path: PathBuf,
}

impl AuditLog {
    pub fn new(path: impl Into<PathBuf>) -> AuditLog {
        AuditLog { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one line. A line is written with one `write` on an append-only file, so
    /// concurrent writers (a server and an offline CLI) do not interleave within it.
    pub fn append(&self, entry: &AuditEntry) -> std::io::Result<()> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut line = serde_json::to_string(entry).map_err(std::io::Error::other)?;
        line.push('\n');
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?
            .write_all(line.as_bytes())
    }

    /// Every entry, oldest first; a line that is not an entry (hand-edited, torn) is skipped.
    pub fn read(&self) -> std::io::Result<Vec<AuditEntry>> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => Ok(text
                .lines()
                .filter_map(|line| serde_json::from_str(line).ok())
                .collect()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(vec![]),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_and_reads_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = AuditLog::new(dir.path().join("sub/audit.jsonl"));
        assert_eq!(log.read().expect("absent"), vec![]);
        let entry = AuditEntry {
            time: "2026-01-01T00:00:00Z".into(),
            who: "admin".into(),
            action: "add".into(),
            plugin: "p".into(),
            version: Some("1.0.0".into()),
            sha256: Some("ab".into()),
            outcome: "ok".into(),
            error: None,
        };
        log.append(&entry).expect("append");
        let refused = AuditEntry {
            outcome: "refused".into(),
            error: Some("why".into()),
            ..entry.clone()
        };
        log.append(&refused).expect("append");
        assert_eq!(log.read().expect("read"), vec![entry, refused]);
        let text = std::fs::read_to_string(log.path()).expect("text");
        assert_eq!(text.lines().count(), 2);
        assert!(text.starts_with(
            "{\"time\":\"2026-01-01T00:00:00Z\",\"who\":\"admin\",\"action\":\"add\""
        ));
    }
}
