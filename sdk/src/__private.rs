//! Glue between the author's traits and the generated bindings. Not part of the public API.
#![allow(missing_docs, clippy::all)]

use std::collections::HashMap;

use crate::records as r;
use crate::{Importer, Poller};

pub mod importer {
    pub mod bindings {
        wit_bindgen::generate!({
            path: ["../wit/tally-plugin@0.2.0", "../wit/tally-plugin@0.3.0", "../wit/tally-plugin@0.4.0"],
            world: "tally:plugin/importer@0.4.0",
            // 0.4.0 uses 0.2.0's and 0.3.0's unchanged records: generate them too.
            generate_all,
            pub_export_macro: true,
            export_macro_name: "__export_importer",
            default_bindings_module: "tally_plugin_sdk::__private::importer::bindings",
        });
    }
    pub use bindings::exports::tally::plugin0_4_0::log_importer::Guest as ImporterGuest;
    pub use bindings::tally::plugin0_2_0::types::*;
    // What 0.3.0 changed (a lasting denial) and 0.4.0 (capacity in the batch); every other
    // record is 0.2.0's.
    pub use bindings::tally::plugin0_3_0::types::Denial;
    pub use bindings::tally::plugin0_4_0::types::{Batch, Capacity, CapacitySource, ImportConfig};
}

pub mod poller {
    pub mod bindings {
        wit_bindgen::generate!({
            path: ["../wit/tally-plugin@0.2.0", "../wit/tally-plugin@0.3.0", "../wit/tally-plugin@0.4.0"],
            world: "tally:plugin/poller@0.4.0",
            generate_all,
            pub_export_macro: true,
            export_macro_name: "__export_poller",
            default_bindings_module: "tally_plugin_sdk::__private::poller::bindings",
        });
    }
    pub use bindings::exports::tally::plugin0_4_0::status_poller::Guest as PollerGuest;
    pub use bindings::tally::plugin0_2_0::http;
    pub use bindings::tally::plugin0_2_0::types::*;
}

/// Builds the per-batch string table: each distinct string crosses the boundary once.
#[derive(Default)]
struct Strings {
    table: Vec<String>,
    index: HashMap<String, u32>,
}

impl Strings {
    fn sym(&mut self, s: String) -> u32 {
        if let Some(&i) = self.index.get(&s) {
            return i;
        }
        let i = self.table.len() as u32;
        self.table.push(s.clone());
        self.index.insert(s, i);
        i
    }

    fn opt(&mut self, s: Option<String>) -> Option<u32> {
        s.map(|s| self.sym(s))
    }
}

/// Conversions that both worlds need, written once over each world's generated types.
macro_rules! shared_conversions {
    ($b:ident) => {
        impl From<r::PluginError> for $b::PluginError {
            fn from(e: r::PluginError) -> Self {
                match e {
                    r::PluginError::BadInput(m) => Self::BadInput(m),
                    r::PluginError::Unsupported(m) => Self::Unsupported(m),
                    r::PluginError::Internal(m) => Self::Internal(m),
                }
            }
        }

        impl $b::Sniffed {
            pub fn lift(s: r::Sniffed) -> Self {
                Self {
                    format: s.format.into(),
                    confidence: s.confidence,
                }
            }
        }

        impl $b::Diagnostic {
            fn lower(d: r::Diagnostic) -> Self {
                let kind = match d.kind {
                    r::DiagnosticKind::Malformed => $b::DiagnosticKind::Malformed,
                    r::DiagnosticKind::Unrecognised => $b::DiagnosticKind::Unrecognised,
                    r::DiagnosticKind::Assumption => $b::DiagnosticKind::Assumption,
                };
                Self {
                    line: d.line,
                    kind,
                    text: d.text,
                }
            }
        }

        impl $b::Queued {
            fn lower(q: r::Queued, s: &mut Strings) -> Self {
                Self {
                    vendor: s.sym(q.vendor),
                    feature: s.sym(q.feature),
                    user: s.sym(q.user),
                    host: s.sym(q.host),
                    count: q.count,
                    time: q.time,
                }
            }
        }
    };
}

