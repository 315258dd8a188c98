//! Carrying out the server's harvest orders on this host.
//!
//! Every order names the process by pid *and* start time: a process that has exited, or whose
//! pid now belongs to another process, is left alone and reported [`HarvestOutcome::Gone`].
//! Signals go through `sysinfo`, which maps them per OS; where the OS has no such signal the
//! order fails with the reason. Suspended processes are remembered and continued when their
//! user gives input again (see [`crate::idle`]), and when the agent stops.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use sysinfo::{Pid, ProcessRefreshKind, ProcessStatus, ProcessesToUpdate, Signal, System};
use tally_core::agent::{HarvestOrder, HarvestOutcome, HarvestResult, OrderId};
use tally_core::harvest::ReleaseMethod;

use crate::idle;
use crate::processes::{ProcessKey, unix_secs};

/// How often a signalled process is looked at to see whether it has gone.
const POLL: Duration = Duration::from_millis(100);
/// How long a SIGKILLed process may take to go.
const KILL_WAIT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
struct Suspension {
    order: OrderId,
    application: String,
    at: SystemTime,
}

#[derive(Debug)]
pub struct Executor {
    /// How long Graceful waits to see the application close.
    close_wait: Duration,
    suspended: Mutex<HashMap<ProcessKey, Suspension>>,
}

/// Whether a process is still the one an order names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Presence {
    Running,
    Gone,
}

impl Executor {
    pub fn new(close_wait: Duration) -> Executor {
        Executor {
            close_wait,
            suspended: Mutex::new(HashMap::new()),
        }
    }

    pub fn is_suspended(&self, key: ProcessKey) -> bool {
        self.lock().contains_key(&key)
    }

    /// Carries out one order; waits while the application closes.
    pub async fn execute(&self, order: &HarvestOrder) -> HarvestResult {
        let key = ProcessKey {
            pid: order.pid,
            started: order.started,
        };
        let outcome = match order.method {
            ReleaseMethod::DryRun => match presence(key) {
                Presence::Running => HarvestOutcome::Recorded,
                Presence::Gone => HarvestOutcome::Gone,
            },
            ReleaseMethod::Graceful => match signal(key, Signal::Term) {
                Err(outcome) => outcome,
                Ok(()) if gone_within(key, self.close_wait).await => HarvestOutcome::Closed,
                Ok(()) => HarvestOutcome::StillRunning,
            },
            ReleaseMethod::Force { grace_secs } => self.force(key, grace_secs).await,
            ReleaseMethod::Suspend => self.suspend(key, order),
        };
        tracing::info!(pid = order.pid, application = %order.application, method = ?order.method, outcome = ?outcome, "harvest");
        HarvestResult {
            order: order.id,
            pid: order.pid,
            application: order.application.clone(),
            method: order.method,
            time: unix_secs(SystemTime::now()),
            outcome,
        }
    }

    async fn force(&self, key: ProcessKey, grace_secs: u64) -> HarvestOutcome {
        if let Err(outcome) = signal(key, Signal::Term) {
            return outcome;
        }
        if gone_within(key, Duration::from_secs(grace_secs)).await {
            return HarvestOutcome::Closed;
        }
        // A stopped process would not see SIGTERM, but SIGKILL works on it.
        self.lock().remove(&key);
        if let Err(outcome) = signal(key, Signal::Kill) {
            // Gone between the two looks: it closed after all.
            return match outcome {
                HarvestOutcome::Gone => HarvestOutcome::Closed,
                other => other,
            };
        }
        if gone_within(key, KILL_WAIT).await {
            HarvestOutcome::Killed
        } else {
            HarvestOutcome::Failed {
                reason: format!("still running {} s after SIGKILL", KILL_WAIT.as_secs()),
            }
        }
    }

    fn suspend(&self, key: ProcessKey, order: &HarvestOrder) -> HarvestOutcome {
        if idle::user_input_idle(key.pid, SystemTime::now()).is_none() {
            return HarvestOutcome::Failed {
                reason: "this OS does not tell when the user gives input again, so nothing would resume the process".to_string(),
            };
        }
        match signal(key, Signal::Stop) {
            Ok(()) => {
                self.lock().insert(
                    key,
                    Suspension {
                        order: order.id,
                        application: order.application.clone(),
                        at: SystemTime::now(),
                    },
                );
                HarvestOutcome::Suspended
            }
            Err(outcome) => outcome,
        }
    }

