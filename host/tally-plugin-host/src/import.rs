//! One import of one log through an importer plugin: a single instance that keeps its parse
//! state across chunks. A trap drops the instance; every later call on the run fails. Each
//! call's outcome counts towards the plugin's health (see [`crate::registry::Health`]).

use std::sync::Arc;

use tally_core::zone::{LocalClock, Zone};
use tally_core::{Batch, Diagnostic, DiagnosticKind, Sym};
use wasmtime::Store;

use crate::engine::{HostState, PluginEngine, Slot};
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

/// Longest line an importer is shown: no license-manager log line comes near it, and a
/// guest's memory (64 MiB by default) must hold its chunk several times over. A longer line
/// (a binary blob, a corrupted file) reaches the guest as an empty line and is reported as
/// malformed with its number.
pub const MAX_LINE_BYTES: usize = 1 << 20;
/// Longest name (vendor, feature, user, host, project, version, daemon) stored: a record
/// naming a longer one is refused as malformed, not stored.
pub const MAX_NAME_BYTES: usize = 1024;
/// Longest text (a diagnostic's, a server event's, a denial reason) kept; longer is cut.
pub const MAX_TEXT_BYTES: usize = 4096;

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
    live: Option<Live>,
    /// With a time zone: the clock that re-reads the guest's times, and the offset (seconds
    /// east) the guest converted them with.
    clock: Option<(LocalClock, i32)>,
    lines_fed: u64,
    bytes_fed: u64,
    records_returned: u64,
    max_line_bytes: usize,
}

