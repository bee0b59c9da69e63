//! Failed sign-ins per key and one-minute window (I5), shared by every
//! replica so that spreading attempts over replicas gains nothing. Keys
//! are SHA-256 hashes: a mistyped username (or a password typed into the
//! username field) is never stored as text.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("sign_in_failures")
                    .if_not_exists()
                    .col(string("key_hash").primary_key())
                    // Window number: milliseconds since the epoch / window.
                    .col(big_integer("window_start"))
                    .col(integer("failures"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(
                Table::drop()
                    .table("sign_in_failures")
                    .if_exists()
                    .to_owned(),
            )
            .await
    }
}
