//! Bindings for the `tally:plugin@0.1.0` track, adapted onto the latest (Zed's pattern). The
//! records of 0.1.0 are those of 0.2.0, so the bindings share 0.2.0's Rust types (the component
//! model checks records by structure): a 0.1.0 batch is a 0.2.0 batch, adapted onto 0.3.0's and 0.4.0's by
//! `since_v0_2_0`, and converted to the host's by `since_v0_4_0`. What differs is adapted here: `sniff` returned only a
//! confidence (it now names the plugin's first format), and pollers had neither `http` nor `poll`.

pub const TRACK: &str = "0.1.0";
pub const IMPORTER_EXPORT: &str = "tally:plugin/log-importer@0.1.0";
pub const POLLER_EXPORT: &str = "tally:plugin/status-poller@0.1.0";

pub mod importer {
    wasmtime::component::bindgen!({
        path: "../../wit/tally-plugin@0.1.0",
        world: "importer",
        with: { "tally:plugin/types@0.1.0": crate::since_v0_2_0::types },
    });
}

pub mod poller {
    wasmtime::component::bindgen!({
        path: "../../wit/tally-plugin@0.1.0",
        world: "poller",
        with: { "tally:plugin/types@0.1.0": crate::since_v0_2_0::types },
    });
}

/// A 0.1.0 `sniff` answer in 0.2.0's terms: the confidence names the plugin's first format;
/// no confidence at all is no recognition.
pub fn sniffed(
    confidence: f32,
    info: &crate::PluginInfo,
) -> Option<crate::since_v0_2_0::types::Sniffed> {
    let format = info.formats.first()?;
    (confidence > 0.0).then(|| crate::since_v0_2_0::types::Sniffed {
        format: format.clone(),
        confidence,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_confidence_names_the_first_format() {
        let info = crate::PluginInfo {
            name: "p".into(),
            version: "1.0.0".into(),
            formats: vec!["a".into(), "b".into()],
        };
        let s = super::sniffed(0.5, &info).expect("recognised");
        assert_eq!((s.format.as_str(), s.confidence), ("a", 0.5));
        assert!(super::sniffed(0.0, &info).is_none());
        assert!(super::sniffed(f32::NAN, &info).is_none());
    }
}
