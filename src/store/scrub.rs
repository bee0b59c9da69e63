//! Keeping erased data off the disk (I4) and the SQLite WAL short:
//! checkpoints, and the scrub after an erasure.

use std::time::Duration;

use sea_orm::{ConnectionTrait, DbBackend};

use super::Store;
use crate::domain::{Error, Result};

impl Store {
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
    /// (the scrub then retries, with a growing pause, six times). Two
    /// passes a second apart, a third when older transactions were still
    /// open (their snapshots kept the old versions alive).
    async fn vacuum_erased_tables(&self) -> Result<()> {
        use sqlx::{Executor, Row};
        let pool = self.db.get_postgres_connection_pool();
        let mut conn = pool
            .acquire()
            .await
            .map_err(|e| Error::Unavailable(format!("no connection for VACUUM: {e}")))?;
        let run = async {
            let conn = &mut *conn;
            // A transaction or statement whose snapshot predates the
            // erasure keeps the old row versions "recently dead" while it
            // runs: VACUUM FULL copies them into the new file. Such
            // overlaps are common (the commit's own NOTIFY wakes the feeds
            // and lease renewals run every 600 ms), so there are always two
            // passes a second apart, and a third while transactions older
            // than the second were still open (waited for, up to 30 s).
            for pass in 0..3 {
                if pass > 0 {
                    // Statements that overlapped the previous pass (a lease
                    // renewal, a feed read) have ended by now.
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                let began: f64 =
                    sqlx::query("SELECT extract(epoch FROM clock_timestamp())::float8")
                        .fetch_one(&mut *conn)
                        .await?
                        .try_get(0)?;
                conn.execute("SET lock_timeout = '3s'").await?;
                conn.execute("VACUUM FULL identities").await?;
                conn.execute("VACUUM FULL members").await?;
                conn.execute("VACUUM room_members, sessions, package_admins, attachments")
                    .await?;
                conn.execute("RESET lock_timeout").await?;
                let mut older_open = false;
                for round in 0..60 {
                    // Only this database's sessions hold back its horizon.
                    let open = sqlx::query(
                        "SELECT pid, state, left(query, 80) AS query FROM pg_stat_activity \
                         WHERE pid <> pg_backend_pid() AND datname = current_database() \
                         AND xact_start < to_timestamp($1) \
                         AND (backend_xmin IS NOT NULL OR backend_xid IS NOT NULL)",
                    )
                    .bind(began)
                    .fetch_all(&mut *conn)
                    .await?;
                    if open.is_empty() {
                        break;
                    }
                    if round == 0 {
                        let who: Vec<String> = open
                            .iter()
                            .map(|r| {
                                let pid: i32 = r.try_get("pid").unwrap_or_default();
                                let state: Option<String> = r.try_get("state").ok().flatten();
                                let query: Option<String> = r.try_get("query").ok().flatten();
                                format!("{pid} {state:?} {query:?}")
                            })
                            .collect();
                        tracing::info!(?who, "erasure scrub waits for older transactions");
                    }
                    older_open = true;
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                // Always a second pass: a transaction that overlapped the
                // first pass but ended before the check above still held
                // the old versions alive while it ran.
                if pass >= 1 && !older_open {
                    break;
                }
            }
            Ok::<(), sqlx::Error>(())
        };
        run.await
            .map_err(|e| Error::Internal(format!("VACUUM after an erasure: {e}")))
    }
}
