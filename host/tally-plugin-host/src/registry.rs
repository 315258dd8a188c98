//! The plugins of a process, by id, and how each has behaved. Loading is all-or-nothing per
//! plugin: a plugin that fails any check is not registered, and the error says why. A plugin
//! that traps [`QUARANTINE_AFTER`] times in a row is quarantined until it is reloaded.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use serde::{Deserialize, Serialize};

use crate::capabilities::{Capabilities, Grants};
use crate::engine::PluginEngine;
use crate::error::{CallError, LoadError, ManifestError};
use crate::manifest::{Manifest, World};
use crate::plugin::{LoadedPlugin, Sniff};

/// How much of a file the host shows `sniff`.
pub const SNIFF_BYTES: usize = 4096;
/// Below this confidence a plugin does not claim a file.
const SNIFF_THRESHOLD: f32 = 0.5;
/// Traps in a row (deadline, memory, stack, panic, invalid result) that quarantine a plugin:
/// one can be bad luck with a huge input, three is a plugin that should not keep running.
pub const QUARANTINE_AFTER: u32 = 3;

/// What `tally plugin list` and the API show of a plugin's behaviour.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginHealth {
    /// Calls that returned a value (what `plugin list` shows as "answered").
    pub answers: u64,
    /// Traps since the last call that returned (a value or the guest's own error).
    pub consecutive_traps: u32,
    /// Why new calls are refused (the last trap), until the plugin is reloaded.
    pub quarantined: Option<String>,
    /// Every trap since it was loaded (for `/metrics`).
    #[serde(default)]
    pub traps: u64,
}

impl PluginHealth {
    /// One word or phrase for a table: `ok`, `2 traps in a row`, `quarantined`.
    pub fn summary(&self) -> String {
        match (&self.quarantined, self.consecutive_traps) {
            (Some(_), _) => "quarantined".into(),
            (None, 0) => "ok".into(),
            (None, 1) => "1 trap".into(),
            (None, n) => format!("{n} traps in a row"),
        }
    }
}

/// The live counterpart of [`PluginHealth`], one per [`LoadedPlugin`]: a reload starts afresh.
/// Every call into a guest goes through [`Health::call`] (or [`Health::admit`] and
/// [`Health::record`] when it spans an instance, like an import run).
#[derive(Debug, Default)]
pub(crate) struct Health {
    answers: AtomicU64,
    traps: AtomicU64,
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
                self.traps.fetch_add(1, Ordering::Relaxed);
                let traps = self.consecutive_traps.fetch_add(1, Ordering::Relaxed) + 1;
                if traps >= QUARANTINE_AFTER && self.quarantine.set(error.without_plugin()).is_ok()
                {
                    tracing::error!(plugin, traps, %error, "plugin quarantined until reloaded");
                }
            }
            Ok(_) => {
                self.answers.fetch_add(1, Ordering::Relaxed);
                self.consecutive_traps.store(0, Ordering::Relaxed);
            }
            Err(
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
            answers: self.answers.load(Ordering::Relaxed),
            consecutive_traps: self.consecutive_traps.load(Ordering::Relaxed),
            quarantined: self.quarantine.get().cloned(),
            traps: self.traps.load(Ordering::Relaxed),
        }
    }
}

impl LoadedPlugin {
    /// How the plugin has behaved since it was loaded.
    pub fn health(&self) -> PluginHealth {
        self.health.snapshot()
    }
}

/// Where a registered plugin came from: what `reload` reads again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Compiled into the binary.
    Builtin,
    /// A directory holding `plugin.toml` and the component.
    Dir(PathBuf),
}

/// One registered plugin.
#[derive(Debug, Clone)]
pub struct Entry {
    pub plugin: Arc<LoadedPlugin>,
    pub source: Source,
    /// A disabled plugin stays listed but takes no new calls.
    pub enabled: bool,
}

