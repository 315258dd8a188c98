//! The plugins of a process, by id, and how each has behaved. Loading is all-or-nothing per
//! plugin: a plugin that fails any check is not registered, and the error says why. A plugin
//! that traps [`QUARANTINE_AFTER`] times in a row is quarantined until it is reloaded.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use serde::Serialize;

use crate::engine::PluginEngine;
use crate::error::{CallError, LoadError, ManifestError};
use crate::manifest::{Manifest, World};
use crate::plugin::LoadedPlugin;

/// How much of a file the host shows `sniff`.
pub const SNIFF_BYTES: usize = 4096;
/// Below this confidence a plugin does not claim a file.
const SNIFF_THRESHOLD: f32 = 0.5;
/// Traps in a row (deadline, memory, stack, panic, invalid result) that quarantine a plugin:
/// one can be bad luck with a huge input, three is a plugin that should not keep running.
pub const QUARANTINE_AFTER: u32 = 3;

/// What `tally plugin list` and the API show of a plugin's behaviour.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PluginHealth {
    /// Traps since the last call that returned (a value or the guest's own error).
    pub consecutive_traps: u32,
    /// Why new calls are refused (the last trap), until the plugin is reloaded.
    pub quarantined: Option<String>,
}

/// The live counterpart of [`PluginHealth`], one per [`LoadedPlugin`]: a reload starts afresh.
/// Every call into a guest goes through [`Health::call`] (or [`Health::admit`] and
/// [`Health::record`] when it spans an instance, like an import run).
#[derive(Debug, Default)]
pub(crate) struct Health {
    consecutive_traps: AtomicU32,
    quarantine: OnceLock<String>,
}

impl Health {
    /// Refuses a call into a quarantined plugin.
    pub(crate) fn admit(&self, plugin: &str) -> Result<(), CallError> {
        match self.quarantine.get() {
            Some(reason) => Err(CallError::Quarantined {
                plugin: plugin.into(),
                reason: reason.clone(),
            }),
            None => Ok(()),
        }
    }

    /// Counts the outcome of a call and passes it on. A trap adds one (the last allowed one
    /// quarantines); a value or the guest's own error resets the count; a refusal by the host
    /// (quarantine, instance already gone) never reached the guest and counts for nothing.
    pub(crate) fn record<R>(
        &self,
        plugin: &str,
        result: Result<R, CallError>,
    ) -> Result<R, CallError> {
        if self.quarantine.get().is_some() {
            return result;
        }
        match &result {
            Err(error) if error.is_trap() => {
                let traps = self.consecutive_traps.fetch_add(1, Ordering::Relaxed) + 1;
                if traps >= QUARANTINE_AFTER && self.quarantine.set(error.without_plugin()).is_ok()
                {
                    tracing::error!(plugin, traps, %error, "plugin quarantined until reloaded");
                }
            }
            Ok(_)
            | Err(
                CallError::BadInput { .. }
                | CallError::Unsupported { .. }
                | CallError::Internal { .. },
            ) => self.consecutive_traps.store(0, Ordering::Relaxed),
            Err(_) => {}
        }
        result
    }

    /// Runs one call into the guest unless the plugin is quarantined, and counts its outcome.
    pub(crate) fn call<R>(
        &self,
        plugin: &str,
        f: impl FnOnce() -> Result<R, CallError>,
    ) -> Result<R, CallError> {
        self.admit(plugin)?;
        self.record(plugin, f())
    }

    pub(crate) fn is_quarantined(&self) -> bool {
        self.quarantine.get().is_some()
    }

    fn snapshot(&self) -> PluginHealth {
        PluginHealth {
            consecutive_traps: self.consecutive_traps.load(Ordering::Relaxed),
            quarantined: self.quarantine.get().cloned(),
        }
    }
}

impl LoadedPlugin {
    /// How the plugin has behaved since it was loaded.
    pub fn health(&self) -> PluginHealth {
        self.health.snapshot()
    }
}

#[derive(Debug)]
pub struct Registry {
    engine: PluginEngine,
    plugins: RwLock<BTreeMap<String, Arc<LoadedPlugin>>>,
}

impl Registry {
    pub fn new(engine: PluginEngine) -> Registry {
        Registry {
            engine,
            plugins: RwLock::new(BTreeMap::new()),
        }
    }

    /// Loads a plugin from its manifest text and component bytes (used for built-in plugins).
    pub fn add(
        &self,
        manifest: &str,
        origin: &str,
        component: &[u8],
    ) -> Result<Arc<LoadedPlugin>, LoadError> {
        let manifest = Manifest::parse(manifest, origin)?;
        self.insert(LoadedPlugin::load(&self.engine, manifest, component)?)
    }

    /// Loads the plugin in `dir` (a `plugin.toml` and the component it names).
    pub fn add_dir(&self, dir: &Path) -> Result<Arc<LoadedPlugin>, LoadError> {
        self.insert(self.load_dir(dir)?)
    }

    /// Loads the plugin in `dir` again, in place of the one with its id: a fresh instance
    /// pool and a clean health record (this is how a quarantine ends). Calls already running
    /// finish on the old one. If the new one fails to load, the old one stays.
    pub fn reload_dir(&self, dir: &Path) -> Result<Arc<LoadedPlugin>, LoadError> {
        let plugin = self.load_dir(dir)?;
        self.plugins
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(plugin.id().into(), plugin.clone());
        Ok(plugin)
    }

    fn load_dir(&self, dir: &Path) -> Result<Arc<LoadedPlugin>, LoadError> {
        let manifest = Manifest::read(&dir.join("plugin.toml"))?;
        let path = dir.join(&manifest.component);
        let component = std::fs::read(&path).map_err(|source| LoadError::Io {
            plugin: manifest.id.clone(),
            path: path.display().to_string(),
            source,
        })?;
        LoadedPlugin::load(&self.engine, manifest, &component)
    }

