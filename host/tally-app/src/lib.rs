//! # tally-app
//!
//! The product's verbs, written once and called alike by the CLI, the REST API and the
//! scheduler. Each module is one use case:
//!
//! | module | verb |
//! | --- | --- |
//! | [`access`] | accounts, roles, tokens, logins, and the gate every write passes |
//! | [`agents`] | end-user agents: enrolment, configuration, reports, End User status, License Harvesting |
//! | [`capacity`] | capacity the operator enters per feature, with its validity range |
//! | [`clock`] | each license server's clock skew, from its polls and followed logs |
//! | [`facts`] | sessions, denials, samples, users and hosts a page at a time |
//! | [`import`] | import log files (one file, or several as one log), choose the importer |
//! | [`health`] | whether the store, the scheduler and the plugins are well |
//! | [`follow`] | import followed log files as they grow, rotate or are truncated |
//! | [`poll`] | poll one license server through its poller and record what it said |
//! | [`scheduler`] | run every enabled server's polls and follows |
//! | [`servers`] | add, edit, remove, enable, disable and hide license servers, with validation |
//! | [`spool`] | uploads waiting to be imported, bounded in size and disk space |
//! | [`metrics`] | polls and imports counted and timed, for `/metrics` |
//! | [`licence`] | Tally's own licence in force, its usage and violations, restricted access mode |
//! | [`jobs`] | import jobs started through the API, stored in the database |
//! | [`usage`] | features, current usage and usage history of a server |
//! | [`reports`] | every report: typed requests, assembly from the rollups, named rows |
//!
//! Nothing here speaks HTTP or parses a command line; errors are typed where a caller decides
//! on them, and say what went wrong in the product's words (no flags, no SQL).
#![forbid(unsafe_code)]

pub mod access;
pub mod agents;
pub mod capacity;
pub mod clock;
pub mod facts;
pub mod follow;
pub mod health;
pub mod import;
pub mod jobs;
pub mod licence;
pub mod metrics;
pub mod poll;
pub mod reports;
pub mod runs;
pub mod scheduler;
pub mod servers;
pub mod spool;
pub mod usage;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tally_plugin_host::{PluginDir, Registry};
use tally_store::Store;

pub use tally_core::time::now;

/// What the verbs share: the store, the plugins, the tools polls run and where uploads wait.
#[derive(Debug)]
pub struct App {
    pub store: Store,
    pub registry: Arc<Registry>,
    /// The operator's plugin directory, for plugin changes at run time; `None` where the
    /// plugins in use cannot change (tests, one-shot commands).
    pub plugins: Option<Arc<PluginDir>>,
    pub tools: poll::Tools,
    /// Uploads wait here while they are imported.
    pub spool: spool::Spool,
    /// How often followed files are looked at.
    pub follow_every: Duration,
    /// Shortest poll interval honoured (tests and the demo poll fast).
    pub min_interval: Duration,
    /// This process among those sharing the database: it holds poll leases and import jobs.
    pub node: String,
    /// Issuers' public keys trusted to sign Tally licences.
    pub licence_keys: Vec<tally_core::licence::PublicKey>,
    /// Each license server's clock skew as measured so far.
    pub clocks: clock::Clocks,
    /// When the scheduler's supervisor last went round (0: it is not running here).
    pub scheduler_beat: std::sync::atomic::AtomicI64,
    /// The licence's last assessment, which the write gate reads (see [`licence`]).
    pub licence_gate: licence::Gate,
    /// How end-user agents are treated (their online window, their report interval).
    pub agents: agents::AgentSettings,
}

impl App {
    pub fn new(store: Store, registry: Arc<Registry>, tools: poll::Tools, spool: PathBuf) -> App {
        App {
            store,
            registry,
            plugins: None,
            tools,
            spool: spool::Spool::new(spool),
            follow_every: Duration::from_secs(1),
            min_interval: Duration::from_secs(1),
            node: node_id(),
            licence_keys: Vec::new(),
            clocks: clock::Clocks::default(),
            scheduler_beat: Default::default(),
            licence_gate: licence::Gate::default(),
            agents: agents::AgentSettings::default(),
        }
    }
}

/// This process's name among the nodes of one database: host, process id and start time.
fn node_id() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into());
    let mut node = format!("{host}:{}:{}", std::process::id(), now());
    node.truncate(128);
    node
}
