//! Clock skew between Tally and a license server.
//!
//! Usage is time-based: a license server whose clock is off shifts every session it reports.
//! Tally cannot read a server's clock directly, but the server stamps things Tally sees soon
//! after: the start of a checkout in a status output, the time of a line in a log Tally follows.
//! Each stamp is an observation: the server wrote time `S` at some instant Tally's clock puts in
//! `[not_before, not_after]` (between the previous poll or read, which did not show it, and the
//! one that did), so the skew — server clock minus Tally's — lies in
//! `[S - not_after, S + resolution - not_before]` (a stamp printed to the minute may be up to a
//! minute late). Intersecting the observations narrows the skew down; an observation that does
//! not meet the others means the clock was stepped (NTP, an admin), and the measurement starts
//! over from it. [`SkewTracker`] keeps only the current bounds: constant memory per server.
//!
//! A stamp written late (a buffered log line) looks like a server behind: callers give log lines
//! only an upper bound on when they were written (`not_before: None`) unless the file is
//! followed as it is written.

use serde::Serialize;

use crate::Timestamp;
use crate::snapshot::Snapshot;

/// Skew past which a server's clock is reported as off (seconds): twice the minute status
/// outputs print their times to, so a warning is never an artefact of that rounding.
pub const DEFAULT_SKEW_THRESHOLD_SECS: i64 = 120;

named_enum!(SkewSource {
    CheckoutStart => "checkout-start",
    LogLine => "log-line",
});

/// One time stamp a license server wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ClockObservation {
    pub source: SkewSource,
    /// The server's stamp, UTC seconds (the server's UTC offset applied).
    pub server_time: Timestamp,
    /// Tally's clock: the server wrote the stamp no earlier than this (the previous poll or
    /// read, which did not show it); `None` when unknown.
    pub not_before: Option<Timestamp>,
    /// Tally's clock: the server had written it by then (the poll or read that showed it).
    pub not_after: Timestamp,
    /// How coarse the stamp is, in seconds (1, or 60 for times printed to the minute).
    pub resolution: i64,
}

impl ClockObservation {
    /// The skews this observation allows: at least, and at most (`None`: unbounded).
    fn bounds(&self) -> (i64, Option<i64>) {
        let at_least = self.server_time.saturating_sub(self.not_after);
        let at_most = self.not_before.map(|t| {
            self.server_time
                .saturating_add(self.resolution.max(1) - 1)
                .saturating_sub(t)
        });
        (at_least, at_most)
    }
}

/// The skew of one server's clock (server minus Tally, seconds), as bounded by the observations
/// since its clock last moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ClockSkew {
    pub at_least: i64,
    /// `None` until an observation bounds it from above.
    pub at_most: Option<i64>,
    /// Observations that agree on these bounds.
    pub observations: u64,
    /// Whether an observation disagreed with all before it (the clock was stepped), after which
    /// the measurement started over.
    pub stepped: bool,
    /// Tally's time of the latest observation.
    pub as_of: Timestamp,
}

/// What a skew means against a threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum SkewVerdict {
    /// Within the threshold both ways.
    InSync,
    /// The server's clock is ahead of Tally's by at least `secs`.
    Ahead { secs: i64 },
    /// The server's clock is behind Tally's by at least `secs`.
    Behind { secs: i64 },
    /// The bounds are too loose to tell (one observation, no upper bound yet).
    Unknown,
}

impl ClockSkew {
    /// The middle of the bounds, when both are known.
    pub fn estimate(&self) -> Option<i64> {
        self.at_most
            .map(|hi| self.at_least + (hi - self.at_least) / 2)
    }

    pub fn verdict(&self, threshold_secs: i64) -> SkewVerdict {
        let threshold = threshold_secs.max(0);
        if self.at_least > threshold {
            return SkewVerdict::Ahead {
                secs: self.at_least,
            };
        }
        match self.at_most {
            Some(hi) if hi < -threshold => SkewVerdict::Behind { secs: -hi },
            Some(hi) if hi <= threshold && self.at_least >= -threshold => SkewVerdict::InSync,
            _ => SkewVerdict::Unknown,
        }
    }

    /// The warning to show for `server` past `threshold_secs`, if any.
    pub fn warning(&self, server: &str, threshold_secs: i64) -> Option<String> {
        let (how, secs) = match self.verdict(threshold_secs) {
            SkewVerdict::Ahead { secs } => ("ahead of", secs),
            SkewVerdict::Behind { secs } => ("behind", secs),
            SkewVerdict::InSync | SkewVerdict::Unknown => return None,
        };
        Some(format!(
            "the clock of license server `{server}` is at least {} {how} Tally's: the times of \
             its usage are off by as much; keep both machines on NTP",
            human(secs)
        ))
    }
}