/// The run's instance, and its place among the engine's instances (freed with it).
struct Live {
    store: Store<HostState>,
    bindings: Bindings,
    _slot: Slot,
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
        // Waits for a free instance; held for the whole run.
        let slot = plugin.engine.slot(plugin.id())?;
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
            live: Some(Live {
                store,
                bindings,
                _slot: slot,
            }),
            clock: zone.map(|z| (LocalClock::new(z), given)),
            lines_fed: config.consumed_lines,
            bytes_fed: config.consumed_bytes,
            records_returned: 0,
            max_line_bytes: MAX_LINE_BYTES,
        };
        let latest = v0_4_0::import_config(config, local_times);
        let older = v0_4_0::older_import_config(config);
        // `begin` only hands the guest its config: a failure counts, a success proves nothing
        // (or a plugin that traps on every chunk would never reach its quarantine).
        let begun = run.call(|store, b| match b {
            Bindings::Latest(i) => i
                .tally_plugin0_4_0_log_importer()
                .call_begin(store, &latest),
            Bindings::V3(i) => i.tally_plugin0_3_0_log_importer().call_begin(store, &older),
            Bindings::V2(i) => i.tally_plugin_log_importer().call_begin(store, &older),
            Bindings::V1(i) => i.tally_plugin_log_importer().call_begin(store, &older),
        });
        match begun {
            Ok(()) => Ok(run),
            Err(error) => run.settle(Err(error)),
        }
    }

    /// Lines longer than `max` bytes are cut out by the host from now on (default
    /// [`MAX_LINE_BYTES`]; at least 1).
    pub fn limit_lines(&mut self, max: usize) {
        self.max_line_bytes = max.max(1);
    }

    pub fn plugin(&self) -> &LoadedPlugin {
        &self.plugin
    }

    /// Parses one chunk of whole lines. A line longer than the run's limit is not shown to
    /// the guest (it sees an empty line in its place, so line numbers hold) and comes back as
    /// a malformed diagnostic with its number.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<Batch, CallError> {
        let first_line = self.lines_fed + 1;
        let (shown, cut) = cut_long_lines(chunk, first_line, self.max_line_bytes);
        let chunk = shown.as_deref().unwrap_or(chunk);
        self.lines_fed += count_lines(chunk);
        self.bytes_fed += chunk.len() as u64;
        let batch = self
            .call(|store, b| each!(b, e => host_batch(e.call_feed(store, chunk))))
            .and_then(|batch| self.accept(batch, first_line))
            .map(|mut batch| {
                if !cut.is_empty() {
                    batch.diagnostics.extend(cut);
                    batch.diagnostics.sort_by_key(|d| d.line);
                }
                batch
            })
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
        let last_line = self.lines_fed.max(1);
        let batch = self
            .call(|store, b| each!(b, e => host_batch(e.call_finish(store))))
            .and_then(|batch| self.accept(batch, last_line))
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
        let Some(Live {
            store, bindings, ..
        }) = self.live.as_mut()
        else {
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

    /// Checks a batch before the host trusts it, and refuses, record by record, those naming
    /// something longer than [`MAX_NAME_BYTES`] (reported as malformed at `line`, the first
    /// line of their chunk: records carry no line of their own).
    fn accept(&mut self, mut batch: Batch, line: u64) -> Result<Batch, CallError> {
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
        refuse_long_names(&mut batch, line);
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

/// `chunk` with every line longer than `max` bytes emptied (its newline kept), and a malformed
/// diagnostic per emptied line; `None` and no diagnostics when no line is too long (the
/// common case costs one scan and no copy).
fn cut_long_lines(chunk: &[u8], first_line: u64, max: usize) -> (Option<Vec<u8>>, Vec<Diagnostic>) {
    if chunk.len() <= max {
        return (None, vec![]);
    }
    let mut shown: Option<Vec<u8>> = None;
    let mut cut = vec![];
    let mut start = 0;
    let mut line = first_line;
    while start < chunk.len() {
        let end = memchr_newline(&chunk[start..]).map_or(chunk.len(), |i| start + i);
        let len = end - start;
        if len > max {
            let shown = shown.get_or_insert_with(|| chunk[..start].to_vec());
            cut.push(Diagnostic {
                line,
                kind: DiagnosticKind::Malformed,
                text: format!(
                    "line of {len} bytes, longer than the limit of {max}: skipped unread"
                ),
            });
            // An empty line in its place (a final line without its newline included), so the
            // guest counts the lines the file has.
            shown.push(b'\n');
        } else if let Some(shown) = &mut shown {
            shown.extend_from_slice(&chunk[start..(end + 1).min(chunk.len())]);
        }
        start = end + 1;
        line += 1;
    }
    (shown, cut)
}

fn memchr_newline(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&b| b == b'\n')
}

/// Removes the records that name something longer than [`MAX_NAME_BYTES`], each reported as a
/// malformed diagnostic at `line`; empties those strings (nothing keeps them) and cuts texts
/// longer than [`MAX_TEXT_BYTES`].
fn refuse_long_names(batch: &mut Batch, line: u64) {
    let long: Vec<bool> = batch
        .strings
        .iter()
        .map(|s| s.len() > MAX_NAME_BYTES)
        .collect();
    let long_sym = |sym: Sym| long.get(sym as usize).copied().unwrap_or(false);
    if long.iter().any(|&l| l) {
        let mut refused = vec![];
        let strings = &batch.strings;
        let name = |sym: Sym| shown_name(&strings[sym as usize]);
        let mut refuse = |what: &str, names: &[(&str, Sym)]| {
            let Some((field, sym)) = names.iter().find(|(_, sym)| long_sym(*sym)) else {
                return true;
            };
            refused.push(Diagnostic {
                line,
                kind: DiagnosticKind::Malformed,
                text: format!(
                    "{what} refused: its {field} {} is {} bytes, longer than the limit of {MAX_NAME_BYTES}",
                    name(*sym),
                    strings[*sym as usize].len()
                ),
            });
            false
        };
        batch.sessions.retain(|s| {
            let mut names = vec![
                ("vendor", s.vendor),
                ("feature", s.feature),
                ("user", s.user),
                ("host", s.host),
            ];
            names.extend(s.project.map(|p| ("project", p)));
            refuse("a session", &names)
        });
        batch.denials.retain(|d| {
            let mut names = vec![
                ("vendor", d.vendor),
                ("feature", d.feature),
                ("user", d.user),
                ("host", d.host),
            ];
            names.extend(d.requested_version.map(|v| ("requested version", v)));
            refuse("a denial", &names)
        });
        batch.queued.retain(|q| {
            refuse(
                "a queued request",
                &[
                    ("vendor", q.vendor),
                    ("feature", q.feature),
                    ("user", q.user),
                    ("host", q.host),
                ],
            )
        });
        batch
            .server_events
            .retain(|e| refuse("a server event", &[("daemon", e.daemon)]));
        batch.diagnostics.extend(refused);
        batch.diagnostics.sort_by_key(|d| d.line);
    }
    // Texts (a denial's reason, an event's text) may be long, within reason.
    for (string, long) in batch.strings.iter_mut().zip(long) {
        if long {
            truncate(string, MAX_TEXT_BYTES);
        }
    }
    for diagnostic in &mut batch.diagnostics {
        truncate(&mut diagnostic.text, MAX_TEXT_BYTES);
    }
}

/// A name for a message: backquoted, at most 40 characters.
fn shown_name(name: &str) -> String {
    let mut shown: String = name.chars().take(40).flat_map(char::escape_debug).collect();
    if name.chars().count() > 40 {
        shown.push('…');
    }
    format!("`{shown}`")
}

/// Cuts `text` to at most `max` bytes, at a character boundary.
fn truncate(text: &mut String, max: usize) {
    text.truncate(text.floor_char_boundary(max));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_are_emptied_and_reported_with_their_numbers() {
        let chunk = b"short\nxxxxxxxxxx\nok\nyyyyyyyyyyyy";
        let (shown, cut) = cut_long_lines(chunk, 41, 8);
        assert_eq!(shown.as_deref(), Some(&b"short\n\nok\n\n"[..]));
        assert_eq!(
            cut.iter()
                .map(|d| (d.line, d.text.as_str()))
                .collect::<Vec<_>>(),
            [
                (
                    42,
                    "line of 10 bytes, longer than the limit of 8: skipped unread"
                ),
                (
                    44,
                    "line of 12 bytes, longer than the limit of 8: skipped unread"
                ),
            ]
        );
        assert_eq!(
            count_lines(shown.as_deref().expect("cut")),
            count_lines(chunk)
        );
        assert_eq!(cut_long_lines(b"short\nlines\n", 1, 8), (None, vec![]));
        assert_eq!(cut_long_lines(b"a\nb", 1, 1), (None, vec![]));
    }
}
