//! Paths of every plugin and test guest, built for `wasm32-wasip2` by this crate's build script,
//! and the first-party plugins compiled in for the `tally` binary.

/// A plugin compiled into the binary.
#[derive(Debug, Clone, Copy)]
pub struct Embedded {
    pub id: &'static str,
    /// The packaged `plugin.toml` (with the component's sha256).
    pub manifest: &'static str,
    pub component: &'static [u8],
}

include!(concat!(env!("OUT_DIR"), "/artifacts.rs"));
