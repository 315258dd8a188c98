//! One import of one log through an importer plugin: a single instance that keeps its parse
//! state across chunks. A trap drops the instance; every later call on the run fails. Each
//! call's outcome counts towards the plugin's health (see [`crate::registry::Health`]).

use std::sync::Arc;

use tally_core::Batch;
use tally_core::zone::{LocalClock, Zone};
use wasmtime::Store;

use crate::engine::{HostState, PluginEngine};
use crate::error::CallError;
use crate::plugin::{LoadedPlugin, Pre};
use crate::since_v0_1_0 as v0_1_0;
use crate::since_v0_2_0 as v0_2_0;
use crate::since_v0_3_0 as v0_3_0;
use crate::since_v0_4_0 as v0_4_0;
use crate::validate;

/// What the host tells an importer about the log it is about to read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportConfig {
    /// Offset of the license server's local time from UTC, in seconds.
    pub utc_offset: i32,
    /// The file's modification time (UTC seconds).
    pub modified: Option<i64>,
    /// State from [`ImportRun::checkpoint`] when an interrupted import resumes.
    pub resume: Option<Vec<u8>>,
    /// Lines and bytes consumed before the resume point: facts still open at the checkpoint
    /// (sessions closed later) come from them, so they count towards the result allowance.
    pub consumed_lines: u64,
    pub consumed_bytes: u64,
}

/// A guest may return at most this many records per input line, plus one per
/// [`BYTES_PER_RECORD`] bytes (a JSON document may be one long line), plus a small allowance:
/// every fact comes from the input, so a result far larger than it is a hostile or broken guest.
pub const RECORDS_PER_LINE: u64 = 2;
pub const BYTES_PER_RECORD: u64 = 16;
const RECORD_ALLOWANCE: u64 = 16;

/// An importer instance of any track. All share 0.2.0's records but for the batch (0.3.0's
/// `denial` may last, 0.4.0's batch states capacity), so a call is written once for all with
/// [`each!`] and a batch is converted to the host's in each arm.
enum Bindings {
    Latest(v0_4_0::importer::Importer),
    V3(v0_3_0::importer::Importer),
    V2(v0_2_0::importer::Importer),
    V1(v0_1_0::importer::Importer),
}

/// `each!(bindings, e => call on e)`: the same call on the `log-importer` export of whichever
/// track's bindings these are (the latest's accessor carries its package version).
macro_rules! each {
    ($bindings:expr, $e:ident => $call:expr) => {
        match $bindings {
            Bindings::Latest(i) => {
                let $e = i.tally_plugin0_4_0_log_importer();
                $call
            }
            Bindings::V3(i) => {
                let $e = i.tally_plugin0_3_0_log_importer();
                $call
            }
            Bindings::V2(i) => {
                let $e = i.tally_plugin_log_importer();
                $call
            }
            Bindings::V1(i) => {
                let $e = i.tally_plugin_log_importer();
                $call
            }
        }
    };
}

/// A batch-returning call's result in the host's types.
fn host_batch<B: Into<Batch>>(
    result: wasmtime::Result<Result<B, v0_2_0::types::PluginError>>,
) -> wasmtime::Result<Result<Batch, v0_2_0::types::PluginError>> {
    result.map(|r| r.map(Into::into))
}

pub struct ImportRun {
    plugin: Arc<LoadedPlugin>,
    live: Option<(Store<HostState>, Bindings)>,
    /// With a time zone: the clock that re-reads the guest's times, and the offset (seconds
    /// east) the guest converted them with.
    clock: Option<(LocalClock, i32)>,
    lines_fed: u64,
    bytes_fed: u64,
    records_returned: u64,
}

impl ImportRun {
    /// Instantiates `plugin` and calls its `begin`; the guest converts local times with
    /// `config.utc_offset`.
    pub fn begin(plugin: Arc<LoadedPlugin>, config: &ImportConfig) -> Result<ImportRun, CallError> {
        Self::start(plugin, config, None)
    }

    /// [`ImportRun::begin`] for a license server in time zone `zone`: a guest on WIT 0.4.0 or
    /// later returns wall-clock times (`local-times`), an older one converts with the zone's
    /// offset at the file's modification time; either way the host re-reads every time in
    /// the zone, daylight-saving changes included (tally-core `zone::LocalClock`).
    /// `config.utc_offset` is ignored.
    pub fn begin_in_zone(
        plugin: Arc<LoadedPlugin>,
        config: &ImportConfig,
        zone: Zone,
    ) -> Result<ImportRun, CallError> {
        let mut config = config.clone();
        config.utc_offset = config
            .modified
            .map_or(zone.offset_at(0), |m| zone.offset_at(m));
        Self::start(plugin, &config, Some(zone))
    }

