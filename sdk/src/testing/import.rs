//! Drives an [`Importer`] natively the way the host does: whole-line chunks, `begin` → `feed`
//! (with a checkpoint after every feed) → `finish`, and an import cut at a line boundary that
//! resumes in a new instance from the checkpoint; then checks that every way of cutting the
//! input gives the same records.

use std::fmt;

use super::host::{allowance, batch_records, check_batch, check_sniff};
use super::{capacities, denials, diags, events, queued, sessions};
use crate::{Batch, ImportConfig, Importer, PluginError, Timestamp};

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
/// host checks: `Batch.lines` only grows, and a checkpoint can always be taken (unless the
/// importer cannot resume at all).
pub fn feed_all<T: Importer>(p: &mut T, data: &[u8], size: usize, all: &mut Batch) {
    for c in whole_line_chunks(data, size) {
        let mut b = Batch::default();
        p.feed(c, &mut b).expect("feed");
        assert!(b.lines >= all.lines, "Batch.lines must only grow");
        all.append(b);
        match p.checkpoint() {
            Ok(_) | Err(PluginError::Unsupported(_)) => {}
            Err(e) => panic!("checkpoint after a feed: {e}"),
        }
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

/// The whole lines of `data` that fit in `max` bytes (all of `data` when it is shorter): a
/// large log's head, for checks that import it many times.
pub fn head(data: &[u8], max: usize) -> &[u8] {
    if data.len() <= max {
        return data;
    }
    let end = data[..max]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    &data[..end]
}

/// Lines as `wc -l` counts them, plus one for a last line without a newline.
pub fn physical_lines(data: &[u8]) -> u64 {
    let nl = data.iter().filter(|&&b| b == b'\n').count() as u64;
    nl + u64::from(!data.is_empty() && data.last() != Some(&b'\n'))
}

/// A fresh import's configuration: the server's offset from UTC and the file's modification time.
pub fn config(utc_offset: i32, modified: Option<Timestamp>) -> ImportConfig {
    ImportConfig {
        utc_offset,
        modified,
        resume: None,
        local_times: false,
    }
}

/// The configuration [`fuzz_import`] imports with: UTC+1 (a non-zero offset shows sign slips)
/// and a modification time (2023-11-14) for logs that never state their date.
pub fn fuzz_config() -> ImportConfig {
    config(3600, Some(1_700_000_000))
}

/// Imports `data` every way the host may cut it — in one chunk, a line per chunk, 64-byte
/// chunks, and resumed (in 64-byte chunks) from a checkpoint taken at every line boundary, when
/// `T` can checkpoint — and
/// checks that all give the same records, that `Batch.lines` only grows and ends at the
/// input's line count, that the host's record allowance holds after every feed, and
/// [`check_batch`](super::check_batch). Returns the one-chunk batch; panics with what differs.
pub fn check_import<T: Importer>(data: &[u8], cfg: &ImportConfig) -> Batch {
    verify::<T>(data, cfg, usize::MAX).unwrap_or_else(|e| panic!("{e}"))
}

/// The body of a fuzz target for an importer: `sniff` gives a score in `0.0..=1.0`, and
/// [`check_import`] holds with [`fuzz_config`], resuming at up to 8 line boundaries spread over
/// the input. The importer may refuse the input (`BadInput`, `Unsupported`), never panic or
/// report an `Internal` error.
pub fn fuzz_import<T: Importer>(data: &[u8]) {
    check_sniff(T::sniff(&data[..data.len().min(4096)])).unwrap_or_else(|e| panic!("{e}"));
    match verify::<T>(data, &fuzz_config(), 8) {
        Ok(_) | Err(Failure::Refused(PluginError::BadInput(_) | PluginError::Unsupported(_))) => {}
        Err(e) => panic!("{e}"),
    }
}

/// Why an import did not pass: the plugin returned an error, or a check failed.
enum Failure {
    Refused(PluginError),
    Check(String),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Refused(e) => write!(f, "the importer failed: {e}"),
            Failure::Check(m) => f.write_str(m),
        }
    }
}

