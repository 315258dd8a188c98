//! License-server statuses per data source, named exactly as seed `001` names them, and every
//! transition between them as a plain function: [`fresh`] (a server added or changed),
//! [`after_poll`] (what a poll's outcome makes the Remote status), [`RemoteStatus::at`] (what a
//! stored status reads as now) with [`polls_stopped`] (the one rule for "nobody polled"), and
//! what Tally's own licence makes of them: [`licence_hold`] and [`under_licence`] (servers
//! shown "License Exceeded" or Disabled), [`skipped_by_licence`] (a poll's data not saved).
//! The store writes what these decide; it decides nothing itself.

use serde::Serialize;

use crate::Snapshot;
use crate::facts::Timestamp;
use crate::licence::{Admission, Outcome, Violation};
use crate::snapshot::ServerStatus;

/// Remote (polling) status of a license server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum RemoteStatus {
    Online,
    Offline,
    /// Set when a server is created or changed, until its first poll answers.
    Verifying,
    /// Tally itself was not running while the server was enabled.
    Unmonitored,
    #[serde(rename = "License Exceeded")]
    LicenseExceeded,
    Disabled,
    #[serde(rename = "N/A")]
    NotApplicable,
}

/// Import status of a license server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum ImportStatus {
    Ready,
    Success,
    Failure,
    #[serde(rename = "License Exceeded")]
    LicenseExceeded,
    Disabled,
    #[serde(rename = "N/A")]
    NotApplicable,
}

/// End User (agent) status of a license server; Online shows the agents online beside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum EndUserStatus {
    Online,
    Offline,
    Disabled,
    #[serde(rename = "N/A")]
    NotApplicable,
}

/// Agent activity this recent counts as online.
pub const AGENT_ONLINE_SECS: i64 = 120;

/// The End User status of a server from its agents' last activity (`None`: no agent was ever
/// enrolled for it, so end-user monitoring does not apply): Online with the number of agents
/// active in the last two minutes, Offline when none was, Disabled when the server is.
pub fn end_user(
    enabled: bool,
    agents_last_seen: Option<&[Timestamp]>,
    now: Timestamp,
) -> (EndUserStatus, Option<usize>) {
    end_user_within(enabled, agents_last_seen, now, AGENT_ONLINE_SECS)
}

/// [`end_user`] with another online window (tests shorten it).
pub fn end_user_within(
    enabled: bool,
    agents_last_seen: Option<&[Timestamp]>,
    now: Timestamp,
    window_secs: i64,
) -> (EndUserStatus, Option<usize>) {
    let Some(seen) = agents_last_seen else {
        return (EndUserStatus::NotApplicable, None);
    };
    if !enabled {
        return (EndUserStatus::Disabled, None);
    }
    let online = seen.iter().filter(|&&t| now - t <= window_secs).count();
    if online > 0 {
        (EndUserStatus::Online, Some(online))
    } else {
        (EndUserStatus::Offline, None)
    }
}

