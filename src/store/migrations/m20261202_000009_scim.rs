//! SCIM 2.0 provisioning (issue 15): provisioning tokens (hashes only) and
//! the SCIM attributes of a membership (`userName`, `externalId`, the name
//! and e-mail the client sent), unique per organization.

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
                    .table("scim_tokens")
                    .if_not_exists()
                    .col(string("id").primary_key())
                    .col(string("organization_id"))
                    // SHA-256 hex of the token; the token itself is never stored.
                    .col(string("token_hash").unique_key())
                    .col(boolean("include_sub_organizations"))
                    .col(string("description"))
                    .col(string("created_by"))
                    .col(big_integer("created_at"))
                    .col(big_integer_null("revoked_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "scim_tokens_organization",
                "scim_tokens",
                &["organization_id"],
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("scim_users")
                    .if_not_exists()
                    .col(string("organization_id"))
                    .col(string("identity_id"))
                    .col(string("user_name"))
                    // lower(user_name): userName is unique without case (RFC 7643 caseExact false).
                    .col(string("user_name_key"))
                    .col(string_null("external_id"))
                    .col(string_null("display_name"))
                    .col(string_null("given_name"))
                    .col(string_null("family_name"))
                    .col(string_null("formatted_name"))
                    .col(string_null("email"))
                    .col(string_null("email_type"))
                    .col(boolean_null("email_primary"))
                    // lower(email), for `emails.value eq`.
                    .col(string_null("email_key"))
                    .col(big_integer("created_at"))
                    .col(big_integer("updated_at"))
                    .primary_key(Index::create().col("organization_id").col("identity_id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("scim_users_user_name")
                    .table("scim_users")
                    .col("organization_id")
                    .col("user_name_key")
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("scim_users_external_id")
                    .table("scim_users")
                    .col("organization_id")
                    .col("external_id")
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "scim_users_email",
                "scim_users",
                &["organization_id", "email_key"],
            ))
            .await?;
        manager
            .create_index(index("scim_users_identity", "scim_users", &["identity_id"]))
            .await?;
        // A SCIM Group's externalId, beside its room.
        manager
            .create_table(
                Table::create()
                    .table("scim_groups")
                    .if_not_exists()
                    .col(string("room_id").primary_key())
                    .col(string("organization_id"))
                    .col(string("external_id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("scim_groups_external_id")
                    .table("scim_groups")
                    .col("organization_id")
                    .col("external_id")
                    .unique()
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("scim_groups").if_exists().to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table("scim_users").if_exists().to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table("scim_tokens").if_exists().to_owned())
            .await
    }
}
