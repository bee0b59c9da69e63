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
//!
//! C0 (see `lease.rs`): on PostgreSQL the caches serve only while this
//! replica's lease is valid; the lease is renewed right after each
//! successful catch-up, and that renewal is also the acknowledgement that
//! writers on other replicas wait for. Any failed read of the log, and any
//! row this release cannot decode (applied as "invalidate everything"),
//! fails closed: caches off, or everything dropped, never a stall.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use sea_orm::DbBackend;
use tokio::sync::{Notify, broadcast, watch};
use tokio::task::JoinHandle;

use crate::cache::Caches;
use crate::domain::{Event, Result};
use crate::lease::{ACK_CHANNEL, Lease, RENEW_EVERY};
use crate::store::{CommitObserver, LogEntry, NOTIFY_CHANNEL, Store};

/// Events read per database round trip.
const BATCH: u64 = 1000;
/// Fallback poll interval.
const POLL: Duration = Duration::from_secs(1);
/// Retry interval after a failed read of the log.
const FAILED_RETRY: Duration = Duration::from_millis(200);

/// Follows the event log for this replica.
pub struct Feed {
    store: Store,
    caches: Arc<Caches>,
    head: AtomicI64,
    wake: Notify,
    tx: broadcast::Sender<Arc<Event>>,
    /// PostgreSQL: this replica's lease (C0).
    lease: Option<Arc<Lease>>,
    /// Whether the last read of the log (and renewal) succeeded.
    reachable: watch::Sender<bool>,
    /// Rows skipped because this release cannot decode them.
    undecodable: AtomicU64,
    /// WatchEvents streams open on this replica (metrics).
    open_streams: Arc<AtomicI64>,
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
        let lease = if store.backend() == DbBackend::Postgres {
            caches.set_enabled(false);
            caches.stop_serving();
            let lease = Arc::new(Lease::new());
            store.set_lease(lease.clone());
            Some(lease)
        } else {
            None
        };
        let (tx, _) = broadcast::channel(4096);
        let (reachable, _) = watch::channel(true);
        Ok(Arc::new(Feed {
            store,
            caches,
            head: AtomicI64::new(head),
            wake: Notify::new(),
            tx,
            lease,
            reachable,
            undecodable: AtomicU64::new(0),
            open_streams: Arc::default(),
        }))
    }

    /// Whether this replica can currently read its database; changes
    /// drive `grpc.health.v1`.
    pub fn reachable(&self) -> watch::Receiver<bool> {
        self.reachable.subscribe()
    }

    /// Rows skipped so far because this release cannot decode them.
    /// Counts one open WatchEvents stream while the guard lives.
    pub fn stream_opened(&self) -> crate::metrics::OpenStream {
        crate::metrics::OpenStream::new(self.open_streams.clone())
    }

    /// WatchEvents streams open on this replica.
    pub fn open_streams(&self) -> i64 {
        self.open_streams.load(Ordering::Relaxed)
    }

    pub fn undecodable(&self) -> u64 {
        self.undecodable.load(Ordering::Relaxed)
    }

    /// This replica's lease (PostgreSQL).
    pub fn lease(&self) -> Option<&Arc<Lease>> {
        self.lease.as_ref()
    }

    /// Clean shutdown: deletes this replica's lease row so writers stop
    /// waiting for it at once.
    pub async fn release(&self) {
        self.caches.stop_serving();
        if let Some(lease) = &self.lease
            && let Err(e) = lease.release(self.store.db()).await
        {
            tracing::warn!(error = %e, "could not release the replica lease");
        }
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
            let entries = self.store.log_after(head, BATCH).await?;
            let n = entries.len() as u64;
            for entry in entries {
                match entry {
                    LogEntry::Event(e) => {
                        self.caches.invalidate(&e);
                        self.head.store(e.seq, Ordering::Release);
                        // No receivers is fine.
                        let _ = self.tx.send(Arc::new(e));
                    }
                    LogEntry::Undecodable { seq, event_type } => {
                        // Anything may have changed: drop everything, move on.
                        self.caches.clear();
                        self.head.store(seq, Ordering::Release);
                        self.undecodable.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(
                            seq,
                            %event_type,
                            "event of a type this release does not know: caches dropped, skipped"
                        );
                    }
                }
            }
            if n < BATCH {
                return Ok(());
            }
        }
    }

    /// One round of the follower: catch up, then (PostgreSQL) renew the
    /// lease with the head just applied. Caches serve only after a round
    /// that fully succeeded.
    async fn follow_round(&self) -> Result<()> {
        if let Err(e) = self.pump().await {
            self.caches.stop_serving();
            return Err(e);
        }
        match &self.lease {
            None => self.caches.serve_forever(),
            Some(lease) => match lease.renew(self.store.db(), self.head()).await {
                Ok(renewal) => {
                    if !renewal.continuous {
                        // Writers may have stopped waiting for us meanwhile.
                        self.caches.clear();
                    }
                    self.caches.serve_until(renewal.serve_until);
                }
                Err(e) => {
                    self.caches.stop_serving();
                    return Err(e);
                }
            },
        }
        Ok(())
    }

    /// Starts the follower (and, on PostgreSQL, the listener). Both stop
    /// when `stop` turns true.
    pub fn spawn(self: &Arc<Self>, stop: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
        let mut tasks = Vec::new();
        let feed = self.clone();
        let mut stop_follow = stop.clone();
        tasks.push(tokio::spawn(async move {
            let every = if feed.lease.is_some() {
                RENEW_EVERY
            } else {
                POLL
            };
            loop {
                let ok = match feed.follow_round().await {
                    Ok(()) => true,
                    Err(e) => {
                        tracing::warn!(error = %e, "event feed could not read the log; caches off");
                        false
                    }
                };
                feed.reachable
                    .send_if_modified(|r| std::mem::replace(r, ok) != ok);
                tokio::select! {
                    _ = feed.wake.notified() => {}
                    _ = tokio::time::sleep(if ok { every } else { FAILED_RETRY }) => {}
                    _ = stop_follow.changed() => return,
                }
            }
        }));
        if let Some(lease) = &self.lease {
            let (lease, db, stop) = (lease.clone(), self.store.db().clone(), stop.clone());
            tasks.push(tokio::spawn(async move {
                lease.run_acknowledgements(&db, stop).await;
            }));
        }
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
                    if let Err(e) = listener.listen_all([NOTIFY_CHANNEL, ACK_CHANNEL]).await {
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
                                Ok(Some(n)) if n.channel() == ACK_CHANNEL => {
                                    if let Some(lease) = &self.lease {
                                        lease.acknowledged();
                                    }
                                }
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

/// C0: reports `grpc.health.v1` NOT_SERVING for the whole server and each
/// of `services` while this replica cannot read its database, SERVING
/// again after the next successful round of the feed (within
/// `RENEW_EVERY` of recovery, a second at most on SQLite).
pub fn spawn_health(
    feed: &Arc<Feed>,
    reporter: tonic_health::server::HealthReporter,
    services: Vec<&'static str>,
) -> JoinHandle<()> {
    use tonic_health::ServingStatus;
    let mut reachable = feed.reachable();
    tokio::spawn(async move {
        loop {
            let status = if *reachable.borrow_and_update() {
                ServingStatus::Serving
            } else {
                ServingStatus::NotServing
            };
            reporter.set_service_status("", status).await;
            for s in &services {
                reporter.set_service_status(*s, status).await;
            }
            if reachable.changed().await.is_err() {
                return;
            }
        }
    })
}
