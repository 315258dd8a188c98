//! `tally-agent`: runs on a user's machine, reports the licensed applications running there to
//! the Tally server and carries out its harvest orders. The binary is a thin shell over
//! [`service::run`]; the modules are public for the tests.
//!
//! * [`settings`]: the agent's TOML settings file;
//! * [`client`]: plain-HTTP client of `/api/v1/agents…` (TLS belongs to a reverse proxy);
//! * [`queue`]: the fsync'd on-disk report queue;
//! * [`processes`]: which watched applications run, with their CPU use;
//! * [`idle`]: the user's input-idle time, where the OS tells it;
//! * [`harvest`]: carrying out harvest orders (signals);
//! * [`service`]: the loop that ties them together.
#![forbid(unsafe_code)]

pub mod client;
pub mod harvest;
pub mod idle;
pub mod processes;
pub mod queue;
pub mod service;
pub mod settings;
