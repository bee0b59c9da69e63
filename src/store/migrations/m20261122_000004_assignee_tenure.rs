//! Assignees move back onto `assignments`, tied to the assignee's tenure
//! (one period of membership in the organization).
//!
//! Every `members` row draws a random `tenure` when the identity joins. An
//! assignment records the tenure of its assignee at the time of assigning;
//! it counts as assigned only while the assignee is still a member with
//! that same tenure. Removing a member (M6) therefore drops all of its
//! assignments by deleting the one `members` row: nothing is written per
//! assignment, and re-adding the identity later starts a new tenure that
//! does not bring the old assignments back.
//!
//! Before this, M6 deleted one `assignment_assignees` row per assignment;
//! for 10,000 assignments that rewrote ~9,500 pages of the by-assignment
//! index (their IDs are random), which dominated RemoveMember on SQLite.

use sea_orm_migration::{prelude::*, schema::*};

use super::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Existing members keep tenure 0; their copied assignments get 0 too.
        manager
            .alter_table(
                Table::alter()
                    .table("members")
                    .add_column(big_integer("tenure").default(0))
                    .to_owned(),
            )
            .await?;
        // SQLite adds one column per ALTER TABLE.
        manager
            .alter_table(
                Table::alter()
                    .table("assignments")
                    .add_column(string_null("assignee_id"))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("assignments")
                    .add_column(big_integer_null("assignee_tenure"))
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE assignments SET \
                   assignee_id = (SELECT aa.assignee_id FROM assignment_assignees aa \
                                  WHERE aa.assignment_id = assignments.id), \
                   assignee_tenure = 0 \
                 WHERE id IN (SELECT assignment_id FROM assignment_assignees)",
            )
            .await?;
        // (organization, assignee, tenure) is M6's count and M9's transfer
        // and filter; `id` last keeps a filtered listing in key order.
        manager
            .create_index(index(
                "assignments_assignee",
                "assignments",
                &["organization_id", "assignee_id", "assignee_tenure", "id"],
            ))
            .await?;
        manager
            .drop_table(
                Table::drop()
                    .table("assignment_assignees")
                    .if_exists()
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
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
        manager
            .get_connection()
            .execute_unprepared(
                "INSERT INTO assignment_assignees \
                   (organization_id, assignee_id, assignment_id, room_id) \
                 SELECT a.organization_id, a.assignee_id, a.id, a.room_id \
                 FROM assignments a JOIN members m \
                   ON m.organization_id = a.organization_id \
                  AND m.identity_id = a.assignee_id AND m.tenure = a.assignee_tenure",
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("assignments_assignee")
                    .table("assignments")
                    .to_owned(),
            )
            .await?;
        for (table, column) in [
            ("assignments", "assignee_tenure"),
            ("assignments", "assignee_id"),
            ("members", "tenure"),
        ] {
            manager
                .alter_table(Table::alter().table(table).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}
