//! Sign-in throttling (I5): failed attempts are counted per identity and
//! per username in fixed one-minute windows; past the limit, further
//! attempts are refused before any password is checked. Successful
//! sign-ins cost nothing, so a credential shared by a whole team is not
//! locked by its own traffic.
//!
//! Counts live in the database (`sign_in_failures`), so every replica
//! refuses once the limit is reached anywhere: spreading attempts over
//! replicas gains nothing. Keys are stored as SHA-256 hashes. Attempts
//! already past the check when the limit is reached still finish, so a
//! burst of parallel attempts can end a few failures past the limit.

use std::time::Duration;

use crate::domain::{Result, secrets};
use crate::store::Store;

/// Failed sign-ins allowed per key and window.
pub const MAX_FAILURES: i64 = 10;

/// Counts failed attempts per key, shared through the database.
#[derive(Clone, Debug)]
pub struct FailureLimiter {
    store: Store,
    window_ms: i64,
}

impl FailureLimiter {
    /// A limiter with one-minute windows.
    pub fn new(store: Store) -> Self {
        Self::with_window(store, Duration::from_secs(60))
    }

    /// A limiter whose windows last `window`.
    pub fn with_window(store: Store, window: Duration) -> Self {
        FailureLimiter {
            store,
            window_ms: (window.as_millis() as i64).max(1),
        }
    }

    fn window(&self) -> i64 {
        self.store.now_ms().div_euclid(self.window_ms)
    }

    fn hashes(keys: &[&str]) -> Vec<String> {
        let mut out: Vec<String> = keys.iter().map(|k| secrets::token_hash(k)).collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Whether any of `keys` has used up its failures for this window.
    pub async fn is_blocked(&self, keys: &[&str]) -> Result<bool> {
        let n = self
            .store
            .sign_in_failures(&Self::hashes(keys), self.window())
            .await?;
        Ok(n >= MAX_FAILURES)
    }

    /// Records one failure of each of `keys`. A database error is logged,
    /// not returned: the caller is answering "bad credentials" anyway.
    pub async fn record_failure(&self, keys: &[&str]) {
        if let Err(e) = self
            .store
            .record_sign_in_failure(&Self::hashes(keys), self.window())
            .await
        {
            tracing::warn!(error = %e, "cannot record a failed sign-in");
        }
    }

    /// Deletes the counts of past windows.
    pub async fn prune(&self) -> Result<u64> {
        self.store.prune_sign_in_failures(self.window()).await
    }
}
