//! What can go wrong with a plugin, named so a caller (and an operator) can act on it.

use thiserror::Error;

use crate::registry::QUARANTINE_AFTER;

#[derive(Debug, Error)]
pub enum ManifestError {
    #[error("cannot read {origin}: {source}")]
    Io {
        origin: String,
        source: std::io::Error,
    },
    #[error("{origin} is not a valid plugin manifest: {message}")]
    Syntax { origin: String, message: String },
    #[error("{origin}: {message}")]
    Invalid { origin: String, message: String },
    #[error(
        "plugin `{plugin}`: component sha256 mismatch (manifest says {expected}, file is {actual}); refusing a tampered or stale component"
    )]
    HashMismatch {
        plugin: String,
        expected: String,
        actual: String,
    },
}

/// Failure to load a plugin: its manifest, its component, or their agreement.
#[derive(Debug, Error)]
pub enum LoadError {
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error("plugin `{plugin}`: cannot read component {path}: {source}")]
    Io {
        plugin: String,
        path: String,
        source: std::io::Error,
    },
    #[error("plugin `{plugin}`: not a valid WebAssembly component: {message}")]
    Compile { plugin: String, message: String },
    #[error(
        "plugin `{plugin}` exports {found}, but this host supports WIT {}: {supported}",
        crate::SUPPORTED_TRACKS.join(", ")
    )]
    UnsupportedTrack {
        plugin: String,
        found: String,
        supported: String,
    },
    #[error("plugin `{plugin}`: {message}")]
    Mismatch { plugin: String, message: String },
    #[error("plugin `{plugin}` cannot be linked: {message}")]
    Link { plugin: String, message: String },
    #[error("plugin `{0}` is already loaded")]
    Duplicate(String),
    /// The manifest asks for capabilities the operator has not granted (`missing`, joined).
    #[error(
        "plugin `{plugin}` needs {missing}, not granted to it (the operator grants it under [{plugin}] in grants.toml)"
    )]
    NotGranted { plugin: String, missing: String },
}

impl LoadError {
    /// The plugin the error is about, when known.
    pub fn plugin(&self) -> Option<&str> {
        match self {
            LoadError::Manifest(ManifestError::HashMismatch { plugin, .. })
            | LoadError::Io { plugin, .. }
            | LoadError::Compile { plugin, .. }
            | LoadError::UnsupportedTrack { plugin, .. }
            | LoadError::Mismatch { plugin, .. }
            | LoadError::Link { plugin, .. }
            | LoadError::Duplicate(plugin)
            | LoadError::NotGranted { plugin, .. } => Some(plugin),
            LoadError::Manifest(_) => None,
        }
    }
}

/// Failure of one call into a plugin. The host survives every variant.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum CallError {
    #[error("plugin `{plugin}` exceeded its time limit of {limit_ms} ms and was stopped")]
    Deadline { plugin: String, limit_ms: u32 },
    #[error("plugin `{plugin}` exceeded its memory limit of {limit_mib} MiB and was stopped")]
    MemoryLimit { plugin: String, limit_mib: u32 },
    #[error("plugin `{plugin}` overflowed its stack and was stopped")]
    StackOverflow { plugin: String },
    /// `message`: where the guest panicked and what it said (`src/lib.rs:12:5: boom`).
    #[error("plugin `{plugin}` panicked at {message}")]
    Panic { plugin: String, message: String },
    #[error("plugin `{plugin}` trapped: {message}")]
    Trap { plugin: String, message: String },
    #[error("plugin `{plugin}` returned an invalid result: {message}")]
    InvalidResult { plugin: String, message: String },
    #[error("plugin `{plugin}` rejected the input: {message}")]
    BadInput { plugin: String, message: String },
    #[error("plugin `{plugin}` does not support this: {message}")]
    Unsupported { plugin: String, message: String },
    #[error("plugin `{plugin}` failed: {message}")]
    Internal { plugin: String, message: String },
    #[error("plugin `{plugin}` cannot be used: {message}")]
    Unavailable { plugin: String, message: String },
    /// Every plugin instance of the process was in use for as long as the call could wait:
    /// try again later (an HTTP caller answers 503 with Retry-After). Not the plugin's fault;
    /// it never counts towards a quarantine. `instances` is 0 when wasmtime's pool itself ran
    /// out.
    #[error(
        "plugin `{plugin}` is busy: all {instances} plugin instances are in use (waited {waited_ms} ms); try again later"
    )]
    Busy {
        plugin: String,
        instances: u32,
        waited_ms: u64,
    },
    /// Refused without calling the guest: it trapped [`QUARANTINE_AFTER`] times in a row.
    #[error(
        "plugin `{plugin}` is quarantined after {QUARANTINE_AFTER} traps in a row (the last: {reason}); reload it to use it again"
    )]
    Quarantined { plugin: String, reason: String },
}

