//! What this process has done, for `/metrics`: polls and imports counted and timed where they
//! happen ([`METRICS`], one per process: the CLI's commands and `tally serve` alike record, only
//! the server shows them). Counters only grow; nothing here is per user.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds (seconds) of the duration histograms' buckets.
pub const BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0,
];

/// Durations counted into [`BUCKETS`] (cumulative when shown), with their sum.
#[derive(Debug, Default)]
pub struct Histogram {
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

/// A histogram as read at one instant.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramSnapshot {
    /// Observations at most each bound of [`BUCKETS`] (cumulative).
    pub cumulative: Vec<(f64, u64)>,
    pub count: u64,
    pub sum_seconds: f64,
}

impl Histogram {
    pub fn observe(&self, took: Duration) {
        let seconds = took.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|&b| seconds <= b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> HistogramSnapshot {
        let mut running = 0;
        let cumulative = BUCKETS
            .iter()
            .zip(&self.buckets)
            .map(|(&bound, n)| {
                running += n.load(Ordering::Relaxed);
                (bound, running)
            })
            .collect();
        HistogramSnapshot {
            cumulative,
            count: self.count.load(Ordering::Relaxed),
            sum_seconds: self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6,
        }
    }
}

/// Polls and imports of this process.
#[derive(Debug, Default)]
pub struct Metrics {
    pub polls_answered: AtomicU64,
    pub polls_failed: AtomicU64,
    pub poll_seconds: Histogram,
    pub imports_done: AtomicU64,
    pub imports_failed: AtomicU64,
    pub import_lines: AtomicU64,
    pub import_seconds: Histogram,
}

/// This process's.
pub static METRICS: std::sync::LazyLock<Metrics> = std::sync::LazyLock::new(Metrics::default);

impl Metrics {
    pub fn poll(&self, answered: bool, took: Duration) {
        let counter = if answered {
            &self.polls_answered
        } else {
            &self.polls_failed
        };
        counter.fetch_add(1, Ordering::Relaxed);
        self.poll_seconds.observe(took);
    }

    /// An import of a file ended: `lines` read, or failed.
    pub fn import(&self, lines: Option<u64>, took: Duration) {
        match lines {
            Some(lines) => {
                self.imports_done.fetch_add(1, Ordering::Relaxed);
                self.import_lines.fetch_add(lines, Ordering::Relaxed);
            }
            None => {
                self.imports_failed.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.import_seconds.observe(took);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_are_cumulative() {
        let h = Histogram::default();
        h.observe(Duration::from_millis(3));
        h.observe(Duration::from_millis(200));
        h.observe(Duration::from_secs(100));
        let s = h.snapshot();
        assert_eq!(s.count, 3);
        assert_eq!(s.cumulative[0], (0.005, 1));
        assert_eq!(s.cumulative[5], (0.25, 2));
        assert_eq!(s.cumulative.last(), Some(&(60.0, 2)));
        assert!((s.sum_seconds - 100.203).abs() < 1e-9);
    }
}
