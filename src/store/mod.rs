//! Storage: sea-orm entities, migrations and the transactional operations
//! the services call. Every state change runs in one transaction ([`Txn`])
//! that also writes its audit rows; [`Txn::commit`] refuses to commit a
//! change without one. Nothing here knows about gRPC.
//!
//! Lock order inside a transaction (PostgreSQL; SQLite has one writer):
//! identities → credentials → organizations → license packages, each group
//! in ID order.
//!
//! Every write goes through [`Store::write`]: it begins the transaction,
//! runs the operation, commits it with its events, and runs it again when
//! the database aborted it for a deadlock or a serialization failure.

pub mod entities;
pub mod migrations;

mod clock;
mod events;
mod identity;
mod keys;
mod license;
pub mod seats;
mod throttle;

// One file per area. Their imports form layers without a cycle (checked by
// `tests::store_files_import_each_other_in_layers`): rows, rules -> seats,
// records -> room_guard -> organizations, members, rooms, assignments,
// offboarding, access, inactivity -> offboard_identity (W2) -> identity (revocation removes from
// every organization) and license.
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

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, QueryResult, SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
    Value,
};
use sea_orm_migration::MigratorTrait;

pub use assignments::{AssignmentFilter, NewAssignment};
pub use batches::{BatchItem, BatchMode, BatchOutcome, ItemDone};
pub use clock::{Clock, ManualClock, SystemClock};
pub use events::{EventQuery, LogEntry, NOTIFY_CHANNEL};
pub use identity::{Revoker, SessionLookup, SignInCredential};
pub use inactivity::{MAX_SWEEP_MEMBERS, SweepOutcome};
pub use license::{NewPackage, PackageUpdate};
pub use members::MemberFilter;
pub use offboard_identity::{IdentityOffboarding, OffboardRequest, OrgOffboarding};
pub use offboarding::{DeactivationInput, OffboardingAction, OffboardingPreview, Removal};
pub use organizations::{NewOrganization, OrganizationChanges};
pub use rooms::RoomStanding;

use crate::domain::{Actor, Error, Event, NewEvent, Result};

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
    clock: Arc<dyn Clock>,
    /// Weak: the observer (the feed) holds a `Store` itself.
    observer: Arc<std::sync::RwLock<Option<std::sync::Weak<dyn CommitObserver>>>>,
    /// One scrub after erasures at a time ([`Store::scrub_after_erasure`]).
    scrubbing: Arc<tokio::sync::Mutex<()>>,
    /// Held by the one scrub waiting for `scrubbing`.
    scrub_queue: Arc<tokio::sync::Mutex<()>>,
    /// C0: this replica's lease; commits wait for the other replicas'
    /// acknowledgements through it (PostgreSQL only).
    lease: Arc<std::sync::OnceLock<Arc<crate::lease::Lease>>>,
    /// Bound on a hot-path read (see [`Store::bounded`]).
    read_timeout: Duration,
    /// How writes wait for a pooled connection (metrics).
    waits: PoolWaits,
}

/// How write transactions wait for a pooled database connection (O3):
/// how many wait right now, how long beginning one took (acquiring the
/// connection plus `BEGIN`), and how many gave up at the acquire timeout.
/// Shared with the metrics, which read them at scrape time.
#[derive(Debug, Clone)]
pub struct PoolWaits {
    /// Transactions waiting for a connection now.
    pub waiting: Arc<std::sync::atomic::AtomicI64>,
    /// Seconds from asking for a transaction to having it.
    pub begin_seconds: prometheus_client::metrics::histogram::Histogram,
    /// Transactions refused because no connection came free in time.
    pub acquire_timeouts: prometheus_client::metrics::counter::Counter,
}

impl Default for PoolWaits {
    fn default() -> Self {
        PoolWaits {
            waiting: Arc::default(),
            // 0.1 ms … ~3.3 s.
            begin_seconds: prometheus_client::metrics::histogram::Histogram::new(
                prometheus_client::metrics::histogram::exponential_buckets(0.0001, 2.0, 16),
            ),
            acquire_timeouts: Default::default(),
        }
    }
}

/// Counts one waiting transaction while alive (also when the waiting
/// future is dropped).
struct Waiting<'a>(&'a std::sync::atomic::AtomicI64);

