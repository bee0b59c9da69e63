//! Failed sign-in counts (I5) in the database, so every replica sees the
//! same count. Not domain state: these writes carry no audit event (like
//! RecordActivity), and a row only matters during its one window.

use sea_orm::ConnectionTrait;

use super::{Store, placeholders, statement};
use crate::domain::Result;

impl Store {
    /// The highest failure count of `key_hashes` in `window`.
    pub async fn sign_in_failures(&self, key_hashes: &[String], window: i64) -> Result<i64> {
        let mut values: Vec<sea_orm::Value> = key_hashes.iter().map(|k| k.into()).collect();
        values.push(window.into());
        let row = self
            .query_one(
                &format!(
                    "SELECT CAST(COALESCE(MAX(failures), 0) AS BIGINT) AS n FROM sign_in_failures \
                     WHERE key_hash IN ({}) AND window_start = ?",
                    placeholders(key_hashes.len())
                ),
                values,
            )
            .await?;
        Ok(match row {
            Some(r) => r.try_get::<i64>("", "n")?,
            None => 0,
        })
    }

    /// Adds one failure to each of `key_hashes` in `window` (a key's count
    /// restarts at 1 in a new window). One atomic upsert.
    pub async fn record_sign_in_failure(&self, key_hashes: &[String], window: i64) -> Result<()> {
        if key_hashes.is_empty() {
            return Ok(());
        }
        let rows = vec!["(?, ?, 1)"; key_hashes.len()].join(", ");
        let values: Vec<sea_orm::Value> = key_hashes
            .iter()
            .flat_map(|k| [k.into(), window.into()])
            .collect();
        self.db
            .execute_raw(statement(
                self.backend(),
                &format!(
                    "INSERT INTO sign_in_failures (key_hash, window_start, failures) VALUES {rows} \
                     ON CONFLICT (key_hash) DO UPDATE SET \
                       failures = CASE WHEN sign_in_failures.window_start = excluded.window_start \
                                  THEN sign_in_failures.failures + 1 ELSE 1 END, \
                       window_start = excluded.window_start"
                ),
                values,
            ))
            .await?;
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
