//! C0 "true on return" across replicas (PostgreSQL), after Chubby's cache
//! leases (Burrows, OSDI 2006, §2.5).
//!
//! Each replica keeps a row in `replica_leases`: its lease expiry, set from
//! the *database* clock, and the highest event sequence number it has
//! applied. The feed renews the row only right after a successful catch-up
//! read of the log, writing the head it applied; the replica then serves
//! from its caches until `sent + LEASE - MARGIN` on its own monotonic clock
//! (`sent` = when the renewal left, which is before the database stamped
//! it). A commit does not return until every *other* replica with a live
//! lease has acknowledged (applied ≥ the commit's last sequence number) or
//! its lease has run out. Acknowledgements are the renewals themselves, each
//! followed by `NOTIFY roster_acks`; writers also poll every few
//! milliseconds in case a notification is lost.
//!
//! Waiting writers share their reads of `replica_leases`: one task per
//! replica ([`Lease::run_acknowledgements`]) reads the lowest sequence
//! number every other live replica has applied (a *round*) while anyone
//! waits, and releases each writer whose commit preceded the start of that
//! round and whose last event is at or below it. So the database sees one
//! acknowledgement query per round however many writes wait, on the
//! replica's own connections (`Store::control`), and a round wakes only
//! the writers it releases: a burst of writes can take neither the
//! connection pool nor the CPU from the feed and the renewals it waits for.
//!
//! Clock assumption: the replica's monotonic clock and the database clock
//! run at the same rate to within `MARGIN` per `LEASE` (no assumption about
//! their offset). A dead or partitioned replica costs writers a one-time
//! wait of at most one `LEASE`; after that its row has expired and nobody
//! waits for it.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend};
use tokio::sync::{Notify, oneshot, watch};

use crate::domain::{Error, Result};
use crate::store::statement;

/// How long a renewed lease lasts (database clock).
pub const LEASE: Duration = Duration::from_secs(2);
/// How much earlier than the database a replica stops trusting its lease.
pub const MARGIN: Duration = Duration::from_millis(250);
/// How often an idle replica renews.
pub const RENEW_EVERY: Duration = Duration::from_millis(600);
/// PostgreSQL channel a replica notifies after each renewal.
pub const ACK_CHANNEL: &str = "roster_acks";
/// Fallback poll of a waiting writer.
const ACK_POLL: Duration = Duration::from_millis(20);
/// A writer gives up waiting after this long, 2 × LEASE + 1 s (only
/// reachable when a replica's clock runs far off, or the database is gone).
const ACK_CAP: Duration = Duration::from_secs(5);

/// The database clock in milliseconds since the epoch.
const DB_NOW_MS: &str = "(EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::bigint";

/// This replica's lease and the writers waiting for acknowledgements.
#[derive(Debug)]
pub struct Lease {
    id: String,
    acks: Notify,
    /// Renewals so far (for tests and the benchmark).
    renewals: AtomicU64,
    /// Acknowledgement rounds started so far.
    rounds_started: AtomicU64,
    /// Writers waiting, by the sequence number they wait for.
    waiting: std::sync::Mutex<Waiting>,
    /// Wakes the acknowledgement task: a writer started waiting.
    wanted: Notify,
}

/// The writers waiting for acknowledgements.
#[derive(Debug, Default)]
struct Waiting {
    next: u64,
    /// (sequence number, writer) -> (rounds started before it waited, wake-up).
    writers: BTreeMap<(i64, u64), (u64, oneshot::Sender<()>)>,
}

impl Lease {
    /// A lease for a new replica (random ID; nothing written yet).
    pub fn new() -> Self {
        Lease {
            id: format!(
                "replica_{}",
                crate::domain::OrgId::generate()
                    .as_str()
                    .trim_start_matches("org_")
            ),
            acks: Notify::new(),
            renewals: AtomicU64::new(0),
            rounds_started: AtomicU64::new(0),
            waiting: std::sync::Mutex::default(),
            wanted: Notify::new(),
        }
    }

    /// This replica's row ID.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// How many renewals succeeded.
    pub fn renewals(&self) -> u64 {
        self.renewals.load(Ordering::Relaxed)
    }

    /// Records that this replica has applied everything up to `head` and
    /// extends its lease. Call only right after a successful catch-up read.
    ///
    /// Returns the local instant until which caches may serve, and whether
    /// the lease was still live when the database renewed it. When it was
    /// not (first start, or it lapsed), a writer may have stopped waiting
    /// for this replica: the caller must drop every cached entry first.
    /// The liveness test runs in the upsert's `SET`, after the row lock,
    /// so it is ordered with the writers' `FOR SHARE` reads.
    pub async fn renew(&self, db: &DatabaseConnection, head: i64) -> Result<Renewal> {
        let sent = Instant::now();
        let sql = format!(
            "WITH u AS (INSERT INTO replica_leases (id, expires_at, applied_seq, continuous) \
             VALUES (?, {DB_NOW_MS} + ?, ?, false) \
             ON CONFLICT (id) DO UPDATE SET \
             continuous = replica_leases.expires_at > {DB_NOW_MS}, \
             expires_at = EXCLUDED.expires_at, \
             applied_seq = GREATEST(replica_leases.applied_seq, EXCLUDED.applied_seq) \
             RETURNING id, continuous) \
             SELECT pg_notify('{ACK_CHANNEL}', u.id)::text AS n, u.continuous FROM u"
        );
        let row = db
            .query_one_raw(statement(
                DbBackend::Postgres,
                &sql,
                vec![
                    self.id.clone().into(),
                    (LEASE.as_millis() as i64).into(),
                    head.into(),
                ],
            ))
            .await?
            .ok_or_else(|| Error::Internal("lease upsert returned no row".to_owned()))?;
        let continuous: bool = row.try_get("", "continuous")?;
        self.renewals.fetch_add(1, Ordering::Relaxed);
        Ok(Renewal {
            serve_until: sent + LEASE - MARGIN,
            continuous,
        })
    }

