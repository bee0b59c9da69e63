//! Storage: sea-orm entities, migrations and the transactional operations
//! the services call. Every state change runs in one transaction ([`Txn`])
//! that also writes its audit rows; [`Txn::commit`] refuses to commit a
//! change without one. Nothing here knows about gRPC.
//!
//! Lock order inside a transaction (PostgreSQL; SQLite has one writer):
//! (a scheduled change's row, W3) → identities → credentials →
//! organizations → license packages, each group in ID order.
//!
//! Every write goes through [`Store::write`]: it begins the transaction,
//! runs the operation, commits it with its events, and runs it again when
//! the database aborted it for a deadlock or a serialization failure.

pub mod entities;
pub mod migrations;

mod clock;
mod events;
mod faults;
pub mod idempotency;
mod identity;
mod keys;
mod license;
mod pool;
mod scrub;
pub mod seats;
mod throttle;
mod txn;

// One file per area. Their imports form layers without a cycle (checked by
// `tests::store_files_import_each_other_in_layers`): rows, rules -> seats,
// records -> room_guard -> organizations, members, rooms, assignments,
// offboarding, access, inactivity -> offboard_identity (W2) -> identity (revocation removes from
// every organization) and license; scheduled (W3) runs offboarding's and offboard_identity's steps;
// scim (SCIM tokens, Users, Groups) runs members', offboarding's and room_guard's.
mod access;
mod assignments;
mod batches;
mod inactivity;
mod members;
mod offboard_identity;
mod offboarding;
mod organizations;
mod records;
mod room_guard;
mod rooms;
mod rows;
mod rules;
mod scheduled;
mod scim;
mod undo;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, DbErr, QueryResult, SqliteTransactionMode,
    Statement, TransactionOptions, TransactionTrait, Value,
};
use sea_orm_migration::MigratorTrait;

pub use assignments::{AssignmentFilter, NewAssignment};
pub use batches::{BatchItem, BatchMode, BatchOutcome, ItemDone};
pub use clock::{Clock, ManualClock, SystemClock};
pub use events::{EventQuery, LogEntry, NOTIFY_CHANNEL};
pub use faults::{DbFault, classify, classify_code, db_code, is_unique_violation};
pub use identity::{Revoker, SessionLookup, SignInCredential};
pub use inactivity::{MAX_SWEEP_MEMBERS, SweepOutcome};
pub use license::{NewPackage, PackageUpdate};
pub use members::MemberFilter;
pub use offboard_identity::{IdentityOffboarding, OffboardRequest, OrgOffboarding};
pub use offboarding::{DeactivationInput, OffboardingAction, OffboardingPreview, Removal};
pub use organizations::{DEFAULT_REMOVAL_UNDO_WINDOW_SECS, NewOrganization, OrganizationChanges};
use pool::Waiting;
pub use pool::{DEFAULT_ACQUIRE_TIMEOUT, PoolWaits, connect, connect_with};
pub use rooms::RoomStanding;
pub use scheduled::{NewScheduledChange, ScheduleScope, SchedulerRun};
pub use scrub::spawn_scrubs;
pub use txn::Txn;
pub use undo::Restoration;

use crate::domain::{Actor, Error, Event, Result};

/// Receives the events of every transaction this process commits, right
/// after the commit and before the caller gets its answer (caches are
/// invalidated here, watchers woken).
pub trait CommitObserver: Send + Sync {
    /// Called with the committed events, in order.
    fn committed(&self, events: &[Event]);
}

/// The database and what every operation needs with it.
#[derive(Clone)]
pub struct Store {
    db: DatabaseConnection,
    /// The replica's own bookkeeping (C0): the feed's log reads, the lease
    /// renewal and listener, the acknowledgement rounds of waiting
    /// writers. A pool of its own on PostgreSQL, so that a burst of calls
    /// that takes every connection of `db` cannot stop the very renewals
    /// those calls' commits wait for; `db` itself otherwise.
    control: DatabaseConnection,
    clock: Arc<dyn Clock>,
    /// Weak: the observer (the feed) holds a `Store` itself.
    observer: Arc<std::sync::RwLock<Option<std::sync::Weak<dyn CommitObserver>>>>,
    /// Wakes the scrub task after an erasure ([`Store::scrub_after_erasure`]).
    scrub_wanted: Arc<tokio::sync::Notify>,
    /// C0: this replica's lease; commits wait for the other replicas'
    /// acknowledgements through it (PostgreSQL only).
    lease: Arc<std::sync::OnceLock<Arc<crate::lease::Lease>>>,
    /// Bound on a hot-path read (see [`Store::bounded`]).
    read_timeout: Duration,
    /// How writes wait for a pooled connection (metrics).
    waits: PoolWaits,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend())
            .finish_non_exhaustive()
    }
}

/// How often [`Store::write`] tries an operation the database aborted for
/// a deadlock or a serialization failure.
pub const WRITE_ATTEMPTS: u32 = 5;

