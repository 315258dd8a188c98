//! License harvesting: when to give an idle application's licence back.
//!
//! The server decides and the agent carries out. [`decide`] is the whole decision, a pure
//! function of a [`Policy`], what the agents last reported about one process ([`Observation`])
//! and the time: it answers the [`Order`] to send, or `None`. A process whose latest CPU use is
//! above the policy's busy floor is never harvested, whatever the triggers say.
//!
//! The server builds the observation from consecutive reports: the CPU samples ([`CpuSample`],
//! each the CPU use over the interval between two reports) of the process, newest last, its
//! input-idle time and the host's UTC offset. [`CpuHistory`] keeps the samples a policy needs.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::period::{DAY, Weekday};

/// How a watched application is harvested.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    pub triggers: Triggers,
    /// Whether one trigger suffices or all configured triggers must fire.
    #[serde(default)]
    pub when: TriggerMatch,
    pub method: ReleaseMethod,
    /// CPU % (of one core) above which the process is busy and never harvested.
    pub busy_cpu_percent: f64,
}

/// The conditions that make a process idle. Absent conditions are not checked; a policy
/// without any never fires.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Triggers {
    /// The user gave no input for longer than this many seconds.
    #[serde(default)]
    pub user_idle_secs: Option<u64>,
    #[serde(default)]
    pub low_cpu: Option<LowCpu>,
    /// Fires outside these working days and hours (in the host's local time).
    #[serde(default)]
    pub outside_hours: Option<WorkingHours>,
}

/// CPU below `below_percent` for at least `for_secs`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LowCpu {
    pub below_percent: f64,
    pub for_secs: u64,
}

/// Working days and the working hours of each, local time of the host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkingHours {
    pub days: Vec<Weekday>,
    /// Minutes after local midnight, `start_minute < end_minute <= 1440`.
    pub start_minute: u16,
    pub end_minute: u16,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TriggerMatch {
    #[default]
    Any,
    All,
}

/// What the agent does to an idle process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind", deny_unknown_fields)]
pub enum ReleaseMethod {
    /// Record the harvest that would have happened; touch nothing.
    DryRun,
    /// Ask the application to close (SIGTERM).
    Graceful,
    /// Ask, then SIGKILL what is still running after `grace_secs`.
    Force { grace_secs: u64 },
    /// SIGSTOP until the user gives input again, then SIGCONT.
    Suspend,
}

/// The CPU use of a process over `[from, to]`, in % of one core.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CpuSample {
    pub from: Timestamp,
    pub to: Timestamp,
    pub percent: f64,
}

/// What is known of one running process when deciding.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// Newest last; consecutive samples should abut.
    pub cpu: Vec<CpuSample>,
    /// Seconds since the user's last input, when the host's OS tells it.
    pub input_idle_secs: Option<u64>,
    /// The host's offset from UTC, for working hours.
    pub utc_offset_secs: i32,
}

/// Why a process is harvested: the triggers that fired.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reasons {
    #[serde(default)]
    pub user_idle_secs: Option<u64>,
    /// Seconds the CPU has been below the policy's threshold.
    #[serde(default)]
    pub low_cpu_secs: Option<u64>,
    #[serde(default)]
    pub outside_hours: bool,
}

/// The decision to harvest one process.
#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    pub method: ReleaseMethod,
    pub reasons: Reasons,
}

/// Why a policy is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("busy_cpu_percent must be a number of 0 or more, got {0}")]
    BusyFloor(String),
    #[error("low_cpu.below_percent must be a number of 0 or more, got {0}")]
    LowCpuThreshold(String),
    #[error("working hours must satisfy start_minute < end_minute <= 1440, got {start}..{end}")]
    WorkingHours { start: u16, end: u16 },
    #[error("working hours name no working day")]
    NoWorkingDay,
}

