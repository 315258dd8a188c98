//! `plugin.toml`: what a plugin is, which contract it speaks, and what it may use.
//!
//! Strict on purpose (Extism's lesson): unknown keys are errors, the component's sha256 must
//! match, limits are explicit and bounded.

use std::path::Path;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::capabilities::Capabilities;
use crate::error::ManifestError;

/// Which world a plugin implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum World {
    Importer,
    Poller,
}

impl World {
    pub fn as_str(self) -> &'static str {
        match self {
            World::Importer => "importer",
            World::Poller => "poller",
        }
    }
}

/// Resource limits for one plugin; absent keys take the defaults below.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct Limits {
    /// Linear-memory cap of one instance.
    pub memory_mib: u32,
    /// Wall-clock limit of one call (one import chunk, one status parse).
    pub timeout_ms: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_mib: 64,
            timeout_ms: 60_000,
        }
    }
}

/// The most a manifest may ask for; the engine's memory pool is sized for it.
pub const MAX_MEMORY_MIB: u32 = 1024;
/// Longest call a manifest may allow.
pub const MAX_TIMEOUT_MS: u32 = 10 * 60 * 1000;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Manifest {
    /// Unique id, lower-case letters, digits and dashes: `flexlm-log`.
    pub id: String,
    /// The plugin's own version.
    pub version: semver::Version,
    /// What the plugin does: `importer` or `poller`.
    pub world: World,
    /// The WIT track it was built against: `0.1.0`.
    pub wit: semver::Version,
    /// One line for `tally plugin list`.
    #[serde(default)]
    pub description: String,
    /// The license manager the plugin speaks for (`flexlm`, `rlm`, …): a server's logs and
    /// status outputs must come from plugins of its manager. Default: the plugin id.
    #[serde(default)]
    pub manager: Option<String>,
    /// Format ids it reads (must equal what the component's `describe` says).
    pub formats: Vec<String>,
    /// The component file, relative to the manifest.
    pub component: String,
    /// Hex sha256 of the component file.
    pub sha256: String,
    /// Pollers: the status command the host runs, one argument per element, no shell. The first
    /// element names a tool the operator maps to a path (`lmutil`); `{host}` and `{port}` are
    /// filled from the license server. Importers have none, and neither have http pollers
    /// (WIT 0.2.0): they ask the server themselves over the hosts of `capabilities.http`.
    #[serde(default)]
    pub command: Vec<String>,
    #[serde(default)]
    pub limits: Limits,
    /// What the plugin needs the host to allow (see [`Capabilities`]). A poller's command tool
    /// is needed whether listed here or not.
    #[serde(default)]
    pub capabilities: Capabilities,
}

/// The placeholders a command template may use.
pub const COMMAND_PLACEHOLDERS: &[&str] = &["{host}", "{port}"];

