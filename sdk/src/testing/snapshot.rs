//! A poller's snapshot as compact strings, one per record, so that tests compare them exactly.
//! Every field is shown, `-` for `None`.

use crate::civil::format_utc;
use crate::{DiagnosticKind, Snapshot, Timestamp};

fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map_or("-".into(), T::to_string)
}

fn time(t: &Option<Timestamp>) -> String {
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
    s.queued.iter().map(super::render::queued_row).collect()
}

/// `line|kind|text`
pub fn diags(s: &Snapshot) -> Vec<String> {
    s.diagnostics
        .iter()
        .map(|d| format!("{}|{:?}|{}", d.line, d.kind, d.text))
        .collect()
}

/// How many diagnostics of `kind` the snapshot holds.
pub fn count(s: &Snapshot, kind: DiagnosticKind) -> usize {
    s.diagnostics.iter().filter(|d| d.kind == kind).count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        Checkout, Diagnostic, LicenseServer, Queued, Reservation, ReservationTarget, ServerStatus,
        VendorDaemon,
    };

    #[test]
    fn every_field_shown() {
        let s = Snapshot {
            servers: vec![LicenseServer {
                host: "lic1".into(),
                port: Some(27000),
                status: ServerStatus::Up,
                version: None,
                vendor_daemons: vec![VendorDaemon {
                    name: "acme".into(),
                    status: ServerStatus::Down,
                    version: Some("11.1".into()),
                    message: None,
                }],
                message: None,
            }],
            checkouts: vec![Checkout {
                feature: "solver".into(),
                vendor: "acme".into(),
                user: "alice".into(),
                host: "ws1".into(),
                display: None,
                count: 2,
                start: Some(0),
                handle: Some("101".into()),
                linger: Some(60),
                borrowed: true,
            }],
            reservations: vec![Reservation {
                feature: "solver".into(),
                vendor: "acme".into(),
                count: 1,
                target_kind: ReservationTarget::User,
                target: "bob".into(),
            }],
            queued: vec![Queued {
                vendor: "acme".into(),
                feature: "solver".into(),
                user: "carol".into(),
                host: "ws3".into(),
                count: 1,
                time: None,
            }],
            diagnostics: vec![Diagnostic {
                line: 3,
                kind: DiagnosticKind::Malformed,
                text: "what".into(),
            }],
            ..Snapshot::default()
        };
        assert_eq!(servers(&s), ["lic1:27000|Up|-|-|acme:Down:11.1:-"]);
        assert_eq!(
            checkouts(&s),
            ["acme|solver|alice|ws1|-|2|1970-01-01T00:00:00Z|101|60|true"]
        );
        assert_eq!(reservations(&s), ["acme|solver|1|User|bob"]);
        assert_eq!(queued(&s), ["acme|solver|carol|ws3|1|-"]);
        assert_eq!(diags(&s), ["3|Malformed|what"]);
        assert_eq!(count(&s, DiagnosticKind::Malformed), 1);
        assert!(features(&s).is_empty());
    }
}
