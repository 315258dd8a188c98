//! Test guest: an importer built on the frozen WIT 0.2.0 track with wit-bindgen directly (not
//! the SDK, which follows the latest track), as a third party shipped it before 0.3.0. Its log:
//! a `V020` header, then `USER FEATURE TIME` lines (UTC seconds), one denial each (0.2.0
//! denials have no `until`); any other line is a malformed diagnostic.

wit_bindgen::generate!({
    path: "../../../wit/tally-plugin@0.2.0",
    world: "importer",
});

use exports::tally::plugin::log_importer::Guest;
use tally::plugin::types::{
    Batch, Denial, DenialKind, Diagnostic, DiagnosticKind, ImportConfig, PluginError, PluginInfo,
    Sniffed,
};

struct V020;

static LINES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn batch(strings: Vec<String>) -> Batch {
    Batch {
        strings,
        sessions: vec![],
        denials: vec![],
        queued: vec![],
        server_events: vec![],
        diagnostics: vec![],
        lines: 0,
    }
}

impl Guest for V020 {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "track-v020".into(),
            version: "0.2.0".into(),
            formats: vec!["v020-log".into()],
        }
    }

    fn sniff(head: Vec<u8>) -> Option<Sniffed> {
        head.starts_with(b"V020\n").then(|| Sniffed {
            format: "v020-log".into(),
            confidence: 0.8,
        })
    }

    fn begin(_: ImportConfig) -> Result<(), PluginError> {
        Ok(())
    }

    fn feed(chunk: Vec<u8>) -> Result<Batch, PluginError> {
        let text = std::str::from_utf8(&chunk).map_err(|e| PluginError::BadInput(e.to_string()))?;
        let mut out = batch(vec!["acme".into(), "ws1".into()]);
        for line in text.lines() {
            let n = LINES.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            if n == 1 && line == "V020" {
                continue;
            }
            let words: Vec<&str> = line.split_whitespace().collect();
            let Some(time) = (match words[..] {
                [_, _, time] => time.parse::<i64>().ok(),
                _ => None,
            }) else {
                out.diagnostics.push(Diagnostic {
                    line: n,
                    kind: DiagnosticKind::Malformed,
                    text: line.chars().take(200).collect(),
                });
                continue;
            };
            out.strings
                .extend([words[0].to_string(), words[1].to_string()]);
            let user = out.strings.len() as u32 - 2;
            out.denials.push(Denial {
                vendor: 0,
                feature: user + 1,
                user,
                host: 1,
                count: 1,
                time,
                kind: DenialKind::Denied,
                code: None,
                reason: None,
                requested_version: None,
            });
        }
        out.lines = LINES.load(std::sync::atomic::Ordering::Relaxed);
        Ok(out)
    }

    fn checkpoint() -> Result<Vec<u8>, PluginError> {
        Err(PluginError::Unsupported("no resume".into()))
    }

    fn finish() -> Result<Batch, PluginError> {
        let mut out = batch(vec![]);
        out.lines = LINES.load(std::sync::atomic::Ordering::Relaxed);
        Ok(out)
    }
}

export!(V020);
