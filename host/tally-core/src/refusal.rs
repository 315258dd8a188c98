//! Why a licence request was refused, by cause: *capacity* (every licence was taken, the
//! queue was full, the rest is reserved), *configuration* (the server cannot serve this
//! request however many licences are free: no such feature, version not served, host or user
//! not allowed, licence expired) or *other* (the server or the network failed, a cause not
//! known). Only capacity refusals are demand that more licences would have met: they are what
//! "desired" counts; the others are for the administrator to fix.
//!
//! Each manager records its refusals differently (importers keep the kind, code and reason
//! text as the log gives them), so the cause is decided from the code first, where the manager
//! has stable codes (FlexNet's `-major,minor`, RLM's `RLM_EL_…` status), then from the reason's
//! words, then from the kind (an `unsupported` refusal is configuration; a refusal with neither
//! code nor reason is taken for lack of licences; one whose code or reason is not understood
//! is other).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::rollup::{FeatureKey, Id};
use crate::{DenialKind, ErrorCode, Timestamp};

named_enum!(
    /// Why a request was refused, as far as the administrator can act on it.
    RefusalCause {
        Capacity => "capacity",
        Configuration => "configuration",
        Other => "other",
    }
);

/// What the store keeps of a refusal, borrowed: the manager of its license server (`flexlm`,
/// `rlm`, `dsls`, `sflm`, … as plugin manifests name it), its kind, code and reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal<'a> {
    pub manager: &'a str,
    pub kind: DenialKind,
    pub code: Option<ErrorCode>,
    pub reason: Option<&'a str>,
}

/// The cause of one refusal.
pub fn classify(r: &Refusal<'_>) -> RefusalCause {
    let by_code = r.code.and_then(|code| match r.manager {
        "flexlm" => flexnet(code.major),
        "rlm" => rlm(code.major),
        _ => None,
    });
    by_code
        .or_else(|| r.reason.and_then(by_words))
        .unwrap_or(match (r.kind, r.code, r.reason) {
            (DenialKind::Unsupported, ..) => RefusalCause::Configuration,
            // A refusal that says nothing more (a manager that logs no reason) is taken for
            // lack of licences, as every denial was before causes were kept.
            (DenialKind::Denied, None, None) => RefusalCause::Capacity,
            // A code or reason not understood: shown apart, not counted as demand.
            (DenialKind::Denied, ..) => RefusalCause::Other,
        })
}

/// FlexNet's major error codes (`lmerrors.h`, "FlexNet Publisher error codes").
fn flexnet(major: i32) -> Option<RefusalCause> {
    use RefusalCause::*;
    Some(match major {
        // Licensed number of users already reached; users queued for this feature; in the
        // queue; request for more licences than the feature has; over the options file's MAX
        // (the licences left are kept for others).
        -4 | -24 | -35 | -26 | -87 => Capacity,
        // No such feature; invalid host; feature expired; server or licence file does not
        // support this feature or version; start date in the future; user/host on the EXCLUDE
        // list or not on the INCLUDE list; invalid licence key.
        -5 | -9 | -10 | -18 | -21 | -25 | -31 | -38 | -39 | -8 => Configuration,
        // Cannot connect, read or write; server busy or down; vendor daemon down; clock
        // differences and set-backs: nothing a licence count or the licence file explains.
        -3 | -7 | -12 | -15 | -16 | -17 | -23 | -34 | -88 | -96 | -97 => Other,
        _ => return None,
    })
}

/// RLM's license status values (`RLM_EL_…`).
fn rlm(status: i32) -> Option<RefusalCause> {
    use RefusalCause::*;
    Some(match status {
        // Too many licences requested; over the licence MAX; all in use; in queue; too many
        // roaming; over the soft limit; not enough count for a metered licence.
        -8 | -14 | -22 | -25 | -31 | -39 | -54 => Capacity,
        // No authorization; for another ISV; expired; wrong host; bad key or date; none
        // supplied; EXCLUDE/INCLUDE lists; no hostid; syntax error; roam lists; wrong platform
        // or time zone; start date not reached; not a named user; terminal servers or virtual
        // machines disabled; demo expired; wrong password.
        -7..=-1
        | -13..=-9
        | -18
        | -23
        | -26
        | -29
        | -30
        | -35
        | -36
        | -37
        | -45
        | -46
        | -47
        | -49
        | -52 => Configuration,
        _ => Other,
    })
}

