//! A loaded plugin: its manifest, its compiled component pre-linked for fast instantiation, and
//! what it said about itself.

use std::sync::Arc;

use crate::capabilities::Capabilities;
use crate::engine::PluginEngine;
use crate::error::{CallError, LoadError};
use crate::import::{BYTES_PER_RECORD, RECORDS_PER_LINE};
use crate::manifest::{Manifest, World};
use crate::since_v0_1_0 as v0_1_0;
use crate::since_v0_2_0 as v0_2_0;
use crate::since_v0_3_0 as v0_3_0;
use crate::since_v0_4_0 as v0_4_0;
use tally_core::Snapshot;

/// What a plugin's `describe` returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginInfo {
    pub name: String,
    pub version: String,
    pub formats: Vec<String>,
}

/// What a plugin's `sniff` recognised: one of its formats and how sure it is (0.0–1.0).
#[derive(Debug, Clone, PartialEq)]
pub struct Sniff {
    pub format: String,
    pub confidence: f32,
}

/// The deadline of one `sniff` call (or the plugin's own, if shorter).
pub const SNIFF_TIMEOUT_MS: u32 = 200;

/// The component, instantiated cheaply per call through its `InstancePre`: one variant per
/// world and WIT track (no suffix: the latest, 0.4.0; `V3`: 0.3.0; `V2`: 0.2.0; `V1`: 0.1.0).
pub(crate) enum Pre {
    Importer(v0_4_0::importer::ImporterPre<crate::engine::HostState>),
    Poller(v0_4_0::poller::PollerPre<crate::engine::HostState>),
    ImporterV3(v0_3_0::importer::ImporterPre<crate::engine::HostState>),
    PollerV3(v0_3_0::poller::PollerPre<crate::engine::HostState>),
    ImporterV2(v0_2_0::importer::ImporterPre<crate::engine::HostState>),
    PollerV2(v0_2_0::poller::PollerPre<crate::engine::HostState>),
    ImporterV1(v0_1_0::importer::ImporterPre<crate::engine::HostState>),
    PollerV1(v0_1_0::poller::PollerPre<crate::engine::HostState>),
}

/// Every track's exports: a component must export exactly one of them.
const EXPORTS: [(&str, World, &str); 8] = [
    (v0_1_0::IMPORTER_EXPORT, World::Importer, v0_1_0::TRACK),
    (v0_1_0::POLLER_EXPORT, World::Poller, v0_1_0::TRACK),
    (v0_2_0::IMPORTER_EXPORT, World::Importer, v0_2_0::TRACK),
    (v0_2_0::POLLER_EXPORT, World::Poller, v0_2_0::TRACK),
    (v0_3_0::IMPORTER_EXPORT, World::Importer, v0_3_0::TRACK),
    (v0_3_0::POLLER_EXPORT, World::Poller, v0_3_0::TRACK),
    (v0_4_0::IMPORTER_EXPORT, World::Importer, v0_4_0::TRACK),
    (v0_4_0::POLLER_EXPORT, World::Poller, v0_4_0::TRACK),
];

pub struct LoadedPlugin {
    pub manifest: Manifest,
    pub info: PluginInfo,
    /// The WIT track the component speaks.
    pub track: semver::Version,
    /// Hex sha256 of the component (checked against the manifest's).
    pub sha256: String,
    /// `host:port`s its `http` import may reach: declared and granted (pollers on 0.2.0 or later).
    pub(crate) http: Arc<[String]>,
    pub(crate) pre: Pre,
    pub(crate) engine: PluginEngine,
    /// Traps in a row and quarantine; counted by every call into the guest.
    pub(crate) health: crate::registry::Health,
}

impl std::fmt::Debug for LoadedPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedPlugin")
            .field("id", &self.manifest.id)
            .field("track", &self.track)
            .finish_non_exhaustive()
    }
}

impl LoadedPlugin {
    pub fn id(&self) -> &str {
        &self.manifest.id
    }