macro_rules! seed_names {
    ($name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $name {
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

seed_names!(RemoteStatus {
    Online => "Online",
    Offline => "Offline",
    Verifying => "Verifying",
    Unmonitored => "Unmonitored",
    LicenseExceeded => "License Exceeded",
    Disabled => "Disabled",
    NotApplicable => "N/A",
});

seed_names!(EndUserStatus {
    Online => "Online",
    Offline => "Offline",
    Disabled => "Disabled",
    NotApplicable => "N/A",
});

seed_names!(ImportStatus {
    Ready => "Ready",
    Success => "Success",
    Failure => "Failure",
    LicenseExceeded => "License Exceeded",
    Disabled => "Disabled",
    NotApplicable => "N/A",
});

/// Polls missed before a server counts as unmonitored: a poll can be late by a slow neighbour or
/// a slow command, but three intervals (plus a minute) without any answer means nobody polled.
pub const MISSED_POLLS: i64 = 3;

/// Whether nobody polled a server between its last poll and `now` (Tally was not running): what
/// was open then ended unobserved, and its status reads Unmonitored.
pub fn polls_stopped(last_poll: Timestamp, interval: i64, now: Timestamp) -> bool {
    now - last_poll > MISSED_POLLS * interval + 60
}

/// Statuses of a server right after it is added or changed: Verifying until its first poll
/// answers (N/A when it is not polled), Ready to import; Disabled when it is.
pub fn fresh(enabled: bool, polled: bool) -> (RemoteStatus, ImportStatus) {
    let remote = match (enabled, polled) {
        (_, false) => RemoteStatus::NotApplicable,
        (false, true) => RemoteStatus::Disabled,
        (true, true) => RemoteStatus::Verifying,
    };
    let import = if enabled {
        ImportStatus::Ready
    } else {
        ImportStatus::Disabled
    };
    (remote, import)
}

/// What a poll gave.
#[derive(Debug, Clone)]
pub enum PollResult {
    /// The plugin read the command's output.
    Answered(Snapshot),
    /// The command could not run, timed out, or its output could not be read.
    Failed(String),
}

/// A Remote status with the reason shown beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteState {
    pub status: RemoteStatus,
    pub reason: Option<String>,
}

/// A poll ready to record: what it gave and the Remote status that leaves ([`after_poll`]).
#[derive(Debug, Clone)]
pub struct Polled {
    pub result: PollResult,
    pub remote: RemoteState,
}

impl From<PollResult> for Polled {
    fn from(result: PollResult) -> Polled {
        Polled {
            remote: after_poll(&result),
            result,
        }
    }
}

/// The Remote status a poll's outcome leaves: Online when the manager answered with its
/// servers and vendor daemons up; Offline, with the reason, otherwise.
pub fn after_poll(result: &PollResult) -> RemoteState {
    let offline = |reason: String| RemoteState {
        status: RemoteStatus::Offline,
        reason: Some(reason),
    };
    match result {
        PollResult::Failed(reason) => offline(reason.clone()),
        PollResult::Answered(snapshot) if snapshot.status() != ServerStatus::Up => {
            let why = snapshot
                .down_reason()
                .unwrap_or("no license server answered");
            offline(format!("license server down: {why}"))
        }
        PollResult::Answered(snapshot) => {
            let down = snapshot
                .servers
                .iter()
                .flat_map(|s| &s.vendor_daemons)
                .find(|d| d.status == ServerStatus::Down);
            match down {
                Some(d) => offline(format!(
                    "vendor daemon {} is down{}",
                    d.name,
                    d.message
                        .as_deref()
                        .map(|m| format!(": {m}"))
                        .unwrap_or_default()
                )),
                None => RemoteState {
                    status: RemoteStatus::Online,
                    reason: None,
                },
            }
        }
    }
}

impl RemoteStatus {
    /// The status to show at `now`: a stored Online/Offline whose last poll is long past means
    /// Tally was not running (or not polling) — Unmonitored.
    pub fn at(self, last_poll: Option<Timestamp>, interval: i64, now: Timestamp) -> RemoteStatus {
        let stale = last_poll.is_some_and(|t| polls_stopped(t, interval, now));
        match self {
            RemoteStatus::Online | RemoteStatus::Offline if stale => RemoteStatus::Unmonitored,
            other => other,
        }
    }
}

/// An Import status with the reason shown beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportState {
    pub status: ImportStatus,
    pub reason: Option<String>,
}

/// What Tally's own licence holds an enabled server to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LicenceHold {
    /// Monitored and imported as usual.
    Free,
    /// Past the server limit: not monitored, "License Exceeded" with the reason.
    Exceeded(String),
    /// Model 2013's run-time restricted access mode: every server shows Disabled with the
    /// reason; nothing is monitored or imported.
    Disabled(String),
}

/// The hold on one server: Disabled while a violation disables every server, else "License
/// Exceeded" when its admission refused it, else free.
pub fn licence_hold(violations: &[Violation], admission: Option<&Admission>) -> LicenceHold {
    if let Some(v) = violations
        .iter()
        .find(|v| v.outcome == Outcome::RestrictedAccessServersDisabled)
    {
        return LicenceHold::Disabled(v.explain());
    }
    match admission.and_then(|a| a.violation.as_ref()) {
        Some(v) => LicenceHold::Exceeded(v.explain()),
        None => LicenceHold::Free,
    }
}

/// The statuses to store for an enabled server under a licence hold; `None` where they stay.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeldStatuses {
    pub remote: Option<RemoteState>,
    pub import: Option<ImportState>,
}

/// What `hold` makes of an enabled server's statuses (`polled`: it has a Remote status).
/// "License Exceeded" and Disabled on an enabled server are the licence's doing, so a free
/// server showing them was held before and starts over: Verifying, and Ready to import.
pub fn under_licence(
    remote: RemoteStatus,
    import: ImportStatus,
    polled: bool,
    hold: &LicenceHold,
) -> HeldStatuses {
    let remote_to = |status: RemoteStatus, reason: Option<&String>| RemoteState {
        status,
        reason: reason.cloned(),
    };
    match hold {
        LicenceHold::Free => HeldStatuses {
            remote: (polled
                && matches!(
                    remote,
                    RemoteStatus::LicenseExceeded | RemoteStatus::Disabled
                ))
            .then(|| remote_to(RemoteStatus::Verifying, None)),
            import: (import == ImportStatus::Disabled).then_some(ImportState {
                status: ImportStatus::Ready,
                reason: None,
            }),
        },
        LicenceHold::Exceeded(reason) => HeldStatuses {
            remote: (polled && remote != RemoteStatus::LicenseExceeded)
                .then(|| remote_to(RemoteStatus::LicenseExceeded, Some(reason))),
            import: None,
        },
        LicenceHold::Disabled(reason) => HeldStatuses {
            remote: (polled && remote != RemoteStatus::Disabled)
                .then(|| remote_to(RemoteStatus::Disabled, Some(reason))),
            import: (import != ImportStatus::Disabled).then(|| ImportState {
                status: ImportStatus::Disabled,
                reason: Some(reason.clone()),
            }),
        },
    }
}

