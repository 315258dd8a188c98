//! Test guest: a command poller built on the frozen WIT 0.2.0 track with wit-bindgen directly
//! (not the SDK, which follows the latest track), as a third party shipped it before 0.3.0. Its
//! status output: `FEATURE ISSUED IN_USE` lines, one feature each.

wit_bindgen::generate!({
    path: "../../../wit/tally-plugin@0.2.0",
    world: "poller",
});

use exports::tally::plugin::status_poller::Guest;
use tally::plugin::types::{
    Feature, FeatureKind, PluginError, PluginInfo, ServerAddress, Snapshot, Sniffed, Timestamp,
};

struct V020;

impl Guest for V020 {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "track-v020-poller".into(),
            version: "0.2.0".into(),
            formats: vec!["v020-status".into()],
        }
    }

    fn sniff(_: Vec<u8>) -> Option<Sniffed> {
        None
    }

    fn parse_status(output: Vec<u8>, _: Timestamp) -> Result<Snapshot, PluginError> {
        let text =
            std::str::from_utf8(&output).map_err(|e| PluginError::BadInput(e.to_string()))?;
        let mut snapshot = Snapshot {
            strings: vec!["acme".into()],
            servers: vec![],
            features: vec![],
            checkouts: vec![],
            reservations: vec![],
            queued: vec![],
            diagnostics: vec![],
        };
        for line in text.lines() {
            let (name, issued, in_use) = match line.split_whitespace().collect::<Vec<_>>()[..] {
                [name, issued, in_use] => (name, issued.parse().ok(), in_use.parse().ok()),
                _ => return Err(PluginError::BadInput(format!("not a feature: {line}"))),
            };
            let in_use = in_use.ok_or_else(|| PluginError::BadInput(line.into()))?;
            snapshot.strings.push(name.into());
            snapshot.features.push(Feature {
                name: snapshot.strings.len() as u32 - 1,
                vendor: 0,
                version: None,
                pool: None,
                issued,
                in_use,
                expiry: None,
                kind: FeatureKind::Floating,
            });
        }
        Ok(snapshot)
    }

    fn poll(_: ServerAddress, _: Timestamp) -> Result<Snapshot, PluginError> {
        Err(PluginError::Unsupported("a command poller".into()))
    }
}

export!(V020);