    /// Checks the component against its manifest and the manifest's needs against what the
    /// operator `granted`, compiles and links it, and asks it to describe itself. Nothing of
    /// the plugin is kept unless every step succeeds.
    pub fn load(
        engine: &PluginEngine,
        manifest: Manifest,
        component: &[u8],
        granted: &Capabilities,
    ) -> Result<Arc<LoadedPlugin>, LoadError> {
        manifest.check_hash(component)?;
        let plugin = manifest.id.clone();
        let missing = manifest.needs().missing(granted);
        if !missing.is_empty() {
            return Err(LoadError::NotGranted {
                plugin,
                missing: missing.join(", "),
            });
        }
        let compiled =
            engine
                .compile(component, &manifest.sha256)
                .map_err(|e| LoadError::Compile {
                    plugin: plugin.clone(),
                    message: format!("{e:#}"),
                })?;

        let exports: Vec<String> = compiled
            .component_type()
            .exports(engine.engine())
            .map(|(name, _)| name.to_string())
            .filter(|name| name.starts_with("tally:plugin/"))
            .collect();
        let known = match exports.as_slice() {
            [export] => EXPORTS.iter().find(|(name, ..)| name == export),
            _ => None,
        };
        let Some(&(_, world, track)) = known else {
            let found = if exports.is_empty() {
                "no tally:plugin interface".to_string()
            } else {
                exports.join(", ")
            };
            let supported = EXPORTS.iter().map(|(name, ..)| *name);
            return Err(LoadError::UnsupportedTrack {
                plugin,
                found,
                supported: supported.collect::<Vec<_>>().join(", "),
            });
        };
        let track = semver::Version::parse(track).expect("track constants are valid semver");
        if world != manifest.world || track != manifest.wit {
            return Err(LoadError::Mismatch {
                plugin,
                message: format!(
                    "manifest declares world `{}` on WIT {}, the component implements `{}` on WIT {}",
                    manifest.world.as_str(),
                    manifest.wit,
                    world.as_str(),
                    track
                ),
            });
        }

        let link_err = |e: wasmtime::Error| LoadError::Link {
            plugin: plugin.clone(),
            message: format!("{e:#}"),
        };
        let instance_pre = engine
            .linker()
            .instantiate_pre(&compiled)
            .map_err(link_err)?;
        let pre = match (world, track.to_string().as_str()) {
            (World::Importer, v0_4_0::TRACK) => {
                Pre::Importer(v0_4_0::importer::ImporterPre::new(instance_pre).map_err(link_err)?)
            }
            (World::Poller, v0_4_0::TRACK) => {
                Pre::Poller(v0_4_0::poller::PollerPre::new(instance_pre).map_err(link_err)?)
            }
            (World::Importer, v0_3_0::TRACK) => {
                Pre::ImporterV3(v0_3_0::importer::ImporterPre::new(instance_pre).map_err(link_err)?)
            }
            (World::Poller, v0_3_0::TRACK) => {
                Pre::PollerV3(v0_3_0::poller::PollerPre::new(instance_pre).map_err(link_err)?)
            }
            (World::Importer, v0_2_0::TRACK) => {
                Pre::ImporterV2(v0_2_0::importer::ImporterPre::new(instance_pre).map_err(link_err)?)
            }
            (World::Poller, v0_2_0::TRACK) => {
                Pre::PollerV2(v0_2_0::poller::PollerPre::new(instance_pre).map_err(link_err)?)
            }
            (World::Importer, _) => {
                Pre::ImporterV1(v0_1_0::importer::ImporterPre::new(instance_pre).map_err(link_err)?)
            }
            (World::Poller, _) => {
                Pre::PollerV1(v0_1_0::poller::PollerPre::new(instance_pre).map_err(link_err)?)
            }
        };
        // No grant, no access: only what the manifest declares and the operator granted (the
        // check above refused the load otherwise), and only for the world that has `http`.
        let http: Arc<[String]> = match pre {
            Pre::Poller(_) | Pre::PollerV3(_) | Pre::PollerV2(_) => manifest
                .capabilities
                .http
                .iter()
                .filter(|a| granted.http.iter().any(|g| g.eq_ignore_ascii_case(a)))
                .cloned()
                .collect(),
            _ => Vec::new().into(),
        };
        let mut loaded = LoadedPlugin {
            // Checked equal to the component's above.
            sha256: manifest.sha256.to_ascii_lowercase(),
            manifest,
            info: PluginInfo {
                name: String::new(),
                version: String::new(),
                formats: vec![],
            },
            track,
            http,
            pre,
            engine: engine.clone(),
            health: Default::default(),
        };
        loaded.info = loaded.describe().map_err(|e| LoadError::Mismatch {
            plugin: plugin.clone(),
            message: e.to_string(),
        })?;
        let mut declared = loaded.manifest.formats.clone();
        let mut described = loaded.info.formats.clone();
        declared.sort();
        described.sort();
        if declared != described {
            return Err(LoadError::Mismatch {
                plugin,
                message: format!(
                    "manifest lists formats {declared:?}, the component describes {described:?}"
                ),
            });
        }
        Ok(Arc::new(loaded))
    }

