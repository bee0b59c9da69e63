//! The inactive-guest sweep in the background (M12): every `interval` it
//! deactivates GUEST members idle longer than their organization's
//! setting, acting as the system. Errors are logged and the next tick
//! tries again. `RunInactivitySweep` runs the same sweep on demand.

use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;
use tracing::Instrument;

use crate::domain::Actor;
use crate::store::Store;

/// Starts the sweep loop; an `interval` of zero disables it (the returned
/// task ends at once). The task ends when `stop` changes (shutdown), after
/// the sweep under way, if any, has finished.
pub fn spawn(
    store: Store,
    interval: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        if interval.is_zero() {
            tracing::info!("inactive-guest sweep disabled (interval 0)");
            return;
        }
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                _ = stop.changed() => return,
            }
            // An idle tick leaves no trace: the candidates are counted
            // first, outside any span; only a sweep with work gets one.
            match store
                .run_inactivity_sweep(Actor::system(), None, true)
                .await
            {
                Ok(candidates) if candidates.count == 0 => {
                    tracing::debug!("inactive-guest sweep: nobody idle");
                    continue;
                }
                _ => {}
            }
            match store
                .run_inactivity_sweep(Actor::system(), None, false)
                .instrument(tracing::info_span!("inactive_guest_sweep"))
                .await
            {
                Ok(outcome) if outcome.count > 0 => {
                    tracing::info!(deactivated = outcome.count, "inactive-guest sweep");
                }
                Ok(_) => tracing::debug!("inactive-guest sweep: nobody idle"),
                Err(error) => {
                    tracing::warn!(%error, "inactive-guest sweep failed; retrying next tick")
                }
            }
        }
    })
}
