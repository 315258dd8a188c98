//! Bindings for the `tally:plugin@0.4.0` track, the latest, and the conversion of every track's
//! records to the host's own types (`tally-core`). Older tracks adapt onto these (Zed's
//! pattern), so the host's behaviour is written once. 0.4.0 defines only what changed (an
//! importer may state capacity: `capacity`, and the `batch` holding it) and uses 0.2.0's and
//! 0.3.0's other records, so its bindings share their Rust types (`with`).

use tally_core as core;

pub const TRACK: &str = "0.4.0";
pub const IMPORTER_EXPORT: &str = "tally:plugin/log-importer@0.4.0";
pub const POLLER_EXPORT: &str = "tally:plugin/status-poller@0.4.0";

pub mod importer {
    wasmtime::component::bindgen!({
        path: [
            "../../wit/tally-plugin@0.2.0",
            "../../wit/tally-plugin@0.3.0",
            "../../wit/tally-plugin@0.4.0",
        ],
        world: "tally:plugin/importer@0.4.0",
        with: {
            "tally:plugin/types@0.2.0": crate::since_v0_2_0::types,
            "tally:plugin/types@0.3.0": crate::since_v0_3_0::changed,
        },
    });
}

pub mod poller {
    wasmtime::component::bindgen!({
        path: [
            "../../wit/tally-plugin@0.2.0",
            "../../wit/tally-plugin@0.3.0",
            "../../wit/tally-plugin@0.4.0",
        ],
        world: "tally:plugin/poller@0.4.0",
        with: {
            "tally:plugin/types@0.2.0": crate::since_v0_2_0::types,
            "tally:plugin/http@0.2.0": crate::since_v0_2_0::http,
        },
    });
}

/// The records every track shares.
use crate::since_v0_2_0::types as w;
/// The records 0.3.0 changed (a lasting denial).
use crate::since_v0_3_0::changed as v3;
/// The records 0.4.0 changed (capacity in the batch).
pub use importer::tally::plugin0_4_0::types as changed;

impl From<w::PluginInfo> for crate::PluginInfo {
    fn from(i: w::PluginInfo) -> Self {
        crate::PluginInfo {
            name: i.name,
            version: i.version,
            formats: i.formats,
        }
    }
}

/// The guest's own refusal, with the plugin named.
pub fn guest_error(plugin: &str, e: w::PluginError) -> crate::CallError {
    let plugin = plugin.to_string();
    match e {
        w::PluginError::BadInput(message) => crate::CallError::BadInput { plugin, message },
        w::PluginError::Unsupported(message) => crate::CallError::Unsupported { plugin, message },
        w::PluginError::Internal(message) => crate::CallError::Internal { plugin, message },
    }
}

/// The config of a 0.4.0 guest; `local_times`: it returns wall-clock times and the host reads
/// them in the server's zone (the offset it is told is then 0).
pub fn import_config(c: &crate::ImportConfig, local_times: bool) -> changed::ImportConfig {
    changed::ImportConfig {
        utc_offset: if local_times { 0 } else { c.utc_offset },
        modified: c.modified,
        resume: c.resume.clone(),
        local_times,
    }
}

/// The config of a guest of an older track (0.2.0's record, shared by 0.1.0 and 0.3.0).
pub fn older_import_config(c: &crate::ImportConfig) -> w::ImportConfig {
    w::ImportConfig {
        utc_offset: c.utc_offset,
        modified: c.modified,
        resume: c.resume.clone(),
    }
}

impl From<changed::Batch> for core::Batch {
    fn from(b: changed::Batch) -> Self {
        core::Batch {
            strings: b.strings,
            sessions: b.sessions.into_iter().map(session).collect(),
            denials: b.denials.into_iter().map(denial).collect(),
            queued: b
                .queued
                .into_iter()
                .map(|q| core::Queued {
                    vendor: q.vendor,
                    feature: q.feature,
                    user: q.user,
                    host: q.host,
                    count: q.count,
                    time: q.time,
                })
                .collect(),
            server_events: b.server_events.into_iter().map(server_event).collect(),
            diagnostics: b.diagnostics.into_iter().map(diagnostic).collect(),
            capacities: b.capacities.into_iter().map(capacity).collect(),
            lines: b.lines,
        }
    }
}