    fn start(
        plugin: Arc<LoadedPlugin>,
        config: &ImportConfig,
        zone: Option<Zone>,
    ) -> Result<ImportRun, CallError> {
        if !matches!(
            plugin.pre,
            Pre::Importer(_) | Pre::ImporterV3(_) | Pre::ImporterV2(_) | Pre::ImporterV1(_)
        ) {
            return not_an_importer(&plugin);
        }
        plugin.health.admit(plugin.id())?;
        let mut store = plugin.store();
        let _ticking = PluginEngine::arm(&mut store);
        let bindings = match &plugin.pre {
            Pre::ImporterV1(pre) => pre.instantiate(&mut store).map(Bindings::V1),
            Pre::ImporterV2(pre) => pre.instantiate(&mut store).map(Bindings::V2),
            Pre::ImporterV3(pre) => pre.instantiate(&mut store).map(Bindings::V3),
            Pre::Importer(pre) => pre.instantiate(&mut store).map(Bindings::Latest),
            Pre::Poller(_) | Pre::PollerV3(_) | Pre::PollerV2(_) | Pre::PollerV1(_) => {
                not_an_importer(&plugin)?
            }
        };
        let bindings = match bindings {
            Ok(bindings) => bindings,
            Err(e) => {
                let error = PluginEngine::classify(&store, &e);
                return plugin.health.record(plugin.id(), Err(error));
            }
        };
        // The offset the guest's times come in: none for a 0.4.0 guest asked for local times.
        let local_times = zone.is_some() && matches!(bindings, Bindings::Latest(_));
        let given = if local_times { 0 } else { config.utc_offset };
        let mut run = ImportRun {
            plugin,
            live: Some((store, bindings)),
            clock: zone.map(|z| (LocalClock::new(z), given)),
            lines_fed: config.consumed_lines,
            bytes_fed: config.consumed_bytes,
            records_returned: 0,
        };
        let latest = v0_4_0::import_config(config, local_times);
        let older = v0_4_0::older_import_config(config);
        // `begin` only hands the guest its config: a failure counts, a success proves nothing
        // (or a plugin that traps on every chunk would never reach its quarantine).
        let begun = run.call(|store, b| match b {
            Bindings::Latest(i) => i.tally_plugin0_4_0_log_importer().call_begin(store, &latest),
            Bindings::V3(i) => i.tally_plugin0_3_0_log_importer().call_begin(store, &older),
            Bindings::V2(i) => i.tally_plugin_log_importer().call_begin(store, &older),
            Bindings::V1(i) => i.tally_plugin_log_importer().call_begin(store, &older),
        });
        match begun {
            Ok(()) => Ok(run),
            Err(error) => run.settle(Err(error)),
        }
    }

    pub fn plugin(&self) -> &LoadedPlugin {
        &self.plugin
    }

    /// Parses one chunk of whole lines.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<Batch, CallError> {
        self.lines_fed += count_lines(chunk);
        self.bytes_fed += chunk.len() as u64;
        let batch = self
            .call(|store, b| each!(b, e => host_batch(e.call_feed(store, chunk))))
            .and_then(|batch| self.accept(batch))
            .map(|batch| self.rezone(batch));
        self.settle(batch)
    }

    /// The guest's state after the last chunk, to resume from later.
    pub fn checkpoint(&mut self) -> Result<Vec<u8>, CallError> {
        let state = self.call(|store, b| each!(b, e => e.call_checkpoint(store)));
        self.settle(state)
    }

    /// Ends the input: the guest closes what is still open.
    pub fn finish(mut self) -> Result<Batch, CallError> {
        let batch = self
            .call(|store, b| each!(b, e => host_batch(e.call_finish(store))))
            .and_then(|batch| self.accept(batch))
            .map(|batch| self.rezone(batch));
        self.settle(batch)
    }

    /// The batch's times read in the server's zone, when the run has one.
    fn rezone(&mut self, mut batch: Batch) -> Batch {
        if let Some((clock, given)) = &mut self.clock {
            clock.rezone_batch(&mut batch, *given);
        }
        batch
    }

    /// Counts a call's final outcome (after the host's checks) towards the plugin's health.
    fn settle<R>(&self, result: Result<R, CallError>) -> Result<R, CallError> {
        self.plugin.health.record(self.plugin.id(), result)
    }

    /// Calls into the guest with a fresh deadline, unless the plugin has been quarantined
    /// meanwhile; maps traps and guest errors.
    fn call<R>(
        &mut self,
        f: impl FnOnce(
            &mut Store<HostState>,
            &Bindings,
        ) -> wasmtime::Result<Result<R, v0_2_0::types::PluginError>>,
    ) -> Result<R, CallError> {
        let id = self.plugin.id();
        self.plugin.health.admit(id)?;
        let Some((store, bindings)) = self.live.as_mut() else {
            return Err(CallError::Unavailable {
                plugin: id.into(),
                message: "its instance was stopped by an earlier failure".into(),
            });
        };
        let _ticking = PluginEngine::arm(store);
        match f(store, bindings) {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(guest)) => Err(v0_4_0::guest_error(id, guest)),
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
        let allowed = self.lines_fed * RECORDS_PER_LINE
            + self.bytes_fed / BYTES_PER_RECORD
            + RECORD_ALLOWANCE;
        if self.records_returned > allowed {
            let (returned, lines, bytes) = (self.records_returned, self.lines_fed, self.bytes_fed);
            self.live = None;
            return Err(invalid(format!(
                "{returned} records for {lines} input lines of {bytes} bytes (at most {RECORDS_PER_LINE} per line, 1 per {BYTES_PER_RECORD} bytes, plus {RECORD_ALLOWANCE})"
            )));
        }
        if let Some(sym) = batch.dangling_sym() {
            self.live = None;
            return Err(invalid(format!(
                "string index {sym} out of range ({} strings)",
                batch.strings.len()
            )));
        }
        if let Err(error) = validate::batch(self.plugin.id(), &batch) {
            self.live = None;
            return Err(error);
        }
        Ok(batch)
    }
}

/// A poller asked to import: refused by the host, no guest call, nothing counted.
fn not_an_importer<R>(plugin: &LoadedPlugin) -> Result<R, CallError> {
    Err(CallError::Unavailable {
        plugin: plugin.id().into(),
        message: "it is a poller, not an importer".into(),
    })
}

fn count_lines(chunk: &[u8]) -> u64 {
    let newlines = chunk.iter().filter(|&&b| b == b'\n').count() as u64;
    // A final line without its newline is a line too.
    newlines + u64::from(chunk.last().is_some_and(|&b| b != b'\n'))
}
