//! The clock skew of each license server: the time stamps its polls and followed logs show are
//! turned into observations (`tally_core::clock` decides what they bound), narrowed down per
//! server, kept in the store, and warned about once when the skew goes past the threshold.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use tally_core::clock::{
    ClockObservation, ClockSkew, DEFAULT_SKEW_THRESHOLD_SECS, SkewTracker, SkewVerdict,
};
use tally_store::{Server, ServerId, Store, StoreError};

/// The running measurement of every server this process has seen a time stamp of (one small
/// entry per server), resumed from the store on first use.
#[derive(Debug, Default)]
pub struct Clocks {
    trackers: Mutex<HashMap<ServerId, SkewTracker>>,
}

impl Clocks {
    /// Narrows `server`'s skew down with `observations` (in the order they were made) and
    /// stores it; logs a warning when it goes past [`DEFAULT_SKEW_THRESHOLD_SECS`], and when it
    /// comes back within.
    pub async fn observe(
        &self,
        store: &Store,
        server: &Server,
        observations: &[ClockObservation],
    ) -> Result<Option<ClockSkew>, StoreError> {
        if observations.is_empty() {
            return Ok(None);
        }
        let known = self.lock().contains_key(&server.id);
        // Read outside the lock: the store is slow next to the tracker.
        let stored = if known {
            None
        } else {
            store.clock_skew(server.id).await?
        };
        let (before, after) = {
            let mut trackers = self.lock();
            let tracker = trackers
                .entry(server.id)
                .or_insert_with(|| SkewTracker::resume(stored));
            let before = tracker.skew();
            for observation in observations {
                tracker.observe(observation);
            }
            (before, tracker.skew())
        };
        let Some(after) = after else {
            return Ok(None);
        };
        let name = &server.config.name;
        let warned = |skew: Option<ClockSkew>| {
            skew.and_then(|s| s.warning(name, DEFAULT_SKEW_THRESHOLD_SECS))
        };
        match (warned(before), warned(Some(after))) {
            (None, Some(warning)) => tracing::warn!(server = %name, "{warning}"),
            (Some(_), None) => {
                tracing::info!(server = %name, "the license server's clock is within {DEFAULT_SKEW_THRESHOLD_SECS} s of Tally's again")
            }
            _ => {}
        }
        store.set_clock_skew(server.id, after).await?;
        Ok(Some(after))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ServerId, SkewTracker>> {
        self.trackers.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// What to show of a server's clock: the skew with its verdict against the threshold, and the
/// warning past it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClockView {
    pub skew: ClockSkew,
    /// Server minus Tally, seconds: the middle of the bounds, when both are known.
    pub estimate: Option<i64>,
    pub verdict: SkewVerdict,
    pub warning: Option<String>,
}

impl ClockView {
    /// `server`'s clock as measured so far; `None` before any of its stamps was seen.
    pub fn of(server: &Server) -> Option<ClockView> {
        let skew = server.clock?;
        Some(ClockView {
            skew,
            estimate: skew.estimate(),
            verdict: skew.verdict(DEFAULT_SKEW_THRESHOLD_SECS),
            warning: skew.warning(&server.config.name, DEFAULT_SKEW_THRESHOLD_SECS),
        })
    }

    /// A few words for a table: `in sync`, `≥5 min ahead`, `≥15 s behind`, `?`.
    pub fn brief(&self) -> String {
        use tally_core::clock::human;
        match self.verdict {
            SkewVerdict::InSync => "in sync".into(),
            SkewVerdict::Ahead { secs } => format!("≥{} ahead", human(secs)),
            SkewVerdict::Behind { secs } => format!("≥{} behind", human(secs)),
            SkewVerdict::Unknown => "?".into(),
        }
    }
}
