//! The configuration file, `tally.toml` (`tally --config FILE` or `$TALLY_CONFIG`), and where
//! each setting in force comes from: a flag, then the environment, then the file, then the
//! default. Unknown keys are refused with their name, so a typo never passes for a setting.
//!
//! ```toml
//! listen = "127.0.0.1:8080"
//! database = "sqlite:///var/lib/tally/tally.db"
//! data_dir = "/var/lib/tally"
//! plugin_dir = "/var/lib/tally/plugins"
//! command_timeout_secs = 30
//! max_upload_mb = 4096
//! read_timeout_secs = 30
//!
//! [tools]
//! lmutil = "/opt/flexlm/lmutil"
//!
//! [auth]
//! anonymous_read = false
//! admin_token_file = "/etc/tally/admin-token"
//!
//! [log]
//! format = "text"   # or "json"
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

/// What the file may say.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct File {
    pub listen: Option<String>,
    pub database: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub plugin_dir: Option<PathBuf>,
    pub command_timeout_secs: Option<u64>,
    /// Largest log accepted through the API, MiB.
    pub max_upload_mb: Option<u64>,
    /// Longest a read through the API may take, seconds.
    pub read_timeout_secs: Option<u64>,
    /// Tool name → program and leading arguments (`lmutil = "/opt/flexlm/lmutil"`).
    #[serde(default)]
    pub tools: BTreeMap<String, String>,
    #[serde(default)]
    pub auth: Auth,
    #[serde(default)]
    pub log: Log,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Auth {
    pub anonymous_read: Option<bool>,
    pub admin_token_file: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Log {
    pub format: Option<LogFormat>,
}

/// How log lines are written to standard error.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One line of text per event.
    #[default]
    Text,
    /// One JSON object per event (journald and log shippers).
    Json,
}

/// The configuration file as read, or none.
#[derive(Debug, Default)]
pub struct Config {
    pub path: Option<PathBuf>,
    pub file: File,
}

impl Config {
    /// Reads `path` (when given); a missing file, bad TOML or an unknown key is an error
    /// naming the file.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Config> {
        let Some(path) = path else {
            return Ok(Config::default());
        };
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the configuration file {}", path.display()))?;
        let file: File = toml::from_str(&text)
            .with_context(|| format!("invalid configuration file {}", path.display()))?;
        if let Some(listen) = &file.listen {
            listen.parse::<std::net::SocketAddr>().with_context(|| {
                format!(
                    "{}: `listen = \"{listen}\"` is not an address like 127.0.0.1:8080",
                    path.display()
                )
            })?;
        }
        for (name, program) in &file.tools {
            if program.split_whitespace().next().is_none() {
                anyhow::bail!("{}: tool `{name}` has no program", path.display());
            }
        }
        Ok(Config {
            path: Some(path.to_path_buf()),
            file,
        })
    }

    /// Where a value from the file comes from.
    pub fn source(&self) -> Source {
        match &self.path {
            Some(path) => Source::File(path.clone()),
            None => Source::Default,
        }
    }
}

/// Where a setting in force comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Flag,
    Env(&'static str),
    File(PathBuf),
    Default,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Flag => f.write_str("command line"),
            Source::Env(var) => write!(f, "environment ${var}"),
            Source::File(path) => write!(f, "{}", path.display()),
            Source::Default => f.write_str("default"),
        }
    }
}

/// A setting in force and where it comes from.
#[derive(Debug, Clone)]
pub struct Setting<T> {
    pub value: T,
    pub source: Source,
}

/// The first of: a command-line or environment value (clap gives them alike; `env` tells which),
/// the file's, the default.
pub fn pick<T: Clone>(
    given: Option<T>,
    env: Option<&'static str>,
    file: Option<T>,
    config: &Config,
    default: impl FnOnce() -> T,
) -> Setting<T> {
    if let Some(value) = given {
        let from_env = env.filter(|var| std::env::var_os(var).is_some());
        let source = from_env.map_or(Source::Flag, Source::Env);
        return Setting { value, source };
    }
    if let Some(value) = file {
        return Setting {
            value,
            source: config.source(),
        };
    }
    Setting {
        value: default(),
        source: Source::Default,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("tally.toml");
        std::fs::write(&path, text).expect("write");
        (dir, path)
    }

    #[test]
    fn a_full_file_reads() {
        let (_dir, path) = write(
            "listen = \"0.0.0.0:9000\"\ncommand_timeout_secs = 5\n[tools]\nlmutil = \"/opt/lmutil\"\n[auth]\nanonymous_read = true\n[log]\nformat = \"json\"\n",
        );
        let config = Config::load(Some(&path)).expect("config");
        assert_eq!(config.file.listen.as_deref(), Some("0.0.0.0:9000"));
        assert_eq!(config.file.tools["lmutil"], "/opt/lmutil");
        assert_eq!(config.file.auth.anonymous_read, Some(true));
        assert_eq!(config.file.log.format, Some(LogFormat::Json));
    }

    #[test]
    fn unknown_keys_are_refused_by_name() {
        let (_dir, path) = write("listen = \"127.0.0.1:1\"\nlistne = \"x\"\n");
        let error = format!("{:#}", Config::load(Some(&path)).expect_err("typo"));
        assert!(error.contains("listne"), "{error}");
        assert!(error.contains("tally.toml"), "{error}");
    }

    #[test]
    fn a_bad_address_is_refused() {
        let (_dir, path) = write("listen = \"localhost\"\n");
        let error = format!("{:#}", Config::load(Some(&path)).expect_err("bad"));
        assert!(error.contains("is not an address"), "{error}");
    }

    #[test]
    fn flags_win_over_the_file_and_the_file_over_defaults() {
        let (_dir, path) = write("command_timeout_secs = 5\n");
        let config = Config::load(Some(&path)).expect("config");
        let file = config.file.command_timeout_secs;
        let given = pick(Some(9), None, file, &config, || 30);
        assert_eq!((given.value, given.source), (9, Source::Flag));
        let from_file = pick(None, None, file, &config, || 30);
        assert_eq!((from_file.value, from_file.source), (5, Source::File(path)));
        let default = pick(None, None, None, &config, || 30);
        assert_eq!((default.value, default.source), (30, Source::Default));
    }
}
