//! Test guest: an http poller. `poll` GETs `http://HOST:PORT/status` through the host's `http`
//! import and parses the page as `parse_status` would a command's output: one
//! `FEATURE ISSUED IN-USE` line per feature of vendor `acme`. The tests point it at granted,
//! ungranted and misbehaving servers.
use tally_plugin_sdk::{
    Feature, FeatureKind, PluginError, Poller, ServerAddress, Snapshot, Timestamp, http,
};

struct HttpPoller;

impl Poller for HttpPoller {
    const FORMATS: &'static [&'static str] = &["http-status"];

    fn parse_status(output: &[u8], _now: Timestamp) -> Result<Snapshot, PluginError> {
        let text = std::str::from_utf8(output).map_err(|e| PluginError::BadInput(e.to_string()))?;
        let mut snapshot = Snapshot::default();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let bad = || PluginError::BadInput(format!("not `FEATURE ISSUED IN-USE`: {line}"));
            let [name, issued, in_use] = line.split_whitespace().collect::<Vec<_>>()[..] else {
                return Err(bad());
            };
            snapshot.features.push(Feature {
                name: name.into(),
                vendor: "acme".into(),
                version: None,
                pool: None,
                issued: Some(issued.parse().map_err(|_| bad())?),
                in_use: in_use.parse().map_err(|_| bad())?,
                expiry: None,
                kind: FeatureKind::Floating,
            });
        }
        Ok(snapshot)
    }

    fn poll(server: &ServerAddress, now: Timestamp) -> Result<Snapshot, PluginError> {
        let port = server.port.unwrap_or(80);
        let url = format!("http://{}:{port}/status", server.host);
        let answer = http::fetch(http::Request::get(&url).header("Accept", "text/plain"))?.ok()?;
        Self::parse_status(&answer.body, now)
    }
}

tally_plugin_sdk::export!(poller: HttpPoller);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_page_and_refuses_other_text() {
        let snap = HttpPoller::parse_status(b"solver 4 1\nmesher 2 0\n", 0).expect("valid");
        assert_eq!(snap.features.len(), 2);
        assert_eq!(
            (snap.features[0].issued, snap.features[0].in_use),
            (Some(4), 1)
        );
        assert!(HttpPoller::parse_status(b"solver four 1\n", 0).is_err());
    }
}
