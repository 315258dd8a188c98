//! Test guest: returns far more records than its input has lines.
use tally_plugin_sdk::{Batch, Importer, PluginError};

#[derive(Default)]
struct Hostile;

impl Importer for Hostile {
    const FORMATS: &'static [&'static str] = &["hostile-huge"];

    fn feed(&mut self, chunk: &[u8], out: &mut Batch) -> Result<(), PluginError> {
        use tally_plugin_sdk::{Diagnostic, DiagnosticKind};
        out.lines = chunk.len() as u64;
        for line in 0..200_000 {
            out.diagnostics.push(Diagnostic {
                line,
                kind: DiagnosticKind::Unrecognised,
                text: String::new(),
            });
        }
        Ok(())
    }
}

tally_plugin_sdk::export!(importer: Hostile);
