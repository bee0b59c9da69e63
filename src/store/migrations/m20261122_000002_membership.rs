//! Organizations, members, rooms, room members, assignments and their
//! assignees. `members`
//! and `room_members` carry denormalized `package_id` / `organization_id`
//! so the seat rule (L6) and "remove from every room of the organization"
//! (M6) are single set-based statements.

use sea_orm_migration::{prelude::*, schema::*};

use super::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Creates a table whose rows live in their primary key's b-tree: on SQLite
/// a `WITHOUT ROWID` table (one b-tree fewer to update per row, and bulk
/// deletes by key prefix touch contiguous pages); elsewhere as given.
async fn create_clustered(
    manager: &SchemaManager<'_>,
    table: TableCreateStatement,
) -> Result<(), DbErr> {
    let backend = manager.get_database_backend();
    if backend == sea_orm::DbBackend::Sqlite {
        let sql = format!("{} WITHOUT ROWID", backend.build(&table));
        manager.get_connection().execute_unprepared(&sql).await?;
        Ok(())
    } else {
        manager.create_table(table).await
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("organizations")
                    .if_not_exists()
                    .col(string("id").primary_key())
                    .col(string("display_name"))
                    .col(string("package_id"))
                    .col(string_null("parent_id"))
                    .col(big_integer_null("guest_inactivity_ms"))
                    .col(big_integer("created_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "organizations_package",
                "organizations",
                &["package_id"],
            ))
            .await?;
        manager
            .create_index(index(
                "organizations_parent",
                "organizations",
                &["parent_id"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("members")
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
                    .primary_key(Index::create().col("organization_id").col("identity_id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("members_identity", "members", &["identity_id"]))
            .await?;
        manager
            .create_index(index(
                "members_package_identity",
                "members",
                &["package_id", "identity_id", "state"],
            ))
            .await?;
        manager
            .create_index(index(
                "members_sweep",
                "members",
                &["role", "state", "last_activity_at"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("rooms")
                    .if_not_exists()
                    .col(string("id").primary_key())
                    .col(string("organization_id"))
                    .col(string("display_name"))
                    .col(big_integer("created_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("rooms_organization", "rooms", &["organization_id"]))
            .await?;

        create_clustered(
            manager,
            Table::create()
                .table("room_members")
                .if_not_exists()
                .col(string("room_id"))
                .col(string("identity_id"))
                .col(string("organization_id"))
                .col(string("role"))
                .col(boolean("can_delete_entries").default(true))
                .col(big_integer("added_at"))
                .primary_key(Index::create().col("room_id").col("identity_id"))
                .to_owned(),
        )
        .await?;
        manager
            .create_index(index(
                "room_members_org_identity",
                "room_members",
                &["organization_id", "identity_id"],
            ))
            .await?;
        manager
            .create_index(index(
                "room_members_room_role",
                "room_members",
                &["room_id", "role"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("assignments")
                    .if_not_exists()
                    .col(string("id").primary_key())
                    .col(string("organization_id"))
                    .col(string("room_id"))
                    .col(string("kind"))
                    .col(string("title"))
                    .col(big_integer("created_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "assignments_org",
                "assignments",
                &["organization_id", "id"],
            ))
            .await?;
        manager
            .create_index(index("assignments_room", "assignments", &["room_id"]))
            .await?;

        // Who an assignment is assigned to, apart from the item itself:
        // dropping a departing member's 10,000 assignments (M6) is then a
        // DELETE of small rows rather than an UPDATE that rewrites every
        // index of the items (measured ~15x faster on PostgreSQL).
        // Keyed by (organization, assignee) so M6's drop is one contiguous
        // range of the primary key.
        create_clustered(
            manager,
            Table::create()
                .table("assignment_assignees")
                .if_not_exists()
                .col(string("organization_id"))
                .col(string("assignee_id"))
                .col(string("assignment_id"))
                .col(string("room_id"))
                .primary_key(
                    Index::create()
                        .col("organization_id")
                        .col("assignee_id")
                        .col("assignment_id"),
                )
                .to_owned(),
        )
        .await?;
        manager
            .create_index(
                index(
                    "assignment_assignees_assignment",
                    "assignment_assignees",
                    &["assignment_id"],
                )
                .unique()
                .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "assignments",
            "room_members",
            "rooms",
            "members",
            "organizations",
        ] {
            manager
                .drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