impl CallError {
    /// The plugin that failed.
    pub fn plugin(&self) -> &str {
        match self {
            CallError::Deadline { plugin, .. }
            | CallError::MemoryLimit { plugin, .. }
            | CallError::StackOverflow { plugin }
            | CallError::Panic { plugin, .. }
            | CallError::Trap { plugin, .. }
            | CallError::InvalidResult { plugin, .. }
            | CallError::BadInput { plugin, .. }
            | CallError::Unsupported { plugin, .. }
            | CallError::Internal { plugin, .. }
            | CallError::Unavailable { plugin, .. }
            | CallError::Busy { plugin, .. }
            | CallError::Quarantined { plugin, .. } => plugin,
        }
    }

    /// The message without its leading "plugin `id` ", for where the plugin is already named.
    pub fn without_plugin(&self) -> String {
        let text = self.to_string();
        let prefix = format!("plugin `{}` ", self.plugin());
        match text.strip_prefix(&prefix) {
            Some(rest) => rest.to_string(),
            None => text,
        }
    }

    /// True when the call was refused for want of a free instance: the caller may retry later
    /// (HTTP: 503 with Retry-After).
    pub fn is_busy(&self) -> bool {
        matches!(self, CallError::Busy { .. })
    }

    /// True when the guest misbehaved (the instance is gone), as opposed to refusing the input.
    pub fn is_trap(&self) -> bool {
        matches!(
            self,
            CallError::Deadline { .. }
                | CallError::MemoryLimit { .. }
                | CallError::StackOverflow { .. }
                | CallError::Panic { .. }
                | CallError::Trap { .. }
                | CallError::InvalidResult { .. }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::CallError;

    #[test]
    fn every_call_error_names_its_plugin_first() {
        let p = || "p".to_string();
        let m = || "m".to_string();
        let all = [
            CallError::Deadline {
                plugin: p(),
                limit_ms: 1,
            },
            CallError::MemoryLimit {
                plugin: p(),
                limit_mib: 1,
            },
            CallError::StackOverflow { plugin: p() },
            CallError::Panic {
                plugin: p(),
                message: m(),
            },
            CallError::Trap {
                plugin: p(),
                message: m(),
            },
            CallError::InvalidResult {
                plugin: p(),
                message: m(),
            },
            CallError::BadInput {
                plugin: p(),
                message: m(),
            },
            CallError::Unsupported {
                plugin: p(),
                message: m(),
            },
            CallError::Internal {
                plugin: p(),
                message: m(),
            },
            CallError::Unavailable {
                plugin: p(),
                message: m(),
            },
            CallError::Busy {
                plugin: p(),
                instances: 1,
                waited_ms: 1,
            },
            CallError::Quarantined {
                plugin: p(),
                reason: m(),
            },
        ];
        for error in all {
            assert_eq!(error.plugin(), "p");
            assert!(error.to_string().starts_with("plugin `p` "), "{error}");
            assert!(!error.without_plugin().contains("`p`"), "{error}");
        }
        assert_eq!(
            CallError::StackOverflow { plugin: p() }.without_plugin(),
            "overflowed its stack and was stopped"
        );
    }
}
