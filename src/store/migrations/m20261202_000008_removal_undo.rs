//! W6: a removal can be undone within the organization's
//! `removal_undo_window` (default seven days; zero turns it off).
//!
//! RemoveMember copies the member row (with its tenure, which its
//! assignments hold) into `removed_members` and its room memberships into
//! `removed_room_members` before deleting them; UndoRemoveMember copies
//! them back. Revocation (I4) deletes these copies at once; the pruning
//! task deletes them when the window has passed.

use sea_orm_migration::{prelude::*, schema::*};

use super::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Seven days in milliseconds.
const DEFAULT_WINDOW_MS: i64 = 7 * 24 * 3600 * 1000;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("organizations")
                    .add_column(big_integer("removal_undo_window_ms").default(DEFAULT_WINDOW_MS))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("removed_members")
                    .if_not_exists()
                    .col(string("organization_id"))
                    .col(string("identity_id"))
                    .col(string("package_id"))
                    .col(string("role"))
                    .col(string("state"))
                    .col(big_integer("joined_at"))
                    .col(big_integer("last_activity_at"))
                    .col(string_null("deactivation_reason"))
                    .col(string_null("deactivation_note"))
                    .col(big_integer_null("expected_return_at"))
                    .col(big_integer_null("deactivated_at"))
                    .col(string_null("deactivated_by"))
                    .col(big_integer("tenure"))
                    .col(big_integer("removed_at"))
                    // Undo is possible before this instant (ms).
                    .col(big_integer("undo_until"))
                    .primary_key(Index::create().col("organization_id").col("identity_id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "removed_members_identity",
                "removed_members",
                &["identity_id"],
            ))
            .await?;
        manager
            .create_index(index(
                "removed_members_undo_until",
                "removed_members",
                &["undo_until"],
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("removed_room_members")
                    .if_not_exists()
                    .col(string("room_id"))
                    .col(string("identity_id"))
                    .col(string("organization_id"))
                    .col(string("role"))
                    .col(boolean("can_delete_entries"))
                    .col(big_integer("added_at"))
                    .primary_key(Index::create().col("room_id").col("identity_id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "removed_room_members_org_identity",
                "removed_room_members",
                &["organization_id", "identity_id"],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(
                Table::drop()
                    .table("removed_room_members")
                    .if_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(
                Table::drop()
                    .table("removed_members")
                    .if_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("organizations")
                    .drop_column("removal_undo_window_ms")
                    .to_owned(),
            )
            .await
    }
}
