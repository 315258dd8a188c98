//! Hourly rollups: what the store keeps per server, feature and UTC hour (and per user and host)
//! so that reports never scan raw sessions.
//!
//! **Desired = used + denied** (DESIGN §4), measured like SFLM's `TotalDesired`: "the number of
//! licenses desired times the length of time they were desired" (seed 004 lines 30-31). A denial
//! that carries an interval ([`DenialFact::until`], e.g. the shortfall of an SFLM partial grant,
//! NumberDesired − NumberGranted over the check-out's span) is demand held over that interval: it
//! adds to desired license-seconds and to the desired level. A point denial (a FlexNet `DENIED`
//! line) lasts no time: it counts in `denials` only, never in desired seconds or peaks, so one
//! user's retries within a second cannot inflate demand.
//!
//! **Instants.** A session holds its licenses over `[start, end)`, so back-to-back sessions never
//! overlap. A zero-length session (checked out and in within a second) was still granted: it
//! counts towards the peak of its hour and marks its user present there, but adds no seconds.
//!
//! **Keeping rollups right.** [`affected_hours`] names the hours a batch touches; the store
//! re-reads *all* sessions and denials overlapping them (old and new) and replaces those hours'
//! rows with [`rollup`]'s. A late, re-imported or corrected fact thus fixes exactly its hours; when
//! a fact is replaced (a session's end found later), pass the old one to `affected_hours` too.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use serde::Serialize;

use crate::Timestamp;
use crate::period::{HOUR, Period, hour_ceil, hour_start};

/// A database id: of a server, feature, user or host.
pub type Id = i64;

/// One feature of one license server: what rollups are kept per.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct FeatureKey {
    pub server: Id,
    pub feature: Id,
}

/// A stored session, as the store reads it back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionFact {
    pub server: Id,
    pub feature: Id,
    pub user: Id,
    pub host: Id,
    pub count: u32,
    pub start: Timestamp,
    /// `>= start`; an earlier end is read as `start`.
    pub end: Timestamp,
}

/// A stored denial, as the store reads it back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DenialFact {
    pub server: Id,
    pub feature: Id,
    pub user: Id,
    pub host: Id,
    pub count: u32,
    pub time: Timestamp,
    /// The end of the interval the `count` licenses stayed wanted (SFLM partial grants); `None`
    /// (or `<= time`) for a point denial.
    pub until: Option<Timestamp>,
}

impl SessionFact {
    pub fn key(&self) -> FeatureKey {
        FeatureKey {
            server: self.server,
            feature: self.feature,
        }
    }
}

impl DenialFact {
    pub fn key(&self) -> FeatureKey {
        FeatureKey {
            server: self.server,
            feature: self.feature,
        }
    }
}

/// License load within one hour, of a feature or of one user on one host.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Load {
    /// Most licenses held at one instant.
    pub peak_in_use: u64,
    /// Most licenses held or wanted (interval denials) at one instant.
    pub peak_desired: u64,
    /// License-seconds held.
    pub used_seconds: u64,
    /// License-seconds held or wanted: `used_seconds` plus interval denials.
    pub desired_seconds: u64,
    /// Denials (records, not licenses) at a time within the hour.
    pub denials: u64,
    /// Sessions starting within the hour.
    pub checkouts: u64,
}

impl Load {
    /// Time-weighted average of licenses in use over the hour.
    pub fn avg_in_use(&self) -> f64 {
        self.used_seconds as f64 / HOUR as f64
    }

    /// Time-weighted average of licenses desired over the hour.
    pub fn avg_desired(&self) -> f64 {
        self.desired_seconds as f64 / HOUR as f64
    }

    /// Whether a license was held at some instant (a user "used" the feature).
    pub fn used(&self) -> bool {
        self.peak_in_use > 0
    }

    /// Adds the load of a later hour: peaks are the larger, counts add.
    pub fn add_hour(&mut self, o: &Load) {
        self.peak_in_use = self.peak_in_use.max(o.peak_in_use);
        self.peak_desired = self.peak_desired.max(o.peak_desired);
        self.add_counts(o);
    }

    /// Adds a concurrent load of the same hour (another host): peaks add, which is exact when
    /// the two peaks coincide and an upper bound otherwise.
    pub fn add_concurrent(&mut self, o: &Load) {
        self.peak_in_use += o.peak_in_use;
        self.peak_desired += o.peak_desired;
        self.add_counts(o);
    }

