//! The plugins of a process, by id. Loading is all-or-nothing per plugin: a plugin that fails any
//! check is not registered, and the error says why.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, RwLock};

use crate::engine::PluginEngine;
use crate::error::{LoadError, ManifestError};
use crate::manifest::{Manifest, World};
use crate::plugin::LoadedPlugin;

/// How much of a file the host shows `sniff`.
pub const SNIFF_BYTES: usize = 4096;
/// Below this confidence a plugin does not claim a file.
const SNIFF_THRESHOLD: f32 = 0.5;

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
        let manifest = Manifest::read(&dir.join("plugin.toml"))?;
        let path = dir.join(&manifest.component);
        let component = std::fs::read(&path).map_err(|source| LoadError::Io {
            plugin: manifest.id.clone(),
            path: path.display().to_string(),
            source,
        })?;
        self.insert(LoadedPlugin::load(&self.engine, manifest, &component)?)
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
    /// A plugin whose `sniff` fails is skipped (and logged), never fatal.
    pub fn detect(&self, world: World, head: &[u8]) -> Option<(Arc<LoadedPlugin>, f32)> {
        let head = &head[..head.len().min(SNIFF_BYTES)];
        self.list()
            .into_iter()
            .filter(|p| p.manifest.world == world)
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