/// The plugins of a process, swapped atomically: readers take a snapshot of the whole map (an
/// `Arc`), writers build a new map and put it in place. A call holds its plugin's `Arc`, so it
/// finishes on the version it started with while new calls get the new one.
#[derive(Debug)]
pub struct Registry {
    engine: PluginEngine,
    grants: RwLock<Grants>,
    plugins: RwLock<Arc<BTreeMap<String, Entry>>>,
    /// Ids of the plugins built into the binary (whether or not the operator replaced one
    /// with a plugin of the same id: that is the operator's choice).
    first_party: RwLock<BTreeSet<String>>,
    /// Format id → the plugin the operator chose for it.
    chosen: RwLock<BTreeMap<String, String>>,
}

impl Registry {
    pub fn new(engine: PluginEngine) -> Registry {
        Registry {
            engine,
            grants: RwLock::default(),
            plugins: RwLock::default(),
            first_party: RwLock::default(),
            chosen: RwLock::default(),
        }
    }

    /// Says which plugin ids are built into the binary (before plugins replacing them load).
    /// [`Registry::add`] records the built-ins it loads itself.
    pub fn set_first_party<'a>(&self, ids: impl IntoIterator<Item = &'a str>) {
        let mut first_party = self.first_party.write().unwrap_or_else(|p| p.into_inner());
        first_party.extend(ids.into_iter().map(String::from));
    }

    /// Whether `id` is a built-in plugin's id.
    pub fn is_first_party(&self, id: &str) -> bool {
        self.first_party
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .contains(id)
    }

    /// The operator's choice: plugin `id` reads `format`, even where a built-in plugin reads
    /// it too. Without a choice, a built-in reader of a format wins over installed ones.
    pub fn choose(&self, format: &str, id: &str) {
        self.chosen
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(format.into(), id.into());
    }

    /// The plugin the operator chose for `format`, if any.
    fn chosen(&self, format: &str) -> Option<String> {
        self.chosen
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(format)
            .cloned()
    }

    /// The operator's grants for plugins loaded from directories from now on.
    pub fn set_grants(&self, grants: Grants) {
        *self.grants.write().unwrap_or_else(|p| p.into_inner()) = grants;
    }

    /// Loads a built-in plugin from its manifest text and component bytes: it is granted the
    /// commands its manifest needs (the operator ships it by running this binary), nothing else.
    pub fn load_builtin(
        &self,
        manifest: &str,
        origin: &str,
        component: &[u8],
    ) -> Result<Arc<LoadedPlugin>, LoadError> {
        let manifest = Manifest::parse(manifest, origin)?;
        let granted = Capabilities {
            commands: manifest.needs().commands,
            http: vec![],
        };
        LoadedPlugin::load(&self.engine, manifest, component, &granted)
    }

    /// Loads a plugin under the operator's grants, without registering it.
    pub fn load(
        &self,
        manifest: Manifest,
        component: &[u8],
    ) -> Result<Arc<LoadedPlugin>, LoadError> {
        let granted = self
            .grants
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .of(&manifest.id);
        LoadedPlugin::load(&self.engine, manifest, component, &granted)
    }

    /// Loads the plugin in `dir` (a `plugin.toml` and the component it names), unregistered.
    pub fn load_dir(&self, dir: &Path) -> Result<Arc<LoadedPlugin>, LoadError> {
        let manifest = Manifest::read(&dir.join("plugin.toml"))?;
        let path = dir.join(&manifest.component);
        let component = std::fs::read(&path).map_err(|source| LoadError::Io {
            plugin: manifest.id.clone(),
            path: path.display().to_string(),
            source,
        })?;
        self.load(manifest, &component)
    }

    /// Loads and registers a built-in plugin (see [`Registry::load_builtin`]).
    pub fn add(
        &self,
        manifest: &str,
        origin: &str,
        component: &[u8],
    ) -> Result<Arc<LoadedPlugin>, LoadError> {
        let plugin = self.load_builtin(manifest, origin, component)?;
        self.set_first_party([plugin.id()]);
        self.insert_new(plugin, Source::Builtin)
    }

    /// Loads and registers the plugin in `dir`.
    pub fn add_dir(&self, dir: &Path) -> Result<Arc<LoadedPlugin>, LoadError> {
        let plugin = self.load_dir(dir)?;
        self.insert_new(plugin, Source::Dir(dir.to_path_buf()))
    }

    /// Loads the plugin in `dir` again, in place of the one with its id: a fresh instance
    /// pool and a clean health record (this is how a quarantine ends). Calls already running
    /// finish on the old one. If the new one fails to load, the old one stays.
    pub fn reload_dir(&self, dir: &Path) -> Result<Arc<LoadedPlugin>, LoadError> {
        let plugin = self.load_dir(dir)?;
        self.put(plugin.clone(), Source::Dir(dir.to_path_buf()));
        Ok(plugin)
    }

    /// Loads every plugin directory under `root` (hidden ones are an install in progress).
    /// One bad plugin does not stop the others: its error is returned beside the ones that
    /// loaded.
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
            .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
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

    fn insert_new(
        &self,
        plugin: Arc<LoadedPlugin>,
        source: Source,
    ) -> Result<Arc<LoadedPlugin>, LoadError> {
        let mut plugins = self.plugins.write().unwrap_or_else(|p| p.into_inner());
        if plugins.contains_key(plugin.id()) {
            return Err(LoadError::Duplicate(plugin.id().into()));
        }
        let mut next = BTreeMap::clone(&plugins);
        next.insert(plugin.id().into(), entry(plugin.clone(), source, true));
        *plugins = Arc::new(next);
        Ok(plugin)
    }

    /// Registers `plugin`, replacing the one with its id (which keeps its enabled state) in one
    /// step. Returns the replaced entry.
    pub fn put(&self, plugin: Arc<LoadedPlugin>, source: Source) -> Option<Entry> {
        self.change(|map| {
            let enabled = map.get(plugin.id()).is_none_or(|e| e.enabled);
            map.insert(plugin.id().into(), entry(plugin, source, enabled))
        })
    }

    /// Unregisters plugin `id`; calls in flight finish.
    pub fn remove(&self, id: &str) -> Option<Entry> {
        self.change(|map| map.remove(id))
    }

    /// Lets plugin `id` take new calls or not. False if there is no such plugin.
    pub fn set_enabled(&self, id: &str, enabled: bool) -> bool {
        self.change(|map| map.get_mut(id).map(|e| e.enabled = enabled).is_some())
    }

    fn change<R>(&self, f: impl FnOnce(&mut BTreeMap<String, Entry>) -> R) -> R {
        let mut plugins = self.plugins.write().unwrap_or_else(|p| p.into_inner());
        let mut next = BTreeMap::clone(&plugins);
        let result = f(&mut next);
        *plugins = Arc::new(next);
        result
    }

    /// Every registered plugin, enabled or not, as of now.
    pub fn entries(&self) -> Arc<BTreeMap<String, Entry>> {
        self.plugins
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn entry(&self, id: &str) -> Option<Entry> {
        self.entries().get(id).cloned()
    }

    /// The enabled plugin `id`.
    pub fn get(&self, id: &str) -> Option<Arc<LoadedPlugin>> {
        self.entry(id).filter(|e| e.enabled).map(|e| e.plugin)
    }

    /// How the plugin `id` has behaved since it was (re)loaded.
    pub fn health(&self, id: &str) -> Option<PluginHealth> {
        self.entry(id).map(|e| e.plugin.health())
    }

    /// The enabled plugins, by id.
    pub fn list(&self) -> Vec<Arc<LoadedPlugin>> {
        self.entries()
            .values()
            .filter(|e| e.enabled)
            .map(|e| e.plugin.clone())
            .collect()
    }

    /// Every format id the enabled plugins of `world` read, sorted.
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

    /// The enabled plugin of `world` that reads `format`: the one the operator chose for it,
    /// else a built-in one, else the first installed one by id.
    pub fn for_format(&self, world: World, format: &str) -> Option<Arc<LoadedPlugin>> {
        let readers: Vec<Arc<LoadedPlugin>> = self
            .list()
            .into_iter()
            .filter(|p| p.manifest.world == world && p.manifest.formats.iter().any(|f| f == format))
            .collect();
        let chosen = self.chosen(format);
        let rank = |p: &LoadedPlugin| {
            (
                chosen.as_deref() != Some(p.id()),
                !self.is_first_party(p.id()),
            )
        };
        readers.into_iter().min_by_key(|p| rank(p))
    }

    /// The plugin of `world` most sure that `head` is one of its formats, if any is sure
    /// enough, with the format it named. Built-in plugins are asked first, and one that claims
    /// the file wins: an installed plugin cannot take a built-in format's files (by claiming
    /// every file, say) unless the operator chose it for that format ([`Registry::choose`]),
    /// and a slow installed `sniff` does not delay them. A plugin whose `sniff` fails is
    /// skipped (and logged), never fatal; a quarantined one is not asked.
    pub fn detect(&self, world: World, head: &[u8]) -> Option<(Arc<LoadedPlugin>, Sniff)> {
        self.try_detect(world, head).unwrap_or_else(|error| {
            tracing::warn!(%error, "cannot detect the format");
            None
        })
    }

    /// [`Registry::detect`], but when no plugin claimed the file and one could not be asked
    /// for want of a free instance, that is the answer ([`CallError::Busy`]): the file may
    /// well be in a known format, and the caller should try again later rather than say it
    /// is not.
    pub fn try_detect(
        &self,
        world: World,
        head: &[u8],
    ) -> Result<Option<(Arc<LoadedPlugin>, Sniff)>, CallError> {
        let head = &head[..head.len().min(SNIFF_BYTES)];
        let (first_party, installed): (Vec<_>, Vec<_>) = self
            .list()
            .into_iter()
            .filter(|p| p.manifest.world == world && !p.health.is_quarantined())
            .partition(|p| self.is_first_party(p.id()));
        let best = |plugins: Vec<Arc<LoadedPlugin>>| {
            let mut busy = None;
            let found = plugins
                .into_iter()
                .filter_map(|p| match p.sniff(head) {
                    Ok(sniffed) => Some((p, sniffed?)),
                    Err(error) if error.is_busy() => {
                        busy = Some(error);
                        None
                    }
                    Err(error) => {
                        tracing::warn!(%error, "sniff failed");
                        None
                    }
                })
                .filter(|(_, sniffed)| sniffed.confidence >= SNIFF_THRESHOLD)
                .max_by(|a, b| a.1.confidence.total_cmp(&b.1.confidence));
            match (found, busy) {
                (Some(found), _) => Ok(Some(found)),
                (None, Some(busy)) => Err(busy),
                (None, None) => Ok(None),
            }
        };
        // A built-in that could not be asked might have claimed the file: no installed
        // plugin gets it meanwhile.
        let Some(found) = best(first_party)?.map_or_else(|| best(installed), |f| Ok(Some(f)))?
        else {
            return Ok(None);
        };
        // A format the operator gave to another plugin is read by that one.
        Ok(match self.chosen(&found.1.format) {
            Some(id) if id != found.0.id() => {
                let format = &found.1.format;
                self.get(&id)
                    .filter(|p| p.manifest.world == world && p.manifest.formats.contains(format))
                    .map(|chosen| (chosen, found.1))
            }
            _ => Some(found),
        })
    }
}

fn entry(plugin: Arc<LoadedPlugin>, source: Source, enabled: bool) -> Entry {
    Entry {
        plugin,
        source,
        enabled,
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
            ..
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
