//! The wire protocol between `tally-agent` and the server (JSON over `/api/v1/agents…`).
//!
//! * `POST /api/v1/agents/enrol`: [`EnrolRequest`] → [`EnrolAnswer`];
//! * `GET /api/v1/agents/{id}/config`: → [`AgentConfig`], the applications to watch and
//!   their harvesting policies;
//! * `POST /api/v1/agents/{id}/reports`: [`Report`] → [`ReportAnswer`]. A report is the
//!   agent's heartbeat, the watched processes running and the results of earlier harvest
//!   orders. Its [`ReportId`] (agent + sequence) is what the server de-duplicates on: an
//!   agent resends a report until it has an answer, so the server may see one twice.
//!
//! Each request carries the agent-scoped bearer token. Unknown fields are refused both ways,
//! so a mismatch shows as an error rather than as silently dropped data; [`PROTOCOL`] says
//! which shape an agent speaks.

use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::harvest::{Policy, PolicyError, Reasons, ReleaseMethod};

/// The protocol version this crate speaks.
pub const PROTOCOL: u32 = 1;

/// The report interval when the configuration does not say.
pub const DEFAULT_REPORT_INTERVAL_SECS: u64 = 30;
/// The agent pulls its configuration at least this often.
pub const MAX_CONFIG_INTERVAL_SECS: u64 = 60;

/// The server's id of an enrolled agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AgentId(pub i64);

impl std::fmt::Display for AgentId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrolRequest {
    pub protocol: u32,
    /// The host's name as the agent's OS gives it.
    pub host: String,
    /// `linux`, `windows`, `macos`…, and the OS release when known.
    pub os: String,
    pub agent_version: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrolAnswer {
    pub agent_id: AgentId,
}

/// What an agent watches and how often it reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    #[serde(default = "default_report_interval")]
    pub report_interval_secs: u64,
    pub applications: Vec<WatchedApplication>,
}

fn default_report_interval() -> u64 {
    DEFAULT_REPORT_INTERVAL_SECS
}

/// One licensed application: which processes are it, and which licence they hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatchedApplication {
    /// Shown to people and echoed in reports (`MATLAB`).
    pub name: String,
    #[serde(rename = "match")]
    pub matcher: ExecutableMatch,
    pub license_server: String,
    pub feature: String,
    /// Absent: watched, never harvested.
    #[serde(default)]
    pub harvest: Option<Policy>,
}

/// How a process is recognised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum ExecutableMatch {
    /// The executable's file name, exactly (`matlab`, `abaqus.exe`).
    Name(String),
    /// A pattern over the executable's full path: `?` is one character, `*` any run of
    /// characters within one path component, `**` any run across components
    /// (`/opt/*/bin/matlab`, `C:\Program Files\**\abaqus.exe`).
    Path(String),
}

impl ExecutableMatch {
    /// Whether the executable `name` at `path` (when the OS tells it) is this application.
    pub fn matches(&self, name: &str, path: Option<&str>) -> bool {
        match self {
            ExecutableMatch::Name(wanted) => wanted == name,
            ExecutableMatch::Path(pattern) => {
                path.is_some_and(|path| glob(pattern.as_bytes(), path.as_bytes()))
            }
        }
    }
}

/// Glob matching without backtracking blow-up: patterns are short, paths too, and the
/// recursion is bounded by their lengths (memoised on the two positions).
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let mut memo = vec![None; (pattern.len() + 1) * (text.len() + 1)];
    glob_at(pattern, text, 0, 0, &mut memo)
}

fn glob_at(p: &[u8], t: &[u8], i: usize, j: usize, memo: &mut [Option<bool>]) -> bool {
    let key = i * (t.len() + 1) + j;
    if let Some(known) = memo[key] {
        return known;
    }
    let separator = |c: u8| c == b'/' || c == b'\\';
    let result = match p.get(i) {
        None => j == t.len(),
        Some(b'*') if p.get(i + 1) == Some(&b'*') => {
            // `**` matches any run, separators included.
            (j..=t.len()).any(|k| glob_at(p, t, i + 2, k, memo))
        }
        Some(b'*') => {
            let end = t[j..]
                .iter()
                .position(|c| separator(*c))
                .map_or(t.len(), |n| j + n);
            (j..=end).any(|k| glob_at(p, t, i + 1, k, memo))
        }
        Some(b'?') => t.get(j).is_some_and(|c| !separator(*c)) && glob_at(p, t, i + 1, j + 1, memo),
        Some(c) => t.get(j) == Some(c) && glob_at(p, t, i + 1, j + 1, memo),
    };
    memo[key] = Some(result);
    result
}

/// Why a configuration is refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    #[error("report_interval_secs must be between 1 and 3600, got {0}")]
    ReportInterval(u64),
    #[error("application `{0}`: the executable name or path pattern is empty")]
    EmptyMatch(String),
    #[error("application `{application}`: {error}")]
    Policy {
        application: String,
        error: PolicyError,
    },
}