    /// Loads every plugin directory under `root`. One bad plugin does not stop the others: its
    /// error is returned beside the ones that loaded.
    pub fn add_all(&self, root: &Path) -> (Vec<Arc<LoadedPlugin>>, Vec<LoadError>) {
        let mut loaded = Vec::new();
        let mut errors = Vec::new();
        let entries = match std::fs::read_dir(root) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return (loaded, errors),
            Err(source) => {
                errors.push(LoadError::Manifest(ManifestError::Io {
                    origin: root.display().to_string(),
                    source,
                }));
                return (loaded, errors);
            }
        };
        let mut dirs: Vec<_> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.join("plugin.toml").is_file())
            .collect();
        dirs.sort();
        for dir in dirs {
            match self.add_dir(&dir) {
                Ok(plugin) => loaded.push(plugin),
                Err(e) => errors.push(e),
            }
        }
        (loaded, errors)
    }

    fn insert(&self, plugin: Arc<LoadedPlugin>) -> Result<Arc<LoadedPlugin>, LoadError> {
        let mut plugins = self.plugins.write().unwrap_or_else(|p| p.into_inner());
        if plugins.contains_key(plugin.id()) {
            return Err(LoadError::Duplicate(plugin.id().into()));
        }
        plugins.insert(plugin.id().into(), plugin.clone());
        Ok(plugin)
    }

    pub fn get(&self, id: &str) -> Option<Arc<LoadedPlugin>> {
        self.plugins
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .cloned()
    }

    /// How the plugin `id` has behaved since it was (re)loaded.
    pub fn health(&self, id: &str) -> Option<PluginHealth> {
        self.get(id).map(|p| p.health())
    }

    /// All plugins, by id.
    pub fn list(&self) -> Vec<Arc<LoadedPlugin>> {
        self.plugins
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect()
    }

    /// Every format id the plugins of `world` read, sorted.
    pub fn formats(&self, world: World) -> Vec<String> {
        let mut formats: Vec<String> = self
            .list()
            .iter()
            .filter(|p| p.manifest.world == world)
            .flat_map(|p| p.manifest.formats.clone())
            .collect();
        formats.sort();
        formats.dedup();
        formats
    }

    /// The plugin of `world` that reads `format`.
    pub fn for_format(&self, world: World, format: &str) -> Option<Arc<LoadedPlugin>> {
        self.list()
            .into_iter()
            .find(|p| p.manifest.world == world && p.manifest.formats.iter().any(|f| f == format))
    }

    /// The plugin of `world` most sure that `head` is its format, if any is sure enough.
    /// A plugin whose `sniff` fails is skipped (and logged), never fatal; a quarantined one is
    /// not asked.
    pub fn detect(&self, world: World, head: &[u8]) -> Option<(Arc<LoadedPlugin>, f32)> {
        let head = &head[..head.len().min(SNIFF_BYTES)];
        self.list()
            .into_iter()
            .filter(|p| p.manifest.world == world && !p.health.is_quarantined())
            .filter_map(|p| match p.sniff(head) {
                Ok(confidence) => Some((p, confidence)),
                Err(error) => {
                    tracing::warn!(%error, "sniff failed");
                    None
                }
            })
            .filter(|(_, confidence)| *confidence >= SNIFF_THRESHOLD)
            .max_by(|a, b| a.1.total_cmp(&b.1))
    }
}

#[cfg(test)]
mod tests {
    use super::{Health, PluginHealth, QUARANTINE_AFTER};
    use crate::error::CallError;

    fn panic() -> Result<(), CallError> {
        Err(CallError::Panic {
            plugin: "p".into(),
            message: "src/lib.rs:1:1: boom".into(),
        })
    }

    fn health(h: &Health) -> (u32, Option<String>) {
        let PluginHealth {
            consecutive_traps,
            quarantined,
        } = h.snapshot();
        (consecutive_traps, quarantined)
    }

    #[test]
    fn traps_in_a_row_quarantine_and_answers_reset() {
        let h = Health::default();
        for _ in 1..QUARANTINE_AFTER {
            assert!(h.call("p", panic).is_err());
        }
        assert_eq!(health(&h), (QUARANTINE_AFTER - 1, None));
        // The guest's own refusal is an answer: the instance works.
        let refused = h.call("p", || -> Result<(), _> {
            Err(CallError::BadInput {
                plugin: "p".into(),
                message: "not mine".into(),
            })
        });
        assert!(refused.is_err());
        assert_eq!(health(&h), (0, None));
        // A refusal by the host never reached the guest.
        assert!(h.call("p", panic).is_err());
        let gone = h.call("p", || -> Result<(), _> {
            Err(CallError::Unavailable {
                plugin: "p".into(),
                message: "gone".into(),
            })
        });
        assert!(gone.is_err());
        assert_eq!(health(&h), (1, None));

        assert_eq!(h.call("p", || Ok(7)), Ok(7));
        assert_eq!(health(&h), (0, None));
        for _ in 0..QUARANTINE_AFTER {
            assert!(h.call("p", panic).is_err());
        }
        assert_eq!(
            health(&h),
            (
                QUARANTINE_AFTER,
                Some("panicked at src/lib.rs:1:1: boom".into())
            )
        );
        let mut called = false;
        let refused = h.call("p", || {
            called = true;
            Ok(())
        });
        assert!(!called);
        assert_eq!(
            refused.map_err(|e| e.to_string()),
            Err("plugin `p` is quarantined after 3 traps in a row (the last: panicked at src/lib.rs:1:1: boom); reload it to use it again".into())
        );
    }
}