/// The cause a reason's words name, for managers without codes (DSLS, SFLM, LM-X, …) and for
/// codes not listed above. Matched on lower-case words, capacity first: "not enough licenses"
/// must not read as a configuration "not …".
fn by_words(reason: &str) -> Option<RefusalCause> {
    let r = reason.to_lowercase();
    let any = |words: &[&str]| words.iter().any(|w| r.contains(w));
    if any(&[
        "all licenses in use",
        "all licences in use",
        "number of users already reached",
        "no more available license",
        "no license available",
        "no licenses available",
        "not enough",
        "too many licenses",
        "queue",
        "reserv",
        "exceed",
        "max specified",
        "limit reached",
        "soft limit",
        "not granted",
        "partially granted",
    ]) {
        return Some(RefusalCause::Capacity);
    }
    if any(&[
        "no such feature",
        "not support",
        "unsupported",
        "version",
        "expired",
        "not authorized",
        "not authorised",
        "no authorization",
        "exclude",
        "include",
        "wrong host",
        "invalid host",
        "hostid",
        "start date",
        "not a named user",
        "not allowed",
    ]) {
        return Some(RefusalCause::Configuration);
    }
    None
}

/// One stored refusal with its cause (what [`summarise`] adds up; the store reads them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefusalRecord {
    #[serde(flatten)]
    pub feature: FeatureKey,
    pub user: Id,
    pub host: Id,
    pub count: u32,
    pub time: Timestamp,
    pub cause: RefusalCause,
    /// The manager's reason text, or its code when it gives no text.
    pub reason: Option<String>,
}

/// Refusals of one feature for one cause and reason: the row of the denials report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefusalSummary {
    #[serde(flatten)]
    pub feature: FeatureKey,
    pub cause: RefusalCause,
    pub reason: Option<String>,
    /// Refusal records (not licences).
    pub refusals: u64,
    /// Licences refused, summed over the records.
    pub licenses: u64,
    pub users: u64,
    pub first: Timestamp,
    pub last: Timestamp,
}

/// Refusals per feature, cause and reason, most refused first (then by feature and cause).
pub fn summarise(records: &[RefusalRecord]) -> Vec<RefusalSummary> {
    type Key<'a> = (FeatureKey, RefusalCause, Option<&'a str>);
    let mut groups: BTreeMap<Key<'_>, (RefusalSummary, BTreeSet<Id>)> = BTreeMap::new();
    for r in records {
        let key = (r.feature, r.cause, r.reason.as_deref());
        let (sum, users) = groups.entry(key).or_insert_with(|| {
            (
                RefusalSummary {
                    feature: r.feature,
                    cause: r.cause,
                    reason: r.reason.clone(),
                    refusals: 0,
                    licenses: 0,
                    users: 0,
                    first: r.time,
                    last: r.time,
                },
                BTreeSet::new(),
            )
        });
        sum.refusals += 1;
        sum.licenses += u64::from(r.count);
        sum.first = sum.first.min(r.time);
        sum.last = sum.last.max(r.time);
        users.insert(r.user);
    }
    let mut rows: Vec<RefusalSummary> = groups
        .into_values()
        .map(|(mut s, users)| {
            s.users = users.len() as u64;
            s
        })
        .collect();
    // Stable: equal counts keep the feature, cause, reason order.
    rows.sort_by_key(|r| std::cmp::Reverse(r.refusals));
    rows
}

