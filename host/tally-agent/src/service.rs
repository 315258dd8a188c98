//! The agent's life: enrol once, then pull the configuration every minute, take a report every
//! interval into the on-disk queue, and send the queue oldest first whenever the server
//! answers; carry out the harvest orders that come back and report their results.
//!
//! Nothing lost: a report is fsync'd in the queue before any attempt to send it and leaves the
//! queue only once the server has answered for it. Nothing doubled: a report resent after a
//! lost answer keeps its id, which the server answers `duplicate` for.

use std::collections::{HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use anyhow::Context;
use serde::{Deserialize, Serialize};
use tally_core::agent::{
    AgentConfig, AgentId, EnrolRequest, HarvestOrder, HarvestResult, Heartbeat, OrderId, PROTOCOL,
    Receipt, Report, ReportId,
};
use tokio::sync::{Notify, mpsc};

use crate::client::{Client, ClientError, encode};
use crate::harvest::Executor;
use crate::processes::{Scanner, unix_secs};
use crate::queue::{Bounds, Counters, Delivery, Queue, write_synced};
use crate::settings::Settings;

/// Problems kept for the heartbeat.
const MAX_ERRORS: usize = 10;
/// Order ids remembered so an order repeated in a later answer is not carried out twice.
const MAX_REMEMBERED_ORDERS: usize = 4096;
/// The longest wait between two tries of an unreachable server.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Answers with orders waiting for the main loop; past it the sender waits.
const MAX_ORDER_BATCHES: usize = 64;

/// Who this agent is to the server, kept in `STATE_DIR/agent.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Identity {
    agent_id: AgentId,
    /// The server that gave the id: another server means enrolling again.
    server: String,
}

/// The latest problems, for the heartbeat and the Agents page.
#[derive(Debug, Default, Clone)]
struct Errors(Arc<Mutex<VecDeque<String>>>);

impl Errors {
    fn record(&self, error: String) {
        tracing::warn!("{error}");
        let mut errors = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if errors.len() == MAX_ERRORS {
            errors.pop_front();
        }
        errors.push_back(error);
    }

    fn snapshot(&self) -> Vec<String> {
        let errors = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        errors.iter().cloned().collect()
    }
}

