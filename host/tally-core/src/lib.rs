//! Tally's domain types and pure logic. No I/O: no sqlx, axum or wasmtime here.
#![forbid(unsafe_code)]

#[macro_use]
pub mod facts;
pub mod address;
pub mod agent;
pub mod capacity;
pub mod clock;
pub mod csv;
pub mod harvest;
pub mod licence;
pub mod period;
pub mod polls;
pub mod refusal;
pub mod report;
pub mod rollup;
pub mod snapshot;
pub mod status;
pub mod time;
pub mod users;
pub mod zone;

pub use address::AddressError;
pub use facts::*;
pub use snapshot::Snapshot;
pub use status::{EndUserStatus, ImportStatus, PollResult, Polled, RemoteState, RemoteStatus};