    /// Continues the suspended processes whose user has given input since they were stopped
    /// (all of them when `all`), and forgets those that have gone.
    pub fn resume(&self, all: bool) -> Vec<HarvestResult> {
        let now = SystemTime::now();
        let mut suspended = self.lock();
        let mut results = Vec::new();
        suspended.retain(|key, suspension| {
            if presence(*key) == Presence::Gone {
                return false;
            }
            let stopped_for = now.duration_since(suspension.at).unwrap_or(Duration::ZERO);
            let active = idle::user_input_idle(key.pid, now).is_some_and(|idle| idle < stopped_for);
            if !(all || active) {
                return true;
            }
            let outcome = match signal(*key, Signal::Continue) {
                Ok(()) => HarvestOutcome::Resumed,
                Err(outcome) => outcome,
            };
            results.push(HarvestResult {
                order: suspension.order,
                pid: key.pid,
                application: suspension.application.clone(),
                method: ReleaseMethod::Suspend,
                time: unix_secs(now),
                outcome,
            });
            false
        });
        results
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ProcessKey, Suspension>> {
        // A panic elsewhere while holding it leaves a map that is still consistent.
        self.suspended
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Looks the process up afresh: a zombie has exited, and a different start time is another
/// process under a reused pid.
fn lookup(key: ProcessKey) -> (System, Option<Pid>) {
    let pid = Pid::from_u32(key.pid);
    let mut system = System::new();
    system.refresh_processes_specifics(
        ProcessesToUpdate::Some(&[pid]),
        true,
        ProcessRefreshKind::nothing().without_tasks(),
    );
    let found = system.process(pid).is_some_and(|p| {
        i64::try_from(p.start_time()).is_ok_and(|s| s == key.started)
            && !matches!(p.status(), ProcessStatus::Zombie | ProcessStatus::Dead)
    });
    (system, found.then_some(pid))
}

fn presence(key: ProcessKey) -> Presence {
    match lookup(key) {
        (_, Some(_)) => Presence::Running,
        (_, None) => Presence::Gone,
    }
}

fn signal(key: ProcessKey, signal: Signal) -> Result<(), HarvestOutcome> {
    let (system, pid) = lookup(key);
    let Some(process) = pid.and_then(|pid| system.process(pid)) else {
        return Err(HarvestOutcome::Gone);
    };
    match process.kill_with(signal) {
        Some(true) => Ok(()),
        Some(false) => Err(HarvestOutcome::Failed {
            reason: format!(
                "the OS refused {signal:?} (is the agent allowed to signal this user's processes?)"
            ),
        }),
        None => Err(HarvestOutcome::Failed {
            reason: format!("this OS has no {signal:?} signal"),
        }),
    }
}

async fn gone_within(key: ProcessKey, wait: Duration) -> bool {
    let deadline = Instant::now() + wait;
    loop {
        if presence(key) == Presence::Gone {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(POLL).await;
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;
    use std::process::{Child, Command};
    use tally_core::harvest::Reasons;

    /// A process that ignores SIGTERM (an ignored signal stays ignored across exec).
    fn stubborn() -> (Child, ProcessKey) {
        let child = Command::new("sh")
            .args(["-c", "trap '' TERM; exec sleep 60"])
            .spawn()
            .expect("spawn sh");
        // Let sh reach exec so the trap is in place.
        std::thread::sleep(Duration::from_millis(300));
        let key = key_of(&child);
        (child, key)
    }

    fn key_of(child: &Child) -> ProcessKey {
        let pid = Pid::from_u32(child.id());
        let mut system = System::new();
        system.refresh_processes_specifics(
            ProcessesToUpdate::Some(&[pid]),
            true,
            ProcessRefreshKind::nothing(),
        );
        let started = system.process(pid).expect("the child runs").start_time();
        ProcessKey {
            pid: child.id(),
            started: i64::try_from(started).expect("start time"),
        }
    }

    fn order(key: ProcessKey, method: ReleaseMethod) -> HarvestOrder {
        HarvestOrder {
            id: OrderId(1),
            pid: key.pid,
            started: key.started,
            application: "test".into(),
            method,
            reasons: Reasons {
                user_idle_secs: Some(3600),
                low_cpu_secs: None,
                outside_hours: false,
            },
        }
    }

    #[tokio::test]
    async fn graceful_then_force_really_kills_a_process_that_ignores_sigterm() {
        let (mut child, key) = stubborn();
        let executor = Executor::new(Duration::from_millis(500));

        let graceful = executor.execute(&order(key, ReleaseMethod::Graceful)).await;
        assert_eq!(graceful.outcome, HarvestOutcome::StillRunning);
        assert_eq!(
            child.try_wait().expect("try_wait"),
            None,
            "SIGTERM was ignored"
        );

        let force = executor
            .execute(&order(key, ReleaseMethod::Force { grace_secs: 1 }))
            .await;
        assert_eq!(force.outcome, HarvestOutcome::Killed);
        let status = child.wait().expect("wait");
        assert_eq!(status.signal(), Some(9), "{status:?}");
    }

    #[tokio::test]
    async fn graceful_closes_a_process_that_listens() {
        let mut child = Command::new("sleep").arg("60").spawn().expect("spawn");
        let key = key_of(&child);
        let executor = Executor::new(Duration::from_secs(5));
        let result = executor.execute(&order(key, ReleaseMethod::Graceful)).await;
        assert_eq!(result.outcome, HarvestOutcome::Closed);
        assert_eq!(child.wait().expect("wait").signal(), Some(15));
    }

    #[tokio::test]
    async fn a_dry_run_leaves_the_process_running() {
        let (mut child, key) = stubborn();
        let executor = Executor::new(Duration::from_millis(100));
        let result = executor.execute(&order(key, ReleaseMethod::DryRun)).await;
        assert_eq!(result.outcome, HarvestOutcome::Recorded);
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(child.try_wait().expect("try_wait"), None, "still running");
        child.kill().expect("kill");
        child.wait().expect("wait");
    }

    #[tokio::test]
    async fn a_reused_pid_or_an_exited_process_is_left_alone() {
        let mut child = Command::new("sleep").arg("60").spawn().expect("spawn");
        let key = key_of(&child);
        let executor = Executor::new(Duration::from_millis(100));
        let other = ProcessKey {
            started: key.started - 1000,
            ..key
        };
        let result = executor
            .execute(&order(other, ReleaseMethod::Force { grace_secs: 0 }))
            .await;
        assert_eq!(result.outcome, HarvestOutcome::Gone);
        assert_eq!(child.try_wait().expect("try_wait"), None, "not signalled");
        child.kill().expect("kill");
        child.wait().expect("wait");
        // Exited and reaped.
        let result = executor.execute(&order(key, ReleaseMethod::Graceful)).await;
        assert_eq!(result.outcome, HarvestOutcome::Gone);
    }

    #[tokio::test]
    async fn suspended_processes_are_continued_when_the_agent_stops() {
        let mut child = Command::new("sleep").arg("60").spawn().expect("spawn");
        let key = key_of(&child);
        let executor = Executor::new(Duration::from_millis(100));
        let result = executor.execute(&order(key, ReleaseMethod::Suspend)).await;
        if idle::user_input_idle(key.pid, SystemTime::now()).is_none() {
            // No terminal of this user (CI): Suspend is refused, nothing is stopped.
            assert!(
                matches!(result.outcome, HarvestOutcome::Failed { .. }),
                "{result:?}"
            );
            assert!(!executor.is_suspended(key));
        } else {
            assert_eq!(result.outcome, HarvestOutcome::Suspended);
            assert!(executor.is_suspended(key));
            assert!(state_becomes(key.pid, |s| s == 'T'), "stopped");
            let resumed = executor.resume(true);
            assert_eq!(resumed.len(), 1);
            assert_eq!(resumed[0].outcome, HarvestOutcome::Resumed);
            assert!(state_becomes(key.pid, |s| s != 'T'), "continued");
        }
        child.kill().expect("kill");
        child.wait().expect("wait");
    }

    /// Whether the process's state meets `wanted` within a second: a signal is delivered
    /// asynchronously, and a loaded machine may read the state before it lands.
    fn state_becomes(pid: u32, wanted: impl Fn(char) -> bool) -> bool {
        (0..100).any(|_| {
            let met = process_state(pid).is_some_and(&wanted);
            if !met {
                std::thread::sleep(Duration::from_millis(10));
            }
            met
        })
    }

    /// The state letter of `/proc/PID/stat` (Linux; `None` elsewhere).
    fn process_state(pid: u32) -> Option<char> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        stat[stat.rfind(')')? + 2..].chars().next()
    }
}
