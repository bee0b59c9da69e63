//! `room_members` table.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "room_members")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub room_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub identity_id: String,
    pub organization_id: String,
    pub role: String,
    pub can_delete_entries: bool,
    pub added_at: i64,
}

impl ActiveModelBehavior for ActiveModel {}
