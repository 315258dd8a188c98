//! The plugins a `tally` process uses: the operator's plugin directory first (a plugin there
//! replaces the built-in one of the same id), then the first-party plugins compiled in.

use std::path::Path;

use tally_plugin_host::{PluginEngine, Registry};

pub fn load(plugin_dir: &Path, cache_dir: Option<&Path>) -> anyhow::Result<Registry> {
    let engine = PluginEngine::new(cache_dir)
        .map_err(|e| anyhow::anyhow!("cannot start the plugin engine: {e}"))?;
    let registry = Registry::new(engine);
    let (_, errors) = registry.add_all(plugin_dir);
    for error in errors {
        // One broken plugin must not take the others down: say why and go on without it.
        eprintln!("warning: plugin not loaded: {error}");
    }
    for builtin in tally_plugin_artifacts::FIRST_PARTY {
        if registry.get(builtin.id).is_none() {
            registry
                .add(
                    builtin.manifest,
                    &format!("built-in {}", builtin.id),
                    builtin.component,
                )
                .map_err(|e| {
                    anyhow::anyhow!("built-in plugin {} failed to load: {e}", builtin.id)
                })?;
        }
    }
    Ok(registry)
}

/// Where a plugin came from, for `plugin list`.
pub fn source(plugin_dir: &Path, id: &str) -> String {
    let dir = plugin_dir.join(id);
    if dir.join("plugin.toml").is_file() {
        dir.display().to_string()
    } else {
        "built-in".into()
    }
}
