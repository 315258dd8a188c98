//! A server's workload: the sessions and denials that its users' arrivals produce, a pure
//! function of (scenario seed, server name), and the timeline its log is written from.

use crate::rng::Rng;
use crate::scenario::{Scenario, Server};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// The user checked the license in.
    Checkin,
    /// The server went down with the license out.
    Shutdown,
}

impl EndReason {
    pub fn name(self) -> &'static str {
        match self {
            Self::Checkin => "checkin",
            Self::Shutdown => "shutdown",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// 1-based, in start order: the server's handle for the checkout.
    pub id: u32,
    /// Index into the server's features.
    pub feature: usize,
    /// 1-based index into the user population (`user01` on `pc01`).
    pub user: u32,
    pub count: u32,
    pub start: i64,
    pub end: i64,
    pub end_reason: EndReason,
    /// Order of the arrival that made it (ties within one second keep this order).
    pub arrival: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    pub feature: usize,
    pub user: u32,
    pub count: u32,
    pub time: i64,
    pub arrival: u32,
}

#[derive(Debug, Clone)]
pub struct Workload<'a> {
    pub server: &'a Server,
    /// When the server first starts (the scenario's `sim_start`).
    pub start: i64,
    /// No arrivals from here on.
    pub arrivals_end: i64,
    /// Absolute `[start, end)` down periods.
    pub downs: Vec<(i64, i64)>,
    /// In start order.
    pub sessions: Vec<Session>,
    /// In time order.
    pub denials: Vec<Denial>,
}

/// Sessions never last less than this (seconds).
pub const MIN_SESSION: i64 = 60;

impl<'a> Workload<'a> {
    /// Simulates `server`'s arrivals up to `until` (all of them when `None`). The arrivals up
    /// to any time are the same whatever `until` is: one random stream, drawn in order.
    pub fn simulate(scenario: &Scenario, server: &'a Server, until: Option<i64>) -> Self {
        let start = scenario.sim_start();
        let arrivals_end = start + scenario.clock.duration;
        let downs: Vec<(i64, i64)> = server
            .down
            .iter()
            .map(|&[a, b]| (start + a, start + b))
            .collect();
        let mut w = Workload {
            server,
            start,
            arrivals_end,
            downs,
            sessions: Vec::new(),
            denials: Vec::new(),
        };
        if server.arrivals_per_hour <= 0.0 {
            return w;
        }
        let mut rng = Rng::new(scenario.seed, &server.name);
        let gap = 3600.0 / server.arrivals_per_hour;
        let mean = f64::from(server.mean_session);
        let last = until.map_or(arrivals_end - 1, |u| u.min(arrivals_end - 1));
        // Per feature: (end, user) of the checkouts still out.
        let mut out: Vec<Vec<(i64, u32)>> = vec![Vec::new(); server.features.len()];
        let mut t = start as f64;
        let mut arrival = 0u32;
        loop {
            t += rng.exp(gap);
            let at = t.floor() as i64;
            if at > last {
                break;
            }
            // Draw everything first so that the stream does not depend on what happens.
            let feature = rng.below(server.features.len() as u64) as usize;
            let user = 1 + rng.below(u64::from(server.users)) as u32;
            let length = (rng.exp(mean).round() as i64).max(MIN_SESSION);
            arrival += 1;
            if !w.is_up(at) {
                continue;
            }
            let holding = &mut out[feature];
            holding.retain(|&(end, _)| end > at);
            if holding.iter().any(|&(_, u)| u == user) {
                // The user already holds it: a second window of the application shares it.
                continue;
            }
            if holding.len() as u32 >= server.features[feature].issued {
                w.denials.push(Denial {
                    feature,
                    user,
                    count: 1,
                    time: at,
                    arrival,
                });
                continue;
            }
            let (end, end_reason) = match w.downs.iter().find(|d| d.0 > at) {
                Some(&(down, _)) if down < at + length => (down, EndReason::Shutdown),
                _ => (at + length, EndReason::Checkin),
            };
            holding.push((end, user));
            w.sessions.push(Session {
                id: w.sessions.len() as u32 + 1,
                feature,
                user,
                count: 1,
                start: at,
                end,
                end_reason,
                arrival,
            });
        }
        w
    }

