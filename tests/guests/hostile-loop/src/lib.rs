//! Test guest: loops forever on its first chunk.
use tally_plugin_sdk::{Batch, Importer, PluginError};

#[derive(Default)]
struct Hostile;

impl Importer for Hostile {
    const FORMATS: &'static [&'static str] = &["hostile-loop"];

    fn feed(&mut self, chunk: &[u8], out: &mut Batch) -> Result<(), PluginError> {
        let mut n = chunk.len() as u64;
        loop {
            n = std::hint::black_box(n.wrapping_mul(6364136223846793005).wrapping_add(1));
            if n == 0 {
                out.lines = n;
                return Ok(());
            }
        }
    }
}

tally_plugin_sdk::export!(importer: Hostile);