    /// Runs `f` on a fresh, deadline-armed instance, turning any trap into a [`CallError`].
    fn with_instance<R>(
        &self,
        f: impl FnOnce(
            &mut wasmtime::Store<crate::engine::HostState>,
            &Pre,
            &Instance,
        ) -> wasmtime::Result<R>,
    ) -> Result<R, CallError> {
        self.with_instance_limited(self.manifest.limits, f)
    }

    /// [`LoadedPlugin::with_instance`] under other limits than the manifest's.
    fn with_instance_limited<R>(
        &self,
        limits: crate::manifest::Limits,
        f: impl FnOnce(
            &mut wasmtime::Store<crate::engine::HostState>,
            &Pre,
            &Instance,
        ) -> wasmtime::Result<R>,
    ) -> Result<R, CallError> {
        // Held until the store (and its instance) is dropped, at the end of this function.
        let _slot = self.engine.slot(self.id())?;
        let mut store = self.engine.store(self.id(), limits, self.http.clone());
        let _ticking = PluginEngine::arm(&mut store);
        let instance = match &self.pre {
            Pre::Importer(pre) => pre.instantiate(&mut store).map(Instance::Importer),
            Pre::Poller(pre) => pre.instantiate(&mut store).map(Instance::Poller),
            Pre::ImporterV3(pre) => pre.instantiate(&mut store).map(Instance::ImporterV3),
            Pre::PollerV3(pre) => pre.instantiate(&mut store).map(Instance::PollerV3),
            Pre::ImporterV2(pre) => pre.instantiate(&mut store).map(Instance::ImporterV2),
            Pre::PollerV2(pre) => pre.instantiate(&mut store).map(Instance::PollerV2),
            Pre::ImporterV1(pre) => pre.instantiate(&mut store).map(Instance::ImporterV1),
            Pre::PollerV1(pre) => pre.instantiate(&mut store).map(Instance::PollerV1),
        }
        .map_err(|e| PluginEngine::classify(&store, &e))?;
        f(&mut store, &self.pre, &instance).map_err(|e| PluginEngine::classify(&store, &e))
    }

    /// A fresh store for this plugin (see [`PluginEngine::store`]).
    pub(crate) fn store(&self) -> wasmtime::Store<crate::engine::HostState> {
        self.engine
            .store(self.id(), self.manifest.limits, self.http.clone())
    }

    fn describe(&self) -> Result<PluginInfo, CallError> {
        self.with_instance(|store, _, instance| {
            let info = match instance {
                Instance::Importer(i) => i.tally_plugin0_4_0_log_importer().call_describe(store),
                Instance::Poller(p) => p.tally_plugin0_4_0_status_poller().call_describe(store),
                Instance::ImporterV3(i) => i.tally_plugin0_3_0_log_importer().call_describe(store),
                Instance::PollerV3(p) => p.tally_plugin0_3_0_status_poller().call_describe(store),
                Instance::ImporterV2(i) => i.tally_plugin_log_importer().call_describe(store),
                Instance::PollerV2(p) => p.tally_plugin_status_poller().call_describe(store),
                Instance::ImporterV1(i) => i.tally_plugin_log_importer().call_describe(store),
                Instance::PollerV1(p) => p.tally_plugin_status_poller().call_describe(store),
            };
            info.map(Into::into)
        })
    }