shared_conversions!(importer);
shared_conversions!(poller);

// ---- importer ------------------------------------------------------------------------------

pub fn info(name: &str, version: &str, formats: &[&str]) -> importer::PluginInfo {
    importer::PluginInfo {
        name: name.into(),
        version: version.into(),
        formats: formats.iter().map(|f| f.to_string()).collect(),
    }
}

pub fn begin<T: Importer>(
    state: &mut Option<T>,
    config: importer::ImportConfig,
) -> Result<(), importer::PluginError> {
    let config = r::ImportConfig {
        utc_offset: config.utc_offset,
        modified: config.modified,
        resume: config.resume,
        local_times: config.local_times,
    };
    let mut plugin = T::default();
    plugin.begin(&config)?;
    *state = Some(plugin);
    Ok(())
}

fn started<T>(state: &mut Option<T>) -> Result<&mut T, importer::PluginError> {
    state
        .as_mut()
        .ok_or_else(|| importer::PluginError::Internal("`feed` called before `begin`".into()))
}

pub fn feed<T: Importer>(
    state: &mut Option<T>,
    chunk: &[u8],
) -> Result<importer::Batch, importer::PluginError> {
    let mut out = r::Batch::default();
    started(state)?.feed(chunk, &mut out)?;
    Ok(lower_batch(out))
}

pub fn checkpoint<T: Importer>(state: &Option<T>) -> Result<Vec<u8>, importer::PluginError> {
    match state {
        Some(plugin) => Ok(plugin.checkpoint()?),
        None => Err(importer::PluginError::Internal(
            "`checkpoint` called before `begin`".into(),
        )),
    }
}

pub fn finish<T: Importer>(
    state: &mut Option<T>,
) -> Result<importer::Batch, importer::PluginError> {
    let mut out = r::Batch::default();
    started(state)?.finish(&mut out)?;
    *state = None;
    Ok(lower_batch(out))
}

