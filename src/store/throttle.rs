//! Sign-in attempt counts (I5) in the database, so every replica sees the
//! same count. Not domain state: these writes carry no audit event (like
//! RecordActivity), and a row only matters during its one window.

use sea_orm::ConnectionTrait;

use super::{Store, retry_aborted, statement};
use crate::domain::Result;

impl Store {
    /// Adds one attempt to each of `key_hashes` in `window` (a key's count
    /// restarts at 1 in a newer window) and returns, per key, the new count
    /// and the window it was counted in. One atomic upsert: concurrent
    /// attempts, on any replica, each see a different count.
    ///
    /// Windows only move forward: a replica whose clock is behind another's
    /// (`window` older than the key's) counts into the newer window rather
    /// than resetting it, so alternating replicas across a window boundary
    /// never wins a fresh count.
    pub async fn reserve_sign_in_attempt(
        &self,
        key_hashes: &[String],
        window: i64,
    ) -> Result<Vec<(String, i64, i64)>> {
        if key_hashes.is_empty() {
            return Ok(Vec::new());
        }
        let rows = vec!["(?, ?, 1)"; key_hashes.len()].join(", ");
        let values: Vec<sea_orm::Value> = key_hashes
            .iter()
            .flat_map(|k| [k.into(), window.into()])
            .collect();
        // Concurrent upserts and releases of the same keys can deadlock
        // (40P01); those are retried like every other locking write.
        let stmt = statement(
            self.backend(),
            &format!(
                "INSERT INTO sign_in_failures (key_hash, window_start, failures) VALUES {rows} \
                     ON CONFLICT (key_hash) DO UPDATE SET \
                       failures = CASE WHEN excluded.window_start > sign_in_failures.window_start \
                                  THEN 1 ELSE sign_in_failures.failures + 1 END, \
                       window_start = CASE WHEN excluded.window_start > sign_in_failures.window_start \
                                  THEN excluded.window_start ELSE sign_in_failures.window_start END \
                     RETURNING key_hash, CAST(failures AS BIGINT) AS n, \
                               CAST(window_start AS BIGINT) AS w"
            ),
            values,
        );
        let rows =
            retry_aborted(|| async { Ok(self.db.query_all_raw(stmt.clone()).await?) }).await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get::<String>("", "key_hash")?,
                    r.try_get::<i64>("", "n")?,
                    r.try_get::<i64>("", "w")?,
                ))
            })
            .collect()
    }

    /// Takes back one attempt of each `(key_hash, window)` (as returned by
    /// [`Store::reserve_sign_in_attempt`]), if the key is still in that
    /// window.
    /// One key per statement: a statement then holds one row lock at a
    /// time and cannot deadlock with the reserving upsert, which locks the
    /// keys in sorted order.
    pub async fn release_sign_in_attempt(&self, reserved: &[(String, i64)]) -> Result<()> {
        for (key, window) in reserved {
            let values: Vec<sea_orm::Value> = vec![(*window).into(), key.as_str().into()];
            let update = statement(
                self.backend(),
                "UPDATE sign_in_failures SET failures = failures - 1 \
                 WHERE window_start = ? AND failures > 0 AND key_hash = ?",
                values.clone(),
            );
            retry_aborted(|| async { Ok(self.db.execute_raw(update.clone()).await?) }).await?;
            // Rows back at zero are dropped. Safe against a concurrent
            // reserve: either it counted first (the row is not zero) or it
            // inserts anew.
            let delete = statement(
                self.backend(),
                "DELETE FROM sign_in_failures \
                 WHERE window_start = ? AND failures <= 0 AND key_hash = ?",
                values,
            );
            retry_aborted(|| async { Ok(self.db.execute_raw(delete.clone()).await?) }).await?;
        }
        Ok(())
    }

    /// Forgets counts of windows before `window`.
    pub async fn prune_sign_in_failures(&self, window: i64) -> Result<u64> {
        let res = self
            .db
            .execute_raw(statement(
                self.backend(),
                "DELETE FROM sign_in_failures WHERE window_start < ?",
                vec![window.into()],
            ))
            .await?;
        Ok(res.rows_affected())
    }
}
