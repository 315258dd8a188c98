//! Bindings for the `tally:plugin@0.3.0` track, adapted onto the latest (0.4.0): a 0.3.0 batch
//! states no capacity. 0.3.0 added to 0.2.0 that a denial may last (`denial.until`); its
//! `denial` is used unchanged by 0.4.0, so these bindings generate it for every later track.

use crate::since_v0_4_0::changed as latest;

pub const TRACK: &str = "0.3.0";
pub const IMPORTER_EXPORT: &str = "tally:plugin/log-importer@0.3.0";
pub const POLLER_EXPORT: &str = "tally:plugin/status-poller@0.3.0";

pub mod importer {
    wasmtime::component::bindgen!({
        path: ["../../wit/tally-plugin@0.2.0", "../../wit/tally-plugin@0.3.0"],
        world: "tally:plugin/importer@0.3.0",
        with: { "tally:plugin/types@0.2.0": crate::since_v0_2_0::types },
    });
}

pub mod poller {
    wasmtime::component::bindgen!({
        path: ["../../wit/tally-plugin@0.2.0", "../../wit/tally-plugin@0.3.0"],
        world: "tally:plugin/poller@0.3.0",
        with: {
            "tally:plugin/types@0.2.0": crate::since_v0_2_0::types,
            "tally:plugin/http@0.2.0": crate::since_v0_2_0::http,
        },
    });
}

/// The records 0.3.0 changed: its `denial` (shared by later tracks) and `batch`.
pub use importer::tally::plugin0_3_0::types as changed;

impl From<changed::Batch> for latest::Batch {
    fn from(b: changed::Batch) -> Self {
        latest::Batch {
            strings: b.strings,
            sessions: b.sessions,
            denials: b.denials,
            queued: b.queued,
            server_events: b.server_events,
            diagnostics: b.diagnostics,
            capacities: Vec::new(),
            lines: b.lines,
        }
    }
}

impl From<changed::Batch> for tally_core::Batch {
    fn from(b: changed::Batch) -> Self {
        latest::Batch::from(b).into()
    }
}