impl Manifest {
    /// Parses and checks a manifest's text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Manifest, ManifestError> {
        let manifest: Manifest = toml::from_str(text).map_err(|e| ManifestError::Syntax {
            origin: origin.into(),
            message: e.to_string(),
        })?;
        manifest
            .validate()
            .map_err(|message| ManifestError::Invalid {
                origin: origin.into(),
                message,
            })?;
        Ok(manifest)
    }

    pub fn read(path: &Path) -> Result<Manifest, ManifestError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ManifestError::Io {
            origin: origin.clone(),
            source: e,
        })?;
        Manifest::parse(&text, &origin)
    }

    /// Everything the plugin needs granted: its declared capabilities and its command's tool.
    pub fn needs(&self) -> Capabilities {
        let mut needs = self.capabilities.clone();
        if let Some(tool) = self.command.first()
            && !needs.commands.contains(tool)
        {
            needs.commands.insert(0, tool.clone());
        }
        needs
    }

    /// The license manager this plugin belongs to.
    pub fn manager(&self) -> &str {
        self.manager.as_deref().unwrap_or(&self.id)
    }

    fn validate(&self) -> Result<(), String> {
        let id_ok = !self.id.is_empty()
            && self.id.len() <= 64
            && self
                .id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !id_ok {
            return Err(format!(
                "id `{}` must be 1-64 lower-case letters, digits or dashes",
                self.id
            ));
        }
        if self.formats.is_empty() {
            return Err("`formats` must name at least one format".into());
        }
        if self.component.contains('/')
            || self.component.contains('\\')
            || self.component.starts_with('.')
        {
            return Err(format!(
                "component `{}` must be a file name beside the manifest",
                self.component
            ));
        }
        if self.sha256.len() != 64 || !self.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err("sha256 must be 64 hex digits".into());
        }
        match (self.world, self.command.is_empty()) {
            (World::Poller, true) if self.capabilities.http.is_empty() => {
                return Err("a poller needs `command`, the status command the host runs (or, as an http poller on WIT 0.2.0 or later, `[capabilities] http`, the hosts it asks itself)".into());
            }
            (World::Poller, true) if self.wit < semver::Version::new(0, 2, 0) => {
                return Err(format!(
                    "a poller without `command` asks its server over http, which needs WIT 0.2.0 or later (not {})",
                    self.wit
                ));
            }
            (World::Importer, false) => {
                return Err(
                    "an importer reads the files it is given; `command` is for pollers".into(),
                );
            }
            _ => {}
        }
        if let Some(arg) = self.command.iter().find(|a| !placeholders_known(a)) {
            return Err(format!(
                "command argument `{arg}` uses a placeholder other than {}",
                COMMAND_PLACEHOLDERS.join(", ")
            ));
        }
        if self
            .command
            .first()
            .is_some_and(|tool| tool.is_empty() || tool.contains('{'))
        {
            return Err("command must start with a tool name (`lmutil`), not a placeholder".into());
        }
        self.capabilities.validate()?;
        if let Some(tool) = self.command.first()
            && !self.capabilities.commands.is_empty()
            && !self.capabilities.commands.contains(tool)
        {
            return Err(format!(
                "capabilities.commands must include `{tool}`, the tool of `command`"
            ));
        }
        let Limits {
            memory_mib,
            timeout_ms,
        } = self.limits;
        if !(1..=MAX_MEMORY_MIB).contains(&memory_mib) {
            return Err(format!(
                "limits.memory-mib must be 1..={MAX_MEMORY_MIB}, not {memory_mib}"
            ));
        }
        if !(1..=MAX_TIMEOUT_MS).contains(&timeout_ms) {
            return Err(format!(
                "limits.timeout-ms must be 1..={MAX_TIMEOUT_MS}, not {timeout_ms}"
            ));
        }
        Ok(())
    }

    /// Fails unless `component` is the file this manifest was written for.
    pub fn check_hash(&self, component: &[u8]) -> Result<(), ManifestError> {
        let actual = sha256_hex(component);
        if actual.eq_ignore_ascii_case(&self.sha256) {
            Ok(())
        } else {
            Err(ManifestError::HashMismatch {
                plugin: self.id.clone(),
                expected: self.sha256.clone(),
                actual,
            })
        }
    }
}

