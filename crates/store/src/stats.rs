//! What a backend tells the operator about itself (`/metrics`): how long
//! work waited for a database connection or thread, how full its
//! connections are, and how many writes shared each commit. Recorded in
//! atomics only, so recording costs no lock on the request path.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the buckets for waits and latencies, in microseconds:
/// from an idle queue's wait to past the request timeout.
pub const DURATION_BUCKETS_US: &[u64] = &[
    100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000,
    5_000_000, 10_000_000, 30_000_000,
];

/// Upper bounds of the buckets for counts of writes sharing one commit, up to
/// the largest group the SQLite writer makes.
pub const GROUP_SIZE_BUCKETS: &[u64] = &[1, 2, 4, 8, 16, 32, 64, 128, 256];

/// A histogram over fixed buckets, updated with relaxed atomic adds: a
/// scrape may see an observation's bucket before its sum, never a torn count.
#[derive(Debug)]
pub struct Histogram {
    bounds: &'static [u64],
    /// One per bound, then one for everything above the last.
    counts: Box<[AtomicU64]>,
    sum: AtomicU64,
}

impl Histogram {
    pub fn new(bounds: &'static [u64]) -> Self {
        Self {
            bounds,
            counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum: AtomicU64::new(0),
        }
    }

    /// A histogram of durations, in microseconds.
    pub fn durations() -> Self {
        Self::new(DURATION_BUCKETS_US)
    }

    pub fn observe(&self, value: u64) {
        let bucket = self.bounds.partition_point(|bound| *bound < value);
        self.counts[bucket].fetch_add(1, Ordering::Relaxed);
        self.sum.fetch_add(value, Ordering::Relaxed);
    }

    pub fn observe_duration(&self, elapsed: Duration) {
        self.observe(u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX));
    }

    pub fn snapshot(&self) -> HistogramSnapshot {
        HistogramSnapshot {
            bounds: self.bounds,
            counts: self.counts.iter().map(|c| c.load(Ordering::Relaxed)).collect(),
            sum: self.sum.load(Ordering::Relaxed),
        }
    }
}

/// A histogram as read at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistogramSnapshot {
    /// The buckets' upper bounds (inclusive).
    pub bounds: &'static [u64],
    /// Observations per bucket (not cumulative), the last above every bound.
    pub counts: Vec<u64>,
    pub sum: u64,
}

impl HistogramSnapshot {
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }
}

/// A backend's statistics, read for one scrape.
#[derive(Debug, Clone, Default)]
pub struct StoreStats {
    /// Waits for a connection, by queue (`lookup`, `list`, `writer` on
    /// SQLite: each a queue of dedicated threads; `pool` on PostgreSQL), in
    /// microseconds.
    pub waits: Vec<(&'static str, HistogramSnapshot)>,
    /// The connection pool's fill, where the backend has one.
    pub connections: Option<Connections>,
    /// Writes per durable commit, where the backend groups them.
    pub group_sizes: Option<HistogramSnapshot>,
}

/// A connection pool at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Connections {
    /// Open connections, idle or in use.
    pub open: u64,
    /// Connections idle in the pool.
    pub idle: u64,
    /// Most connections the pool opens.
    pub max: u64,
    /// Requests waiting for a connection.
    pub waiting: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observations_land_in_the_first_bucket_that_holds_them() {
        let h = Histogram::new(&[1, 10, 100]);
        for v in [0, 1, 2, 10, 50, 1000] {
            h.observe(v);
        }
        let s = h.snapshot();
        assert_eq!(s.counts, vec![2, 2, 1, 1]);
        assert_eq!((s.count(), s.sum), (6, 1063));
    }
}
