//! The event feed of one replica: follows the `events` table in sequence
//! order, invalidates the hot-path caches and fans events out to
//! WatchEvents streams.
//!
//! It wakes when this process commits (the store's [`CommitObserver`]
//! hook, which also invalidates synchronously so a caller sees its own
//! change at once), when PostgreSQL `NOTIFY roster_events` reports another
//! replica's commit, and once a second as a safety net. While the
//! PostgreSQL listener is disconnected the caches are switched off, so a
//! lost notification can never leave a stale "allow" behind.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use sea_orm::DbBackend;
use tokio::sync::{Notify, broadcast, watch};
use tokio::task::JoinHandle;

use crate::cache::Caches;
use crate::domain::{Event, Result};
use crate::store::{CommitObserver, EventQuery, NOTIFY_CHANNEL, Store};

/// Events read per database round trip.
const BATCH: u64 = 1000;
/// Fallback poll interval.
const POLL: Duration = Duration::from_secs(1);

/// Follows the event log for this replica.
pub struct Feed {
    store: Store,
    caches: Arc<Caches>,
    head: AtomicI64,
    wake: Notify,
    tx: broadcast::Sender<Arc<Event>>,
}

impl std::fmt::Debug for Feed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Feed")
            .field("head", &self.head.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl CommitObserver for Feed {
    fn committed(&self, events: &[Event]) {
        for e in events {
            self.caches.invalidate(e);
        }
        self.wake.notify_one();
    }
}

impl Feed {
    /// A feed starting at the current end of the log. With PostgreSQL the
    /// caches stay off until the listener is connected.
    pub async fn new(store: Store, caches: Arc<Caches>) -> Result<Arc<Feed>> {
        let (_, head) = store.event_bounds().await?;
        if store.backend() == DbBackend::Postgres {
            caches.set_enabled(false);
        }
        let (tx, _) = broadcast::channel(4096);
        Ok(Arc::new(Feed {
            store,
            caches,
            head: AtomicI64::new(head),
            wake: Notify::new(),
            tx,
        }))
    }

    /// Events from now on, in order; a lagging receiver must catch up from
    /// the database.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.tx.subscribe()
    }

    /// Highest sequence number this replica has applied.
    pub fn head(&self) -> i64 {
        self.head.load(Ordering::Acquire)
    }

    /// The caches this feed invalidates.
    pub fn caches(&self) -> &Arc<Caches> {
        &self.caches
    }

    /// Reads and applies everything after `head`.
    async fn pump(&self) -> Result<()> {
        loop {
            let head = self.head();
            let events = self
                .store
                .events_after(head, BATCH, &EventQuery::default())
                .await?;
            let n = events.len() as u64;
            for e in events {
                self.caches.invalidate(&e);
                self.head.store(e.seq, Ordering::Release);
                // No receivers is fine.
                let _ = self.tx.send(Arc::new(e));
            }
            if n < BATCH {
                return Ok(());
            }
        }
    }

    /// Starts the follower (and, on PostgreSQL, the listener). Both stop
    /// when `stop` turns true.
    pub fn spawn(self: &Arc<Self>, stop: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
        let mut tasks = Vec::new();
        let feed = self.clone();
        let mut stop_follow = stop.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                if let Err(e) = feed.pump().await {
                    tracing::warn!(error = %e, "event feed could not read the log");
                }
                tokio::select! {
                    _ = feed.wake.notified() => {}
                    _ = tokio::time::sleep(POLL) => {}
                    _ = stop_follow.changed() => return,
                }
            }
        }));
        if self.store.backend() == DbBackend::Postgres {
            let feed = self.clone();
            let mut stop_listen = stop;
            tasks.push(tokio::spawn(async move {
                tokio::select! {
                    _ = feed.listen() => {}
                    _ = stop_listen.changed() => {}
                }
            }));
        }
        tasks
    }

    /// Keeps a `LISTEN roster_events` connection; caches are on only while
    /// it is up.
    async fn listen(&self) {
        let pool = self.store.db().get_postgres_connection_pool().clone();
        let mut backoff = Duration::from_millis(100);
        loop {
            match sqlx::postgres::PgListener::connect_with(&pool).await {
                Ok(mut listener) => {
                    listener.ignore_pool_close_event(true);
                    if let Err(e) = listener.listen(NOTIFY_CHANNEL).await {
                        tracing::warn!(error = %e, "LISTEN failed");
                    } else {
                        // Anything committed while we were deaf is read by
                        // the catch-up this wake triggers; cached entries
                        // from before are dropped by `set_enabled`.
                        self.caches.set_enabled(true);
                        self.wake.notify_one();
                        backoff = Duration::from_millis(100);
                        loop {
                            match listener.try_recv().await {
                                Ok(Some(_)) => self.wake.notify_one(),
                                Ok(None) => break,
                                Err(e) => {
                                    tracing::warn!(error = %e, "event listener failed");
                                    break;
                                }
                            }
                        }
                    }
                    self.caches.set_enabled(false);
                    tracing::warn!("event listener disconnected; caches off until it is back");
                }
                Err(e) => tracing::warn!(error = %e, "cannot open the event listener"),
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
    }
}
