//! Runs the poller natively and renders a snapshot's records as compact strings, so tests can
//! compare them exactly.
#![allow(dead_code)] // shared by several test binaries, each using a part

use mathlm::MathLm;
use tally_plugin_sdk::civil::format_utc;
use tally_plugin_sdk::{DiagnosticKind, PluginError, Poller, Snapshot};

/// The poll time the tests pass (2025-01-01T00:00:00Z): checkout starts are reckoned from it.
pub const NOW: i64 = 1_735_689_600;

pub fn parse(output: &[u8]) -> Result<Snapshot, PluginError> {
    MathLm::parse_status(output, NOW)
}

fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map_or("-".into(), T::to_string)
}

fn time(t: &Option<i64>) -> String {
    t.map_or("-".into(), format_utc)
}

/// `host:port|status|version|message`
pub fn servers(s: &Snapshot) -> Vec<String> {
    s.servers
        .iter()
        .map(|v| {
            format!(
                "{}:{}|{:?}|{}|{}",
                v.host,
                opt(&v.port),
                v.status,
                opt(&v.version),
                opt(&v.message)
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

/// `vendor|feature|user|host|count|start|handle`
pub fn checkouts(s: &Snapshot) -> Vec<String> {
    s.checkouts
        .iter()
        .map(|c| {
            format!(
                "{}|{}|{}|{}|{}|{}|{}",
                c.vendor,
                c.feature,
                c.user,
                c.host,
                c.count,
                time(&c.start),
                opt(&c.handle)
            )
        })
        .collect()
}

/// `vendor|feature|user|host|count`
pub fn queued(s: &Snapshot) -> Vec<String> {
    s.queued
        .iter()
        .map(|q| {
            format!(
                "{}|{}|{}|{}|{}",
                q.vendor, q.feature, q.user, q.host, q.count
            )
        })
        .collect()
}

/// `line|kind`
pub fn diags(s: &Snapshot) -> Vec<String> {
    s.diagnostics
        .iter()
        .map(|d| format!("{}|{:?}", d.line, d.kind))
        .collect()
}

pub fn count(s: &Snapshot, kind: DiagnosticKind) -> usize {
    s.diagnostics.iter().filter(|d| d.kind == kind).count()
}