fn verify<T: Importer>(data: &[u8], cfg: &ImportConfig, splits: usize) -> Result<Batch, Failure> {
    let lines = physical_lines(data);
    let resumable = resumable::<T>(cfg);
    let cut = |size, split, checkpoints| Cut {
        size,
        split,
        checkpoints,
    };
    let whole = pass::<T>(data, cfg, cut(data.len().max(1), None, false))?;
    if whole.lines != lines {
        return Err(Failure::Check(format!(
            "Batch.lines is {} for {lines} lines",
            whole.lines
        )));
    }
    check_batch(&whole, lines).map_err(Failure::Check)?;
    let by_line = pass::<T>(data, cfg, cut(1, None, false))?;
    same(&whole, &by_line, "a line per chunk")?;
    let small = pass::<T>(data, cfg, cut(64, None, resumable))?;
    same(&whole, &small, "64-byte chunks")?;
    if resumable {
        for split in spread(line_starts(data), splits) {
            let resumed = pass::<T>(data, cfg, cut(64, Some(split), false))?;
            same(&whole, &resumed, &format!("resumed at byte {split}"))?;
        }
    }
    Ok(whole)
}

/// How a pass cuts the input: whole-line chunks of `size`; with `split`, the instance is
/// dropped there and a new one resumes from its checkpoint; with `checkpoints`, a checkpoint is
/// taken after every feed (as the host may).
struct Cut {
    size: usize,
    split: Option<usize>,
    checkpoints: bool,
}

/// One import cut as `cut` says, with the host's checks after every feed.
fn pass<T: Importer>(data: &[u8], cfg: &ImportConfig, cut: Cut) -> Result<Batch, Failure> {
    let Cut {
        size,
        split,
        checkpoints,
    } = cut;
    let (head, tail) = data.split_at(split.unwrap_or(data.len()));
    let mut p = T::default();
    p.begin(cfg).map_err(Failure::Refused)?;
    let mut all = Batch::default();
    let (mut lines, mut bytes) = (0, 0);
    for (part, resume) in [(head, false), (tail, split.is_some())] {
        if resume {
            let state = p.checkpoint().map_err(Failure::Refused)?;
            p = T::default();
            let cfg = ImportConfig {
                resume: Some(state),
                ..cfg.clone()
            };
            p.begin(&cfg).map_err(Failure::Refused)?;
        }
        for c in whole_line_chunks(part, size) {
            let mut b = Batch::default();
            p.feed(c, &mut b).map_err(Failure::Refused)?;
            if b.lines < all.lines {
                return Err(Failure::Check(format!(
                    "Batch.lines went down from {} to {}",
                    all.lines, b.lines
                )));
            }
            all.append(b);
            (lines, bytes) = (lines + physical_lines(c), bytes + c.len() as u64);
            within_allowance(&all, lines, bytes)?;
            if checkpoints {
                p.checkpoint().map_err(Failure::Refused)?;
            }
        }
    }
    let mut b = Batch::default();
    p.finish(&mut b).map_err(Failure::Refused)?;
    all.append(b);
    within_allowance(&all, lines, bytes)?;
    Ok(all)
}

fn within_allowance(all: &Batch, lines: u64, bytes: u64) -> Result<(), Failure> {
    let records = batch_records(all) as u64;
    if records > allowance(lines, bytes) {
        return Err(Failure::Check(format!(
            "{records} records after {lines} lines of {bytes} bytes: over the host's allowance"
        )));
    }
    Ok(())
}

/// Whether `T` gives a checkpoint (an importer need not).
fn resumable<T: Importer>(cfg: &ImportConfig) -> bool {
    let mut p = T::default();
    p.begin(cfg).is_ok() && p.checkpoint().is_ok()
}

/// At most `n` of `v`, spread evenly.
fn spread(v: Vec<usize>, n: usize) -> Vec<usize> {
    if v.len() <= n {
        return v;
    }
    (0..n).map(|i| v[i * v.len() / n]).collect()
}