impl<'a> Waiting<'a> {
    fn new(counter: &'a std::sync::atomic::AtomicI64) -> Self {
        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Waiting(counter)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
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

/// How long a call waits for a pooled connection by default: short, so
/// that calls fail with UNAVAILABLE quickly while the database is gone.
pub const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);

/// Connects to `url` (`sqlite://…?mode=rwc` or `postgres://…`).
pub async fn connect(url: &str, max_connections: u32) -> Result<DatabaseConnection> {
    connect_with(url, max_connections, DEFAULT_ACQUIRE_TIMEOUT).await
}

/// Like [`connect`], with the pool's acquire timeout given.
pub async fn connect_with(
    url: &str,
    max_connections: u32,
    acquire_timeout: Duration,
) -> Result<DatabaseConnection> {
    let mut opts = ConnectOptions::new(url.to_owned());
    opts.sqlx_logging(false)
        .max_connections(max_connections.max(1))
        .min_connections(1)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(acquire_timeout);
    opts.map_sqlx_sqlite_opts(|o| {
        // Checkpoints run in the background (`Store::checkpoint`), not in
        // whichever request happens to commit past 1,000 WAL pages.
        o.pragma("wal_autocheckpoint", "0")
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
            // FULL: a committed revocation (or any write) survives a power
            // cut, not only a crash of the process.
            .synchronous(sqlx::sqlite::SqliteSynchronous::Full)
            // Deleted and overwritten content is zeroed in the file, so an
            // erased identity's data leaves no copy in free space (I4).
            .pragma("secure_delete", "on")
            .busy_timeout(Duration::from_secs(30))
            .create_if_missing(true)
    });
    // Several processes opening one new SQLite file at once (a migrate next
    // to a starting server) can find it locked while another switches it to
    // WAL; the busy timeout does not cover that, so try again briefly.
    let mut attempt = 1;
    loop {
        match Database::connect(opts.clone()).await {
            Ok(db) => return Ok(db),
            Err(e) if attempt < 20 && db_code(&e).as_deref() == Some(SQLITE_BUSY) => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => {
                return Err(Error::Unavailable(format!(
                    "cannot connect to the database: {e}"
                )));
            }
        }
    }
}

/// SQLite's result code for a locked database file.
const SQLITE_BUSY: &str = "5";

impl Store {
    /// Wraps a connection. Call [`Store::migrate`] before use.
    pub fn new(db: DatabaseConnection, clock: Arc<dyn Clock>) -> Self {
        Store {
            db,
            clock,
            observer: Arc::new(std::sync::RwLock::new(None)),
            scrubbing: Arc::new(tokio::sync::Mutex::new(())),
            scrub_queue: Arc::new(tokio::sync::Mutex::new(())),
            lease: Arc::new(std::sync::OnceLock::new()),
            read_timeout: DEFAULT_ACQUIRE_TIMEOUT,
            waits: PoolWaits::default(),
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
            Some(lease) => lease.await_replicas(&self.db, seq).await,
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
            let result = match op(self.begin(actor.clone()).await?).await {
                Ok((txn, value)) => txn.commit(self).await.map(|_| value),
                Err(e) => Err(e),
            };
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

    /// SQLite: copies committed WAL pages back into the database file
    /// without blocking readers or writers (a no-op elsewhere). Run
    /// periodically, since connections do not checkpoint on commit.
    pub async fn checkpoint(&self) -> Result<()> {
        if self.backend() == DbBackend::Sqlite {
            self.db
                .execute_unprepared("PRAGMA wal_checkpoint(PASSIVE)")
                .await?;
        }
        Ok(())
    }

    /// SQLite: copies the whole WAL back into the database file and
    /// truncates it to zero bytes, so no old page versions stay in
    /// `roster.db-wal` (a no-op elsewhere). Waits for readers (up to the
    /// busy timeout); run off the request path.
    pub async fn checkpoint_truncate(&self) -> Result<()> {
        if self.backend() == DbBackend::Sqlite {
            self.db
                .execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)")
                .await?;
        }
        Ok(())
    }

    /// After an erasure has committed (I4), in the background: on SQLite a
    /// truncating checkpoint (with `secure_delete` the database file then
    /// holds no copy of the erased values and the WAL is empty); on
    /// PostgreSQL a VACUUM of the tables the revocation touched. Scrubs run
    /// one at a time; a scrub asked for while one waits is covered by it.
    pub fn scrub_after_erasure(&self) {
        let store = self.clone();
        tokio::spawn(async move {
            // One scrub queued behind the running one is enough.
            let Ok(_queued) = store.scrub_queue.try_lock() else {
                return;
            };
            let _running = store.scrubbing.lock().await;
            drop(_queued);
            for attempt in 1..=6u64 {
                let result = match store.backend() {
                    DbBackend::Sqlite => store.checkpoint_truncate().await,
                    DbBackend::Postgres => store.vacuum_erased_tables().await,
                    _ => Ok(()),
                };
                match result {
                    Ok(()) => {
                        tracing::debug!("scrubbed after an erasure");
                        return;
                    }
                    Err(e) => tracing::warn!(error = %e, attempt, "scrub after an erasure failed"),
                }
                tokio::time::sleep(Duration::from_secs(2 * attempt)).await;
            }
        });
    }

    /// PostgreSQL: plain VACUUM leaves dead tuples' bytes in the page's
    /// free space, so the two tables whose old row versions hold personal
    /// data (`identities`: names, e-mails, avatars; `members`: deactivation
    /// notes) are rewritten with VACUUM FULL; the others hold only IDs and
    /// get a plain VACUUM. VACUUM FULL holds an exclusive lock while it
    /// rewrites (milliseconds for thousands of rows); `lock_timeout` keeps
    /// it from queueing in front of traffic for long when the table is busy
    /// (the scrub then retries, with a growing pause, six times).
    async fn vacuum_erased_tables(&self) -> Result<()> {
        use sqlx::Executor;
        let pool = self.db.get_postgres_connection_pool();
        let mut conn = pool
            .acquire()
            .await
            .map_err(|e| Error::Unavailable(format!("no connection for VACUUM: {e}")))?;
        let run = async {
            let conn = &mut *conn;
            conn.execute("SET lock_timeout = '3s'").await?;
            conn.execute("VACUUM FULL identities").await?;
            conn.execute("VACUUM FULL members").await?;
            conn.execute("VACUUM room_members, sessions, package_admins, attachments")
                .await?;
            conn.execute("RESET lock_timeout").await?;
            Ok::<(), sqlx::Error>(())
        };
        run.await
            .map_err(|e| Error::Internal(format!("VACUUM after an erasure: {e}")))
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

/// An open write transaction with the audit events it will commit.
pub struct Txn {
    inner: DatabaseTransaction,
    actor: Actor,
    events: Vec<NewEvent>,
    now_ms: i64,
    /// Set by [`Txn::nothing_changed`].
    unchanged: bool,
}

impl Txn {
    /// The connection to run statements on.
    pub fn conn(&self) -> &DatabaseTransaction {
        &self.inner
    }

    /// The time this transaction acts at (one value for all its rows).
    pub fn now_ms(&self) -> i64 {
        self.now_ms
    }

    /// Who this transaction acts for.
    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// Records an audit event to commit with the change.
    pub fn emit(&mut self, event: NewEvent) {
        self.events.push(event);
    }

    /// SQLite or PostgreSQL.
    pub fn backend(&self) -> DbBackend {
        self.inner.get_database_backend()
    }

    /// The suffix that makes a SELECT lock its rows: ` FOR UPDATE` on
    /// PostgreSQL, nothing on SQLite (its writer already holds the lock).
    pub fn for_update(&self) -> &'static str {
        if self.backend() == DbBackend::Postgres {
            " FOR UPDATE"
        } else {
            ""
        }
    }

    /// Runs a raw statement with `?` placeholders (rewritten to `$n` for
    /// PostgreSQL) and returns the number of rows affected.
    pub async fn exec(&self, sql: &str, values: Vec<Value>) -> Result<u64> {
        let stmt = statement(self.backend(), sql, values);
        Ok(self.inner.execute_raw(stmt).await?.rows_affected())
    }

    /// Runs a raw query with `?` placeholders and returns all rows.
    pub async fn query_all(&self, sql: &str, values: Vec<Value>) -> Result<Vec<QueryResult>> {
        let stmt = statement(self.backend(), sql, values);
        Ok(self.inner.query_all_raw(stmt).await?)
    }

    /// Runs a raw query with `?` placeholders and returns the first row.
    pub async fn query_one(&self, sql: &str, values: Vec<Value>) -> Result<Option<QueryResult>> {
        let stmt = statement(self.backend(), sql, values);
        Ok(self.inner.query_one_raw(stmt).await?)
    }

    /// Locks a row against concurrent writers until commit (PostgreSQL
    /// `SELECT … FOR UPDATE`; SQLite already holds the database write
    /// lock). Returns whether the row exists.
    pub async fn lock_row(
        &self,
        table: &'static str,
        key_col: &'static str,
        key: &str,
    ) -> Result<bool> {
        let sql = format!(
            "SELECT 1 FROM {table} WHERE {key_col} = ?{}",
            self.for_update()
        );
        let stmt = statement(self.backend(), &sql, vec![key.into()]);
        Ok(self.inner.query_one_raw(stmt).await?.is_some())
    }

    /// Writes the audit rows (in commit order), commits, and tells this
    /// process's observer. A transaction without any audit event is a bug:
    /// it is rolled back and reported as an internal error.
    pub async fn commit(self, store: &Store) -> Result<Vec<Event>> {
        if self.events.is_empty() && self.unchanged {
            self.inner.rollback().await?;
            return Ok(Vec::new());
        }
        if self.events.is_empty() {
            self.inner.rollback().await?;
            return Err(Error::Internal(
                "state change without an audit event".to_owned(),
            ));
        }
        let written = events::append(&self.inner, &self.actor, self.now_ms, self.events).await?;
        self.inner.commit().await?;
        store.notify_committed(&written);
        if let Some(last) = written.last() {
            store.await_replicas(last.seq).await?;
        }
        Ok(written)
    }

    /// Says that the operation found nothing to change (SignOut of a
    /// session that already ended): [`Store::write`] then rolls the
    /// transaction back instead of refusing it for want of an event.
    pub fn nothing_changed(&mut self) {
        self.unchanged = true;
    }

    /// How many events this transaction has emitted so far.
    pub fn events_pending(&self) -> usize {
        self.events.len()
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

/// What a database error means for the caller, decided by the driver's
/// error code (SQLSTATE on PostgreSQL, the result code on SQLite), never by
/// the message text, which depends on the server's `lc_messages`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbFault {
    /// A deadlock, a serialization failure or a busy/locked database:
    /// running the transaction again may succeed.
    Retry,
    /// A unique constraint was violated.
    Unique,
    /// A foreign key constraint was violated.
    ForeignKey,
    /// Another constraint (NOT NULL, CHECK) was violated.
    Constraint,
    /// The database could not be reached (connect, acquire, I/O).
    Unreachable,
    /// Anything else.
    Other,
}

/// The driver's code of a database error, if it came from the database.
pub fn db_code(err: &DbErr) -> Option<String> {
    let (DbErr::Exec(sea_orm::RuntimeErr::SqlxError(e))
    | DbErr::Query(sea_orm::RuntimeErr::SqlxError(e))
    | DbErr::Conn(sea_orm::RuntimeErr::SqlxError(e))) = err
    else {
        return None;
    };
    match e.as_ref() {
        sqlx::Error::Database(d) => d.code().map(|c| c.into_owned()),
        _ => None,
    }
}

/// Classifies a database error by its code.
pub fn classify(err: &DbErr) -> DbFault {
    if let Some(code) = db_code(err) {
        return classify_code(&code);
    }
    match err {
        DbErr::ConnectionAcquire(_) => DbFault::Unreachable,
        DbErr::Exec(sea_orm::RuntimeErr::SqlxError(e))
        | DbErr::Query(sea_orm::RuntimeErr::SqlxError(e))
        | DbErr::Conn(sea_orm::RuntimeErr::SqlxError(e)) => match e.as_ref() {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed
            | sqlx::Error::Protocol(_) => DbFault::Unreachable,
            _ => DbFault::Other,
        },
        DbErr::Conn(_) => DbFault::Unreachable,
        _ => DbFault::Other,
    }
}

/// Classifies a driver code: a five-character SQLSTATE (PostgreSQL; many
/// are all digits) or a decimal extended result code (SQLite; at most four
/// digits).
pub fn classify_code(code: &str) -> DbFault {
    if code.len() < 5
        && let Ok(n) = code.parse::<i64>()
    {
        // SQLite: the primary result code is the low byte.
        return match (n, n & 0xff) {
            // SQLITE_CONSTRAINT_UNIQUE, SQLITE_CONSTRAINT_PRIMARYKEY
            (2067 | 1555, _) => DbFault::Unique,
            // SQLITE_CONSTRAINT_FOREIGNKEY
            (787, _) => DbFault::ForeignKey,
            // SQLITE_BUSY, SQLITE_LOCKED and their extended codes
            (_, 5 | 6) => DbFault::Retry,
            // SQLITE_CONSTRAINT
            (_, 19) => DbFault::Constraint,
            // SQLITE_CANTOPEN, SQLITE_IOERR
            (_, 14 | 10) => DbFault::Unreachable,
            _ => DbFault::Other,
        };
    }
    match code {
        // serialization_failure, deadlock_detected
        "40001" | "40P01" => DbFault::Retry,
        "23505" => DbFault::Unique,
        "23503" => DbFault::ForeignKey,
        c if c.starts_with("23") => DbFault::Constraint,
        // connection exceptions, admin/crash shutdown, cannot connect now
        c if c.starts_with("08") => DbFault::Unreachable,
        "57P01" | "57P02" | "57P03" => DbFault::Unreachable,
        _ => DbFault::Other,
    }
}

impl From<DbErr> for Error {
    fn from(err: DbErr) -> Self {
        let text = err.to_string();
        match classify(&err) {
            DbFault::Retry => Error::Aborted(format!("concurrent change, retry: {text}")),
            DbFault::Unreachable => Error::Unavailable(format!("database unavailable: {text}")),
            _ => Error::Internal(format!("database error: {text}")),
        }
    }
}

/// Whether a database error is a unique-constraint violation.
pub fn is_unique_violation(err: &DbErr) -> bool {
    classify(err) == DbFault::Unique
}

#[cfg(test)]
mod tests;