impl Policy {
    /// Refuses thresholds that cannot mean anything; call on every policy read from outside.
    pub fn validate(&self) -> Result<(), PolicyError> {
        let bad = |x: f64| !x.is_finite() || x < 0.0;
        if bad(self.busy_cpu_percent) {
            return Err(PolicyError::BusyFloor(self.busy_cpu_percent.to_string()));
        }
        if let Some(low) = &self.triggers.low_cpu
            && bad(low.below_percent)
        {
            return Err(PolicyError::LowCpuThreshold(low.below_percent.to_string()));
        }
        if let Some(hours) = &self.triggers.outside_hours {
            if hours.start_minute >= hours.end_minute || hours.end_minute > 1440 {
                return Err(PolicyError::WorkingHours {
                    start: hours.start_minute,
                    end: hours.end_minute,
                });
            }
            if hours.days.is_empty() {
                return Err(PolicyError::NoWorkingDay);
            }
        }
        Ok(())
    }

    /// The CPU history [`decide`] needs for this policy, in seconds.
    pub fn cpu_window_secs(&self) -> u64 {
        self.triggers.low_cpu.as_ref().map_or(0, |low| low.for_secs)
    }
}

/// Whether to harvest the observed process now, and how.
pub fn decide(policy: &Policy, observation: &Observation, now: Timestamp) -> Option<Order> {
    // Never harvest a busy process, nor one whose current load is unknown.
    let latest = observation.cpu.last()?;
    if latest.percent.is_nan() || latest.percent > policy.busy_cpu_percent {
        return None;
    }
    // Suspend resumes on the user's input: without an input-idle time nothing would resume it.
    if policy.method == ReleaseMethod::Suspend && observation.input_idle_secs.is_none() {
        return None;
    }
    let triggers = &policy.triggers;
    let mut fired = Vec::with_capacity(3);
    let mut reasons = Reasons {
        user_idle_secs: None,
        low_cpu_secs: None,
        outside_hours: false,
    };
    if let Some(limit) = triggers.user_idle_secs {
        let idle = observation.input_idle_secs.filter(|idle| *idle > limit);
        reasons.user_idle_secs = idle;
        fired.push(idle.is_some());
    }
    if let Some(low) = &triggers.low_cpu {
        let quiet = quiet_secs(&observation.cpu, low.below_percent).filter(|s| *s >= low.for_secs);
        reasons.low_cpu_secs = quiet;
        fired.push(quiet.is_some());
    }
    if let Some(hours) = &triggers.outside_hours {
        let outside = !within(
            hours,
            now.saturating_add(i64::from(observation.utc_offset_secs)),
        );
        reasons.outside_hours = outside;
        fired.push(outside);
    }
    let harvest = match policy.when {
        TriggerMatch::Any => fired.iter().any(|f| *f),
        TriggerMatch::All => !fired.is_empty() && fired.iter().all(|f| *f),
    };
    harvest.then_some(Order {
        method: policy.method,
        reasons,
    })
}

/// The licence time a harvest gave back, in seconds, as recorded with it: the idle spell that
/// triggered it (the longest of the user's inactivity and the quiet CPU), which is how long
/// the licence had been held for nothing; an idle spell is taken to last at least as long again.
/// Nothing for a harvest that released nothing (a dry run, a process left running).
pub fn saved_secs(reasons: &Reasons, released: bool) -> u64 {
    if !released {
        return 0;
    }
    reasons
        .user_idle_secs
        .into_iter()
        .chain(reasons.low_cpu_secs)
        .max()
        .unwrap_or(0)
}

/// How long the newest run of samples below `below` lasts, back from the newest sample; a gap
/// between samples (no report) ends the run, since nothing is known of it.
fn quiet_secs(samples: &[CpuSample], below: f64) -> Option<u64> {
    let newest = samples.last()?;
    let mut start = None;
    let mut next_from = newest.from;
    for sample in samples.iter().rev() {
        if sample.percent.is_nan() || sample.percent >= below || sample.to < next_from {
            break;
        }
        start = Some(sample.from);
        next_from = sample.from;
    }
    start.map(|start| u64::try_from(newest.to - start).unwrap_or(0))
}

