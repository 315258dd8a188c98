//! Bindings for the `tally:plugin@0.1.0` track, and their conversion to the host's own types.
//! A later track gets its own module; older ones then convert onto it (Zed's pattern), so the
//! host's behaviour is written once, against `tally-core`.

use tally_core as core;

pub const TRACK: &str = "0.1.0";
pub const IMPORTER_EXPORT: &str = "tally:plugin/log-importer@0.1.0";
pub const POLLER_EXPORT: &str = "tally:plugin/status-poller@0.1.0";

pub mod importer {
    wasmtime::component::bindgen!({
        path: "../../wit/tally-plugin@0.1.0",
        world: "importer",
    });
}

pub mod poller {
    wasmtime::component::bindgen!({
        path: "../../wit/tally-plugin@0.1.0",
        world: "poller",
    });
}

use importer::tally::plugin::types as w;

impl From<w::PluginInfo> for crate::PluginInfo {
    fn from(i: w::PluginInfo) -> Self {
        crate::PluginInfo {
            name: i.name,
            version: i.version,
            formats: i.formats,
        }
    }
}

impl From<poller::tally::plugin::types::PluginInfo> for crate::PluginInfo {
    fn from(i: poller::tally::plugin::types::PluginInfo) -> Self {
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

pub fn import_config(c: &crate::ImportConfig) -> w::ImportConfig {
    w::ImportConfig {
        utc_offset: c.utc_offset,
        modified: c.modified,
        resume: c.resume.clone(),
    }
}

impl From<w::Batch> for core::Batch {
    fn from(b: w::Batch) -> Self {
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

fn denial(d: w::Denial) -> core::Denial {
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