fn human(secs: i64) -> String {
    match secs {
        s if s < 120 => format!("{s} s"),
        s if s < 2 * 3600 => format!("{} min", s / 60),
        s => format!("{:.1} h", s as f64 / 3600.0),
    }
}

/// The running measurement for one server: feed it observations in the order they were made.
#[derive(Debug, Clone, Default)]
pub struct SkewTracker {
    current: Option<ClockSkew>,
    stepped: bool,
}

impl SkewTracker {
    pub fn observe(&mut self, o: &ClockObservation) {
        let (lo, hi) = o.bounds();
        let fresh = ClockSkew {
            at_least: lo,
            at_most: hi,
            observations: 1,
            stepped: self.stepped,
            as_of: o.not_after,
        };
        let Some(c) = &mut self.current else {
            self.current = Some(fresh);
            return;
        };
        let at_least = c.at_least.max(lo);
        let at_most = match (c.at_most, hi) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if at_most.is_some_and(|hi| hi < at_least) {
            // Disagrees with everything since the last step: the clock moved. Start over.
            self.stepped = true;
            self.current = Some(ClockSkew {
                stepped: true,
                ..fresh
            });
            return;
        }
        c.at_least = at_least;
        c.at_most = at_most;
        c.observations += 1;
        c.as_of = c.as_of.max(o.not_after);
    }

    /// The skew so far; `None` before any observation.
    pub fn skew(&self) -> Option<ClockSkew> {
        self.current
    }
}

/// The observations one poll gives: the start of every checkout in `snapshot`, taken at
/// `polled_at`. A checkout the previous poll (`previous`, taken at its time) did not show
/// started after it; the others started at some time before. `resolution` is how coarse the
/// poller's start times are (60 for `lmstat`'s minutes).
pub fn checkout_observations(
    snapshot: &Snapshot,
    polled_at: Timestamp,
    previous: Option<(Timestamp, &Snapshot)>,
    resolution: i64,
) -> Vec<ClockObservation> {
    snapshot
        .checkouts
        .iter()
        .filter_map(|c| {
            let start = c.start?;
            let new_since = previous.and_then(|(at, before)| {
                let seen = before.checkouts.iter().any(|b| {
                    b.feature == c.feature
                        && b.vendor == c.vendor
                        && b.user == c.user
                        && b.host == c.host
                        && b.handle == c.handle
                        && b.start == c.start
                });
                (!seen).then_some(at)
            });
            Some(ClockObservation {
                source: SkewSource::CheckoutStart,
                server_time: start,
                not_before: new_since,
                not_after: polled_at,
                resolution,
            })
        })
        .collect()
}

