//! Drives an [`Importer`] natively the way the host does, for a plugin's own tests: whole-line
//! chunks, `begin` → `feed` (with a checkpoint after every feed) → `finish`, and an import cut
//! at a line boundary that resumes in a new instance from the checkpoint.
//!
//! These helpers panic on any error: they are test harness, not plugin code.

use crate::civil::format_utc;
use crate::{Batch, DiagnosticKind, ImportConfig, Importer};

/// Whole-line chunks of at most `size` bytes (a longer line goes alone), as the host cuts them.
/// The last chunk may end without a newline.
pub fn whole_line_chunks(data: &[u8], size: usize) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        let cut = if rest.len() <= size {
            rest.len()
        } else {
            match rest[..size].iter().rposition(|&b| b == b'\n') {
                Some(i) => i + 1,
                None => rest
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(rest.len(), |i| i + 1),
            }
        };
        out.push(&rest[..cut]);
        rest = &rest[cut..];
    }
    out
}

/// Feeds `data` in whole-line chunks of `size` into `all`, checking after every feed what the
/// host checks: `Batch.lines` only grows, and a checkpoint can always be taken.
pub fn feed_all<T: Importer>(p: &mut T, data: &[u8], size: usize, all: &mut Batch) {
    for c in whole_line_chunks(data, size) {
        let mut b = Batch::default();
        p.feed(c, &mut b).expect("feed");
        assert!(b.lines >= all.lines, "Batch.lines must only grow");
        all.append(b);
        p.checkpoint().expect("checkpoint after every feed");
    }
}

/// One pass: begin, whole-line chunks of `size` (a checkpoint after each), finish.
pub fn run<T: Importer>(data: &[u8], cfg: &ImportConfig, size: usize) -> Batch {
    let mut p = T::default();
    p.begin(cfg).expect("begin");
    let mut all = Batch::default();
    feed_all(&mut p, data, size, &mut all);
    let mut b = Batch::default();
    p.finish(&mut b).expect("finish");
    all.append(b);
    all
}

/// Two passes: the first `split` bytes (a line boundary), checkpoint, then a new instance
/// resumed from that checkpoint is fed the rest and finishes.
pub fn run_split<T: Importer>(data: &[u8], cfg: &ImportConfig, size: usize, split: usize) -> Batch {
    let mut all = Batch::default();
    let mut p = T::default();
    p.begin(cfg).expect("begin");
    feed_all(&mut p, &data[..split], size, &mut all);
    let state = p.checkpoint().expect("checkpoint");
    drop(p);
    let mut q = T::default();
    q.begin(&ImportConfig {
        resume: Some(state),
        ..cfg.clone()
    })
    .expect("resume");
    feed_all(&mut q, &data[split..], size, &mut all);
    let mut b = Batch::default();
    q.finish(&mut b).expect("finish");
    all.append(b);
    all
}

/// Byte offsets just after each newline (the places a host may cut an import), end excluded.
pub fn line_starts(data: &[u8]) -> Vec<usize> {
    data.iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .map(|(i, _)| i + 1)
        .filter(|&i| i < data.len())
        .collect()
}

/// Lines as `wc -l` counts them, plus one for a last line without a newline.
pub fn physical_lines(data: &[u8]) -> u64 {
    let nl = data.iter().filter(|&&b| b == b'\n').count() as u64;
    nl + u64::from(!data.is_empty() && data.last() != Some(&b'\n'))
}

// ---- rendering: records as compact strings, so tests compare them exactly ----------------

pub fn sessions(b: &Batch) -> Vec<String> {
    b.sessions
        .iter()
        .map(|s| {
            format!(
                "{}|{}|{}|{}|{}|{}|{}|{:?}|{}",
                s.vendor,
                s.feature,
                s.user,
                s.host,
                s.count,
                format_utc(s.start),
                format_utc(s.end),
                s.end_reason,
                s.project.as_deref().unwrap_or("-")
            )
        })
        .collect()
}

