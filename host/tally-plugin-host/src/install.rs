//! The operator's plugin directory and the registry it feeds. Every change (add, remove,
//! reload, enable, disable) is made here, the same way for the server's admin API and the
//! offline CLI, and written to the audit log with who made it.
//!
//! ```text
//! <plugin dir>/
//!   grants.toml        the operator's capability grants (read, never written, by Tally)
//!   state.toml         disabled = ["id", …] (written by enable/disable)
//!   <id>/plugin.toml   one directory per installed plugin, with its component
//! ```
//!
//! A new version is fully loaded (hash, grants, compile, link, describe) before anything on
//! disk or in the registry changes; if it fails, the old version keeps running.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::audit::{AuditEntry, AuditLog};
use crate::capabilities::{Capabilities, Grants};
use crate::error::{LoadError, ManifestError};
use crate::manifest::{Manifest, sha256_hex};
use crate::registry::{Entry, PluginHealth, Registry, Source};

/// A plugin compiled into the binary.
#[derive(Debug, Clone, Copy)]
pub struct Builtin {
    pub id: &'static str,
    /// The packaged `plugin.toml` (with the component's sha256).
    pub manifest: &'static str,
    pub component: &'static [u8],
}

/// A plugin as `tally plugin list` and the admin API show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PluginView {
    pub id: String,
    pub version: String,
    pub world: String,
    pub wit: String,
    pub manager: String,
    pub formats: Vec<String>,
    pub description: String,
    pub sha256: String,
    /// `built-in`, or the directory it was loaded from.
    pub source: String,
    pub enabled: bool,
    /// What it needs granted (and was granted, since it loaded).
    pub needs: Capabilities,
    pub health: PluginHealth,
}

impl PluginView {
    pub fn of(entry: &Entry) -> PluginView {
        let p = &entry.plugin;
        let m = &p.manifest;
        PluginView {
            id: m.id.clone(),
            version: m.version.to_string(),
            world: m.world.as_str().into(),
            wit: p.track.to_string(),
            manager: m.manager().into(),
            formats: m.formats.clone(),
            description: m.description.clone(),
            sha256: p.sha256.clone(),
            source: match &entry.source {
                Source::Builtin => "built-in".into(),
                Source::Dir(dir) => dir.display().to_string(),
            },
            enabled: entry.enabled,
            needs: m.needs(),
            health: p.health(),
        }
    }
}

/// Why a change was refused; the running plugins are as they were.
#[derive(Debug, Error)]
pub enum ChangeError {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error("no plugin is called `{0}`")]
    NotFound(String),
    #[error("plugin `{0}` is built in and cannot be removed (disable it instead)")]
    Builtin(String),
    #[error("{0}")]
    Io(String),
}

/// A plugin as shipped: its `plugin.toml` text and its component.
#[derive(Debug, Clone)]
pub struct Package {
    pub manifest: String,
    pub component: Vec<u8>,
}

