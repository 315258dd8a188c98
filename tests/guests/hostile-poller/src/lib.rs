//! Test guest: a poller whose status output says how to misbehave. `panic` panics, `loop`
//! never returns, `expiry=N` reports a feature expiring at N, `count=0` a checkout of nothing;
//! anything else is one valid feature in use once.
use tally_plugin_sdk::{Checkout, Feature, FeatureKind, PluginError, Poller, Snapshot, Timestamp};

struct Hostile;

impl Poller for Hostile {
    const FORMATS: &'static [&'static str] = &["hostile-poller"];

    fn parse_status(output: &[u8], now: Timestamp) -> Result<Snapshot, PluginError> {
        let text = String::from_utf8_lossy(output);
        let text = text.trim();
        let mut expiry = Some(now);
        let mut count = 1;
        match text {
            "panic" => panic!("hostile poller refuses {} bytes", output.len()),
            "loop" => {
                let mut n: u64 = 0;
                while std::hint::black_box(n) != u64::MAX {
                    n = n.wrapping_add(1) % 7;
                }
            }
            "count=0" => count = 0,
            _ => {
                if let Some(n) = text.strip_prefix("expiry=") {
                    expiry = Some(n.parse().map_err(|_| PluginError::BadInput(text.into()))?);
                }
            }
        }
        let name = |s: &str| s.to_string();
        Ok(Snapshot {
            features: vec![Feature {
                name: name("solver"),
                vendor: name("acme"),
                version: None,
                pool: None,
                issued: Some(4),
                in_use: 1,
                expiry,
                kind: FeatureKind::Floating,
            }],
            checkouts: vec![Checkout {
                feature: name("solver"),
                vendor: name("acme"),
                user: name("alice"),
                host: name("ws1"),
                display: None,
                count,
                start: None,
                handle: None,
                linger: None,
                borrowed: false,
            }],
            ..Snapshot::default()
        })
    }
}

tally_plugin_sdk::export!(poller: Hostile);
