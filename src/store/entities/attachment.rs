//! `attachments` table.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "attachments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub package_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub identity_id: String,
    pub method: String,
    pub signed_in: bool,
    pub credential_id: Option<String>,
    pub attached_at: i64,
    pub last_seen_at: Option<i64>,
}

impl ActiveModelBehavior for ActiveModel {}
