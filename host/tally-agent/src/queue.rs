//! The on-disk report queue: every report is written here first, fsync'd, and removed only once
//! the server has answered for it, so a report survives an unreachable server and an agent
//! restart. Sent oldest first; past its bounds the oldest report is dropped, and counted.
//!
//! Layout of the directory: one file per report, `<sequence, 20 digits>.json`, and `meta.json`
//! with the next sequence number and the counters. Every file is written to `NAME.tmp`,
//! fsync'd, renamed, and the directory fsync'd (on Unix), so a crash leaves either the old or
//! the new file, never a torn one; leftover `.tmp` files are removed on open.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The queue's bounds: past either, the oldest reports are dropped.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    pub max_reports: u64,
    pub max_bytes: u64,
}

/// What the queue has done since it was created (kept across restarts).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Counters {
    /// The sequence number the next report gets (the first is 1).
    pub next_sequence: u64,
    pub queued: u64,
    /// Answered "accepted" by the server.
    pub sent: u64,
    /// Answered "duplicate": the server had it from an earlier try whose answer was lost.
    pub duplicates: u64,
    /// Dropped past the bounds before they could be sent.
    pub dropped: u64,
    /// Refused by the server as malformed (never retried).
    pub rejected: u64,
}

/// How the server answered for a report, as the queue counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Accepted,
    Duplicate,
    Rejected,
}

/// One queued report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub sequence: u64,
    pub bytes: Vec<u8>,
}

#[derive(Debug)]
pub struct Queue {
    dir: PathBuf,
    bounds: Bounds,
    /// Sequence → size in bytes of what is on disk.
    entries: BTreeMap<u64, u64>,
    bytes: u64,
    counters: Counters,
}

const META: &str = "meta.json";

impl Queue {
    /// Opens (creating) the queue in `dir`.
    pub fn open(dir: &Path, bounds: Bounds) -> std::io::Result<Queue> {
        fs::create_dir_all(dir)?;
        let mut counters = match fs::read(dir.join(META)) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{}: {e}", dir.join(META).display()),
                )
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Counters {
                next_sequence: 1,
                ..Counters::default()
            },
            Err(e) => return Err(e),
        };
        let mut entries = BTreeMap::new();
        for item in fs::read_dir(dir)? {
            let item = item?;
            let name = item.file_name();
            let Some(name) = name.to_str() else { continue };
            if name.ends_with(".tmp") {
                // A write a crash interrupted before its rename: never acknowledged as queued.
                fs::remove_file(item.path())?;
                continue;
            }
            if let Some(sequence) = name.strip_suffix(".json").and_then(|s| s.parse().ok()) {
                entries.insert(sequence, item.metadata()?.len());
            }
        }
        // The meta file is written after the sequence is taken; never hand out one on disk.
        if let Some(last) = entries.keys().next_back() {
            counters.next_sequence = counters.next_sequence.max(last + 1);
        }
        let bytes = entries.values().sum();
        Ok(Queue {
            dir: dir.to_path_buf(),
            bounds,
            entries,
            bytes,
            counters,
        })
    }

    /// Takes the next sequence number; it is on disk before it is returned, so a number is
    /// never given twice, even across a crash.
    pub fn allocate(&mut self) -> std::io::Result<u64> {
        let sequence = self.counters.next_sequence;
        self.counters.next_sequence += 1;
        self.save_counters()?;
        Ok(sequence)
    }

    /// Queues the report numbered `sequence`, durably, then drops the oldest reports past the
    /// bounds (never the one just queued). Answers how many were dropped.
    pub fn push(&mut self, sequence: u64, bytes: &[u8]) -> std::io::Result<u64> {
        write_synced(&self.dir, &file_name(sequence), bytes)?;
        let size = bytes.len() as u64;
        if let Some(old) = self.entries.insert(sequence, size) {
            self.bytes -= old;
        }
        self.bytes += size;
        self.counters.queued += 1;
        let mut dropped = 0;
        while self.entries.len() > 1
            && (self.entries.len() as u64 > self.bounds.max_reports
                || self.bytes > self.bounds.max_bytes)
        {
            let Some((&oldest, _)) = self.entries.iter().next() else {
                break;
            };
            self.remove(oldest)?;
            dropped += 1;
        }
        self.counters.dropped += dropped;
        self.save_counters()?;
        Ok(dropped)
    }

    /// The oldest queued report.
    pub fn front(&self) -> std::io::Result<Option<Entry>> {
        let Some(&sequence) = self.entries.keys().next() else {
            return Ok(None);
        };
        let bytes = fs::read(self.dir.join(file_name(sequence)))?;
        Ok(Some(Entry { sequence, bytes }))
    }

    /// Forgets a report the server has answered for.
    pub fn complete(&mut self, sequence: u64, delivery: Delivery) -> std::io::Result<()> {
        self.remove(sequence)?;
        match delivery {
            Delivery::Accepted => self.counters.sent += 1,
            Delivery::Duplicate => self.counters.duplicates += 1,
            Delivery::Rejected => self.counters.rejected += 1,
        }
        self.save_counters()
    }

    pub fn len(&self) -> u64 {
        self.entries.len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    pub fn counters(&self) -> Counters {
        self.counters
    }

    fn remove(&mut self, sequence: u64) -> std::io::Result<()> {
        if let Some(size) = self.entries.remove(&sequence) {
            self.bytes -= size;
            fs::remove_file(self.dir.join(file_name(sequence)))?;
            sync_dir(&self.dir)?;
        }
        Ok(())
    }

    fn save_counters(&self) -> std::io::Result<()> {
        let bytes = serde_json::to_vec(&self.counters).map_err(std::io::Error::other)?;
        write_synced(&self.dir, META, &bytes)
    }
}