/// Refusal records per cause: the denials report's totals line and the API's summary.
pub fn per_cause(records: &[RefusalRecord]) -> BTreeMap<RefusalCause, u64> {
    let mut out = BTreeMap::new();
    for r in records {
        *out.entry(r.cause).or_default() += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use RefusalCause::*;

    fn code(major: i32, minor: Option<i32>) -> Option<ErrorCode> {
        Some(ErrorCode {
            major,
            minor,
            errno: None,
        })
    }

    /// Reason texts and codes as the corpus's logs give them, through the importers.
    #[test]
    fn corpus_refusals_by_cause() {
        let table: &[(
            &str,
            DenialKind,
            Option<ErrorCode>,
            Option<&str>,
            RefusalCause,
        )] = &[
            // FlexNet debug logs (Siemens NX saltd, Autodesk, ANSYS).
            (
                "flexlm",
                DenialKind::Denied,
                code(-4, Some(342)),
                Some("Licensed number of users already reached."),
                Capacity,
            ),
            (
                "flexlm",
                DenialKind::Denied,
                code(-25, Some(334)),
                Some("License server system does not support this version of this feature."),
                Configuration,
            ),
            (
                "flexlm",
                DenialKind::Unsupported,
                code(-5, Some(346)),
                Some("No such feature exists."),
                Configuration,
            ),
            // RLM report log: `DENY … -22`, with the text the importer adds.
            (
                "rlm",
                DenialKind::Denied,
                code(-22, None),
                Some("All licenses in use"),
                Capacity,
            ),
            (
                "rlm",
                DenialKind::Denied,
                code(-22, None),
                Some("All licenses in use (not the client's last attempt)"),
                Capacity,
            ),
            (
                "rlm",
                DenialKind::Unsupported,
                code(-6, None),
                None,
                Configuration,
            ),
            ("rlm", DenialKind::Denied, code(-17, None), None, Other),
            // DSLS (3DEXPERIENCE) LICENSESERV lines.
            (
                "dsls",
                DenialKind::Denied,
                None,
                Some("no more available license"),
                Capacity,
            ),
            (
                "dsls",
                DenialKind::Denied,
                None,
                Some("user nakarin.s not authorized"),
                Configuration,
            ),
            // SFLM shortfalls.
            (
                "sflm",
                DenialKind::Denied,
                None,
                Some("not granted"),
                Capacity,
            ),
            (
                "sflm",
                DenialKind::Denied,
                None,
                Some("partially granted"),
                Capacity,
            ),
            // Nothing to go by: lack of licences, as before causes were kept.
            ("lmx", DenialKind::Denied, None, None, Capacity),
            // A reason not understood.
            (
                "lmx",
                DenialKind::Denied,
                None,
                Some("feature FOO: error 17"),
                Other,
            ),
            ("lmx", DenialKind::Unsupported, None, None, Configuration),
            // A FlexNet code not listed falls back on the words.
            (
                "flexlm",
                DenialKind::Denied,
                code(-999, None),
                Some("Feature has expired."),
                Configuration,
            ),
            (
                "flexlm",
                DenialKind::Denied,
                code(-96, Some(7)),
                Some("License server machine is down or not responding."),
                Other,
            ),
        ];
        for &(manager, kind, code, reason, want) in table {
            let r = Refusal {
                manager,
                kind,
                code,
                reason,
            };
            assert_eq!(classify(&r), want, "{r:?}");
        }
    }

    #[test]
    fn summaries_put_the_most_refused_first() {
        let f = |feature| FeatureKey { server: 1, feature };
        let rec = |feature, user, time, cause, reason: &str| RefusalRecord {
            feature: f(feature),
            user,
            host: 1,
            count: 1,
            time,
            cause,
            reason: Some(reason.into()),
        };
        let v = "License server system does not support this version of this feature.";
        let full = "Licensed number of users already reached.";
        let records = [
            rec(10, 1, 100, Configuration, v),
            rec(20, 1, 50, Capacity, full),
            rec(20, 2, 300, Capacity, full),
            rec(20, 2, 200, Capacity, full),
            rec(10, 1, 400, Configuration, v),
        ];
        let rows = summarise(&records);
        let got: Vec<(i64, RefusalCause, u64, u64, i64, i64)> = rows
            .iter()
            .map(|r| {
                (
                    r.feature.feature,
                    r.cause,
                    r.refusals,
                    r.users,
                    r.first,
                    r.last,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (20, Capacity, 3, 2, 50, 300),
                (10, Configuration, 2, 1, 100, 400)
            ]
        );
        assert_eq!(
            per_cause(&records),
            BTreeMap::from([(Capacity, 3), (Configuration, 2)])
        );
    }

    #[test]
    fn names_round_trip() {
        for c in RefusalCause::ALL {
            assert_eq!(RefusalCause::parse(c.as_str()), Some(*c));
        }
    }
}