impl Package {
    /// Reads a plugin directory, or the `plugin.toml` (or the component) inside one.
    ///
    /// A plugin crate's own `plugin.toml` (as `tally plugin new` writes it) names no
    /// `component`: it is packaged with the component cargo built, see [`Package::built`].
    pub fn read(path: &Path) -> Result<Package, ChangeError> {
        let manifest_path = if path.is_dir() {
            path.join("plugin.toml")
        } else if path.extension().is_some_and(|e| e == "toml") {
            path.to_path_buf()
        } else {
            path.with_file_name("plugin.toml")
        };
        let manifest =
            std::fs::read_to_string(&manifest_path).map_err(|e| io(&manifest_path, e))?;
        let origin = manifest_path.display().to_string();
        let table: toml::Table = manifest.parse().map_err(|e: toml::de::Error| {
            LoadError::from(ManifestError::Syntax {
                origin: origin.clone(),
                message: e.to_string(),
            })
        })?;
        if !table.contains_key("component") {
            let target_dir = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from);
            return Package::built(&manifest_path, table, target_dir);
        }
        let parsed = Manifest::parse(&manifest, &manifest_path.display().to_string())
            .map_err(LoadError::from)?;
        let component_path = manifest_path.with_file_name(&parsed.component);
        let component = std::fs::read(&component_path).map_err(|e| io(&component_path, e))?;
        Ok(Package {
            manifest,
            component,
        })
    }

    /// A plugin crate's `plugin.toml` with the component cargo built for it: in `target_dir`
    /// (`$CARGO_TARGET_DIR`; else `target/` beside the manifest), `wasm32-wasip2/release/` and
    /// the package name with `_` for `-`, `.wasm`. Fills in `component` and `sha256`, so an
    /// author's manifest never holds a hash that goes stale with every build.
    fn built(
        manifest_path: &Path,
        mut manifest: toml::Table,
        target_dir: Option<PathBuf>,
    ) -> Result<Package, ChangeError> {
        let dir = match manifest_path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let cargo_path = dir.join("Cargo.toml");
        let package = std::fs::read_to_string(&cargo_path)
            .ok()
            .and_then(|text| text.parse::<toml::Table>().ok())
            .and_then(|cargo| Some(cargo.get("package")?.get("name")?.as_str()?.to_string()))
            .ok_or_else(|| {
                ChangeError::Io(format!(
                    "{} names no `component`, and {} names no cargo package to find it by: \
                     give the manifest `component` and `sha256`, or add a plugin crate's directory",
                    manifest_path.display(),
                    cargo_path.display()
                ))
            })?;
        let target = target_dir.unwrap_or_else(|| dir.join("target"));
        let file = format!("{}.wasm", package.replace('-', "_"));
        let component_path = target.join("wasm32-wasip2/release").join(&file);
        let component = std::fs::read(&component_path).map_err(|e| {
            ChangeError::Io(format!(
                "cannot read the component {}: {e}; build it first with \
                 `cargo build --release --target wasm32-wasip2` in {}",
                component_path.display(),
                dir.display()
            ))
        })?;
        manifest.insert("component".into(), file.into());
        manifest.insert("sha256".into(), sha256_hex(&component).into());
        let manifest = toml::to_string(&manifest)
            .map_err(|e| ChangeError::Io(format!("cannot write the packaged manifest: {e}")))?;
        Manifest::parse(&manifest, &manifest_path.display().to_string())
            .map_err(LoadError::from)?;
        Ok(Package {
            manifest,
            component,
        })
    }
}

