//! W5: the first response of every request that named itself with a
//! `request_id`, for 24 hours, so a retry returns it instead of acting
//! again. The row is inserted by the request's own write transaction (it
//! exists exactly when the change committed); the response is recorded
//! right after the commit.

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
                    .table("request_results")
                    .if_not_exists()
                    .col(string("request_id").primary_key())
                    // `/roster.v1.Service/Method`.
                    .col(string("method"))
                    // Who sent it: `IDENTITY:<id>` or `SERVICE:<key name>`.
                    .col(string("principal"))
                    // SHA-256 (hex) of the request without its request_id
                    // and without secret fields.
                    .col(string("fingerprint"))
                    // The gRPC response body (length-prefixed message),
                    // NULL until recorded.
                    .col(blob_null("response"))
                    .col(big_integer("created_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "request_results_created_at",
                "request_results",
                &["created_at"],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(
                Table::drop()
                    .table("request_results")
                    .if_exists()
                    .to_owned(),
            )
            .await
    }
}
