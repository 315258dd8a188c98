//! # tally-store
//!
//! Tally's usage history in SQL, on one of three backends chosen by the URL given to
//! [`Store::open`] (`tally --db URL`):
//!
//! | URL | backend | for |
//! | --- | --- | --- |
//! | `sqlite://PATH` | SQLite, embedded (the default) | one machine, hundreds of servers |
//! | `postgres://USER:PASSWORD@HOST/DB` (or `postgresql://`) | PostgreSQL 13+ | production, several `tally serve` nodes |
//! | `mysql://USER:PASSWORD@HOST/DB` (or `mariadb://`) | MariaDB 10.5+ | sites that run MariaDB |
//!
//! The schema is created and migrated at open (one migrations folder per backend, embedded in
//! the binary); on PostgreSQL and MariaDB the database itself is created if missing and the
//! account may. Every write goes through one writer task holding one connection, so an import's
//! parsing overlaps with the commit of its previous batch and writes never contend; reads use a
//! small pool. How the backends share one implementation: see `db.rs`.
//!
//! An import batch and the checkpoint that covers it commit in one transaction
//! ([`Store::commit_batch`]): an import killed at any point resumes exactly where its last
//! commit ended, and importing a file again adds nothing.
//!
//! Hourly rollups (per feature and hour, and per user and host within it) are rewritten in the
//! same transaction as the facts they cover, so reports never scan raw sessions:
//! [`Store::hour_rollups`] and [`Store::user_hours`] read them for a [`RollupFilter`] (server,
//! feature, time window), and `tally_core::report` folds them into days, ISO or Sunday weeks,
//! months and years; reports that fold the whole window as one group read it added up in SQL
//! ([`Store::hour_totals`], [`Store::user_totals`]): moving rows out of the database, not adding
//! them up, is what a report's time goes to. What counts and how it stays exact: see `rollups.rs` (and `poll_rollups.rs`
//! for how a poll extends them in place).
//! [`Store::logged_hours`] gives the hours logging was on, every average's denominator
//! (`logged.rs`).
#![forbid(unsafe_code)]

mod accounts;
mod agents;
mod backup;
mod capacity;
mod cells;
mod claims;
mod clock;
mod coarse;
mod current;
mod db;
mod error;
mod jobs;
mod leases;
mod licence;
mod logged;
mod migrate;
mod mysql;
mod pages;
mod poll_rollups;
mod postgres;
mod refusals;
mod replace;
mod rollups;
mod servers;
mod sqlite;
mod store;
#[cfg(feature = "testing")]
pub mod testing;
mod totals;
mod url;
mod writer;
mod zones;

pub use accounts::{Account, AccountId, Token, TokenId, WebSession};
pub use agents::{
    AgentRow, AgentRowId, AgentSessionRow, HarvestEventRow, NewOrder, NewWatched, OrderRow,
    ProcessWrite, ReportWrite, ResultWrite, WatchedRow,
};
pub use backup::{BackupCheck, BackupReport, check_backup, sqlite_path};
pub use capacity::{CapacityRow, MAX_ISSUED, OperatorCapacity};
pub use claims::{ClaimHolder, FileClaim, LEASE};
pub use current::{LatestSample, OpenSession};
pub use error::StoreError;
pub use jobs::{Job, JobId, JobState};
pub use licence::{Incident, IncidentScope, InstalledLicence, poll_check};
pub use migrate::AfterFailure;
pub use pages::{DenialEntry, FactFilter, MAX_PAGE, Party, PartyEntry, SampleEntry, SessionEntry};
pub use rollups::{FeatureInfo, MAX_READ_ROWS, RollupFilter};
pub use servers::{PollCounts, Server, ServerConfig, VendorDaemonRow};
pub use sqlite::with_read_deadline;
pub use store::{Store, redact};
pub use url::DatabaseUrl;

use serde::Serialize;

/// Diagnostics kept per import run (all are counted).
pub const DIAGNOSTICS_KEPT: i64 = 1000;

pub type ServerId = i64;
pub type RunId = i64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    Running,
    Complete,
    Failed,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Complete => "complete",
            RunStatus::Failed => "failed",
        }
    }

    fn parse(s: &str) -> RunStatus {
        match s {
            "complete" => RunStatus::Complete,
            "failed" => RunStatus::Failed,
            _ => RunStatus::Running,
        }
    }
}

/// How a file is recognised again: the sha256 of its first `head_len` bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileIdentity {
    pub head_len: i64,
    pub head_hash: String,
}

/// Where an import stands: everything before `offset` is committed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Checkpoint {
    pub offset: u64,
    /// sha256 of the last line before `offset`: proves the file still holds what was read.
    pub last_line_hash: String,
    /// The importer's own state (open checkouts, current date), opaque to the host.
    pub state: Vec<u8>,
    pub lines: u64,
}

/// A new import run.
#[derive(Debug, Clone)]
pub struct NewImport {
    pub server_id: ServerId,
    pub format: String,
    pub plugin: String,
    pub plugin_version: String,
    pub path: String,
    pub identity: FileIdentity,
}

/// An import run as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportRun {
    pub id: RunId,
    pub server_id: ServerId,
    pub format: String,
    pub plugin: String,
    pub path: String,
    #[serde(skip)]
    pub identity: FileIdentity,
    #[serde(skip)]
    pub checkpoint: Checkpoint,
    pub counts: FactCounts,
    pub status: RunStatus,
    pub error: Option<String>,
    /// Unix seconds.
    pub started: i64,
    pub finished: Option<i64>,
}

/// Facts written, per kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct FactCounts {
    pub sessions: u64,
    pub denials: u64,
    pub queued: u64,
    pub server_events: u64,
    pub malformed: u64,
    pub diagnostics: u64,
}

impl std::ops::AddAssign for FactCounts {
    fn add_assign(&mut self, o: FactCounts) {
        self.sessions += o.sessions;
        self.denials += o.denials;
        self.queued += o.queued;
        self.server_events += o.server_events;
        self.malformed += o.malformed;
        self.diagnostics += o.diagnostics;
    }
}

/// Rows per table: what a test or `tally status` compares.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RowCounts {
    pub servers: u64,
    pub features: u64,
    pub users: u64,
    pub hosts: u64,
    pub sessions: u64,
    pub denials: u64,
    pub queued: u64,
    pub server_events: u64,
    pub import_runs: u64,
}
