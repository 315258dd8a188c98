//! Test guest: panics on its first chunk.
use tally_plugin_sdk::{Batch, Importer, PluginError};

#[derive(Default)]
struct Hostile;

impl Importer for Hostile {
    const FORMATS: &'static [&'static str] = &["hostile-panic"];

    fn feed(&mut self, chunk: &[u8], out: &mut Batch) -> Result<(), PluginError> {
        let _ = out;
        panic!("hostile guest refuses {} bytes", chunk.len());
    }
}

tally_plugin_sdk::export!(importer: Hostile);
