//! Tally's domain types and pure logic. No I/O: no sqlx, axum or wasmtime here.
#![forbid(unsafe_code)]

pub mod facts;
pub mod time;

pub use facts::*;
