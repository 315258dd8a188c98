//! Test guest: allocates without bound on its first chunk.
use tally_plugin_sdk::{Batch, Importer, PluginError};

#[derive(Default)]
struct Hostile;

impl Importer for Hostile {
    const FORMATS: &'static [&'static str] = &["hostile-alloc"];

    fn feed(&mut self, chunk: &[u8], out: &mut Batch) -> Result<(), PluginError> {
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        loop {
            hoard.push(vec![chunk.len() as u8; 1 << 20]);
            out.lines = std::hint::black_box(hoard.len() as u64);
        }
    }
}

tally_plugin_sdk::export!(importer: Hostile);
