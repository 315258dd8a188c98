//! Renders a snapshot's records as compact strings so tests can compare them exactly.
#![allow(dead_code)] // shared by several test binaries, each using a part

use tally_plugin_sdk::civil::format_utc;
use tally_plugin_sdk::{DiagnosticKind, Snapshot};

fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map_or("-".into(), T::to_string)
}

fn time(t: &Option<i64>) -> String {
    t.map_or("-".into(), format_utc)
}

/// `host:port|status|version|message|daemon:status:version:message,…`
pub fn servers(s: &Snapshot) -> Vec<String> {
    s.servers
        .iter()
        .map(|v| {
            let daemons: Vec<String> = v
                .vendor_daemons
                .iter()
                .map(|d| {
                    format!(
                        "{}:{:?}:{}:{}",
                        d.name,
                        d.status,
                        opt(&d.version),
                        opt(&d.message)
                    )
                })
                .collect();
            format!(
                "{}:{}|{:?}|{}|{}|{}",
                v.host,
                opt(&v.port),
                v.status,
                opt(&v.version),
                opt(&v.message),
                daemons.join(",")
            )
        })
        .collect()
}

/// `vendor|name|version|pool|issued|in_use|expiry|kind`
pub fn features(s: &Snapshot) -> Vec<String> {
    s.features
        .iter()
        .map(|f| {
            format!(
                "{}|{}|{}|{}|{}|{}|{}|{:?}",
                f.vendor,
                f.name,
                opt(&f.version),
                opt(&f.pool),
                opt(&f.issued),
                f.in_use,
                time(&f.expiry),
                f.kind
            )
        })
        .collect()
}

/// `vendor|feature|user|host|display|count|start|handle|linger|borrowed`
pub fn checkouts(s: &Snapshot) -> Vec<String> {
    s.checkouts
        .iter()
        .map(|c| {
            format!(
                "{}|{}|{}|{}|{}|{}|{}|{}|{}|{}",
                c.vendor,
                c.feature,
                c.user,
                c.host,
                opt(&c.display),
                c.count,
                time(&c.start),
                opt(&c.handle),
                opt(&c.linger),
                c.borrowed
            )
        })
        .collect()
}

/// `vendor|feature|count|kind|target`
pub fn reservations(s: &Snapshot) -> Vec<String> {
    s.reservations
        .iter()
        .map(|r| {
            format!(
                "{}|{}|{}|{:?}|{}",
                r.vendor, r.feature, r.count, r.target_kind, r.target
            )
        })
        .collect()
}

/// `vendor|feature|user|host|count|time`
pub fn queued(s: &Snapshot) -> Vec<String> {
    s.queued
        .iter()
        .map(|q| {
            format!(
                "{}|{}|{}|{}|{}|{}",
                q.vendor,
                q.feature,
                q.user,
                q.host,
                q.count,
                time(&q.time)
            )
        })
        .collect()
}

/// `line|kind|text`
pub fn diags(s: &Snapshot) -> Vec<String> {
    s.diagnostics
        .iter()
        .map(|d| format!("{}|{:?}|{}", d.line, d.kind, d.text))
        .collect()
}

pub fn count(s: &Snapshot, kind: DiagnosticKind) -> usize {
    s.diagnostics.iter().filter(|d| d.kind == kind).count()
}

pub fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}