/// Runs until `shutdown` completes; answers the queue's counters then.
pub async fn run(
    settings: Settings,
    token: String,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<Counters> {
    tokio::pin!(shutdown);
    let started = unix_secs(SystemTime::now());
    let client = Arc::new(
        Client::new(
            &settings.server,
            token,
            Duration::from_secs(settings.request_timeout_secs),
        )
        .map_err(anyhow::Error::msg)?,
    );
    std::fs::create_dir_all(&settings.state_dir).with_context(|| {
        format!(
            "cannot create the state directory {}",
            settings.state_dir.display()
        )
    })?;
    let queue_dir = settings.state_dir.join("queue");
    let queue = Queue::open(
        &queue_dir,
        Bounds {
            max_reports: settings.queue_max_reports,
            max_bytes: settings.queue_max_bytes,
        },
    )
    .with_context(|| format!("cannot open the report queue in {}", queue_dir.display()))?;
    let queue = Arc::new(Mutex::new(queue));
    let errors = Errors::default();
    let host = settings
        .host
        .clone()
        .or_else(sysinfo::System::host_name)
        .unwrap_or_else(|| "unknown".to_string());

    let agent = tokio::select! {
        agent = enrolled(&settings, &client, &host, &errors) => agent?,
        () = &mut shutdown => return Ok(lock(&queue).counters()),
    };
    tracing::info!(agent = %agent, host = %host, "enrolled");

    let config_path = settings.state_dir.join("config.json");
    let mut config = load_cached_config(&config_path, &errors);

    // The sender drains the queue; the loop below only fills it.
    let wake = Arc::new(Notify::new());
    let (orders_tx, mut orders_rx) = mpsc::channel::<Vec<HarvestOrder>>(MAX_ORDER_BATCHES);
    let sender = tokio::spawn(send_forever(
        Arc::clone(&queue),
        Arc::clone(&client),
        agent,
        Arc::clone(&wake),
        orders_tx,
        errors.clone(),
    ));

    let executor = Arc::new(Executor::new(Duration::from_secs(
        settings.harvest_close_wait_secs,
    )));
    let (results_tx, mut results_rx) = mpsc::unbounded_channel::<HarvestResult>();
    let mut seen_orders = SeenOrders::default();
    let mut scanner = Scanner::new();
    let mut results: Vec<HarvestResult> = Vec::new();

    let interval_of = |config: &Option<AgentConfig>| {
        Duration::from_secs(settings.report_interval_secs.unwrap_or_else(|| {
            config
                .as_ref()
                .map_or(tally_core::agent::DEFAULT_REPORT_INTERVAL_SECS, |c| {
                    c.report_interval_secs
                })
        }))
    };
    let mut report_every = interval_of(&config);
    let mut report_tick = tokio::time::interval(report_every);
    report_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut config_tick = tokio::time::interval(Duration::from_secs(settings.config_interval_secs));
    config_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);

    loop {
        tokio::select! {
            () = &mut shutdown => break,
            _ = config_tick.tick() => {
                match client.config(agent).await {
                    Ok(fresh) => {
                        if config.as_ref() != Some(&fresh) {
                            tracing::info!(applications = fresh.applications.len(), "configuration received");
                            if let Err(e) = write_synced(&settings.state_dir, "config.json", &encode(&fresh)) {
                                errors.record(format!("cannot keep the configuration in {}: {e}", config_path.display()));
                            }
                            config = Some(fresh);
                        }
                    }
                    Err(e) => errors.record(format!("configuration not pulled, the last one stays: {e}")),
                }
                let every = interval_of(&config);
                if every != report_every {
                    report_every = every;
                    report_tick = tokio::time::interval(every);
                    report_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                }
            }
            _ = report_tick.tick() => {
                results.extend(executor.resume(false));
                let processes = match &config {
                    Some(config) => scanner.scan(config, &|key| executor.is_suspended(key)),
                    None => Vec::new(),
                };
                let report = |sequence, queued| Report {
                    id: ReportId { agent, sequence },
                    host: host.clone(),
                    time: unix_secs(SystemTime::now()),
                    utc_offset_secs: chrono::Local::now().offset().local_minus_utc(),
                    heartbeat: Heartbeat {
                        agent_version: env!("CARGO_PKG_VERSION").to_string(),
                        started,
                        queued,
                        dropped: 0,
                        errors: errors.snapshot(),
                    },
                    processes: processes.clone(),
                    harvests: results.clone(),
                };
                match enqueue(&queue, report) {
                    Ok(()) => {
                        results.clear();
                        wake.notify_one();
                    }
                    Err(e) => errors.record(format!("cannot queue a report: {e}")),
                }
            }
            Some(orders) = orders_rx.recv() => {
                for order in orders {
                    if !seen_orders.first_time(order.id) {
                        continue;
                    }
                    let executor = Arc::clone(&executor);
                    let results_tx = results_tx.clone();
                    tokio::spawn(async move {
                        let result = executor.execute(&order).await;
                        // The loop outlives every order task but at shutdown.
                        let _ = results_tx.send(result);
                    });
                }
            }
            Some(result) = results_rx.recv() => results.push(result),
        }
    }

    sender.abort();
    let _ = sender.await;
    // A process stopped by the agent must not stay stopped once no agent watches it.
    results.extend(executor.resume(true));
    while let Ok(result) = results_rx.try_recv() {
        results.push(result);
    }
    if !results.is_empty() {
        // Kept for the next start to send.
        let last = |sequence, queued| Report {
            id: ReportId { agent, sequence },
            host: host.clone(),
            time: unix_secs(SystemTime::now()),
            utc_offset_secs: chrono::Local::now().offset().local_minus_utc(),
            heartbeat: Heartbeat {
                agent_version: env!("CARGO_PKG_VERSION").to_string(),
                started,
                queued,
                dropped: 0,
                errors: errors.snapshot(),
            },
            processes: Vec::new(),
            harvests: results.clone(),
        };
        enqueue(&queue, last).context("cannot queue the last harvest results")?;
    }
    // A clean stop sends what it can, bounded: a report in flight when the sender stopped is
    // sent again (the server answers duplicate if it had it). Orders answered now are not
    // carried out; the server orders again.
    let (orders_tx, _orders_rx) = mpsc::channel(MAX_ORDER_BATCHES);
    let timeout = Duration::from_secs(settings.request_timeout_secs);
    match tokio::time::timeout(timeout, drain(&queue, &client, agent, &orders_tx, &errors)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::info!("reports kept for the next start: {e}"),
        Err(_) => tracing::info!("reports kept for the next start: the server is slow"),
    }
    let counters = lock(&queue).counters();
    tracing::info!(?counters, "stopped");
    Ok(counters)
}

/// Numbers a report, fills in the queue's figures and queues it durably.
fn enqueue(queue: &Mutex<Queue>, report: impl FnOnce(u64, u64) -> Report) -> std::io::Result<()> {
    let mut queue = lock(queue);
    let sequence = queue.allocate()?;
    let mut report = report(sequence, queue.len() + 1);
    report.heartbeat.dropped = queue.counters().dropped;
    let dropped = queue.push(sequence, &encode(&report))?;
    if dropped > 0 {
        tracing::warn!(
            dropped,
            "the report queue is full: its oldest reports were dropped"
        );
    }
    Ok(())
}

