//! Counting users and hosts, as Tally's own licence limits do (seeds 002 and 003).
//!
//! * A user is a User-Host pair (Model 2013's default) or a username (2013's option, and 2019):
//!   seed 002 lines 51-72, where `u1@h1, u2@h1, u1@h2` is 3 users one way and 2 the other.
//! * Model 2013 counts realtime users over the last 14 days and imported users over all history,
//!   denials never (002 lines 80-82); Model 2019 counts usernames over all history, denials
//!   included (003 line 33). Which servers' facts to pass (realtime or imported) is the caller's.
//! * Hosts are counted over the same sightings (the 2019 host limit, 003 lines 35-37).
//!
//! A sighting holds over `[start, end)`; an instant (a point denial, a zero-length session) over
//! its one second. It falls in a window `[now − days, now]` when the two overlap. Sightings from
//! rollup rows hold over their whole hour, so counting from rollups is exact to the hour.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::Timestamp;
use crate::period::{DAY, HOUR};
use crate::rollup::{DenialFact, Id, SessionFact, UserHour};

/// What one user is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Counting {
    /// A unique username and hostname pair.
    UserHost,
    /// A unique username, whatever the host.
    Username,
}

/// The time a count looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    AllHistory,
    /// The `days` days up to `now`.
    LastDays {
        days: u32,
        now: Timestamp,
    },
}

/// How users are counted for a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub counting: Counting,
    pub window: Window,
    /// Whether users seen only in denials count.
    pub denials: bool,
}

impl Rule {
    /// Model 2013, realtime servers: the last 14 days, denials not counted (002 lines 80, 82).
    pub fn model_2013_realtime(counting: Counting, now: Timestamp) -> Rule {
        Rule {
            counting,
            window: Window::LastDays { days: 14, now },
            denials: false,
        }
    }

    /// Model 2013, imported servers: all history, denials not counted (002 lines 81-82).
    pub fn model_2013_imported(counting: Counting) -> Rule {
        Rule {
            counting,
            window: Window::AllHistory,
            denials: false,
        }
    }

    /// Model 2019: usernames over all history, denials included (003 line 33).
    pub fn model_2019() -> Rule {
        Rule {
            counting: Counting::Username,
            window: Window::AllHistory,
            denials: true,
        }
    }
}

impl Rule {
    /// Whether `s` counts under this rule (in its window, not a denial the rule leaves out).
    pub fn counts(&self, s: &Seen) -> bool {
        (!s.denied_only || self.denials) && in_window(s, self.window)
    }
}

/// A user seen on a host over `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seen {
    pub user: Id,
    pub host: Id,
    pub start: Timestamp,
    pub end: Timestamp,
    /// Seen only asking for a license that was refused.
    pub denied_only: bool,
}

impl From<&SessionFact> for Seen {
    fn from(s: &SessionFact) -> Seen {
        Seen {
            user: s.user,
            host: s.host,
            start: s.start,
            end: s.end,
            denied_only: false,
        }
    }
}

impl From<&DenialFact> for Seen {
    fn from(d: &DenialFact) -> Seen {
        Seen {
            user: d.user,
            host: d.host,
            start: d.time,
            end: d.until.unwrap_or(d.time),
            denied_only: true,
        }
    }
}

impl From<&UserHour> for Seen {
    fn from(u: &UserHour) -> Seen {
        Seen {
            user: u.user,
            host: u.host,
            start: u.hour,
            end: u.hour.saturating_add(HOUR),
            denied_only: !u.load.used(),
        }
    }
}

/// Distinct users and hosts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct UserCount {
    pub users: u64,
    pub hosts: u64,
}

/// Counts the users and hosts of `seen` that `rule` counts.
pub fn count(seen: impl IntoIterator<Item = Seen>, rule: &Rule) -> UserCount {
    let mut users = BTreeSet::new();
    let mut hosts = BTreeSet::new();
    for s in seen {
        if !rule.counts(&s) {
            continue;
        }
        users.insert(match rule.counting {
            Counting::UserHost => (s.user, Some(s.host)),
            Counting::Username => (s.user, None),
        });
        hosts.insert(s.host);
    }
    UserCount {
        users: users.len() as u64,
        hosts: hosts.len() as u64,
    }
}