    /// Whether the server answers at `t`: started, and not in a down period.
    pub fn is_up(&self, t: i64) -> bool {
        t >= self.start && !self.downs.iter().any(|&(a, b)| a <= t && t < b)
    }

    /// When the server last (re)started at or before `t`.
    pub fn started_at(&self, t: i64) -> i64 {
        self.downs
            .iter()
            .map(|d| d.1)
            .filter(|&b| b <= t)
            .fold(self.start, i64::max)
    }

    /// The checkouts out at `t` (`start <= t < end`), in start order.
    pub fn out_at(&self, t: i64) -> impl Iterator<Item = &Session> {
        self.sessions
            .iter()
            .take_while(move |s| s.start <= t)
            .filter(move |s| t < s.end)
    }

    /// When the log of the whole scenario ends: the last thing that happens.
    pub fn natural_end(&self) -> i64 {
        let sessions = self.sessions.iter().map(|s| s.end).max().unwrap_or(0);
        let downs = self.downs.last().map_or(0, |d| d.1);
        sessions.max(downs).max(self.arrivals_end)
    }

    pub fn user(&self, k: u32) -> String {
        format!("user{k:0w$}", w = self.width())
    }

    pub fn host(&self, k: u32) -> String {
        format!("pc{k:0w$}", w = self.width())
    }

    fn width(&self) -> usize {
        self.server.users.to_string().len().max(2)
    }

    /// Everything a log shows from the start up to `until` (inclusive), in the order a server
    /// writes it, with a `Stamp` every `stamp_every` seconds from the start.
    pub fn timeline(&self, until: i64, stamp_every: i64) -> Vec<(i64, Ev)> {
        let mut ev: Vec<(i64, u8, u32, Ev)> = Vec::new();
        if until < self.start {
            return Vec::new();
        }
        ev.push((self.start, 2, 0, Ev::Start { restart: false }));
        for (i, &(a, b)) in self.downs.iter().enumerate() {
            if a <= until {
                ev.push((a, 1, 0, Ev::Stop(i)));
            }
            if b <= until {
                ev.push((b, 2, 0, Ev::Start { restart: true }));
            }
        }
        for (i, s) in self.sessions.iter().enumerate() {
            if s.start <= until {
                ev.push((s.start, 4, s.arrival, Ev::Out(i)));
            }
            if s.end <= until && s.end_reason == EndReason::Checkin {
                ev.push((s.end, 0, s.id, Ev::In(i)));
            }
        }
        for (i, d) in self.denials.iter().enumerate() {
            if d.time <= until {
                ev.push((d.time, 4, d.arrival, Ev::Deny(i)));
            }
        }
        let mut t = self.start + stamp_every;
        while t <= until {
            ev.push((t, 3, 0, Ev::Stamp));
            t += stamp_every;
        }
        ev.sort_by_key(|e| (e.0, e.1, e.2));
        ev.into_iter().map(|(t, _, _, e)| (t, e)).collect()
    }

    /// The sessions a down period's shutdown ends (indices into `sessions`).
    pub fn ended_by(&self, down: usize) -> impl Iterator<Item = usize> {
        let at = self.downs[down].0;
        self.sessions
            .iter()
            .enumerate()
            .filter(move |(_, s)| s.end == at && s.end_reason == EndReason::Shutdown)
            .map(|(i, _)| i)
    }
}

