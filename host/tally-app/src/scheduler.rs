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
//!
//! Tally's own licence has its say here too (`crate::licence`): the supervisor keeps its
//! assessment current, records each violation as an incident, and shows which servers the
//! licence holds ("License Exceeded" past the server limit, Disabled under Model 2013's
//! run-time restricted access mode). In restricted access mode nothing is polled or followed;
//! a server past the limit is not polled.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tally_core::{ImportStatus, PollResult};
use tally_store::{Server, ServerConfig};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

use crate::App;
use crate::follow::Follower;
use crate::licence::Standing;
use crate::poll::{Answered, observe_clock, poll_once};

/// Polls running at once, whatever the number of servers.
pub const POLLS_IN_FLIGHT: usize = 32;
/// How often the supervisor looks for changed servers.
const SUPERVISE_EVERY: Duration = Duration::from_secs(2);

/// A claim on a server's polls lasts this many of its intervals (and [`CLAIM_SLACK_SECS`])
/// after each poll: another node takes over after two polls that did not happen.
const CLAIM_INTERVALS: i64 = 2;
/// Room for a slow status command before a claim runs out.
const CLAIM_SLACK_SECS: i64 = 30;

/// Runs until `stop` resolves, then stops every server's polls and follows and returns once
/// they have stopped: nothing of the scheduler writes to the store after that. A poll in flight
/// is abandoned (its claim is released by the caller); an import in flight keeps its last
/// checkpoint, and the next start continues from there.
pub async fn run(app: Arc<App>, stop: impl Future<Output = ()>) {
    match crate::jobs::fail_abandoned(&app).await {
        Ok(0) => {}
        Ok(n) => tracing::warn!("{n} import jobs were interrupted by a restart"),
        Err(error) => tracing::error!("cannot look for interrupted import jobs: {error}"),
    }
    let mut stop = std::pin::pin!(stop);
    let permits = Arc::new(Semaphore::new(POLLS_IN_FLIGHT));
    let mut running: HashMap<i64, (ServerConfig, Vec<JoinHandle<()>>)> = HashMap::new();
    // The configuration version the running tasks follow: the servers are read again only
    // when it changes (reading 1,000 servers every round cost more than polling them).
    let mut following = None;
    // The licence assessment the servers' statuses follow.
    let mut judged: Option<Arc<Standing>> = None;
    loop {
        app.scheduler_beat
            .store(crate::now(), std::sync::atomic::Ordering::Relaxed);
        let standing = match app.keep_licence_current().await {
            Ok(_) => app.licence().await,
            Err(error) => Err(error),
        };
        let licence_changed = match standing {
            Ok(standing) => {
                let new = judged.as_ref().is_none_or(|j| !Arc::ptr_eq(j, &standing));
                if new {
                    record_incidents(&app, &standing).await;
                    judged = Some(standing);
                }
                new
            }
            Err(error) => {
                tracing::error!("cannot assess Tally's licence: {error:#}");
                false
            }
        };
        let servers = match changed(&app.store, following).await {
            Ok(servers) => servers,
            Err(error) => {
                tracing::error!("cannot read the license servers: {error}");
                None
            }
        };
        if (licence_changed || servers.is_some())
            && let Err(error) = app.hold_servers().await
        {
            tracing::error!("cannot apply the licence to the license servers: {error:#}");
        }
        if let Some((version, servers)) = servers {
            follow(&app, &permits, &mut running, servers);
            following = Some(version);
        }
        tokio::select! {
            () = &mut stop => break,
            () = tokio::time::sleep(SUPERVISE_EVERY) => {}
        }
    }
    let tasks: Vec<JoinHandle<()>> = running.into_values().flat_map(|(_, t)| t).collect();
    tasks.iter().for_each(JoinHandle::abort);
    for task in tasks {
        let _ = task.await;
    }
}

