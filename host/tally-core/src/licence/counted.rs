//! Who is counted against the user and host limits, by name, so a poll's newcomers are known
//! before its data is saved ("the number of users to save exceeds the limit"): the store reads
//! the set once ([`tally_core::users`] rules over its sightings), the poller asks
//! [`Counted::newcomers`] per poll and [`Counted::add`]s what it saved.

use std::collections::HashSet;

use serde::Serialize;

use crate::users::Counting;

/// Model 2013 counts realtime users over the last 14 days (seed 002).
pub const REALTIME_USER_DAYS: u32 = 14;

/// Model 2013 counts the imported servers with imports since this moment: 3 calendar months
/// before `now` (to the same day and second, or the month's last day when it has fewer).
pub fn imported_servers_since(now: crate::Timestamp) -> crate::Timestamp {
    chrono::DateTime::from_timestamp(now, 0)
        .and_then(|t| t.checked_sub_months(chrono::Months::new(3)))
        .map_or(i64::MIN, |t| t.timestamp())
}

/// A user on a host, by name, as a poll or a fact names them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UserAtHost {
    pub user: String,
    pub host: String,
}

/// Users not counted yet among a poll's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Newcomers {
    pub users: u64,
    pub hosts: u64,
}

/// The users (by the licence's counting) and hosts counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counted {
    counting: Counting,
    users: HashSet<(String, Option<String>)>,
    hosts: HashSet<String>,
}

impl Counted {
    pub fn new(counting: Counting) -> Counted {
        Counted {
            counting,
            users: HashSet::new(),
            hosts: HashSet::new(),
        }
    }

    fn key(&self, u: &UserAtHost) -> (String, Option<String>) {
        match self.counting {
            Counting::UserHost => (u.user.clone(), Some(u.host.clone())),
            Counting::Username => (u.user.clone(), None),
        }
    }

    pub fn add(&mut self, u: &UserAtHost) {
        let key = self.key(u);
        self.users.insert(key);
        if !self.hosts.contains(&u.host) {
            self.hosts.insert(u.host.clone());
        }
    }

    pub fn users(&self) -> u64 {
        self.users.len() as u64
    }

    pub fn hosts(&self) -> u64 {
        self.hosts.len() as u64
    }

    /// How many distinct users and hosts of `poll` are not counted yet.
    pub fn newcomers<'a>(&self, poll: impl IntoIterator<Item = &'a UserAtHost>) -> Newcomers {
        let mut users = HashSet::new();
        let mut hosts = HashSet::new();
        for u in poll {
            let key = self.key(u);
            if !self.users.contains(&key) {
                users.insert(key);
            }
            if !self.hosts.contains(&u.host) {
                hosts.insert(u.host.clone());
            }
        }
        Newcomers {
            users: users.len() as u64,
            hosts: hosts.len() as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(user: &str, host: &str) -> UserAtHost {
        UserAtHost {
            user: user.into(),
            host: host.into(),
        }
    }

    #[test]
    fn three_calendar_months() {
        let t = |s: &str| {
            chrono::DateTime::parse_from_rfc3339(s)
                .expect("time")
                .timestamp()
        };
        assert_eq!(
            imported_servers_since(t("2026-09-01T10:00:00Z")),
            t("2026-06-01T10:00:00Z")
        );
        // May 31 less 3 months: February's last day.
        assert_eq!(
            imported_servers_since(t("2026-05-31T00:00:00Z")),
            t("2026-02-28T00:00:00Z")
        );
    }

    #[test]
    fn newcomers_follow_the_counting() {
        // Seed 002's example: u1@h1, u2@h1 counted; a poll brings u1@h2 twice and u2@h1.
        let poll = [at("u1", "h2"), at("u1", "h2"), at("u2", "h1")];
        let mut by_pair = Counted::new(Counting::UserHost);
        let mut by_name = Counted::new(Counting::Username);
        for c in [&mut by_pair, &mut by_name] {
            c.add(&at("u1", "h1"));
            c.add(&at("u2", "h1"));
        }
        assert_eq!(by_pair.newcomers(&poll), Newcomers { users: 1, hosts: 1 });
        assert_eq!(by_name.newcomers(&poll), Newcomers { users: 0, hosts: 1 });
        by_pair.add(&at("u1", "h2"));
        assert_eq!((by_pair.users(), by_pair.hosts()), (3, 2));
        assert_eq!(by_pair.newcomers(&poll), Newcomers::default());
    }
}