    /// Which of its formats the plugin recognises in `head`, the start of a file or output,
    /// and how sure it is (clamped to 0.0–1.0); `None` when it does not. A 0.1.0 plugin's
    /// confidence names its first format. Naming a format the plugin does not read is an
    /// invalid result.
    pub fn sniff(&self, head: &[u8]) -> Result<Option<Sniff>, CallError> {
        let plugin = self.id();
        // Sniffing 4 KiB takes microseconds; a plugin that takes longer would delay every
        // auto-detected import, so it gets a deadline of its own.
        let limits = crate::manifest::Limits {
            timeout_ms: self.manifest.limits.timeout_ms.min(SNIFF_TIMEOUT_MS),
            ..self.manifest.limits
        };
        self.health.call(plugin, || {
            let sniffed =
                self.with_instance_limited(limits, |store, _, instance| match instance {
                    Instance::Importer(i) => {
                        i.tally_plugin0_4_0_log_importer().call_sniff(store, head)
                    }
                    Instance::Poller(p) => {
                        p.tally_plugin0_4_0_status_poller().call_sniff(store, head)
                    }
                    Instance::ImporterV3(i) => {
                        i.tally_plugin0_3_0_log_importer().call_sniff(store, head)
                    }
                    Instance::PollerV3(p) => {
                        p.tally_plugin0_3_0_status_poller().call_sniff(store, head)
                    }
                    Instance::ImporterV2(i) => {
                        i.tally_plugin_log_importer().call_sniff(store, head)
                    }
                    Instance::PollerV2(p) => p.tally_plugin_status_poller().call_sniff(store, head),
                    Instance::ImporterV1(i) => i
                        .tally_plugin_log_importer()
                        .call_sniff(store, head)
                        .map(|c| v0_1_0::sniffed(c, &self.info)),
                    Instance::PollerV1(p) => p
                        .tally_plugin_status_poller()
                        .call_sniff(store, head)
                        .map(|c| v0_1_0::sniffed(c, &self.info)),
                })?;
            let Some(sniffed) = sniffed else {
                return Ok(None);
            };
            if !self.info.formats.contains(&sniffed.format) {
                return Err(CallError::InvalidResult {
                    plugin: plugin.into(),
                    message: format!(
                        "sniff named format `{}`, which is not one of its formats ({})",
                        sniffed.format.chars().take(100).collect::<String>(),
                        self.info.formats.join(", ")
                    ),
                });
            }
            let confidence = sniffed.confidence;
            Ok((confidence.is_finite() && confidence > 0.0).then(|| Sniff {
                format: sniffed.format,
                confidence: confidence.min(1.0),
            }))
        })
    }
}

impl LoadedPlugin {
    /// Parses one status-command output taken at `now` (a poller's one job). The result is
    /// bounded by the output's size like an import batch, and every name must resolve. A trap
    /// or an invalid result counts towards quarantine.
    pub fn parse_status(&self, output: &[u8], now: i64) -> Result<Snapshot, CallError> {
        self.health
            .call(self.id(), || self.parse_status_once(output, now))
    }

    fn parse_status_once(&self, output: &[u8], now: i64) -> Result<Snapshot, CallError> {
        let plugin = self.id();
        let result = self.with_instance(|store, _, instance| match instance {
            Instance::Poller(p) => p
                .tally_plugin0_4_0_status_poller()
                .call_parse_status(store, output, now)
                .map(Some),
            Instance::PollerV3(p) => p
                .tally_plugin0_3_0_status_poller()
                .call_parse_status(store, output, now)
                .map(Some),
            Instance::PollerV2(p) => p
                .tally_plugin_status_poller()
                .call_parse_status(store, output, now)
                .map(Some),
            Instance::PollerV1(p) => p
                .tally_plugin_status_poller()
                .call_parse_status(store, output, now)
                .map(Some),
            Instance::Importer(_)
            | Instance::ImporterV3(_)
            | Instance::ImporterV2(_)
            | Instance::ImporterV1(_) => Ok(None),
        })?;
        // An importer is refused by the host: no guest call, nothing counted.
        let Some(result) = result else {
            return Err(CallError::Unavailable {
                plugin: plugin.into(),
                message: "it is an importer, not a poller".into(),
            });
        };
        let lines = output.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
        self.accept_snapshot(result, lines, output.len() as u64)
    }

