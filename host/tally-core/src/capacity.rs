//! Capacity: how many licences of a feature a server had to give, and since when.
//!
//! Capacity comes from three sources, in order of trust: the license server's own records
//! (an RLM report log's `PRODUCT` lines, any count a log states), license files (FlexNet
//! `FEATURE`/`INCREMENT`, RLM `LICENSE` lines), and what the operator enters for a range of
//! dates (contracts change). At any instant the most trusted source that says anything about a
//! feature decides; within it, the pools (INCREMENT lines, RLM pools) in force add up.
//! Unknown capacity is [`Issued::Unknown`], never zero: a report shows it as unknown.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::{Sym, Timestamp};

named_enum!(
    /// Where a capacity statement comes from, most trusted first.
    CapacitySource {
        Server => "server",
        LicenseFile => "license-file",
        Operator => "operator",
    }
);

impl CapacitySource {
    /// Lower is more trusted.
    pub fn rank(self) -> u8 {
        match self {
            CapacitySource::Server => 0,
            CapacitySource::LicenseFile => 1,
            CapacitySource::Operator => 2,
        }
    }
}

/// A feature's capacity as an importer states it (records name strings by [`Sym`], like the
/// rest of a [`crate::Batch`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capacity {
    pub vendor: Sym,
    pub feature: Sym,
    pub version: Option<Sym>,
    /// Tells apart several pools of one feature (INCREMENT lines, RLM pool numbers): the
    /// licences of the pools in force add up.
    pub pool: Option<Sym>,
    /// Licences issued; `None`: uncounted (as many as asked for).
    pub issued: Option<u32>,
    /// From when the count holds: when the log stated it, or the licence's start date; `None`:
    /// from whenever the feature was first used.
    pub from: Option<Timestamp>,
    /// When the licences expire; `None`: permanent.
    pub expiry: Option<Timestamp>,
    /// The server's own record or a license file (operators enter theirs through the store).
    pub source: CapacitySource,
}

/// A feature's issued licences at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "count")]
pub enum Issued {
    Count(u32),
    Uncounted,
    /// No source says: shown as unknown, never as zero.
    Unknown,
}

impl Issued {
    /// The count when there is one (what percentages are of).
    pub fn count(self) -> Option<u32> {
        match self {
            Issued::Count(n) => Some(n),
            Issued::Uncounted | Issued::Unknown => None,
        }
    }
}

/// One stored capacity statement of a feature (what the store reads back).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CapacityRange {
    pub source: CapacitySource,
    /// `""` when the source names no pool.
    pub pool: String,
    pub version: Option<String>,
    /// `None`: uncounted.
    pub issued: Option<u32>,
    /// `None`: since ever.
    pub from: Option<Timestamp>,
    /// Exclusive; `None`: open-ended.
    pub until: Option<Timestamp>,
}

impl CapacityRange {
    pub fn in_force(&self, at: Timestamp) -> bool {
        self.from.is_none_or(|f| f <= at) && self.until.is_none_or(|u| at < u)
    }
}

/// The capacity of one feature in force at `at`, from all its stored statements: the most
/// trusted source with a statement in force decides. The server's own records restate all of
/// a feature's pools at once (RLM writes its `PRODUCT` lines at every start and reread, and
/// may number its pools anew), so its latest statement time up to `at` decides, with the pools
/// stated then. License files and the operator state pools that each hold over their range:
/// each pool counts once (its latest statement begun by `at`). Pools add up; one uncounted
/// pool makes the feature uncounted.
pub fn in_force(ranges: &[CapacityRange], at: Timestamp) -> Issued {
    let live = ranges.iter().filter(|r| r.in_force(at));
    let Some(best) = live.clone().map(|r| r.source.rank()).min() else {
        return Issued::Unknown;
    };
    let start = |r: &CapacityRange| r.from.unwrap_or(Timestamp::MIN);
    let chosen: Vec<&CapacityRange> = live.filter(|r| r.source.rank() == best).collect();
    let latest = chosen
        .iter()
        .map(|r| start(r))
        .max()
        .unwrap_or(Timestamp::MIN);
    let mut pools: BTreeMap<&str, &CapacityRange> = BTreeMap::new();
    for r in chosen {
        if best == CapacitySource::Server.rank() && start(r) != latest {
            continue;
        }
        pools
            .entry(r.pool.as_str())
            .and_modify(|cur| {
                if start(r) >= start(cur) {
                    *cur = r;
                }
            })
            .or_insert(r);
    }
    let mut total: u32 = 0;
    for r in pools.values() {
        match r.issued {
            Some(n) => total = total.saturating_add(n),
            None => return Issued::Uncounted,
        }
    }
    Issued::Count(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(
        source: CapacitySource,
        pool: &str,
        issued: Option<u32>,
        from: Option<Timestamp>,
        until: Option<Timestamp>,
    ) -> CapacityRange {
        CapacityRange {
            source,
            pool: pool.into(),
            version: None,
            issued,
            from,
            until,
        }
    }

    #[test]
    fn unknown_is_not_zero() {
        assert_eq!(in_force(&[], 0), Issued::Unknown);
        assert_eq!(Issued::Unknown.count(), None);
        let expired = [range(
            CapacitySource::LicenseFile,
            "",
            Some(5),
            None,
            Some(100),
        )];
        assert_eq!(in_force(&expired, 100), Issued::Unknown);
        assert_eq!(in_force(&expired, 99), Issued::Count(5));
    }

    #[test]
    fn most_trusted_source_decides_and_pools_add_up() {
        use CapacitySource::*;
        let r = [
            // The operator's contract: 10 from t=0 to 1000, then 12.
            range(Operator, "", Some(10), Some(0), Some(1_000)),
            range(Operator, "", Some(12), Some(1_000), None),
            // A license file of two INCREMENT lines, valid 200..800.
            range(LicenseFile, "a", Some(4), Some(200), Some(800)),
            range(LicenseFile, "b", Some(3), Some(200), Some(800)),
            // The server's log stated pools 7 and 9 at 500, then at a restart at 600 numbered
            // them 7 and 8 with 8 licences in all: the statement at 600 replaces the one at 500.
            range(Server, "7", Some(4), Some(500), None),
            range(Server, "9", Some(2), Some(500), None),
            range(Server, "7", Some(5), Some(600), None),
            range(Server, "8", Some(3), Some(600), None),
        ];
        assert_eq!(in_force(&r, 100), Issued::Count(10));
        assert_eq!(in_force(&r, 300), Issued::Count(7));
        assert_eq!(in_force(&r, 550), Issued::Count(6));
        assert_eq!(in_force(&r, 600), Issued::Count(8));
        assert_eq!(in_force(&r, 700), Issued::Count(8));
        assert_eq!(in_force(&r, 1_500), Issued::Count(8));
        let uncounted = [
            range(LicenseFile, "x", None, None, None),
            range(LicenseFile, "y", Some(2), None, None),
        ];
        assert_eq!(in_force(&uncounted, 0), Issued::Uncounted);
    }
}
