//! What the host checks in a guest's result beyond its WIT types: every instant between
//! 1970-01-01 and 2200-01-01, sessions that end no earlier than they start, counts of at least
//! one. A result that fails is refused whole, as [`CallError::InvalidResult`] naming the record
//! and the field: it is a broken or hostile parser, never a fact to store.

use tally_core::snapshot::{Checkout, Feature, QueuedRequest, Reservation};
use tally_core::time::rfc3339;
use tally_core::{Batch, Denial, Queued, ServerEvent, Session, Snapshot, Sym, Timestamp};

use crate::error::CallError;

/// 1970-01-01T00:00:00Z: no license log predates it; a negative time is a sign or parse bug.
pub(crate) const EARLIEST: Timestamp = 0;
/// 2200-01-01T00:00:00Z: beyond any log line or license expiry, well short of where sums of
/// durations could overflow.
pub(crate) const LATEST: Timestamp = 7_258_118_400;

/// Checks an importer's batch; its `sym`s must already be known to be in range.
pub(crate) fn batch(plugin: &str, batch: &Batch) -> Result<(), CallError> {
    check_batch(batch).map_err(|message| invalid(plugin, message))
}

/// Checks a poller's snapshot.
pub(crate) fn snapshot(plugin: &str, snapshot: &Snapshot) -> Result<(), CallError> {
    check_snapshot(snapshot).map_err(|message| invalid(plugin, message))
}

fn invalid(plugin: &str, message: String) -> CallError {
    CallError::InvalidResult {
        plugin: plugin.into(),
        message,
    }
}

fn check_batch(b: &Batch) -> Result<(), String> {
    let name = |sym: Sym| b.strings.get(sym as usize).map_or("?", String::as_str);
    let who = |feature: Sym, user: Sym, host: Sym| {
        format!("{} by {}@{}", name(feature), name(user), name(host))
    };
    for (i, s) in b.sessions.iter().enumerate() {
        let Session {
            count, start, end, ..
        } = *s;
        instant("start", start)
            .and_then(|()| instant("end", end))
            .and_then(|()| {
                if end < start {
                    Err(format!(
                        "end {} is before its start {}",
                        shown(end),
                        shown(start)
                    ))
                } else {
                    Ok(())
                }
            })
            .and_then(|()| positive("count", count))
            .map_err(|e| {
                format!(
                    "session {} ({}): {e}",
                    i + 1,
                    who(s.feature, s.user, s.host)
                )
            })?;
    }
    for (i, d) in b.denials.iter().enumerate() {
        let Denial {
            count, time, until, ..
        } = *d;
        instant("time", time)
            .and_then(|()| match until {
                Some(until) => instant("until", until).and_then(|()| {
                    if until < time {
                        Err(format!(
                            "until {} is before its time {}",
                            shown(until),
                            shown(time)
                        ))
                    } else {
                        Ok(())
                    }
                }),
                None => Ok(()),
            })
            .and_then(|()| positive("count", count))
            .map_err(|e| format!("denial {} ({}): {e}", i + 1, who(d.feature, d.user, d.host)))?;
    }
    for (i, q) in b.queued.iter().enumerate() {
        let Queued { count, time, .. } = *q;
        time.map_or(Ok(()), |t| instant("time", t))
            .and_then(|()| positive("count", count))
            .map_err(|e| {
                let who = who(q.feature, q.user, q.host);
                format!("queued request {} ({who}): {e}", i + 1)
            })?;
    }
    for (i, e) in b.server_events.iter().enumerate() {
        let ServerEvent { time, kind, .. } = *e;
        instant("time", time)
            .map_err(|m| format!("server event {} ({kind} by {}): {m}", i + 1, name(e.daemon)))?;
    }
    for (i, c) in b.capacities.iter().enumerate() {
        let what = |e: String| {
            format!(
                "capacity {} ({} of {}): {e}",
                i + 1,
                name(c.feature),
                name(c.vendor)
            )
        };
        c.from
            .map_or(Ok(()), |t| instant("valid-from", t))
            .and_then(|()| c.expiry.map_or(Ok(()), |t| instant("expiry", t)))
            .and_then(|()| match c.issued {
                Some(n) if n > MAX_ISSUED => Err(format!("issued {n} is more than {MAX_ISSUED}")),
                _ => Ok(()),
            })
            .map_err(what)?;
    }
    Ok(())
}

