//! Sign-in throttling (I5): failed attempts are counted per identity and
//! per username in fixed one-minute windows; past the limit, further
//! attempts are refused before any password is checked. Successful
//! sign-ins cost nothing, so a credential shared by a whole team is not
//! locked by its own traffic. Counts are per replica.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use moka::sync::Cache;

/// Failed sign-ins allowed per key and window.
pub const MAX_FAILURES: u32 = 10;

/// Counts failed attempts per key.
#[derive(Clone)]
pub struct FailureLimiter {
    failures: Cache<String, Arc<AtomicU32>>,
}

impl std::fmt::Debug for FailureLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FailureLimiter").finish_non_exhaustive()
    }
}

impl Default for FailureLimiter {
    fn default() -> Self {
        Self::new(Duration::from_secs(60))
    }
}

impl FailureLimiter {
    /// A limiter whose windows last `window`.
    pub fn new(window: Duration) -> Self {
        FailureLimiter {
            failures: Cache::builder()
                .max_capacity(100_000)
                .time_to_live(window)
                .build(),
        }
    }

    /// Whether `key` has used up its failures for this window.
    pub fn is_blocked(&self, key: &str) -> bool {
        self.failures
            .get(key)
            .is_some_and(|n| n.load(Ordering::Relaxed) >= MAX_FAILURES)
    }

    /// Records one failure of `key`.
    pub fn record_failure(&self, key: &str) {
        self.failures
            .get_with(key.to_owned(), || Arc::new(AtomicU32::new(0)))
            .fetch_add(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_the_limit() {
        let l = FailureLimiter::default();
        for _ in 0..MAX_FAILURES {
            assert!(!l.is_blocked("u"));
            l.record_failure("u");
        }
        assert!(l.is_blocked("u"));
        assert!(!l.is_blocked("other"));
    }
}