fn file_name(sequence: u64) -> String {
    // Zero-padded so a directory listing sorts like the sequence.
    format!("{sequence:020}.json")
}

/// Writes `dir/name` so that after a crash it holds either its old or its new content.
pub fn write_synced(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = dir.join(format!("{name}.tmp"));
    let mut file = fs::File::create(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    fs::rename(&tmp, dir.join(name))?;
    sync_dir(dir)
}

/// Makes a rename or removal in `dir` durable.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    fs::File::open(dir)?.sync_all()?;
    // Windows cannot open a directory as a file; NTFS journals renames itself.
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOMY: Bounds = Bounds {
        max_reports: 100,
        max_bytes: 1 << 20,
    };

    fn push(queue: &mut Queue, text: &str) -> u64 {
        let sequence = queue.allocate().expect("allocate");
        queue.push(sequence, text.as_bytes()).expect("push");
        sequence
    }

    fn drain(queue: &mut Queue) -> Vec<String> {
        let mut out = vec![];
        while let Some(entry) = queue.front().expect("front") {
            out.push(String::from_utf8(entry.bytes).expect("utf-8"));
            queue
                .complete(entry.sequence, Delivery::Accepted)
                .expect("complete");
        }
        out
    }

    #[test]
    fn reports_come_out_in_order_and_survive_a_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut queue = Queue::open(dir.path(), ROOMY).expect("open");
        for i in 0..12 {
            push(&mut queue, &format!("report {i}"));
        }
        drop(queue);
        let mut queue = Queue::open(dir.path(), ROOMY).expect("reopen");
        assert_eq!(queue.len(), 12);
        let got = drain(&mut queue);
        let want: Vec<String> = (0..12).map(|i| format!("report {i}")).collect();
        assert_eq!(got, want);
        assert_eq!(queue.counters().sent, 12);
        assert_eq!(queue.bytes(), 0);
    }

    #[test]
    fn sequences_are_never_reused_across_reopens() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut queue = Queue::open(dir.path(), ROOMY).expect("open");
        assert_eq!(push(&mut queue, "a"), 1);
        assert_eq!(push(&mut queue, "b"), 2);
        drain(&mut queue);
        drop(queue);
        let mut queue = Queue::open(dir.path(), ROOMY).expect("reopen");
        assert_eq!(push(&mut queue, "c"), 3);
        // Even when the meta file is lost, reports on disk keep their numbers taken.
        drop(queue);
        fs::remove_file(dir.path().join(META)).expect("remove meta");
        let mut queue = Queue::open(dir.path(), ROOMY).expect("reopen without meta");
        assert_eq!(push(&mut queue, "d"), 4);
    }

    #[test]
    fn past_the_count_bound_the_oldest_are_dropped_and_counted() {
        let dir = tempfile::tempdir().expect("tempdir");
        let bounds = Bounds {
            max_reports: 3,
            max_bytes: 1 << 20,
        };
        let mut queue = Queue::open(dir.path(), bounds).expect("open");
        for i in 0..3 {
            push(&mut queue, &format!("r{i}"));
        }
        assert_eq!(queue.counters().dropped, 0, "not dropped at the bound");
        for i in 3..5 {
            push(&mut queue, &format!("r{i}"));
        }
        assert_eq!(queue.counters().dropped, 2);
        assert_eq!(drain(&mut queue), vec!["r2", "r3", "r4"]);
        let counters = Queue::open(dir.path(), bounds).expect("reopen").counters();
        assert_eq!(
            (counters.queued, counters.sent, counters.dropped),
            (5, 3, 2)
        );
    }

    #[test]
    fn past_the_byte_bound_the_oldest_are_dropped_but_never_the_newest() {
        let dir = tempfile::tempdir().expect("tempdir");
        let bounds = Bounds {
            max_reports: 100,
            max_bytes: 10,
        };
        let mut queue = Queue::open(dir.path(), bounds).expect("open");
        push(&mut queue, "aaaa");
        push(&mut queue, "bbbb");
        assert_eq!(queue.bytes(), 8);
        push(&mut queue, "cccc");
        assert_eq!(queue.counters().dropped, 1);
        // One report larger than the bound is still kept: it is the newest.
        push(&mut queue, &"d".repeat(50));
        assert_eq!(queue.len(), 1);
        assert_eq!(drain(&mut queue), vec!["d".repeat(50)]);
    }

    #[test]
    fn a_write_interrupted_before_its_rename_is_not_a_report() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut queue = Queue::open(dir.path(), ROOMY).expect("open");
        push(&mut queue, "whole");
        drop(queue);
        // What a crash between write and rename leaves.
        fs::write(dir.path().join(format!("{}.tmp", file_name(2))), "tor").expect("write");
        let mut queue = Queue::open(dir.path(), ROOMY).expect("reopen");
        assert_eq!(queue.len(), 1);
        assert!(!dir.path().join(format!("{}.tmp", file_name(2))).exists());
        assert_eq!(drain(&mut queue), vec!["whole"]);
    }

    #[test]
    fn deliveries_are_counted_by_answer() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut queue = Queue::open(dir.path(), ROOMY).expect("open");
        let a = push(&mut queue, "a");
        let b = push(&mut queue, "b");
        let c = push(&mut queue, "c");
        queue.complete(a, Delivery::Accepted).expect("a");
        queue.complete(b, Delivery::Duplicate).expect("b");
        queue.complete(c, Delivery::Rejected).expect("c");
        let counters = queue.counters();
        assert_eq!(
            (counters.sent, counters.duplicates, counters.rejected),
            (1, 1, 1)
        );
        assert!(queue.is_empty());
    }

    #[test]
    fn a_corrupt_meta_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::write(dir.path().join(META), "{").expect("write");
        let err = Queue::open(dir.path(), ROOMY).expect_err("refused");
        assert!(err.to_string().contains("meta.json"), "{err}");
    }
}