    /// Asks an http poller (on WIT 0.2.0 or later, without `command`) for the status of the
    /// license server at `host`/`port` at `now`: the plugin fetches it over its `http` import,
    /// limited to the hosts declared and granted. The result is bounded by what it fetched.
    pub fn poll(&self, host: &str, port: Option<u16>, now: i64) -> Result<Snapshot, CallError> {
        let plugin = self.id();
        if !matches!(
            self.pre,
            Pre::Poller(_) | Pre::PollerV3(_) | Pre::PollerV2(_)
        ) {
            // Refused by the host: no guest call, nothing counted.
            return Err(CallError::Unavailable {
                plugin: plugin.into(),
                message: format!(
                    "only a poller on WIT {} or later can poll over http (this is {} on WIT {})",
                    v0_2_0::TRACK,
                    self.manifest.world.as_str(),
                    self.track
                ),
            });
        }
        let server = v0_2_0::types::ServerAddress {
            host: host.into(),
            port,
        };
        self.health.call(plugin, || {
            let (result, fetched) = self.with_instance(|store, _, instance| {
                let result = match instance {
                    Instance::Poller(p) => {
                        p.tally_plugin0_4_0_status_poller()
                            .call_poll(&mut *store, &server, now)?
                    }
                    Instance::PollerV3(p) => {
                        p.tally_plugin0_3_0_status_poller()
                            .call_poll(&mut *store, &server, now)?
                    }
                    Instance::PollerV2(p) => {
                        p.tally_plugin_status_poller()
                            .call_poll(&mut *store, &server, now)?
                    }
                    // Checked above: `pre` and its instances are of one kind.
                    _ => Err(v0_2_0::types::PluginError::Internal(
                        "not an http poller".into(),
                    )),
                };
                Ok((result, store.data().fetched))
            })?;
            self.accept_snapshot(result, fetched.lines, fetched.bytes)
        })
    }

    /// Checks a poller's answer before the host trusts it: the guest's refusal named, every
    /// name resolved, no more records than `lines` lines of `bytes` bytes of input could hold,
    /// every value plausible.
    fn accept_snapshot(
        &self,
        result: Result<v0_2_0::types::Snapshot, v0_2_0::types::PluginError>,
        lines: u64,
        bytes: u64,
    ) -> Result<Snapshot, CallError> {
        let plugin = self.id();
        let wire = result.map_err(|e| v0_4_0::guest_error(plugin, e))?;
        let invalid = |message: String| CallError::InvalidResult {
            plugin: plugin.into(),
            message,
        };
        let strings = wire.strings.len();
        let snapshot = v0_4_0::snapshot(wire).map_err(|sym| {
            invalid(format!(
                "string index {sym} out of range ({strings} strings)"
            ))
        })?;
        let allowed = lines * RECORDS_PER_LINE + bytes / BYTES_PER_RECORD + 16;
        if snapshot.records() as u64 > allowed {
            return Err(invalid(format!(
                "{} records for {lines} input lines of {bytes} bytes",
                snapshot.records(),
            )));
        }
        crate::validate::snapshot(plugin, &snapshot)?;
        Ok(snapshot)
    }
}

pub(crate) enum Instance {
    Importer(v0_4_0::importer::Importer),
    Poller(v0_4_0::poller::Poller),
    ImporterV3(v0_3_0::importer::Importer),
    PollerV3(v0_3_0::poller::Poller),
    ImporterV2(v0_2_0::importer::Importer),
    PollerV2(v0_2_0::poller::Poller),
    ImporterV1(v0_1_0::importer::Importer),
    PollerV1(v0_1_0::poller::Poller),
}
