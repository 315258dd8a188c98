//! Test guest: an importer built on the frozen WIT 0.1.0 track with wit-bindgen directly (not
//! the SDK, which follows the latest track), as a third party shipped it before 0.2.0. Its log:
//! a `V010` header, then `USER FEATURE START END` lines (UTC seconds), one session each; any
//! other line is a malformed diagnostic. `sniff` answers 0.8 for the header (0.1.0 cannot name
//! a format: the host takes the first, `v010-log`).

wit_bindgen::generate!({
    path: "../../../wit/tally-plugin@0.1.0",
    world: "importer",
});

use exports::tally::plugin::log_importer::Guest;
use tally::plugin::types::{
    Batch, Diagnostic, DiagnosticKind, EndReason, ImportConfig, PluginError, PluginInfo, Session,
};

struct V010;

static LINES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

impl Guest for V010 {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "track-v010".into(),
            version: "0.1.0".into(),
            formats: vec!["v010-log".into(), "v010-other".into()],
        }
    }

    fn sniff(head: Vec<u8>) -> f32 {
        if head.starts_with(b"V010\n") {
            0.8
        } else {
            0.0
        }
    }

    fn begin(config: ImportConfig) -> Result<(), PluginError> {
        match config.resume {
            Some(_) => Err(PluginError::Unsupported("no resume".into())),
            None => Ok(()),
        }
    }

    fn feed(chunk: Vec<u8>) -> Result<Batch, PluginError> {
        let text = std::str::from_utf8(&chunk).map_err(|e| PluginError::BadInput(e.to_string()))?;
        let mut batch = Batch {
            strings: vec!["acme".into(), "ws1".into()],
            sessions: vec![],
            denials: vec![],
            queued: vec![],
            server_events: vec![],
            diagnostics: vec![],
            lines: 0,
        };
        let sym = |s: &str, strings: &mut Vec<String>| match strings.iter().position(|x| x == s) {
            Some(i) => i as u32,
            None => {
                strings.push(s.into());
                (strings.len() - 1) as u32
            }
        };
        for line in text.lines() {
            let n = LINES.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            if n == 1 && line == "V010" {
                continue;
            }
            let words: Vec<&str> = line.split_whitespace().collect();
            let times = match words[..] {
                [_, _, start, end] => start.parse::<i64>().ok().zip(end.parse::<i64>().ok()),
                _ => None,
            };
            let Some((start, end)) = times.filter(|(s, e)| s <= e) else {
                batch.diagnostics.push(Diagnostic {
                    line: n,
                    kind: DiagnosticKind::Malformed,
                    text: line.chars().take(200).collect(),
                });
                continue;
            };
            let user = sym(words[0], &mut batch.strings);
            let feature = sym(words[1], &mut batch.strings);
            batch.sessions.push(Session {
                vendor: 0,
                feature,
                user,
                host: 1,
                count: 1,
                start,
                end,
                end_reason: EndReason::Checkin,
                project: None,
            });
        }
        batch.lines = LINES.load(std::sync::atomic::Ordering::Relaxed);
        Ok(batch)
    }

    fn checkpoint() -> Result<Vec<u8>, PluginError> {
        Err(PluginError::Unsupported("no resume".into()))
    }

    fn finish() -> Result<Batch, PluginError> {
        Ok(Batch {
            strings: vec![],
            sessions: vec![],
            denials: vec![],
            queued: vec![],
            server_events: vec![],
            diagnostics: vec![],
            lines: LINES.load(std::sync::atomic::Ordering::Relaxed),
        })
    }
}

export!(V010);