fn io(what: &Path, e: std::io::Error) -> ChangeError {
    ChangeError::Io(format!("cannot read {}: {e}", what.display()))
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct State {
    #[serde(default)]
    disabled: BTreeSet<String>,
}

#[derive(Debug)]
pub struct PluginDir {
    root: PathBuf,
    registry: Arc<Registry>,
    builtins: Vec<Builtin>,
    audit: AuditLog,
    /// One change at a time: each reads and writes the directory.
    changing: Mutex<()>,
}

impl PluginDir {
    /// Loads the plugins installed under `root`, then the built-ins none of them replaces, and
    /// applies the grants and disabled list. Plugins that fail are left out; their errors are
    /// returned for the caller to report.
    pub fn open(
        root: &Path,
        registry: Arc<Registry>,
        builtins: &[Builtin],
        audit: AuditLog,
    ) -> (PluginDir, Vec<LoadError>) {
        let dir = PluginDir {
            root: root.to_path_buf(),
            registry,
            builtins: builtins.to_vec(),
            audit,
            changing: Mutex::new(()),
        };
        let mut errors = vec![];
        if let Err(e) = dir.read_grants() {
            errors.push(e);
        }
        // Known before the installed plugins load: they never outrank a built-in format's
        // own reader unless they replace it by id.
        dir.registry.set_first_party(builtins.iter().map(|b| b.id));
        let (_, load_errors) = dir.registry.add_all(root);
        errors.extend(load_errors);
        for builtin in builtins {
            if dir.registry.entry(builtin.id).is_none()
                && let Err(e) = dir.registry.add(
                    builtin.manifest,
                    &format!("built-in {}", builtin.id),
                    builtin.component,
                )
            {
                errors.push(e);
            }
        }
        match dir.read_state() {
            Ok(state) => {
                for id in &state.disabled {
                    dir.registry.set_enabled(id, false);
                }
            }
            Err(e) => errors.push(e.into()),
        }
        (dir, errors)
    }

    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn audit(&self) -> &AuditLog {
        &self.audit
    }

    pub fn grants_path(&self) -> PathBuf {
        self.root.join("grants.toml")
    }

    pub fn list(&self) -> Vec<PluginView> {
        self.registry
            .entries()
            .values()
            .map(PluginView::of)
            .collect()
    }

    pub fn view(&self, id: &str) -> Result<PluginView, ChangeError> {
        self.entry(id).map(|e| PluginView::of(&e))
    }

    /// Installs `package` (a new plugin, or a new version of one), replacing the running
    /// version only once the new one has loaded.
    pub fn add(&self, package: &Package, who: &str) -> Result<PluginView, ChangeError> {
        let _one = self.changing.lock().unwrap_or_else(|p| p.into_inner());
        let sha256 = sha256_hex(&package.component);
        let parsed = Manifest::parse(&package.manifest, "plugin.toml");
        let (id, version) = match &parsed {
            Ok(m) => (m.id.clone(), Some(m.version.to_string())),
            Err(_) => ("?".to_string(), None),
        };
        let result = parsed
            .map_err(|e| ChangeError::Load(e.into()))
            .and_then(|manifest| {
                self.read_grants()?;
                let plugin = self.registry.load(manifest, &package.component)?;
                let dir = self.install(&plugin.manifest, package)?;
                let old = self.registry.put(plugin, Source::Dir(dir.clone()));
                // One id, one directory: a copy installed by hand under another name goes.
                if let Some(Entry {
                    source: Source::Dir(old_dir),
                    ..
                }) = old
                    && old_dir != dir
                    && old_dir.starts_with(&self.root)
                {
                    let _ = std::fs::remove_dir_all(old_dir);
                }
                self.view(&id)
            });
        self.record(who, "add", &id, version, Some(sha256), result)
    }

    /// Uninstalls plugin `id`. A built-in one of the same id takes its place again.
    pub fn remove(&self, id: &str, who: &str) -> Result<Option<PluginView>, ChangeError> {
        let _one = self.changing.lock().unwrap_or_else(|p| p.into_inner());
        let entry = self.entry(id);
        let (version, sha256) = facts(entry.as_ref().ok());
        let result = entry.and_then(|entry| {
            let Source::Dir(dir) = &entry.source else {
                return Err(ChangeError::Builtin(id.into()));
            };
            std::fs::remove_dir_all(dir)
                .map_err(|e| ChangeError::Io(format!("cannot remove {}: {e}", dir.display())))?;
            match self.builtins.iter().find(|b| b.id == id) {
                Some(b) => {
                    let plugin = self.registry.load_builtin(b.manifest, id, b.component)?;
                    self.registry.put(plugin, Source::Builtin);
                    self.view(id).map(Some)
                }
                None => {
                    self.registry.remove(id);
                    self.write_state(id, true)?;
                    Ok(None)
                }
            }
        });
        self.record(who, "remove", id, version, sha256, result)
    }

    /// Loads plugin `id` again from where it came from (ends a quarantine, picks up grants).
    pub fn reload(&self, id: &str, who: &str) -> Result<PluginView, ChangeError> {
        let _one = self.changing.lock().unwrap_or_else(|p| p.into_inner());
        let result = self.entry(id).and_then(|entry| {
            self.read_grants()?;
            let plugin = match &entry.source {
                Source::Dir(dir) => self.registry.load_dir(dir)?,
                Source::Builtin => {
                    let b = self.builtins.iter().find(|b| b.id == id);
                    let b = b.ok_or_else(|| ChangeError::NotFound(id.into()))?;
                    self.registry.load_builtin(b.manifest, id, b.component)?
                }
            };
            self.registry.put(plugin, entry.source);
            self.view(id)
        });
        let (version, sha256) = facts(self.registry.entry(id).as_ref());
        self.record(who, "reload", id, version, sha256, result)
    }

    /// Lets plugin `id` take new calls, or not; remembered across restarts.
    pub fn set_enabled(
        &self,
        id: &str,
        enabled: bool,
        who: &str,
    ) -> Result<PluginView, ChangeError> {
        let _one = self.changing.lock().unwrap_or_else(|p| p.into_inner());
        let entry = self.entry(id);
        let (version, sha256) = facts(entry.as_ref().ok());
        let result = entry.and_then(|_| {
            self.write_state(id, enabled)?;
            self.registry.set_enabled(id, enabled);
            self.view(id)
        });
        let action = if enabled { "enable" } else { "disable" };
        self.record(who, action, id, version, sha256, result)
    }

    fn entry(&self, id: &str) -> Result<Entry, ChangeError> {
        self.registry
            .entry(id)
            .ok_or_else(|| ChangeError::NotFound(id.into()))
    }

    /// Writes `package` to `<root>/<id>/`: into a hidden directory first, then renamed into
    /// place, so a crash leaves the old version or the new one, never half of one.
    fn install(&self, manifest: &Manifest, package: &Package) -> Result<PathBuf, ChangeError> {
        let io = |what: &Path, e: std::io::Error| {
            ChangeError::Io(format!("cannot install into {}: {e}", what.display()))
        };
        let target = self.root.join(&manifest.id);
        let incoming = self.root.join(format!(".incoming-{}", manifest.id));
        let replaced = self.root.join(format!(".replaced-{}", manifest.id));
        for stale in [&incoming, &replaced] {
            let _ = std::fs::remove_dir_all(stale);
        }
        std::fs::create_dir_all(&incoming).map_err(|e| io(&incoming, e))?;
        std::fs::write(incoming.join("plugin.toml"), &package.manifest)
            .and_then(|()| std::fs::write(incoming.join(&manifest.component), &package.component))
            .map_err(|e| io(&incoming, e))?;
        if target.exists() {
            std::fs::rename(&target, &replaced).map_err(|e| io(&target, e))?;
        }
        std::fs::rename(&incoming, &target).map_err(|e| io(&target, e))?;
        let _ = std::fs::remove_dir_all(&replaced);
        Ok(target)
    }

    /// Re-reads `grants.toml` (the operator may have edited it since).
    fn read_grants(&self) -> Result<(), LoadError> {
        let grants = Grants::read(&self.grants_path())?;
        self.registry.set_grants(grants);
        Ok(())
    }

    fn state_path(&self) -> PathBuf {
        self.root.join("state.toml")
    }

    fn read_state(&self) -> Result<State, ManifestError> {
        let path = self.state_path();
        let origin = path.display().to_string();
        match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text).map_err(|e| ManifestError::Syntax {
                origin,
                message: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State::default()),
            Err(source) => Err(ManifestError::Io { origin, source }),
        }
    }

    fn write_state(&self, id: &str, enabled: bool) -> Result<(), ChangeError> {
        let mut state = self
            .read_state()
            .map_err(|e| ChangeError::Io(e.to_string()))?;
        let changed = if enabled {
            state.disabled.remove(id)
        } else {
            state.disabled.insert(id.into())
        };
        if !changed {
            return Ok(());
        }
        let path = self.state_path();
        let io =
            |e: std::io::Error| ChangeError::Io(format!("cannot write {}: {e}", path.display()));
        let text = toml::to_string(&state).map_err(|e| ChangeError::Io(e.to_string()))?;
        std::fs::create_dir_all(&self.root).map_err(io)?;
        let tmp = self.root.join(".state.toml.tmp");
        std::fs::write(&tmp, text).map_err(io)?;
        std::fs::rename(&tmp, &path).map_err(io)
    }

    /// Appends the outcome of a change to the audit log and passes it on. A change that was
    /// made but cannot be audited is reported as an error: the operator must know.
    fn record<R>(
        &self,
        who: &str,
        action: &str,
        plugin: &str,
        version: Option<String>,
        sha256: Option<String>,
        result: Result<R, ChangeError>,
    ) -> Result<R, ChangeError> {
        let entry = AuditEntry {
            time: tally_core::time::rfc3339(tally_core::time::now()),
            who: who.into(),
            action: action.into(),
            plugin: plugin.into(),
            version,
            sha256,
            outcome: if result.is_ok() { "ok" } else { "refused" }.into(),
            error: result.as_ref().err().map(ToString::to_string),
        };
        match (self.audit.append(&entry), result) {
            (Ok(()), result) => result,
            (Err(e), Ok(_)) => Err(ChangeError::Io(format!(
                "{action} of plugin `{plugin}` was done, but the audit log {} cannot be written: {e}",
                self.audit.path().display()
            ))),
            (Err(e), Err(refused)) => {
                tracing::error!(path = %self.audit.path().display(), "cannot write the audit log: {e}");
                Err(refused)
            }
        }
    }
}

/// Version and sha256 of an entry, for the audit log.
fn facts(entry: Option<&Entry>) -> (Option<String>, Option<String>) {
    match entry {
        Some(e) => (
            Some(e.plugin.manifest.version.to_string()),
            Some(e.plugin.sha256.clone()),
        ),
        None => (None, None),
    }
}