/// Whether local time `local` falls in the working hours.
fn within(hours: &WorkingHours, local: Timestamp) -> bool {
    let minute = local.rem_euclid(DAY) / 60;
    hours.days.contains(&Weekday::of(local))
        && minute >= i64::from(hours.start_minute)
        && minute < i64::from(hours.end_minute)
}

/// The CPU samples of one process, bounded to the window a policy needs.
#[derive(Debug, Clone, Default)]
pub struct CpuHistory {
    samples: VecDeque<CpuSample>,
}

impl CpuHistory {
    /// Adds a sample and forgets those older than `window_secs` before it (one more is kept so
    /// the window is covered whole).
    pub fn push(&mut self, sample: CpuSample, window_secs: u64) {
        self.samples.push_back(sample);
        let horizon = sample
            .to
            .saturating_sub(i64::try_from(window_secs).unwrap_or(i64::MAX));
        while self.samples.len() > 1 && self.samples.get(1).is_some_and(|s| s.from <= horizon) {
            self.samples.pop_front();
        }
    }

    pub fn samples(&self) -> Vec<CpuSample> {
        self.samples.iter().copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Monday 2026-12-07 10:00 UTC.
    const MONDAY_10H: Timestamp = 1_796_637_600;

    fn policy(triggers: Triggers) -> Policy {
        Policy {
            triggers,
            when: TriggerMatch::Any,
            method: ReleaseMethod::Graceful,
            busy_cpu_percent: 50.0,
        }
    }

    /// `n` abutting 30 s samples at `percent` ending at `end`.
    fn samples(end: Timestamp, n: i64, percent: f64) -> Vec<CpuSample> {
        (0..n)
            .map(|i| CpuSample {
                from: end - (n - i) * 30,
                to: end - (n - i - 1) * 30,
                percent,
            })
            .collect()
    }

    fn observed(cpu: Vec<CpuSample>, idle: Option<u64>) -> Observation {
        Observation {
            cpu,
            input_idle_secs: idle,
            utc_offset_secs: 0,
        }
    }

    fn idle_trigger(secs: u64) -> Triggers {
        Triggers {
            user_idle_secs: Some(secs),
            ..Triggers::default()
        }
    }

    #[test]
    fn a_harvest_saves_its_idle_spell_when_it_released_the_licence() {
        let reasons = Reasons {
            user_idle_secs: Some(700),
            low_cpu_secs: Some(900),
            outside_hours: true,
        };
        assert_eq!(saved_secs(&reasons, true), 900);
        assert_eq!(saved_secs(&reasons, false), 0);
        let hours_only = Reasons {
            user_idle_secs: None,
            low_cpu_secs: None,
            outside_hours: true,
        };
        assert_eq!(saved_secs(&hours_only, true), 0);
    }

    #[test]
    fn monday_constant_is_a_monday_at_ten() {
        assert_eq!(Weekday::of(MONDAY_10H), Weekday::Monday);
        assert_eq!(MONDAY_10H.rem_euclid(DAY), 10 * 3600);
    }

    #[test]
    fn user_idle_longer_than_the_limit_harvests() {
        let p = policy(idle_trigger(600));
        let now = MONDAY_10H;
        let order = decide(&p, &observed(samples(now, 1, 1.0), Some(601)), now);
        assert_eq!(
            order,
            Some(Order {
                method: ReleaseMethod::Graceful,
                reasons: Reasons {
                    user_idle_secs: Some(601),
                    low_cpu_secs: None,
                    outside_hours: false
                }
            })
        );
        assert_eq!(
            decide(&p, &observed(samples(now, 1, 1.0), Some(600)), now),
            None
        );
    }

    #[test]
    fn user_idle_unknown_never_fires() {
        let p = policy(idle_trigger(0));
        assert_eq!(
            decide(&p, &observed(samples(MONDAY_10H, 1, 0.0), None), MONDAY_10H),
            None
        );
    }

    #[test]
    fn low_cpu_for_long_enough_harvests() {
        let p = policy(Triggers {
            low_cpu: Some(LowCpu {
                below_percent: 2.0,
                for_secs: 300,
            }),
            ..Triggers::default()
        });
        let now = MONDAY_10H;
        // 10 samples of 30 s = 300 s below 2 %.
        let order = decide(&p, &observed(samples(now, 10, 1.0), None), now);
        assert_eq!(order.map(|o| o.reasons.low_cpu_secs), Some(Some(300)));
        // 9 samples are not enough.
        assert_eq!(decide(&p, &observed(samples(now, 9, 1.0), None), now), None);
        // One busy sample in the middle restarts the run.
        let mut cpu = samples(now, 10, 1.0);
        cpu[4].percent = 3.0;
        assert_eq!(decide(&p, &observed(cpu, None), now), None);
    }

    #[test]
    fn a_gap_between_samples_ends_the_low_cpu_run() {
        let p = policy(Triggers {
            low_cpu: Some(LowCpu {
                below_percent: 2.0,
                for_secs: 300,
            }),
            ..Triggers::default()
        });
        let now = MONDAY_10H;
        let mut cpu = samples(now - 3600, 5, 0.0);
        cpu.extend(samples(now, 5, 0.0));
        assert_eq!(decide(&p, &observed(cpu, None), now), None);
    }

    #[test]
    fn outside_working_hours_harvests_in_local_time() {
        let p = policy(Triggers {
            outside_hours: Some(WorkingHours {
                days: vec![
                    Weekday::Monday,
                    Weekday::Tuesday,
                    Weekday::Wednesday,
                    Weekday::Thursday,
                    Weekday::Friday,
                ],
                start_minute: 8 * 60,
                end_minute: 18 * 60,
            }),
            ..Triggers::default()
        });
        let cpu = samples(MONDAY_10H, 1, 0.0);
        // Monday 10:00 UTC: working.
        assert_eq!(decide(&p, &observed(cpu.clone(), None), MONDAY_10H), None);
        // Monday 10:00 UTC is 19:00 at UTC+9: outside.
        let mut tokyo = observed(cpu.clone(), None);
        tokyo.utc_offset_secs = 9 * 3600;
        let order = decide(&p, &tokyo, MONDAY_10H);
        assert!(order.is_some_and(|o| o.reasons.outside_hours));
        // Monday 07:59 local: outside; 08:00: working.
        let early = MONDAY_10H - 2 * 3600 - 60;
        assert!(decide(&p, &observed(cpu.clone(), None), early).is_some());
        assert!(decide(&p, &observed(cpu.clone(), None), early + 60).is_none());
        // Sunday noon: outside.
        let sunday = MONDAY_10H - DAY + 2 * 3600;
        assert!(decide(&p, &observed(cpu, None), sunday).is_some());
    }

    #[test]
    fn a_busy_process_is_never_harvested() {
        let mut p = policy(Triggers {
            user_idle_secs: Some(60),
            low_cpu: Some(LowCpu {
                below_percent: 80.0,
                for_secs: 60,
            }),
            outside_hours: Some(WorkingHours {
                days: vec![Weekday::Sunday],
                start_minute: 0,
                end_minute: 1,
            }),
        });
        p.method = ReleaseMethod::Force { grace_secs: 10 };
        let now = MONDAY_10H;
        // Every trigger fires at 50 % CPU, the floor: harvested.
        assert!(decide(&p, &observed(samples(now, 4, 50.0), Some(3600)), now).is_some());
        // Just above the floor: never.
        assert_eq!(
            decide(&p, &observed(samples(now, 4, 50.1), Some(3600)), now),
            None
        );
        // Unknown load (no sample yet): never.
        assert_eq!(decide(&p, &observed(vec![], Some(3600)), now), None);
        // NaN is not below the floor.
        assert_eq!(
            decide(&p, &observed(samples(now, 4, f64::NAN), Some(3600)), now),
            None
        );
    }

    #[test]
    fn all_requires_every_configured_trigger() {
        let mut p = policy(Triggers {
            user_idle_secs: Some(60),
            low_cpu: Some(LowCpu {
                below_percent: 5.0,
                for_secs: 60,
            }),
            outside_hours: None,
        });
        p.when = TriggerMatch::All;
        let now = MONDAY_10H;
        assert!(decide(&p, &observed(samples(now, 2, 1.0), Some(61)), now).is_some());
        assert!(decide(&p, &observed(samples(now, 2, 1.0), Some(59)), now).is_none());
        assert!(decide(&p, &observed(samples(now, 1, 1.0), Some(61)), now).is_none());
        // No trigger configured: never, under either rule.
        let mut none = policy(Triggers::default());
        assert!(decide(&none, &observed(samples(now, 2, 0.0), Some(1)), now).is_none());
        none.when = TriggerMatch::All;
        assert!(decide(&none, &observed(samples(now, 2, 0.0), Some(1)), now).is_none());
    }

    #[test]
    fn suspend_needs_an_input_idle_time_to_resume_on() {
        let mut p = policy(Triggers {
            low_cpu: Some(LowCpu {
                below_percent: 5.0,
                for_secs: 30,
            }),
            ..Triggers::default()
        });
        p.method = ReleaseMethod::Suspend;
        let now = MONDAY_10H;
        assert!(decide(&p, &observed(samples(now, 2, 0.0), None), now).is_none());
        assert!(decide(&p, &observed(samples(now, 2, 0.0), Some(5)), now).is_some());
    }

    #[test]
    fn policies_with_meaningless_thresholds_are_refused() {
        let mut p = policy(idle_trigger(1));
        assert_eq!(p.validate(), Ok(()));
        p.busy_cpu_percent = f64::NAN;
        assert!(matches!(p.validate(), Err(PolicyError::BusyFloor(_))));
        let p = policy(Triggers {
            outside_hours: Some(WorkingHours {
                days: vec![Weekday::Monday],
                start_minute: 600,
                end_minute: 600,
            }),
            ..Triggers::default()
        });
        assert_eq!(
            p.validate(),
            Err(PolicyError::WorkingHours {
                start: 600,
                end: 600
            })
        );
    }

    #[test]
    fn cpu_history_keeps_just_the_window() {
        let mut history = CpuHistory::default();
        for sample in samples(MONDAY_10H, 20, 1.0) {
            history.push(sample, 120);
        }
        let kept = history.samples();
        // 120 s of 30 s samples: 4, plus none older since the 4th starts exactly at the horizon.
        assert_eq!(kept.len(), 4);
        assert_eq!(kept[0].from, MONDAY_10H - 120);
        let p = policy(Triggers {
            low_cpu: Some(LowCpu {
                below_percent: 2.0,
                for_secs: 120,
            }),
            ..Triggers::default()
        });
        assert!(decide(&p, &observed(kept, None), MONDAY_10H).is_some());
    }

    #[test]
    fn release_methods_read_as_tagged_json() {
        let force: ReleaseMethod =
            serde_json::from_str(r#"{"kind":"force","grace_secs":10}"#).expect("force");
        assert_eq!(force, ReleaseMethod::Force { grace_secs: 10 });
        let dry: ReleaseMethod = serde_json::from_str(r#"{"kind":"dry-run"}"#).expect("dry run");
        assert_eq!(dry, ReleaseMethod::DryRun);
        assert!(serde_json::from_str::<ReleaseMethod>(r#"{"kind":"nuke"}"#).is_err());
    }
}
