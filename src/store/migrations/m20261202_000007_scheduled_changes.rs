//! W3, scheduled changes: a deactivation, removal or OffboardIdentity to
//! run at a future instant, claimed by one replica when due (PostgreSQL:
//! `FOR UPDATE SKIP LOCKED`) and marked DONE in the change's own
//! transaction, or FAILED with the refusal's reason code. And the
//! reminder of a deactivation's expected return: `members.return_reminded_at`
//! records when DEACTIVATION_RETURN_DUE was sent for the deactivation in
//! force (one older than `deactivated_at` belongs to an earlier one).

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
                    .table("scheduled_changes")
                    .if_not_exists()
                    .col(string("id").primary_key())
                    // DEACTIVATE, REMOVE or OFFBOARD_IDENTITY.
                    .col(string("kind"))
                    // Set for DEACTIVATE and REMOVE.
                    .col(string_null("organization_id"))
                    // The organization's package, or OffboardIdentity's.
                    .col(string("package_id"))
                    .col(string("identity_id"))
                    // OFFBOARD_IDENTITY: DEACTIVATE or REMOVE.
                    .col(string_null("action"))
                    .col(string_null("deactivation_reason"))
                    .col(string_null("note"))
                    .col(big_integer_null("expected_return_at"))
                    .col(string_null("successor_id"))
                    .col(string_null("transfer_to"))
                    // When it is due, ms since the epoch.
                    .col(big_integer("run_at"))
                    // IANA name, for display only.
                    .col(string_null("time_zone"))
                    // PENDING, DONE, FAILED or CANCELLED.
                    .col(string("state"))
                    .col(string_null("failure_reason"))
                    .col(string_null("failure_message"))
                    .col(string("created_by_kind"))
                    .col(string("created_by_id"))
                    .col(big_integer("created_at"))
                    // When it ran (DONE) or failed (FAILED).
                    .col(big_integer_null("ran_at"))
                    .col(big_integer_null("cancelled_at"))
                    .col(string_null("cancelled_by_kind"))
                    .col(string_null("cancelled_by_id"))
                    .to_owned(),
            )
            .await?;
        // The scheduler's scan: PENDING rows by due time.
        manager
            .create_index(index(
                "scheduled_changes_due",
                "scheduled_changes",
                &["state", "run_at"],
            ))
            .await?;
        // ListScheduledChanges, per organization or package, by due time.
        manager
            .create_index(index(
                "scheduled_changes_org",
                "scheduled_changes",
                &["organization_id", "run_at", "id"],
            ))
            .await?;
        manager
            .create_index(index(
                "scheduled_changes_package",
                "scheduled_changes",
                &["package_id", "run_at", "id"],
            ))
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("members")
                    .add_column(big_integer_null("return_reminded_at"))
                    .to_owned(),
            )
            .await?;
        // The reminder's scan: expected returns that have passed.
        manager
            .create_index(index(
                "members_expected_return",
                "members",
                &["expected_return_at"],
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("members_expected_return")
                    .table("members")
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("members")
                    .drop_column("return_reminded_at")
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(
                Table::drop()
                    .table("scheduled_changes")
                    .if_exists()
                    .to_owned(),
            )
            .await
    }
}
