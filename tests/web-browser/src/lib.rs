//! The dashboard's browser tests (`tests/browser.rs`). The dashboard's router is compiled here
//! from its one source file, so these tests and its unit tests run without the rest of the server.
#![forbid(unsafe_code)]

#[path = "../../../host/tally-server/src/web.rs"]
pub mod web;
