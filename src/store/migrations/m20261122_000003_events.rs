//! The audit log, which is also the transactional outbox of WatchEvents:
//! rows are written in the transaction of the change they describe, and
//! `seq` grows in commit order (writers serialize on an advisory lock in
//! PostgreSQL; SQLite has a single writer).

use sea_orm_migration::{prelude::*, schema::*};

use super::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("events")
                    .if_not_exists()
                    .col(big_integer("seq").primary_key())
                    .col(string("event_type"))
                    .col(string("actor_kind"))
                    .col(string("actor_id"))
                    .col(string("subject_id"))
                    .col(string("reason"))
                    .col(big_integer("occurred_at"))
                    .col(string_null("identity_id"))
                    .col(string_null("organization_id"))
                    .col(string_null("package_id"))
                    .col(string_null("room_id"))
                    .col(string_null("credential_id"))
                    .col(text("attributes"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("events_identity", "events", &["identity_id", "seq"]))
            .await?;
        manager
            .create_index(index(
                "events_organization",
                "events",
                &["organization_id", "seq"],
            ))
            .await?;
        manager
            .create_index(index("events_package", "events", &["package_id", "seq"]))
            .await?;
        manager
            .create_index(index("events_occurred", "events", &["occurred_at"]))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("events").if_exists().to_owned())
            .await
    }
}
