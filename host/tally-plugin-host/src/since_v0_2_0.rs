//! Bindings for the `tally:plugin@0.2.0` track, adapted onto 0.3.0 and from there onto the
//! latest. Its records are the ones every track shares (later tracks use them from 0.2.0,
//! 0.1.0's are the same), so these bindings generate them; what 0.3.0 changed is adapted here:
//! a 0.2.0 denial is a refusal at one instant (`until: none`). 0.2.0 added to 0.1.0: `sniff` names the format it recognised,
//! and pollers may import `http` and export `poll` (see `crate::http`).

use crate::since_v0_3_0::changed;

pub const TRACK: &str = "0.2.0";
pub const IMPORTER_EXPORT: &str = "tally:plugin/log-importer@0.2.0";
pub const POLLER_EXPORT: &str = "tally:plugin/status-poller@0.2.0";

pub mod importer {
    wasmtime::component::bindgen!({
        path: "../../wit/tally-plugin@0.2.0",
        world: "importer",
    });
}

pub mod poller {
    wasmtime::component::bindgen!({
        path: "../../wit/tally-plugin@0.2.0",
        world: "poller",
        // One set of record types for both worlds and every track (the component model
        // compares records by structure, not by package).
        with: { "tally:plugin/types@0.2.0": super::importer::tally::plugin::types },
    });
}

/// The records of the contract, shared by both worlds and by every track's bindings.
pub use importer::tally::plugin::types;
pub use poller::tally::plugin::http;

impl From<types::Batch> for changed::Batch {
    fn from(b: types::Batch) -> Self {
        changed::Batch {
            strings: b.strings,
            sessions: b.sessions,
            denials: b
                .denials
                .into_iter()
                .map(|d| changed::Denial {
                    vendor: d.vendor,
                    feature: d.feature,
                    user: d.user,
                    host: d.host,
                    count: d.count,
                    time: d.time,
                    kind: d.kind,
                    code: d.code,
                    reason: d.reason,
                    requested_version: d.requested_version,
                    until: None,
                })
                .collect(),
            queued: b.queued,
            server_events: b.server_events,
            diagnostics: b.diagnostics,
            lines: b.lines,
        }
    }
}

impl From<types::Batch> for tally_core::Batch {
    fn from(b: types::Batch) -> Self {
        changed::Batch::from(b).into()
    }
}