/// The most licences one capacity statement may count: more is a parse bug, not a licence.
const MAX_ISSUED: u32 = 10_000_000;

fn check_snapshot(s: &Snapshot) -> Result<(), String> {
    for (i, f) in s.features.iter().enumerate() {
        let Feature {
            name,
            vendor,
            expiry,
            ..
        } = f;
        expiry
            .map_or(Ok(()), |t| instant("expiry", t))
            .map_err(|e| format!("feature {} ({name} of {vendor}): {e}", i + 1))?;
    }
    for (i, c) in s.checkouts.iter().enumerate() {
        let Checkout {
            feature,
            user,
            host,
            count,
            start,
            ..
        } = c;
        start
            .map_or(Ok(()), |t| instant("start", t))
            .and_then(|()| positive("count", *count))
            .map_err(|e| format!("checkout {} ({feature} by {user}@{host}): {e}", i + 1))?;
    }
    for (i, r) in s.reservations.iter().enumerate() {
        let Reservation {
            feature,
            count,
            target_kind,
            target,
            ..
        } = r;
        positive("count", *count).map_err(|e| {
            format!(
                "reservation {} ({feature} for {target_kind} {target}): {e}",
                i + 1
            )
        })?;
    }
    for (i, q) in s.queued.iter().enumerate() {
        let QueuedRequest {
            feature,
            user,
            host,
            count,
            time,
            ..
        } = q;
        time.map_or(Ok(()), |t| instant("time", t))
            .and_then(|()| positive("count", *count))
            .map_err(|e| format!("queued request {} ({feature} by {user}@{host}): {e}", i + 1))?;
    }
    Ok(())
}

fn instant(field: &str, t: Timestamp) -> Result<(), String> {
    if t < EARLIEST {
        Err(format!(
            "{field} {} is before {}",
            shown(t),
            rfc3339(EARLIEST)
        ))
    } else if t > LATEST {
        Err(format!("{field} {} is after {}", shown(t), rfc3339(LATEST)))
    } else {
        Ok(())
    }
}

fn positive(field: &str, count: u32) -> Result<(), String> {
    if count == 0 {
        Err(format!("{field} is 0"))
    } else {
        Ok(())
    }
}

/// `-86400 (1969-12-31T00:00:00Z)`: the raw value the guest sent and what it means.
fn shown(t: Timestamp) -> String {
    let civil = rfc3339(t);
    if civil == t.to_string() {
        civil
    } else {
        format!("{t} ({civil})")
    }
}

#[cfg(test)]
mod tests {
    use tally_core::snapshot::{FeatureKind, ReservationTarget};
    use tally_core::{DenialKind, EndReason, ServerEventKind};

    use super::*;

    /// 2020-09-13T12:26:40Z.
    const T: Timestamp = 1_600_000_000;

    fn batch() -> Batch {
        Batch {
            strings: ["acme", "solver", "alice", "ws1", "lmgrd", "reread"]
                .map(String::from)
                .into(),
            sessions: vec![Session {
                vendor: 0,
                feature: 1,
                user: 2,
                host: 3,
                count: 1,
                start: T,
                end: T,
                end_reason: EndReason::Checkin,
                project: None,
            }],
            denials: vec![Denial {
                vendor: 0,
                feature: 1,
                user: 2,
                host: 3,
                count: 2,
                time: EARLIEST,
                kind: DenialKind::Denied,
                code: None,
                reason: None,
                requested_version: None,
                until: Some(LATEST),
            }],
            queued: vec![Queued {
                vendor: 0,
                feature: 1,
                user: 2,
                host: 3,
                count: 1,
                time: None,
            }],
            server_events: vec![ServerEvent {
                time: LATEST,
                kind: ServerEventKind::Reread,
                daemon: 4,
                text: 5,
            }],
            capacities: vec![],
            diagnostics: vec![],
            lines: 4,
        }
    }

    fn batch_error(change: impl FnOnce(&mut Batch)) -> String {
        let mut b = batch();
        change(&mut b);
        check_batch(&b).expect_err("invalid batch")
    }

