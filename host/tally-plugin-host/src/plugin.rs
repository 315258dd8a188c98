//! A loaded plugin: its manifest, its compiled component pre-linked for fast instantiation, and
//! what it said about itself.

use std::sync::Arc;

use crate::capabilities::Capabilities;
use crate::engine::PluginEngine;
use crate::error::{CallError, LoadError};
use crate::import::{BYTES_PER_RECORD, RECORDS_PER_LINE};
use crate::manifest::{Manifest, World};
use crate::since_v0_1_0 as v0_1_0;
use tally_core::Snapshot;

/// What a plugin's `describe` returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginInfo {
    pub name: String,
    pub version: String,
    pub formats: Vec<String>,
}

/// The component, instantiated cheaply per call through its `InstancePre`.
pub(crate) enum Pre {
    Importer(v0_1_0::importer::ImporterPre<crate::engine::HostState>),
    Poller(v0_1_0::poller::PollerPre<crate::engine::HostState>),
}

pub struct LoadedPlugin {
    pub manifest: Manifest,
    pub info: PluginInfo,
    /// The WIT track the component speaks.
    pub track: semver::Version,
    /// Hex sha256 of the component (checked against the manifest's).
    pub sha256: String,
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
        let compiled = engine.compile(component).map_err(|e| LoadError::Compile {
            plugin: plugin.clone(),
            message: format!("{e:#}"),
        })?;

        let exports: Vec<String> = compiled
            .component_type()
            .exports(engine.engine())
            .map(|(name, _)| name.to_string())
            .filter(|name| name.starts_with("tally:plugin/"))
            .collect();
        let (world, track) = match exports
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .as_slice()
        {
            [v0_1_0::IMPORTER_EXPORT] => (World::Importer, v0_1_0::TRACK),
            [v0_1_0::POLLER_EXPORT] => (World::Poller, v0_1_0::TRACK),
            _ => {
                let found = if exports.is_empty() {
                    "no tally:plugin interface".to_string()
                } else {
                    exports.join(", ")
                };
                let supported = format!("{} or {}", v0_1_0::IMPORTER_EXPORT, v0_1_0::POLLER_EXPORT);
                return Err(LoadError::UnsupportedTrack {
                    plugin,
                    found,
                    supported,
                });
            }
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
        let pre = match world {
            World::Importer => {
                Pre::Importer(v0_1_0::importer::ImporterPre::new(instance_pre).map_err(link_err)?)
            }
            World::Poller => {
                Pre::Poller(v0_1_0::poller::PollerPre::new(instance_pre).map_err(link_err)?)
            }
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
        let mut store = self.engine.store(self.id(), self.manifest.limits);
        PluginEngine::arm(&mut store);
        let instance = match &self.pre {
            Pre::Importer(pre) => pre.instantiate(&mut store).map(Instance::Importer),
            Pre::Poller(pre) => pre.instantiate(&mut store).map(Instance::Poller),
        }
        .map_err(|e| PluginEngine::classify(&store, &e))?;
        f(&mut store, &self.pre, &instance).map_err(|e| PluginEngine::classify(&store, &e))
    }

    fn describe(&self) -> Result<PluginInfo, CallError> {
        self.with_instance(|store, _, instance| match instance {
            Instance::Importer(i) => i
                .tally_plugin_log_importer()
                .call_describe(store)
                .map(Into::into),
            Instance::Poller(p) => p
                .tally_plugin_status_poller()
                .call_describe(store)
                .map(Into::into),
        })
    }

    /// How sure the plugin is that a file starting with `head` is in its format (0.0–1.0).
    pub fn sniff(&self, head: &[u8]) -> Result<f32, CallError> {
        let confidence = self.health.call(self.id(), || {
            self.with_instance(|store, _, instance| match instance {
                Instance::Importer(i) => i.tally_plugin_log_importer().call_sniff(store, head),
                Instance::Poller(p) => p.tally_plugin_status_poller().call_sniff(store, head),
            })
        })?;
        if confidence.is_finite() {
            Ok(confidence.clamp(0.0, 1.0))
        } else {
            Ok(0.0)
        }
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
                .tally_plugin_status_poller()
                .call_parse_status(store, output, now)
                .map(Some),
            Instance::Importer(_) => Ok(None),
        })?;
        // An importer is refused by the host: no guest call, nothing counted.
        let Some(result) = result else {
            return Err(CallError::Unavailable {
                plugin: plugin.into(),
                message: "it is an importer, not a poller".into(),
            });
        };
        let wire = result.map_err(|e| v0_1_0::poller_error(plugin, e))?;
        let invalid = |message: String| CallError::InvalidResult {
            plugin: plugin.into(),
            message,
        };
        let strings = wire.strings.len();
        let snapshot = v0_1_0::snapshot(wire).map_err(|sym| {
            invalid(format!(
                "string index {sym} out of range ({strings} strings)"
            ))
        })?;
        let lines = output.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
        let allowed = lines * RECORDS_PER_LINE + output.len() as u64 / BYTES_PER_RECORD + 16;
        if snapshot.records() as u64 > allowed {
            return Err(invalid(format!(
                "{} records for {lines} output lines of {} bytes",
                snapshot.records(),
                output.len()
            )));
        }
        crate::validate::snapshot(plugin, &snapshot)?;
        Ok(snapshot)
    }
}

pub(crate) enum Instance {
    Importer(v0_1_0::importer::Importer),
    Poller(v0_1_0::poller::Poller),
}
