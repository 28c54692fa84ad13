//! The Prometheus text exposition format (version 0.0.4) of everything
//! `/metrics` reports.

use std::fmt::Write;
use std::sync::atomic::Ordering::Relaxed;

use rollcall_store::stats::HistogramSnapshot;

use crate::state::AppState;

/// Microseconds per second: durations are recorded in microseconds and
/// exposed in seconds, as Prometheus names them (dividing by a power of ten
/// prints the bounds exactly; multiplying by its inverse would not).
const MICROS: f64 = 1e6;

pub fn render(state: &AppState) -> String {
    let mut out = String::with_capacity(64 * 1024);
    requests(&mut out, state);
    rejections(&mut out, state);
    store(&mut out, state);
    jobs(&mut out, state);
    let scrapes = state.metrics.scrapes.snapshot();
    family(
        &mut out,
        "rollcall_metrics_scrape_duration_seconds",
        "histogram",
        "Time to render /metrics.",
    );
    histogram(
        &mut out,
        "rollcall_metrics_scrape_duration_seconds",
        "",
        &scrapes,
        MICROS,
    );
    out
}

fn requests(out: &mut String, state: &AppState) {
    let table = &state.metrics.requests;
    let series: Vec<_> = table
        .series()
        .into_iter()
        .map(|s| {
            let labels = format!(
                "method=\"{}\",route=\"{}\",status=\"{}\"",
                s.method,
                escape(&s.route),
                s.status
            );
            (labels, s.latency.snapshot())
        })
        .chain(Some(("route=\"overflow\"".to_owned(), table.overflow().snapshot())))
        .collect();
    let requests = "rollcall_http_requests_total";
    family(
        out,
        requests,
        "counter",
        "Requests answered, by method, matched route template and status.",
    );
    for (labels, h) in &series {
        let _ = writeln!(out, "{requests}{{{labels}}} {}", h.count());
    }
    let latency = "rollcall_http_request_duration_seconds";
    family(
        out,
        latency,
        "histogram",
        "Time from a request's arrival to its response's headers.",
    );
    for (labels, h) in &series {
        histogram(out, latency, labels, h, MICROS);
    }
}

fn rejections(out: &mut String, state: &AppState) {
    let name = "rollcall_http_rejections_total";
    family(
        out,
        name,
        "counter",
        "Requests refused: rate_limited (429) or busy (503 server_busy).",
    );
    let metrics = &state.metrics;
    let _ = writeln!(
        out,
        "{name}{{reason=\"rate_limited\"}} {}",
        metrics.rate_limited.load(Relaxed)
    );
    let _ = writeln!(out, "{name}{{reason=\"busy\"}} {}", metrics.busy.load(Relaxed));
}

fn store(out: &mut String, state: &AppState) {
    let stats = state.rollcall.engine.store().stats();
    let waits = "rollcall_store_wait_seconds";
    family(
        out,
        waits,
        "histogram",
        "Time work waited for a database connection or thread, by queue.",
    );
    for (queue, h) in &stats.waits {
        histogram(out, waits, &format!("queue=\"{queue}\""), h, MICROS);
    }
    if let Some(c) = stats.connections {
        let name = "rollcall_store_connections";
        family(out, name, "gauge", "Pooled database connections, by state.");
        let _ = writeln!(out, "{name}{{state=\"in_use\"}} {}", c.open.saturating_sub(c.idle));
        let _ = writeln!(out, "{name}{{state=\"idle\"}} {}", c.idle);
        gauge(
            out,
            "rollcall_store_connections_max",
            "Most connections the pool opens.",
            c.max,
        );
        gauge(
            out,
            "rollcall_store_connection_waiters",
            "Requests waiting for a connection.",
            c.waiting,
        );
    }
    if let Some(sizes) = &stats.group_sizes {
        let name = "rollcall_store_commit_group_writes";
        family(out, name, "histogram", "Writes that shared one durable commit.");
        histogram(out, name, "", sizes, 1.0);
    }
}

fn jobs(out: &mut String, state: &AppState) {
    let counts = state.import_jobs.counts();
    gauge(
        out,
        "rollcall_import_jobs_running",
        "Remote imports running now.",
        counts.running(),
    );
    let name = "rollcall_import_jobs_total";
    family(out, name, "counter", "Remote imports finished, by outcome.");
    let _ = writeln!(out, "{name}{{outcome=\"succeeded\"}} {}", counts.succeeded);
    let _ = writeln!(out, "{name}{{outcome=\"failed\"}} {}", counts.failed);
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn gauge(out: &mut String, name: &str, help: &str, value: u64) {
    family(out, name, "gauge", help);
    let _ = writeln!(out, "{name} {value}");
}

/// One histogram's cumulative buckets, sum and count; dividing by `per`
/// turns the recorded unit into the exposed one.
fn histogram(out: &mut String, name: &str, labels: &str, h: &HistogramSnapshot, per: f64) {
    let sep = if labels.is_empty() { "" } else { "," };
    let mut cumulative = 0;
    for (bound, count) in h.bounds.iter().zip(&h.counts) {
        cumulative += count;
        let le = *bound as f64 / per;
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{le}\"}} {cumulative}");
    }
    let total = h.count();
    let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {total}");
    let braces = if labels.is_empty() {
        String::new()
    } else {
        format!("{{{labels}}}")
    };
    let _ = writeln!(out, "{name}_sum{braces} {}", h.sum as f64 / per);
    let _ = writeln!(out, "{name}_count{braces} {total}");
}

/// A label value as the format quotes it.
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use rollcall_store::stats::{DURATION_BUCKETS_US, Histogram};

    use super::*;

    #[test]
    fn histograms_are_cumulative_and_scaled() {
        let h = Histogram::new(&DURATION_BUCKETS_US[..2]);
        h.observe(50);
        h.observe(200);
        h.observe(1_000_000);
        let mut out = String::new();
        histogram(&mut out, "x", "q=\"a\"", &h.snapshot(), MICROS);
        assert_eq!(
            out,
            "x_bucket{q=\"a\",le=\"0.0001\"} 1\nx_bucket{q=\"a\",le=\"0.00025\"} 2\n\
             x_bucket{q=\"a\",le=\"+Inf\"} 3\nx_sum{q=\"a\"} 1.00025\nx_count{q=\"a\"} 3\n"
        );
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