    fn add_counts(&mut self, o: &Load) {
        self.used_seconds += o.used_seconds;
        self.desired_seconds += o.desired_seconds;
        self.denials += o.denials;
        self.checkouts += o.checkouts;
    }
}

/// A feature's load in one UTC hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct HourRollup {
    #[serde(flatten)]
    pub feature: FeatureKey,
    /// Start of the hour.
    pub hour: Timestamp,
    #[serde(flatten)]
    pub load: Load,
    /// Users and hosts that held a license at some instant of the hour.
    pub distinct_users: u32,
    pub distinct_hosts: u32,
}

/// One user's load on one host in one hour: answers reports per user, host or group and user
/// counting. Distinct users over a period come from these rows, never from adding hourly counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct UserHour {
    #[serde(flatten)]
    pub feature: FeatureKey,
    pub user: Id,
    pub host: Id,
    pub hour: Timestamp,
    #[serde(flatten)]
    pub load: Load,
}

/// Rows replacing a feature's rollups over a range of hours.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Rollup {
    /// Hours with any activity, in order.
    pub hours: Vec<HourRollup>,
    /// Per user and host, by (hour, user, host).
    pub users: Vec<UserHour>,
}

/// The exact rollup of `feature` over `hours` (widened to whole hours) from every session and
/// denial overlapping them; facts of other features or outside the range are ignored. Sessions
/// crossing hour (or midnight) boundaries are split across hours.
pub fn rollup(
    feature: FeatureKey,
    hours: Range<Timestamp>,
    sessions: &[SessionFact],
    denials: &[DenialFact],
) -> Rollup {
    let range = hour_start(hours.start)..hour_ceil(hours.end);
    let mut by_user: BTreeMap<(Id, Id), Vec<Piece>> = BTreeMap::new();
    let pieces = sessions
        .iter()
        .filter(|s| s.key() == feature)
        .filter_map(|s| Piece::session(s, &range).map(|p| ((s.user, s.host), p)))
        .chain(
            denials
                .iter()
                .filter(|d| d.key() == feature)
                .filter_map(|d| Piece::denial(d, &range).map(|p| ((d.user, d.host), p))),
        );
    for (who, piece) in pieces {
        by_user.entry(who).or_default().push(piece);
    }

    let mut users = Vec::new();
    for (&(user, host), pieces) in &by_user {
        users.extend(sweep(pieces).into_iter().map(|(hour, load)| UserHour {
            feature,
            user,
            host,
            hour,
            load,
        }));
    }
    users.sort_by_key(|u| (u.hour, u.user, u.host));

    let mut present: BTreeMap<Timestamp, (BTreeSet<Id>, BTreeSet<Id>)> = BTreeMap::new();
    for u in users.iter().filter(|u| u.load.used()) {
        let (users, hosts) = present.entry(u.hour).or_default();
        users.insert(u.user);
        hosts.insert(u.host);
    }
    let all: Vec<Piece> = by_user.into_values().flatten().collect();
    let hours = sweep(&all)
        .into_iter()
        .map(|(hour, load)| {
            let (users, hosts) = present
                .get(&hour)
                .map_or((0, 0), |(u, h)| (u.len(), h.len()));
            HourRollup {
                feature,
                hour,
                load,
                distinct_users: count(users),
                distinct_hosts: count(hosts),
            }
        })
        .collect();
    Rollup { hours, users }
}

/// The resolutions rollups are kept at: hours, and UTC days and months folded from them. A row
/// of a coarse grain is [`coarsen`]'s fold of its period's hourly rows; its `hour` field is the
/// period's first second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Grain {
    Hour,
    Day,
    Month,
}

impl Grain {
    /// Finest to coarsest.
    pub const ALL: [Grain; 3] = [Grain::Hour, Grain::Day, Grain::Month];

    /// The calendar period of this grain.
    pub fn period(self) -> Period {
        match self {
            Grain::Hour => Period::Hour,
            Grain::Day => Period::Day,
            Grain::Month => Period::Month,
        }
    }