async fn enrolled(
    settings: &Settings,
    client: &Client,
    host: &str,
    errors: &Errors,
) -> anyhow::Result<AgentId> {
    let path: PathBuf = settings.state_dir.join("agent.json");
    match std::fs::read(&path) {
        Ok(bytes) => {
            let identity: Identity = serde_json::from_slice(&bytes)
                .with_context(|| format!("{} is not an agent identity", path.display()))?;
            if identity.server == settings.server {
                return Ok(identity.agent_id);
            }
            tracing::info!(previous = %identity.server, "another server: enrolling again");
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
    let request = EnrolRequest {
        protocol: PROTOCOL,
        host: host.to_string(),
        os: format!(
            "{} {}",
            std::env::consts::OS,
            sysinfo::System::long_os_version().unwrap_or_default()
        )
        .trim()
        .to_string(),
        agent_version: env!("CARGO_PKG_VERSION").to_string(),
    };
    let mut backoff = Duration::from_secs(1);
    loop {
        match client.enrol(&request).await {
            Ok(answer) => {
                let identity = Identity {
                    agent_id: answer.agent_id,
                    server: settings.server.clone(),
                };
                write_synced(&settings.state_dir, "agent.json", &encode(&identity))
                    .with_context(|| format!("cannot write {}", path.display()))?;
                return Ok(answer.agent_id);
            }
            Err(e) if e.is_retryable() => {
                errors.record(format!("not enrolled yet: {e}"));
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
            Err(e) => return Err(e).context("the server refused to enrol this agent"),
        }
    }
}

fn load_cached_config(path: &std::path::Path, errors: &Errors) -> Option<AgentConfig> {
    let bytes = std::fs::read(path).ok()?;
    match serde_json::from_slice::<AgentConfig>(&bytes) {
        Ok(config) if config.validate().is_ok() => Some(config),
        _ => {
            errors.record(format!(
                "ignored the unreadable kept configuration {}",
                path.display()
            ));
            None
        }
    }
}

/// Sends the queue, oldest first, whenever woken or after a back-off.
async fn send_forever(
    queue: Arc<Mutex<Queue>>,
    client: Arc<Client>,
    agent: AgentId,
    wake: Arc<Notify>,
    orders: mpsc::Sender<Vec<HarvestOrder>>,
    errors: Errors,
) {
    let mut backoff = Duration::from_secs(1);
    loop {
        match drain(&queue, &client, agent, &orders, &errors).await {
            Ok(()) => {
                backoff = Duration::from_secs(1);
                wake.notified().await;
            }
            Err(e) => {
                errors.record(format!("reports kept in the queue: {e}"));
                // A new report wakes the sender early, so it tries at least every interval.
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    () = wake.notified() => {}
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

async fn drain(
    queue: &Mutex<Queue>,
    client: &Client,
    agent: AgentId,
    orders: &mpsc::Sender<Vec<HarvestOrder>>,
    errors: &Errors,
) -> Result<(), ClientError> {
    loop {
        let front = lock(queue).front();
        let entry = match front {
            Ok(Some(entry)) => entry,
            Ok(None) => return Ok(()),
            Err(e) => {
                errors.record(format!("cannot read the report queue: {e}"));
                return Ok(());
            }
        };
        let delivery = match client.report(agent, entry.bytes).await {
            Ok(answer) => {
                if !answer.orders.is_empty() {
                    // Orders are carried out by the main loop; a full channel waits here.
                    let _ = orders.send(answer.orders).await;
                }
                match answer.receipt {
                    Receipt::Accepted => Delivery::Accepted,
                    Receipt::Duplicate => Delivery::Duplicate,
                }
            }
            Err(e) if e.is_retryable() => return Err(e),
            Err(e) => {
                errors.record(format!("report {} refused, dropped: {e}", entry.sequence));
                Delivery::Rejected
            }
        };
        if let Err(e) = lock(queue).complete(entry.sequence, delivery) {
            errors.record(format!("cannot remove a sent report from the queue: {e}"));
            return Ok(());
        }
    }
}

fn lock(queue: &Mutex<Queue>) -> std::sync::MutexGuard<'_, Queue> {
    queue
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The orders already carried out, bounded.
#[derive(Debug, Default)]
struct SeenOrders {
    set: HashSet<OrderId>,
    order: VecDeque<OrderId>,
}

impl SeenOrders {
    fn first_time(&mut self, id: OrderId) -> bool {
        if !self.set.insert(id) {
            return false;
        }
        self.order.push_back(id);
        if self.order.len() > MAX_REMEMBERED_ORDERS
            && let Some(old) = self.order.pop_front()
        {
            self.set.remove(&old);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_order_is_carried_out_once() {
        let mut seen = SeenOrders::default();
        assert!(seen.first_time(OrderId(1)));
        assert!(!seen.first_time(OrderId(1)));
        for i in 2..=(MAX_REMEMBERED_ORDERS as i64 + 1) {
            assert!(seen.first_time(OrderId(i)));
        }
        assert_eq!(seen.set.len(), MAX_REMEMBERED_ORDERS, "bounded");
        assert!(seen.first_time(OrderId(1)), "the oldest is forgotten");
    }
}