pub fn denials(b: &Batch) -> Vec<String> {
    b.denials
        .iter()
        .map(|d| {
            let code = d.code.map_or("-".to_string(), |c| {
                format!(
                    "{},{}:{}",
                    c.major,
                    c.minor.map_or("-".into(), |m| m.to_string()),
                    c.errno.map_or("-".into(), |e| e.to_string())
                )
            });
            format!(
                "{}|{}|{}|{}|{}|{}|{:?}|{}|{}|{}",
                d.vendor,
                d.feature,
                d.user,
                d.host,
                d.count,
                format_utc(d.time),
                d.kind,
                code,
                d.reason.as_deref().unwrap_or("-"),
                d.requested_version.as_deref().unwrap_or("-")
            )
        })
        .collect()
}

pub fn queued(b: &Batch) -> Vec<String> {
    b.queued
        .iter()
        .map(|q| {
            format!(
                "{}|{}|{}|{}|{}|{}",
                q.vendor,
                q.feature,
                q.user,
                q.host,
                q.count,
                q.time.map_or("-".into(), format_utc)
            )
        })
        .collect()
}

pub fn events(b: &Batch) -> Vec<String> {
    b.server_events
        .iter()
        .map(|e| {
            format!(
                "{}|{:?}|{}|{}",
                format_utc(e.time),
                e.kind,
                e.daemon,
                e.text
            )
        })
        .collect()
}

/// `line|kind` of every diagnostic.
pub fn diags(b: &Batch) -> Vec<String> {
    b.diagnostics
        .iter()
        .map(|d| format!("{}|{:?}", d.line, d.kind))
        .collect()
}

pub fn count(b: &Batch, kind: DiagnosticKind) -> usize {
    b.diagnostics.iter().filter(|d| d.kind == kind).count()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::PluginError;

    #[test]
    fn chunks_are_whole_lines() {
        let data = b"a\nbb\nccc\ndddddd\ne";
        assert_eq!(
            whole_line_chunks(data, 5),
            [&b"a\nbb\n"[..], b"ccc\n", b"dddddd\n", b"e"]
        );
        assert_eq!(whole_line_chunks(data, 1).len(), 5);
        assert_eq!(whole_line_chunks(data, 100), [&data[..]]);
        assert!(whole_line_chunks(b"", 4).is_empty());
        assert_eq!(whole_line_chunks(b"abcdef", 2), [&b"abcdef"[..]]);
        for size in 1..20 {
            assert_eq!(whole_line_chunks(data, size).concat(), data);
        }
    }

    #[test]
    fn offsets_and_counts() {
        assert_eq!(line_starts(b"a\nb\nc\n"), [2, 4]);
        assert_eq!(line_starts(b"a\nb"), [2]);
        assert_eq!(physical_lines(b""), 0);
        assert_eq!(physical_lines(b"a\nb\n"), 2);
        assert_eq!(physical_lines(b"a\nb"), 2);
    }

    /// Counts lines; its checkpoint is the count.
    #[derive(Default)]
    struct Lines {
        lines: u64,
    }

    impl Importer for Lines {
        const FORMATS: &'static [&'static str] = &["lines"];
        fn begin(&mut self, config: &ImportConfig) -> Result<(), PluginError> {
            if let Some(state) = &config.resume {
                let mut r = crate::checkpoint::Reader::new("lines", 1, state)?;
                self.lines = r.u64()?;
                r.finish()?;
            }
            Ok(())
        }
        fn feed(&mut self, chunk: &[u8], out: &mut Batch) -> Result<(), PluginError> {
            self.lines += physical_lines(chunk);
            out.lines = self.lines;
            Ok(())
        }
        fn checkpoint(&self) -> Result<Vec<u8>, PluginError> {
            let mut w = crate::checkpoint::Writer::new(1);
            w.u64(self.lines);
            Ok(w.finish())
        }
        fn finish(&mut self, out: &mut Batch) -> Result<(), PluginError> {
            out.lines = self.lines;
            Ok(())
        }
    }

    #[test]
    fn run_and_resume() {
        let data = b"one\ntwo\nthree\nfour\n";
        let cfg = ImportConfig::default();
        for size in [1, 5, 100] {
            assert_eq!(run::<Lines>(data, &cfg, size).lines, 4);
            for split in line_starts(data) {
                assert_eq!(run_split::<Lines>(data, &cfg, size, split).lines, 4);
            }
        }
    }
}