    /// Deletes this replica's row (clean shutdown), so writers stop
    /// waiting for it at once; also drops rows that expired long ago.
    pub async fn release(&self, db: &DatabaseConnection) -> Result<()> {
        db.execute_raw(statement(
            DbBackend::Postgres,
            &format!("DELETE FROM replica_leases WHERE id = ? OR expires_at < {DB_NOW_MS} - ?"),
            vec![self.id.clone().into(), 3_600_000i64.into()],
        ))
        .await?;
        Ok(())
    }

    /// Wakes writers waiting for acknowledgements (a `roster_acks`
    /// notification arrived).
    pub fn acknowledged(&self) {
        self.acks.notify_waiters();
    }

    /// Waits until every other replica with a live lease has applied
    /// `seq`, or its lease has expired. Bounded by one lease for a dead or
    /// partitioned replica. Call after the commit of `seq`: only rounds
    /// started after this call count. Needs [`Lease::run_acknowledgements`]
    /// running (the feed starts it).
    pub async fn await_replicas(&self, seq: i64) -> Result<()> {
        let (tx, rx) = oneshot::channel();
        {
            let mut w = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
            // Read under the lock the task takes to start a round, so a
            // round numbered above `after` began after this commit.
            let after = self.rounds_started.load(Ordering::SeqCst);
            let id = w.next;
            w.next += 1;
            w.writers.insert((seq, id), (after, tx));
        }
        self.wanted.notify_one();
        match tokio::time::timeout(ACK_CAP, rx).await {
            Ok(Ok(())) => Ok(()),
            _ => Err(Error::Unavailable(format!(
                "the change (event {seq}) is committed, but not every replica confirmed it \
                 within {ACK_CAP:?}"
            ))),
        }
    }

    /// The acknowledgement task: while writers wait, reads the other
    /// replicas' acknowledgements (at once, then after each renewal
    /// notification or every `ACK_POLL`) and releases the writers each
    /// round covers. Returns once `stop` has changed and nobody waits.
    pub async fn run_acknowledgements(
        &self,
        db: &DatabaseConnection,
        mut stop: watch::Receiver<bool>,
    ) {
        loop {
            let idle = {
                let mut w = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
                // Writers that gave up (ACK_CAP) leave.
                w.writers.retain(|_, (_, tx)| !tx.is_closed());
                w.writers.is_empty()
            };
            if idle {
                tokio::select! {
                    _ = self.wanted.notified() => {}
                    _ = stop.changed() => return,
                }
                continue;
            }
            let notified = self.acks.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let number = {
                let _w = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
                self.rounds_started.fetch_add(1, Ordering::SeqCst) + 1
            };
            if let Some(confirmed) = self.round(db).await {
                let mut w = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
                let covered: Vec<(i64, u64)> = w
                    .writers
                    .range(..=(confirmed, u64::MAX))
                    .filter(|(_, (after, _))| *after < number)
                    .map(|(k, _)| *k)
                    .collect();
                for k in covered {
                    if let Some((_, tx)) = w.writers.remove(&k) {
                        let _ = tx.send(());
                    }
                }
                if w.writers.is_empty() {
                    continue;
                }
            }
            // Someone still waits: for a renewal, a new writer, or the poll
            // (also after `stop`: the calls draining at shutdown still
            // need their acknowledgements).
            tokio::select! {
                _ = &mut notified => {}
                _ = self.wanted.notified() => {}
                _ = tokio::time::sleep(ACK_POLL) => {}
            }
        }
    }

    /// The lowest sequence number the other live replicas have applied
    /// (`i64::MAX` when there is none), `None` when the read failed.
    async fn round(&self, db: &DatabaseConnection) -> Option<i64> {
        // FOR SHARE waits for a renewal in flight, and the expiry is judged
        // on the database clock after the locks are held: a replica whose
        // row is seen expired here can only come back as a rejoin.
        let sql = format!(
            "WITH r AS MATERIALIZED (SELECT applied_seq, expires_at FROM replica_leases \
             WHERE id <> ? FOR SHARE) \
             SELECT MIN(applied_seq) AS m FROM r WHERE expires_at > {DB_NOW_MS}"
        );
        let read = db
            .query_one_raw(statement(
                DbBackend::Postgres,
                &sql,
                vec![self.id.clone().into()],
            ))
            .await
            .map_err(Error::from)
            .and_then(|row| match row {
                Some(r) => Ok(r.try_get::<Option<i64>>("", "m")?.unwrap_or(i64::MAX)),
                None => Ok(i64::MAX),
            });
        match read {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read replica acknowledgements");
                None
            }
        }
    }
}

/// The outcome of a renewal.
#[derive(Debug, Clone, Copy)]
pub struct Renewal {
    /// Caches may serve until then (local monotonic clock).
    pub serve_until: Instant,
    /// Whether the lease had not lapsed in between.
    pub continuous: bool,
}

impl Default for Lease {
    fn default() -> Self {
        Self::new()
    }
}