impl AgentConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=3600).contains(&self.report_interval_secs) {
            return Err(ConfigError::ReportInterval(self.report_interval_secs));
        }
        for app in &self.applications {
            let (ExecutableMatch::Name(text) | ExecutableMatch::Path(text)) = &app.matcher;
            if text.is_empty() {
                return Err(ConfigError::EmptyMatch(app.name.clone()));
            }
            if let Some(policy) = &app.harvest {
                policy.validate().map_err(|error| ConfigError::Policy {
                    application: app.name.clone(),
                    error,
                })?;
            }
        }
        Ok(())
    }

    /// The first application the executable is.
    pub fn application_of(&self, name: &str, path: Option<&str>) -> Option<&WatchedApplication> {
        self.applications
            .iter()
            .find(|app| app.matcher.matches(name, path))
    }
}

/// The id the server de-duplicates reports on: an agent numbers its reports 1, 2, 3… and
/// never reuses a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportId {
    pub agent: AgentId,
    pub sequence: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Report {
    pub id: ReportId,
    pub host: String,
    /// When the agent took the report.
    pub time: Timestamp,
    /// The host's offset from UTC then, for working hours.
    pub utc_offset_secs: i32,
    pub heartbeat: Heartbeat,
    /// The watched processes running at `time`.
    pub processes: Vec<ProcessReport>,
    /// Results of harvest orders carried out since the previous report.
    pub harvests: Vec<HarvestResult>,
}

/// The agent's own state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Heartbeat {
    pub agent_version: String,
    pub started: Timestamp,
    /// Reports waiting in the agent's queue when this one was taken (this one included).
    pub queued: u64,
    /// Reports dropped, ever, because the queue was full while the server was unreachable.
    pub dropped: u64,
    /// The latest problems the agent met (bounded), for the Agents page.
    pub errors: Vec<String>,
}

/// One watched process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessReport {
    /// The [`WatchedApplication::name`] it matched.
    pub application: String,
    pub pid: u32,
    /// The owner's user name, when the OS tells it.
    pub user: Option<String>,
    pub executable: String,
    pub path: Option<String>,
    /// With `pid`, identifies the process: pids are reused.
    pub started: Timestamp,
    /// CPU time used since start, milliseconds.
    pub cpu_time_ms: u64,
    /// CPU use over `cpu_since..time` of the report, in % of one core.
    pub cpu_percent: f64,
    pub cpu_since: Timestamp,
    /// Seconds since the user's last input to this process's session, when the OS tells it.
    pub input_idle_secs: Option<u64>,
    /// Stopped by a Suspend harvest and not resumed yet.
    pub suspended: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportAnswer {
    pub receipt: Receipt,
    pub orders: Vec<HarvestOrder>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Receipt {
    /// Stored now.
    Accepted,
    /// Stored before: the agent resent it because the first answer was lost.
    Duplicate,
}

/// The server's id of a harvest order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OrderId(pub i64);

/// Release one process's licence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HarvestOrder {
    pub id: OrderId,
    pub pid: u32,
    /// The process's start time as reported: a different process under a reused pid is
    /// left alone.
    pub started: Timestamp,
    pub application: String,
    pub method: ReleaseMethod,
    pub reasons: Reasons,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HarvestResult {
    pub order: OrderId,
    pub pid: u32,
    pub application: String,
    pub method: ReleaseMethod,
    pub time: Timestamp,
    pub outcome: HarvestOutcome,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind", deny_unknown_fields)]
pub enum HarvestOutcome {
    /// Dry run: recorded, the process left running.
    Recorded,
    /// Gone after the close request.
    Closed,
    /// Still running after the close request (Graceful does not insist).
    StillRunning,
    /// Killed after ignoring the close request for the grace time.
    Killed,
    Suspended,
    /// A suspended process continued because its user gave input again.
    Resumed,
    /// The process had already exited, or its pid is another process now.
    Gone,
    /// The order could not be carried out.
    Failed {
        reason: String,
    },
}

impl HarvestOutcome {
    /// The kind as stored and shown (`killed`, `still-running`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            HarvestOutcome::Recorded => "recorded",
            HarvestOutcome::Closed => "closed",
            HarvestOutcome::StillRunning => "still-running",
            HarvestOutcome::Killed => "killed",
            HarvestOutcome::Suspended => "suspended",
            HarvestOutcome::Resumed => "resumed",
            HarvestOutcome::Gone => "gone",
            HarvestOutcome::Failed { .. } => "failed",
        }
    }

    /// Whether the process let its licence go.
    pub fn released(&self) -> bool {
        matches!(
            self,
            HarvestOutcome::Closed | HarvestOutcome::Killed | HarvestOutcome::Suspended
        )
    }
}