fn lower_batch(b: r::Batch) -> importer::Batch {
    use importer as w;
    let mut s = Strings::default();
    let sessions = b
        .sessions
        .into_iter()
        .map(|x| w::Session {
            vendor: s.sym(x.vendor),
            feature: s.sym(x.feature),
            user: s.sym(x.user),
            host: s.sym(x.host),
            count: x.count,
            start: x.start,
            end: x.end,
            end_reason: match x.end_reason {
                r::EndReason::Checkin => w::EndReason::Checkin,
                r::EndReason::Inactive => w::EndReason::Inactive,
                r::EndReason::Shutdown => w::EndReason::Shutdown,
                r::EndReason::Unknown => w::EndReason::Unknown,
                r::EndReason::ServerRestart => w::EndReason::ServerRestart,
                r::EndReason::EndOfLog => w::EndReason::EndOfLog,
            },
            project: s.opt(x.project),
        })
        .collect();
    let denials = b
        .denials
        .into_iter()
        .map(|x| w::Denial {
            vendor: s.sym(x.vendor),
            feature: s.sym(x.feature),
            user: s.sym(x.user),
            host: s.sym(x.host),
            count: x.count,
            time: x.time,
            kind: match x.kind {
                r::DenialKind::Denied => w::DenialKind::Denied,
                r::DenialKind::Unsupported => w::DenialKind::Unsupported,
            },
            code: x.code.map(|c| w::ErrorCode {
                major: c.major,
                minor: c.minor,
                errno: c.errno,
            }),
            reason: s.opt(x.reason),
            requested_version: s.opt(x.requested_version),
            until: x.until,
        })
        .collect();
    let queued = b
        .queued
        .into_iter()
        .map(|q| w::Queued::lower(q, &mut s))
        .collect();
    let server_events = b
        .server_events
        .into_iter()
        .map(|e| w::ServerEvent {
            time: e.time,
            kind: match e.kind {
                r::ServerEventKind::ServerStart => w::ServerEventKind::ServerStart,
                r::ServerEventKind::ServerStop => w::ServerEventKind::ServerStop,
                r::ServerEventKind::DaemonStart => w::ServerEventKind::DaemonStart,
                r::ServerEventKind::DaemonStop => w::ServerEventKind::DaemonStop,
                r::ServerEventKind::Reread => w::ServerEventKind::Reread,
                r::ServerEventKind::LicensesDisabled => w::ServerEventKind::LicensesDisabled,
                r::ServerEventKind::Queued => w::ServerEventKind::Queued,
                r::ServerEventKind::Dequeued => w::ServerEventKind::Dequeued,
                r::ServerEventKind::Other => w::ServerEventKind::Other,
            },
            daemon: s.sym(e.daemon),
            text: s.sym(e.text),
        })
        .collect();
    let diagnostics = b
        .diagnostics
        .into_iter()
        .map(w::Diagnostic::lower)
        .collect();
    let capacities = b
        .capacities
        .into_iter()
        .map(|c| w::Capacity {
            vendor: s.sym(c.vendor),
            feature: s.sym(c.feature),
            version: s.opt(c.version),
            pool: s.opt(c.pool),
            issued: c.issued,
            valid_from: c.valid_from,
            expiry: c.expiry,
            source: match c.source {
                r::CapacitySource::Server => w::CapacitySource::Server,
                r::CapacitySource::LicenseFile => w::CapacitySource::LicenseFile,
            },
        })
        .collect();
    w::Batch {
        strings: s.table,
        sessions,
        denials,
        queued,
        server_events,
        diagnostics,
        capacities,
        lines: b.lines,
    }
}

// ---- poller --------------------------------------------------------------------------------

pub fn poller_info(name: &str, version: &str, formats: &[&str]) -> poller::PluginInfo {
    poller::PluginInfo {
        name: name.into(),
        version: version.into(),
        formats: formats.iter().map(|f| f.to_string()).collect(),
    }
}

pub fn parse_status<T: Poller>(
    output: &[u8],
    now: i64,
) -> Result<poller::Snapshot, poller::PluginError> {
    Ok(lower_snapshot(T::parse_status(output, now)?))
}

pub fn poll<T: Poller>(
    server: poller::ServerAddress,
    now: i64,
) -> Result<poller::Snapshot, poller::PluginError> {
    let server = r::ServerAddress {
        host: server.host,
        port: server.port,
    };
    Ok(lower_snapshot(T::poll(&server, now)?))
}

fn lower_status(status: r::ServerStatus) -> poller::ServerStatus {
    match status {
        r::ServerStatus::Up => poller::ServerStatus::Up,
        r::ServerStatus::Down => poller::ServerStatus::Down,
        r::ServerStatus::Unknown => poller::ServerStatus::Unknown,
    }
}

