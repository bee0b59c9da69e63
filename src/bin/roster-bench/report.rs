//! Figures and the one Markdown table: rows, latency statistics, the
//! failed-call count that makes a run exit non-zero.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::{Args, CONNECTIONS};

/// Calls that failed in any load scenario; a run with failures exits
/// non-zero after printing its table.
static FAILED_CALLS: AtomicU64 = AtomicU64::new(0);

/// Counts `n` failed calls (or broken guarantees) towards the exit status.
pub fn count_failures(n: u64) {
    FAILED_CALLS.fetch_add(n, Ordering::Relaxed);
}

/// Failed calls so far.
pub fn failures() -> u64 {
    FAILED_CALLS.load(Ordering::Relaxed)
}

/// One row of the table; `None` prints as `–`.
pub struct Row {
    pub scenario: String,
    pub backend: String,
    pub ops: Option<f64>,
    pub p50: Option<f64>,
    pub p99: Option<f64>,
    pub ratio: Option<f64>,
}

impl Row {
    /// Throughput and latency, with a ratio to echo when one is given.
    pub fn measured(
        scenario: impl Into<String>,
        backend: &str,
        s: &Stats,
        echo: Option<f64>,
    ) -> Row {
        Row {
            scenario: scenario.into(),
            backend: backend.to_owned(),
            ops: Some(s.ops),
            p50: Some(s.p50_ms),
            p99: Some(s.p99_ms),
            ratio: echo.map(|e| s.ops / e),
        }
    }

    /// Latency only (one call at a time; a rate would mean nothing).
    pub fn latency(scenario: impl Into<String>, backend: &str, s: &Stats) -> Row {
        Row {
            ops: None,
            ratio: None,
            ..Row::measured(scenario, backend, s, None)
        }
    }

    /// A finding stated in the scenario column, no figures.
    pub fn note(scenario: impl Into<String>, backend: &str) -> Row {
        Row {
            scenario: scenario.into(),
            backend: backend.to_owned(),
            ops: None,
            p50: None,
            p99: None,
            ratio: None,
        }
    }
}

pub struct Stats {
    pub ops: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// Throughput over `elapsed` and the median and 99th percentile of the
/// latencies (microseconds).
pub fn stats(mut lat_us: Vec<u64>, elapsed: Duration) -> Stats {
    lat_us.sort_unstable();
    let pick = |q: f64| -> f64 {
        if lat_us.is_empty() {
            return f64::NAN;
        }
        let i = ((lat_us.len() as f64 - 1.0) * q).round() as usize;
        lat_us[i] as f64 / 1000.0
    };
    Stats {
        ops: lat_us.len() as f64 / elapsed.as_secs_f64(),
        p50_ms: pick(0.50),
        p99_ms: pick(0.99),
    }
}

pub fn fmt_opt(v: Option<f64>, digits: usize) -> String {
    match v {
        Some(v) if v.is_finite() => format!("{v:.digits$}"),
        _ => "–".to_owned(),
    }
}

/// Prints the heading line and the table to stdout.
pub fn print_table(args: &Args, duration: Duration, all_cores: usize, rows: &[Row]) {
    println!(
        "\nroster-bench ({}; {} in flight over {} connections unless stated, {:?} per load scenario; \
         {} cores, servers on CPUs {}, load generator on CPUs {}; ratios are to echo runs \
         made right before (and, for ValidateSession and CheckAccess, right after) each scenario)\n",
        if args.quick { "quick" } else { "full" },
        args.in_flight,
        CONNECTIONS,
        duration,
        all_cores,
        args.server_cpus.as_deref().unwrap_or("any"),
        args.client_cpus.as_deref().unwrap_or("any"),
    );
    println!("| scenario | backend | ops/s | p50 ms | p99 ms | ratio to echo |");
    println!("|---|---|---|---|---|---|");
    for r in rows {
        println!(
            "| {} | {} | {} | {} | {} | {} |",
            r.scenario,
            r.backend,
            fmt_opt(r.ops, 0),
            fmt_opt(r.p50, 2),
            fmt_opt(r.p99, 2),
            fmt_opt(r.ratio, 2)
        );
    }
}