/// True when every `{…}` in `arg` is one of [`COMMAND_PLACEHOLDERS`].
fn placeholders_known(arg: &str) -> bool {
    let mut rest = arg;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            return false;
        };
        if !COMMAND_PLACEHOLDERS.contains(&&rest[open..open + close + 1]) {
            return false;
        }
        rest = &rest[open + close + 1..];
    }
    true
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
id = "flexlm-log"
version = "0.1.0"
world = "importer"
wit = "0.1.0"
formats = ["flexlm-debuglog"]
component = "flexlm_log.wasm"
sha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
[limits]
timeout-ms = 500
"#;

    #[test]
    fn parses_and_defaults() {
        let m = Manifest::parse(GOOD, "test").expect("valid manifest");
        assert_eq!(m.world, World::Importer);
        assert_eq!(
            m.limits,
            Limits {
                memory_mib: 64,
                timeout_ms: 500
            }
        );
        m.check_hash(b"").expect("sha256 of the empty input");
    }

    #[test]
    fn unknown_keys_are_errors() {
        let text = GOOD.replace("[limits]", "colour = \"blue\"\n[limits]");
        let err = Manifest::parse(&text, "test").expect_err("unknown key");
        assert!(err.to_string().contains("unknown field `colour`"), "{err}");
    }

    #[test]
    fn bad_values_are_named() {
        let err =
            Manifest::parse(&GOOD.replace("flexlm-log", "Flex Log"), "m").expect_err("bad id");
        assert!(err.to_string().contains("id `Flex Log`"), "{err}");
        let err = Manifest::parse(&GOOD.replace("timeout-ms = 500", "memory-mib = 4096"), "m")
            .expect_err("too much memory");
        assert!(
            err.to_string()
                .contains("memory-mib must be 1..=1024, not 4096"),
            "{err}"
        );
        let err = Manifest::parse(&GOOD.replace("flexlm_log.wasm", "../evil.wasm"), "m")
            .expect_err("path");
        assert!(err.to_string().contains("beside the manifest"), "{err}");
    }

    #[test]
    fn pollers_declare_their_command() {
        let poller = GOOD.replace("world = \"importer\"", "world = \"poller\"");
        let err = Manifest::parse(&poller, "m").expect_err("no command");
        assert!(
            err.to_string().contains("a poller needs `command`"),
            "{err}"
        );
        let with = poller.replace(
            "[limits]",
            "command = [\"lmutil\", \"lmstat\", \"-a\", \"-c\", \"{port}@{host}\"]\n[limits]",
        );
        let m = Manifest::parse(&with, "m").expect("valid poller");
        assert_eq!(m.command[4], "{port}@{host}");
        let err = Manifest::parse(&with.replace("{port}@", "{path}@"), "m").expect_err("unknown");
        assert!(
            err.to_string()
                .contains("`{path}@{host}` uses a placeholder"),
            "{err}"
        );
        // An http poller has no command: it asks the hosts it declares, from WIT 0.2.0 on.
        let http = format!("{poller}[capabilities]\nhttp = [\"rlm1.example:5054\"]\n");
        let err = Manifest::parse(&http, "m").expect_err("http on 0.1.0");
        assert!(
            err.to_string()
                .contains("needs WIT 0.2.0 or later (not 0.1.0)"),
            "{err}"
        );
        let m = Manifest::parse(&http.replace("wit = \"0.1.0\"", "wit = \"0.2.0\""), "m")
            .expect("http poller");
        assert!(m.command.is_empty());
        assert_eq!(m.needs().http, ["rlm1.example:5054"]);
        let importer = GOOD.replace("[limits]", "command = [\"lmutil\"]\n[limits]");
        let err = Manifest::parse(&importer, "m").expect_err("importer with command");
        assert!(
            err.to_string().contains("`command` is for pollers"),
            "{err}"
        );
    }

    #[test]
    fn capabilities_cover_the_command() {
        let poller = GOOD
            .replace("world = \"importer\"", "world = \"poller\"")
            .replace("[limits]", "command = [\"lmutil\", \"lmstat\"]\n[limits]");
        let m = Manifest::parse(&poller, "m").expect("implicit");
        assert_eq!(m.needs().commands, ["lmutil"]);
        assert!(m.needs().http.is_empty());
        let listed = format!(
            "{poller}[capabilities]\ncommands = [\"lmutil\", \"lmdiag\"]\nhttp = [\"h:1\"]\n"
        );
        let m = Manifest::parse(&listed, "m").expect("listed");
        assert_eq!(m.needs().commands, ["lmutil", "lmdiag"]);
        assert_eq!(m.needs().http, ["h:1"]);
        let err = Manifest::parse(&listed.replace("\"lmutil\", \"lmdiag\"", "\"lmdiag\""), "m")
            .expect_err("command tool not listed");
        assert_eq!(
            err.to_string(),
            "m: capabilities.commands must include `lmutil`, the tool of `command`"
        );
        let err = Manifest::parse(&format!("{GOOD}[capabilities]\nsockets = true\n"), "m")
            .expect_err("unknown capability");
        assert!(err.to_string().contains("unknown field `sockets`"), "{err}");
    }

    #[test]
    fn tampered_component_is_refused() {
        let m = Manifest::parse(GOOD, "test").expect("valid manifest");
        let err = m.check_hash(b"tampered").expect_err("hash mismatch");
        assert!(err.to_string().contains("sha256 mismatch"), "{err}");
    }
}
