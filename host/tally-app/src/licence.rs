//! Tally's own licence in force, with usage and violations: one home for `tally license
//! show|install|remove`, `GET|PUT|DELETE /api/v1/license`, the write gate's restricted access
//! mode, and the licence's say on polls, imports and which servers are monitored
//! (tally-core `licence` decides; the store counts).
//!
//! # Deciding per request, cheaply
//!
//! Counting usage reads every hourly user row of the database, and the gate is asked on every
//! write. So the gate reads the last assessment kept in memory ([`Standing`]), and Tally
//! assesses again only when the answer can change:
//!
//! - the licence changes: [`install`] and [`remove`] assess at once; a licence installed by
//!   another process on the same database is seen by the scheduler, which compares the
//!   installed file every few seconds (one small row);
//! - data is added: an import assesses when it ends; a poll that saved users new to the count
//!   marks the assessment stale, and the scheduler assesses again within half a minute (a poll
//!   cannot itself exceed a limit: [`App::check_poll_licence`] refuses it first);
//! - data is removed: removing a license server assesses at once;
//! - time passes (expiry, the 14-day and 3-month windows): the scheduler assesses every 5
//!   minutes.
//!
//! A one-shot command assesses once when it starts.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use anyhow::Context;
use tally_core::Snapshot;
use tally_core::licence::{
    self, Counted, DottedVersion, Licence, Moment, Product, Status, UserAtHost, Violation,
};
use tally_core::status::{licence_hold, under_licence};
use tally_store::{IncidentScope, ServerId};

use crate::App;
use crate::access::{AccessError, Actor};

/// This release's date: maintenance is judged against it (a licence whose maintenance ended
/// before covers no Tally released after). Set at each release; a build may override it with
/// `TALLY_RELEASE_DATE=YYYY-MM-DD`.
const RELEASED: &str = match option_env!("TALLY_RELEASE_DATE") {
    Some(d) => d,
    None => "2026-12-01",
};

/// Assessed again at least this often: expiry and the counting windows move with time.
pub const REASSESS_EVERY: Duration = Duration::from_secs(300);
/// A stale assessment (polls saved new users) is made again after at most this long, so a
/// busy poller costs one count per half minute, not one per poll.
pub const STALE_REASSESS_AFTER: Duration = Duration::from_secs(30);

/// The running Tally, as licences see it.
pub fn product() -> anyhow::Result<Product> {
    Ok(Product {
        version: DottedVersion::parse(env!("CARGO_PKG_VERSION"))
            .context("this build's version is not a dotted version")?,
        released: RELEASED
            .parse()
            .with_context(|| format!("this build's release date `{RELEASED}` is not a date"))?,
    })
}

/// One assessment of the licence in force.
#[derive(Debug, Clone)]
pub struct Standing {
    pub licence: Licence,
    /// Why the installed licence file is not in force (no trusted key verifies it).
    pub refused_file: Option<String>,
    pub usage: licence::Usage,
    /// The licence, its limits with usage, the violations and restricted access mode.
    pub status: Status,
    /// The installed file assessed (`None`: the Community licence), to see another process
    /// install one.
    pub file: Option<i64>,
    /// Judged by the seeds' start-up rows or their run-time rows.
    pub moment: Moment,
    made: Instant,
}

impl Standing {
    /// The violation that puts Tally in restricted access mode, if any.
    pub fn restriction(&self) -> Option<&Violation> {
        self.status
            .violations
            .iter()
            .find(|v| v.outcome.restricts())
    }
}

/// Open incidents read when the poll checks start: one per server at most is open.
const OPEN_POLL_INCIDENTS_READ: i64 = 100_000;

/// The last assessment and what polls need between two (see the module's comment).
#[derive(Debug, Default)]
pub struct Gate {
    standing: RwLock<Option<Arc<Standing>>>,
    /// Polls saved users new to the count since the assessment.
    stale: AtomicBool,
    /// One assessment at a time.
    assessing: tokio::sync::Mutex<()>,
    polls: tokio::sync::Mutex<PollLedger>,
    /// Enabled polled servers past the server limit: not monitored.
    exceeded: RwLock<HashSet<ServerId>>,
}