/// Records the assessment's violations as incidents (each new one is announced).
async fn record_incidents(app: &App, standing: &Standing) {
    if let Err(error) = app.record_licence_incidents(standing).await {
        tracing::error!("cannot record the licence's incidents: {error:#}");
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
    // The first poll comes at once; the next ones in the server's own slot of the interval, so
    // thousands of servers started together poll evenly spread, not in a burst every interval.
    let mut ticks: Option<tokio::time::Interval> = None;
    let mut previous: Option<Answered> = None;
    // While the store is away every poll fails the same way: said once, not every interval.
    let mut claims_failing = false;
    // Until when this node's claim on the server runs, as it last wrote it: a claim covers
    // two intervals, so every other poll finds it still running with room for the poll, and
    // claims nothing (one write less).
    let mut held = i64::MIN;
    let mut polled_at: Option<tokio::time::Instant> = None;
    loop {
        match &mut ticks {
            Some(ticks) => {
                let due = ticks.tick().await;
                // A poll that waited long for a permit (thousands of first polls at start)
                // leaves the next slot close behind it: that slot is skipped.
                if polled_at.is_some_and(|at| due < at + interval / 2) {
                    continue;
                }
            }
            None => {
                let first = tokio::time::Instant::now() + until_slot(server.id, interval);
                let mut slotted = tokio::time::interval_at(first, interval);
                // A late poll is not made up for, and the next stays in the server's slot.
                slotted.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
                ticks = Some(slotted);
            }
        }
        // Restricted access mode stops monitoring; a server past the limit is not monitored.
        if app.licence_restriction().is_some() || !app.licence_monitors(server.id) {
            continue;
        }
        let Ok(_permit) = permits.acquire().await else {
            return;
        };
        polled_at = Some(tokio::time::Instant::now());
        let now = crate::now();
        let expires = now + CLAIM_INTERVALS * interval.as_secs() as i64 + CLAIM_SLACK_SECS;
        let claim = if held > now + CLAIM_SLACK_SECS {
            Ok(true)
        } else {
            app.store
                .claim_poll(server.id, &app.node, now, expires)
                .await
                .inspect(|&claimed| held = if claimed { expires } else { i64::MIN })
        };
        match claim {
            Ok(claimed) => {
                if std::mem::take(&mut claims_failing) {
                    tracing::info!(server = %server.config.name, "polls claimed again");
                }
                if !claimed {
                    tracing::debug!(server = %server.config.name, "polled by another node");
                    continue;
                }
            }
            Err(error) => {
                match std::mem::replace(&mut claims_failing, true) {
                    false => {
                        tracing::error!(server = %server.config.name, "cannot claim a poll (said once until it works again): {error}")
                    }
                    true => {
                        tracing::debug!(server = %server.config.name, "cannot claim a poll: {error}")
                    }
                }
                continue;
            }
        }
        match poll_once(&app, &server, now).await {
            Ok((result, counts)) => {
                tracing::debug!(server = %server.config.name, ?counts, ok = matches!(result, PollResult::Answered(_)), "polled");
                if let PollResult::Answered(snapshot) = result {
                    let answered_at = crate::now();
                    if let Err(error) =
                        observe_clock(&app, &server, &snapshot, answered_at, previous.as_ref())
                            .await
                    {
                        tracing::warn!(server = %server.config.name, "cannot record the clock skew: {error}");
                    }
                    previous = Some(Answered {
                        started: now,
                        snapshot,
                    });
                } else {
                    // A failed poll shows nothing: the next answer cannot tell new checkouts.
                    previous = None;
                }
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
        // No more logs are imported in restricted access mode.
        if app.licence_restriction().is_some() {
            tokio::time::sleep(app.follow_every).await;
            continue;
        }
        if let Err(error) = follower.tick(&app, &server).await {
            tracing::error!(server = %server.config.name, "following failed: {error:#}");
            let _ = app
                .store
                .set_import_status(server.id, ImportStatus::Failure, Some(format!("{error:#}")))
                .await;
        }
        tokio::time::sleep(app.follow_every).await;
    }
}

/// How long from now until the server's next slot: a stable point of the interval by server
/// id on the wall clock, half an interval away at least (the poll before was just now).
fn until_slot(id: i64, interval: Duration) -> Duration {
    let period = interval.as_millis().max(1) as u64;
    let slot = slot(id, interval).as_millis() as u64;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let mut wait = (slot + period - now % period) % period;
    if wait < period / 2 {
        wait += period;
    }
    Duration::from_millis(wait)
}

/// Where in each interval the server's polls are due: this far past every multiple of the
/// interval on the wall clock (Unix time), stable by server id (the poll bench measures
/// lateness against it).
pub fn slot(id: i64, interval: Duration) -> Duration {
    let period = interval.as_millis().max(1) as u64;
    Duration::from_millis(((id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 16) % period)
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

    #[test]
    fn slots_spread_servers_over_the_interval() {
        let interval = Duration::from_secs(60);
        for id in 0..100 {
            let wait = until_slot(id, interval);
            assert!(wait >= interval / 2 && wait < interval * 3 / 2, "{wait:?}");
        }
        // 1,000 servers fall into every tenth of the interval, none holding twice its share.
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_millis() as u64;
        let mut tenths = [0u32; 10];
        for id in 1..=1000 {
            let due = now + until_slot(id, interval).as_millis() as u64;
            tenths[(due % 60_000 / 6_000) as usize] += 1;
        }
        assert!(tenths.iter().all(|&n| n > 50 && n < 200), "{tenths:?}");
    }
}