    /// The coarsest grain whose rows each fall within one period of `period`: days for days and
    /// weeks, months for months and years.
    pub fn within(period: Period) -> Grain {
        match period {
            Period::Hour => Grain::Hour,
            Period::Day | Period::Week | Period::SundayWeek => Grain::Day,
            Period::Month | Period::Quarter | Period::Year => Grain::Month,
        }
    }

    /// The start of this grain's period holding `t`.
    pub fn start(self, t: Timestamp) -> Timestamp {
        self.period().start(t)
    }

    /// The first period start at or after `t`.
    pub fn ceil(self, t: Timestamp) -> Timestamp {
        let start = self.start(t);
        if start == t { t } else { self.next(start) }
    }

    /// The start of the period after the one starting at `start`.
    pub fn next(self, start: Timestamp) -> Timestamp {
        self.period().next(start)
    }
}

/// Hourly rows folded into `grain`'s periods, as reports fold them: per feature (and per user
/// and host) and period, peaks the largest, seconds and counts added ([`Load::add_hour`]); a
/// period's distinct users and hosts are those holding a license at some instant of it. Rows
/// come out in [`rollup`]'s order, their `hour` the period's start.
pub fn coarsen(grain: Grain, hourly: &Rollup) -> Rollup {
    let mut users: BTreeMap<(Timestamp, FeatureKey, Id, Id), Load> = BTreeMap::new();
    for u in &hourly.users {
        users
            .entry((grain.start(u.hour), u.feature, u.user, u.host))
            .or_default()
            .add_hour(&u.load);
    }
    let mut hours: BTreeMap<(Timestamp, FeatureKey), Load> = BTreeMap::new();
    for h in &hourly.hours {
        hours
            .entry((grain.start(h.hour), h.feature))
            .or_default()
            .add_hour(&h.load);
    }
    let mut present: BTreeMap<(Timestamp, FeatureKey), (BTreeSet<Id>, BTreeSet<Id>)> =
        BTreeMap::new();
    for (&(start, feature, user, host), load) in &users {
        if load.used() {
            let (users, hosts) = present.entry((start, feature)).or_default();
            users.insert(user);
            hosts.insert(host);
        }
    }
    Rollup {
        hours: hours
            .into_iter()
            .map(|((hour, feature), load)| {
                let (users, hosts) = present
                    .get(&(hour, feature))
                    .map_or((0, 0), |(u, h)| (u.len(), h.len()));
                HourRollup {
                    feature,
                    hour,
                    load,
                    distinct_users: count(users),
                    distinct_hosts: count(hosts),
                }
            })
            .collect(),
        users: users
            .into_iter()
            .map(|((hour, feature, user, host), load)| UserHour {
                feature,
                user,
                host,
                hour,
                load,
            })
            .collect(),
    }
}

