//! Sign-in throttling (I5). Every attempt *reserves* a slot before its
//! password is checked: one atomic upsert adds 1 to the attempt count of
//! each of the attempt's keys in the current one-minute window and returns
//! the new counts. Past a key's limit the attempt is refused without any
//! argon2 work and its reservation is given back; a successful sign-in
//! gives its reservation back too, so only failed checks stay counted and
//! a credential shared by a whole team is not throttled by its own use.
//! Because the count is taken before the check, a burst of parallel
//! guesses verifies at most the limit, on one replica or many.
//!
//! The policy keeps guessing bounded without handing out a free lockout:
//! - per client address and identity, and per client address and
//!   username: [`MAX_FAILURES`] failed checks a window. This is the limit a
//!   guesser meets; the owner signing in from another address does not.
//! - per identity and per username, from every address together:
//!   [`MAX_FAILURES_ANY_ADDRESS`] a window, a ceiling against guessing
//!   spread over many addresses. Only an attacker with that many failed
//!   guesses a minute can block the owner, and only for that minute.
//!
//! The client address is the TCP peer: behind a proxy that does not keep
//! it every caller shares one address (see README, "Sign-in throttling").
//! Counts live in the database (`sign_in_failures`), shared by every
//! replica; keys are stored as SHA-256 hashes. Windows come from each
//! replica's clock but only move forward in the database: a replica whose
//! clock is behind counts into the newer window instead of resetting it.

use std::time::Duration;

use crate::domain::{Result, secrets};
use crate::store::Store;

/// Failed sign-ins allowed per client address and identity (or username)
/// and window.
pub const MAX_FAILURES: i64 = 10;

/// Failed sign-ins allowed per identity (or username) and window, from all
/// addresses together.
pub const MAX_FAILURES_ANY_ADDRESS: i64 = 100;

/// Counts sign-in attempts per key, shared through the database.
#[derive(Clone, Debug)]
pub struct FailureLimiter {
    store: Store,
    window_ms: i64,
}

/// Slots held by one sign-in attempt (see [`FailureLimiter::reserve`]).
#[derive(Debug)]
pub struct Reservation {
    /// Each key's hash and the window its attempt was counted in.
    slots: Vec<(String, i64)>,
}

/// The keys of a sign-in by `identity` with `username` from `address`,
/// each with its limit.
pub fn sign_in_keys(identity: &str, username: &str, address: &str) -> Vec<(String, i64)> {
    vec![
        (format!("identity:{identity}@{address}"), MAX_FAILURES),
        (format!("username:{username}@{address}"), MAX_FAILURES),
        (format!("identity:{identity}"), MAX_FAILURES_ANY_ADDRESS),
        (format!("username:{username}"), MAX_FAILURES_ANY_ADDRESS),
    ]
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

    /// Reserves one attempt on each of `keys` (key, limit). `None` when a
    /// key is past its limit: the attempt must be refused unchecked (its
    /// reservation has been given back already).
    pub async fn reserve(&self, keys: &[(String, i64)]) -> Result<Option<Reservation>> {
        let mut limits: Vec<(String, i64)> = keys
            .iter()
            .map(|(k, limit)| (secrets::token_hash(k), *limit))
            .collect();
        limits.sort_unstable();
        limits.dedup_by(|a, b| a.0 == b.0);
        let hashes: Vec<String> = limits.iter().map(|(h, _)| h.clone()).collect();
        let counts = self
            .store
            .reserve_sign_in_attempt(&hashes, self.window())
            .await?;
        let over = limits
            .iter()
            .any(|(hash, limit)| counts.iter().any(|(h, n, _)| h == hash && *n > *limit));
        let reservation = Reservation {
            slots: counts.into_iter().map(|(h, _, w)| (h, w)).collect(),
        };
        if over {
            self.release(reservation).await;
            return Ok(None);
        }
        Ok(Some(reservation))
    }

    /// Gives a reservation back (a refused or a successful attempt). A
    /// database error is retried twice, then logged, not returned: the
    /// count then stays one too high until the window ends, which errs on
    /// the safe side.
    pub async fn release(&self, reservation: Reservation) {
        // A slot never given back counts as a failed guess, so a briefly
        // exhausted pool is retried before the slot is left counted.
        for attempt in 1..=3u64 {
            match self.store.release_sign_in_attempt(&reservation.slots).await {
                Ok(()) => return,
                Err(e) if attempt == 3 => {
                    tracing::warn!(error = %e, "cannot release a sign-in reservation");
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(50 * attempt)).await,
            }
        }
    }

    /// Deletes the counts of windows before the previous one (a replica
    /// whose clock runs ahead by less than a window never prunes another's
    /// current counts).
    pub async fn prune(&self) -> Result<u64> {
        self.store.prune_sign_in_failures(self.window() - 1).await
    }
}