fn session(s: w::Session) -> core::Session {
    core::Session {
        vendor: s.vendor,
        feature: s.feature,
        user: s.user,
        host: s.host,
        count: s.count,
        start: s.start,
        end: s.end,
        end_reason: match s.end_reason {
            w::EndReason::Checkin => core::EndReason::Checkin,
            w::EndReason::Inactive => core::EndReason::Inactive,
            w::EndReason::Shutdown => core::EndReason::Shutdown,
            w::EndReason::Unknown => core::EndReason::Unknown,
            w::EndReason::ServerRestart => core::EndReason::ServerRestart,
            w::EndReason::EndOfLog => core::EndReason::EndOfLog,
        },
        project: s.project,
    }
}

fn capacity(c: changed::Capacity) -> core::capacity::Capacity {
    core::capacity::Capacity {
        vendor: c.vendor,
        feature: c.feature,
        version: c.version,
        pool: c.pool,
        issued: c.issued,
        from: c.valid_from,
        expiry: c.expiry,
        source: match c.source {
            changed::CapacitySource::Server => core::capacity::CapacitySource::Server,
            changed::CapacitySource::LicenseFile => core::capacity::CapacitySource::LicenseFile,
        },
    }
}

fn denial(d: v3::Denial) -> core::Denial {
    core::Denial {
        vendor: d.vendor,
        feature: d.feature,
        user: d.user,
        host: d.host,
        count: d.count,
        time: d.time,
        kind: match d.kind {
            w::DenialKind::Denied => core::DenialKind::Denied,
            w::DenialKind::Unsupported => core::DenialKind::Unsupported,
        },
        code: d.code.map(|c| core::ErrorCode {
            major: c.major,
            minor: c.minor,
            errno: c.errno,
        }),
        reason: d.reason,
        requested_version: d.requested_version,
        until: d.until,
    }
}

fn server_event(e: w::ServerEvent) -> core::ServerEvent {
    core::ServerEvent {
        time: e.time,
        kind: match e.kind {
            w::ServerEventKind::ServerStart => core::ServerEventKind::ServerStart,
            w::ServerEventKind::ServerStop => core::ServerEventKind::ServerStop,
            w::ServerEventKind::DaemonStart => core::ServerEventKind::DaemonStart,
            w::ServerEventKind::DaemonStop => core::ServerEventKind::DaemonStop,
            w::ServerEventKind::Reread => core::ServerEventKind::Reread,
            w::ServerEventKind::LicensesDisabled => core::ServerEventKind::LicensesDisabled,
            w::ServerEventKind::Queued => core::ServerEventKind::Queued,
            w::ServerEventKind::Dequeued => core::ServerEventKind::Dequeued,
            w::ServerEventKind::Other => core::ServerEventKind::Other,
        },
        daemon: e.daemon,
        text: e.text,
    }
}

fn diagnostic(d: w::Diagnostic) -> core::Diagnostic {
    core::Diagnostic {
        line: d.line,
        kind: match d.kind {
            w::DiagnosticKind::Malformed => core::DiagnosticKind::Malformed,
            w::DiagnosticKind::Unrecognised => core::DiagnosticKind::Unrecognised,
            w::DiagnosticKind::Assumption => core::DiagnosticKind::Assumption,
        },
        text: d.text,
    }
}

