//! The load generator: a fixed number of workers, each issuing its next
//! call as soon as the last one answered.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::report::{Stats, count_failures, stats};

/// Unmeasured load before each scenario: connections' flow-control
/// windows, allocator pools and caches settle first.
const WARM_UP: Duration = Duration::from_millis(500);

/// Runs `op` from `in_flight` concurrent workers for [`WARM_UP`] plus
/// `duration`; returns the figures of successful calls started after the
/// warm-up. `op` gets the worker's number and its call count.
pub async fn drive<F, Fut>(in_flight: usize, duration: Duration, op: F) -> Result<Stats>
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<()>> + Send,
{
    let op = Arc::new(op);
    let errors = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now() + WARM_UP;
    let mut workers = Vec::new();
    for w in 0..in_flight {
        let op = op.clone();
        let errors = errors.clone();
        let stop = stop.clone();
        workers.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(64 * 1024);
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                match op(w, i).await {
                    Ok(()) if t < start => {}
                    Ok(()) => lat.push(t.elapsed().as_micros() as u64),
                    Err(e) => {
                        if errors.fetch_add(1, Ordering::Relaxed) == 0 {
                            eprintln!("  first error: {e:#}");
                        }
                    }
                }
                i += 1;
            }
            lat
        }));
    }
    tokio::time::sleep(WARM_UP + duration).await;
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await?);
    }
    let elapsed = start.elapsed();
    let errs = errors.load(Ordering::Relaxed);
    if errs > 0 {
        eprintln!("  {errs} failed calls (excluded from the figures)");
        count_failures(errs);
    }
    Ok(stats(all, elapsed))
}
