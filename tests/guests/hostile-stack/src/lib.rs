//! Test guest: recurses without bound on its first chunk, on the wasm stack, or (when the chunk
//! starts with `big`) on Rust's shadow stack in linear memory.
use tally_plugin_sdk::{Batch, Importer, PluginError};

#[derive(Default)]
struct Hostile;

impl Importer for Hostile {
    const FORMATS: &'static [&'static str] = &["hostile-stack"];

    fn feed(&mut self, chunk: &[u8], out: &mut Batch) -> Result<(), PluginError> {
        // Far deeper than any stack: the recursion must be stopped, not finished.
        let depth = chunk.len() as u64 * 1_000_000_000;
        out.lines = if chunk.starts_with(b"big") {
            descend_big(depth)
        } else {
            descend(depth)
        };
        Ok(())
    }
}

/// Recursion the compiler can neither turn into a loop nor prove endless: each frame lives on
/// the wasm stack (no locals in linear memory), and `black_box` hides the result.
fn descend(depth: u64) -> u64 {
    if depth == 0 {
        return 0;
    }
    std::hint::black_box(descend(std::hint::black_box(depth - 1))).wrapping_add(depth)
}

/// The same with a 4 KiB local whose address escapes: it lives on the shadow stack, which
/// overflows long before the wasm stack does.
fn descend_big(depth: u64) -> u64 {
    if depth == 0 {
        return 0;
    }
    let mut frame = [0u8; 4096];
    frame[(depth % 4096) as usize] = depth as u8;
    let frame = std::hint::black_box(&mut frame);
    descend_big(depth - 1).wrapping_add(u64::from(frame[(depth % 7) as usize]))
}

tally_plugin_sdk::export!(importer: Hostile);
