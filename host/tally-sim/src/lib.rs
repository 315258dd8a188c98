//! # tally-sim
//!
//! A license-manager simulator: from a TOML scenario it answers the status commands Tally polls
//! (`lmutil lmstat`, `rlmutil rlmstat`, `lmxendutil -licstat`) and writes each server's own log,
//! all in the shapes of the real tools (see `shared/corpus/FORMATS.md`), plus the ground truth
//! to check Tally against.
//!
//! A server's workload is a pure function of (scenario seed, server name), computed on each call
//! for the one server asked about; the simulated time follows the wall clock
//! (`sim_start + (now - real_start) × speed`) unless a time is given.
#![forbid(unsafe_code)]

pub mod flexlm;
pub mod lmx;
pub mod rlm;
pub mod rng;
pub mod scenario;
pub mod time;
pub mod tools;
pub mod truth;
pub mod workload;

pub use scenario::{Manager, Scenario};
pub use tools::{Reply, Tool};
pub use workload::{EndReason, Workload};

/// A server's log up to `until` (the whole scenario when `None`).
pub fn log(scenario: &Scenario, server: &scenario::Server, until: Option<i64>) -> String {
    let w = Workload::simulate(scenario, server, until);
    let until = until.unwrap_or_else(|| w.natural_end());
    match server.manager {
        Manager::Flexlm => flexlm::log(&w, until),
        Manager::Rlm => rlm::log(&w, until),
        Manager::Lmx => lmx::log(&w, until),
    }
}
