//! What a plugin may do beyond computing: the tools the host runs for it and the hosts it may
//! reach. The manifest declares them (`[capabilities]`), the operator grants them per plugin
//! (`grants.toml`); a plugin loads only when every declared capability is granted. Nothing is
//! granted by default except a built-in plugin's own commands.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::ManifestError;

/// A set of capabilities: declared by a manifest or granted by the operator.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Capabilities {
    /// Tools the host may run for the plugin (`lmutil`); a poller's `command` names one.
    pub commands: Vec<String>,
    /// `host:port` the plugin may reach over HTTP.
    pub http: Vec<String>,
}

impl Capabilities {
    pub(crate) fn validate(&self) -> Result<(), String> {
        if let Some(tool) = self.commands.iter().find(|t| !tool_name_ok(t)) {
            return Err(format!(
                "capabilities.commands: `{tool}` is not a tool name (a word like `lmutil`, no path)"
            ));
        }
        if let Some(address) = self.http.iter().find(|a| !address_ok(a)) {
            return Err(format!(
                "capabilities.http: `{address}` is not host:port (e.g. `rlm1.example:5054`)"
            ));
        }
        Ok(())
    }

    /// What `self` asks for that `granted` does not allow, one phrase each.
    pub fn missing(&self, granted: &Capabilities) -> Vec<String> {
        let commands = self
            .commands
            .iter()
            .filter(|c| !granted.commands.contains(c))
            .map(|c| format!("command `{c}`"));
        let http = self
            .http
            .iter()
            .filter(|a| !granted.http.iter().any(|g| g.eq_ignore_ascii_case(a)))
            .map(|a| format!("http `{a}`"));
        commands.chain(http).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.commands.is_empty() && self.http.is_empty()
    }
}

/// A tool is named, never located: the operator maps names to programs (`--tool`).
fn tool_name_ok(tool: &str) -> bool {
    !tool.is_empty()
        && tool.len() <= 64
        && tool
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        && !tool.starts_with('.')
}

fn address_ok(address: &str) -> bool {
    let Some((host, port)) = address.rsplit_once(':') else {
        return false;
    };
    !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.[]:".contains(&b))
        && port.parse::<u16>().is_ok_and(|p| p > 0)
}

/// The operator's grants, by plugin id: `grants.toml` in the plugin directory.
///
/// ```toml
/// [rlm-web]
/// commands = []
/// http = ["rlm1.example:5054"]
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants(BTreeMap<String, Capabilities>);

impl Grants {
    pub fn parse(text: &str, origin: &str) -> Result<Grants, ManifestError> {
        let grants: BTreeMap<String, Capabilities> =
            toml::from_str(text).map_err(|e| ManifestError::Syntax {
                origin: origin.into(),
                message: e.to_string(),
            })?;
        for (id, granted) in &grants {
            granted
                .validate()
                .map_err(|message| ManifestError::Invalid {
                    origin: origin.into(),
                    message: format!("[{id}] {message}"),
                })?;
        }
        Ok(Grants(grants))
    }

    /// Reads a grants file; an absent one grants nothing.
    pub fn read(path: &Path) -> Result<Grants, ManifestError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Grants::parse(&text, &path.display().to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Grants::default()),
            Err(source) => Err(ManifestError::Io {
                origin: path.display().to_string(),
                source,
            }),
        }
    }

    /// What the operator granted plugin `id` (nothing if it is not named).
    pub fn of(&self, id: &str) -> Capabilities {
        self.0.get(id).cloned().unwrap_or_default()
    }

    /// Grants `id` these capabilities (tests, and built-ins' defaults).
    pub fn grant(&mut self, id: &str, capabilities: Capabilities) {
        self.0.insert(id.into(), capabilities);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(commands: &[&str], http: &[&str]) -> Capabilities {
        Capabilities {
            commands: commands.iter().map(|s| s.to_string()).collect(),
            http: http.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn missing_names_every_capability_not_granted() {
        let wanted = caps(&["lmutil", "lmstat"], &["rlm1:5054"]);
        assert_eq!(
            wanted.missing(&caps(&["lmutil"], &[])),
            ["command `lmstat`", "http `rlm1:5054`"]
        );
        assert!(
            wanted
                .missing(&caps(&["lmstat", "lmutil", "x"], &["RLM1:5054"]))
                .is_empty()
        );
        assert!(Capabilities::default().missing(&caps(&[], &[])).is_empty());
    }

    #[test]
    fn names_and_addresses_are_checked() {
        assert_eq!(
            caps(&["lmutil"], &["a.example:80", "[::1]:8080"]).validate(),
            Ok(())
        );
        assert!(caps(&["/bin/sh"], &[]).validate().is_err());
        assert!(caps(&["lm util"], &[]).validate().is_err());
        assert!(caps(&[], &["a.example"]).validate().is_err());
        assert!(caps(&[], &["a.example:0"]).validate().is_err());
        assert!(caps(&[], &["a/b:80"]).validate().is_err());
    }

    #[test]
    fn grants_file() {
        let grants = Grants::parse(
            "[rlm-web]\nhttp = [\"rlm1.example:5054\"]\n[my-poller]\ncommands = [\"lmutil\"]\n",
            "grants.toml",
        )
        .expect("valid");
        assert_eq!(grants.of("rlm-web"), caps(&[], &["rlm1.example:5054"]));
        assert_eq!(grants.of("my-poller"), caps(&["lmutil"], &[]));
        assert_eq!(grants.of("other"), Capabilities::default());
        let err = Grants::parse("[x]\nfiles = [\"/\"]\n", "grants.toml").expect_err("unknown");
        assert!(err.to_string().contains("unknown field `files`"), "{err}");
        let err = Grants::parse("[x]\ncommands = [\"../lmutil\"]\n", "g").expect_err("path");
        assert!(
            err.to_string().starts_with("g: [x] capabilities.commands"),
            "{err}"
        );
        assert_eq!(
            Grants::read(Path::new("/nonexistent/grants.toml")).expect("absent"),
            Grants::default()
        );
    }
}