    #[test]
    fn a_batch_at_the_limits_is_valid() {
        assert_eq!(check_batch(&batch()), Ok(()));
        assert_eq!(
            super::batch("p", &Batch::default()).map_err(|e| e.to_string()),
            Ok(())
        );
    }

    #[test]
    fn batch_errors_name_the_record_and_the_field() {
        assert_eq!(
            batch_error(|b| b.sessions[0].start = -86_400),
            "session 1 (solver by alice@ws1): start -86400 (1969-12-31T00:00:00Z) is before 1970-01-01T00:00:00Z"
        );
        assert_eq!(
            batch_error(|b| b.sessions[0].end = T - 1),
            "session 1 (solver by alice@ws1): end 1599999999 (2020-09-13T12:26:39Z) is before its start 1600000000 (2020-09-13T12:26:40Z)"
        );
        assert_eq!(
            batch_error(|b| b.sessions[0].count = 0),
            "session 1 (solver by alice@ws1): count is 0"
        );
        assert_eq!(
            batch_error(|b| b.denials[0].time = LATEST + 1),
            "denial 1 (solver by alice@ws1): time 7258118401 (2200-01-01T00:00:01Z) is after 2200-01-01T00:00:00Z"
        );
        assert_eq!(
            batch_error(|b| b.denials[0].until = Some(EARLIEST - 1)),
            "denial 1 (solver by alice@ws1): until -1 (1969-12-31T23:59:59Z) is before 1970-01-01T00:00:00Z"
        );
        assert_eq!(
            batch_error(|b| {
                b.denials[0].time = T;
                b.denials[0].until = Some(T - 1);
            }),
            "denial 1 (solver by alice@ws1): until 1599999999 (2020-09-13T12:26:39Z) is before its time 1600000000 (2020-09-13T12:26:40Z)"
        );
        assert_eq!(
            batch_error(|b| b.queued[0].count = 0),
            "queued request 1 (solver by alice@ws1): count is 0"
        );
        assert_eq!(
            batch_error(|b| b.server_events[0].time = i64::MIN),
            "server event 1 (reread by lmgrd): time -9223372036854775808 is before 1970-01-01T00:00:00Z"
        );
        let error = super::batch("p", &{
            let mut b = batch();
            b.denials[0].count = 0;
            b
        })
        .expect_err("invalid");
        assert_eq!(
            error.to_string(),
            "plugin `p` returned an invalid result: denial 1 (solver by alice@ws1): count is 0"
        );
    }

    fn snap() -> Snapshot {
        let s = String::from;
        Snapshot {
            servers: vec![],
            features: vec![Feature {
                name: s("solver"),
                vendor: s("acme"),
                version: None,
                pool: None,
                issued: Some(0),
                in_use: 0,
                expiry: Some(LATEST),
                kind: FeatureKind::Floating,
            }],
            checkouts: vec![Checkout {
                feature: s("solver"),
                vendor: s("acme"),
                user: s("alice"),
                host: s("ws1"),
                display: None,
                count: 1,
                start: Some(T),
                handle: None,
                linger: None,
                borrowed: false,
            }],
            reservations: vec![Reservation {
                feature: s("solver"),
                vendor: s("acme"),
                count: 1,
                target_kind: ReservationTarget::Group,
                target: s("cfd"),
            }],
            queued: vec![QueuedRequest {
                feature: s("solver"),
                vendor: s("acme"),
                user: s("bob"),
                host: s("ws2"),
                count: 1,
                time: None,
            }],
            diagnostics: vec![],
        }
    }

    fn snapshot_error(change: impl FnOnce(&mut Snapshot)) -> String {
        let mut s = snap();
        change(&mut s);
        check_snapshot(&s).expect_err("invalid snapshot")
    }

