//! C0: one row per running replica (PostgreSQL). A replica serves from its
//! caches only while its lease is live; a write that can change a decision
//! waits until every other live replica has applied it (`applied_seq`) or
//! its lease has run out. Times come from the database clock.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("replica_leases")
                    .if_not_exists()
                    .col(string("id").primary_key())
                    // Milliseconds since the epoch, database clock.
                    .col(big_integer("expires_at"))
                    // Highest event sequence number this replica applied.
                    .col(big_integer("applied_seq"))
                    // Whether the last renewal found the lease still live
                    // (false: the replica rejoined and must drop its caches).
                    .col(boolean("continuous").default(false))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("replica_leases").if_exists().to_owned())
            .await
    }
}