/// Runs a statement outside a transaction (a counter upsert, not a state
/// change) again when the database aborted it for a deadlock or a
/// serialization failure, like [`Store::write`] does for transactions.
pub(crate) async fn retry_aborted<T, F, Fut>(mut op: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let mut attempt = 1u32;
    loop {
        match op().await {
            Err(Error::Aborted(msg)) if attempt < WRITE_ATTEMPTS => {
                tracing::debug!(attempt, %msg, "retrying after a transaction conflict");
                tokio::time::sleep(retry_backoff(attempt)).await;
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// The pause before attempt `attempt + 1`.
fn retry_backoff(attempt: u32) -> Duration {
    Duration::from_millis(5 * u64::from(attempt))
}

impl Store {
    /// Wraps a connection. Call [`Store::migrate`] before use.
    pub fn new(db: DatabaseConnection, clock: Arc<dyn Clock>) -> Self {
        Store {
            control: db.clone(),
            db,
            clock,
            observer: Arc::new(std::sync::RwLock::new(None)),
            scrub_wanted: Arc::new(tokio::sync::Notify::new()),
            lease: Arc::new(std::sync::OnceLock::new()),
            read_timeout: DEFAULT_ACQUIRE_TIMEOUT,
            waits: PoolWaits::default(),
        }
    }

    /// Gives the replica's bookkeeping its own pool (see `control`).
    pub fn with_control(mut self, control: DatabaseConnection) -> Self {
        self.control = control;
        self
    }

    /// This store on the bookkeeping pool: for the feed, whose reads and
    /// lease renewals must not queue behind the calls.
    pub fn control(&self) -> Store {
        Store {
            db: self.control.clone(),
            ..self.clone()
        }
    }

    /// Sets the bound of [`Store::bounded`] (the pool's acquire timeout).
    pub fn with_read_timeout(mut self, timeout: Duration) -> Self {
        self.read_timeout = timeout;
        self
    }

    /// Runs a hot-path read with a time bound, so that a database that
    /// stopped answering (a silent partition: sockets open, no bytes)
    /// yields UNAVAILABLE instead of a call that hangs.
    pub async fn bounded<T>(
        &self,
        read: impl std::future::Future<Output = Result<T>>,
    ) -> Result<T> {
        tokio::time::timeout(self.read_timeout, read)
            .await
            .unwrap_or_else(|_| {
                Err(Error::Unavailable(format!(
                    "the database did not answer within {:?}",
                    self.read_timeout
                )))
            })
    }

    /// Makes every later commit wait for the other replicas (C0). Set once.
    pub fn set_lease(&self, lease: Arc<crate::lease::Lease>) {
        let _ = self.lease.set(lease);
    }

    /// Returns when every other replica with a live lease has applied
    /// event `seq` (or its lease ran out); at once without a lease.
    pub async fn await_replicas(&self, seq: i64) -> Result<()> {
        match self.lease.get() {
            Some(lease) => lease.await_replicas(seq).await,
            None => Ok(()),
        }
    }

    /// Applies every pending migration, all in one transaction that holds
    /// an advisory lock on PostgreSQL (SQLite: the write lock, `BEGIN
    /// IMMEDIATE`), so any number of processes may migrate at once: the
    /// first applies, the others wait and find nothing pending. Refuses a
    /// schema newer than this binary.
    pub async fn migrate(&self) -> Result<()> {
        let options = TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..Default::default()
        };
        let txn = self.db.begin_with_options(options).await?;
        if self.backend() == DbBackend::Postgres {
            txn.execute_unprepared(&format!(
                "SELECT pg_advisory_xact_lock({})",
                migrations::LOCK_KEY
            ))
            .await?;
        }
        Self::refuse_newer(&migrations::status(&txn).await?)?;
        migrations::Migrator::up(&txn, None).await?;
        txn.commit().await?;
        Ok(())
    }

    /// For `serve --no-migrate`: the schema must be exactly the one this
    /// binary knows, neither older nor newer.
    pub async fn check_schema(&self) -> Result<()> {
        let status = migrations::status(&self.db).await?;
        Self::refuse_newer(&status)?;
        if !status.pending.is_empty() {
            return Err(Error::Internal(format!(
                "the database schema is older than this roster {}: migration(s) {} are pending. \
                 Run `roster migrate` first (or start without --no-migrate)",
                env!("CARGO_PKG_VERSION"),
                status.pending.join(", ")
            )));
        }
        Ok(())
    }

    fn refuse_newer(status: &migrations::SchemaStatus) -> Result<()> {
        match status.newer_than_binary() {
            Some(message) => Err(Error::Internal(message)),
            None => Ok(()),
        }
    }

    /// Registers who hears about commits (one observer per process). Only
    /// a weak reference is kept, so the observer may own a `Store` clone.
    pub fn set_observer(&self, observer: &Arc<dyn CommitObserver>) {
        if let Ok(mut slot) = self.observer.write() {
            *slot = Some(Arc::downgrade(observer));
        }
    }

    /// How write transactions wait for connections (for the metrics).
    pub fn pool_waits(&self) -> &PoolWaits {
        &self.waits
    }

    /// The raw connection (for queries outside a transaction).
    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// SQLite or PostgreSQL.
    pub fn backend(&self) -> DbBackend {
        self.db.get_database_backend()
    }

    /// Current time in milliseconds since the epoch.
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// The clock (tests advance a [`ManualClock`]).
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Starts a write transaction acting as `actor`. On SQLite it takes the
    /// write lock at once (`BEGIN IMMEDIATE`) so writers queue instead of
    /// failing on lock upgrade.
    async fn begin(&self, actor: Actor) -> Result<Txn> {
        let options = TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..Default::default()
        };
        let started = std::time::Instant::now();
        let waiting = Waiting::new(&self.waits.waiting);
        let begun = self.db.begin_with_options(options).await;
        drop(waiting);
        self.waits
            .begin_seconds
            .observe(started.elapsed().as_secs_f64());
        let inner = begun.inspect_err(|e| {
            if matches!(e, DbErr::ConnectionAcquire(_)) {
                self.waits.acquire_timeouts.inc();
            }
        })?;
        Ok(Txn {
            inner,
            actor,
            events: Vec::new(),
            now_ms: self.now_ms(),
            unchanged: false,
            append_last: false,
            written: None,
        })
    }

    /// The one write path. Begins a transaction acting as `actor`, runs
    /// `op` on it, and commits it with the events `op` emitted; `op` hands
    /// the transaction back with its result (`Ok((txn, value))`), and an
    /// `Err` rolls everything back. When the database aborts the
    /// transaction for a deadlock or a serialization failure
    /// ([`Error::Aborted`], from a statement or the commit) the whole
    /// operation runs again on a fresh transaction: at most
    /// [`WRITE_ATTEMPTS`] attempts, with a short backoff. Work that must
    /// follow the commit (a scrub, a notification) goes after the `await`.
    pub async fn write<T, F, Fut>(&self, actor: &Actor, mut op: F) -> Result<T>
    where
        F: FnMut(Txn) -> Fut,
        Fut: Future<Output = Result<(Txn, T)>>,
    {
        let mut attempt = 1u32;
        loop {
            // W5: the first write of a call that named itself claims its ID.
            let claim = idempotency::pending_claim();
            let txn = self.begin(actor.clone()).await?;
            let claimed = match &claim {
                Some(c) => idempotency::claim(&txn, c).await,
                None => Ok(()),
            };
            let result = match claimed {
                Ok(()) => match op(txn).await {
                    Ok((txn, value)) => txn.commit(self).await.map(|_| value),
                    Err(e) => Err(e),
                },
                Err(e) => Err(e),
            };
            if let (Some(c), Ok(_)) = (&claim, &result) {
                idempotency::claimed(c);
            }
            match result {
                Err(Error::Aborted(msg)) if attempt < WRITE_ATTEMPTS => {
                    tracing::debug!(attempt, %msg, "retrying after a transaction conflict");
                    tokio::time::sleep(retry_backoff(attempt)).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// Runs a raw read query with `?` placeholders outside a transaction.
    pub async fn query_all(&self, sql: &str, values: Vec<Value>) -> Result<Vec<QueryResult>> {
        let stmt = statement(self.backend(), sql, values);
        Ok(self.db.query_all_raw(stmt).await?)
    }

    /// Like [`Store::query_all`], first row only.
    pub async fn query_one(&self, sql: &str, values: Vec<Value>) -> Result<Option<QueryResult>> {
        let stmt = statement(self.backend(), sql, values);
        Ok(self.db.query_one_raw(stmt).await?)
    }

    fn notify_committed(&self, events: &[Event]) {
        let observer = self
            .observer
            .read()
            .ok()
            .and_then(|o| o.as_ref().and_then(std::sync::Weak::upgrade));
        if let Some(observer) = observer {
            observer.committed(events);
        }
    }
}

/// Builds a statement from SQL written with `?` placeholders.
pub fn statement(backend: DbBackend, sql: &str, values: Vec<Value>) -> Statement {
    if backend == DbBackend::Postgres {
        let mut out = String::with_capacity(sql.len() + 8);
        let mut n = 0;
        for ch in sql.chars() {
            if ch == '?' {
                n += 1;
                out.push('$');
                out.push_str(&n.to_string());
            } else {
                out.push(ch);
            }
        }
        Statement::from_sql_and_values(backend, out, values)
    } else {
        Statement::from_sql_and_values(backend, sql, values)
    }
}

/// Milliseconds since the epoch as a UTC time.
pub fn to_time(ms: i64) -> crate::domain::Timestamp {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// `?, ?, …` with `n` placeholders, for `IN (…)` lists.
pub fn placeholders(n: usize) -> String {
    let mut s = String::with_capacity(n * 3);
    for i in 0..n {
        if i > 0 {
            s.push_str(", ");
        }
        s.push('?');
    }
    s
}

#[cfg(test)]
mod tests;
