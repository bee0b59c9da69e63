//! E2 on PostgreSQL: `roster_events_last_seq()` takes the event writers'
//! advisory lock and then reads the last sequence number with a snapshot of
//! its own (a VOLATILE function's query sees every commit before it ran,
//! not only those before its calling statement began). So one statement
//! can lock, number and insert a transaction's events, and every writer
//! waits for two round trips of the one before it (that statement and the
//! commit) instead of three. The lock key is the one earlier releases take
//! in a statement of their own, so replicas of both kinds write in turn
//! during a rolling upgrade. SQLite: nothing to do (one writer at a time).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The advisory lock key is "rost" (0x726f_7374), as in earlier releases.
const UP: &str = "CREATE OR REPLACE FUNCTION roster_events_last_seq() RETURNS bigint \
    LANGUAGE plpgsql VOLATILE AS $$ \
    BEGIN \
      PERFORM pg_advisory_xact_lock(1919906676); \
      RETURN (SELECT COALESCE(MAX(seq), 0) FROM events); \
    END $$";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != sea_orm::DbBackend::Postgres {
            return Ok(());
        }
        manager.get_connection().execute_unprepared(UP).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != sea_orm::DbBackend::Postgres {
            return Ok(());
        }
        manager
            .get_connection()
            .execute_unprepared("DROP FUNCTION IF EXISTS roster_events_last_seq()")
            .await?;
        Ok(())
    }
}