    #[test]
    fn snapshot_errors_name_the_record_and_the_field() {
        assert_eq!(check_snapshot(&snap()), Ok(()));
        assert_eq!(
            snapshot_error(|s| s.features[0].expiry = Some(LATEST + 86_400)),
            "feature 1 (solver of acme): expiry 7258204800 (2200-01-02T00:00:00Z) is after 2200-01-01T00:00:00Z"
        );
        assert_eq!(
            snapshot_error(|s| s.checkouts[0].start = Some(-1)),
            "checkout 1 (solver by alice@ws1): start -1 (1969-12-31T23:59:59Z) is before 1970-01-01T00:00:00Z"
        );
        assert_eq!(
            snapshot_error(|s| s.checkouts[0].count = 0),
            "checkout 1 (solver by alice@ws1): count is 0"
        );
        assert_eq!(
            snapshot_error(|s| s.reservations[0].count = 0),
            "reservation 1 (solver for group cfd): count is 0"
        );
        assert_eq!(
            snapshot_error(|s| s.queued[0].time = Some(LATEST + 1)),
            "queued request 1 (solver by bob@ws2): time 7258118401 (2200-01-01T00:00:01Z) is after 2200-01-01T00:00:00Z"
        );
        assert_eq!(
            super::snapshot("p", &{
                let mut s = snap();
                s.queued[0].count = 0;
                s
            })
            .map_err(|e| e.to_string()),
            Err("plugin `p` returned an invalid result: queued request 1 (solver by bob@ws2): count is 0".into())
        );
    }

    /// The first-party plugins' results on the whole corpus pass: the checks refuse broken or
    /// hostile results, never real data.
    #[test]
    fn first_party_results_on_the_corpus_are_valid() {
        use crate::{ImportConfig, ImportRun, PluginEngine, Registry, SNIFF_BYTES, World};

        let corpus =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
        if !corpus.is_dir() {
            eprintln!("skipped: no corpus at {}", corpus.display());
            return;
        }
        let registry = Registry::new(PluginEngine::new(None).expect("engine"));
        for p in tally_plugin_artifacts::FIRST_PARTY {
            registry
                .add(p.manifest, p.id, p.component)
                .unwrap_or_else(|e| panic!("{e}"));
        }
        let mut files = vec![];
        let mut dirs = vec![corpus];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).expect("corpus dir").flatten() {
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_none_or(|e| e != "md") {
                    files.push(path);
                }
            }
        }
        files.sort();
        let (mut checked, mut records, mut refused) = (0, 0, vec![]);
        for path in &files {
            let bytes = std::fs::read(path).expect("corpus file");
            let head = &bytes[..bytes.len().min(SNIFF_BYTES)];
            if let Some((plugin, _)) = registry.detect(World::Importer, head) {
                checked += 1;
                let config = ImportConfig {
                    modified: Some(T),
                    ..ImportConfig::default()
                };
                let mut rest = &bytes[..];
                let outcome = ImportRun::begin(plugin, &config).and_then(|mut run| {
                    loop {
                        // Whole lines, about 64 KiB at a time, as the server feeds them.
                        let cut = match rest.iter().skip(64 * 1024).position(|&b| b == b'\n') {
                            Some(i) => 64 * 1024 + i + 1,
                            None => rest.len(),
                        };
                        let (chunk, after) = rest.split_at(cut);
                        rest = after;
                        match run.feed(chunk) {
                            Ok(batch) => records += batch.records(),
                            Err(e) => break Err(e),
                        }
                        if rest.is_empty() {
                            break run.finish().map(|batch| records += batch.records());
                        }
                    }
                });
                if let Err(e @ CallError::InvalidResult { .. }) = outcome {
                    refused.push(format!("{}: {e}", path.display()));
                }
            }
            if let Some((plugin, _)) = registry.detect(World::Poller, head) {
                checked += 1;
                if let Ok(snap) = plugin.parse_status(&bytes, 1_700_000_000) {
                    records += snap.records();
                    if let Err(e) = super::snapshot(plugin.id(), &snap) {
                        refused.push(format!("{}: {e}", path.display()));
                    }
                }
            }
        }
        eprintln!(
            "{records} records from {checked} results of {} corpus files checked",
            files.len()
        );
        assert!(checked > 40, "only {checked} corpus files were claimed");
        assert!(records > 10_000, "only {records} records were checked");
        assert!(refused.is_empty(), "{refused:#?}");
    }

    #[test]
    fn limits_are_the_documented_dates() {
        assert_eq!(rfc3339(EARLIEST), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(LATEST), "2200-01-01T00:00:00Z");
    }
}