/// The observation a followed log's newest line gives: stamped `line_time`, read at `read_at`,
/// absent at the previous read `previous_read` (give `None` when lines may be written late).
pub fn log_observation(
    line_time: Timestamp,
    read_at: Timestamp,
    previous_read: Option<Timestamp>,
) -> ClockObservation {
    ClockObservation {
        source: SkewSource::LogLine,
        server_time: line_time,
        not_before: previous_read,
        not_after: read_at,
        resolution: 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::{Checkout, Snapshot};

    fn seen(server_time: i64, not_before: Option<i64>, not_after: i64) -> ClockObservation {
        ClockObservation {
            source: SkewSource::LogLine,
            server_time,
            not_before,
            not_after,
            resolution: 1,
        }
    }

    fn track(observations: &[ClockObservation]) -> ClockSkew {
        let mut t = SkewTracker::default();
        for o in observations {
            t.observe(o);
        }
        t.skew().expect("observed")
    }

    #[test]
    fn observations_narrow_the_skew_down() {
        // A server 300 s ahead, seen by reads 60 s apart: each line is stamped 300 s after the
        // moment it was written, somewhere between two reads.
        let k = 300;
        let skew = track(&[
            seen(1_010 + k, Some(1_000), 1_060),
            seen(1_100 + k, Some(1_060), 1_120),
            seen(1_175 + k, Some(1_120), 1_180),
        ]);
        assert_eq!(skew.observations, 3);
        assert!(
            skew.at_least <= k && skew.at_most.is_some_and(|hi| hi >= k),
            "{skew:?}"
        );
        // Each read bounds it tighter than one alone could (60 s wide).
        assert_eq!((skew.at_least, skew.at_most), (295, Some(310)));
        assert_eq!(skew.verdict(120), SkewVerdict::Ahead { secs: 295 });
        let warning = skew.warning("lic1", 120).expect("a warning");
        assert!(
            warning.contains("`lic1`") && warning.contains("4 min ahead"),
            "{warning}"
        );
        assert!(!skew.stepped);
    }

    #[test]
    fn a_server_behind_and_one_in_sync() {
        let behind = track(&[seen(10_000 - 900, Some(9_990), 10_000)]);
        assert_eq!(behind.verdict(120), SkewVerdict::Behind { secs: 890 });
        assert!(behind.warning("s", 120).expect("warned").contains("behind"));

        let in_sync = track(&[
            seen(5_000, Some(4_990), 5_010),
            seen(6_000, Some(5_995), 6_030),
        ]);
        assert_eq!(in_sync.verdict(120), SkewVerdict::InSync);
        assert_eq!(in_sync.warning("s", 120), None);
        // Bounds -10..=5 (the first read bounds it below, the second above).
        assert_eq!(in_sync.estimate(), Some(-3));
    }

    #[test]
    fn without_an_upper_bound_only_ahead_can_be_told() {
        // Stamps of sessions already open when Tally started: written some time before.
        let open = track(&[seen(1_000, None, 5_000)]);
        assert_eq!(open.at_most, None);
        assert_eq!(open.verdict(120), SkewVerdict::Unknown);
        assert_eq!(open.estimate(), None);
        let ahead = track(&[seen(5_500, None, 5_000)]);
        assert_eq!(ahead.verdict(120), SkewVerdict::Ahead { secs: 500 });
    }

    #[test]
    fn a_stepped_clock_starts_the_measurement_over() {
        let skew = track(&[
            seen(1_000 + 600, Some(990), 1_000),
            seen(2_000 + 600, Some(1_990), 2_000),
            // NTP steps the server back in time: now in sync.
            seen(3_000, Some(2_990), 3_000),
            seen(4_000, Some(3_990), 4_000),
        ]);
        assert!(skew.stepped);
        assert_eq!(skew.observations, 2);
        assert_eq!(skew.verdict(120), SkewVerdict::InSync);
        assert_eq!(skew.as_of, 4_000);
    }

    #[test]
    fn minute_stamps_are_allowed_their_minute() {
        // lmstat prints 10:05 for a checkout made at 10:05:59 on a clock in sync.
        let o = ClockObservation {
            source: SkewSource::CheckoutStart,
            server_time: 36_300,
            not_before: Some(36_340),
            not_after: 36_360,
            resolution: 60,
        };
        let skew = track(&[o]);
        assert!(
            skew.at_least <= 0 && skew.at_most.is_some_and(|hi| hi >= 0),
            "{skew:?}"
        );
        assert_eq!(skew.verdict(120), SkewVerdict::InSync);
    }

    #[test]
    fn polls_give_bounds_from_both_sides_only_for_new_checkouts() {
        let checkout = |user: &str, start| Checkout {
            feature: "solver".into(),
            vendor: "acme".into(),
            user: user.into(),
            host: "ws1".into(),
            display: None,
            count: 1,
            start: Some(start),
            handle: None,
            linger: None,
            borrowed: false,
        };
        let before = Snapshot {
            checkouts: vec![checkout("ann", 900)],
            ..Snapshot::default()
        };
        let now = Snapshot {
            checkouts: vec![checkout("ann", 900), checkout("bob", 1_020)],
            ..Snapshot::default()
        };
        let obs = checkout_observations(&now, 1_060, Some((1_000, &before)), 60);
        assert_eq!(obs.len(), 2);
        assert_eq!(obs[0].not_before, None, "ann's checkout was there already");
        assert_eq!(
            obs[1].not_before,
            Some(1_000),
            "bob's is new since the last poll"
        );
        assert!(
            obs.iter()
                .all(|o| o.not_after == 1_060 && o.resolution == 60)
        );
        let first = checkout_observations(&now, 1_060, None, 60);
        assert!(first.iter().all(|o| o.not_before.is_none()));

        let line = log_observation(1_234, 1_240, Some(1_230));
        assert_eq!(line.source, SkewSource::LogLine);
        assert_eq!(track(&[line]).at_most, Some(4));
    }
}
