//! The scheduler in the background (W3): every `interval` it runs the
//! scheduled changes that are due and sends the reminders of expected
//! returns that have passed, on the store's clock (tests move it). Every
//! replica polls; each due change is claimed by exactly one of them
//! (`store/scheduled.rs`). Errors are logged and the next tick tries
//! again.

use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;
use tracing::Instrument;

use crate::store::Store;

/// Starts the scheduler loop; an `interval` of zero disables it (the
/// returned task ends at once). The task ends when `stop` changes
/// (shutdown), after the run under way, if any, has finished.
pub fn spawn(
    store: Store,
    interval: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        if interval.is_zero() {
            tracing::info!("scheduler disabled (interval 0)");
            return;
        }
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                _ = stop.changed() => return,
            }
            // An idle tick is one read, outside any span and transaction.
            match store.scheduler_has_work().await {
                Ok(true) => {}
                Ok(false) => continue,
                Err(error) => {
                    tracing::debug!(%error, "scheduler: could not look for due changes");
                    continue;
                }
            }
            match store
                .run_scheduled()
                .instrument(tracing::info_span!("scheduled_changes"))
                .await
            {
                Ok(run) => tracing::debug!(
                    done = run.done,
                    failed = run.failed,
                    reminded = run.reminded,
                    "scheduler run"
                ),
                Err(error) => {
                    tracing::warn!(%error, "scheduler run failed; retrying next tick")
                }
            }
        }
    })
}
