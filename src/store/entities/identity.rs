//! `identities` table.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "identities")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub avatar_url: Option<String>,
    pub state: String,
    pub revocation_password_hash: Option<String>,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

impl ActiveModelBehavior for ActiveModel {}