/// The whole hours each feature's facts touch, merged into ranges: what to re-roll after a batch.
pub fn affected_hours(
    sessions: &[SessionFact],
    denials: &[DenialFact],
) -> BTreeMap<FeatureKey, Vec<Range<Timestamp>>> {
    let mut spans: BTreeMap<FeatureKey, Vec<Range<Timestamp>>> = BTreeMap::new();
    let touched = |start: Timestamp, end: Timestamp| {
        // An instant still belongs to its hour.
        hour_start(start)..hour_ceil(end.max(start.saturating_add(1)))
    };
    for s in sessions {
        spans
            .entry(s.key())
            .or_default()
            .push(touched(s.start, s.end));
    }
    for d in denials {
        let until = d.until.unwrap_or(d.time);
        spans
            .entry(d.key())
            .or_default()
            .push(touched(d.time, until));
    }
    for ranges in spans.values_mut() {
        ranges.sort_by_key(|r| r.start);
        let mut merged: Vec<Range<Timestamp>> = Vec::with_capacity(ranges.len());
        for r in ranges.drain(..) {
            match merged.last_mut() {
                Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
                _ => merged.push(r),
            }
        }
        *ranges = merged;
    }
    spans
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// A fact clipped to the rolled-up range: licenses `used` or wanted-but-`denied` over
/// `[start, end)` (an instant when equal), plus what happened at its original start.
#[derive(Debug, Clone, Copy)]
struct Piece {
    start: Timestamp,
    end: Timestamp,
    used: u64,
    denied: u64,
    /// The hour of the original start when it lies in the range: where the checkout or denial
    /// is counted.
    started: Option<Timestamp>,
    denial: bool,
}

impl Piece {
    fn clip(
        start: Timestamp,
        end: Timestamp,
        range: &Range<Timestamp>,
        used: u64,
        denied: u64,
        denial: bool,
    ) -> Option<Piece> {
        let end = end.max(start);
        let (s, e) = (start.max(range.start), end.min(range.end));
        let overlaps = if start == end {
            range.contains(&start)
        } else {
            s < e
        };
        overlaps.then(|| Piece {
            start: s,
            end: e,
            used,
            denied,
            started: range.contains(&start).then(|| hour_start(start)),
            denial,
        })
    }

    fn session(s: &SessionFact, range: &Range<Timestamp>) -> Option<Piece> {
        Piece::clip(s.start, s.end, range, s.count.into(), 0, false)
    }

    fn denial(d: &DenialFact, range: &Range<Timestamp>) -> Option<Piece> {
        // A point denial is an instant that wants nothing over time.
        let until = d.until.unwrap_or(d.time).max(d.time);
        let denied = if until > d.time { d.count.into() } else { 0 };
        Piece::clip(d.time, until, range, 0, denied, true)
    }
}

/// Per-hour load of a set of pieces: a sweep over their start and end events. Between two
/// consecutive event times the levels are constant, so seconds accrue as level × duration,
/// split at hour boundaries; a level held for any time in an hour is a candidate for its peak.
fn sweep(pieces: &[Piece]) -> BTreeMap<Timestamp, Load> {
    let mut out: BTreeMap<Timestamp, Load> = BTreeMap::new();
    let mut events: Vec<Event> = Vec::with_capacity(2 * pieces.len());
    for p in pieces {
        let (used, desired) = (signed(p.used), signed(p.used + p.denied));
        if p.end > p.start {
            events.push(Event::edge(p.start, used, desired));
            events.push(Event::edge(p.end, -used, -desired));
        } else if p.used > 0 {
            events.push(Event {
                time: p.start,
                used: 0,
                desired: 0,
                instant: p.used,
            });
        }
        if let Some(hour) = p.started {
            let load = out.entry(hour).or_default();
            if p.denial {
                load.denials += 1;
            } else {
                load.checkouts += 1;
            }
        }
    }
    events.sort_unstable_by_key(|e| e.time);

    let (mut used, mut desired, mut cursor) = (0i64, 0i64, Timestamp::MIN);
    for group in events.chunk_by(|a, b| a.time == b.time) {
        let t = group[0].time;
        accrue(&mut out, cursor..t, used, desired);
        used += group.iter().map(|e| e.used).sum::<i64>();
        desired += group.iter().map(|e| e.desired).sum::<i64>();
        // Instants count after the edges at their time (ends first), so a zero-length session
        // beside one that just ended does not count both.
        let instant: u64 = group.iter().map(|e| e.instant).sum();
        if instant > 0 {
            let load = out.entry(hour_start(t)).or_default();
            load.peak_in_use = load.peak_in_use.max(used.unsigned_abs() + instant);
            load.peak_desired = load.peak_desired.max(desired.unsigned_abs() + instant);
        }
        cursor = t;
    }
    out
}

/// A change of levels at `time`, or licenses held for an instant only.
#[derive(Debug, Clone, Copy)]
struct Event {
    time: Timestamp,
    used: i64,
    desired: i64,
    instant: u64,
}

impl Event {
    fn edge(time: Timestamp, used: i64, desired: i64) -> Event {
        Event {
            time,
            used,
            desired,
            instant: 0,
        }
    }
}

/// Adds constant levels held over `span` to the hours it crosses.
fn accrue(out: &mut BTreeMap<Timestamp, Load>, span: Range<Timestamp>, used: i64, desired: i64) {
    if used <= 0 && desired <= 0 {
        return;
    }
    let (used, desired) = (used.unsigned_abs(), desired.unsigned_abs());
    let mut a = span.start;
    while a < span.end {
        let hour = hour_start(a);
        let b = span.end.min(hour.saturating_add(HOUR));
        let secs = (b - a).unsigned_abs();
        let load = out.entry(hour).or_default();
        load.used_seconds += used * secs;
        load.desired_seconds += desired * secs;
        load.peak_in_use = load.peak_in_use.max(used);
        load.peak_desired = load.peak_desired.max(desired);
        a = b;
    }
}

fn signed(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::period::tests::at;

    pub(crate) const F: FeatureKey = FeatureKey {
        server: 1,
        feature: 10,
    };
    const MIN: i64 = 60;

    pub(crate) fn session(
        user: Id,
        host: Id,
        count: u32,
        start: Timestamp,
        end: Timestamp,
    ) -> SessionFact {
        SessionFact {
            server: F.server,
            feature: F.feature,
            user,
            host,
            count,
            start,
            end,
        }
    }

    pub(crate) fn denial(
        user: Id,
        count: u32,
        time: Timestamp,
        until: Option<Timestamp>,
    ) -> DenialFact {
        DenialFact {
            server: F.server,
            feature: F.feature,
            user,
            host: 100 + user,
            count,
            time,
            until,
        }
    }

    fn hour_of(r: &Rollup, hour: Timestamp) -> Load {
        r.hours
            .iter()
            .find(|h| h.hour == hour)
            .map(|h| h.load)
            .unwrap_or_default()
    }

    #[test]
    fn a_session_is_split_across_hours_and_midnight() {
        // 2 licenses from Jul 1 23:30 to Jul 2 01:15:
        // hour 23: 2 × 30 min = 3600 s; hour 00: 2 × 60 min = 7200 s; hour 01: 2 × 15 min = 1800 s.
        let s = [session(
            1,
            1,
            2,
            at(2007, 7, 1, 23) + 30 * MIN,
            at(2007, 7, 2, 1) + 15 * MIN,
        )];
        let r = rollup(F, at(2007, 7, 1, 0)..at(2007, 7, 3, 0), &s, &[]);
        let secs: Vec<(Timestamp, u64, u64)> = r
            .hours
            .iter()
            .map(|h| (h.hour, h.load.used_seconds, h.load.peak_in_use))
            .collect();
        assert_eq!(
            secs,
            [
                (at(2007, 7, 1, 23), 3_600, 2),
                (at(2007, 7, 2, 0), 7_200, 2),
                (at(2007, 7, 2, 1), 1_800, 2),
            ]
        );
        // The checkout is counted once, in the hour it began.
        assert_eq!(r.hours[0].load.checkouts, 1);
        assert_eq!(r.hours[1].load.checkouts, 0);
        assert_eq!(r.users.len(), 3);
    }

    #[test]
    fn peak_average_and_distinct_users_within_an_hour() {
        let h = at(2007, 7, 1, 10);
        let s = [
            session(1, 1, 1, h, h + 30 * MIN),
            session(2, 1, 1, h + 15 * MIN, h + 45 * MIN),
            // Back to back with the first: never two at once for user 1.
            session(1, 2, 1, h + 30 * MIN, h + HOUR),
        ];
        let r = rollup(F, h..h + HOUR, &s, &[]);
        // Levels: 1 (00-15), 2 (15-30), 2 (30-45), 1 (45-60):
        // 900 + 1800 + 1800 + 900 = 5400 license-seconds, average 5400 / 3600 = 1.5, peak 2.
        let row = r.hours[0];
        assert_eq!(row.load.used_seconds, 5_400);
        assert_eq!(row.load.avg_in_use(), 1.5);
        assert_eq!(row.load.peak_in_use, 2);
        assert_eq!((row.distinct_users, row.distinct_hosts), (2, 2));
        let per_user: Vec<(Id, Id, u64)> = r
            .users
            .iter()
            .map(|u| (u.user, u.host, u.load.used_seconds))
            .collect();
        assert_eq!(per_user, [(1, 1, 1_800), (1, 2, 1_800), (2, 1, 1_800)]);
    }

    #[test]
    fn desired_is_used_plus_interval_denials() {
        // An SFLM partial grant: 3 desired, 2 granted from 09:00 to 11:00 → a session of 2 and a
        // denial of 1 over the same span. Plus a FlexNet-style point denial at 10:20.
        let (nine, ten) = (at(2007, 7, 1, 9), at(2007, 7, 1, 10));
        let s = [session(1, 1, 2, nine, nine + 2 * HOUR)];
        let d = [
            denial(1, 1, nine, Some(nine + 2 * HOUR)),
            denial(2, 1, ten + 20 * MIN, None),
        ];
        let r = rollup(F, nine..nine + 2 * HOUR, &s, &d);
        // Each hour: used 2 × 3600 = 7200, desired 3 × 3600 = 10800, peaks 2 and 3.
        let nine_load = hour_of(&r, nine);
        assert_eq!(
            nine_load,
            Load {
                peak_in_use: 2,
                peak_desired: 3,
                used_seconds: 7_200,
                desired_seconds: 10_800,
                denials: 1,
                checkouts: 1,
            }
        );
        // The point denial counts as a denial only.
        let ten_load = hour_of(&r, ten);
        assert_eq!(
            (ten_load.desired_seconds, ten_load.peak_desired),
            (10_800, 3)
        );
        assert_eq!((ten_load.denials, ten_load.checkouts), (1, 0));
        // The denied-only user 2 is not a user of hour 10, but has a row with its denial.
        assert_eq!(r.hours[1].distinct_users, 1);
        let u2 = r.users.iter().find(|u| u.user == 2).map(|u| u.load);
        assert_eq!(u2.map(|l| (l.denials, l.used())), Some((1, false)));
    }

    #[test]
    fn zero_length_sessions_count_at_their_instant() {
        let h = at(2007, 7, 1, 10);
        let s = [
            session(1, 1, 1, h, h + 30 * MIN),
            // At 10:10, 2 licenses for an instant beside the running one: peak 1 + 2 = 3.
            session(2, 2, 2, h + 10 * MIN, h + 10 * MIN),
            // At 10:30, as the first ends: level 0 + 1 = 1, not 2.
            session(3, 3, 1, h + 30 * MIN, h + 30 * MIN),
            // An end before the start is read as an instant.
            session(4, 4, 1, h + 50 * MIN, h + 40 * MIN),
        ];
        let r = rollup(F, h..h + HOUR, &s, &[]);
        let row = r.hours[0];
        assert_eq!(row.load.peak_in_use, 3);
        assert_eq!(row.load.used_seconds, 1_800);
        assert_eq!(row.load.checkouts, 4);
        assert_eq!(row.distinct_users, 4);
    }

    #[test]
    fn facts_outside_the_range_or_feature_are_ignored() {
        let h = at(2007, 7, 1, 10);
        let mut other = session(1, 1, 5, h, h + HOUR);
        other.feature = 11;
        let s = [
            other,
            // Started the hour before: only its 10:00-10:20 part, and no checkout here.
            session(1, 1, 1, h - 20 * MIN, h + 20 * MIN),
            // Ends exactly where the range starts: does not overlap it.
            session(2, 2, 1, h - HOUR, h),
        ];
        // An unaligned range is widened to whole hours.
        let r = rollup(F, h + 5..h + 10, &s, &[denial(3, 1, h - 1, None)]);
        assert_eq!(r.hours.len(), 1);
        let load = r.hours[0].load;
        assert_eq!(
            (load.used_seconds, load.checkouts, load.denials),
            (1_200, 0, 0)
        );
    }

    #[test]
    fn rolling_up_hour_by_hour_equals_rolling_up_at_once() {
        // Late data recomputes only some hours; the result must not depend on the split.
        let t0 = at(2007, 7, 1, 0);
        let mut s = Vec::new();
        let mut d = Vec::new();
        for i in 0..40i64 {
            let start = t0 + i * 1_999 % (3 * HOUR * 24);
            s.push(session(
                i % 4,
                i % 3,
                (i % 3) as u32 + 1,
                start,
                start + i * 977,
            ));
            d.push(denial(
                i % 5,
                1,
                start + 7,
                (i % 2 == 0).then_some(start + i * 311),
            ));
        }
        let whole = rollup(F, t0..t0 + 80 * HOUR, &s, &d);
        let mut pieces = Rollup::default();
        for h in 0..80 {
            let r = rollup(F, t0 + h * HOUR..t0 + (h + 1) * HOUR, &s, &d);
            pieces.hours.extend(r.hours);
            pieces.users.extend(r.users);
        }
        assert_eq!(whole, pieces);
    }

    #[test]
    fn affected_hours_are_merged_per_feature() {
        let h = at(2007, 7, 1, 10);
        let mut other = session(1, 1, 1, h, h + 1);
        other.feature = 11;
        let s = [
            session(1, 1, 1, h + 30 * MIN, h + HOUR),
            session(1, 1, 1, h + HOUR, h + 2 * HOUR + 10 * MIN),
            session(1, 1, 1, h + 6 * HOUR, h + 6 * HOUR),
            other,
        ];
        let d = [denial(1, 1, h + 5 * HOUR, None)];
        let a = affected_hours(&s, &d);
        // 10:30-11:00 → [10, 11); 11:00-12:10 → [11, 13); merged [10, 13).
        // Point denial at 15:00 → [15, 16); instant at 16:00 → [16, 17); merged [15, 17).
        assert_eq!(a[&F], [h..h + 3 * HOUR, h + 5 * HOUR..h + 7 * HOUR]);
        assert_eq!(a[&other.key()], vec![h..h + HOUR]);
    }

    #[test]
    fn coarsening_to_hours_changes_nothing() {
        let h = at(2007, 7, 1, 10);
        let s = [
            session(1, 1, 2, h, h + 3 * HOUR),
            session(2, 2, 1, h + 30 * MIN, h + 30 * MIN),
        ];
        let d = [denial(3, 1, h + HOUR, Some(h + 2 * HOUR))];
        let r = rollup(F, h..h + 4 * HOUR, &s, &d);
        assert_eq!(coarsen(Grain::Hour, &r), r);
    }

    #[test]
    fn a_day_folds_its_hours_and_counts_each_user_once() {
        let (mon, tue) = (at(2007, 7, 2, 0), at(2007, 7, 3, 0));
        let s = [
            // u1 on two hosts in two hours of Monday, and across midnight into Tuesday.
            session(1, 1, 1, mon + 9 * HOUR, mon + 10 * HOUR),
            session(1, 2, 2, mon + 15 * HOUR, mon + 15 * HOUR + 30 * MIN),
            session(1, 1, 1, mon + 23 * HOUR, tue + HOUR),
            // u2 only denied on Monday: in user rows, not among the distinct users.
        ];
        let d = [denial(2, 1, mon + 12 * HOUR, None)];
        let days = coarsen(Grain::Day, &rollup(F, mon..tue + 24 * HOUR, &s, &d));
        assert_eq!(days.hours.len(), 2);
        let (m, t) = (&days.hours[0], &days.hours[1]);
        assert_eq!((m.hour, t.hour), (mon, tue));
        assert_eq!(m.load.used_seconds, 3_600 + 2 * 1_800 + 3_600);
        assert_eq!(m.load.peak_in_use, 2);
        assert_eq!((m.load.checkouts, m.load.denials), (3, 1));
        assert_eq!((m.distinct_users, m.distinct_hosts), (1, 2));
        assert_eq!(t.load.used_seconds, 3_600);
        assert_eq!((t.load.checkouts, t.distinct_users), (0, 1));
        // Per user and host: u1@h1, u1@h2, u2@h102 on Monday; u1@h1 on Tuesday.
        let who: Vec<_> = days
            .users
            .iter()
            .map(|u| (u.hour, u.user, u.host))
            .collect();
        assert_eq!(who, [(mon, 1, 1), (mon, 1, 2), (mon, 2, 102), (tue, 1, 1)]);
        // Months fold the same hours: one row.
        let months = coarsen(Grain::Month, &rollup(F, mon..tue + 24 * HOUR, &s, &d));
        assert_eq!(months.hours.len(), 1);
        assert_eq!(months.hours[0].hour, at(2007, 7, 1, 0));
        assert_eq!(months.hours[0].load.used_seconds, 4 * 3_600);
    }

    #[test]
    fn grains_round_up_to_their_next_start() {
        let t = at(2007, 7, 2, 10);
        assert_eq!(Grain::Day.ceil(t), at(2007, 7, 3, 0));
        assert_eq!(Grain::Day.ceil(at(2007, 7, 3, 0)), at(2007, 7, 3, 0));
        assert_eq!(Grain::Month.ceil(t), at(2007, 8, 1, 0));
        assert_eq!(Grain::Month.start(t), at(2007, 7, 1, 0));
        assert_eq!(Grain::within(Period::Year), Grain::Month);
        assert_eq!(Grain::within(Period::SundayWeek), Grain::Day);
    }
}
