//! # tally-plugin-host
//!
//! Runs Tally's license-manager pollers and log importers as sandboxed WebAssembly components.
//!
//! - [`PluginEngine`]: one wasmtime engine per process (pooling allocator, epoch deadlines,
//!   deny-all WASI, memory caps).
//! - [`Manifest`]: the strict `plugin.toml` beside each component.
//! - [`LoadedPlugin`]: a checked, compiled, pre-linked plugin; [`ImportRun`] streams a log
//!   through an importer.
//! - [`Registry`]: the plugins of a process, from a directory or built in, swapped atomically.
//! - [`PluginDir`]: the operator's plugin directory: add, remove, reload, enable, disable, each
//!   written to the [`AuditLog`]; [`Grants`] of [`Capabilities`] decide what a plugin may use.
//!
//! A misbehaving guest (endless loop, memory bomb, panic, absurd result) costs its own instance
//! and becomes a [`CallError`] naming the plugin; the host carries on.
// One audited exception: `engine::Precompiled::load` loads compiled plugins it verified.
#![deny(unsafe_code)]

mod audit;
mod capabilities;
mod command;
mod engine;
mod error;
mod http;
mod import;
mod install;
mod manifest;
mod plugin;
mod registry;
mod since_v0_1_0;
mod since_v0_2_0;
mod since_v0_3_0;
mod since_v0_4_0;
mod validate;

pub use audit::{AuditEntry, AuditLog};
pub use capabilities::{Capabilities, Grants};
pub use command::{CommandError, expand as expand_command};
pub use engine::{BUSY_WAIT, EngineOptions, MAX_INSTANCES, PluginEngine};
pub use error::{CallError, LoadError, ManifestError};
pub use http::{MAX_CALL_BYTES, MAX_REQUEST_BODY, MAX_RESPONSE_BODY};
pub use import::{
    BYTES_PER_RECORD, ImportConfig, ImportRun, MAX_LINE_BYTES, MAX_NAME_BYTES, MAX_TEXT_BYTES,
    RECORDS_PER_LINE,
};
pub use install::{Builtin, ChangeError, Package, PluginDir, PluginView};
pub use manifest::{Limits, Manifest, World, sha256_hex};
pub use plugin::{LoadedPlugin, PluginInfo, SNIFF_TIMEOUT_MS, Sniff};
pub use registry::{Entry, PluginHealth, QUARANTINE_AFTER, Registry, SNIFF_BYTES, Source};

/// The WIT tracks this host can load, oldest first: the last is the latest, the one the SDK
/// builds against (`tally_plugin_sdk::WIT_VERSION`).
pub const SUPPORTED_TRACKS: &[&str] = &[
    since_v0_1_0::TRACK,
    since_v0_2_0::TRACK,
    since_v0_3_0::TRACK,
    since_v0_4_0::TRACK,
];
