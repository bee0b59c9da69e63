//! The connection pool: connecting (with the SQLite settings erasure and
//! durability need) and how write transactions wait for a connection (O3).

use std::sync::Arc;
use std::time::Duration;

use sea_orm::{ConnectOptions, Database, DatabaseConnection};

use super::db_code;
use crate::domain::{Error, Result};

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
pub(super) struct Waiting<'a>(&'a std::sync::atomic::AtomicI64);

impl<'a> Waiting<'a> {
    pub(super) fn new(counter: &'a std::sync::atomic::AtomicI64) -> Self {
        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Waiting(counter)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
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
