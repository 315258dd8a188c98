//! The agent's own settings file (TOML): where the server is, where the token and the state
//! live, and the queue's bounds. What to watch comes from the server ([`tally_core::agent`]).

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// `/etc/tally-agent/agent.toml`, every key but `server` optional:
///
/// ```toml
/// server = "http://tally.example.com:8080"
/// token_file = "/etc/tally-agent/token"
/// state_dir = "/var/lib/tally-agent"
/// # host = "ws-042"                # default: the OS's host name
/// # report_interval_secs = 30      # default: the server's configuration (30 s)
/// # config_interval_secs = 60      # at most 60
/// # queue_max_reports = 20000      # about a week of 30 s reports
/// # queue_max_bytes = 67108864
/// # request_timeout_secs = 10
/// # harvest_close_wait_secs = 10
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `http://HOST:PORT[/prefix]`.
    pub server: String,
    #[serde(default = "default_token_file")]
    pub token_file: PathBuf,
    #[serde(default = "default_state_dir")]
    pub state_dir: PathBuf,
    #[serde(default)]
    pub host: Option<String>,
    /// Overrides the server's report interval (tests, slow links).
    #[serde(default)]
    pub report_interval_secs: Option<u64>,
    #[serde(default = "default_config_interval")]
    pub config_interval_secs: u64,
    #[serde(default = "default_queue_max_reports")]
    pub queue_max_reports: u64,
    #[serde(default = "default_queue_max_bytes")]
    pub queue_max_bytes: u64,
    #[serde(default = "default_request_timeout")]
    pub request_timeout_secs: u64,
    /// How long a Graceful harvest waits to see whether the application closed.
    #[serde(default = "default_close_wait")]
    pub harvest_close_wait_secs: u64,
}

fn default_token_file() -> PathBuf {
    PathBuf::from("/etc/tally-agent/token")
}
fn default_state_dir() -> PathBuf {
    PathBuf::from("/var/lib/tally-agent")
}
fn default_config_interval() -> u64 {
    tally_core::agent::MAX_CONFIG_INTERVAL_SECS
}
fn default_queue_max_reports() -> u64 {
    // A week of reports every 30 s.
    20_160
}
fn default_queue_max_bytes() -> u64 {
    64 << 20
}
fn default_request_timeout() -> u64 {
    10
}
fn default_close_wait() -> u64 {
    10
}

/// Why the settings file is refused.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("cannot read the settings file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the settings file {path} is not valid: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("cannot read the token file {path}: {source}")]
    Token {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the token file {0} is empty")]
    EmptyToken(PathBuf),
}

impl Settings {
    pub fn load(path: &Path) -> Result<Settings, SettingsError> {
        let text = std::fs::read_to_string(path).map_err(|source| SettingsError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Settings::parse(&text).map_err(|message| SettingsError::Invalid {
            path: path.to_path_buf(),
            message,
        })
    }

    pub fn parse(text: &str) -> Result<Settings, String> {
        let settings: Settings = toml::from_str(text).map_err(|e| e.to_string())?;
        if !settings.server.starts_with("http://") {
            return Err(format!(
                "server must be http://HOST:PORT (got `{}`); put TLS in a reverse proxy on the server's side",
                settings.server
            ));
        }
        let in_range = |name: &str, value: u64, min: u64, max: u64| {
            if (min..=max).contains(&value) {
                Ok(())
            } else {
                Err(format!(
                    "{name} must be between {min} and {max}, got {value}"
                ))
            }
        };
        if let Some(interval) = settings.report_interval_secs {
            in_range("report_interval_secs", interval, 1, 3600)?;
        }
        in_range(
            "config_interval_secs",
            settings.config_interval_secs,
            1,
            tally_core::agent::MAX_CONFIG_INTERVAL_SECS,
        )?;
        in_range(
            "queue_max_reports",
            settings.queue_max_reports,
            1,
            10_000_000,
        )?;
        in_range("queue_max_bytes", settings.queue_max_bytes, 4096, 1 << 40)?;
        in_range(
            "request_timeout_secs",
            settings.request_timeout_secs,
            1,
            600,
        )?;
        in_range(
            "harvest_close_wait_secs",
            settings.harvest_close_wait_secs,
            0,
            600,
        )?;
        if settings.host.as_deref().is_some_and(str::is_empty) {
            return Err("host must not be empty".to_string());
        }
        Ok(settings)
    }

    /// The agent-scoped token, trimmed. It is never logged.
    pub fn token(&self) -> Result<String, SettingsError> {
        let text =
            std::fs::read_to_string(&self.token_file).map_err(|source| SettingsError::Token {
                path: self.token_file.clone(),
                source,
            })?;
        let token = text.trim();
        if token.is_empty() {
            return Err(SettingsError::EmptyToken(self.token_file.clone()));
        }
        Ok(token.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minimal_file_takes_the_defaults() {
        let settings = Settings::parse(r#"server = "http://tally:8080""#).expect("parse");
        assert_eq!(settings.config_interval_secs, 60);
        assert_eq!(settings.queue_max_reports, 20_160);
        assert_eq!(settings.report_interval_secs, None);
        assert_eq!(settings.state_dir, PathBuf::from("/var/lib/tally-agent"));
    }

    #[test]
    fn unknown_keys_are_refused_by_name() {
        let err =
            Settings::parse("server = \"http://tally:8080\"\nqueue_max = 3").expect_err("refused");
        assert!(err.contains("queue_max"), "{err}");
    }

    #[test]
    fn bad_values_are_refused_by_name() {
        let err = Settings::parse(r#"server = "https://tally""#).expect_err("refused");
        assert!(err.contains("reverse proxy"), "{err}");
        let err = Settings::parse("server = \"http://t\"\nconfig_interval_secs = 120")
            .expect_err("refused");
        assert!(err.contains("config_interval_secs"), "{err}");
        let err = Settings::parse("server = \"http://t\"\nreport_interval_secs = 0")
            .expect_err("refused");
        assert!(err.contains("report_interval_secs"), "{err}");
    }

    #[test]
    fn the_token_is_read_trimmed_and_an_empty_one_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let token_file = dir.path().join("token");
        let mut settings = Settings::parse(r#"server = "http://t""#).expect("parse");
        settings.token_file = token_file.clone();
        assert!(matches!(settings.token(), Err(SettingsError::Token { .. })));
        std::fs::write(&token_file, "  \n").expect("write");
        assert!(matches!(
            settings.token(),
            Err(SettingsError::EmptyToken(_))
        ));
        std::fs::write(&token_file, "s3cret\n").expect("write");
        assert_eq!(settings.token().expect("token"), "s3cret");
    }
}
