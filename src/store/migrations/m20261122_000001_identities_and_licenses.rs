//! Identities, license packages, their administrators and credentials,
//! sessions, seat attachments and service keys.

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
                    .table("identities")
                    .if_not_exists()
                    .col(string("id").primary_key())
                    .col(string_null("display_name"))
                    .col(string_null("email"))
                    .col(string_null("avatar_url"))
                    .col(string("state"))
                    .col(string_null("revocation_password_hash"))
                    .col(big_integer("created_at"))
                    .col(big_integer_null("revoked_at"))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("license_packages")
                    .if_not_exists()
                    .col(string("id").primary_key())
                    .col(string("display_name"))
                    .col(string("plan"))
                    .col(integer("seat_limit"))
                    // Kept in step with `attachments` in the same
                    // transaction; the conditional increment is what makes
                    // N parallel attaches for K free seats give exactly K.
                    .col(integer("seats_used").default(0))
                    .col(big_integer("created_at"))
                    .col(big_integer("updated_at"))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("package_admins")
                    .if_not_exists()
                    .col(string("package_id"))
                    .col(string("identity_id"))
                    .primary_key(Index::create().col("package_id").col("identity_id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "package_admins_identity",
                "package_admins",
                &["identity_id"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("credentials")
                    .if_not_exists()
                    .col(string("id").primary_key())
                    .col(string("package_id"))
                    .col(string_uniq("username"))
                    .col(string("password_hash"))
                    .col(big_integer("created_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "credentials_package",
                "credentials",
                &["package_id", "id"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("sessions")
                    .if_not_exists()
                    .col(string("token_hash").primary_key())
                    .col(string_uniq("session_id"))
                    .col(string("identity_id"))
                    .col(string("package_id"))
                    .col(string("credential_id"))
                    .col(big_integer("created_at"))
                    .col(big_integer("expires_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "sessions_identity",
                "sessions",
                &["identity_id", "package_id"],
            ))
            .await?;
        manager
            .create_index(index("sessions_credential", "sessions", &["credential_id"]))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("attachments")
                    .if_not_exists()
                    .col(string("package_id"))
                    .col(string("identity_id"))
                    .col(string("method"))
                    // True from a sign-in until DetachIdentity or revocation.
                    .col(boolean("signed_in").default(false))
                    .col(string_null("credential_id"))
                    .col(big_integer("attached_at"))
                    .col(big_integer_null("last_seen_at"))
                    .primary_key(Index::create().col("package_id").col("identity_id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "attachments_identity",
                "attachments",
                &["identity_id"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("service_keys")
                    .if_not_exists()
                    .col(string("key_hash").primary_key())
                    .col(string("name"))
                    .col(big_integer("created_at"))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "service_keys",
            "attachments",
            "sessions",
            "credentials",
            "package_admins",
            "license_packages",
            "identities",
        ] {
            manager
                .drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
