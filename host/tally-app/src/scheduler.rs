//! The scheduler: one task per enabled license server polls it at its query interval (with
//! jitter, so servers added together do not poll in lockstep), another follows its log files.
//! A semaphore bounds polls in flight; a slow or hung server only delays itself (its command has
//! a timeout), and nothing here blocks the API.
//!
//! Each poll is claimed through the database first (`Store::claim_poll`): several `tally serve`
//! processes on one database never poll one server in the same interval, and when the one
//! polling it dies another takes over once its claim expires.
//!
//! The supervisor looks every few seconds whether the servers' configuration changed (one row,
//! `Store::config_version`), and then restarts the tasks of the servers that changed, so
//! `tally server edit|enable|disable` takes effect without a restart.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tally_core::ImportStatus;
use tally_store::{Server, ServerConfig};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

use crate::App;
use crate::follow::Follower;
use crate::poll::poll_once;

/// Polls running at once, whatever the number of servers.
pub const POLLS_IN_FLIGHT: usize = 32;
/// How often the supervisor looks for changed servers.
const SUPERVISE_EVERY: Duration = Duration::from_secs(2);

/// A claim on a server's polls lasts this many of its intervals (and [`CLAIM_SLACK_SECS`])
/// after each poll: another node takes over after two polls that did not happen.
const CLAIM_INTERVALS: i64 = 2;
/// Room for a slow status command before a claim runs out.
const CLAIM_SLACK_SECS: i64 = 30;

/// Runs until the task is dropped or aborted.
pub async fn run(app: Arc<App>) {
    match crate::jobs::fail_abandoned(&app).await {
        Ok(0) => {}
        Ok(n) => tracing::warn!("{n} import jobs were interrupted by a restart"),
        Err(error) => tracing::error!("cannot look for interrupted import jobs: {error}"),
    }
    let permits = Arc::new(Semaphore::new(POLLS_IN_FLIGHT));
    let mut running: HashMap<i64, (ServerConfig, Vec<JoinHandle<()>>)> = HashMap::new();
    // The configuration version the running tasks follow: the servers are read again only
    // when it changes (reading 1,000 servers every round cost more than polling them).
    let mut following = None;
    loop {
        match changed(&app.store, following).await {
            Ok(None) => {}
            Ok(Some((version, servers))) => {
                follow(&app, &permits, &mut running, servers);
                following = Some(version);
            }
            Err(error) => tracing::error!("cannot read the license servers: {error}"),
        }
        tokio::time::sleep(SUPERVISE_EVERY).await;
    }
}

/// The servers and their configuration version, when it is not `following`.
async fn changed(
    store: &tally_store::Store,
    following: Option<i64>,
) -> Result<Option<(i64, Vec<Server>)>, tally_store::StoreError> {
    let version = store.config_version().await?;
    if following == Some(version) {
        return Ok(None);
    }
    Ok(Some((version, store.servers().await?)))
}

/// Stops the tasks of servers removed or changed, and starts those of enabled servers not
/// running.
fn follow(
    app: &Arc<App>,
    permits: &Arc<Semaphore>,
    running: &mut HashMap<i64, (ServerConfig, Vec<JoinHandle<()>>)>,
    servers: Vec<Server>,
) {
    let configs: HashMap<i64, &ServerConfig> = servers.iter().map(|s| (s.id, &s.config)).collect();
    running.retain(|id, (config, tasks)| {
        let same = configs.get(id).is_some_and(|c| **c == *config);
        if !same {
            tasks.iter().for_each(JoinHandle::abort);
        }
        same
    });
    for server in servers {
        if server.config.enabled && !running.contains_key(&server.id) {
            let tasks = spawn(app, permits, &server);
            running.insert(server.id, (server.config, tasks));
        }
    }
}

fn spawn(app: &Arc<App>, permits: &Arc<Semaphore>, server: &Server) -> Vec<JoinHandle<()>> {
    let mut tasks = Vec::new();
    if server.config.poll_format.is_some() {
        tasks.push(tokio::spawn(poll_loop(
            app.clone(),
            permits.clone(),
            server.clone(),
        )));
    }
    if !server.config.follow.is_empty() {
        tasks.push(tokio::spawn(follow_loop(app.clone(), server.clone())));
    }
    tasks
}

async fn poll_loop(app: Arc<App>, permits: Arc<Semaphore>, server: Server) {
    let interval =
        Duration::from_millis(u64::from(server.config.query_interval) * 1000).max(app.min_interval);
    tokio::time::sleep(jitter(server.id, interval)).await;
    let mut ticks = tokio::time::interval(interval);
    // A late poll is not made up for: the next one comes an interval after it.
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let Ok(_permit) = permits.acquire().await else {
            return;
        };
        let now = crate::now();
        let expires = now + CLAIM_INTERVALS * interval.as_secs() as i64 + CLAIM_SLACK_SECS;
        match app
            .store
            .claim_poll(server.id, &app.node, now, expires)
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                tracing::debug!(server = %server.config.name, "polled by another node");
                continue;
            }
            Err(error) => {
                tracing::error!(server = %server.config.name, "cannot claim a poll: {error}");
                continue;
            }
        }
        match poll_once(&app.store, &app.registry, &app.tools, &server, now).await {
            Ok((result, counts)) => {
                tracing::debug!(server = %server.config.name, ?counts, ok = matches!(result, tally_core::PollResult::Answered(_)), "polled")
            }
            Err(error) => {
                tracing::error!(server = %server.config.name, "cannot record a poll: {error:#}")
            }
        }
    }
}

async fn follow_loop(app: Arc<App>, server: Server) {
    let mut follower = Follower::default();
    loop {
        if let Err(error) = follower.tick(&app.store, &app.registry, &server).await {
            tracing::error!(server = %server.config.name, "following failed: {error:#}");
            let _ = app
                .store
                .set_import_status(server.id, ImportStatus::Failure, Some(format!("{error:#}")))
                .await;
        }
        tokio::time::sleep(app.follow_every).await;
    }
}

/// A stable spread of first polls over one interval (at most 5 s), by server id.
fn jitter(id: i64, interval: Duration) -> Duration {
    let spread = interval.min(Duration::from_secs(5)).as_millis() as u64;
    let hash = (id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32;
    Duration::from_millis(if spread == 0 { 0 } else { hash % spread })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_the_interval() {
        for id in 0..100 {
            assert!(jitter(id, Duration::from_secs(1)) < Duration::from_secs(1));
            assert!(jitter(id, Duration::from_secs(600)) < Duration::from_secs(5));
        }
        assert_ne!(
            jitter(1, Duration::from_secs(60)),
            jitter(2, Duration::from_secs(60))
        );
    }
}
