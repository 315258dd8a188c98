//! What can go wrong with a plugin, named so a caller (and an operator) can act on it.

use thiserror::Error;

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
    #[error("plugin `{plugin}` exports {found} but this host supports {supported}")]
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
    #[error("plugin `{plugin}` panicked: {message}")]
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
}

impl CallError {
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