/// One thing a server's log shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ev {
    /// The server starts (again, after a down period, when `restart`).
    Start {
        restart: bool,
    },
    /// Down period `i` begins: the server shuts down and its checkouts end.
    Stop(usize),
    Out(usize),
    In(usize),
    Deny(usize),
    /// A periodic date/time line.
    Stamp,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    pub fn scenario(extra: &str) -> Scenario {
        Scenario::parse(&format!(
            "seed = 7\n[clock]\nreal_start = 1764000000\nspeed = 60.0\nduration = 86400\n\
             [[server]]\nname = \"s\"\nmanager = \"flexlm\"\nusers = 30\nmean_session = 900\n\
             arrivals_per_hour = 40\n{extra}\n\
             [[server.feature]]\nname = \"a\"\nissued = 3\n[[server.feature]]\nname = \"b\"\nissued = 20\n"
        ))
        .unwrap()
    }

    #[test]
    fn capacity_is_never_exceeded_and_full_features_deny() {
        let sc = scenario("");
        let w = Workload::simulate(&sc, &sc.servers[0], None);
        assert!(w.sessions.len() > 500, "{}", w.sessions.len());
        assert!(!w.denials.is_empty());
        for d in &w.denials {
            let out = w.out_at(d.time).filter(|s| s.feature == d.feature).count() as u32;
            assert_eq!(out, sc.servers[0].features[d.feature].issued, "{d:?}");
        }
        for s in &w.sessions {
            let out = w.out_at(s.start).filter(|x| x.feature == s.feature).count() as u32;
            assert!(out <= sc.servers[0].features[s.feature].issued);
            assert!(s.end - s.start >= MIN_SESSION);
            assert!(s.start < w.arrivals_end);
        }
        let mean =
            w.sessions.iter().map(|s| s.end - s.start).sum::<i64>() / w.sessions.len() as i64;
        assert!((750..1100).contains(&mean), "{mean}");
    }

    #[test]
    fn down_periods_end_sessions_and_refuse_arrivals() {
        let sc = scenario("down = [[36000, 39600]]");
        let w = Workload::simulate(&sc, &sc.servers[0], None);
        let (a, b) = w.downs[0];
        assert!(!w.is_up(a) && !w.is_up(b - 1) && w.is_up(b) && w.is_up(a - 1));
        assert!(!w.is_up(w.start - 1));
        assert_eq!(w.started_at(b + 5), b);
        assert_eq!(w.started_at(a), w.start);
        assert!(w.sessions.iter().all(|s| s.start < a || s.start >= b));
        assert!(w.denials.iter().all(|d| d.time < a || d.time >= b));
        let ended: Vec<_> = w.ended_by(0).collect();
        assert!(!ended.is_empty());
        for s in &w.sessions {
            if s.start < a && s.end >= a {
                assert_eq!((s.end, s.end_reason), (a, EndReason::Shutdown));
            }
        }
        assert_eq!(w.out_at(a).count(), 0);
    }

    #[test]
    fn stopping_early_changes_nothing_before_the_stop() {
        let sc = scenario("down = [[3600, 4000]]");
        let all = Workload::simulate(&sc, &sc.servers[0], None);
        let cut = all.start + 20_000;
        let part = Workload::simulate(&sc, &sc.servers[0], Some(cut));
        let before: Vec<_> = all.sessions.iter().filter(|s| s.start <= cut).collect();
        assert_eq!(before, part.sessions.iter().collect::<Vec<_>>());
        assert_eq!(all.out_at(cut).count(), part.out_at(cut).count());
    }

    #[test]
    fn timeline_orders_checkins_before_checkouts_and_stamps() {
        let sc = scenario("down = [[3600, 4000]]");
        let w = Workload::simulate(&sc, &sc.servers[0], None);
        let tl = w.timeline(w.natural_end(), 6 * 3600);
        assert!(tl.windows(2).all(|p| p[0].0 <= p[1].0));
        assert_eq!(tl[0], (w.start, Ev::Start { restart: false }));
        let stamps = tl.iter().filter(|e| e.1 == Ev::Stamp).count() as i64;
        assert_eq!(stamps, (w.natural_end() - w.start) / (6 * 3600));
        assert!(tl.contains(&(w.downs[0].0, Ev::Stop(0))));
        assert!(tl.contains(&(w.downs[0].1, Ev::Start { restart: true })));
        let ins = tl.iter().filter(|e| matches!(e.1, Ev::In(_))).count();
        let shut = w.ended_by(0).count();
        assert_eq!(ins + shut, w.sessions.len());
        assert_eq!(
            (w.user(3), w.host(12)),
            ("user03".to_string(), "pc12".to_string())
        );
    }
}
