//! Test guest: an importer built on the frozen WIT 0.3.0 track with wit-bindgen directly (not
//! the SDK, which follows the latest track), as a third party shipped it before 0.4.0. Its log:
//! a `V030` header, then `USER FEATURE START END` lines of local wall-clock seconds, converted
//! with the offset the host gives, one session each (0.3.0 batches state no capacity); any
//! other line is a malformed diagnostic.

wit_bindgen::generate!({
    path: ["../../../wit/tally-plugin@0.2.0", "../../../wit/tally-plugin@0.3.0"],
    world: "tally:plugin/importer@0.3.0",
    generate_all,
});

use exports::tally::plugin0_3_0::log_importer::Guest;
use tally::plugin0_2_0::types::{
    Diagnostic, DiagnosticKind, EndReason, ImportConfig, PluginError, PluginInfo, Session, Sniffed,
};
use tally::plugin0_3_0::types::Batch;

struct V030;

static LINES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
static OFFSET: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);

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

impl Guest for V030 {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "track-v030".into(),
            version: "0.3.0".into(),
            formats: vec!["v030-log".into()],
        }
    }

    fn sniff(head: Vec<u8>) -> Option<Sniffed> {
        head.starts_with(b"V030\n").then(|| Sniffed {
            format: "v030-log".into(),
            confidence: 0.8,
        })
    }

    fn begin(config: ImportConfig) -> Result<(), PluginError> {
        OFFSET.store(
            config.utc_offset.into(),
            std::sync::atomic::Ordering::Relaxed,
        );
        Ok(())
    }

    fn feed(chunk: Vec<u8>) -> Result<Batch, PluginError> {
        let text = std::str::from_utf8(&chunk).map_err(|e| PluginError::BadInput(e.to_string()))?;
        let offset = OFFSET.load(std::sync::atomic::Ordering::Relaxed);
        let mut out = batch(vec!["acme".into(), "ws1".into()]);
        for line in text.lines() {
            let n = LINES.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            if n == 1 && line == "V030" {
                continue;
            }
            let words: Vec<&str> = line.split_whitespace().collect();
            let times = match words[..] {
                [_, _, start, end] => start.parse::<i64>().ok().zip(end.parse::<i64>().ok()),
                _ => None,
            };
            let Some((start, end)) = times else {
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
            out.sessions.push(Session {
                vendor: 0,
                feature: user + 1,
                user,
                host: 1,
                count: 1,
                start: start - offset,
                end: end - offset,
                end_reason: EndReason::Checkin,
                project: None,
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

export!(V030);