impl ReleaseMethod {
    /// The method's name as stored and shown.
    pub fn kind(&self) -> &'static str {
        match self {
            ReleaseMethod::DryRun => "dry-run",
            ReleaseMethod::Graceful => "graceful",
            ReleaseMethod::Force { .. } => "force",
            ReleaseMethod::Suspend => "suspend",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(p: &str) -> ExecutableMatch {
        ExecutableMatch::Path(p.to_string())
    }

    #[test]
    fn names_match_exactly() {
        let m = ExecutableMatch::Name("matlab".into());
        assert!(m.matches("matlab", Some("/opt/matlab/bin/matlab")));
        assert!(m.matches("matlab", None));
        assert!(!m.matches("matlab-helper", None));
        assert!(!m.matches("MATLAB", None));
    }

    #[test]
    fn path_patterns_star_stays_in_one_component() {
        assert!(path("/opt/*/bin/matlab").matches("matlab", Some("/opt/R2024a/bin/matlab")));
        assert!(!path("/opt/*/bin/matlab").matches("matlab", Some("/opt/a/b/bin/matlab")));
        assert!(path("/opt/**/matlab").matches("matlab", Some("/opt/a/b/bin/matlab")));
        assert!(path("/opt/abaqus/abq20??").matches("abq2024", Some("/opt/abaqus/abq2024")));
        assert!(!path("/opt/abaqus/abq20??").matches("abq202", Some("/opt/abaqus/abq202")));
        assert!(path(r"C:\Program Files\**\abaqus.exe").matches(
            "abaqus.exe",
            Some(r"C:\Program Files\Dassault\SIMULIA\abaqus.exe")
        ));
        // No path from the OS: a path pattern cannot match.
        assert!(!path("**").matches("x", None));
    }

    #[test]
    fn pathological_patterns_finish() {
        let pattern = "*a".repeat(40) + "b";
        let text = "a".repeat(200);
        assert!(!path(&pattern).matches("x", Some(&text)));
        assert!(!path(&"**a".repeat(40)).matches("x", Some(&"a/".repeat(100))));
    }

    #[test]
    fn the_first_matching_application_wins() {
        let config: AgentConfig = serde_json::from_str(
            r#"{"applications":[
                {"name":"Abaqus","match":{"path":"/opt/**/abaqus"},"license_server":"dsls","feature":"abaqus"},
                {"name":"Any abaqus","match":{"name":"abaqus"},"license_server":"dsls","feature":"other"}
            ]}"#,
        )
        .expect("config");
        assert_eq!(config.report_interval_secs, 30);
        assert_eq!(config.validate(), Ok(()));
        let app = config.application_of("abaqus", Some("/opt/x/abaqus"));
        assert_eq!(app.map(|a| a.name.as_str()), Some("Abaqus"));
        let app = config.application_of("abaqus", Some("/usr/bin/abaqus"));
        assert_eq!(app.map(|a| a.name.as_str()), Some("Any abaqus"));
        assert!(config.application_of("bash", Some("/bin/bash")).is_none());
    }

    #[test]
    fn unknown_fields_and_bad_values_are_refused() {
        let unknown = serde_json::from_str::<AgentConfig>(r#"{"applications":[],"colour":1}"#);
        assert!(unknown.is_err_and(|e| e.to_string().contains("colour")));
        let config = AgentConfig {
            report_interval_secs: 0,
            applications: vec![],
        };
        assert_eq!(config.validate(), Err(ConfigError::ReportInterval(0)));
    }

    #[test]
    fn reports_round_trip() {
        let report = Report {
            id: ReportId {
                agent: AgentId(7),
                sequence: 42,
            },
            host: "ws1".into(),
            time: 1_796_637_600,
            utc_offset_secs: 3600,
            heartbeat: Heartbeat {
                agent_version: "0.1.0".into(),
                started: 1_796_637_000,
                queued: 1,
                dropped: 0,
                errors: vec![],
            },
            processes: vec![ProcessReport {
                application: "MATLAB".into(),
                pid: 4242,
                user: Some("alice".into()),
                executable: "matlab".into(),
                path: None,
                started: 1_796_630_000,
                cpu_time_ms: 1500,
                cpu_percent: 0.5,
                cpu_since: 1_796_637_570,
                input_idle_secs: None,
                suspended: false,
            }],
            harvests: vec![HarvestResult {
                order: OrderId(3),
                pid: 4141,
                application: "MATLAB".into(),
                method: ReleaseMethod::Force { grace_secs: 5 },
                time: 1_796_637_590,
                outcome: HarvestOutcome::Killed,
            }],
        };
        let json = serde_json::to_string(&report).expect("serialise");
        assert!(json.contains(r#""id":{"agent":7,"sequence":42}"#), "{json}");
        assert!(json.contains(r#""outcome":{"kind":"killed"}"#), "{json}");
        let back: Report = serde_json::from_str(&json).expect("parse");
        assert_eq!(back, report);
    }
}
