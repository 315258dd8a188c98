use tally_plugin_sdk::{Batch, Importer, PluginError};

#[derive(Default)]
pub struct FlexlmLog {}

impl Importer for FlexlmLog {
    const FORMATS: &'static [&'static str] = &["flexlm-debuglog"];
    fn feed(&mut self, _chunk: &[u8], _out: &mut Batch) -> Result<(), PluginError> {
        Ok(())
    }
}