/// `Ok` when `other`, the batch of another way of cutting the input, equals `whole`.
fn same(whole: &Batch, other: &Batch, how: &str) -> Result<(), Failure> {
    if whole == other {
        return Ok(());
    }
    type View = fn(&Batch) -> Vec<String>;
    let views: [(&str, View); 6] = [
        ("sessions", sessions),
        ("denials", denials),
        ("queued", queued),
        ("server events", events),
        ("diagnostics", diags),
        ("capacities", capacities),
    ];
    for (what, view) in views {
        let (a, b) = (view(whole), view(other));
        if let Some(i) = (0..a.len().max(b.len())).find(|&i| a.get(i) != b.get(i)) {
            return Err(Failure::Check(format!(
                "{how}: {what}[{i}] is {:?}, in one chunk {:?}",
                b.get(i),
                a.get(i)
            )));
        }
    }
    Err(Failure::Check(format!(
        "{how}: the batch differs from the one-chunk import (lines {} vs {}, or a diagnostic text)",
        other.lines, whole.lines
    )))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::{Diagnostic, DiagnosticKind, EndReason, Session};

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
        assert_eq!(head(b"a\nbb\nc", 4), b"a\n");
        assert_eq!(head(b"a\nbb\nc", 5), b"a\nbb\n");
        assert_eq!(head(b"a\nb", 9), b"a\nb");
        assert_eq!(head(b"abc", 2), b"");
    }

    /// Counts lines; its checkpoint is the count.
    #[derive(Default)]
    struct Lines {
        lines: u64,
    }

    /// The test importers' checkpoint: their line count.
    fn save(lines: u64) -> Result<Vec<u8>, PluginError> {
        let mut w = crate::checkpoint::Writer::new(1);
        w.u64(lines);
        Ok(w.finish())
    }

    fn restore(config: &ImportConfig) -> Result<u64, PluginError> {
        let Some(state) = &config.resume else {
            return Ok(0);
        };
        let mut r = crate::checkpoint::Reader::new("test", 1, state)?;
        let lines = r.u64()?;
        r.finish()?;
        Ok(lines)
    }

    impl Importer for Lines {
        const FORMATS: &'static [&'static str] = &["lines"];
        fn begin(&mut self, config: &ImportConfig) -> Result<(), PluginError> {
            self.lines = restore(config)?;
            Ok(())
        }
        fn feed(&mut self, chunk: &[u8], out: &mut Batch) -> Result<(), PluginError> {
            self.lines += physical_lines(chunk);
            out.lines = self.lines;
            Ok(())
        }
        fn checkpoint(&self) -> Result<Vec<u8>, PluginError> {
            save(self.lines)
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

    #[test]
    fn check_import_passes_a_sound_importer() {
        let data = b"one\ntwo\n\nfour";
        let b = check_import::<Lines>(data, &ImportConfig::default());
        assert_eq!(b.lines, 4);
        fuzz_import::<Lines>(data);
        fuzz_import::<Lines>(b"");
    }

    /// Opens a session on `+` and closes it on `-`, but forgets the open one across a checkpoint
    /// (its state is the line count only), and reports a diagnostic on the line before `?`.
    #[derive(Default)]
    struct Forgetful {
        lines: u64,
        open: Option<i64>,
    }

    impl Importer for Forgetful {
        const FORMATS: &'static [&'static str] = &["forgetful"];
        fn begin(&mut self, config: &ImportConfig) -> Result<(), PluginError> {
            self.lines = restore(config)?;
            Ok(())
        }
        fn feed(&mut self, chunk: &[u8], out: &mut Batch) -> Result<(), PluginError> {
            for l in chunk.split_inclusive(|&b| b == b'\n') {
                self.lines += 1;
                let t = self.lines as i64;
                match l.first() {
                    Some(b'+') => self.open = Some(t),
                    Some(b'-') => {
                        if let Some(start) = self.open.take() {
                            out.sessions.push(Session {
                                vendor: "v".into(),
                                feature: "f".into(),
                                user: "u".into(),
                                host: "h".into(),
                                count: 1,
                                start,
                                end: t,
                                end_reason: EndReason::Checkin,
                                project: None,
                            });
                        }
                    }
                    Some(b'?') => out.diagnostics.push(Diagnostic {
                        line: self.lines - 1,
                        kind: DiagnosticKind::Malformed,
                        text: String::new(),
                    }),
                    Some(b'!') => return Err(PluginError::Internal("bang".into())),
                    _ => {}
                }
            }
            out.lines = self.lines;
            Ok(())
        }
        fn checkpoint(&self) -> Result<Vec<u8>, PluginError> {
            save(self.lines)
        }
    }

    #[test]
    #[should_panic(expected = "resumed at byte 2: sessions[0] is None, in one chunk Some(")]
    fn check_import_finds_state_lost_at_a_checkpoint() {
        check_import::<Forgetful>(b"+\n-\n", &ImportConfig::default());
    }

    #[test]
    #[should_panic(expected = "diagnostic on line 0 of 1")]
    fn fuzz_import_finds_a_diagnostic_off_the_input() {
        fuzz_import::<Forgetful>(b"?");
    }

    #[test]
    #[should_panic(expected = "the importer failed: internal error: bang")]
    fn fuzz_import_fails_on_an_internal_error() {
        fuzz_import::<Forgetful>(b"x\n!\n");
    }

    #[test]
    fn spreads_at_most_n() {
        assert_eq!(spread(vec![1, 2, 3], 8), [1, 2, 3]);
        assert_eq!(spread((0..100).collect(), 4), [0, 25, 50, 75]);
    }
}
