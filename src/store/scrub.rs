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

    /// After an erasure has committed (I4): asks the scrub task
    /// ([`spawn_scrubs`]) for a scrub. Requests coalesce: one scrub covers
    /// every erasure committed before it began.
    pub fn scrub_after_erasure(&self) {
        self.scrub_wanted.notify_one();
    }

    /// One scrub: on SQLite a truncating checkpoint (with `secure_delete`
    /// the database file then holds no copy of the erased values and the
    /// WAL is empty); on PostgreSQL a VACUUM of the tables the revocation
    /// touched. Retried with a growing pause, six times.
    async fn scrub(&self) {
        for attempt in 1..=6u64 {
            let result = match self.backend() {
                DbBackend::Sqlite => self.checkpoint_truncate().await,
                DbBackend::Postgres => self.vacuum_erased_tables().await,
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
    }

    /// PostgreSQL: plain VACUUM leaves dead tuples' bytes in the page's
    /// free space, so the two tables whose old row versions hold personal
    /// data (`identities`: names, e-mails, avatars; `members` and
    /// `removed_members`, W6's undo copies: deactivation notes;
    /// `request_results`, W5's recorded responses; `scim_users`: the IdP's
    /// names and e-mails) are rewritten with VACUUM FULL; the others hold only IDs and
    /// get a plain VACUUM.
    ///
    /// VACUUM FULL copies the row versions that some snapshot may still
    /// see, so it first waits until no other session of this database
    /// holds a snapshot or a transaction older than the scrub's start
    /// (`erasure_horizon_passed`, up to 30 s, logged); then one pass removes
    /// every erased version committed before the scrub began. It holds an
    /// exclusive lock while it rewrites (about 0.4 s per 100,000 rows);
    /// `lock_timeout` keeps it from queueing in front of traffic for more
    /// than 200 ms when the table is busy (the scrub is then retried).
    async fn vacuum_erased_tables(&self) -> Result<()> {
        use sqlx::{Executor, Row};
        let pool = self.db.get_postgres_connection_pool();
        let mut conn = pool
            .acquire()
            .await
            .map_err(|e| Error::Unavailable(format!("no connection for VACUUM: {e}")))?;
        let run = async {
            let conn = &mut *conn;
            // An ID newer than every erasure committed so far.
            let horizon: i64 = sqlx::query("SELECT txid_current()")
                .fetch_one(&mut *conn)
                .await?
                .try_get(0)?;
            let mut logged = false;
            for _ in 0..60 {
                // Sessions whose snapshot or transaction predates `horizon`
                // (only this database's sessions hold back its horizon).
                let open = sqlx::query(
                    "SELECT pid, state, left(query, 80) AS query FROM pg_stat_activity \
                     WHERE pid <> pg_backend_pid() AND datname = current_database() \
                     AND ((backend_xmin IS NOT NULL AND age(backend_xmin) >= age($1::text::xid)) \
                       OR (backend_xid IS NOT NULL AND age(backend_xid) >= age($1::text::xid)))",
                )
                .bind((horizon % (1i64 << 32)).to_string())
                .fetch_all(&mut *conn)
                .await?;
                if open.is_empty() {
                    break;
                }
                if !logged {
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
                    logged = true;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            conn.execute("SET lock_timeout = '200ms'").await?;
            let vacuumed = async {
                conn.execute("VACUUM FULL identities").await?;
                conn.execute("VACUUM FULL members").await?;
                conn.execute("VACUUM FULL removed_members").await?;
                conn.execute("VACUUM FULL request_results").await?;
                conn.execute("VACUUM FULL scim_users").await?;
                conn.execute(
                    "VACUUM room_members, removed_room_members, sessions, package_admins, \
                     attachments",
                )
                .await
            }
            .await;
            conn.execute("RESET lock_timeout").await?;
            vacuumed.map(|_| ())
        };
        run.await
            .map_err(|e| Error::Internal(format!("VACUUM after an erasure: {e}")))
    }
}

/// Runs the scrubs after erasures (I4) in the background. A scrub starts
/// once erasures have paused for a second (or `interval`, if shorter), and
/// at the latest `interval` after the first erasure it covers: a burst of
/// revocations shares one table rewrite per `interval`, and the rewrite's
/// lock falls after the burst rather than into it. Ends when `stop`
/// changes.
pub fn spawn_scrubs(
    store: Store,
    interval: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    let quiet = interval.min(Duration::from_secs(1));
    tokio::spawn(async move {
        let wanted = store.scrub_wanted.clone();
        loop {
            tokio::select! {
                _ = wanted.notified() => {}
                _ = stop.changed() => return,
            }
            let latest = tokio::time::Instant::now() + interval;
            loop {
                let pause =
                    tokio::time::sleep_until((tokio::time::Instant::now() + quiet).min(latest));
                tokio::select! {
                    _ = pause => break,
                    _ = wanted.notified() => {}
                    _ = stop.changed() => return,
                }
            }
            store.scrub().await;
        }
    })
}