/// What the poll checks keep between assessments.
#[derive(Debug, Default)]
struct PollLedger {
    /// Who counts against the user and host limits, by name; read again after an assessment.
    counted: Option<Counted>,
    /// The manager version last recorded per server (recorded again only when it changes).
    versions: HashMap<ServerId, String>,
    /// Each server's manager version as a licence with the maintenance end kept beside it
    /// judges it, read when it was kept instead of at every poll: forgotten when the server
    /// records another version, and read again after [`REASSESS_EVERY`] (what other processes
    /// recorded).
    judged_versions: HashMap<ServerId, JudgedVersion>,
    /// Servers with an open poll incident, so a clean poll closes it; `None` until read.
    incidents: Option<HashSet<ServerId>>,
}

#[derive(Debug)]
struct JudgedVersion {
    maintenance_end: Option<chrono::NaiveDate>,
    read: Instant,
    version: Option<tally_core::licence::ManagerVersion>,
}

impl Gate {
    fn current(&self) -> Option<Arc<Standing>> {
        self.standing
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// Why a licence change was refused.
#[derive(Debug, thiserror::Error)]
pub enum LicenceChangeError {
    #[error(transparent)]
    Access(#[from] AccessError),
    /// The file does not verify or is not a licence; the text says what failed.
    #[error("the licence is not installed: {0}")]
    Refused(licence::LicenceError),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl App {
    /// The licence in force as last assessed; assessed now if it never was.
    pub async fn licence(&self) -> anyhow::Result<Arc<Standing>> {
        match self.licence_gate.current() {
            Some(standing) => Ok(standing),
            None => self.assess_licence().await,
        }
    }

    /// The violation putting Tally in restricted access mode, as last assessed: what the write
    /// gate asks on every request (no counting here). Nothing before the first assessment.
    pub fn licence_restriction(&self) -> Option<Violation> {
        self.licence_gate.current()?.restriction().cloned()
    }

    /// Whether the licence lets the scheduler monitor `server` (not past the server limit).
    pub fn licence_monitors(&self, server: ServerId) -> bool {
        !self
            .licence_gate
            .exceeded
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&server)
    }

    /// Counts usage and judges the licence in force now. The first assessment of a process,
    /// and the first after a licence is put in force, are the seeds' start-up checks, and so
    /// are the later ones while the violation found then lasts; the others are run-time checks.
    pub async fn assess_licence(&self) -> anyhow::Result<Arc<Standing>> {
        let _one = self.licence_gate.assessing.lock().await;
        let previous = self.licence_gate.current();
        let installed = self.store.installed_licence().await?;
        let community = Licence::community(&product()?.version);
        let (licence, refused_file) = match &installed {
            None => (community, None),
            Some(file) => match Licence::from_file(&file.text, &self.licence_keys) {
                Ok(l) => (l, None),
                Err(e) => (community, Some(e.to_string())),
            },
        };
        let file = installed.map(|f| f.id);
        let moment = match &previous {
            Some(p) if p.file == file && p.moment == Moment::RunTime => Moment::RunTime,
            Some(p) if p.file == file && p.restriction().is_none() => Moment::RunTime,
            _ => Moment::StartUp,
        };
        let now = crate::now();
        self.licence_gate.stale.store(false, Ordering::Relaxed);
        let harvesting = crate::agents::harvesting_agents(self).await?;
        let usage = self.store.licence_usage(&licence, now, harvesting).await?;
        let status = licence::status(&licence, &product()?, &usage, moment, now);
        let standing = Arc::new(Standing {
            licence,
            refused_file,
            usage,
            status,
            file,
            moment,
            made: Instant::now(),
        });
        *self
            .licence_gate
            .standing
            .write()
            .unwrap_or_else(|e| e.into_inner()) = Some(standing.clone());
        self.licence_gate.polls.lock().await.counted = None;
        Ok(standing)
    }

    /// Marks the assessment stale: data that counts was added.
    pub fn licence_data_added(&self) {
        self.licence_gate.stale.store(true, Ordering::Relaxed);
    }

    /// Assesses again when it is due (see the module's comment); whether it did.
    pub async fn keep_licence_current(&self) -> anyhow::Result<bool> {
        let due = match self.licence_gate.current() {
            None => true,
            Some(s) => {
                let age = s.made.elapsed();
                let file = self.store.installed_licence().await?.map(|f| f.id);
                file != s.file
                    || age >= REASSESS_EVERY
                    || (self.licence_gate.stale.load(Ordering::Relaxed)
                        && age >= STALE_REASSESS_AFTER)
            }
        };
        if due {
            self.assess_licence().await?;
        }
        Ok(due)
    }

    /// Records the installation's violations as incidents (opening new ones, closing those
    /// gone); the incidents newly opened are returned (their notifications are due).
    pub async fn record_licence_incidents(
        &self,
        standing: &Standing,
    ) -> anyhow::Result<Vec<tally_store::Incident>> {
        let opened = self
            .store
            .record_licence_incidents(
                IncidentScope::Assessment,
                &standing.status.violations,
                crate::now(),
            )
            .await?;
        announce(&opened);
        Ok(opened)
    }

    /// Decides which enabled polled servers are monitored (oldest first; the rest show
    /// "License Exceeded") and shows what the licence holds each enabled server to: "License
    /// Exceeded", Disabled (Model 2013's run-time restricted access mode), or free again.
    pub async fn hold_servers(&self) -> anyhow::Result<()> {
        let standing = self.licence().await?;
        let candidates = self
            .store
            .licence_server_candidates(&standing.licence)
            .await?;
        let admissions = licence::admit_servers(&standing.licence, &standing.usage, &candidates);
        let refused: Vec<Violation> = admissions
            .iter()
            .filter_map(|a| a.violation.clone())
            .collect();
        announce(
            &self
                .store
                .record_licence_incidents(IncidentScope::Servers, &refused, crate::now())
                .await?,
        );
        *self
            .licence_gate
            .exceeded
            .write()
            .unwrap_or_else(|e| e.into_inner()) = admissions
            .iter()
            .filter(|a| !a.monitored)
            .map(|a| a.server)
            .collect();
        for server in self.store.servers().await? {
            if !server.config.enabled {
                continue;
            }
            let admission = admissions.iter().find(|a| a.server == server.id);
            let hold = licence_hold(&standing.status.violations, admission);
            let polled = server.config.poll_format.is_some();
            let held = under_licence(server.remote_status, server.import_status, polled, &hold);
            if let Some(remote) = held.remote {
                self.store
                    .set_licence_remote_status(server.id, remote.status, remote.reason.as_deref())
                    .await?;
            }
            if let Some(import) = held.import {
                self.store
                    .set_import_status(server.id, import.status, import.reason)
                    .await?;
            }
        }
        Ok(())
    }

    /// Judges a poll of `server` before its data is saved: the violations found (then the
    /// data is skipped and the server shows Offline with them), or none. Records the server's
    /// manager version, and an incident per violation.
    pub async fn check_poll_licence(
        &self,
        server: ServerId,
        snapshot: &Snapshot,
        now: i64,
    ) -> anyhow::Result<Vec<Violation>> {
        let standing = self.licence().await?;
        let store = &self.store;
        let users: Vec<UserAtHost> = snapshot
            .checkouts
            .iter()
            .map(|c| UserAtHost {
                user: c.user.clone(),
                host: c.host.clone(),
            })
            .collect();
        // One check at a time: two polls near the limit cannot both take its last places.
        let mut ledger = self.licence_gate.polls.lock().await;
        if let Some(version) = snapshot.servers.iter().find_map(|s| s.version.clone())
            && ledger.versions.get(&server) != Some(&version)
        {
            store.record_manager_version(server, &version, now).await?;
            ledger.versions.insert(server, version);
            ledger.judged_versions.remove(&server);
        }
        let ledger = &mut *ledger;
        let incidents = match ledger.incidents.take() {
            Some(known) => known,
            None => store
                .licence_incidents(true, OPEN_POLL_INCIDENTS_READ)
                .await?
                .iter()
                .filter_map(|i| match i.scope {
                    IncidentScope::Poll(id) => Some(id),
                    _ => None,
                })
                .collect(),
        };
        let incidents = ledger.incidents.insert(incidents);
        let counted = match ledger.counted.take() {
            Some(known) => known,
            None => store.licence_counted(&standing.licence, now).await?,
        };
        let counted = ledger.counted.insert(counted);
        let maintenance_end = standing.licence.terms.maintenance_end;
        let version = match ledger.judged_versions.get(&server) {
            Some(j)
                if j.maintenance_end == maintenance_end && j.read.elapsed() < REASSESS_EVERY =>
            {
                j.version.clone()
            }
            _ => {
                let version = store.manager_version(server, &standing.licence).await?;
                let judged = JudgedVersion {
                    maintenance_end,
                    read: Instant::now(),
                    version: version.clone(),
                };
                ledger.judged_versions.insert(server, judged);
                version
            }
        };
        let check = tally_store::poll_check(&standing.licence, counted, server, &users, version);
        let usage = standing.usage.with_counted(counted);
        let found = licence::check_poll(&standing.licence, &usage, &check);
        if found.is_empty() {
            if check.new_users > 0 || check.new_hosts > 0 {
                self.licence_data_added();
            }
            users.iter().for_each(|u| counted.add(u));
        }
        if !found.is_empty() || incidents.contains(&server) {
            announce(
                &store
                    .record_licence_incidents(IncidentScope::Poll(server), &found, now)
                    .await?,
            );
            if found.is_empty() {
                incidents.remove(&server);
            } else {
                incidents.insert(server);
            }
        }
        Ok(found)
    }

    /// Whether an import into the server called `server` may run: not in restricted access
    /// mode, and not when it needs a server past the limit (then nothing is created). A
    /// refusal is recorded as an incident; the error says what to do next.
    pub async fn admit_import(&self, server: &str, denials_only: bool) -> anyhow::Result<()> {
        let standing = self.licence().await?;
        if let Some(v) = standing.restriction() {
            anyhow::bail!(
                "no log is imported in restricted access mode: {}",
                v.explain()
            );
        }
        let now = crate::now();
        let target = self
            .store
            .licence_import_target(&standing.licence, server, denials_only, now)
            .await?;
        match licence::admit_import(&standing.licence, &standing.usage, target) {
            Ok(()) => Ok(()),
            Err(v) => {
                announce(
                    &self
                        .store
                        .record_licence_incidents(
                            IncidentScope::Import,
                            std::slice::from_ref(&v),
                            now,
                        )
                        .await?,
                );
                anyhow::bail!("refused: {}", v.explain())
            }
        }
    }
}

/// Announces incidents just opened: each is logged (the notification the seeds send where
/// notifications are configured; Tally has no other channel yet).
fn announce(opened: &[tally_store::Incident]) {
    for incident in opened {
        tracing::warn!(row = %incident.row, subject = %incident.subject.key(), "licence violation: {}", incident.message);
    }
}

/// The licence, usage and violations now, and why an installed file is refused: assessed
/// again when the last assessment is stale, so the gauges follow imports.
pub async fn current_status(app: &App) -> anyhow::Result<Arc<Standing>> {
    if app.licence_gate.stale.load(Ordering::Relaxed) || app.licence_gate.current().is_none() {
        return app.assess_licence().await;
    }
    app.licence().await
}

/// Installs a licence file: verified by a trusted key first, in force at once (restricted
/// access mode lifts when it resolves the violation). Allowed to administrators in restricted
/// access mode: the seeds name it as the way out.
pub async fn install(
    app: &App,
    by: &Actor,
    text: &str,
) -> Result<Arc<Standing>, LicenceChangeError> {
    app.needs_administrator(by, "installing a licence")?;
    Licence::from_file(text, &app.licence_keys).map_err(LicenceChangeError::Refused)?;
    app.store
        .install_licence(text)
        .await
        .map_err(anyhow::Error::from)?;
    Ok(app.assess_licence().await?)
}

/// Removes the installed licence: the Community licence is in force. Whether one was.
pub async fn remove(app: &App, by: &Actor) -> Result<(bool, Arc<Standing>), LicenceChangeError> {
    app.needs_administrator(by, "removing the licence")?;
    let removed = app
        .store
        .remove_licence()
        .await
        .map_err(anyhow::Error::from)?;
    Ok((removed, app.assess_licence().await?))
}