fn in_window(s: &Seen, window: Window) -> bool {
    match window {
        Window::AllHistory => true,
        Window::LastDays { days, now } => {
            let from = now.saturating_sub(i64::from(days) * DAY);
            let end = s.end.max(s.start.saturating_add(1));
            s.start <= now && end > from
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::period::tests::at;
    use crate::rollup::tests::{F, denial, session};
    use crate::rollup::{FeatureKey, rollup};

    #[test]
    fn the_seed_example() {
        // Seed 002: username1@hostname1, username2@hostname1, username1@hostname2.
        let t = at(2019, 1, 1, 9);
        let s = [
            session(1, 1, 1, t, t + 60),
            session(2, 1, 1, t, t + 60),
            session(1, 2, 1, t, t + 60),
        ];
        let n = |counting| {
            count(
                s.iter().map(Seen::from),
                &Rule::model_2013_imported(counting),
            )
        };
        assert_eq!(n(Counting::UserHost), UserCount { users: 3, hosts: 2 });
        assert_eq!(n(Counting::Username), UserCount { users: 2, hosts: 2 });
    }

    #[test]
    fn the_last_14_days() {
        let now = at(2019, 1, 15, 12);
        // The window starts 14 × 24 h earlier: Jan 1 12:00.
        let from = at(2019, 1, 1, 12);
        let s = [
            // Ended exactly as the window starts: out.
            session(1, 1, 1, from - 600, from),
            // Ended a second into it: in.
            session(2, 2, 1, from - 600, from + 1),
            // Began 20 days ago and ran into the window: in.
            session(3, 3, 1, now - 20 * DAY, from + 3_600),
            // An instant at the window's first second: in.
            session(4, 4, 1, from, from),
            // After `now`: out.
            session(5, 5, 1, now + 1, now + 60),
        ];
        let rule = Rule::model_2013_realtime(Counting::UserHost, now);
        assert_eq!(
            count(s.iter().map(Seen::from), &rule),
            UserCount { users: 3, hosts: 3 }
        );
        // The same facts over all history: all five.
        let all = Rule::model_2013_imported(Counting::UserHost);
        assert_eq!(count(s.iter().map(Seen::from), &all).users, 5);
    }

    #[test]
    fn denied_users_count_in_2019_only() {
        let t = at(2019, 1, 1, 9);
        let s = [session(1, 1, 1, t, t + 60)];
        // User 2 (host 102) was only ever refused; user 1 was refused too.
        let d = [denial(2, 1, t, None), denial(1, 1, t, None)];
        let seen = || s.iter().map(Seen::from).chain(d.iter().map(Seen::from));
        let c2013 = count(seen(), &Rule::model_2013_imported(Counting::Username));
        assert_eq!(c2013, UserCount { users: 1, hosts: 1 });
        // 2019 counts users 1 and 2, and hosts 1, 101 and 102.
        assert_eq!(
            count(seen(), &Rule::model_2019()),
            UserCount { users: 2, hosts: 3 }
        );
    }

    #[test]
    fn counting_from_rollup_rows_is_exact_to_the_hour() {
        let now = at(2019, 1, 15, 12);
        let from = at(2019, 1, 1, 12);
        let mut other = session(1, 1, 1, now - 60, now - 30);
        other.feature = 11;
        let s = [
            // Ended at 11:10, before the window's 12:00 start: its 11:00 row ends at 12:00, out.
            session(1, 1, 1, from - 3_000, from - 3_000 + 600),
            // Ended at 12:10: its 12:00 row is in.
            session(2, 2, 1, from - 600, from + 600),
            // User 1 again, on another feature, a minute before now: in.
            other,
        ];
        let d = [denial(3, 1, now - 60, None)];
        let key = FeatureKey {
            server: 1,
            feature: 11,
        };
        let range = from - 2 * HOUR..now;
        let mut rows = rollup(F, range.clone(), &s, &d).users;
        rows.extend(rollup(key, range, &s, &d).users);
        let rule = Rule::model_2013_realtime(Counting::Username, now);
        // Users 2 and 1 (via the other feature); user 3's row is a denial only.
        // Hosts: 2 and 1.
        assert_eq!(
            count(rows.iter().map(Seen::from), &rule),
            UserCount { users: 2, hosts: 2 }
        );
        assert_eq!(
            count(rows.iter().map(Seen::from), &Rule::model_2019()).users,
            3
        );
    }
}
