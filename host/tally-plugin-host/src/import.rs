//! One import of one log through an importer plugin: a single instance that keeps its parse
//! state across chunks. A trap drops the instance; every later call on the run fails.

use std::sync::Arc;

use tally_core::Batch;
use wasmtime::Store;

use crate::engine::{HostState, PluginEngine};
use crate::error::CallError;
use crate::plugin::{LoadedPlugin, Pre};
use crate::since_v0_1_0 as v0_1_0;

/// What the host tells an importer about the log it is about to read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportConfig {
    /// Offset of the license server's local time from UTC, in seconds.
    pub utc_offset: i32,
    /// The file's modification time (UTC seconds).
    pub modified: Option<i64>,
    /// State from [`ImportRun::checkpoint`] when an interrupted import resumes.
    pub resume: Option<Vec<u8>>,
}

/// A guest may return at most this many records per input line (plus a small allowance): every
/// fact comes from a line, so a result far larger than its input is a hostile or broken guest.
pub const RECORDS_PER_LINE: u64 = 2;
const RECORD_ALLOWANCE: u64 = 16;

pub struct ImportRun {
    plugin: Arc<LoadedPlugin>,
    live: Option<(Store<HostState>, v0_1_0::importer::Importer)>,
    lines_fed: u64,
    records_returned: u64,
}

impl ImportRun {
    /// Instantiates `plugin` and calls its `begin`.
    pub fn begin(plugin: Arc<LoadedPlugin>, config: &ImportConfig) -> Result<ImportRun, CallError> {
        let Pre::Importer(pre) = &plugin.pre else {
            return Err(CallError::Unavailable {
                plugin: plugin.id().into(),
                message: "it is a poller, not an importer".into(),
            });
        };
        let mut store = plugin.engine.store(plugin.id(), plugin.manifest.limits);
        PluginEngine::arm(&mut store);
        let bindings = pre
            .instantiate(&mut store)
            .map_err(|e| PluginEngine::classify(&store, &e))?;
        let mut run = ImportRun {
            plugin,
            live: Some((store, bindings)),
            lines_fed: 0,
            records_returned: 0,
        };
        let config = v0_1_0::import_config(config);
        run.call(|store, b| b.tally_plugin_log_importer().call_begin(store, &config))?;
        Ok(run)
    }

    pub fn plugin(&self) -> &LoadedPlugin {
        &self.plugin
    }

    /// Parses one chunk of whole lines.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<Batch, CallError> {
        self.lines_fed += count_lines(chunk);
        let batch = self.call(|store, b| b.tally_plugin_log_importer().call_feed(store, chunk))?;
        self.accept(batch.into())
    }

    /// The guest's state after the last chunk, to resume from later.
    pub fn checkpoint(&mut self) -> Result<Vec<u8>, CallError> {
        self.call(|store, b| b.tally_plugin_log_importer().call_checkpoint(store))
    }

    /// Ends the input: the guest closes what is still open.
    pub fn finish(mut self) -> Result<Batch, CallError> {
        let batch = self.call(|store, b| b.tally_plugin_log_importer().call_finish(store))?;
        self.accept(batch.into())
    }

    /// Calls into the guest with a fresh deadline; maps traps and guest errors.
    fn call<R>(
        &mut self,
        f: impl FnOnce(
            &mut Store<HostState>,
            &v0_1_0::importer::Importer,
        ) -> wasmtime::Result<
            Result<R, v0_1_0::importer::tally::plugin::types::PluginError>,
        >,
    ) -> Result<R, CallError> {
        let id = self.plugin.id();
        let Some((store, bindings)) = self.live.as_mut() else {
            return Err(CallError::Unavailable {
                plugin: id.into(),
                message: "its instance was stopped by an earlier failure".into(),
            });
        };
        PluginEngine::arm(store);
        match f(store, bindings) {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(guest)) => Err(v0_1_0::guest_error(id, guest)),
            Err(trap) => {
                let error = PluginEngine::classify(store, &trap);
                tracing::warn!(plugin = id, %error, "plugin trapped; its instance is discarded");
                self.live = None;
                Err(error)
            }
        }
    }

    /// Checks a batch before the host trusts it.
    fn accept(&mut self, batch: Batch) -> Result<Batch, CallError> {
        let invalid = |message: String| CallError::InvalidResult {
            plugin: self.plugin.id().into(),
            message,
        };
        self.records_returned += batch.records() as u64;
        let allowed = self.lines_fed * RECORDS_PER_LINE + RECORD_ALLOWANCE;
        if self.records_returned > allowed {
            let (returned, lines) = (self.records_returned, self.lines_fed);
            self.live = None;
            return Err(invalid(format!(
                "{returned} records for {lines} input lines (at most {RECORDS_PER_LINE} per line plus {RECORD_ALLOWANCE})"
            )));
        }
        if let Some(sym) = batch.dangling_sym() {
            self.live = None;
            return Err(invalid(format!(
                "string index {sym} out of range ({} strings)",
                batch.strings.len()
            )));
        }
        Ok(batch)
    }
}

fn count_lines(chunk: &[u8]) -> u64 {
    let newlines = chunk.iter().filter(|&&b| b == b'\n').count() as u64;
    // A final line without its newline is a line too.
    newlines + u64::from(chunk.last().is_some_and(|&b| b != b'\n'))
}
