//! The request series, one per (method, route template, status), in a
//! fixed table that requests find their series in without a lock: each
//! slot is set once and never changes, found by open addressing.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::OnceLock;

use rollcall_store::stats::Histogram;

/// Series the table holds; requests past it share one overflow series. Far
/// above what the routes can make (each route answers a handful of
/// statuses), and a bound on memory whatever clients send.
const SLOTS: usize = 2048;

/// One series: its labels and its latencies (whose count is its requests).
pub struct Series {
    pub method: &'static str,
    pub route: Box<str>,
    pub status: u16,
    pub latency: Histogram,
}

pub struct Table {
    slots: Box<[OnceLock<Series>]>,
    overflow: Histogram,
}

impl Default for Table {
    fn default() -> Self {
        Self {
            slots: (0..SLOTS).map(|_| OnceLock::new()).collect(),
            overflow: Histogram::durations(),
        }
    }
}

impl Table {
    /// The latency histogram of this series, made on first use. Probing
    /// stops at the series or at the first empty slot (slots are never
    /// emptied, so the series is in none after it): two requests racing
    /// for that slot both see whichever series won it, and the loser probes on.
    pub fn latency(&self, method: &'static str, route: &str, status: u16) -> &Histogram {
        let mut hasher = DefaultHasher::new();
        (method, route, status).hash(&mut hasher);
        let start = hasher.finish() as usize;
        for probe in 0..SLOTS {
            let series = self.slots[(start + probe) % SLOTS].get_or_init(|| Series {
                method,
                route: route.into(),
                status,
                latency: Histogram::durations(),
            });
            if series.method == method && series.status == status && *series.route == *route {
                return &series.latency;
            }
        }
        &self.overflow
    }

    /// Every series so far, ordered by route, method and status.
    pub fn series(&self) -> Vec<&Series> {
        let mut all: Vec<&Series> = self.slots.iter().filter_map(OnceLock::get).collect();
        all.sort_by(|a, b| (&a.route, a.method, a.status).cmp(&(&b.route, b.method, b.status)));
        all
    }

    /// Requests past the table's capacity.
    pub fn overflow(&self) -> &Histogram {
        &self.overflow
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_label_set_has_one_series_and_the_table_is_bounded() {
        let table = Table::default();
        table.latency("GET", "/a", 200).observe(1);
        table.latency("GET", "/a", 200).observe(2);
        table.latency("GET", "/a", 404).observe(3);
        let series = table.series();
        assert_eq!(series.len(), 2);
        assert_eq!(series[0].latency.snapshot().count(), 2);
        for n in 0..SLOTS + 10 {
            table.latency("GET", &format!("/{n}"), 200).observe(1);
        }
        assert_eq!(table.series().len(), SLOTS);
        assert!(table.overflow().snapshot().count() >= 10);
    }
}
