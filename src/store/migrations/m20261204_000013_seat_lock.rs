//! L6 on PostgreSQL: functions that let one statement take a package's
//! row lock and then decide a seat with a snapshot taken after it (a
//! VOLATILE function's query sees every commit before it ran, not only
//! those before its calling statement began; as in migration 12).
//!
//! - `roster_lock_package(p)`: locks package `p`'s row (`FOR UPDATE`) and
//!   says whether it exists.
//! - `roster_seat_held(p, i)`: locks `p`'s row as well, then says whether
//!   a membership of identity `i` holds a seat of `p` — the rule of
//!   `store::rules::seat_holding_membership` (ACTIVE, in an organization
//!   bound to `p`), read after the lock.
//!
//! So DeactivateMember and ReactivateMember no longer hold the package's
//! lock from their member update on: every writer of the package waits for
//! the seat statement and the commit of the one before it, not also for
//! the member update's round trip. SQLite: nothing to do (one writer at a
//! time).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: [&str; 2] = [
    "CREATE OR REPLACE FUNCTION roster_lock_package(p text) RETURNS boolean \
     LANGUAGE plpgsql VOLATILE AS $$ \
     BEGIN \
       PERFORM 1 FROM license_packages WHERE id = p FOR UPDATE; \
       RETURN FOUND; \
     END $$",
    "CREATE OR REPLACE FUNCTION roster_seat_held(p text, i text) RETURNS boolean \
     LANGUAGE plpgsql VOLATILE AS $$ \
     BEGIN \
       PERFORM 1 FROM license_packages WHERE id = p FOR UPDATE; \
       RETURN EXISTS (SELECT 1 FROM members \
                      WHERE package_id = p AND identity_id = i AND state = 'ACTIVE'); \
     END $$",
];

const DOWN: [&str; 2] = [
    "DROP FUNCTION IF EXISTS roster_seat_held(text, text)",
    "DROP FUNCTION IF EXISTS roster_lock_package(text)",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(manager, &UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(manager, &DOWN).await
    }
}

async fn run(manager: &SchemaManager<'_>, statements: &[&str]) -> Result<(), DbErr> {
    if manager.get_database_backend() != sea_orm::DbBackend::Postgres {
        return Ok(());
    }
    for sql in statements {
        manager.get_connection().execute_unprepared(sql).await?;
    }
    Ok(())
}