fn lower_snapshot(snap: r::Snapshot) -> poller::Snapshot {
    use poller as w;
    let mut s = Strings::default();
    let servers = snap
        .servers
        .into_iter()
        .map(|x| w::LicenseServer {
            host: s.sym(x.host),
            port: x.port,
            status: lower_status(x.status),
            version: s.opt(x.version),
            vendor_daemons: x
                .vendor_daemons
                .into_iter()
                .map(|d| w::VendorDaemon {
                    name: s.sym(d.name),
                    status: lower_status(d.status),
                    version: s.opt(d.version),
                    message: s.opt(d.message),
                })
                .collect(),
            message: s.opt(x.message),
        })
        .collect();
    let features = snap
        .features
        .into_iter()
        .map(|f| w::Feature {
            name: s.sym(f.name),
            vendor: s.sym(f.vendor),
            version: s.opt(f.version),
            pool: s.opt(f.pool),
            issued: f.issued,
            in_use: f.in_use,
            expiry: f.expiry,
            kind: match f.kind {
                r::FeatureKind::Floating => w::FeatureKind::Floating,
                r::FeatureKind::NodeLocked => w::FeatureKind::NodeLocked,
                r::FeatureKind::Uncounted => w::FeatureKind::Uncounted,
                r::FeatureKind::Package => w::FeatureKind::Package,
                r::FeatureKind::Unknown => w::FeatureKind::Unknown,
            },
        })
        .collect();
    let checkouts = snap
        .checkouts
        .into_iter()
        .map(|c| w::Checkout {
            feature: s.sym(c.feature),
            vendor: s.sym(c.vendor),
            user: s.sym(c.user),
            host: s.sym(c.host),
            display: s.opt(c.display),
            count: c.count,
            start: c.start,
            handle: s.opt(c.handle),
            linger: c.linger,
            borrowed: c.borrowed,
        })
        .collect();
    let reservations = snap
        .reservations
        .into_iter()
        .map(|x| w::Reservation {
            feature: s.sym(x.feature),
            vendor: s.sym(x.vendor),
            count: x.count,
            target_kind: match x.target_kind {
                r::ReservationTarget::User => w::ReservationTarget::User,
                r::ReservationTarget::Host => w::ReservationTarget::Host,
                r::ReservationTarget::Display => w::ReservationTarget::Display,
                r::ReservationTarget::Group => w::ReservationTarget::Group,
                r::ReservationTarget::HostGroup => w::ReservationTarget::HostGroup,
                r::ReservationTarget::Internet => w::ReservationTarget::Internet,
                r::ReservationTarget::Project => w::ReservationTarget::Project,
                r::ReservationTarget::Other => w::ReservationTarget::Other,
            },
            target: s.sym(x.target),
        })
        .collect();
    let queued = snap
        .queued
        .into_iter()
        .map(|q| w::Queued::lower(q, &mut s))
        .collect();
    let diagnostics = snap
        .diagnostics
        .into_iter()
        .map(w::Diagnostic::lower)
        .collect();
    w::Snapshot {
        strings: s.table,
        servers,
        features,
        checkouts,
        reservations,
        queued,
        diagnostics,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(user: &str) -> r::Session {
        r::Session {
            vendor: "acme".into(),
            feature: "solver".into(),
            user: user.into(),
            host: "ws1".into(),
            count: 1,
            start: 10,
            end: 20,
            end_reason: r::EndReason::Inactive,
            project: None,
        }
    }

    #[test]
    fn each_distinct_string_crosses_once() {
        let batch = r::Batch {
            sessions: vec![session("alice"), session("bob"), session("alice")],
            lines: 7,
            ..r::Batch::default()
        };
        let lowered = lower_batch(batch);
        assert_eq!(lowered.strings, ["acme", "solver", "alice", "ws1", "bob"]);
        let users: Vec<u32> = lowered.sessions.iter().map(|s| s.user).collect();
        assert_eq!(users, [2, 4, 2]);
        assert_eq!(lowered.lines, 7);
        assert!(matches!(
            lowered.sessions[0].end_reason,
            importer::EndReason::Inactive
        ));
    }

    #[test]
    fn snapshots_share_the_table_too() {
        let feature = |name: &str| r::Feature {
            name: name.into(),
            vendor: "acme".into(),
            version: None,
            pool: None,
            issued: Some(4),
            in_use: 1,
            expiry: None,
            kind: r::FeatureKind::Floating,
        };
        let lowered = lower_snapshot(r::Snapshot {
            features: vec![feature("a"), feature("b")],
            ..r::Snapshot::default()
        });
        assert_eq!(lowered.strings, ["a", "acme", "b"]);
        assert_eq!(lowered.features[1].vendor, 1);
    }
}
