//! `credentials` table.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "credentials")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub package_id: String,
    #[sea_orm(unique)]
    pub username: String,
    pub password_hash: String,
    pub created_at: i64,
}

impl ActiveModelBehavior for ActiveModel {}
