//! SCIM (issue 15): the room admin Roster appoints for a room a SCIM client
//! creates (the organization's first active admin) is the room's steward,
//! not a member the IdP pushed: `scim_group_stewards` names it (with the
//! `added_at` of its room membership, so a later membership of the same
//! identity is a member again) and the Group's `members` leave it out.
//! `scim_users.active_unassigned`: a client removed `active` (RFC 7644
//! §3.5.2.2); the member is active, the attribute unassigned.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("scim_group_stewards")
                    .if_not_exists()
                    .col(string("room_id"))
                    .col(string("identity_id"))
                    .col(big_integer("added_at"))
                    .primary_key(Index::create().col("room_id").col("identity_id"))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("scim_users")
                    .add_column(boolean("active_unassigned").default(false))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("scim_users")
                    .drop_column("active_unassigned")
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(
                Table::drop()
                    .table("scim_group_stewards")
                    .if_exists()
                    .to_owned(),
            )
            .await
    }
}