/// A poll whose data the licence does not let Tally save (`found`: `licence::check_poll`'s
/// violations): recorded as a poll that gave nothing, the server Offline with the reasons.
pub fn skipped_by_licence(found: &[Violation]) -> Polled {
    let reason = found
        .iter()
        .map(Violation::explain)
        .collect::<Vec<_>>()
        .join(" ");
    Polled::from(PollResult::Failed(reason))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_user_status_follows_the_agents() {
        let now = 10_000;
        assert_eq!(
            end_user(true, None, now),
            (EndUserStatus::NotApplicable, None)
        );
        assert_eq!(
            end_user(false, Some(&[now]), now),
            (EndUserStatus::Disabled, None)
        );
        assert_eq!(
            end_user(true, Some(&[]), now),
            (EndUserStatus::Offline, None)
        );
        let seen = [
            now - 5,
            now - AGENT_ONLINE_SECS,
            now - AGENT_ONLINE_SECS - 1,
        ];
        assert_eq!(
            end_user(true, Some(&seen), now),
            (EndUserStatus::Online, Some(2))
        );
        assert_eq!(EndUserStatus::NotApplicable.as_str(), "N/A");
    }

    #[test]
    fn names_are_the_seeds() {
        assert_eq!(RemoteStatus::NotApplicable.as_str(), "N/A");
        assert_eq!(
            RemoteStatus::parse("License Exceeded"),
            Some(RemoteStatus::LicenseExceeded)
        );
        assert_eq!(ImportStatus::parse("Failure"), Some(ImportStatus::Failure));
        assert_eq!(
            serde_json::to_string(&ImportStatus::NotApplicable)
                .ok()
                .as_deref(),
            Some("\"N/A\"")
        );
    }

    #[test]
    fn fresh_servers_verify_unless_disabled_or_not_polled() {
        use ImportStatus as I;
        use RemoteStatus as R;
        assert_eq!(fresh(true, true), (R::Verifying, I::Ready));
        assert_eq!(fresh(false, true), (R::Disabled, I::Disabled));
        assert_eq!(fresh(true, false), (R::NotApplicable, I::Ready));
        assert_eq!(fresh(false, false), (R::NotApplicable, I::Disabled));
    }

    #[test]
    fn a_failed_poll_is_offline_with_its_reason() {
        let state = after_poll(&PollResult::Failed("timed out after 30 s".into()));
        assert_eq!(state.status, RemoteStatus::Offline);
        assert_eq!(state.reason.as_deref(), Some("timed out after 30 s"));
        let empty = after_poll(&PollResult::Answered(Snapshot::default()));
        assert_eq!(
            empty.reason.as_deref(),
            Some("license server down: no license server answered")
        );
    }

    #[test]
    fn polls_stop_after_three_intervals_and_a_minute() {
        assert!(!polls_stopped(1000, 60, 1000 + 240));
        assert!(polls_stopped(1000, 60, 1000 + 241));
    }

    #[test]
    fn a_stale_poll_reads_as_unmonitored() {
        let online = RemoteStatus::Online;
        assert_eq!(online.at(Some(1000), 60, 1100), RemoteStatus::Online);
        assert_eq!(
            online.at(Some(1000), 60, 1000 + 241),
            RemoteStatus::Unmonitored
        );
        assert_eq!(
            RemoteStatus::Disabled.at(Some(0), 60, 10_000),
            RemoteStatus::Disabled
        );
        assert_eq!(
            RemoteStatus::Verifying.at(None, 60, 10_000),
            RemoteStatus::Verifying
        );
    }

    #[test]
    fn the_licence_holds_servers_exceeded_or_disabled_and_frees_them_to_verify() {
        use ImportStatus as I;
        use RemoteStatus as R;
        let exceeded = LicenceHold::Exceeded("past the limit".into());
        let held = under_licence(R::Online, I::Ready, true, &exceeded);
        assert_eq!(held.remote.map(|r| r.status), Some(R::LicenseExceeded));
        assert_eq!(held.import, None);
        // Already shown: nothing to write.
        assert_eq!(
            under_licence(R::LicenseExceeded, I::Ready, true, &exceeded),
            HeldStatuses::default()
        );
        let disabled = LicenceHold::Disabled("expired".into());
        let held = under_licence(R::Online, I::Success, true, &disabled);
        assert_eq!(held.remote.map(|r| r.status), Some(R::Disabled));
        assert_eq!(
            held.import.map(|i| (i.status, i.reason)),
            Some((I::Disabled, Some("expired".into())))
        );
        // A server fed by logs only keeps its N/A Remote status.
        assert_eq!(
            under_licence(R::NotApplicable, I::Ready, false, &disabled).remote,
            None
        );
        let freed = under_licence(R::Disabled, I::Disabled, true, &LicenceHold::Free);
        assert_eq!(freed.remote.map(|r| r.status), Some(R::Verifying));
        assert_eq!(freed.import.map(|i| i.status), Some(I::Ready));
        assert_eq!(
            under_licence(R::Offline, I::Failure, true, &LicenceHold::Free),
            HeldStatuses::default()
        );
    }
}
