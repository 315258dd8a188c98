//! Sessions from consecutive polls: a checkout that appears starts a session, one that
//! disappears ends it. Sampling cannot be exact (seed `000`): a session is known to within one
//! query interval at each end.

use std::collections::HashMap;
use std::hash::Hash;

use crate::facts::Timestamp;

/// A checkout seen by earlier polls and not yet gone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Open<K> {
    pub key: K,
    pub count: u32,
    pub start: Timestamp,
}

/// A checkout the current poll shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen<K> {
    pub key: K,
    pub count: u32,
    /// The start time the manager reports, if it does.
    pub start: Option<Timestamp>,
}

/// What one poll changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollDiff<K> {
    /// New checkouts, with the start they are given.
    pub opened: Vec<Open<K>>,
    /// Checkouts gone since the last poll: sessions ending at this poll.
    pub closed: Vec<Open<K>>,
    /// Still held.
    pub kept: Vec<Open<K>>,
}

/// Matches the current poll at `now` against what was open after the previous poll (taken at
/// `previous`, if any). Same key and count is the same checkout; several identical checkouts
/// (one user holding two equal licenses) pair up in start order.
///
/// A new checkout starts at the time the manager reports when that lies between the previous
/// poll and now (so a fresh start of Tally keeps the real start); otherwise at `now`.
pub fn diff<K: Eq + Hash + Clone>(
    open: Vec<Open<K>>,
    seen: Vec<Seen<K>>,
    previous: Option<Timestamp>,
    now: Timestamp,
) -> PollDiff<K> {
    let mut waiting: HashMap<(K, u32), Vec<Open<K>>> = HashMap::new();
    for o in open {
        waiting.entry((o.key.clone(), o.count)).or_default().push(o);
    }
    for list in waiting.values_mut() {
        // Pop from the end: earliest start first.
        list.sort_by_key(|o| std::cmp::Reverse(o.start));
    }
    let mut out = PollDiff {
        opened: vec![],
        closed: vec![],
        kept: vec![],
    };
    for s in seen {
        match waiting
            .get_mut(&(s.key.clone(), s.count))
            .and_then(Vec::pop)
        {
            Some(o) => out.kept.push(o),
            None => {
                let start = s
                    .start
                    .filter(|&t| t <= now && previous.is_none_or(|p| t >= p))
                    .unwrap_or(now);
                out.opened.push(Open {
                    key: s.key,
                    count: s.count,
                    start,
                });
            }
        }
    }
    out.closed = waiting.into_values().flatten().collect();
    out.closed.sort_by_key(|o| o.start);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(key: &'static str, start: Option<i64>) -> Seen<&'static str> {
        Seen {
            key,
            count: 1,
            start,
        }
    }

    #[test]
    fn appear_stay_disappear() {
        let first = diff(
            vec![],
            vec![seen("ann", None), seen("bob", Some(50))],
            None,
            100,
        );
        assert_eq!(first.opened.len(), 2);
        assert_eq!(
            first.opened[1].start, 50,
            "the first poll keeps a reported start"
        );
        let open: Vec<_> = first.opened;
        let second = diff(open, vec![seen("bob", Some(50))], Some(100), 160);
        assert_eq!(second.kept.len(), 1);
        assert_eq!(
            second.closed,
            vec![Open {
                key: "ann",
                count: 1,
                start: 100
            }]
        );
        assert!(second.opened.is_empty());
    }

    #[test]
    fn reported_starts_before_the_previous_poll_are_not_trusted() {
        // A checkout the previous poll did not show cannot have started before it.
        let d = diff(vec![], vec![seen("ann", Some(10))], Some(100), 160);
        assert_eq!(d.opened[0].start, 160);
        let d = diff(vec![], vec![seen("ann", Some(130))], Some(100), 160);
        assert_eq!(d.opened[0].start, 130);
    }

    #[test]
    fn identical_checkouts_pair_in_start_order() {
        let open = vec![
            Open {
                key: "ann",
                count: 1,
                start: 20,
            },
            Open {
                key: "ann",
                count: 1,
                start: 10,
            },
        ];
        let d = diff(open, vec![seen("ann", None)], Some(100), 160);
        assert_eq!(d.kept[0].start, 10, "the older one is the one still held");
        assert_eq!(d.closed[0].start, 20);
    }

    #[test]
    fn a_changed_count_is_a_new_checkout() {
        let open = vec![Open {
            key: "ann",
            count: 1,
            start: 10,
        }];
        let d = diff(
            open,
            vec![Seen {
                key: "ann",
                count: 2,
                start: None,
            }],
            Some(100),
            160,
        );
        assert_eq!(d.closed.len(), 1);
        assert_eq!(d.opened[0].count, 2);
    }
}