/// A poller's snapshot with its `sym`s resolved; `None` names the first dangling index.
pub fn snapshot(s: w::Snapshot) -> Result<core::Snapshot, u32> {
    use core::snapshot as c;
    use w as p;
    let strings = s.strings;
    let name = |sym: u32| strings.get(sym as usize).cloned().ok_or(sym);
    let opt = |sym: Option<u32>| sym.map(name).transpose();
    let status = |s: p::ServerStatus| match s {
        p::ServerStatus::Up => c::ServerStatus::Up,
        p::ServerStatus::Down => c::ServerStatus::Down,
        p::ServerStatus::Unknown => c::ServerStatus::Unknown,
    };
    let servers = s
        .servers
        .into_iter()
        .map(|v| {
            Ok(c::LicenseServer {
                host: name(v.host)?,
                port: v.port,
                status: status(v.status),
                version: opt(v.version)?,
                vendor_daemons: v
                    .vendor_daemons
                    .into_iter()
                    .map(|d| {
                        Ok(c::VendorDaemon {
                            name: name(d.name)?,
                            status: status(d.status),
                            version: opt(d.version)?,
                            message: opt(d.message)?,
                        })
                    })
                    .collect::<Result<_, u32>>()?,
                message: opt(v.message)?,
            })
        })
        .collect::<Result<_, u32>>()?;
    let features = s
        .features
        .into_iter()
        .map(|f| {
            Ok(c::Feature {
                name: name(f.name)?,
                vendor: name(f.vendor)?,
                version: opt(f.version)?,
                pool: opt(f.pool)?,
                issued: f.issued,
                in_use: f.in_use,
                expiry: f.expiry,
                kind: match f.kind {
                    p::FeatureKind::Floating => c::FeatureKind::Floating,
                    p::FeatureKind::NodeLocked => c::FeatureKind::NodeLocked,
                    p::FeatureKind::Uncounted => c::FeatureKind::Uncounted,
                    p::FeatureKind::Package => c::FeatureKind::Package,
                    p::FeatureKind::Unknown => c::FeatureKind::Unknown,
                },
            })
        })
        .collect::<Result<_, u32>>()?;
    let checkouts = s
        .checkouts
        .into_iter()
        .map(|o| {
            Ok(c::Checkout {
                feature: name(o.feature)?,
                vendor: name(o.vendor)?,
                user: name(o.user)?,
                host: name(o.host)?,
                display: opt(o.display)?,
                count: o.count,
                start: o.start,
                handle: opt(o.handle)?,
                linger: o.linger,
                borrowed: o.borrowed,
            })
        })
        .collect::<Result<_, u32>>()?;
    let reservations = s
        .reservations
        .into_iter()
        .map(|r| {
            Ok(c::Reservation {
                feature: name(r.feature)?,
                vendor: name(r.vendor)?,
                count: r.count,
                target_kind: match r.target_kind {
                    p::ReservationTarget::User => c::ReservationTarget::User,
                    p::ReservationTarget::Host => c::ReservationTarget::Host,
                    p::ReservationTarget::Display => c::ReservationTarget::Display,
                    p::ReservationTarget::Group => c::ReservationTarget::Group,
                    p::ReservationTarget::HostGroup => c::ReservationTarget::HostGroup,
                    p::ReservationTarget::Internet => c::ReservationTarget::Internet,
                    p::ReservationTarget::Project => c::ReservationTarget::Project,
                    p::ReservationTarget::Other => c::ReservationTarget::Other,
                },
                target: name(r.target)?,
            })
        })
        .collect::<Result<_, u32>>()?;
    let queued = s
        .queued
        .into_iter()
        .map(|q| {
            Ok(c::QueuedRequest {
                feature: name(q.feature)?,
                vendor: name(q.vendor)?,
                user: name(q.user)?,
                host: name(q.host)?,
                count: q.count,
                time: q.time,
            })
        })
        .collect::<Result<_, u32>>()?;
    let diagnostics = s.diagnostics.into_iter().map(diagnostic).collect();
    Ok(core::Snapshot {
        servers,
        features,
        checkouts,
        reservations,
        queued,
        diagnostics,
    })
}
