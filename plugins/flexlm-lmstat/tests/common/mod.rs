//! Runs the poller natively and renders a snapshot's records as compact strings, so tests can
//! compare them exactly.
#![allow(dead_code)] // shared by several test binaries, each using a part

use flexlm_lmstat::FlexlmLmstat;
use tally_plugin_sdk::civil::{DAY, days_from_civil, format_utc};
use tally_plugin_sdk::{DiagnosticKind, Poller, Snapshot, Timestamp};

/// `y-m-d h:mm` as a timestamp.
pub fn at(y: i64, m: u32, d: u32, h: i64, min: i64) -> Timestamp {
    days_from_civil(y, m, d) * DAY + h * 3600 + min * 60
}

pub fn parse(data: &[u8], now: Timestamp) -> Snapshot {
    FlexlmLmstat::parse_status(data, now).unwrap_or_else(|e| panic!("parse_status: {e}"))
}

fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map_or("-".into(), T::to_string)
}

fn time(t: Option<Timestamp>) -> String {
    t.map_or("-".into(), format_utc)
}

/// `host|port|status|version|message`, then `  daemon|status|version|message` per daemon.
pub fn servers(s: &Snapshot) -> Vec<String> {
    let mut out = Vec::new();
    for x in &s.servers {
        out.push(format!(
            "{}|{}|{:?}|{}|{}",
            x.host,
            opt(&x.port),
            x.status,
            opt(&x.version),
            opt(&x.message)
        ));
        for d in &x.vendor_daemons {
            out.push(format!(
                "  {}|{:?}|{}|{}",
                d.name,
                d.status,
                opt(&d.version),
                opt(&d.message)
            ));
        }
    }
    out
}

/// `name|vendor|version|pool|issued|in_use|expiry|kind`.
pub fn features(s: &Snapshot) -> Vec<String> {
    s.features
        .iter()
        .map(|f| {
            format!(
                "{}|{}|{}|{}|{}|{}|{}|{:?}",
                f.name,
                f.vendor,
                opt(&f.version),
                opt(&f.pool),
                opt(&f.issued),
                f.in_use,
                time(f.expiry),
                f.kind
            )
        })
        .collect()
}

/// `feature|vendor|user|host|display|count|start|handle|linger[|borrowed]`.
pub fn checkouts(s: &Snapshot) -> Vec<String> {
    s.checkouts
        .iter()
        .map(|c| {
            format!(
                "{}|{}|{}|{}|{}|{}|{}|{}|{}{}",
                c.feature,
                c.vendor,
                c.user,
                c.host,
                opt(&c.display),
                c.count,
                time(c.start),
                opt(&c.handle),
                opt(&c.linger),
                if c.borrowed { "|borrowed" } else { "" }
            )
        })
        .collect()
}

/// `feature|vendor|count|kind|target`.
pub fn reservations(s: &Snapshot) -> Vec<String> {
    s.reservations
        .iter()
        .map(|r| {
            format!(
                "{}|{}|{}|{:?}|{}",
                r.feature, r.vendor, r.count, r.target_kind, r.target
            )
        })
        .collect()
}

/// `feature|vendor|user|host|count`.
pub fn queued(s: &Snapshot) -> Vec<String> {
    s.queued
        .iter()
        .map(|q| {
            format!(
                "{}|{}|{}|{}|{}",
                q.feature, q.vendor, q.user, q.host, q.count
            )
        })
        .collect()
}

/// `line|kind` of every diagnostic.
pub fn diags(s: &Snapshot) -> Vec<String> {
    s.diagnostics
        .iter()
        .map(|d| format!("{}|{:?}", d.line, d.kind))
        .collect()
}

pub fn count(s: &Snapshot, kind: DiagnosticKind) -> usize {
    s.diagnostics.iter().filter(|d| d.kind == kind).count()
}

pub fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}
